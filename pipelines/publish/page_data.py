"""Page data of the knowledge base: pure functions from a read-only warehouse connection plus the catalog to
plain dicts (one per service, company, the index, the methodology and the change list); templates only format them.

Every function takes an open DuckDB connection (``pipelines.warehouse.connect``) and a
:class:`~pipelines.catalog.load.Catalog`; none writes anything. Missing measurements come out as ``None`` or an
empty list (rendered "unknown"/"not measured"), never as a guessed value. Editorial text comes only from the
catalog's ``editorial`` fields (``data/services/<id>.yml``, owned by the content team).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pipelines.catalog.load import Catalog, Cookie, Service
from pipelines.publish.texts import BANDS, CONCLUSION, REASONS, STATIC, label
from pipelines.risk.model import DISCLAIMER
from pipelines.warehouse.connect import fetch_dicts

METHODOLOGY_FILE = Path(__file__).resolve().parents[2] / "docs" / "methodology.md"
_URL = re.compile(r"https?://[^\s\]\)>\"']+")


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
    """The newest run and the one before it: ``{run_id, run_date, prev_run_id, prev_run_date}`` (None if absent)."""
    runs = _rows(con, "SELECT run_id, CAST(started_at AS VARCHAR) AS started_at FROM stg_runs "
                      "WHERE run_id <= (SELECT max(run_id) FROM int_latest_run) ORDER BY run_id DESC LIMIT 2")
    cur = runs[0] if runs else {}
    prev = runs[1] if len(runs) > 1 else {}
    return {"run_id": cur.get("run_id"), "run_date": (cur.get("started_at") or "")[:10] or None,
            "prev_run_id": prev.get("run_id"), "prev_run_date": (prev.get("started_at") or "")[:10] or None}


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


def _source(text: str, as_of: str = "", field: str = "") -> dict[str, Any]:
    m = _URL.search(text or "")
    return {"text": text, "url": m.group(0) if m else None, "as_of": as_of or None, "field": field or None}


def collect_sources(service: Service | None, companies: list) -> list[dict[str, Any]]:
    """Sources of the catalog facts (service, then its companies), deduplicated, each with its as-of date."""
    seen: set[tuple] = set()
    out = []
    items = []
    for entity in ([service] if service else []) + companies:
        items += [(f.source, f.as_of, f.field) for f in entity.facts]
        items += [(s, entity.as_of, "") for s in entity.sources]
        dpf = getattr(entity, "dpf", None)
        if dpf and dpf.source:
            items.append((dpf.source, dpf.checked_on or "", "dpf"))
    for src, as_of, field in items:
        if not src or (src, as_of) in seen or any(s == src for s, _ in seen if not as_of):
            continue
        seen.add((src, as_of))
        out.append(_source(src, as_of, field))
    return out


def conclusion(lang: str, name: str, risk: dict | None, company: dict | None, countries: list[str]) -> str:
    """A short conclusion generated from the verdict, the jurisdiction and the measured countries."""
    t = CONCLUSION[lang]
    if not risk or not risk.get("consent_required"):
        text = t["none"].format(name=name)
    else:
        reasons = ", ".join(r["code"] for r in risk["reasons"]) or label(lang, "unknown")
        band = BANDS[lang].get(risk.get("band") or "", label(lang, "unknown"))
        text = t.get(risk["consent_required"], t["none"]).format(name=name, reasons=reasons, band=band)
    recipient = (risk or {}).get("recipient") or {}
    if recipient.get("country") == "US":  # the recipient's DPF status is the one scored and shown
        text += t["us"].format(dpf=recipient.get("dpf_status") or label(lang, "unknown"))
    elif company and company.get("us_jurisdiction"):
        text += t["us"].format(dpf=company["dpf"]["status"] or label(lang, "unknown"))
    if countries:
        text += t["where"].format(countries=", ".join(countries))
    return text


# --------------------------------------------------------------------------------------------------
# sections


def _known(value: Any) -> Any:
    """``None`` for an explicit ``unknown`` (rendered as the localised "unknown"), else the value."""
    return None if value in ("", "unknown") else value


def _company_block(con, catalog: Catalog, company_id: str | None, lang: str) -> dict[str, Any] | None:
    if not company_id:
        return None
    # seat and DPF status have one owner: the run's company facts (_run_companies, via the companies mart)
    mart = _one(con, "SELECT * FROM companies WHERE company_id = ?", [company_id]) or _one(
        con, "SELECT * FROM _run_companies WHERE company_id = ? AND run_id = (SELECT run_id FROM int_latest_run)",
        [company_id]) or {}
    comp = catalog.companies.get(company_id)
    if comp is None and not mart:
        return {"id": company_id, "name": company_id, "country": None, "parent": None, "ultimate_parent": None,
                "chain": [], "us_jurisdiction": None, "in_catalog": False,
                "dpf": {"status": None, "checked_on": None, "source": None, "participant_id": None},
                "note": STATIC[lang]["company"]}
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
        "dpf": {"status": _known(mart.get("dpf_status")),
                "checked_on": str(mart.get("dpf_checked_on") or "") or None,
                "source": mart.get("dpf_source") or None,
                "participant_id": comp.dpf.participant_id if comp else None},
        "note": STATIC[lang]["company"],
    }


def _risk_block(con, service_id: str, lang: str) -> dict[str, Any] | None:
    row = _one(con, "SELECT * FROM service_risk WHERE service_id = ?", [service_id])
    if not row:
        return None
    return {
        "consent_required": row.get("consent_required"),
        "reasons": [{"code": c, "text": REASONS[lang].get(c, c)} for c in (row.get("reasons") or [])],
        "score": row.get("risk_score"),
        "band": row.get("band"),
        "band_label": BANDS[lang].get(row.get("band") or "", None),
        "confidence": row.get("confidence"),
        "server_class": row.get("server_class"),
        "jurisdiction_class": row.get("jurisdiction_class"),
        "recipient": ({"id": row.get("recipient_id"), "name": row.get("recipient_name"),
                       "country": row.get("recipient_country"), "dpf_status": row.get("recipient_dpf_status")}
                      if row.get("recipient_id") else None),
        "contracting": ({"id": row.get("contracting_id"), "name": row.get("contracting_name"),
                         "country": row.get("contracting_country")} if row.get("contracting_id") else None),
        "security_findings": list(row.get("security_findings") or []),
        "factors": [{"code": f.get("code"), "level": f.get("level"), "points": f.get("points"),
                     "evidence": f.get("evidence"), "confidence": f.get("confidence")}
                    for f in (row.get("factors") or [])],
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
        "note": STATIC[lang]["location"],
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


def service_page_data(con, catalog: Catalog, service_id: str, lang: str = "de",
                      run: dict | None = None) -> dict[str, Any]:
    """One service page as a dict with the seed's sections (keys ``what`` … ``disclaimer``).

    ``service_id`` may be a curated catalog entry or a long-tail service that only the warehouse knows.
    Raises ``KeyError`` when neither the catalog nor the ``services`` mart knows it.
    """
    run = run or run_info(con)
    service = catalog.by_id.get(service_id)
    mart = _one(con, "SELECT name, category, company_id, curated FROM services WHERE service_id = ?", [service_id])
    if service is None and mart is None:
        raise KeyError(service_id)
    name = (service.name if service else None) or mart["name"] or service_id
    company_id = (service.company if service else None) or (mart or {}).get("company_id")
    ed = service.editorial if service else None
    company = _company_block(con, catalog, company_id, lang)
    risk = _risk_block(con, service_id, lang)
    location = _location_block(con, service_id, lang)
    companies = [catalog.companies[c["id"]] for c in (company or {}).get("chain", []) if c["id"] in catalog.companies]
    flags = {}
    if service:
        for key in ("sets_cookies",):
            flags[key] = None if service.sets_cookies in ("", "unknown") else service.sets_cookies
        for key in ("device_access", "own_purposes", "ip_anonymisation", "honours_dnt"):
            v = getattr(service, key).value
            flags[key] = None if v in ("", "unknown") else v
    return {
        "kind": "service",
        "id": service_id,
        "name": name,
        "lang": lang,
        "category": (service.category if service else None) or (mart or {}).get("category"),
        "curated": service is not None,
        "what": (getattr(ed, f"what_{lang}") or None) if ed else None,
        "why": (getattr(ed, f"why_{lang}") or None) if ed else None,
        "data": {
            "categories": list(service.data_categories) if service else [],
            "purposes": list(service.purposes) if service else [],
            "cookies": [{"name": c.name, "match": c.match, "purpose": c.purpose or None,
                         "lifetime": None if c.lifetime in ("", "unknown") else c.lifetime, "source": c.source}
                        for c in service.cookies] if service else [],
            "observed_cookies": observed_cookies(con, catalog, run["run_id"]).get(service_id, []) if service else [],
            "tracking": flags,
        },
        "consent": risk,
        "legal_basis": label(lang, "legal_basis"),
        "ip": STATIC[lang]["ip"],
        "location": location,
        "company": company,
        "prevalence": _prevalence_block(con, service_id),
        "policy": _policy_block(con, service_id, run),
        "conclusion": conclusion(lang, name, risk, company, location["measured_countries"]),
        "sources": collect_sources(service, companies),
        "as_of": {"run_id": run["run_id"], "run_date": run["run_date"],
                  "catalog": (service.as_of or None) if service else None,
                  "rating": risk["as_of"] if risk else None,
                  "dpf_snapshot": (company or {}).get("dpf", {}).get("checked_on")},
        "disclaimer": DISCLAIMER[lang],
    }


def company_page_data(con, catalog: Catalog, company_id: str, lang: str = "de",
                      run: dict | None = None) -> dict[str, Any]:
    """One company page: seat, chain, US jurisdiction, DPF with dates, reach and its services in the run."""
    run = run or run_info(con)
    block = _company_block(con, catalog, company_id, lang)
    mart = _one(con, "SELECT sites, sites_total, reach FROM companies WHERE company_id = ?", [company_id]) or {}
    services = _rows(con, "SELECT s.service_id, s.name, s.share, r.consent_required, r.band FROM services s "
                          "LEFT JOIN service_risk r USING (service_id) WHERE s.company_id = ? "
                          "ORDER BY s.share DESC, s.service_id", [company_id])
    comp = catalog.companies.get(company_id)
    return {
        "kind": "company", "lang": lang, **block,
        "reach": mart.get("reach"), "sites": mart.get("sites"), "sites_total": mart.get("sites_total"),
        "services": services,
        "facts": [{"field": f.field, "value": str(f.value), "source": f.source, "as_of": f.as_of}
                  for f in comp.facts] if comp else [],
        "sources": collect_sources(None, [comp] if comp else []),
        "as_of": {"run_id": run["run_id"], "run_date": run["run_date"],
                  "catalog": (comp.as_of or None) if comp else None},
        "disclaimer": DISCLAIMER[lang],
    }


UNCLAIMED_LISTED = 25  # the long-tail domains the index lists for the content team


def index_data(con, catalog: Catalog, lang: str = "de", run: dict | None = None) -> dict[str, Any]:
    """The index: one row per service of the newest run (service, category, share, consent, band), and the
    most widespread third-party domains no catalog entry claims yet (``domains`` mart; empty in a warehouse
    built before it), for the content team to curate next."""
    run = run or run_info(con)
    rows = _rows(con, "SELECT s.service_id, s.name, s.category, s.company_id, s.curated, s.sites, s.share, "
                      "s.share_ci_low, s.share_ci_high, r.consent_required, r.band, r.risk_score "
                      "FROM services s LEFT JOIN service_risk r USING (service_id) "
                      "ORDER BY s.share DESC, s.service_id")
    unclaimed = _rows(con, "SELECT registrable_domain, sites, sites_total, share, share_ci_low, share_ci_high, hosts, "
                           "countries, company_id FROM domains ORDER BY sites DESC, registrable_domain LIMIT ?",
                      [UNCLAIMED_LISTED]) if _columns(con, "domains") else []
    return {"kind": "index", "lang": lang, "rows": rows, "unclaimed": unclaimed,
            "as_of": {"run_id": run["run_id"], "run_date": run["run_date"]}, "disclaimer": DISCLAIMER[lang]}


def methodology_data(lang: str = "de", path: Path = METHODOLOGY_FILE) -> dict[str, Any]:
    """The methodology page: the Markdown source of ``docs/methodology.md`` (English; rendered as is)."""
    return {"kind": "methodology", "lang": lang, "markdown": Path(path).read_text(encoding="utf-8"),
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
    """What changed since the previous run: share moved beyond its interval (movement new/gone/up/down),
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
    return {"run_id": run["run_id"], "prev_run_id": run["prev_run_id"], "changes": changes,
            "dpf_tracked": "dpf_changed" in cols, "server_countries_tracked": "new_server_countries" in cols}


def service_ids(con) -> list[str]:
    """Services of the newest run (the pages to build), sorted."""
    return [r["service_id"] for r in _rows(con, "SELECT service_id FROM services ORDER BY service_id")]


def company_ids(con) -> list[str]:
    """Companies of the newest run, sorted."""
    return [r["company_id"] for r in _rows(con, "SELECT company_id FROM companies ORDER BY company_id")]
