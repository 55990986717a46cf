"""Feed the risk & consent model from the warehouse: per service and per site × service assessments.

Observations come from the run's detections (hosts contacted, cookies seen), split by consent pass
(``sql/queries/risk_observations.sql``: before consent, after reject, after accept, with GPC), and the
enrichment's host locations; the rubric functions in ``pipelines/risk`` stay pure. Site-level results are memoised on what the
model actually reads (service, hosts with their locations, cookies), so 100,000 sites cost little more than
the distinct combinations. A memoised assessment is made for a placeholder site (``SITE``) and each row gets its
own site put in, so no row's evidence names another site.
"""

from __future__ import annotations

import json

import pyarrow as pa

from pipelines.warehouse.build import iso_date
from pipelines.warehouse.sqlfiles import sql_text

FACTOR = pa.struct([("code", pa.string()), ("level", pa.string()), ("points", pa.int32()),
                    ("evidence", pa.string()), ("confidence", pa.string())])
# the factors' evidence as structured items (template code + JSON parameters), rendered per language by
# pipelines.glossary
EVIDENCE_ITEM = pa.struct([("factor", pa.string()), ("code", pa.string()), ("params", pa.string())])
CHECK = pa.struct([("condition", pa.int32()), ("code", pa.string()), ("params", pa.string())])
COMMON = [("consent_required", pa.string()), ("risk_score", pa.int32()), ("band", pa.string()),
          ("confidence", pa.string()), ("reasons", pa.list_(pa.string())), ("factors", pa.list_(FACTOR)),
          ("server_class", pa.string()), ("jurisdiction_class", pa.string()), ("us_jurisdiction", pa.bool_()),
          ("as_of", pa.date32()), ("recipient_id", pa.string()), ("recipient_name", pa.string()),
          ("recipient_country", pa.string()), ("recipient_dpf_status", pa.string()),
          ("contracting_id", pa.string()), ("contracting_name", pa.string()), ("contracting_country", pa.string()),
          ("security_findings", pa.list_(pa.string())), ("catalog_version", pa.string()),
          ("evidence_items", pa.list_(EVIDENCE_ITEM))]
SERVICE_SCHEMA = pa.schema([("run_id", pa.string()), ("service_id", pa.string()), ("name", pa.string()),
                            ("sites", pa.int64()), *COMMON, ("to_check", pa.list_(pa.string())),
                            ("checks", pa.list_(CHECK))])
SITE_SCHEMA = pa.schema([("run_id", pa.string()), ("site_input", pa.string()), ("service_id", pa.string()), *COMMON])


COMPANY_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("company_id", pa.string()), ("name", pa.string()), ("country", pa.string()),
    ("city", pa.string()), ("recipient_id", pa.string()), ("dpf_status", pa.string()),
    ("dpf_checked_on", pa.date32()), ("dpf_source", pa.string()), ("dpf_reason", pa.string()), ("as_of", pa.date32()),
    ("catalog_version", pa.string())])


def company_rows(run_id: str, ctx) -> pa.Table:
    """Every catalog company as the run's assessment sees it (one owner of seat and DPF status): seat country
    and city, the recipient its data goes to, and the effective DPF status on the run's date
    (:func:`pipelines.risk.dpf.resolve_status`; ``not_applicable`` for non-US companies)."""
    from pipelines.risk.dpf import resolve_status

    rows = []
    for c in ctx.catalog.companies.values():
        st = resolve_status(c, ctx.dpf, ctx.as_of)
        rows.append({"run_id": run_id, "company_id": c.id, "name": c.name, "country": c.country, "city": c.city or None,
                     "recipient_id": ctx.catalog.recipient(c.id), "dpf_status": st.effective,
                     "dpf_checked_on": iso_date(st.checked_on), "dpf_source": st.source or None, "dpf_reason": st.reason or None,
                     "as_of": iso_date(ctx.day), "catalog_version": ctx.version})
    return pa.Table.from_pylist(rows, schema=COMPANY_SCHEMA)


# stands for the site in a memoised assessment; not a character of a host name, a cookie name or a run id
SITE = "\u241fsite\u241f"


def for_site(common: dict, site: str) -> dict:
    """``common`` (one memoised assessment's columns) with its placeholder site replaced by ``site``."""
    quoted = json.dumps(site, ensure_ascii=False)[1:-1]
    return {**common,
            "factors": [{**f, "evidence": f["evidence"].replace(SITE, site)} for f in common["factors"]],
            "evidence_items": [{**i, "params": i["params"].replace(SITE, quoted)} for i in common["evidence_items"]]}


