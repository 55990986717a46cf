"""The facts of one service's privacy-policy block: a pure, language-neutral dict read from the catalog and the
risk model (verdict, recipient, transfer class, DPF status). Nothing here words a sentence or writes a file.

Unknown facts stay ``None`` or empty (the block then asks the operator to find them out); nothing is guessed.
The consent verdict has one owner, the risk model: a scan passes the site's own verdict, otherwise the
catalog-grain assessment (:func:`pipelines.risk.model.assess_service`) of the day is used.
"""

from __future__ import annotations

from typing import Any

from pipelines.catalog import vocab
from pipelines.catalog.load import Catalog, Service
from pipelines.risk.countries import EEA
from pipelines.risk.model import RiskContext, assess_service
from pipelines.risk.transfer import build_chain, jurisdiction_class

LEGAL_BASES = ("consent", "legitimate_interest", "unknown")
# jurisdiction class (pipelines.risk.transfer) -> the transfer basis a block states
TRANSFER_BASIS = {
    "site_operator": "site_operator", "eea": "eea", "eea_parent_unknown": "eea", "adequate": "adequacy",
    "non_eea_parent": "eea", "us_dpf": "dpf", "us_dpf_unknown": "scc", "us_no_dpf": "scc",
    "third_country": "scc", "unknown": "unknown",
}
# the purpose a legitimate interest is worded from, most specific first
INTEREST_PURPOSES = ("security", "consent_management", "necessary", "content_delivery", "functional",
                     "communication", "analytics")


def _company(catalog: Catalog, company_id: str | None) -> dict[str, Any] | None:
    c = catalog.companies.get(company_id or "")
    if c is None:
        return None
    return {"id": c.id, "name": c.name, "country": None if c.country == "unknown" else c.country,
            "city": c.city or None, "street": c.street or None}


def _sources(service: Service, companies: list) -> list[dict[str, str]]:
    """Public web sources of the legal facts behind the block (service, then its companies), deduplicated, each
    with the newest as-of date it is cited with."""
    found: dict[str, str] = {}
    items = [(f.source, f.as_of) for f in service.facts if f.field in vocab.LEGAL_FACT_FIELDS]
    for c in companies:
        items += [(f.source, f.as_of) for f in c.facts if f.field in vocab.LEGAL_FACT_FIELDS]
        if c.dpf.source:
            items.append((c.dpf.source, c.dpf.checked_on or c.as_of))
    if service.consent.source:
        items.append((service.consent.source, service.consent.as_of))
    for url, as_of in items:
        if vocab.URL_SOURCE_RE.match(url or "") and as_of >= found.get(url, ""):
            found[url] = as_of
    return [{"url": url, "as_of": as_of} for url, as_of in found.items()]


def block_facts(service: Service, catalog: Catalog, ctx: RiskContext, *, consent_required: str | None = None,
                assessed: bool | None = None) -> dict[str, Any]:
    """The facts of ``service``'s block on ``ctx.as_of``.

    ``catalog`` finds the service and its companies (it may hold long-tail entries the risk context's catalog
    lacks: those get no verdict and no recipient). ``consent_required`` (``yes``/``likely``/``no``) is a verdict
    already made for this service, e.g. a scan's for its site; ``assessed=False`` says there is none (None:
    assess the service at the catalog grain when the risk context knows it).
    """
    day = ctx.as_of
    curated = service.id in ctx.catalog.by_id
    if consent_required is None and assessed is not False and curated:
        consent_required = assess_service(service.id, ctx).consent_required
    self_hosted = service.company == vocab.SITE_OPERATOR
    provider = None if self_hosted else _company(catalog, service.company)
    chain_companies = list(catalog.parent_chain(service.company)) if service.company in catalog.companies else []
    transfer: dict[str, Any] = {"basis": "unknown", "class": "unknown", "country": None, "dpf": None,
                                "parent_country": None, "parent_unknown": False}
    recipient = None
    if self_hosted:
        transfer.update(basis="site_operator", **{"class": "site_operator"})
    elif curated and provider is not None:
        chain = build_chain(ctx.catalog, service.company, ctx.dpf, day)
        jur = jurisdiction_class(chain, ctx.countries, day)
        cls = jur.cls
        transfer.update(basis=TRANSFER_BASIS.get(cls, "unknown"), **{"class": cls})
        rec = chain.recipient
        if rec is not None:
            recipient = _company(ctx.catalog, rec.id)
            transfer["country"] = None if rec.country == "unknown" else rec.country
            if rec.dpf is not None:
                transfer["dpf"] = {"status": rec.dpf.effective, "checked_on": rec.dpf.checked_on}
        if cls == "non_eea_parent":  # processed in the EEA, but a parent outside it can reach the data
            transfer["parent_country"] = next((e.country for e in chain.entities[1:]
                                               if ctx.countries.region(e.country, day) != EEA), None)
        chain_companies += [ctx.catalog.companies[e.id] for e in chain.entities if e.id in ctx.catalog.companies]
        transfer["parent_unknown"] = cls == "eea_parent_unknown"
    top = chain_companies[-1] if len(chain_companies) > 1 and chain_companies[-1].id != service.company else None
    role = service.role_on(day.isoformat())[0] if not self_hosted else None
    if consent_required in ("yes", "likely"):
        basis = "consent"
    elif consent_required == "no":
        basis = "legitimate_interest"
    else:
        basis = "unknown"
    interest = "self_hosted" if self_hosted else next((p for p in INTEREST_PURPOSES if p in service.purposes),
                                                      "functional")
    categories = list(service.data_categories)
    own_facts = [*service.facts, *(chain_companies[0].facts if chain_companies else ())]
    retention = [{"value": f.value, "source": f.source, "as_of": f.as_of} for f in own_facts if f.field == "retention"]
    unique_companies = list({c.id: c for c in chain_companies}.values())
    return {
        "service_id": service.id,
        "name": service.name,
        "day": day.isoformat(),
        "as_of": service.as_of or None,
        "self_hosted": self_hosted,
        "provider": provider,
        "provider_in_eea": (ctx.countries.region(provider["country"], day) == EEA
                            if provider and provider["country"] else None),
        "group_top": {"name": top.name, "country": None if top.country == "unknown" else top.country} if top else None,
        "recipient": recipient if recipient and provider and recipient["id"] != provider["id"] else None,
        "role": role,
        "purposes": list(service.purposes),
        "data_categories": categories,
        "ip_always_sent": not self_hosted,
        "consent_required": consent_required,
        "legal_basis": basis,
        "interest": interest,
        "stores_on_device": service.sets_cookies == "yes" or bool(service.cookies),
        "sets_cookies": service.sets_cookies,
        "cookies": [{"name": c.name, "match": c.match, "purpose": c.purpose, "lifetime": c.lifetime}
                    for c in service.cookies],
        "transfer": transfer,
        "retention": retention,
        "sources": _sources(service, unique_companies),
    }
