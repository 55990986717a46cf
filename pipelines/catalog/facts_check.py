"""The facts check: legal facts older than 12 months, facts without a public source, and companies behind the
most prevalent services whose seat is unknown (``servicerisk refdata dpf --check`` prints it; the test suite
fails on the last two)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipelines.catalog import vocab
from pipelines.catalog.load import DEFAULT_DATA_DIR, Catalog
from pipelines.enrich.dpf import MAX_AGE_MONTHS, months_before

TOP_SERVICES = Path("reference") / "top_services.csv"
KINDS = ("unknown_seat", "no_public_source", "stale")  # the first two fail CI


@dataclass(frozen=True)
class FactIssue:
    kind: str
    owner: str  # services/<id>.yml or companies/<id>.yml
    field: str
    detail: str


def top_services(data_dir: str | Path = DEFAULT_DATA_DIR) -> list[str]:
    """Service ids of ``reference/top_services.csv`` in file order, without repeats."""
    path = Path(data_dir) / TOP_SERVICES
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return list(dict.fromkeys(r["service_id"] for r in rows))


def companies_behind(catalog: Catalog, service_ids: list[str]) -> dict[str, str]:
    """company id -> the first service that puts it in scope: each service's contracting company, its
    recipient and both parent chains (self-hosted services have none)."""
    out: dict[str, str] = {}
    for sid in service_ids:
        service = catalog.by_id.get(sid)
        if service is None or service.company == vocab.SITE_OPERATOR:
            continue
        for start in (service.company, catalog.recipient(service.company)):
            for company in catalog.parent_chain(start):
                out.setdefault(company.id, sid)
    return out


def check_facts(catalog: Catalog, top: list[str], on: date) -> list[FactIssue]:
    """Every issue, most serious kind first."""
    issues: list[FactIssue] = []
    for cid, sid in sorted(companies_behind(catalog, top).items()):
        if catalog.companies[cid].country == "unknown":
            issues.append(FactIssue("unknown_seat", f"companies/{cid}.yml", "country", f"behind top service {sid}"))
    cutoff = months_before(on, MAX_AGE_MONTHS).isoformat()
    owners = [(f"services/{s.id}.yml", s.facts) for s in catalog.services if not s.id.startswith("tpw-")]
    owners += [(f"companies/{c.id}.yml", c.facts) for c in catalog.companies.values()]
    for owner, facts in owners:
        for f in facts:
            if f.field not in vocab.LEGAL_FACT_FIELDS:
                continue
            if f.field != "cookies" and not vocab.is_public_url(f.source):
                issues.append(FactIssue("no_public_source", owner, f.field, f.source))
            if f.as_of < cutoff:
                issues.append(FactIssue("stale", owner, f.field, f"as of {f.as_of}: {f.source}"))
    return sorted(issues, key=lambda i: (KINDS.index(i.kind), i.owner, i.field))
