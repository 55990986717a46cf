"""The scored factors shared by both grains (F4–F8 from the catalog and the transfer classes), the mitigations
(M:…) and security findings (S:…), each with its rubric points, evidence and confidence label."""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.catalog.records import Service
from pipelines.glossary import Item, item
from pipelines.risk.model.evidence import _best_fact, _cite, _label, _self_hosted
from pipelines.risk.model.inputs import RiskContext
from pipelines.risk.model.results import FactorResult
from pipelines.risk.transfer import JurisdictionTransfer, ServerTransfer


def _factor(ctx: RiskContext, code: str, level: str, items: Sequence[Item], confidence: str) -> FactorResult:
    factor = ctx.rubric.factors[code]
    return FactorResult(code, factor.title, level, factor.levels[level].points, tuple(items), confidence)


def _f4(service: Service, ctx: RiskContext) -> FactorResult:
    buckets = ctx.rubric.factors["F4"].buckets
    if not service.purposes:
        return _factor(ctx, "F4", "unknown", (item("no_purposes"),), "catalog-unverified")
    levels = {p: buckets[p] for p in service.purposes if p in buckets}
    best = max(levels.values(), key=lambda lv: ctx.rubric.points("F4", lv))
    why = [p for p, lv in levels.items() if lv == best]
    if _self_hosted(service) and ctx.rubric.points("F4", best) > ctx.rubric.points("F4", "first_party"):
        return _factor(ctx, "F4", "first_party", (item("self_hosted_purposes", purposes=list(service.purposes)),),
                       "catalog-verified")
    return _factor(ctx, "F4", best, (item("catalog_purposes", purposes=list(service.purposes), highest=why,
                                          as_of=service.as_of),), "catalog-verified")


def _f5(service: Service, ctx: RiskContext) -> FactorResult:
    if _self_hosted(service):
        return _factor(ctx, "F5", "first_party", (item("self_hosted_no_provider"),), "catalog-verified")
    role, entry = service.role_on(ctx.day)
    if entry is not None:
        cite = {"source": entry.source, "as_of": entry.as_of, "mark": entry.confidence}
        role_mark = entry.confidence
        span = {"valid": {"from": entry.valid_from, "to": entry.valid_to}}
    else:
        fact = _best_fact(service.facts, ["role"])
        cite, role_mark, span = _cite(fact), (fact.confidence if fact else "M"), {}
    own = service.own_purposes.value
    own_fact = _best_fact(service.facts, ["own_purposes"])
    if role in ("controller", "joint_controller"):
        return _factor(ctx, "F5", "own_purposes", (item("role_on", day=ctx.day, role=role, cite=cite, **span),),
                       _label(role_mark))
    if own == "yes":
        return _factor(ctx, "F5", "own_purposes", (item("provider_reuse", note=service.own_purposes.note or None,
                                                        cite=_cite(own_fact)),),
                       _label(own_fact.confidence if own_fact else "M"))
    if role == "processor":
        return _factor(ctx, "F5", "processor", (item("role_on", day=ctx.day, role="processor", cite=cite, **span),),
                       _label(role_mark))
    return _factor(ctx, "F5", "unknown", (item("role_not_recorded", day=ctx.day, own=own),), "catalog-unverified")


def _f6(jur: JurisdictionTransfer, ctx: RiskContext) -> FactorResult:
    label = "catalog-verified" if jur.cls == "site_operator" else _label(jur.confidence)
    if jur.cls in ("unknown", "eea_parent_unknown", "us_dpf_unknown"):
        label = "catalog-unverified"
    return _factor(ctx, "F6", jur.cls, jur.items, label)


def _f7(server: ServerTransfer, ctx: RiskContext) -> FactorResult:
    if server.cls == "first_party":
        return _factor(ctx, "F7", "first_party", server.items, "catalog-verified")
    if not server.measured:
        return _factor(ctx, "F7", "not_measured", server.items, "catalog-unverified")
    return _factor(ctx, "F7", server.cls, server.items, "measured")


def _f8(service: Service, ctx: RiskContext) -> FactorResult:
    if _self_hosted(service):
        return _factor(ctx, "F8", "first_party", (item("already_self_hosted"),), "catalog-verified")
    if service.self_host_alternative.value:
        return _factor(ctx, "F8", "remote_with_alternative",
                       (item("self_host_alternative", note=service.self_host_alternative.note or None),),
                       "catalog-verified")
    return _factor(ctx, "F8", "no_alternative", (item("no_self_host_alternative"),), "catalog-verified")


def _mitigations(service: Service, ctx: RiskContext, dnt: bool | None, dnt_items: tuple[Item, ...]
                 ) -> list[FactorResult]:
    items = ctx.rubric.mitigations
    out = []
    if _self_hosted(service):
        return out
    ip = service.ip_anonymisation.value
    if ip in ("browser", "eu_edge"):
        fact = _best_fact(service.facts, ["ip_handling"])
        out.append(FactorResult("M:ip_truncated", items["ip_truncated"].title, ip, items["ip_truncated"].points,
                                (item("catalog_ip_truncated", where=ip, note=service.ip_anonymisation.note or None,
                                      cite=_cite(fact)),), _label(fact.confidence if fact else "M")))
    if dnt is True:
        out.append(FactorResult("M:dnt_honoured", items["dnt_honoured"].title, "tested",
                                items["dnt_honoured"].points, dnt_items, "measured"))
    elif dnt is None and service.honours_dnt.value == "yes":
        fact = _best_fact(service.facts, ["dnt"])
        out.append(FactorResult("M:dnt_honoured", items["dnt_honoured"].title, "documented",
                                items["dnt_honoured"].points,
                                (item("catalog_dnt", note=service.honours_dnt.note or None, cite=_cite(fact)),),
                                _label(fact.confidence if fact else "M")))
    if service.eu_hosting.value == "yes":
        fact = _best_fact(service.facts, ["eu_hosting", "data_location"])
        if fact is not None and fact.confidence in ("V", "S"):
            out.append(FactorResult("M:eu_hosting", items["eu_hosting"].title, "evidenced",
                                    items["eu_hosting"].points,
                                    (item("catalog_eu_hosting", value=str(fact.value), cite=_cite(fact)),),
                                    _label(fact.confidence)))
    return out


def _security(service: Service, ctx: RiskContext) -> list[FactorResult]:
    finding = service.security_finding
    if finding is None or finding.kind not in ctx.rubric.security:
        return []
    found = ctx.rubric.security[finding.kind]
    cite = {"source": finding.source, "as_of": finding.as_of, "mark": finding.confidence}
    return [FactorResult(f"S:{finding.kind}", found.title, finding.kind, found.points,
                         (item("security_finding", kind=finding.kind, note=finding.note or None,
                               since=finding.since or None, cite=cite),), _label(finding.confidence))]
