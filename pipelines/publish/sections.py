"""The warehouse-backed sections of the knowledge-base pages: pure reads of a read-only warehouse connection plus
the catalog, each from a query in ``pipelines/publish/sql/`` with bound parameters. Missing measurements come out as
``None`` or an empty list (rendered "unknown"/"not measured"), never as a guessed value."""

from __future__ import annotations

from typing import Any

from pipelines import glossary
from pipelines.catalog import vocab
from pipelines.catalog.load import Catalog, Cookie
from pipelines.publish.explain import conditions, stored_checks, stored_items
from pipelines.warehouse.sqlfiles import sql_row, sql_rows

PACKAGE = "pipelines.publish"


def rows(con, name: str, **params: Any) -> list[dict[str, Any]]:
    """Rows of ``pipelines/publish/sql/<name>.sql`` with ``params`` bound."""
    return sql_rows(con, PACKAGE, name, params)


def row(con, name: str, **params: Any) -> dict[str, Any] | None:
    """The first row of ``pipelines/publish/sql/<name>.sql`` (None when there is none)."""
    return sql_row(con, PACKAGE, name, params)


def run_info(con) -> dict[str, Any]:
    """The newest run, its panel and the run of the same panel before it (the only run its figures are compared
    with): ``{run_id, run_date, panel, prev_run_id, prev_run_date}`` (None if absent). ``panel`` is
    ``{"name": ..., "list_checksum": ...}``: the ``--panel`` name, or the first hex digits of the domain list's
    SHA-256 when the runs were grouped by their list."""
    cur = row(con, "run_info") or {}
    prev = row(con, "run_started", run_id=cur.get("prev_run_id")) or {}
    panel = cur.get("panel")
    return {"run_id": cur.get("run_id"), "run_date": (cur.get("started_at") or "")[:10] or None,
            "panel": {"name": None if panel is None or panel.startswith("input:") else panel,
                      "list_checksum": panel[6:] if panel and panel.startswith("input:") else None},
            "prev_run_id": cur.get("prev_run_id"), "prev_run_date": (prev.get("started_at") or "")[:10] or None}


def as_of_run(run: dict[str, Any]) -> dict[str, Any]:
    """The run a page's figures come from: id, date and panel."""
    return {"run_id": run["run_id"], "run_date": run["run_date"], "panel": run["panel"]}


def cookie_matches(cookie: Cookie, name: str) -> bool:
    """Does an observed cookie ``name`` match a catalog cookie entry (``exact`` or ``prefix``)?"""
    if cookie.match == "prefix":
        return name.startswith(cookie.name)
    return name == cookie.name


def observed_cookies(con, catalog: Catalog, run_id: str | None) -> dict[str, list[str]]:
    """Cookie names seen in run ``run_id``, attributed to curated services by the catalog's cookie entries."""
    if not run_id:
        return {}
    names = [r["name"] for r in rows(con, "run_cookie_names", run_id=run_id) if r["name"]]
    out: dict[str, list[str]] = {}
    for service in catalog.services:
        hits = sorted({n for n in names for c in service.cookies if cookie_matches(c, n)})
        if hits:
            out[service.id] = hits
    return out


def known(value: Any) -> Any:
    """``None`` for an explicit ``unknown`` (rendered as the localised "unknown"), else the value."""
    return None if value in ("", "unknown") else value


def run_company(con, company_id: str) -> dict[str, Any]:
    """A company as the run's assessment saw it (the one owner of seat and DPF status): the companies mart, else
    the run's company facts (``_run_companies``; a recipient no site row names is only there)."""
    return row(con, "company", company_id=company_id) or row(con, "run_company", company_id=company_id) or {}


def dpf(mart: dict[str, Any], comp) -> dict[str, Any]:
    """A company's DPF status as the run saw it, with the catalog's participant id."""
    return {"status": known(mart.get("dpf_status")), "checked_on": str(mart.get("dpf_checked_on") or "") or None,
            "source": mart.get("dpf_source") or None, "participant_id": comp.dpf.participant_id if comp else None}


def _party(company) -> dict[str, Any]:
    return {"id": company.id, "name": company.name, "country": None if company.country == "unknown" else company.country}


def company_block(con, catalog: Catalog, company_id: str | None, lang: str) -> dict[str, Any] | None:
    """A company: seat, parent chain, US jurisdiction and DPF status (the run's view, the catalog's chain)."""
    if not company_id:
        return None
    mart = run_company(con, company_id)
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
        "parent": _party(parent) if parent else None,
        "ultimate_parent": _party(top) if top else None,
        "chain": [_party(c) for c in chain],
        "us_jurisdiction": us,
        "in_catalog": comp is not None,
        "city": mart.get("city") or None,
        "dpf": dpf(mart, comp),
        "note": note,
    }


