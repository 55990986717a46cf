"""The behaviour levels an assessment scores (storage on the terminal, identifiers): the catalog's prior for what a
service does when it loads, what a crawl observed, and the small helpers that label and cite that evidence."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipelines.catalog import vocab
from pipelines.catalog.records import Cookie, Fact, Service
from pipelines.glossary import Item, item
from pipelines.risk.model.inputs import RiskContext, SiteServiceObservation
from pipelines.risk.model.results import LABELS
from pipelines.risk.rubric import Rubric
from pipelines.risk.transfer import HostLocation

_MARK = {"V": 0, "S": 1, "M": 2}


@dataclass(frozen=True)
class _Level:
    level: str
    items: tuple[Item, ...]
    confidence: str


def _label(mark: str) -> str:
    return "catalog-verified" if mark == "V" else "catalog-unverified"


def _weakest(labels: Iterable[str]) -> str:
    labels = list(labels)
    return max(labels, key=LABELS.index) if labels else "catalog-unverified"


def _best_fact(facts: Iterable[Fact], fields: Iterable[str]) -> Fact | None:
    wanted = set(fields)
    found = [f for f in facts if f.field in wanted]
    return min(found, key=lambda f: (_MARK.get(f.confidence, 2), f.as_of)) if found else None


def _cite(fact: Fact | None) -> dict | None:
    """A fact's source, as-of date and V/S/M mark (the ``cite`` parameter of an evidence item)."""
    return {"source": fact.source, "as_of": fact.as_of, "mark": fact.confidence} if fact else None


def _strictly_necessary(service: Service) -> bool:
    """The catalog marks the service strictly necessary for the requested service (§25(2) no. 2 TDDDG)."""
    return service.consent.baseline == "not_required"


def _self_hosted(service: Service) -> bool:
    return service.company == vocab.SITE_OPERATOR


def _essential(purpose: str | None, service: Service, rubric: Rubric) -> bool:
    if purpose is None:
        return False  # unclassified storage is not presumed essential
    if purpose in rubric.essential_purposes:
        return True
    # the catalog marked the whole service strictly necessary: its functional storage serves that purpose
    return _strictly_necessary(service) and purpose in ("functional", "necessary", "security", "consent_management")


def _cookie_list(cookies: Sequence[Cookie], n: int = 3) -> dict:
    """The first ``n`` catalog cookies (name, prefix match, purpose, lifetime) and how many more there are."""
    return {"cookies": [{"name": c.name, "prefix": c.match == "prefix", "purpose": c.purpose, "lifetime": c.lifetime}
                        for c in cookies[:n]], "more": max(len(cookies) - n, 0)}


def _first(items: Sequence[str], n: int = 2) -> dict:
    return {"items": list(items[:n]), "more": max(len(items) - n, 0)}


# --------------------------------------------------------------------------------------------------
# catalog priors (what the service does when it loads, as the catalog records it)


def _prior_storage(service: Service, ctx: RiskContext) -> _Level:
    rubric = ctx.rubric
    cookie_fact = _best_fact(service.facts, ["cookies"])
    device_fact = _best_fact(service.facts, ["device_access"])
    if _strictly_necessary(service):
        return _Level("absent", (item("strictly_necessary_storage", reason=service.consent.reason),),
                      "catalog-verified")
    noness = [c for c in service.cookies if not _essential(c.purpose, service, rubric)]
    parts, marks = [], []
    if service.sets_cookies == "yes" and (noness or not service.cookies):
        parts.append(item("catalog_sets_cookies", cookies=_cookie_list(noness), cite=_cite(cookie_fact)) if noness
                     else item("catalog_sets_unlisted_cookies", cite=_cite(cookie_fact)))
        marks.append(cookie_fact.confidence if cookie_fact else "M")
    if service.device_access.value == "yes":
        parts.append(item("catalog_device_access", note=service.device_access.note or None, cite=_cite(device_fact)))
        marks.append(device_fact.confidence if device_fact else "M")
    if parts:
        best = min(marks, key=lambda m: _MARK.get(m, 2))
        if _self_hosted(service) and set(service.purposes) <= {"analytics"}:
            # first-party audience measurement: whether its cookies need consent depends on the configuration (no
            # blanket exemption in Germany, DSK OH Telemedien 2021; CNIL exempts it under strict conditions)
            return _Level("unknown", (item("self_hosted_measurement_config"), *parts), "catalog-unverified")
        return _Level("present", tuple(parts), _label(best))
    mark = cookie_fact.confidence if cookie_fact else "M"
    if service.sets_cookies == "yes":
        return _Level("absent", (item("catalog_cookies_essential", cookies=_cookie_list(service.cookies),
                                      cite=_cite(cookie_fact)),), _label(mark))
    if service.sets_cookies == "no":
        return _Level("absent", (item("catalog_sets_no_cookies", cite=_cite(cookie_fact)),), _label(mark))
    return _Level("unknown", (item("catalog_storage_unknown"),), "catalog-unverified")


