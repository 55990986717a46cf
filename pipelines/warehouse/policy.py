"""Privacy-policy coverage of a loaded run, computed when the warehouse is built (as detections are): for every
site, whether its privacy or cookie policy names each service detected on it (``pipelines.catalog.coverage``).

Reads the run's detected services and its ``policy_texts`` site by site (the texts are streamed: a run of 100,000
sites holds gigabytes of them) and hands rows to ``insert`` in chunks. A site whose crawl fetched no policy page
gets ``no_policy`` for each of its services: with a small ``--max-pages`` that mostly means "not fetched", which
is why the marts count shares over sites with a policy text only.
"""

from __future__ import annotations

import hashlib
import json
from typing import Callable

import pyarrow as pa

from pipelines.catalog.coverage import PolicyText, Terms, policy_coverage, service_terms
from pipelines.catalog.load import Catalog
from pipelines.warehouse.sqlfiles import sql_text

COVERAGE_VERSION = 1  # bump when the matching rules change in code: every stored run is checked again

POLICY_COVERAGE_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("input_domain", pa.string()), ("service_id", pa.string()), ("status", pa.string()),
    ("term", pa.string()), ("page_url", pa.string()), ("excerpt", pa.string()),
])


def terms_digest(catalog: Catalog) -> str:
    """What the check reads from the catalog (every service's names and its company chain's names): a change
    re-checks every stored run."""
    terms = [service_terms(catalog, s.id) for s in sorted(catalog.services, key=lambda s: s.id)]
    payload = [COVERAGE_VERSION] + [(t.service_id, t.service, t.company, t.self_hosted) for t in terms]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:16]


def write_policy_coverage(con, run_id: str, catalog: Catalog, insert: Callable[[pa.Table], None],
                          chunk: int = 20_000) -> int:
    """Check run ``run_id``'s sites; rows go to ``insert`` (an Arrow table of ``POLICY_COVERAGE_SCHEMA``).
    Returns the number of sites checked."""
    services: dict[str, list[str]] = {}
    for domain, service_id in con.execute(sql_text("pipelines.warehouse", "queries/policy_services"), [run_id]).fetchall():
        services.setdefault(domain, []).append(service_id)
    terms: dict[str, Terms] = {}
    rows: list[dict] = []

    def check(domain: str, texts: list[PolicyText]) -> None:
        ids = services.pop(domain, None)
        if not ids:
            return
        for sid in ids:
            if sid not in terms:
                terms[sid] = service_terms(catalog, sid)
        for cov in policy_coverage([terms[sid] for sid in ids], texts):
            rows.append({"run_id": run_id, "input_domain": domain, "service_id": cov.service_id, "status": cov.status,
                         "term": cov.term, "page_url": cov.page_url, "excerpt": cov.excerpt})
        if len(rows) >= chunk:
            insert(pa.Table.from_pylist(rows, schema=POLICY_COVERAGE_SCHEMA))
            rows.clear()

    sites = len(services)
    cur = con.cursor()
    cur.execute(sql_text("pipelines.warehouse", "queries/policy_texts_by_site"), [run_id])
    domain, texts = None, []
    while True:
        batch = cur.fetchmany(256)  # texts are large: a few hundred at a time
        if not batch:
            break
        for d, page_url, text in batch:
            if d != domain:
                if domain is not None:
                    check(domain, texts)
                domain, texts = d, []
            if not any(t.text == (text or "") for t in texts):  # a page read statically and in the browser: once
                texts.append(PolicyText(page_url, text or ""))
    if domain is not None:
        check(domain, texts)
    for d in sorted(services):  # sites with services but no policy text
        check(d, [])
    if rows:
        insert(pa.Table.from_pylist(rows, schema=POLICY_COVERAGE_SCHEMA))
    return sites
