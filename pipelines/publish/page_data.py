"""Page data of the knowledge base: pure functions from a read-only warehouse connection plus the catalog to
plain dicts (one per service, company, the index, the methodology and the change list); templates only format them.

Every function takes an open DuckDB connection (``pipelines.warehouse.connect``) and a
:class:`~pipelines.catalog.load.Catalog`; none writes anything. Missing measurements come out as ``None`` or an
empty list (rendered "unknown"/"not measured"), never as a guessed value. Editorial text comes only from the
catalog's ``editorial`` fields (``data/services/<id>.yml``, owned by the content team).
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from pipelines import glossary
from pipelines.catalog import vocab
from pipelines.catalog.load import Catalog, Cookie, Service
from pipelines.glossary import Item
from pipelines.risk.model import DISCLAIMER
from pipelines.risk.rubric import Rubric, load_rubric
from pipelines.warehouse.connect import fetch_dicts

# the rubric sources the explanatory texts of every service page rest on (legal basis, consent, IP address,
# location, company seat): listed under "Quellen" beside the catalog's sources
PAGE_LEGAL_SOURCES = ("tdddg25", "gdpr", "breyer", "adequacy", "dpf-decision", "dsk-dpf")


# --------------------------------------------------------------------------------------------------
# warehouse helpers (values are always bound parameters)


def _columns(con, table: str) -> set[str]:
    rows = con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()
    return {r[0] for r in rows}


_rows = fetch_dicts


def _one(con, sql: str, params: list | None = None) -> dict[str, Any] | None:
    rows = _rows(con, sql, params)
    return rows[0] if rows else None


def run_info(con) -> dict[str, Any]:
    """The newest run, its panel and the run of the same panel before it (the only run its figures are compared
    with): ``{run_id, run_date, panel, prev_run_id, prev_run_date}`` (None if absent). ``panel`` is
    ``{"name": ..., "list_checksum": ...}``: the ``--panel`` name, or the first hex digits of the domain list's
    SHA-256 when the runs were grouped by their list."""
    cur = _one(con, "SELECT p.run_id, CAST(r.started_at AS VARCHAR) AS started_at, p.panel, p.prev_run_id "
                    "FROM int_run_pairs p JOIN stg_runs r USING (run_id) "
                    "WHERE p.run_id = (SELECT run_id FROM int_latest_run)") or {}
    prev = _one(con, "SELECT CAST(started_at AS VARCHAR) AS started_at FROM stg_runs WHERE run_id = ?",
                [cur.get("prev_run_id")]) or {}
    panel = cur.get("panel")
    return {"run_id": cur.get("run_id"), "run_date": (cur.get("started_at") or "")[:10] or None,
            "panel": {"name": None if panel is None or panel.startswith("input:") else panel,
                      "list_checksum": panel[6:] if panel and panel.startswith("input:") else None},
            "prev_run_id": cur.get("prev_run_id"), "prev_run_date": (prev.get("started_at") or "")[:10] or None}


def _as_of_run(run: dict[str, Any]) -> dict[str, Any]:
    """The run a page's figures come from: id, date and panel."""
    return {"run_id": run["run_id"], "run_date": run["run_date"], "panel": run["panel"]}


# --------------------------------------------------------------------------------------------------
# small pure pieces


def cookie_matches(cookie: Cookie, name: str) -> bool:
    """Does an observed cookie ``name`` match a catalog cookie entry (``exact`` or ``prefix``)?"""
    if cookie.match == "prefix":
        return name.startswith(cookie.name)
    return name == cookie.name


def observed_cookies(con, catalog: Catalog, run_id: str | None) -> dict[str, list[str]]:
    """Cookie names seen in run ``run_id``, attributed to curated services by the catalog's cookie entries."""
    if not run_id:
        return {}
    names = [r["name"] for r in _rows(con, "SELECT DISTINCT name FROM stg_cookies WHERE run_id = ? ORDER BY name",
                                      [run_id]) if r["name"]]
    out: dict[str, list[str]] = {}
    for service in catalog.services:
        hits = sorted({n for n in names for c in service.cookies if cookie_matches(c, n)})
        if hits:
            out[service.id] = hits
    return out


@cache
def rubric() -> Rubric:
    """The rubric the pages explain (conditions, legal sources); read once."""
    return load_rubric()


def _url_key(url: str) -> str:
    """A URL without scheme, ``www.``, query-less trailing slash and case of the host: two spellings of one page
    are one source."""
    m = re.match(r"^https?://(?:www\.)?([^/?#]+)(.*)$", url.strip())
    if not m:
        return url.strip()
    return m.group(1).lower() + (m.group(2).rstrip("/") or "")