def _prior_identifier(service: Service, ctx: RiskContext) -> _Level:
    if _self_hosted(service):
        return _Level("absent", (item("self_hosted_identifiers"),), "catalog-verified")
    if _strictly_necessary(service):
        return _Level("absent", (item("strictly_necessary_identifier"),), "catalog-verified")
    cookie_fact = _best_fact(service.facts, ["cookies"])
    device_fact = _best_fact(service.facts, ["device_access"])
    role, _entry = service.role_on(ctx.day)
    if role == "processor" and service.own_purposes.value != "yes" and service.device_access.value != "yes":
        # an identifier a processor keeps for the site (e.g. a chat visitor id) is not linked across sites
        role_fact = _best_fact(service.facts, ["role"])
        return _Level("absent", (item("processor_identifiers"),), _label(role_fact.confidence if role_fact else "M"))
    if service.device_access.value == "yes":
        mark = device_fact.confidence if device_fact else "M"
        return _Level("present", (item("catalog_device_access_provider", cite=_cite(device_fact)),), _label(mark))
    ids = "identifiers" in service.data_categories
    mark = cookie_fact.confidence if cookie_fact else "M"
    if ids and service.sets_cookies == "yes" and not service.cookies:
        return _Level("unknown", (item("identifiers_cookies_unlisted", cite=_cite(cookie_fact)),), "catalog-unverified")
    if ids and service.sets_cookies == "yes":
        # a persistent identifier is a cookie that outlives the session (an unknown lifetime counts) and serves no
        # essential purpose: session-only or security/consent cookies identify no visitor across sites and visits
        lasting = [c for c in service.cookies if "session" not in c.lifetime.lower()
                   and not _essential(c.purpose, service, ctx.rubric)]
        if not lasting:
            return _Level("absent", (item("session_or_essential_cookies", cookies=_cookie_list(service.cookies),
                                          cite=_cite(cookie_fact)),), _label(mark))
        return _Level("present", (item("persistent_cookies", cookies=_cookie_list(lasting), cite=_cite(cookie_fact)),),
                      _label(mark))
    if ids:
        return _Level("unknown", (item("identifiers_without_storage", sets_cookies=service.sets_cookies),),
                      "catalog-unverified")
    if not service.data_categories:
        return _Level("unknown", (item("no_data_categories"),), "catalog-unverified")
    return _Level("absent", (item("no_identifiers", categories=list(service.data_categories)),), "catalog-verified")


# --------------------------------------------------------------------------------------------------
# observations


def _where(obs: SiteServiceObservation) -> Item:
    return item("measured_on", site=obs.site, run_id=obs.run_id or None, state=obs.consent_state)


def _observed_storage(obs: SiteServiceObservation, service: Service, rubric: Rubric) -> _Level | None:
    noness = [c for c in obs.cookies if not _essential(c.purpose, service, rubric)]
    storage = [] if _strictly_necessary(service) else list(obs.storage)
    parts = []
    if noness:
        shown = [{"name": c.name, "purpose": c.purpose, "seconds": c.lifetime_seconds, "third_party": c.third_party}
                 for c in noness[:2]]
        parts.append(item("seen_cookies", cookies={"cookies": shown, "more": max(len(noness) - 2, 0)}))
    if storage:
        parts.append(item("seen_storage", keys=_first(storage)))
    if obs.fingerprinting:
        parts.append(item("seen_fingerprinting", apis=_first(list(obs.fingerprinting))))
    if not parts:
        return None
    return _Level("present", (_where(obs), *parts), "measured")


def _observed_identifier(obs: SiteServiceObservation, service: Service, rubric: Rubric) -> _Level | None:
    if _self_hosted(service):
        return None
    cookies = [c for c in obs.cookies if c.lifetime_seconds and (c.purpose is None or c.purpose in rubric.tracking_purposes)]
    parts = []
    if cookies:
        shown = [{"name": c.name, "seconds": c.lifetime_seconds} for c in cookies[:2]]
        parts.append(item("seen_persistent_cookies", cookies={"cookies": shown, "more": max(len(cookies) - 2, 0)}))
    if obs.identifiers:
        parts.append(item("seen_identifiers", values=_first(list(obs.identifiers))))
    if obs.pixels:
        parts.append(item("seen_pixels", urls=_first(list(obs.pixels))))
    if obs.fingerprinting:
        parts.append(item("seen_fingerprinting", apis=_first(list(obs.fingerprinting))))
    if not parts:
        return None
    return _Level("present", (_where(obs), *parts), "measured")


def _merge_locations(observations: Iterable[SiteServiceObservation]) -> list[HostLocation]:
    by_host: dict[str, list[HostLocation]] = {}
    for obs in observations:
        for loc in obs.locations:
            by_host.setdefault(loc.host, []).append(loc)
    merged = []
    for host, locs in by_host.items():
        confs = {loc.confidence for loc in locs}
        conf = "anycast_or_cdn" if "anycast_or_cdn" in confs else ("measured" if "measured" in confs else "unknown")
        countries = frozenset().union(*(loc.countries for loc in locs))
        merged.append(HostLocation(host, countries, conf, locs[0].evidence))
    return merged
