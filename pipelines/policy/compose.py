"""Word one service's privacy-policy block: the facts of :mod:`pipelines.policy.facts` in the reader's language,
with the sentences of the glossary's ``policy`` section and its code labels (``pipelines/glossary/<lang>.yml``; never
in code).

A block is plain data for the renderers: ``{"lang", "service_id", "title", "draft", "sections"}``; a section is
``{"key", "heading", "parts"}``, a part ``{"p": runs}`` or ``{"ul": [runs, ...]}``, and a run ``["text", s]``,
``["code", s]`` (a cookie name), ``["link", url]`` or ``["todo", s]`` (something the site operator must complete
or check, shown in square brackets).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines import glossary

Run = list[str]


def sentences(lang: str) -> Mapping[str, Any]:
    """The block sentences of ``lang`` (the glossary's ``policy`` section)."""
    return glossary.section(lang, "policy")


def lifetime_text(lang: str, lifetime: str | None) -> str:
    """A catalog cookie lifetime ("2 years", "Session", …) in ``lang``; "unknown" when the glossary cannot word it."""
    return glossary.lifetime(lang, lifetime) or glossary.text(lang, "unknown")


def company_text(lang: str, company: dict[str, Any] | None) -> str:
    """``Name, Street, City, Country`` with what the catalog has."""
    if company is None:
        return glossary.text(lang, "unknown")
    country = glossary.country(lang, company["country"]) if company.get("country") else None
    return ", ".join(x for x in (company["name"], company.get("street"), company.get("city"), country) if x)


def _p(*runs: Run) -> dict[str, Any]:
    return {"p": [r for r in runs if r]}


def _text(s: str) -> Run:
    return ["text", s[:-1] if s.endswith("..") else s]  # a name ending in "Inc." closes the sentence itself


def _todo(s: str) -> Run:
    return ["todo", s]


def compose(facts: dict[str, Any], lang: str) -> dict[str, Any]:
    """The block of one service in ``lang`` (``de`` or ``en``)."""
    S = sentences(lang)
    T = S["todo"]
    name = facts["name"]
    sections: list[dict[str, Any]] = []

    def section(key: str, parts: list[dict[str, Any]]) -> None:
        sections.append({"key": key, "heading": S["headings"][key], "parts": parts})

    # provider
    parts = [_p(_text(S["intro"].format(name=name)))]
    provider = facts["provider"]
    if facts["self_hosted"]:
        parts.append(_p(_text(S["self_hosted"].format(name=name))))
    elif provider is None:
        parts.append(_p(_todo(T["provider"])))
    else:
        parts.append(_p(_text(S["provider"].format(provider=company_text(lang, provider))),
                        None if provider.get("street") else _todo(T["address"])))
        eea = facts["provider_in_eea"]
        parts.append(_p(_text(S["provider_eea"]) if eea else _todo(T["provider_eea"])))
        if facts["group_top"]:
            parts.append(_p(_text(S["provider_group"].format(top=company_text(lang, facts["group_top"])))))
        role = facts["role"]
        parts.append(_p(_text(S["roles"][role]) if role in S["roles"] else _todo(T["role"])))
    section("provider", parts)

    # purpose
    purposes = [glossary.label(lang, "purpose_phrase", p) for p in facts["purposes"]]
    section("purpose", [_p(_text(S["purpose"].format(name=name, purposes=", ".join(purposes))) if purposes
                           else _todo(T["purpose"]))])

    # legal basis
    basis = facts["legal_basis"]
    if basis == "consent":
        parts = [_p(_text(S["consent"].format(name=name)),
                    _todo(T["likely"]) if facts["consent_required"] == "likely" else None)]
    elif basis == "legitimate_interest":
        parts = [_p(_text(S["interest"].format(interest=S["interests"][facts["interest"]])),
                    _text(S["interest_device"]) if facts["stores_on_device"] else None)]
    else:
        parts = [_p(_todo(T["legal_basis"]))]
    section("legal_basis", parts)

    # data
    cats = list(facts["data_categories"])
    if facts["ip_always_sent"] and "ip_address" not in cats:
        cats.insert(0, "ip_address")
    parts = [_p(_text(S["data"])), {"ul": [[_text(glossary.label(lang, "data_category", c))] for c in cats]}] if cats \
        else [_p(_todo(T["data"]))]
    if facts["ip_always_sent"]:
        parts.append(_p(_text(S["data_ip"])))
    section("data", parts)

    # cookies
    if facts["cookies"]:
        items = []
        for c in facts["cookies"]:
            line = S["cookie"].format(purpose=glossary.label(lang, "purpose_phrase", c["purpose"]),
                                      lifetime=lifetime_text(lang, c["lifetime"]))
            items.append([["code", c["name"]], _text(S["cookie_prefix"]) if c["match"] == "prefix" else None,
                          _text("– " + line)])
        parts = [_p(_text(S["cookies"].format(name=name))), {"ul": [[r for r in i if r] for i in items]}]
    elif facts["sets_cookies"] == "no":
        parts = [_p(_text(S["no_cookies"].format(name=name)))]
    else:
        parts = [_p(_todo(T["cookies"]))]
    section("cookies", parts)

    # recipients and transfers
    transfer = facts["transfer"]
    parts = []
    if facts["recipient"]:
        parts.append(_p(_text(S["recipient_passed"].format(provider=provider["name"],
                                                           recipient=company_text(lang, facts["recipient"])))))
    elif provider is not None:
        parts.append(_p(_text(S["recipient"].format(recipient=provider["name"]))))
    kind = transfer["basis"]
    country = glossary.country(lang, transfer.get("country"))
    dpf = transfer.get("dpf") or {}
    checked = dpf.get("checked_on") or glossary.text(lang, "unknown")
    if kind == "unknown":
        parts.append(_p(_todo(T["recipient"])))
    else:
        parts.append(_p(_text(S["transfer"][kind].format(country=country, checked_on=checked)),
                        _todo(T["parent"]) if transfer["parent_unknown"] else None))
    if transfer["parent_country"]:
        parts.append(_p(_text(S["transfer"]["parent"].format(
            country=glossary.country(lang, transfer["parent_country"])))))
    if kind == "scc":
        dpf_line = S["transfer"]["scc_dpf"].format(status=glossary.label(lang, "dpf_status", dpf.get("status")),
                                                   checked_on=checked) if dpf else None
        parts.append(_p(_text(dpf_line) if dpf_line else None, _todo(T["scc"])))
    section("recipients", parts)

    # retention
    if facts["retention"]:
        parts = [_p(_text(S["retention_fact"].format(value=r["value"])),
                    ["link" if r["source"].startswith(("https://", "http://")) else "text", r["source"]])
                 for r in facts["retention"]]
    else:
        parts = [_p(_todo(T["retention_own"] if facts["self_hosted"] else T["retention"]))]
    section("retention", parts)

    # withdrawal / objection
    parts = []
    if basis == "consent":
        parts.append(_p(_text(S["objection_consent"]), _todo(T["consent_link"])))
    elif basis == "legitimate_interest":
        parts.append(_p(_text(S["objection_interest"])))
    if not facts["self_hosted"]:
        parts.append(_p(_todo(T["opt_out"])))
    section("objection", parts)

    # sources
    if facts["sources"]:
        section("sources", [_p(_text(S["sources"].format(as_of=facts["as_of"] or glossary.text(lang, "unknown")))),
                            {"ul": [[["link", s["url"]], _text(S["source"].format(as_of=s["as_of"]))]
                                    for s in facts["sources"]]}])
    return {"lang": lang, "service_id": facts["service_id"], "title": S["title"].format(name=name),
            "draft": S["draft"].format(day=facts["day"]), "sections": sections}