def _package_key(source: str) -> str:
    """A pinned package reference without the record inside it (``pkg@1.0#db/123`` -> ``pkg@1.0#db``)."""
    head, _, part = source.partition("#")
    return f"{head}#{part.split('/')[0]}" if part else head


def collect_sources(service: Service | None, companies: list, legal: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every public source behind a page: the catalog facts of the service and its companies (with the fields
    they back), their DPF statements and the rubric's legal sources ``legal``. One entry per page (URLs that differ
    only in ``www.``, scheme or a trailing slash are one), each with its newest as-of date. ``url`` is set for web
    addresses only; pinned packages are datasets, named without a link (``dataset`` True). Internal notes never
    appear: the catalog admits only public URLs and package references."""
    found: dict[str, dict[str, Any]] = {}

    def add(src: str, as_of: str | None, field: str | None = None, legal_key: str | None = None) -> None:
        if not src or not (glossary.is_link(src) or vocab.PACKAGE_SOURCE_RE.match(src)):
            return  # only public web addresses and pinned public packages are sources a reader can check
        link = glossary.is_link(src)
        key = _url_key(src) if link else _package_key(src)
        entry = found.setdefault(key, {"url": src if link else None, "source": src if link else _package_key(src),
                                       "dataset": not link, "as_of": None, "fields": [], "legal": legal_key})
        if as_of and (entry["as_of"] is None or str(as_of) > entry["as_of"]):
            entry["as_of"] = str(as_of)
        if field and field not in entry["fields"]:
            entry["fields"].append(field)
        if legal_key and not entry["legal"]:
            entry["legal"] = legal_key

    for entity in ([service] if service else []) + companies:
        for f in entity.facts:
            add(f.source, f.as_of, f.field)
        for src in entity.sources:
            add(src, entity.as_of)
        dpf = getattr(entity, "dpf", None)
        if dpf and dpf.source:
            add(dpf.source, dpf.checked_on, "dpf")
        transfer = getattr(entity, "transfers_to", None)
        if transfer and transfer.source:
            add(transfer.source, transfer.as_of, "transfers_to")
    if service:
        for c in service.cookies:  # cookie rows carry no date of their own: the entry's review date stands
            add(c.source, service.as_of, "cookies")
        if service.consent.source:
            add(service.consent.source, service.consent.as_of, "consent")
    sources = rubric().sources
    for key in legal:
        if key in sources:
            add(sources[key].source, sources[key].as_of, None, key)
    for entry in found.values():
        entry["text"] = entry["url"] or entry["source"]
    return sorted(found.values(), key=lambda e: (e["legal"] is None, e["dataset"], e["text"]))


# --------------------------------------------------------------------------------------------------
# sections


def _known(value: Any) -> Any:
    """``None`` for an explicit ``unknown`` (rendered as the localised "unknown"), else the value."""
    return None if value in ("", "unknown") else value


def _run_company(con, company_id: str) -> dict[str, Any]:
    """A company as the run's assessment saw it (the one owner of seat and DPF status): the companies mart, else
    the run's company facts (``_run_companies``; a recipient no site row names is only there)."""
    return _one(con, "SELECT * FROM companies WHERE company_id = ?", [company_id]) or _one(
        con, "SELECT * FROM _run_companies WHERE company_id = ? AND run_id = (SELECT run_id FROM int_latest_run)",
        [company_id]) or {}


def _dpf(mart: dict[str, Any], comp) -> dict[str, Any]:
    return {"status": _known(mart.get("dpf_status")), "checked_on": str(mart.get("dpf_checked_on") or "") or None,
            "source": mart.get("dpf_source") or None, "participant_id": comp.dpf.participant_id if comp else None}


def _company_block(con, catalog: Catalog, company_id: str | None, lang: str) -> dict[str, Any] | None:
    if not company_id:
        return None
    mart = _run_company(con, company_id)
    comp = catalog.companies.get(company_id)
    note = glossary.text(lang, "company_text")
    if comp is None and not mart:
        name = glossary.label(lang, "jurisdiction", "site_operator") if company_id == vocab.SITE_OPERATOR else company_id
        return {"id": company_id, "name": name, "country": None, "parent": None, "ultimate_parent": None,
                "chain": [], "us_jurisdiction": None, "in_catalog": False,
                "dpf": {"status": None, "checked_on": None, "source": None, "participant_id": None}, "note": note}
    chain = catalog.parent_chain(company_id) if comp else ()
    parent = chain[1] if len(chain) > 1 else None
    top = chain[-1] if len(chain) > 1 else None
    us = mart.get("us_jurisdiction") if "us_jurisdiction" in mart else catalog.us_jurisdiction(company_id)
    country = mart.get("country") or (comp.country if comp else None)
    return {
        "id": company_id,
        "name": mart.get("name") or (comp.name if comp else company_id),
        "country": None if country in (None, "", "unknown") else country,
        "parent": {"id": parent.id, "name": parent.name,
                   "country": None if parent.country == "unknown" else parent.country} if parent else None,
        "ultimate_parent": {"id": top.id, "name": top.name,
                            "country": None if top.country == "unknown" else top.country} if top else None,
        "chain": [{"id": c.id, "name": c.name, "country": None if c.country == "unknown" else c.country}
                  for c in chain],
        "us_jurisdiction": us,
        "in_catalog": comp is not None,
        "city": mart.get("city") or None,
        "dpf": _dpf(mart, comp),
        "note": note,
    }


