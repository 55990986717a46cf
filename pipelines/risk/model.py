"""The risk & consent model: from what a crawl saw of a service (per site, or across sites) plus the catalog,
the DPF snapshot and the country tables, compute ``consent_required`` (yes / no / likely, with reason codes
C1–C5) and ``risk_score`` 0–100 with its band, one evidence line and a confidence label per factor, and the
conditions a crawl cannot check ("to check"). Every number comes from ``data/risk/rubric.yml``.

Two grains, both pure (no I/O; everything arrives in a :class:`RiskContext`):

- :func:`assess_site_service` — one site × one service, from a :class:`SiteServiceObservation`;
- :func:`assess_service` — one service: the catalog baseline (the service embedded as shipped, without a
  consent gate) raised by any observation across sites.

An unknown fact is scored at its own explicit level (see the rubric), never as the best case. The result is an
indicator, not legal advice: :data:`DISCLAIMER` must be shown wherever it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType

from pipelines import glossary
from pipelines.catalog import vocab
from pipelines.catalog.load import DEFAULT_DATA_DIR, Catalog, Cookie, Fact, Service
from pipelines.enrich.dpf import DpfSnapshot
from pipelines.glossary import Item, item
from pipelines.risk.countries import CountryTables
from pipelines.risk.rubric import Rubric
from pipelines.risk.transfer import (
    CompanyChain,
    HostLocation,
    JurisdictionTransfer,
    ServerTransfer,
    build_chain,
    jurisdiction_class,
    server_class,
)

DISCLAIMER: Mapping[str, str] = MappingProxyType({
    "de": "Hinweis: Diese Einstufung ist ein automatisch berechneter Indikator aus Crawl-Beobachtungen und "
          "Katalogdaten, keine Rechtsberatung. Sie ersetzt nicht die Prüfung des Einzelfalls durch eine "
          "fachkundige Person; nicht messbare Bedingungen sind als „zu prüfen“ aufgeführt.",
    "en": "Note: this rating is an automatically computed indicator based on crawl observations and catalog data, "
          "not legal advice. It does not replace a case-by-case review by a qualified person; conditions a crawl "
          "cannot measure are listed as \"to check\".",
})
CONSENT_STATES = ("none", "before_consent", "after_accept", "after_reject")
METHODS = ("static", "browser")
LABELS = ("measured", "catalog-verified", "catalog-unverified")  # strongest first
VERDICTS = ("yes", "no", "likely")
_CONSENT_PURPOSES_C3 = frozenset({"advertising", "profiling", "session_replay", "social"})
_PRE_CONSENT = frozenset({"none", "before_consent", "after_reject"})
_MARK = {"V": 0, "S": 1, "M": 2}


# --------------------------------------------------------------------------------------------------
# inputs


@dataclass(frozen=True)
class ObservedCookie:
    """A cookie the crawl saw. ``lifetime_seconds`` None = session cookie; ``purpose`` is the catalog purpose
    of the matching cookie entry, or None when the name matches none (treated as non-essential)."""

    name: str
    domain: str = ""
    lifetime_seconds: int | None = None
    third_party: bool = False
    purpose: str | None = None
    evidence: str = ""  # page URL / response that set it


@dataclass(frozen=True)
class SiteServiceObservation:
    """What one crawl saw of one service on one site (the warehouse builds these from its marts).

    ``consent_state``: ``none`` (static crawl, banner untouched), ``before_consent``, ``after_accept``,
    ``after_reject``. ``method``: ``static`` (HTML only: storage written by scripts, pixels fired by scripts
    and fingerprinting are invisible, so the catalog prior stands in) or ``browser``. ``gated``: every reference
    is held back until consent (e.g. ``type="text/plain"`` with a CMP attribute). ``loaded_on_page_view``: a
    reference loads without interaction (script/img/iframe src), as opposed to a mere link.
    ``locations``: per host, the enrichment's countries + confidence. ``dnt_honoured``: result of a DNT/GPC
    diff crawl, None = not tested.
    """

    site: str
    service_id: str
    consent_state: str = "none"
    method: str = "static"
    gated: bool = False
    loaded_on_page_view: bool = True
    requests: tuple[str, ...] = ()
    cookies: tuple[ObservedCookie, ...] = ()
    storage: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    pixels: tuple[str, ...] = ()
    fingerprinting: tuple[str, ...] = ()
    locations: tuple[HostLocation, ...] = ()
    dnt_honoured: bool | None = None
    run_id: str = ""

    def __post_init__(self):
        if self.consent_state not in CONSENT_STATES:
            raise ValueError(f"consent_state {self.consent_state!r} not in {CONSENT_STATES}")
        if self.method not in METHODS:
            raise ValueError(f"method {self.method!r} not in {METHODS}")

    @property
    def pre_consent(self) -> bool:
        """Observed without (or against) consent: what happens here happens before consent."""
        return self.consent_state in _PRE_CONSENT


@dataclass(frozen=True)
class RiskContext:
    """Everything the rubric functions read, loaded once by :func:`load_context` (or built in tests)."""

    catalog: Catalog
    countries: CountryTables
    rubric: Rubric
    dpf: DpfSnapshot
    as_of: date
    version: str = ""  # catalog version: digest of every data file the model reads (see catalog_version)

    @property
    def day(self) -> str:
        return self.as_of.isoformat()


MODEL_VERSION = 2  # bump when the assessment code changes on purpose: stored runs are then re-assessed
# what the assessment reads (load_context): catalog, cookie overrides, country tables, DPF snapshots, rubric
VERSIONED_DATA = ("services", "companies", "reference/cookie_purposes.csv", "reference/countries", "reference/dpf",
                  "risk")


def catalog_version(data_dir: str | Path = DEFAULT_DATA_DIR) -> str:
    """The catalog version a run's assessment is recorded with: a digest of the model version and every file of
    ``VERSIONED_DATA`` under ``data_dir``. It moves only when those files (or the model) change, not when data
    the assessment does not read changes (e.g. the prevalence ranking)."""
    import hashlib

    data_dir = Path(data_dir)
    digest = hashlib.sha256(f"model {MODEL_VERSION}".encode())
    for entry in VERSIONED_DATA:
        top = data_dir / entry
        for path in ([top] if top.is_file() else sorted(top.rglob("*"))):
            if path.is_file():
                digest.update(str(path.relative_to(data_dir)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def load_context(data_dir: str | Path = DEFAULT_DATA_DIR, *, as_of: date | None = None) -> RiskContext:
    """Load catalog, country tables, rubric and the newest DPF snapshot from ``data_dir`` (default ``data/``).

    Raises the loaders' errors (CatalogError, CountryDataError, RubricError, DpfImportError).
    """
    from pipelines.catalog.load import load_catalog
    from pipelines.enrich.dpf import load_snapshot
    from pipelines.risk.countries import load_countries
    from pipelines.risk.rubric import load_rubric

    data_dir = Path(data_dir)
    return RiskContext(
        catalog=load_catalog(data_dir),
        countries=load_countries(data_dir / "reference" / "countries"),
        rubric=load_rubric(data_dir / "risk" / "rubric.yml"),
        dpf=load_snapshot(data_dir / "reference" / "dpf"),
        as_of=as_of or date.today(),
        version=catalog_version(data_dir),
    )


# --------------------------------------------------------------------------------------------------
# outputs


@dataclass(frozen=True)
class FactorResult:
    """One factor (F1–F8) or mitigation (M:<name>): level, points, its evidence as structured items (template code
    + parameters, rendered per language by :mod:`pipelines.glossary`) and a confidence label."""

    code: str
    title: str
    level: str
    points: int
    items: tuple[Item, ...]
    confidence: str

    @property
    def evidence(self) -> str:
        """The evidence as one English line (the warehouse's ``factors[].evidence``, ``risk --explain``)."""
        return glossary.render("en", self.items)

    def line(self) -> str:
        sign = "+" if self.points > 0 else ""
        return f"{self.code} {self.level} {sign}{self.points}: {self.evidence} ({self.confidence})"

    def as_dict(self) -> dict:
        return {"code": self.code, "title": self.title, "level": self.level, "points": self.points,
                "evidence": self.evidence, "evidence_items": [i.as_dict() for i in self.items],
                "confidence": self.confidence}


@dataclass(frozen=True)
class ReasonResult:
    """A consent reason code: ``state`` is ``holds``, ``unknown`` or ``no``; ``items`` the structured evidence."""

    code: str
    title: str
    state: str
    items: tuple[Item, ...]

    @property
    def evidence(self) -> str:
        return glossary.render("en", self.items)

    def as_dict(self) -> dict:
        return {"code": self.code, "title": self.title, "state": self.state, "evidence": self.evidence,
                "evidence_items": [i.as_dict() for i in self.items]}


@dataclass(frozen=True)
class Check:
    """Something a crawl cannot establish ("to check"): the eight-conditions ``condition`` it belongs to (None for
    a general note), a template ``code`` (``check.<code>`` in the glossary) and its parameters."""

    condition: int | None
    code: str
    params: dict = field(default_factory=dict, hash=False)

    def text(self, lang: str = "en") -> str:
        """The item in ``lang``; in English with its condition number first ("(3) …"), as the warehouse stores it."""
        body = glossary.check_text(lang, self.code, self.params)
        return f"({self.condition}) {body}" if self.condition is not None else body

    def as_dict(self) -> dict:
        return {"condition": self.condition, "code": self.code, "params": self.params}


@dataclass(frozen=True)
class Assessment:
    """The verdict for one site × service (``grain='site_service'``) or one service (``grain='service'``)."""

    grain: str
    service_id: str
    service_name: str
    site: str | None
    as_of: str
    consent_required: str
    reasons: tuple[ReasonResult, ...]
    verdict_basis: str
    risk_score: int
    raw_score: int
    band: str
    factors: tuple[FactorResult, ...]
    confidence: str
    checks: tuple[Check, ...]
    server: ServerTransfer
    jurisdiction: JurisdictionTransfer
    observations: int = 0
    disclaimer: Mapping[str, str] = field(default_factory=lambda: DISCLAIMER)

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """The reason codes that hold (C1–C5)."""
        return tuple(r.code for r in self.reasons if r.state == "holds")

    @property
    def to_check(self) -> tuple[str, ...]:
        """The "to check" items as English lines, each with its condition number first."""
        return tuple(c.text("en") for c in self.checks)

    def factor(self, code: str) -> FactorResult:
        return next(f for f in self.factors if f.code == code)

    def top_reasons(self, n: int = 3) -> list[str]:
        """The ``n`` factors adding most points, as ``F6 us_dpf_unknown +15`` (ties in rubric order)."""
        scored = sorted((f for f in self.factors if f.points > 0), key=lambda f: -f.points)
        return [f"{f.code} {f.level} +{f.points}" for f in scored[:n]]

    def as_dict(self) -> dict:
        """A JSON-ready dict (the shape the warehouse and the publish stage store)."""
        return {
            "grain": self.grain, "service_id": self.service_id, "service_name": self.service_name, "site": self.site,
            "as_of": self.as_of, "consent_required": self.consent_required, "reason_codes": list(self.reason_codes),
            "reasons": [r.as_dict() for r in self.reasons], "verdict_basis": self.verdict_basis,
            "risk_score": self.risk_score, "raw_score": self.raw_score, "band": self.band,
            "factors": [f.as_dict() for f in self.factors], "confidence": self.confidence,
            "to_check": list(self.to_check), "checks": [c.as_dict() for c in self.checks],
            "server_class": self.server.cls,
            "jurisdiction_class": self.jurisdiction.cls, "us_jurisdiction": self.jurisdiction.us_jurisdiction,
            "observations": self.observations, "disclaimer": dict(self.disclaimer),
            "recipient": _entity_dict(self.jurisdiction.recipient, self.jurisdiction.dpf),
            "contracting": _entity_dict(self.jurisdiction.contracting, None),
        }


def _entity_dict(entity, dpf) -> dict | None:
    """A chain entity for JSON: id, name, seat country and (for the recipient) its effective DPF status."""
    if entity is None:
        return None
    status = entity.dpf.effective if entity.dpf is not None else (
        "not_applicable" if entity.country not in ("US", "unknown") else "unknown")
    return {"id": entity.id, "name": entity.name, "country": entity.country, "dpf_status": status}


# --------------------------------------------------------------------------------------------------
# small helpers


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


# --------------------------------------------------------------------------------------------------
# factors shared by both grains


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


UNKNOWN_LEVELS = frozenset({"unknown", "not_measured", "us_dpf_unknown", "eea_parent_unknown"})


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


def _service(ctx: RiskContext, service_id: str) -> Service:
    try:
        return ctx.catalog.by_id[service_id]
    except KeyError:
        raise KeyError(f"service '{service_id}' is not in the catalog") from None


def _chain(ctx: RiskContext, service: Service) -> CompanyChain:
    return build_chain(ctx.catalog, service.company, ctx.dpf, ctx.as_of)


# --------------------------------------------------------------------------------------------------
# the two grains


def assess_site_service(obs: SiteServiceObservation, ctx: RiskContext) -> Assessment:
    """Assess one service on one site from what the crawl saw there (plus the catalog for what a crawl
    cannot see). Pure; raises KeyError if ``obs.service_id`` is not in the catalog."""
    service = _service(ctx, obs.service_id)
    rubric = ctx.rubric
    chain = _chain(ctx, service)
    jur = jurisdiction_class(chain, ctx.countries, ctx.as_of)
    server = server_class(obs.locations, chain, ctx.countries, ctx.as_of) if not _self_hosted(service) else \
        server_class((), chain, ctx.countries, ctx.as_of)
    seen_storage = _observed_storage(obs, service, rubric)
    seen_ident = _observed_identifier(obs, service, rubric)
    browser_clean = obs.method == "browser" and obs.pre_consent and not obs.gated

    def behaviour(seen: _Level | None, prior: _Level, nothing: str) -> _Level:
        if seen is not None:
            return seen
        if browser_clean:
            return _Level("absent", (item(nothing, site=obs.site),), "measured")
        return _Level(prior.level, ((item("static_prior"),) if obs.method == "static" else ()) + prior.items,
                      prior.confidence)

    storage = behaviour(seen_storage, _prior_storage(service, ctx), "browser_no_storage")
    ident = behaviour(seen_ident, _prior_identifier(service, ctx), "browser_no_identifier")
    gated = obs.gated or not obs.pre_consent
    gate = (item("gated_reference", site=obs.site) if obs.gated else
            item("observed_state", state=obs.consent_state, site=obs.site),)

    def scored(code: str, seen: _Level | None, beh: _Level) -> FactorResult:
        if seen is not None and obs.pre_consent:
            return _factor(ctx, code, "present", seen.items, "measured")
        if gated:
            return _factor(ctx, code, "gated", gate, "measured")
        return _factor(ctx, code, beh.level, beh.items, beh.confidence)

    f1 = scored("F1", seen_storage, storage)
    if _self_hosted(service):
        f2 = _factor(ctx, "F2", "absent", (item("self_hosted_requests", site=obs.site),), "catalog-verified")
        f3 = _factor(ctx, "F3", "absent", (item("self_hosted_identifiers"),), "catalog-verified")
    else:
        if gated:
            f2 = _factor(ctx, "F2", "gated", gate, "measured")
        elif obs.loaded_on_page_view:
            f2 = _factor(ctx, "F2", "present", (item("loads_before_consent", site=obs.site,
                                                     requests=_first(list(obs.requests))) if obs.requests else
                                                item("loads_on_page_view", site=obs.site),), "measured")
        else:
            f2 = _factor(ctx, "F2", "absent", (item("referenced_not_loaded", site=obs.site),), "measured")
        f3 = scored("F3", seen_ident, ident)
    f5 = _f5(service, ctx)
    factors = [f1, f2, f3, _f4(service, ctx), f5, _f6(jur, ctx), _f7(server, ctx), _f8(service, ctx)]
    dnt_items = (item("dnt_tested_site", site=obs.site),) if obs.dnt_honoured else ()
    factors += _mitigations(service, ctx, obs.dnt_honoured, dnt_items) + _security(service, ctx)
    reasons = _reasons(service, ctx, storage, ident, f5, jur)
    verdict = _verdict(service, reasons, storage)
    checks = _to_check(service, ctx, factors, jur, server, dnt_tested=obs.dnt_honoured is not None,
                       static_only=obs.method == "static")
    return _finish("site_service", service, obs.site, ctx, factors, reasons, verdict, checks, server, jur, 1)


def assess_service(service_id: str, ctx: RiskContext, observations: Sequence[SiteServiceObservation] = (), *,
                   locations: Sequence[HostLocation] = ()) -> Assessment:
    """Assess a service at the catalog grain: the catalog baseline (embedded as shipped, without a consent
    gate) raised by any observation of ``service_id`` across sites (a behaviour seen before consent on any
    site counts as measured; observations never lower the catalog prior, because one site's configuration
    does not change what the service does elsewhere). ``locations`` adds per-host server locations measured
    independently of a site (the enrichment's host table); they are merged with the observations' locations.
    Pure; raises KeyError for an unknown service id."""
    service = _service(ctx, service_id)
    rubric = ctx.rubric
    obs = [o for o in observations if o.service_id == service_id]
    chain = _chain(ctx, service)
    jur = jurisdiction_class(chain, ctx.countries, ctx.as_of)
    extra = SiteServiceObservation(site="", service_id=service_id, locations=tuple(locations))
    locations = [] if _self_hosted(service) else _merge_locations([*obs, extra])
    server = server_class(locations, chain, ctx.countries, ctx.as_of)
    pre = [o for o in obs if o.pre_consent]
    sites = len({o.site for o in obs})

    def aggregate(found: list[tuple[SiteServiceObservation, _Level]], prior: _Level) -> _Level:
        if not found:
            return prior
        hit_sites = len({o.site for o, _ in found})
        return _Level("present", (item("seen_before_consent", hits=hit_sites, sites=sites),
                                  *found[0][1].items), "measured")

    storage = aggregate([(o, lv) for o in pre if (lv := _observed_storage(o, service, rubric))],
                        _prior_storage(service, ctx))
    ident = aggregate([(o, lv) for o in pre if (lv := _observed_identifier(o, service, rubric))],
                      _prior_identifier(service, ctx))
    f1 = _factor(ctx, "F1", storage.level, storage.items, storage.confidence)
    if _self_hosted(service):
        f2 = _factor(ctx, "F2", "absent", (item("self_hosted_requests", site=None),), "catalog-verified")
        f3 = _factor(ctx, "F3", "absent", (item("self_hosted_identifiers"),), "catalog-verified")
    else:
        loaded = [o for o in pre if o.loaded_on_page_view and not o.gated]
        if loaded:
            f2 = _factor(ctx, "F2", "present", (item(
                "loaded_before_consent", hits=len({o.site for o in loaded}), sites=sites,
                example=_first(list(loaded[0].requests)) if loaded[0].requests else {"items": [loaded[0].site]}),),
                "measured")
        else:
            hosts = [h.lstrip("=") for h in service.hosts]
            f2 = _factor(ctx, "F2", "present", (item("catalog_loads_on_page_view", hosts=_first(hosts)),),
                         "catalog-verified")
        f3 = _factor(ctx, "F3", ident.level, ident.items, ident.confidence)
    f5 = _f5(service, ctx)
    factors = [f1, f2, f3, _f4(service, ctx), f5, _f6(jur, ctx), _f7(server, ctx), _f8(service, ctx)]
    tested = [o.dnt_honoured for o in obs if o.dnt_honoured is not None]
    dnt = None if not tested else all(tested)
    dnt_items = (item("dnt_tested_sites", n=len(tested)),) if dnt else ()
    factors += _mitigations(service, ctx, dnt, dnt_items) + _security(service, ctx)
    reasons = _reasons(service, ctx, storage, ident, f5, jur)
    verdict = _verdict(service, reasons, storage)
    checks = _to_check(service, ctx, factors, jur, server, dnt_tested=bool(tested),
                       static_only=bool(obs) and all(o.method == "static" for o in obs))
    return _finish("service", service, None, ctx, factors, reasons, verdict, checks, server, jur, len(obs))


def lifetime_seconds(text: str) -> int | None:
    """Parse a catalog lifetime ("2 years", "13 months", "30 minutes", "session") into seconds (None = session
    or not parseable). Helper for adapters that turn catalog cookies into observations."""
    m = re.match(r"^\s*(\d+)\s*(year|month|week|day|hour|minute)s?\b", text.lower())
    if not m:
        return None
    size = {"year": 365 * 86400, "month": 30 * 86400, "week": 7 * 86400, "day": 86400, "hour": 3600, "minute": 60}
    return int(m.group(1)) * size[m.group(2)]
