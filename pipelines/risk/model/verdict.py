"""From scored factors to the verdict: the consent reason codes C1–C5, ``consent_required`` with its basis, the
"to check" list, the overall confidence and the clamped score with its band."""

from __future__ import annotations

from datetime import date

from pipelines.catalog.records import Service
from pipelines.glossary import item
from pipelines.risk.model.evidence import _Level, _self_hosted, _strictly_necessary, _weakest
from pipelines.risk.model.inputs import RiskContext
from pipelines.risk.model.results import Assessment, Check, FactorResult, ReasonResult
from pipelines.risk.transfer import JurisdictionTransfer, ServerTransfer

_CONSENT_PURPOSES_C3 = frozenset({"advertising", "profiling", "session_replay", "social"})


def _reasons(service: Service, ctx: RiskContext, storage: _Level, ident: _Level, f5: FactorResult,
             jur: JurisdictionTransfer) -> list[ReasonResult]:
    titles = {code: title for code, (title, _legal) in ctx.rubric.reasons.items()}
    third = not _self_hosted(service)
    state = {"present": "holds", "unknown": "unknown"}
    c1 = ReasonResult("C1", titles["C1"], state.get(storage.level, "no"), storage.items)
    if third:
        c2 = ReasonResult("C2", titles["C2"], state.get(ident.level, "no"), ident.items)
    else:
        c2 = ReasonResult("C2", titles["C2"], "no", (item("self_hosted_no_request"),))
    tracking = sorted(set(service.purposes) & _CONSENT_PURPOSES_C3)
    if tracking:
        c3 = ReasonResult("C3", titles["C3"], "holds", (item("tracking_purposes", purposes=tracking),))
    elif "analytics" in service.purposes and third and f5.level == "own_purposes":
        c3 = ReasonResult("C3", titles["C3"], "holds", (item("analytics_own_purposes"), *f5.items))
    elif "analytics" in service.purposes and third and f5.level == "unknown":
        c3 = ReasonResult("C3", titles["C3"], "unknown", (item("analytics_role_unknown"),))
    else:
        c3 = ReasonResult("C3", titles["C3"], "no", (item("catalog_purposes_only", purposes=list(service.purposes)),))
    if third and service.self_host_alternative.value and jur.non_eea_controlled:
        c4 = ReasonResult("C4", titles["C4"], "holds", (item("self_host_exists"), *jur.items))
    elif third and service.self_host_alternative.value and jur.non_eea_controlled is None:
        c4 = ReasonResult("C4", titles["C4"], "unknown", (item("self_host_exists_control_unknown"), *jur.items))
    else:
        why = "no_self_host_alternative" if third and not service.self_host_alternative.value else \
            ("already_self_hosted" if not third else "eea_controlled")
        c4 = ReasonResult("C4", titles["C4"], "no", (item(why),))
    consent = service.consent
    if consent.basis in ("court_ruling", "authority_decision"):
        c5 = ReasonResult("C5", titles["C5"], "holds", (item(
            "decision", basis=consent.basis, reason=consent.reason, note=consent.note or None,
            cite={"source": consent.source, "as_of": consent.as_of, "mark": None}),))
    else:
        c5 = ReasonResult("C5", titles["C5"], "no", (item("no_decision"),))
    return [c1, c2, c3, c4, c5]


def _verdict(service: Service, reasons: list[ReasonResult], storage: _Level) -> tuple[str, str]:
    holds = {r.code for r in reasons if r.state == "holds"}
    unknown = {r.code for r in reasons if r.state == "unknown"}
    firm = sorted(holds & {"C1", "C2", "C3", "C5"})
    if firm:
        return "yes", f"{', '.join(firm)} hold{'s' if len(firm) == 1 else ''}"
    if not holds and storage.level == "absent" and _strictly_necessary(service):
        return "no", "the catalog marks the service strictly necessary and no non-essential storage is seen"
    if not holds and not unknown and storage.level == "absent" and _self_hosted(service):
        return "no", "self-hosted and nothing non-essential is stored on the terminal (§25 TDDDG not triggered)"
    if holds:
        return "likely", "only the conservative flag C4 holds"
    if unknown:
        return "likely", f"{', '.join(sorted(unknown))} cannot be established from the evidence"
    return "likely", ("a third-party request on page view discloses IP and browser data and the service is not "
                      "marked strictly necessary (EDPB GL 2/2023 IP-only tracking; Fashion ID)")