def _items(rows: list[dict] | None, key: str, value: str) -> list[Item]:
    """Stored evidence rows (``factor``/``condition``, ``code``, JSON ``params``) for one key."""
    out = []
    for r in rows or []:
        if r.get(key) == value:
            try:
                params = json.loads(r.get("params") or "{}")
            except ValueError:
                params = {}
            out.append(Item(str(r.get("code")), params if isinstance(params, dict) else {}))
    return out


def _checks(rows: list[dict] | None) -> list[dict[str, Any]]:
    out = []
    for r in rows or []:
        try:
            params = json.loads(r.get("params") or "{}")
        except ValueError:
            params = {}
        out.append({"condition": r.get("condition"), "code": r.get("code"),
                    "params": params if isinstance(params, dict) else {}})
    return out


def conditions(factors: list[dict[str, Any]], checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The eight conditions for consent-free use with their status for one assessment (rules in
    ``data/risk/rubric.yml``): ``met`` / ``not_met`` with the deciding factors (code, level, evidence items), or
    ``check`` with the "to check" items of that condition (and the evidence of the factors that score it)."""
    levels = {f["code"]: f["level"] for f in factors}
    by_code = {f["code"]: f for f in factors}
    out = []
    for number, cond in sorted(rubric().conditions.items()):
        status, deciding = cond.status(levels)
        scored = [c for c in cond.factors if c in by_code]
        shown = deciding if status != "check" else tuple(scored)
        out.append({"number": number, "status": status,
                    "factors": [{k: by_code[c][k] for k in ("code", "level", "items")} for c in shown],
                    "checks": [c for c in checks if c["condition"] == number] if status == "check" else []})
    return out


def _risk_block(con, service_id: str, lang: str) -> dict[str, Any] | None:
    row = _one(con, "SELECT * FROM service_risk WHERE service_id = ?", [service_id])
    if not row:
        return None
    stored = row.get("evidence_items")  # None in a warehouse assessed before structured evidence
    factors = [{"code": f.get("code"), "level": f.get("level"), "points": f.get("points"),
                "evidence": f.get("evidence"), "confidence": f.get("confidence"),
                "items": [i.as_dict() for i in _items(stored, "factor", f.get("code"))]}
               for f in (row.get("factors") or [])]
    checks = _checks(row.get("checks"))
    return {
        "consent_required": row.get("consent_required"),
        "reasons": [{"code": c, "text": glossary.label(lang, "reason", c)} for c in (row.get("reasons") or [])],
        "score": row.get("risk_score"),
        "band": row.get("band"),
        "confidence": row.get("confidence"),
        "server_class": row.get("server_class"),
        "jurisdiction_class": row.get("jurisdiction_class"),
        "recipient": ({"id": row.get("recipient_id"), "name": row.get("recipient_name"),
                       # the file contract's tri-state: "unknown", never null (templates localise it)
                       "country": row.get("recipient_country") or "unknown",
                       "dpf_status": row.get("recipient_dpf_status") or "unknown"}
                      if row.get("recipient_id") else None),
        "contracting": ({"id": row.get("contracting_id"), "name": row.get("contracting_name"),
                         "country": _known(row.get("contracting_country"))} if row.get("contracting_id") else None),
        "security_findings": list(row.get("security_findings") or []),
        "factors": factors,
        "structured": stored is not None,
        "checks": checks,
        "notes": [c for c in checks if c["condition"] is None],
        "conditions": conditions(factors, checks),
        "to_check": list(row.get("to_check") or []),
        "as_of": row.get("as_of"),
    }


def _location_block(con, service_id: str, lang: str) -> dict[str, Any]:
    countries = _rows(con, "SELECT country, confidence, hosts, sites FROM service_locations WHERE service_id = ? "
                           "ORDER BY sites DESC, country", [service_id])
    hosts = _rows(con, "SELECT host, countries, asns, as_orgs, location_confidence, dns_status FROM hosts "
                       "WHERE service_id = ? ORDER BY sites DESC, host", [service_id])
    measured = sorted({c["country"] for c in countries if c["country"] and c["country"] != "unknown"
                       and c["confidence"] == "measured"})
    return {
        "countries": [{"country": None if c["country"] in (None, "unknown") else c["country"],
                       "confidence": c["confidence"], "hosts": c["hosts"], "sites": c["sites"]} for c in countries],
        "measured_countries": measured,
        "networks": [{"host": h["host"], "countries": [c for c in (h["countries"] or []) if c != "unknown"],
                      "asns": list(h["asns"] or []), "as_orgs": [o for o in (h["as_orgs"] or []) if o],
                      "confidence": h["location_confidence"], "dns_status": h["dns_status"]} for h in hosts],
        "note": glossary.text(lang, "location_text"),
    }


_WITHOUT_GATE = ("sites_without_gate", "share_without_gate", "share_without_gate_ci_low",
                 "share_without_gate_ci_high")


def _prevalence_block(con, service_id: str) -> dict[str, Any]:
    """Prevalence: the share of sites embedding the service (every embedding counts) and, of those, the share
    loading it without a consent gate (None in a warehouse built before that column), slices and trend."""
    wg = [c for c in _WITHOUT_GATE if c in _columns(con, "services_all")]
    row = _one(con, "SELECT sites, sites_total, share, share_ci_low, share_ci_high"
                    + "".join(f", {c}" for c in wg) + " FROM services WHERE service_id = ?", [service_id])
    slices = _rows(con, "SELECT slice_kind, slice, sites, sites_total, share FROM service_slices "
                        "WHERE service_id = ? ORDER BY slice_kind DESC, slice", [service_id])
    cols = _columns(con, "service_trends_all")
    extra = [c for c in ("new_server_countries", "prev_dpf_status", "dpf_status", "dpf_changed") if c in cols]
    trend = _one(con, "SELECT prev_run_id, prev_sites, sites, prev_share, share, share_change, movement"
                      + "".join(f", {c}" for c in extra) + " FROM service_trends WHERE service_id = ?", [service_id])
    return {
        "measured": row is not None,
        "sites": row["sites"] if row else None,
        "sites_total": row["sites_total"] if row else None,
        "share": row["share"] if row else None,
        "ci_low": row["share_ci_low"] if row else None,
        "ci_high": row["share_ci_high"] if row else None,
        "sites_without_gate": (row or {}).get("sites_without_gate"),
        "share_without_gate": (row or {}).get("share_without_gate"),
        "ci_low_without_gate": (row or {}).get("share_without_gate_ci_low"),
        "ci_high_without_gate": (row or {}).get("share_without_gate_ci_high"),
        "rank_buckets": [s for s in slices if s["slice_kind"] == "rank_bucket"],
        "cctlds": [s for s in slices if s["slice_kind"] == "cctld"],
        # columns an older warehouse lacks come out as None ("not measured"), never as "no change"
        "trend": ({"prev_dpf_status": None, "dpf_status": None, "dpf_changed": None, **trend,
                   "new_server_countries": list(trend.get("new_server_countries") or [])} if trend else None),
    }


_POLICY_COLUMNS = ("self_hosted_service", "sites", "sites_with_policy", "sites_named", "sites_company_only",
                   "sites_not_mentioned", "sites_self_hosted", "share_named", "share_named_ci_low",
                   "share_named_ci_high", "share_recipient_named", "prev_share_named", "named_movement")


def _policy_block(con, service_id: str, run: dict) -> dict[str, Any]:
    """How often the privacy policies of the sites embedding the service name it (``service_policy``), with the
    previous run's share and whether it moved beyond its interval; ``measured`` is false without policy texts
    (or in a warehouse built before the policy marts)."""
    cols = _columns(con, "service_policy_all")
    if not cols:
        return {"measured": False}
    wanted = [c for c in _POLICY_COLUMNS if c in cols]  # a warehouse from an earlier version lacks some
    cur = _one(con, f"SELECT {', '.join(wanted)} FROM service_policy_all WHERE run_id = ? AND service_id = ?",
               [run["run_id"], service_id]) if run["run_id"] else None
    if not cur or not cur["sites_with_policy"]:
        return {"measured": False, "sites": cur["sites"] if cur else None}
    return {**dict.fromkeys(_POLICY_COLUMNS), "measured": True, **cur,
            "sites_without_policy": cur["sites"] - cur["sites_with_policy"]}


# which factor's evidence explains a reason code on the page (the model derives C1 from F1's and C2 from F3's
# behaviour level, C3 from the purposes F4 scores and C4 from the jurisdiction F6 scores)
REASON_FACTOR = {"C1": "F1", "C2": "F3", "C3": "F4", "C4": "F6"}
# categories usually embedded as visible content: they can wait for a click on a placeholder
CLICK_CATEGORIES = frozenset({"chat", "customer-support", "video", "maps", "social", "embed", "reviews", "comments",
                              "captcha"})


def service_name(lang: str, service_id: str, name: str | None) -> str:
    """A service's name in ``lang``: the glossary's, where the catalog's name carries an English description,
    else the catalog's (a proper name)."""
    return glossary.label(lang, "service_name", service_id, default=name or service_id)


def conclusion(lang: str, name: str, risk: dict | None, countries: list[str]) -> str:
    """The conclusion in ``lang``: verdict and band, the recipient of the data with its DPF status, the measured
    server countries."""
    if not risk or risk.get("consent_required") not in ("yes", "likely", "no"):
        return glossary.text(lang, "conclusion_none", name=name)
    band = glossary.label(lang, "band", risk.get("band"))
    parts = [glossary.text(lang, f"conclusion_{risk['consent_required']}", name=name, band=band,
                           score=risk.get("score") if risk.get("score") is not None else glossary.text(lang, "unknown"))]
    recipient = risk.get("recipient")
    if recipient and recipient.get("country") not in (None, "unknown"):
        parts.append(glossary.text(lang, "conclusion_recipient", recipient=recipient["name"],
                                   country=glossary.country(lang, recipient["country"]),
                                   dpf=glossary.label(lang, "dpf_status", recipient.get("dpf_status") or "unknown")))
    if countries:
        parts.append(glossary.text(lang, "conclusion_where",
                                   countries=", ".join(glossary.country(lang, c) for c in countries)))
    return " ".join(parts)


def options(service: Service | None, risk: dict | None, category: str | None) -> list[str]:
    """The practical options the page's conclusion offers (glossary ``option_<code>``), in order."""
    out = []
    if risk and risk.get("security_findings"):
        out.append("security")
    if risk and risk.get("consent_required") in ("yes", "likely"):
        out.append("after_consent")
        if category in CLICK_CATEGORIES:
            out.append("on_click")
    if service is not None and service.eu_hosting.value == "optional":
        out.append("eu_region")
    f8 = next((f for f in (risk or {}).get("factors", []) if f["code"] == "F8"), None)
    if f8 is not None and f8["level"] == "remote_with_alternative":
        out.append("self_host")
    out.append("document")
    return out


def why_consent(risk: dict | None, service: Service | None) -> list[dict[str, Any]]:
    """Why the service needs consent: one entry per reason code that holds (glossary ``why_<code>``) with the
    evidence of the factor behind it; a "likely" verdict with no reason holding is the IP-only case."""
    if not risk:
        return []
    factors = {f["code"]: f for f in risk["factors"]}
    out = []
    for reason in risk["reasons"]:
        code = reason["code"]
        factor = factors.get(REASON_FACTOR.get(code, ""))
        items = factor["items"] if factor else []
        if code == "C5" and service is not None and service.consent.source:
            items = [Item("decision", {"basis": service.consent.basis, "cite": {
                "source": service.consent.source, "as_of": service.consent.as_of}}).as_dict()]
        out.append({"code": code, "items": items})
    if not out and risk.get("consent_required") == "likely":
        f2 = factors.get("F2")
        out.append({"code": "ip_only", "items": f2["items"] if f2 else []})
    return out


def policy_items(service: Service | None, risk: dict | None, company: dict | None,
                 recipient: dict | None) -> dict[str, Any] | None:
    """What the site's privacy policy must name for the service (Art. 13 GDPR): provider, purposes, legal basis,
    data, cookies with lifetimes, recipient and the basis of a third-country transfer, withdrawal/objection."""
    if service is None:
        return None
    consent = (risk or {}).get("consent_required") in ("yes", "likely", None)
    if service.company == vocab.SITE_OPERATOR:
        transfer = "none"
    elif recipient and recipient.get("country") == "US":
        transfer = "dpf" if recipient.get("dpf_status") == "active" else "scc"
    elif (risk or {}).get("jurisdiction_class") in ("third_country", "unknown", None):
        transfer = "scc"
    else:
        transfer = "adequate"
    return {"provider": company, "purposes": list(service.purposes),
            "legal_basis": "consent" if consent else "interest",
            "categories": [c for c in service.data_categories if c not in vocab.STAFF_DATA_CATEGORIES],
            "cookies": [{"name": c.name, "match": c.match, "lifetime": None if c.lifetime in ("", "unknown")
                         else c.lifetime} for c in service.cookies],
            "transfer": transfer, "recipient": recipient}


def service_page_data(con, catalog: Catalog, service_id: str, lang: str = "de",
                      run: dict | None = None) -> dict[str, Any]:
    """One service page as a dict with the seed's sections (keys ``what`` … ``disclaimer``). Codes stay codes
    (the templates name them from the glossary); explanatory texts come from the glossary in ``lang``.

    ``service_id`` may be a curated catalog entry or a long-tail service that only the warehouse knows.
    Raises ``KeyError`` when neither the catalog nor the ``services`` mart knows it.
    """
    run = run or run_info(con)
    service = catalog.by_id.get(service_id)
    mart = _one(con, "SELECT name, category, company_id, curated FROM services WHERE service_id = ?", [service_id])
    if service is None and mart is None:
        raise KeyError(service_id)
    name = service_name(lang, service_id, (service.name if service else None) or mart["name"])
    company_id = (service.company if service else None) or (mart or {}).get("company_id")
    category = (service.category if service else None) or (mart or {}).get("category")
    ed = service.editorial if service else None
    company = _company_block(con, catalog, company_id, lang)
    risk = _risk_block(con, service_id, lang)
    location = _location_block(con, service_id, lang)
    recipient = None
    if risk and risk["recipient"]:
        rec = risk["recipient"]
        recipient = {**rec, "dpf": _dpf(_run_company(con, rec["id"]), catalog.companies.get(rec["id"]))}
    chain_ids = [c["id"] for c in (company or {}).get("chain", [])] + ([recipient["id"]] if recipient else [])
    companies = [catalog.companies[c] for c in dict.fromkeys(chain_ids) if c in catalog.companies]
    flags = {}
    if service:
        flags["sets_cookies"] = None if service.sets_cookies in ("", "unknown") else service.sets_cookies
        for key in ("device_access", "own_purposes", "ip_anonymisation", "honours_dnt", "eu_hosting"):
            v = getattr(service, key).value
            flags[key] = None if v in ("", "unknown") else v
    f2 = next((f for f in (risk or {}).get("factors", []) if f["code"] == "F2"), None)
    legal = PAGE_LEGAL_SOURCES + tuple(k for r in (risk or {}).get("reasons", [])
                                       for k in rubric().reasons.get(r["code"], ("", ()))[1])
    categories = list(service.data_categories) if service else []
    return {
        "kind": "service",
        "id": service_id,
        "name": name,
        "lang": lang,
        "category": category,
        "curated": service is not None,
        "what": (getattr(ed, f"what_{lang}") or None) if ed else None,
        "why": (getattr(ed, f"why_{lang}") or None) if ed else None,
        "data": {
            "categories": [c for c in categories if c not in vocab.STAFF_DATA_CATEGORIES],
            "staff_categories": [c for c in categories if c in vocab.STAFF_DATA_CATEGORIES],
            "purposes": list(service.purposes) if service else [],
            "cookies": [{"name": c.name, "match": c.match, "purpose": c.purpose or None,
                         "lifetime": None if c.lifetime in ("", "unknown") else c.lifetime, "source": c.source}
                        for c in service.cookies] if service else [],
            "observed_cookies": observed_cookies(con, catalog, run["run_id"]).get(service_id, []) if service else [],
            "tracking": flags,
        },
        "consent": risk,
        "legal_basis": glossary.text(lang, "legal_basis_text"),
        "ip": glossary.text(lang, "ip_text"),
        "ip_service": {"loads": f2["level"] if f2 else None,
                       "self_hosted": company_id == vocab.SITE_OPERATOR,
                       "anonymisation": flags.get("ip_anonymisation")},
        "location": location,
        "company": company,
        "recipient": recipient,
        "prevalence": _prevalence_block(con, service_id),
        "policy": _policy_block(con, service_id, run),
        "privacy_policy": policy_items(service, risk, company, recipient),
        "why_consent": why_consent(risk, service),
        "conclusion": conclusion(lang, name, risk, location["measured_countries"]),
        "options": options(service, risk, category),
        "sources": collect_sources(service, companies, legal),
        "as_of": {**_as_of_run(run),
                  "catalog": (service.as_of or None) if service else None,
                  "rating": risk["as_of"] if risk else None,
                  "dpf_snapshot": (recipient or {}).get("dpf", {}).get("checked_on")
                  or (company or {}).get("dpf", {}).get("checked_on")},
        "disclaimer": DISCLAIMER[lang],
    }


def _with_names(value: str, catalog: Catalog) -> str:
    """A catalog fact's text with the company ids it mentions (``parent: google-llc``) replaced by their names."""
    ids = sorted(catalog.companies, key=len, reverse=True)
    if not ids:
        return value
    pattern = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, ids)) + r")(?![\w-])")
    return pattern.sub(lambda m: catalog.companies[m.group(1)].name, value)


