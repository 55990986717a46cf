"""Attribute a loaded run's stored observations to catalog services (``detections``, and the third-party hosts no
entry claims in ``unclaimed``), and give every host the marts show its registrable domain, owner and service."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa

from common.hosts import registrable_domain
from pipelines.warehouse.connect import quote_ident
from pipelines.warehouse.load import DETECTIONS_SCHEMA, ENRICHED_PREFIX, UNCLAIMED_SCHEMA, from_arrow

DETECTOR_VERSION = 5  # bump when detection rules change in code: every stored run is re-attributed


def attribute_run(con, run_id: str, detector, digest: str, chunk: int = 100_000) -> None:
    """Match the run's stored observations against the catalog, streaming the resources page by page
    (read from the raw tables: one schema for every run, newer columns default). Writes ``detections`` and the
    third-party hosts no entry claims (``unclaimed``); first-party hosts the run's enrichment found CNAMEd to a
    catalog service (cloaking) are attributed to it."""
    from crawler.observe import embedding_of, signature_embedding
    from pipelines.catalog.detect import PageRef

    sites = {d: (site or d, host or d) for d, site, host in con.execute(
        "SELECT input_domain, site, final_host FROM raw_sites WHERE run_id = ?", [run_id]).fetchall()}
    known = detector.catalog.by_id
    cnames = {host: sid for host, sid in con.execute(
        f"SELECT host, any_value(service_id) FROM {quote_ident(ENRICHED_PREFIX + 'cloaking')} "
        "WHERE run_id = ? AND service_id IS NOT NULL GROUP BY host", [run_id]).fetchall() if sid in known}
    # one observation = a page seen one way: (domain, page, method, consent state, signal); runs from before
    # browser mode have NULL there, read as static / none / none
    obs = "coalesce(method, 'static'), coalesce(consent_state, 'none'), coalesce(signal, 'none')"
    sigs: dict[tuple, list] = {}
    for d, page, m, c, g, sid, value, gated, embedding in con.execute(
            f"SELECT input_domain, page_url, {obs}, signature_id, value, coalesce(gated, false), embedding "
            "FROM raw_signatures WHERE run_id = ?", [run_id]).fetchall():
        sigs.setdefault((d, page, m, c, g), []).append((sid, value, embedding or signature_embedding(gated)))
    cookies: dict[tuple, list] = {}
    for d, page, m, c, g, name in con.execute(
            f"SELECT input_domain, page_url, {obs}, name FROM raw_cookies WHERE run_id = ?", [run_id]).fetchall():
        cookies.setdefault((d, page, m, c, g), []).append(name)

    out: list[tuple] = []
    left_over: list[tuple] = []
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM detections WHERE run_id = ?", [run_id])
    con.execute("DELETE FROM unclaimed WHERE run_id = ?", [run_id])
    con.execute("DELETE FROM _policy_checked WHERE run_id = ?", [run_id])  # its services may have changed

    def flush(force: bool = False) -> None:
        for rows, table, schema in ((out, "detections", DETECTIONS_SCHEMA), (left_over, "unclaimed", UNCLAIMED_SCHEMA)):
            if rows and (force or len(rows) >= chunk):
                cols = list(zip(*rows, strict=True))
                from_arrow(con, f"INSERT INTO {quote_ident(table)} BY NAME SELECT * FROM _arrow_in",
                           pa.table([pa.array(col, typ) for col, typ in zip(cols, schema.types, strict=True)],
                                    schema=schema))
                rows.clear()

    def page_done(key: tuple, refs: list) -> None:
        domain, page, method, consent, signal = key
        site, site_host = sites.get(domain, (domain, domain))
        unclaimed: list = []
        for det in detector.detect(site_host=site_host, references=refs, signatures=sigs.pop(key, ()),
                                   cookies=cookies.pop(key, ()), cnames=cnames, unclaimed=unclaimed):
            out.append((run_id, domain, site, page, det.service_id, det.kind, det.evidence, det.seen_in, det.host,
                        method, consent, signal, det.embedding, det.loads_without_gate))
        for u in unclaimed:
            left_over.append((run_id, domain, site, page, u.host, registrable_domain(u.host), u.embedding, method,
                              consent, signal))
        flush()

    cur = con.cursor()
    cur.execute(f"SELECT input_domain, page_url, {obs}, url, host, declared, element, inline, coalesce(gated, false), "
                "rel, attribute, embedding FROM raw_resources WHERE run_id = ? ORDER BY 1, 2, 3, 4, 5", [run_id])
    key, refs = None, []
    while True:
        rows = cur.fetchmany(chunk)
        if not rows:
            break
        for d, page, m, c, g, url, host, declared, element, inline, gated, rel, attribute, embedding in rows:
            if (d, page, m, c, g) != key:
                if key is not None:
                    page_done(key, refs)
                key, refs = (d, page, m, c, g), []
            refs.append(PageRef(url, host, bool(declared), element or "", bool(inline),
                                embedding or embedding_of(element or "", attribute or "", rel, gated)))
    if key is not None:
        page_done(key, refs)
    for key in list(sigs.keys() | cookies.keys()):  # pages with signatures or cookies but no references
        page_done(key, [])
    flush(force=True)
    con.execute("UPDATE _runs SET catalog_digest = ? WHERE run_id = ?", [digest, run_id])
    con.execute("COMMIT")


def host_domains(con, owners) -> None:
    """Registrable domain of every host seen (the Public Suffix List lives in Python, not in DuckDB), and its
    owner where ``owners`` (``pipelines.catalog.parties.EntityIndex``) knows it."""
    hosts = [r[0] for r in con.execute(
        "SELECT DISTINCT host FROM raw_resources WHERE host IS NOT NULL UNION "
        "SELECT DISTINCT final_host FROM raw_sites WHERE final_host IS NOT NULL UNION "
        "SELECT DISTINCT input_domain FROM raw_sites").fetchall()]
    tbl = pa.table({"host": pa.array(hosts, pa.string()),
                    "registrable_domain": pa.array([registrable_domain(h) for h in hosts], pa.string()),
                    "owner": pa.array([owners.entity_of(h) for h in hosts], pa.string())})
    from_arrow(con, "CREATE OR REPLACE TABLE _host_domains AS SELECT * FROM _arrow_in", tbl)


def host_services(con, catalog) -> None:
    """Service attribution of every host the marts show, done once per build for every mart (``hosts``,
    ``cloaking``, ``service_locations``) with the build's catalog: the service the run's detections give the
    host most often (URL-path rules included), else the catalog's host match; NULL when neither knows it."""
    detected = {}
    for run_id, host, sid, _n in con.execute(
            "SELECT run_id, host, service_id, count(*) FROM detections WHERE host IS NOT NULL AND host <> '' "
            "GROUP BY ALL ORDER BY run_id, host, 4 DESC, service_id").fetchall():
        detected.setdefault((run_id, host), sid)
    hosts = con.execute("SELECT run_id, host FROM enr_hosts UNION SELECT run_id, target FROM enr_cloaking "
                        "UNION SELECT DISTINCT run_id, host FROM raw_resources WHERE host IS NOT NULL").fetchall()
    rows = {"run_id": [], "host": [], "service_id": []}
    for run_id, host in hosts:
        if not host:
            continue
        sid = detected.get((run_id, host))
        if sid is None:
            match = catalog.match(host, "/", first_party=False)
            sid = match.id if match is not None else None
        rows["run_id"].append(run_id)
        rows["host"].append(host)
        rows["service_id"].append(sid)
    from_arrow(con, "CREATE OR REPLACE TABLE _host_services AS SELECT * FROM _arrow_in",
               pa.table({k: pa.array(v, pa.string()) for k, v in rows.items()}))


def attribution_digest(catalog) -> str:
    """What detection reads from the catalog (hosts, URL patterns, signatures, cookie names) and the detector's
    version: a change re-attributes every stored run."""
    return hashlib.sha256(
        json.dumps([DETECTOR_VERSION] + sorted((s.id, s.hosts, tuple((u.host, u.path) for u in s.url_patterns), s.signatures,
                           tuple(c.name for c in s.cookies)) for s in catalog.services), default=str).encode()
    ).hexdigest()[:16]