def _json(params: dict) -> str:
    return json.dumps(params, ensure_ascii=False, sort_keys=True, default=str)


def _common(a, version: str = "") -> dict:
    rec, con = a.jurisdiction.recipient, a.jurisdiction.contracting
    d = a.as_dict()
    return {
        "recipient_id": rec.id if rec else None, "recipient_name": rec.name if rec else None,
        "recipient_country": rec.country if rec else None,
        "recipient_dpf_status": (d["recipient"] or {}).get("dpf_status"),
        "contracting_id": con.id if con else None, "contracting_name": con.name if con else None,
        "contracting_country": con.country if con else None,
        "security_findings": [f.code[2:] for f in a.factors if f.code.startswith("S:")],
        "catalog_version": version,
        "consent_required": a.consent_required, "risk_score": a.risk_score, "band": a.band,
        "confidence": a.confidence, "reasons": list(a.reason_codes),
        "factors": [{"code": f.code, "level": f.level, "points": f.points, "evidence": f.evidence,
                     "confidence": f.confidence} for f in a.factors],
        "evidence_items": [{"factor": f.code, "code": i.code, "params": _json(i.params)}
                           for f in a.factors for i in f.items],
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


def write_risk_tables(con, insert, ctx, run_id: str, chunk: int = 20_000) -> None:
    """Assess every detected curated service (per site and per service) of dataset run ``run_id`` with ``ctx``
    (whose ``as_of`` is the run's date and whose ``version`` is recorded with the rows) and hand the rows to
    ``insert(table_name, arrow_table)`` in chunks, so memory stays flat however many sites there are. Cookie
    lifetimes count from the time the page was fetched, never from the build's clock."""
    from pipelines.risk.model import (
        ObservedCookie,
        SiteServiceObservation,
        assess_service,
        assess_site_service,
    )
    from pipelines.risk.transfer import HostLocation

    known = ctx.catalog.by_id
    locations = {(r, h): HostLocation(h, frozenset(c or ()), conf or "unknown") for r, h, c, conf in con.execute(
        "SELECT run_id, host, countries, location_confidence FROM enr_hosts WHERE run_id = ?", [run_id]).fetchall()}
    lifetimes = {(r, d, n): lt for r, d, n, lt in con.execute(
        sql_text("pipelines.warehouse", "queries/cookie_lifetimes"), [run_id]).fetchall()}
    cur = con.cursor()
    query = sql_text("pipelines.warehouse", "queries/risk_observations").strip().rstrip(";")
    cur.execute(f"SELECT * FROM ({query}) WHERE run_id = ?", [run_id])
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
                obs = SiteServiceObservation(site=SITE, service_id=sid, requests=tuple(hosts), cookies=cks,
                                             locations=locs, run_id=run_id, consent_state=state, method=method,
                                             gated=gated, dnt_honoured=dnt)
                a = memo[key] = assess_site_service(obs, ctx)
                common[id(a)] = _common(a, ctx.version)
            rows.append({"run_id": run_id, "site_input": domain, "service_id": sid, **for_site(common[id(a)], domain)})
            agg = per_service.setdefault((run_id, sid), {"sites": 0, "locs": set()})
            agg["sites"] += 1
            agg["locs"].update(locs)
        insert("_site_service_risk", pa.Table.from_pylist(rows, schema=SITE_SCHEMA))
        rows.clear()
    # hosts the build's one attribution (_host_services) gives to a service on the sites where it was detected
    # (e.g. a snippet-detected Hotjar whose script host static.hotjar.com was located by the enrichment)
    for sid, host in con.execute(sql_text("pipelines.warehouse", "queries/service_attributed_hosts"), [run_id]).fetchall():
        if (run_id, sid) in per_service and (run_id, host) in locations:
            per_service[(run_id, sid)]["locs"].add(locations[(run_id, host)])
    service_rows = []
    for (run_id, sid), agg in sorted(per_service.items()):
        a = assess_service(sid, ctx, locations=tuple(sorted(agg["locs"], key=lambda loc: loc.host)))
        service_rows.append({"run_id": run_id, "service_id": sid, "name": a.service_name, "sites": agg["sites"],
                             **_common(a, ctx.version), "to_check": list(a.to_check),
                             "checks": [{"condition": c.condition, "code": c.code, "params": _json(c.params)}
                                        for c in a.checks]})
    insert("_service_risk", pa.Table.from_pylist(service_rows, schema=SERVICE_SCHEMA))