def company_page_data(con, catalog: Catalog, company_id: str, lang: str = "de",
                      run: dict | None = None) -> dict[str, Any]:
    """One company page: seat, chain, US jurisdiction, DPF with dates, reach and its services in the run."""
    run = run or run_info(con)
    block = _company_block(con, catalog, company_id, lang)
    mart = _one(con, "SELECT sites, sites_total, reach FROM companies WHERE company_id = ?", [company_id]) or {}
    services = _rows(con, "SELECT s.service_id, s.name, s.sites, s.sites_total, s.share, r.consent_required, r.band "
                          "FROM services s LEFT JOIN service_risk r USING (service_id) WHERE s.company_id = ? "
                          "ORDER BY s.share DESC, s.service_id", [company_id])
    for s in services:
        s["name"] = service_name(lang, s["service_id"], s["name"])
    comp = catalog.companies.get(company_id)
    return {
        "kind": "company", "lang": lang, **block,
        "note": glossary.text(lang, "company_note"),
        "reach": mart.get("reach"), "sites": mart.get("sites"), "sites_total": mart.get("sites_total"),
        "services": services,
        "facts": [{"field": f.field, "value": _with_names(str(f.value), catalog), "source": f.source,
                   "as_of": f.as_of} for f in comp.facts] if comp else [],
        "sources": collect_sources(None, [comp] if comp else []),
        "as_of": {**_as_of_run(run), "catalog": (comp.as_of or None) if comp else None},
        "disclaimer": DISCLAIMER[lang],
    }


