"""How a service page explains its verdict, as pure functions of the page's risk block and the catalog entry: the
eight conditions' status, the reasons consent is needed, the conclusion, the practical options and what the site's
privacy policy must name. No warehouse access and no wording beyond the glossary's."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pipelines import glossary
from pipelines.catalog import vocab
from pipelines.catalog.load import Service
from pipelines.glossary import Item
from pipelines.risk.rubric import Rubric, load_rubric


@cache
def rubric() -> Rubric:
    """The rubric the pages explain (conditions, legal sources); read once."""
    return load_rubric()


def stored_items(rows: list[dict] | None, key: str, value: str) -> list[Item]:
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


def stored_checks(rows: list[dict] | None) -> list[dict[str, Any]]:
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
