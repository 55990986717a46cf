"""Feed the risk & consent model from the warehouse: per service and per site × service assessments.

Observations come from the run's detections (hosts contacted, cookies seen), split by consent pass
(``sql/queries/risk_observations.sql``: before consent, after reject, after accept, with GPC), and the
enrichment's host locations; the rubric functions in ``pipelines/risk`` stay pure. Site-level results are memoised on what the
model actually reads (service, hosts with their locations, cookies), so 100,000 sites cost little more than
the distinct combinations.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from pipelines.warehouse.build import iso_date

SQL_DIR = Path(__file__).resolve().parent / "sql"

FACTOR = pa.struct([("code", pa.string()), ("level", pa.string()), ("points", pa.int32()),
                    ("evidence", pa.string()), ("confidence", pa.string())])
COMMON = [("consent_required", pa.string()), ("risk_score", pa.int32()), ("band", pa.string()),
          ("confidence", pa.string()), ("reasons", pa.list_(pa.string())), ("factors", pa.list_(FACTOR)),
          ("server_class", pa.string()), ("jurisdiction_class", pa.string()), ("us_jurisdiction", pa.bool_()),
          ("as_of", pa.date32())]
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
        "us_jurisdiction": a.jurisdiction.us_jurisdiction, "as_of": iso_date(a.as_of),
    }


def observed_state(browser_pre: bool, pre_seen: bool, reject_seen: bool, accept_seen: bool, pre: tuple,
                   reject: tuple, seen: tuple) -> tuple[str, str, bool, list, list]:
    """Which consent state the risk model is told about for one site × service, and its evidence:
    (consent_state, method, gated, hosts, cookies). ``pre``/``reject``/``seen`` are (hosts, cookies) of the
    pre-consent load, the reject pass and every pass.

    Loaded before consent (browser pre-consent load, or static HTML when the site had no browser load) →
    ``before_consent``/``none`` with that evidence; else loaded despite "reject" → ``after_reject``; else loaded
    only after "accept" → ``after_accept``; else (a browser run whose loads never showed it: only the static
    HTML of the page did) → gated, not loaded before consent.
    """
    method = "browser" if browser_pre else "static"
    if pre_seen:
        return ("before_consent" if browser_pre else "none"), method, False, list(pre[0]), list(pre[1])
    if reject_seen:
        return "after_reject", "browser", False, list(reject[0]), list(reject[1])
    if accept_seen:
        return "after_accept", "browser", False, list(seen[0]), list(seen[1])
    return "none", method, True, list(seen[0]), list(seen[1])


def cookie_evidence(method: str, name: str, jar_cookies) -> str:
    """How a cookie was seen, for the factor's evidence: a browser's cookie jar, or a static response's
    Set-Cookie header. A static stand-in for a failed pre-consent browser load may still carry cookies the
    browser's partial load saw (``jar_cookies``): those came from the jar."""
    return "Set-Cookie" if method == "static" and name not in (jar_cookies or ()) else "cookie jar"


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
    cur.execute((SQL_DIR / "queries" / "risk_observations.sql").read_text(encoding="utf-8"))
    memo: dict = {}
    common: dict[int, dict] = {}  # one converted row per distinct assessment, shared by its sites
    per_service: dict[tuple[str, str], dict] = {}
    rows: list[dict] = []
    while True:
        batch = cur.fetchmany(chunk)
        if not batch:
            break
        for (run_id, domain, sid, browser_pre, pre_seen, reject_seen, accept_seen, dnt, pre_hosts, pre_cookies,
             pre_jar_cookies, reject_hosts, reject_cookies, any_hosts, any_cookies) in batch:
            if sid not in known:
                continue  # long-tail entries carry no legal facts to score
            state, method, gated, hosts, cookies = observed_state(
                browser_pre, pre_seen, reject_seen, accept_seen, (pre_hosts, pre_cookies),
                (reject_hosts, reject_cookies), (any_hosts, any_cookies))
            locs = tuple(locations.get((run_id, h), HostLocation(h)) for h in hosts)
            cks = tuple(ObservedCookie(n, lifetime_seconds=lifetimes.get((run_id, domain, n)),
                                       evidence=cookie_evidence(method, n, pre_jar_cookies))
                        for n in cookies)
            key = (sid, locs, cks, state, method, gated, dnt)
            a = memo.get(key)
            if a is None:
                obs = SiteServiceObservation(site=domain, service_id=sid, requests=tuple(hosts), cookies=cks,
                                             locations=locs, run_id=run_id, consent_state=state, method=method,
                                             gated=gated, dnt_honoured=dnt)
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