def risk_block(con, service_id: str, lang: str) -> dict[str, Any] | None:
    """A service's verdict, score, recipient and the evidence of each factor and condition (``service_risk``)."""
    r = row(con, "service_risk", service_id=service_id)
    if not r:
        return None
    factors = [{"code": f.get("code"), "level": f.get("level"), "points": f.get("points"),
                "evidence": f.get("evidence"), "confidence": f.get("confidence"),
                "items": [i.as_dict() for i in stored_items(r.get("evidence_items"), "factor", f.get("code"))]}
               for f in (r.get("factors") or [])]
    checks = stored_checks(r.get("checks"))
    return {
        "consent_required": r.get("consent_required"),
        "reasons": [{"code": c, "text": glossary.label(lang, "reason", c)} for c in (r.get("reasons") or [])],
        "score": r.get("risk_score"),
        "band": r.get("band"),
        "confidence": r.get("confidence"),
        "server_class": r.get("server_class"),
        "jurisdiction_class": r.get("jurisdiction_class"),
        "recipient": ({"id": r.get("recipient_id"), "name": r.get("recipient_name"),
                       # the file contract's tri-state: "unknown", never null (templates localise it)
                       "country": r.get("recipient_country") or "unknown",
                       "dpf_status": r.get("recipient_dpf_status") or "unknown"}
                      if r.get("recipient_id") else None),
        "contracting": ({"id": r.get("contracting_id"), "name": r.get("contracting_name"),
                         "country": known(r.get("contracting_country"))} if r.get("contracting_id") else None),
        "security_findings": list(r.get("security_findings") or []),
        "factors": factors,
        "checks": checks,
        "notes": [c for c in checks if c["condition"] is None],
        "conditions": conditions(factors, checks),
        "to_check": list(r.get("to_check") or []),
        "as_of": r.get("as_of"),
    }


def location_block(con, service_id: str, lang: str) -> dict[str, Any]:
    """Where a service's servers are: countries with their confidence, and each host's networks."""
    countries = rows(con, "service_locations", service_id=service_id)
    hosts = rows(con, "service_hosts", service_id=service_id)
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


def prevalence_block(con, service_id: str) -> dict[str, Any]:
    """Prevalence: the share of sites embedding the service (every embedding counts) and, of those, the share
    loading it without a consent gate, slices and trend."""
    r = row(con, "service_prevalence", service_id=service_id) or {}
    slices = rows(con, "service_slices", service_id=service_id)
    trend = row(con, "service_trend", service_id=service_id)
    return {
        "measured": bool(r),
        "sites": r.get("sites"),
        "sites_total": r.get("sites_total"),
        "share": r.get("share"),
        "ci_low": r.get("share_ci_low"),
        "ci_high": r.get("share_ci_high"),
        "sites_without_gate": r.get("sites_without_gate"),
        "share_without_gate": r.get("share_without_gate"),
        "ci_low_without_gate": r.get("share_without_gate_ci_low"),
        "ci_high_without_gate": r.get("share_without_gate_ci_high"),
        "rank_buckets": [s for s in slices if s["slice_kind"] == "rank_bucket"],
        "cctlds": [s for s in slices if s["slice_kind"] == "cctld"],
        "trend": {**trend, "new_server_countries": list(trend["new_server_countries"] or [])} if trend else None,
    }


def policy_block(con, service_id: str, run: dict) -> dict[str, Any]:
    """How often the privacy policies of the sites embedding the service name it (``service_policy``), with the
    previous run's share and whether it moved beyond its interval; ``measured`` is false without policy texts."""
    cur = row(con, "service_policy", run_id=run["run_id"], service_id=service_id) if run["run_id"] else None
    if not cur or not cur["sites_with_policy"]:
        return {"measured": False, "sites": cur["sites"] if cur else None}
    return {**cur, "measured": True, "sites_without_policy": cur["sites"] - cur["sites_with_policy"]}


def service_ids(con) -> list[str]:
    """Services of the newest run (the pages to build), sorted."""
    return [r["service_id"] for r in rows(con, "service_ids")]


def company_ids(con) -> list[str]:
    """Companies of the newest run, sorted."""
    return [r["company_id"] for r in rows(con, "company_ids")]
