"""Unit tests for every factor (F1–F8), the mitigations, the reason codes, the verdicts and the confidence label,
at both grains, on a small in-memory catalog (so each test changes one fact and watches one factor)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from types import MappingProxyType

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.catalog import vocab
from pipelines.catalog.load import (
    Catalog,
    Company,
    Consent,
    Cookie,
    DatedRole,
    Dpf,
    Fact,
    Flagged,
    SelfHost,
    Service,
)
from pipelines.enrich.dpf import EMPTY_SNAPSHOT, DpfEntry, DpfSnapshot
from pipelines.risk.countries import load_countries
from pipelines.risk.model import (
    DISCLAIMER,
    VERDICTS,
    ObservedCookie,
    RiskContext,
    SiteServiceObservation,
    assess_service,
    assess_site_service,
    lifetime_seconds,
)
from pipelines.risk.rubric import DEFAULT_RUBRIC, load_rubric, parse_rubric
from pipelines.risk.transfer import HostLocation

DAY = date(2026, 11, 29)
COUNTRIES = load_countries()
RUBRIC = load_rubric()
PID = "a2zt0000000USCORP1"


def fact(field, value="x", confidence="V", **kw):
    return Fact(field, value, "https://example.org/test", "2026-01-01", confidence, **kw)


NO_DPF = Dpf()


def company(cid, country, parent=None, status="none", dpf=NO_DPF, seat="V"):
    facts = [fact("seat", country, seat)]
    if parent or status == "none":
        facts.append(fact("parent", parent or "none"))
    return Company(id=cid, name=cid.title(), country=country, parent=parent,
                   parent_status="known" if parent else status, dpf=dpf, facts=tuple(facts))


COMPANIES = [
    company("eu-co", "DE"),
    company("eu-sub", "IE", parent="us-parent"),
    company("us-parent", "US", dpf=Dpf(participant_id=PID, status="active", source="https://example.org/x", confidence="V")),
    company("us-co", "US", dpf=Dpf(status="unknown")),
    company("nz-co", "NZ"),
    company("eu-orphan", "DE", status="unknown"),
    company("ky-parent", "KY"),
    company("eu-ky", "IE", parent="ky-parent"),
    Company(id="site-operator", name="Site operator", country="unknown"),
]
SNAPSHOT = DpfSnapshot("2026-11-29", MappingProxyType({
    PID: DpfEntry("Us-Parent", PID, "active", ("EU",), ("non-HR",), "2026-11-01", "https://example.org/" + PID)}))

BASE = Service(
    id="svc", name="Svc", category="embed", company="eu-co", hosts=("svc.example",),
    data_categories=("ip_address", "device_browser"), purposes=("functional",), sets_cookies="no",
    consent=Consent("likely", "loads from the provider"), as_of="2026-11-29",
    facts=(fact("cookies", "no cookies"),),
)


def ctx_with(*services: Service, snapshot: DpfSnapshot = SNAPSHOT, on: date = DAY, rubric=RUBRIC) -> RiskContext:
    catalog = Catalog(services=tuple(services), companies=MappingProxyType({c.id: c for c in COMPANIES}),
                      signatures=MappingProxyType({}), by_id=MappingProxyType({s.id: s for s in services}))
    return RiskContext(catalog, COUNTRIES, rubric, snapshot, on)


def svc(**changes) -> Service:
    return replace(BASE, **changes)


def base_assess(service: Service, **kw):
    return assess_service(service.id, ctx_with(service, **kw))


def obs(**kw) -> SiteServiceObservation:
    return SiteServiceObservation(site="www.example.de", service_id="svc", **kw)


def site_assess(service: Service, observation: SiteServiceObservation, **kw):
    return assess_site_service(observation, ctx_with(service, **kw))


ANALYTICS_COOKIE = Cookie("_id", "exact", "analytics", "2 years", "https://example.org/test")
SECURITY_COOKIE = Cookie("__sec", "exact", "security", "session", "https://example.org/test")
FUNCTIONAL_COOKIE = Cookie("pref", "exact", "functional", "1 year", "https://example.org/test")


# ------------------------------------------------------------------------------------------ F1 storage


@pytest.mark.parametrize("changes,level,points", [
    ({"sets_cookies": "yes", "cookies": (ANALYTICS_COOKIE,)}, "present", 20),
    ({"sets_cookies": "yes", "cookies": (FUNCTIONAL_COOKIE,)}, "present", 20),  # functional is not essential
    ({"sets_cookies": "yes", "cookies": ()}, "present", 20),  # sets cookies, purposes not recorded
    ({"sets_cookies": "yes", "cookies": (SECURITY_COOKIE,)}, "absent", 0),
    ({"sets_cookies": "no"}, "absent", 0),
    ({"sets_cookies": "unknown", "facts": ()}, "unknown", 10),  # explicit unknown level, not the best case
    ({"device_access": Flagged("yes", "reads canvas"), "facts": (fact("device_access"),)}, "present", 20),
    ({"sets_cookies": "yes", "cookies": (FUNCTIONAL_COOKIE,), "consent": Consent("not_required", "CMP")},
     "absent", 0),  # strictly necessary service: its functional storage is essential
])
def test_f1_catalog_prior(changes, level, points):
    f1 = base_assess(svc(**changes)).factor("F1")
    assert (f1.level, f1.points) == (level, points)


def test_f1_evidence_names_cookie_lifetime_source_and_date():
    f1 = base_assess(svc(sets_cookies="yes", cookies=(ANALYTICS_COOKIE,),
                         facts=(fact("cookies", confidence="S"),))).factor("F1")
    assert "_id (analytics, 2 years)" in f1.evidence and "[https://example.org/test, as of 2026-01-01, secondary source]" in f1.evidence
    assert f1.confidence == "catalog-unverified"


@pytest.mark.parametrize("observation,level,confidence", [
    (obs(cookies=(ObservedCookie("_id", "example.de", 63072000, False, "analytics"),)), "present", "measured"),
    (obs(cookies=(ObservedCookie("mystery", "example.de", 3600),)), "present", "measured"),  # unknown purpose
    (obs(cookies=(ObservedCookie("__sec", "example.de", None, False, "security"),), method="browser"),
     "absent", "measured"),
    (obs(storage=("ls:visitor",)), "present", "measured"),
    (obs(fingerprinting=("canvas",)), "present", "measured"),
    (obs(method="browser"), "absent", "measured"),
    (obs(method="static"), "absent", "catalog-verified"),  # static: the catalog prior stands in
    (obs(gated=True, cookies=()), "gated", "measured"),
    (obs(consent_state="after_accept", cookies=(ObservedCookie("_id", purpose="analytics"),)), "gated", "measured"),
    (obs(consent_state="after_reject", cookies=(ObservedCookie("_id", purpose="analytics"),)), "present",
     "measured"),
])
def test_f1_site_grain(observation, level, confidence):
    f1 = site_assess(BASE, observation).factor("F1")
    assert (f1.level, f1.confidence) == (level, confidence)


def test_f1_static_crawl_falls_back_to_the_catalog_and_says_so():
    f1 = site_assess(svc(sets_cookies="yes", cookies=(ANALYTICS_COOKIE,)), obs(method="static")).factor("F1")
    assert f1.level == "present" and f1.evidence.startswith("static crawl cannot see storage written by scripts")


# ------------------------------------------------------------------------------------------ F2 request


def test_f2_levels():
    assert base_assess(BASE).factor("F2").level == "present"
    assert base_assess(svc(company="site-operator")).factor("F2").level == "absent"
    assert site_assess(BASE, obs(requests=("https://svc.example/a.js",))).factor("F2").evidence.startswith(
        "measured on www.example.de: loads https://svc.example/a.js")
    assert site_assess(BASE, obs(loaded_on_page_view=False)).factor("F2").level == "absent"
    assert site_assess(BASE, obs(gated=True)).factor("F2").level == "gated"
    assert site_assess(BASE, obs(gated=True)).factor("F2").points == 0


# ------------------------------------------------------------------------------------------ F3 identifiers


@pytest.mark.parametrize("changes,level", [
    ({"data_categories": ("ip_address", "identifiers"), "sets_cookies": "yes", "cookies": (ANALYTICS_COOKIE,)},
     "present"),
    ({"data_categories": ("ip_address", "identifiers"), "sets_cookies": "unknown"}, "unknown"),
    ({"data_categories": ("ip_address", "identifiers"), "sets_cookies": "no"}, "unknown"),
    ({"data_categories": ()}, "unknown"),
    ({"data_categories": ("ip_address",)}, "absent"),
    ({"device_access": Flagged("yes"), "facts": (fact("device_access"),)}, "present"),
    ({"company": "site-operator", "data_categories": ("identifiers",), "sets_cookies": "yes"}, "absent"),
    ({"data_categories": ("identifiers",), "sets_cookies": "yes", "consent": Consent("not_required", "CMP")},
     "absent"),
])
def test_f3_catalog_prior(changes, level):
    f3 = base_assess(svc(**changes)).factor("F3")
    assert f3.level == level
    assert f3.points == RUBRIC.points("F3", level)


@pytest.mark.parametrize("observation", [
    obs(identifiers=("https://svc.example/c?uid=123",)),
    obs(pixels=("https://svc.example/p.gif",)),
    obs(fingerprinting=("audio",)),
    obs(cookies=(ObservedCookie("trk", "svc.example", 86400 * 90, True, "advertising"),)),
])
def test_f3_site_grain_measured(observation):
    f3 = site_assess(BASE, observation).factor("F3")
    assert (f3.level, f3.points, f3.confidence) == ("present", 10, "measured")


def test_f3_session_cookie_is_not_a_persistent_identifier():
    f3 = site_assess(BASE, obs(cookies=(ObservedCookie("s", "svc.example", None, True, "analytics"),),
                               method="browser")).factor("F3")
    assert f3.level == "absent"


# ------------------------------------------------------------------------------------------ F4 purpose


@pytest.mark.parametrize("purposes,level,points", [
    (("advertising",), "ads_profiling_social", 15), (("profiling",), "ads_profiling_social", 15),
    (("social",), "ads_profiling_social", 15), (("analytics",), "analytics_replay", 10),
    (("session_replay",), "analytics_replay", 10), (("functional",), "functional", 5),
    (("content_delivery",), "functional", 5), (("communication",), "functional", 5),
    (("necessary",), "necessary", 0), (("security",), "necessary", 0), (("consent_management",), "necessary", 0),
    (("functional", "advertising"), "ads_profiling_social", 15),  # the highest purpose counts
    ((), "unknown", 10),
])
def test_f4(purposes, level, points):
    f4 = base_assess(svc(purposes=purposes)).factor("F4")
    assert (f4.level, f4.points) == (level, points)


# ------------------------------------------------------------------------------------------ F5 own purposes


ROLES = (DatedRole("controller", None, "2026-04-01", "https://example.org/test", "2026-01-26", "V"),
         DatedRole("processor", "2026-04-02", None, "https://example.org/test", "2026-01-26", "V"))


@pytest.mark.parametrize("changes,on,level", [
    ({"role": "controller", "facts": (fact("role"),)}, DAY, "own_purposes"),
    ({"role": "joint_controller", "facts": (fact("role"),)}, DAY, "own_purposes"),
    ({"own_purposes": Flagged("yes", "terms allow reuse"), "facts": (fact("own_purposes", confidence="S"),)}, DAY,
     "own_purposes"),
    ({"role": "processor", "facts": (fact("role"),)}, DAY, "processor"),
    ({}, DAY, "unknown"),
    ({"company": "site-operator"}, DAY, "first_party"),
    ({"roles": ROLES, "role": "processor"}, date(2026, 4, 1), "own_purposes"),  # dated: still controller
    ({"roles": ROLES, "role": "processor"}, date(2026, 4, 2), "processor"),
])
def test_f5(changes, on, level):
    f5 = base_assess(svc(**changes), on=on).factor("F5")
    assert f5.level == level and f5.points == RUBRIC.points("F5", level)


def test_role_change_within_a_year_is_a_to_check_item():
    a = base_assess(svc(roles=ROLES, role="processor"))
    assert any("role changed to processor (Art. 28 GDPR) on 2026-04-02" in t for t in a.to_check)
    assert "valid 2026-04-02 to …" in a.factor("F5").evidence


# ------------------------------------------------------------------------------------------ F6 / F7 / F8


@pytest.mark.parametrize("company_id,level,points", [
    ("eu-co", "eea", 0), ("eu-orphan", "eea_parent_unknown", 3), ("nz-co", "adequate", 5),
    ("eu-sub", "non_eea_parent", 5), ("us-parent", "us_dpf", 10), ("us-co", "us_dpf_unknown", 15),
    ("eu-ky", "third_country", 25), ("ghost-co", "unknown", 15), ("site-operator", "site_operator", 0),
])
def test_f6(company_id, level, points):
    f6 = base_assess(svc(company=company_id)).factor("F6")
    assert (f6.level, f6.points) == (level, points)


def test_f6_us_entity_with_inactive_dpf():
    inactive = DpfSnapshot("2026-11-29", MappingProxyType({PID: replace(SNAPSHOT.entries[PID], status="inactive")}))
    f6 = base_assess(svc(company="us-parent"), snapshot=inactive).factor("F6")
    assert (f6.level, f6.points) == ("us_no_dpf", 20)
    stale = base_assess(svc(company="us-parent"), on=date(2028, 1, 1)).factor("F6")
    assert stale.level == "us_dpf_unknown" and "more than 12 months" in stale.evidence


@pytest.mark.parametrize("locations,level,points", [
    ((), "not_measured", 3),
    ((HostLocation("svc.example", frozenset({"DE"}), "measured"),), "eea", 0),
    ((HostLocation("svc.example", frozenset({"CH"}), "measured"),), "adequate", 0),
    ((HostLocation("svc.example", frozenset({"US"}), "anycast_or_cdn"),), "anycast_or_unknown", 3),
    ((HostLocation("svc.example", frozenset(), "unknown"),), "anycast_or_unknown", 3),
    ((HostLocation("svc.example", frozenset({"US"}), "measured"),), "us_dpf_unknown", 5),  # no US entity
    ((HostLocation("svc.example", frozenset({"CN"}), "measured"),), "third_country", 10),
])
def test_f7_site_grain(locations, level, points):
    f7 = site_assess(BASE, obs(locations=locations)).factor("F7")
    assert (f7.level, f7.points) == (level, points)
    assert f7.confidence == ("measured" if locations else "catalog-unverified")


def test_f7_us_server_of_a_dpf_participant_and_first_party():
    us = (HostLocation("svc.example", frozenset({"US"}), "measured"),)
    assert site_assess(svc(company="eu-sub"), obs(locations=us)).factor("F7").level == "us_dpf"
    assert site_assess(svc(company="site-operator"), obs(locations=us)).factor("F7").level == "first_party"


def test_f8():
    alt = SelfHost(True, "download the files")
    assert base_assess(svc(self_host_alternative=alt)).factor("F8").points == 5
    assert base_assess(BASE).factor("F8").level == "no_alternative"
    assert base_assess(svc(self_host_alternative=alt, company="site-operator")).factor("F8").level == "first_party"


# ------------------------------------------------------------------------------------------ mitigations, cap, bands


def mitigated(**changes):
    return svc(ip_anonymisation=Flagged("eu_edge", "zeroed"), honours_dnt=Flagged("yes", "documented"),
               eu_hosting=Flagged("yes"), facts=(fact("ip_handling"), fact("dnt"), fact("eu_hosting", "Frankfurt")),
               **changes)


def test_mitigations():
    a = base_assess(mitigated())
    assert {f.code: f.points for f in a.factors if f.code.startswith("M:")} == {
        "M:ip_truncated": -3, "M:dnt_honoured": -2, "M:eu_hosting": -3}
    # F1 0 (no cookies) + F2 10 + F3 0 + F4 functional 5 + F5 unknown 5 + F6 eea 0 + F7 not_measured 3 + F8 0 = 23
    assert a.raw_score == 23 - 8 and a.risk_score == 15 and a.band == "low"


@pytest.mark.parametrize("changes", [
    {"ip_anonymisation": Flagged("after_receipt")},  # truncation after the transfer does not count (DSB)
    {"eu_hosting": Flagged("optional")},
    {"facts": (fact("ip_handling"), fact("dnt"), fact("eu_hosting", "x", confidence="M"))},  # M fact: no credit
])
def test_no_mitigation_without_evidence(changes):
    a = base_assess(replace(mitigated(), **changes))
    assert sum(f.points for f in a.factors if f.code.startswith("M:")) > -8


def test_dnt_measured_beats_documentation():
    tested = site_assess(mitigated(), obs(dnt_honoured=True)).factor("M:dnt_honoured")
    assert tested.confidence == "measured" and tested.level == "tested"
    not_honoured = site_assess(mitigated(), obs(dnt_honoured=False))
    assert "M:dnt_honoured" not in [f.code for f in not_honoured.factors]


def test_cap_floor_and_mitigation_cap():
    data = yaml.safe_load(DEFAULT_RUBRIC.read_text(encoding="utf-8"))
    for item in data["mitigations"]["items"].values():
        item["points"] = -10
    data["factors"]["F2"]["levels"]["present"]["points"] = 200
    rubric = parse_rubric(data)
    high = assess_service("svc", ctx_with(BASE, rubric=rubric))
    assert high.risk_score == 100 and high.band == "very_high" and high.raw_score > 100
    self_hosted = assess_service("svc", ctx_with(mitigated(company="site-operator"), rubric=rubric))
    assert sum(f.points for f in self_hosted.factors if f.code.startswith("M:")) == 0  # nothing to mitigate
    capped = assess_service("svc", ctx_with(mitigated(), rubric=rubric))
    assert capped.raw_score == 200 + 5 + 5 + 3 - 8  # three mitigations of -10 capped at -8
    data["factors"]["F2"]["levels"]["present"]["points"] = 10
    data["mitigations"]["cap"] = -50
    floor = assess_service("svc", ctx_with(mitigated(), rubric=parse_rubric(data)))
    assert floor.raw_score == 10 + 5 + 5 + 3 - 30 and floor.risk_score == 0 and floor.band == "low"


@pytest.mark.parametrize("score,band", [(0, "low"), (19, "low"), (20, "medium"), (39, "medium"), (40, "high"),
                                        (59, "high"), (60, "very_high"), (100, "very_high")])
def test_bands(score, band):
    assert RUBRIC.band(score) == band


# ------------------------------------------------------------------------------------------ reasons and verdicts


def reasons(a):
    return {r.code: r.state for r in a.reasons}


def test_yes_from_c1_c2_c3():
    a = base_assess(svc(sets_cookies="yes", cookies=(ANALYTICS_COOKIE,), purposes=("advertising",),
                        data_categories=("identifiers",)))
    assert a.consent_required == "yes" and a.reason_codes == ("C1", "C2", "C3")


def test_cross_site_analytics_is_c3_only_with_own_purposes():
    own = base_assess(svc(purposes=("analytics",), own_purposes=Flagged("yes"), facts=(fact("own_purposes"),)))
    assert reasons(own)["C3"] == "holds" and own.consent_required == "yes"
    proc = base_assess(svc(purposes=("analytics",), role="processor", facts=(fact("role"),)))
    assert reasons(proc)["C3"] == "no"
    unknown = base_assess(svc(purposes=("analytics",)))
    assert reasons(unknown)["C3"] == "unknown" and unknown.consent_required == "likely"


def test_c4_alone_is_likely():
    a = base_assess(svc(company="us-co", self_host_alternative=SelfHost(True, "self-host")))
    assert reasons(a) == {"C1": "no", "C2": "no", "C3": "no", "C4": "holds", "C5": "no"}
    assert a.consent_required == "likely" and "C4" in a.verdict_basis
    eea = base_assess(svc(self_host_alternative=SelfHost(True, "self-host")))
    assert reasons(eea)["C4"] == "no"
    orphan = base_assess(svc(company="eu-orphan", self_host_alternative=SelfHost(True, "x")))
    assert reasons(orphan)["C4"] == "unknown"


def test_ip_only_third_party_request_is_likely():
    a = base_assess(BASE)
    assert a.reason_codes == () and a.consent_required == "likely" and "IP-only" in a.verdict_basis


def test_strictly_necessary_is_no_until_non_essential_storage_is_seen():
    cmp_service = svc(purposes=("consent_management",), consent=Consent("not_required", "consent banner"),
                      sets_cookies="yes", cookies=(FUNCTIONAL_COOKIE,), data_categories=("identifiers",))
    assert base_assess(cmp_service).consent_required == "no"
    seen = site_assess(cmp_service, obs(cookies=(ObservedCookie("ads", "svc.example", 86400, True, "advertising"),)))
    assert seen.consent_required == "yes" and "C1" in seen.reason_codes


def test_self_hosted_without_storage_is_no():
    analytics = svc(company="site-operator", purposes=("analytics",), sets_cookies="yes", cookies=(ANALYTICS_COOKIE,))
    # first-party audience measurement: whether it stores anything before consent depends on its configuration
    # (cookieless mode), so the catalog alone says "likely" (issue 15: self-hosted Matomo likely / no when cookieless)
    base = base_assess(analytics)
    assert base.consent_required == "likely" and "C1" in base.verdict_basis
    cookieless = site_assess(analytics, obs(method="browser"))
    assert cookieless.consent_required == "no" and cookieless.risk_score == 5  # F4 first_party only
    cookie = ObservedCookie("_id", "www.example.de", 400 * 86400, False, "analytics")
    assert site_assess(analytics, obs(method="browser", cookies=(cookie,))).consent_required == "yes"


def test_gated_site_keeps_the_verdict_but_scores_lower():
    tracker = svc(sets_cookies="yes", cookies=(ANALYTICS_COOKIE,), purposes=("advertising",),
                  data_categories=("identifiers",))
    ungated, gated = site_assess(tracker, obs()), site_assess(tracker, obs(gated=True))
    assert ungated.consent_required == gated.consent_required == "yes"
    assert ungated.risk_score - gated.risk_score == 20 + 10 + 10


# ------------------------------------------------------------------------------------------ grains, confidence, output


def test_service_grain_aggregates_observations_but_never_lowers_the_prior():
    tracker = svc(sets_cookies="yes", cookies=(ANALYTICS_COOKIE,), data_categories=("identifiers",))
    ctx = ctx_with(tracker)
    clean = [obs(method="browser"), replace(obs(method="browser"), site="b.example")]
    a = assess_service("svc", ctx, clean)
    assert a.factor("F1").level == "present" and a.factor("F1").confidence != "measured"
    seen = clean + [replace(obs(pixels=("https://svc.example/p.gif",)), site="c.example")]
    b = assess_service("svc", ctx, seen)
    assert b.factor("F3").confidence == "measured" and "1 of 3 sites" in b.factor("F3").evidence
    # confidence = the weakest evidence behind the score: F5 (role not recorded) is an unverified catalog level
    assert b.observations == 3 and b.confidence == "catalog-unverified"


def test_service_grain_merges_locations_worst_first():
    ctx = ctx_with(BASE)
    o1 = obs(locations=(HostLocation("a.svc.example", frozenset({"DE"}), "measured"),))
    a = assess_service("svc", ctx, [o1], locations=[HostLocation("b.svc.example", frozenset({"SG"}), "measured")])
    assert a.factor("F7").level == "third_country"


def test_confidence_labels():
    # the weakest evidence behind the score (one definition, data/risk/rubric.yml): BASE scores F5 unknown and
    # F7 not_measured, both explicit unknown levels, so it is catalog-unverified
    assert base_assess(BASE).confidence == "catalog-unverified"
    processor = svc(role="processor", facts=(fact("cookies", "no cookies"), fact("role", "processor")))
    located = obs(locations=(HostLocation("svc.example", frozenset({"DE"}), "measured"),))
    assert site_assess(processor, located).confidence == "catalog-verified"  # F2 measured, F4 from the catalog
    necessary = replace(processor, purposes=("necessary",))
    assert site_assess(necessary, located).confidence == "measured"  # only F2 (measured) adds points
    unverified = base_assess(svc(sets_cookies="yes", cookies=(ANALYTICS_COOKIE,),
                                 facts=(fact("cookies", confidence="M"),)))
    assert unverified.confidence == "catalog-unverified"


def test_to_check_lists_what_a_crawl_cannot_measure():
    a = base_assess(svc(company="us-co"))
    text = "\n".join(a.to_check)
    for needle in ("(4)", "(7)", "(8)", "(1)", "(6)", "(5)", "Check Us-Co on the DPF list"):
        assert needle in text, needle
    numbers = [int(t[1:t.index(")")]) for t in a.to_check if t.startswith("(")]
    assert numbers == sorted(numbers)
    assert any("static crawl" in t for t in site_assess(BASE, obs()).to_check)


def test_every_factor_has_one_evidence_line_and_output_is_json_ready():
    a = site_assess(BASE, obs())
    assert [f.code for f in a.factors][:8] == ["F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8"]
    assert all(f.evidence and "\n" not in f.evidence for f in a.factors)
    data = json.loads(json.dumps(a.as_dict()))
    assert data["disclaimer"] == dict(DISCLAIMER) and set(DISCLAIMER) == {"de", "en"}
    assert "keine Rechtsberatung" in DISCLAIMER["de"] and "not legal advice" in DISCLAIMER["en"]
    assert data["grain"] == "site_service" and data["site"] == "www.example.de"


def test_bad_inputs():
    with pytest.raises(ValueError):
        obs(consent_state="maybe")
    with pytest.raises(ValueError):
        obs(method="headless")
    with pytest.raises(KeyError):
        assess_service("nope", ctx_with(BASE))


def test_empty_snapshot_is_fine():
    assert base_assess(svc(company="us-parent"), snapshot=EMPTY_SNAPSHOT).factor("F6").level == "us_dpf_unknown"


# ------------------------------------------------------------------------------------------ properties


_services = st.builds(
    lambda company, purposes, data, sets, self_host, baseline, device: svc(
        company=company, purposes=tuple(purposes), data_categories=tuple(data), sets_cookies=sets,
        self_host_alternative=SelfHost(self_host), consent=Consent(baseline, "x"),
        device_access=Flagged(device), cookies=(ANALYTICS_COOKIE, FUNCTIONAL_COOKIE) if sets == "yes" else ()),
    st.sampled_from([c.id for c in COMPANIES] + ["ghost-co"]),
    st.lists(st.sampled_from(sorted(vocab.PURPOSES)), max_size=3, unique=True),
    st.lists(st.sampled_from(sorted(vocab.DATA_CATEGORIES)), max_size=3, unique=True),
    st.sampled_from(["yes", "no", "unknown"]), st.booleans(), st.sampled_from(["likely", "not_required", "required"]),
    st.sampled_from(["yes", "unknown"]))
_observations = st.builds(
    lambda state, method, gated, cookies, countries, conf: obs(
        consent_state=state, method=method, gated=gated,
        cookies=tuple(ObservedCookie(n, "x.example", 86400, True, p) for n, p in cookies),
        locations=(HostLocation("svc.example", frozenset(countries), conf),) if countries or conf != "measured" else ()),
    st.sampled_from(["none", "before_consent", "after_accept", "after_reject"]), st.sampled_from(["static", "browser"]),
    st.booleans(), st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from([None, "analytics", "security"])),
                            max_size=2),
    st.lists(st.sampled_from(["DE", "US", "CN", "CH"]), max_size=2), st.sampled_from(["measured", "anycast_or_cdn",
                                                                                       "unknown"]))


@settings(max_examples=150, deadline=None)
@given(_services, _observations)
def test_any_input_gives_a_well_formed_assessment(service, observation):
    ctx = ctx_with(service)
    for a in (assess_service("svc", ctx, [observation]), assess_site_service(observation, ctx)):
        assert 0 <= a.risk_score <= 100 and a.band == RUBRIC.band(a.risk_score)
        assert a.consent_required in VERDICTS and a.confidence in ("measured", "catalog-verified",
                                                                     "catalog-unverified")
        assert [f.code for f in a.factors[:8]] == [f"F{i}" for i in range(1, 9)]
        assert sum(f.points for f in a.factors if f.code.startswith("M:")) >= RUBRIC.mitigation_cap
        assert a.consent_required != "no" or not ({"C1", "C2", "C3"} & set(a.reason_codes))
        assert any(t.startswith("(4)") for t in a.to_check)


def test_lifetime_seconds():
    assert lifetime_seconds("2 years") == 2 * 365 * 86400
    assert lifetime_seconds("13 months") == 13 * 30 * 86400
    assert lifetime_seconds("30 minutes") == 1800
    assert lifetime_seconds("session") is None and lifetime_seconds("10 Nov 2030") is None