UNCLAIMED_LISTED = 25  # the long-tail domains the index lists for the content team


def index_data(con, catalog: Catalog, lang: str = "de", run: dict | None = None) -> dict[str, Any]:
    """The index: one row per service of the newest run: service, category, company, the recipient's
    jurisdiction (country and DPF status), the main server country (most sites; measured before uncertain),
    share with its sample size, consent, band.,
    and the most widespread third-party domains no catalog entry claims yet (``domains`` mart; empty in a
    warehouse built before it), for the content team to curate next."""
    run = run or run_info(con)
    rows = _rows(con, "SELECT s.service_id, s.name, s.category, s.company_id, c.name AS company_name, s.curated, "
                      "s.sites, s.sites_total, s.share, s.share_ci_low, s.share_ci_high, r.consent_required, r.band, "
                      "r.risk_score, coalesce(r.recipient_country, c.country) AS recipient_country, "
                      "r.recipient_dpf_status, r.jurisdiction_class, "
                      "(SELECT l.country FROM service_locations l WHERE l.service_id = s.service_id "
                      " AND l.country <> 'unknown' ORDER BY (l.confidence = 'measured') DESC, l.sites DESC, l.country "
                      " LIMIT 1) AS main_country, "
                      "(SELECT l.confidence FROM service_locations l WHERE l.service_id = s.service_id "
                      " AND l.country <> 'unknown' ORDER BY (l.confidence = 'measured') DESC, l.sites DESC, l.country "
                      " LIMIT 1) AS main_country_confidence "
                      "FROM services s LEFT JOIN service_risk r USING (service_id) "
                      "LEFT JOIN companies c ON c.company_id = s.company_id "
                      "ORDER BY s.share DESC, s.service_id")
    for r in rows:
        r["name"] = service_name(lang, r["service_id"], r["name"])
        if r["company_id"] == vocab.SITE_OPERATOR:
            r["company_name"] = glossary.label(lang, "jurisdiction", "site_operator")
        r["recipient_country"] = _known(r["recipient_country"])
        r["recipient_dpf_status"] = _known(r["recipient_dpf_status"])
    unclaimed = _rows(con, "SELECT registrable_domain, sites, sites_total, share, share_ci_low, share_ci_high, hosts, "
                           "countries, company_id FROM domains ORDER BY sites DESC, registrable_domain LIMIT ?",
                      [UNCLAIMED_LISTED]) if _columns(con, "domains") else []
    return {"kind": "index", "lang": lang, "rows": rows, "unclaimed": unclaimed, "as_of": _as_of_run(run),
            "disclaimer": DISCLAIMER[lang]}


