"""Page data of the knowledge base: pure functions from a read-only warehouse connection plus the catalog to
plain dicts (one per service, company, the index and the methodology; the change list is
:mod:`pipelines.publish.changes`); templates only format them.

Every function takes an open DuckDB connection (``pipelines.warehouse.connect``) and a
:class:`~pipelines.catalog.load.Catalog`; none writes anything. The warehouse reads are
:mod:`pipelines.publish.sections` (queries in ``pipelines/publish/sql/``), the explanations
:mod:`pipelines.publish.explain`, the sources :mod:`pipelines.publish.sources`. Missing measurements come out as
``None`` or an empty list (rendered "unknown"/"not measured"), never as a guessed value. Editorial text comes only
from the catalog's ``editorial`` fields (``data/services/<id>.yml``, owned by the content team).
"""

from __future__ import annotations

import re
from typing import Any

from pipelines import glossary
from pipelines.catalog import vocab
from pipelines.catalog.load import Catalog
from pipelines.publish.explain import conclusion, options, policy_items, rubric, service_name, why_consent
from pipelines.publish.sections import (
    as_of_run,
    company_block,
    dpf,
    known,
    location_block,
    observed_cookies,
    policy_block,
    prevalence_block,
    risk_block,
    row,
    rows,
    run_company,
    run_info,
)
from pipelines.publish.sources import PAGE_LEGAL_SOURCES, collect_sources
from pipelines.risk.model import DISCLAIMER


def service_page_data(con, catalog: Catalog, service_id: str, lang: str = "de",
                      run: dict | None = None) -> dict[str, Any]:
    """One service page as a dict with the seed's sections (keys ``what`` … ``disclaimer``). Codes stay codes
    (the templates name them from the glossary); explanatory texts come from the glossary in ``lang``.

    ``service_id`` may be a curated catalog entry or a long-tail service that only the warehouse knows.
    Raises ``KeyError`` when neither the catalog nor the ``services`` mart knows it.
    """
    run = run or run_info(con)
    service = catalog.by_id.get(service_id)
    mart = row(con, "service", service_id=service_id)
    if service is None and mart is None:
        raise KeyError(service_id)
    name = service_name(lang, service_id, (service.name if service else None) or mart["name"])
    company_id = (service.company if service else None) or (mart or {}).get("company_id")
    category = (service.category if service else None) or (mart or {}).get("category")
    ed = service.editorial if service else None
    company = company_block(con, catalog, company_id, lang)
    risk = risk_block(con, service_id, lang)
    location = location_block(con, service_id, lang)
    recipient = None
    if risk and risk["recipient"]:
        rec = risk["recipient"]
        recipient = {**rec, "dpf": dpf(run_company(con, rec["id"]), catalog.companies.get(rec["id"]))}
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
        "prevalence": prevalence_block(con, service_id),
        "policy": policy_block(con, service_id, run),
        "privacy_policy": policy_items(service, risk, company, recipient),
        "why_consent": why_consent(risk, service),
        "conclusion": conclusion(lang, name, risk, location["measured_countries"]),
        "options": options(service, risk, category),
        "sources": collect_sources(service, companies, legal),
        "as_of": {**as_of_run(run),
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
    block = company_block(con, catalog, company_id, lang)
    mart = row(con, "company", company_id=company_id) or {}
    services = rows(con, "company_services", company_id=company_id)
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
        "as_of": {**as_of_run(run), "catalog": (comp.as_of or None) if comp else None},
        "disclaimer": DISCLAIMER[lang],
    }


UNCLAIMED_LISTED = 25  # the long-tail domains the index lists for the content team


def index_data(con, catalog: Catalog, lang: str = "de", run: dict | None = None) -> dict[str, Any]:
    """The index: one row per service of the newest run: service, category, company, the recipient's
    jurisdiction (country and DPF status), the main server country (most sites; measured before uncertain),
    share with its sample size, consent, band, and the most widespread third-party domains no catalog entry claims
    yet (``domains`` mart), for the content team to curate next."""
    run = run or run_info(con)
    services = rows(con, "index_services")
    for r in services:
        r["name"] = service_name(lang, r["service_id"], r["name"])
        if r["company_id"] == vocab.SITE_OPERATOR:
            r["company_name"] = glossary.label(lang, "jurisdiction", "site_operator")
        r["recipient_country"] = known(r["recipient_country"])
        r["recipient_dpf_status"] = known(r["recipient_dpf_status"])
    unclaimed = rows(con, "unclaimed_domains", limit=UNCLAIMED_LISTED)
    return {"kind": "index", "lang": lang, "rows": services, "unclaimed": unclaimed, "as_of": as_of_run(run),
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
