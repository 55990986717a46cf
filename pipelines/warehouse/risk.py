"""Feed the risk & consent model from the warehouse: per service and per site × service assessments.

Observations come from the run's detections (hosts contacted, cookies seen) and the enrichment's host
locations; the rubric functions in ``pipelines/risk`` stay pure. Site-level results are memoised on what the
model actually reads (service, hosts with their locations, cookies), so 100,000 sites cost little more than
the distinct combinations.
"""

from __future__ import annotations

import pyarrow as pa

FACTOR = pa.struct([("code", pa.string()), ("level", pa.string()), ("points", pa.int32()),
                    ("evidence", pa.string()), ("confidence", pa.string())])
COMMON = [("consent_required", pa.string()), ("risk_score", pa.int32()), ("band", pa.string()),
          ("confidence", pa.string()), ("reasons", pa.list_(pa.string())), ("factors", pa.list_(FACTOR)),
          ("server_class", pa.string()), ("jurisdiction_class", pa.string()), ("us_jurisdiction", pa.bool_()),
          ("as_of", pa.string())]
SERVICE_SCHEMA = pa.schema([("run_id", pa.string()), ("service_id", pa.string()), ("name", pa.string()),
                            ("sites", pa.int64()), *COMMON, ("to_check", pa.list_(pa.string()))])
SITE_SCHEMA = pa.schema([("run_id", pa.string()), ("site_input", pa.string()), ("service_id", pa.string()), *COMMON])


def _common(a) -> dict:
    return {
        "consent_required": a.consent_required, "risk_score": a.risk_score, "band": a.band,
        "confidence": a.confidence, "reasons": list(a.reason_codes),
        "factors": [{"code": f.code, "level": f.level, "points": f.points, "evidence": f.evidence,
                     "confidence": f.confidence} for f in a.factors],
        "server_class": a.server.cls, "jurisdiction_class": a.jurisdiction.cls,
        "us_jurisdiction": a.jurisdiction.us_jurisdiction, "as_of": a.as_of,
    }


def write_risk_tables(con, insert, ctx=None, chunk: int = 20_000) -> None:
    """Assess every detected curated service (per site and per service) for every dataset run and hand the
    rows to ``insert(table_name, arrow_table)`` in chunks, so memory stays flat however many sites there are."""
    from pipelines.risk.model import (
        ObservedCookie,
        SiteServiceObservation,
        assess_service,
        assess_site_service,
        load_context,
    )
    from pipelines.risk.transfer import HostLocation

    ctx = ctx or load_context()
    known = ctx.catalog.by_id
    locations = {(r, h): HostLocation(h, frozenset(c or ()), conf or "unknown") for r, h, c, conf in con.execute(
        "SELECT run_id, host, countries, location_confidence FROM enr_hosts").fetchall()}
    lifetimes = {(r, d, n): lt for r, d, n, lt in con.execute("""
        SELECT run_id, input_domain, name,
               max(CASE WHEN session THEN NULL ELSE epoch(expires) - epoch(now()) END)::BIGINT
        FROM raw_cookies GROUP BY ALL""").fetchall()}
    cur = con.cursor()
    cur.execute("""
        SELECT d.run_id, d.input_domain, d.service_id,
               coalesce(list_sort(list_distinct(list(d.host) FILTER (WHERE d.host IS NOT NULL))), []) AS hosts,
               coalesce(list_sort(list_distinct(list(d.evidence) FILTER (WHERE d.kind = 'cookie'))), []) AS cookies
        FROM detections d JOIN _runs r USING (run_id)
        WHERE r.kind IN (SELECT kind FROM _dataset_kinds)
        GROUP BY ALL ORDER BY 1, 2, 3""")
    memo: dict = {}
    common: dict[int, dict] = {}  # one converted row per distinct assessment, shared by its sites
    per_service: dict[tuple[str, str], dict] = {}
    rows: list[dict] = []
    while True:
        batch = cur.fetchmany(chunk)
        if not batch:
            break
        for run_id, domain, sid, hosts, cookies in batch:
            if sid not in known:
                continue  # long-tail entries carry no legal facts to score
            locs = tuple(locations.get((run_id, h), HostLocation(h)) for h in hosts)
            cks = tuple(ObservedCookie(n, lifetime_seconds=lifetimes.get((run_id, domain, n)),
                                       evidence="Set-Cookie") for n in cookies)
            key = (sid, locs, cks)
            a = memo.get(key)
            if a is None:
                obs = SiteServiceObservation(site=domain, service_id=sid, requests=tuple(hosts), cookies=cks,
                                             locations=locs, run_id=run_id)
                a = memo[key] = assess_site_service(obs, ctx)
                common[id(a)] = _common(a)
            rows.append({"run_id": run_id, "site_input": domain, "service_id": sid, **common[id(a)]})
            agg = per_service.setdefault((run_id, sid), {"sites": 0, "locs": set()})
            agg["sites"] += 1
            agg["locs"].update(locs)
        insert("_site_service_risk", pa.Table.from_pylist(rows, schema=SITE_SCHEMA))
        rows.clear()
    service_rows = []
    for (run_id, sid), agg in sorted(per_service.items()):
        a = assess_service(sid, ctx, locations=tuple(sorted(agg["locs"], key=lambda loc: loc.host)))
        service_rows.append({"run_id": run_id, "service_id": sid, "name": a.service_name, "sites": agg["sites"],
                             **_common(a), "to_check": list(a.to_check)})
    insert("_service_risk", pa.Table.from_pylist(service_rows, schema=SERVICE_SCHEMA))