def methodology_data(lang: str = "de") -> dict[str, Any]:
    """The methodology page for readers: the rubric's factors with their levels and points, the mitigations, the
    bands, the reason codes and the eight conditions with the factors that score them, and the rubric's sources
    (the words are the template's, ``templates/methodology_<lang>.md``)."""
    rb = rubric()
    return {"kind": "methodology", "lang": lang,
            "factors": [{"code": code, "levels": [{"level": lv.name, "points": lv.points}
                                                  for lv in f.levels.values()],
                         "conditions": list(f.conditions), "legal": list(f.legal)} for code, f in rb.factors.items()],
            "mitigations": [{"code": m.code, "points": m.points} for m in rb.mitigations.values()],
            "mitigation_cap": rb.mitigation_cap,
            "bands": [{"band": b, "from": lo, "to": (rb.bands[i + 1][1] - 1 if i + 1 < len(rb.bands) else None)}
                      for i, (b, lo) in enumerate(rb.bands)],
            "reasons": list(rb.reasons),
            "conditions": [{"number": n, "factors": [f for f in c.factors if f != "M"], "mitigations": "M" in c.factors}
                           for n, c in sorted(rb.conditions.items())],
            "sources": [{"key": s.key, "url": s.source, "as_of": s.as_of} for s in rb.sources.values()],
            "as_of": {"rubric": rb.as_of},
            "disclaimer": DISCLAIMER[lang]}