DPF_SEARCH = "https://www.dataprivacyframework.gov/s/participant-search"


def _dpf_page(dpf) -> str:
    """Where a reader checks a US entity on the DPF list: its participant page, else the list's search page."""
    if dpf.source.startswith("https://www.dataprivacyframework.gov/"):
        return dpf.source
    return DPF_SEARCH


def _to_check(service: Service, ctx: RiskContext, factors: list[FactorResult], jur: JurisdictionTransfer,
              server: ServerTransfer, *, dnt_tested: bool, static_only: bool) -> tuple[Check, ...]:
    third = not _self_hosted(service)
    f5 = next(f for f in factors if f.code == "F5")
    items: list[Check] = []
    if third and f5.level == "own_purposes":
        items.append(Check(1, "joint_controllers"))
    elif third:
        items.append(Check(1, "processing_agreement"))
    if jur.dpf is not None and jur.dpf.effective == "unknown" and jur.cls.startswith(("us_", "non_eea")):
        items.append(Check(3, "dpf_listing", {"name": jur.dpf.name, "page": _dpf_page(jur.dpf),
                                              "why": [i.as_dict() for i in jur.dpf.why]}))
    for note in dict.fromkeys(jur.notes + server.notes):
        items.append(Check(3, "adequacy_scope", note.params()))
    if third and service.eu_hosting.value == "optional":
        items.append(Check(3, "eu_hosting_optional"))
    if server.cls in ("not_measured", "anycast_or_unknown"):
        items.append(Check(3, "server_location"))
    if third and service.ip_anonymisation.value in ("unknown", "after_receipt"):
        items.append(Check(5, "ip_truncation"))
    if third and not dnt_tested:
        items.append(Check(6, "dnt_test"))
    items += [Check(4, "privacy_policy"), Check(7, "balancing"), Check(8, "proof")]
    if static_only:
        items.append(Check(None, "static_only"))
    for entry in service.roles:
        if entry.valid_from and entry.valid_from <= ctx.day and \
                (ctx.as_of.toordinal() - date.fromisoformat(_pad(entry.valid_from)).toordinal()) <= 366:
            items.append(Check(None, "role_changed", {"role": entry.role, "since": entry.valid_from}))
    numbered = sorted((i for i in items if i.condition is not None), key=lambda i: i.condition)
    first = []
    if service.security_finding is not None:
        f = service.security_finding
        first.append(Check(None, "security", {"kind": f.kind, "note": f.note or None, "since": f.since or None}))
    return tuple(first + numbered + [i for i in items if i.condition is None])


def _pad(partial: str) -> str:
    return (partial + "-01-01")[:10] if len(partial) == 4 else (partial + "-01")[:10] if len(partial) == 7 else partial


def _overall_confidence(factors: list[FactorResult]) -> str:
    """The weakest evidence behind the score (``confidence`` in data/risk/rubric.yml, the one definition):
    the weakest label among the factors that add or subtract points (a factor at an explicit unknown level
    carries ``catalog-unverified``); with no points at all, the weakest label among all factors."""
    relevant = [f.confidence for f in factors if f.points != 0] or [f.confidence for f in factors]
    return _weakest(relevant)


def _finish(grain: str, service: Service, site: str | None, ctx: RiskContext, factors: list[FactorResult],
            reasons: list[ReasonResult], verdict: tuple[str, str], checks: tuple[Check, ...],
            server: ServerTransfer, jur: JurisdictionTransfer, n_obs: int) -> Assessment:
    rubric = ctx.rubric
    base = sum(f.points for f in factors if not f.code.startswith("M:"))
    mitigation = max(sum(f.points for f in factors if f.code.startswith("M:")), rubric.mitigation_cap)
    raw = base + mitigation
    score = min(max(raw, rubric.score_min), rubric.score_max)
    return Assessment(grain, service.id, service.name, site, ctx.day, verdict[0], tuple(reasons), verdict[1], score,
                      raw, rubric.band(score), tuple(factors), _overall_confidence(factors), checks, server, jur,
                      n_obs)