def assessment_changes(con, run_id: str | None) -> list[dict[str, Any]]:
    """Verdicts, bands or scores that moved because the catalog version moved (``risk_changes_all``): every run
    re-assessed with the catalog version the newest run ``run_id`` is assessed with, old runs included (a rebuild
    alone never moves a stored verdict). Empty for a warehouse built before assessments were versioned."""
    if not run_id or "catalog_version" not in _columns(con, "risk_changes_all"):
        return []
    version = _one(con, "SELECT catalog_version FROM _risk_runs WHERE run_id = ?", [run_id])
    if not version:
        return []
    return [{"service_id": r["service_id"], "kind": "assessment", "run_id": r["run_id"],
             "versions": [r["prev_version"], r["catalog_version"]],
             "from": {"consent_required": r["prev_consent"], "band": r["prev_band"], "score": r["prev_score"]},
             "to": {"consent_required": r["consent_required"], "band": r["band"], "score": r["risk_score"]}}
            for r in _rows(con, "SELECT * FROM risk_changes_all WHERE catalog_version = ? "
                                "ORDER BY run_id DESC, service_id", [version["catalog_version"]])]


def changes_data(con, catalog: Catalog, run: dict | None = None) -> dict[str, Any]:
    """What changed since the previous run of the same panel: share moved beyond its interval (movement new/gone/up/down),
    new server countries, DPF status changes (all from ``service_trends``), the share of privacy policies naming
    a service moved beyond its interval (``service_policy``) and cookies seen for a service in this run but not in
    the previous one; plus the verdicts that moved when the catalog version moved (:func:`assessment_changes`,
    any run). Without a previous run only the last kind can appear."""
    run = run or run_info(con)
    cols = _columns(con, "service_trends_all")
    extra = [c for c in ("new_server_countries", "prev_dpf_status", "dpf_status", "dpf_changed") if c in cols]
    trends = _rows(con, "SELECT service_id, prev_share, share, movement" + "".join(f", {c}" for c in extra)
                        + " FROM service_trends ORDER BY service_id")
    cur_c = observed_cookies(con, catalog, run["run_id"])
    prev_c = observed_cookies(con, catalog, run["prev_run_id"])
    changes = []
    for t in trends:
        sid = t["service_id"]
        if t["movement"] in ("new", "gone", "up", "down"):
            changes.append({"service_id": sid, "kind": "share", "movement": t["movement"],
                            "from": t["prev_share"], "to": t["share"]})
        if t.get("new_server_countries"):
            changes.append({"service_id": sid, "kind": "server_country", "countries": list(t["new_server_countries"])})
        if t.get("dpf_changed"):
            changes.append({"service_id": sid, "kind": "dpf", "from": t.get("prev_dpf_status"),
                            "to": t.get("dpf_status")})
    if run["prev_run_id"] and "named_movement" in _columns(con, "service_policy"):  # older warehouses lack it
        for t in _rows(con, "SELECT service_id, prev_share_named, share_named, named_movement FROM service_policy "
                            "WHERE named_movement IN ('up', 'down') ORDER BY service_id"):
            changes.append({"service_id": t["service_id"], "kind": "policy_named", "movement": t["named_movement"],
                            "from": t["prev_share_named"], "to": t["share_named"]})
    changes += assessment_changes(con, run["run_id"])
    if run["prev_run_id"]:
        for sid, names in sorted(cur_c.items()):
            new = sorted(set(names) - set(prev_c.get(sid, [])))
            if new:
                changes.append({"service_id": sid, "kind": "cookies", "cookies": new})
    return {"run_id": run["run_id"], "prev_run_id": run["prev_run_id"], "panel": run["panel"], "changes": changes,
            "dpf_tracked": "dpf_changed" in cols, "server_countries_tracked": "new_server_countries" in cols}


def service_ids(con) -> list[str]:
    """Services of the newest run (the pages to build), sorted."""
    return [r["service_id"] for r in _rows(con, "SELECT service_id FROM services ORDER BY service_id")]


def company_ids(con) -> list[str]:
    """Companies of the newest run, sorted."""
    return [r["company_id"] for r in _rows(con, "SELECT company_id FROM companies ORDER BY company_id")]
