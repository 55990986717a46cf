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

from pipelines.catalog import vocab
from pipelines.catalog.load import DEFAULT_DATA_DIR, Catalog, Cookie, Fact, Service
from pipelines.enrich.dpf import DpfSnapshot
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


MODEL_VERSION = 1  # bump when the assessment code changes on purpose: stored runs are then re-assessed
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
    """One factor (F1–F8) or mitigation (M:<name>): level, points, one evidence line, confidence label."""

    code: str
    title: str
    level: str
    points: int
    evidence: str
    confidence: str

    def line(self) -> str:
        sign = "+" if self.points > 0 else ""
        return f"{self.code} {self.level} {sign}{self.points}: {self.evidence} ({self.confidence})"


@dataclass(frozen=True)
class ReasonResult:
    """A consent reason code: ``state`` is ``holds``, ``unknown`` or ``no``."""

    code: str
    title: str
    state: str
    evidence: str


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
    to_check: tuple[str, ...]
    server: ServerTransfer
    jurisdiction: JurisdictionTransfer
    observations: int = 0
    disclaimer: Mapping[str, str] = field(default_factory=lambda: DISCLAIMER)

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """The reason codes that hold (C1–C5)."""
        return tuple(r.code for r in self.reasons if r.state == "holds")

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
            "reasons": [r.__dict__ for r in self.reasons], "verdict_basis": self.verdict_basis,
            "risk_score": self.risk_score, "raw_score": self.raw_score, "band": self.band,
            "factors": [f.__dict__ for f in self.factors], "confidence": self.confidence,
            "to_check": list(self.to_check), "server_class": self.server.cls,
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
    evidence: str
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


def _cite(fact: Fact | None) -> str:
    return f" [{fact.source}, as of {fact.as_of}, {fact.confidence}]" if fact else ""


def _lifetime(seconds: int | None) -> str:
    if seconds is None:
        return "session"
    for unit, size in (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400), ("hour", 3600)):
        if seconds >= size:
            n = round(seconds / size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} s"


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


def _cookie_list(cookies: Sequence[Cookie], n: int = 3) -> str:
    shown = ", ".join(f"{c.name}{'*' if c.match == 'prefix' else ''} ({c.purpose}, {c.lifetime})" for c in cookies[:n])
    return shown + (f" +{len(cookies) - n} more" if len(cookies) > n else "")


def _first(items: Sequence[str], n: int = 2) -> str:
    return ", ".join(items[:n]) + (f" +{len(items) - n} more" if len(items) > n else "")


# --------------------------------------------------------------------------------------------------
# catalog priors (what the service does when it loads, as the catalog records it)


def _prior_storage(service: Service, ctx: RiskContext) -> _Level:
    rubric = ctx.rubric
    cookie_fact = _best_fact(service.facts, ["cookies"])
    device_fact = _best_fact(service.facts, ["device_access"])
    if _strictly_necessary(service):
        return _Level("absent", "catalog marks the service strictly necessary (consent baseline not_required: "
                      f"{service.consent.reason}); its storage counts as essential", "catalog-verified")
    noness = [c for c in service.cookies if not _essential(c.purpose, service, rubric)]
    parts, marks = [], []
    if service.sets_cookies == "yes" and (noness or not service.cookies):
        what = _cookie_list(noness) if noness else "cookies (purposes not recorded)"
        parts.append(f"catalog: sets {what}{_cite(cookie_fact)}")
        marks.append(cookie_fact.confidence if cookie_fact else "M")
    if service.device_access.value == "yes":
        parts.append(f"catalog: reads device properties ({service.device_access.note or 'device access'})"
                     f"{_cite(device_fact)}")
        marks.append(device_fact.confidence if device_fact else "M")
    if parts:
        best = min(marks, key=lambda m: _MARK.get(m, 2))
        if _self_hosted(service) and set(service.purposes) <= {"analytics"}:
            # first-party audience measurement: whether its cookies need consent depends on the configuration (no
            # blanket exemption in Germany, DSK OH Telemedien 2021; CNIL exempts it under strict conditions)
            return _Level("unknown", "self-hosted audience measurement: whether it stores anything before consent "
                          "depends on its configuration (cookieless mode, cookie lifetime); " + "; ".join(parts),
                          "catalog-unverified")
        return _Level("present", "; ".join(parts), _label(best))
    mark = cookie_fact.confidence if cookie_fact else "M"
    if service.sets_cookies == "yes":
        return _Level("absent", f"catalog cookies are all essential: {_cookie_list(service.cookies)}{_cite(cookie_fact)}",
                      _label(mark))
    if service.sets_cookies == "no":
        return _Level("absent", f"catalog: sets no cookies{_cite(cookie_fact)}", _label(mark))
    return _Level("unknown", "catalog does not record whether the service stores anything on the terminal "
                  "(sets_cookies unknown)", "catalog-unverified")


def _prior_identifier(service: Service, ctx: RiskContext) -> _Level:
    if _self_hosted(service):
        return _Level("absent", "self-hosted: identifiers stay with the site", "catalog-verified")
    if _strictly_necessary(service):
        return _Level("absent", "catalog marks the service strictly necessary; an identifier it uses (e.g. a consent "
                      "id kept as proof of consent) serves that purpose", "catalog-verified")
    cookie_fact = _best_fact(service.facts, ["cookies"])
    device_fact = _best_fact(service.facts, ["device_access"])
    role, _entry = service.role_on(ctx.day)
    if role == "processor" and service.own_purposes.value != "yes" and service.device_access.value != "yes":
        # an identifier a processor keeps for the site (e.g. a chat visitor id) is not linked across sites
        return _Level("absent", "catalog: processor without own-purpose use; its identifiers serve the site only and "
                      "are not cross-site capable", _label(_best_fact(service.facts, ["role"]).confidence
                                                           if _best_fact(service.facts, ["role"]) else "M"))
    if service.device_access.value == "yes":
        mark = device_fact.confidence if device_fact else "M"
        return _Level("present", f"catalog: the script reads device properties for the provider"
                      f"{_cite(device_fact)}", _label(mark))
    ids = "identifiers" in service.data_categories
    mark = cookie_fact.confidence if cookie_fact else "M"
    if ids and service.sets_cookies == "yes" and not service.cookies:
        return _Level("unknown", "catalog: the provider receives identifiers and sets cookies, but which cookies (and "
                      f"whether any persists) is not recorded{_cite(cookie_fact)}", "catalog-unverified")
    if ids and service.sets_cookies == "yes":
        # a persistent identifier is a cookie that outlives the session (an unknown lifetime counts) and serves no
        # essential purpose: session-only or security/consent cookies identify no visitor across sites and visits
        lasting = [c for c in service.cookies if "session" not in c.lifetime.lower()
                   and not _essential(c.purpose, service, ctx.rubric)]
        if not lasting:
            return _Level("absent", f"catalog: only session or essential cookies ({_cookie_list(service.cookies)}): no "
                          f"persistent identifier{_cite(cookie_fact)}", _label(mark))
        return _Level("present", f"catalog: the provider receives identifiers; persistent cookies "
                      f"{_cookie_list(lasting)}{_cite(cookie_fact)}", _label(mark))
    if ids:
        return _Level("unknown", "catalog lists identifiers among the data received, but no cookie or device "
                      f"access (sets_cookies {service.sets_cookies})", "catalog-unverified")
    if not service.data_categories:
        return _Level("unknown", "no data categories recorded", "catalog-unverified")
    return _Level("absent", f"catalog: no identifiers among the data received ({', '.join(service.data_categories)})",
                  "catalog-verified")


# --------------------------------------------------------------------------------------------------
# observations


def _observed_storage(obs: SiteServiceObservation, service: Service, rubric: Rubric) -> _Level | None:
    noness = [c for c in obs.cookies if not _essential(c.purpose, service, rubric)]
    storage = [] if _strictly_necessary(service) else list(obs.storage)
    parts = []
    if noness:
        parts.append("cookie " + _first([f"{c.name} ({c.purpose or 'purpose unknown'}, {_lifetime(c.lifetime_seconds)}"
                                         f"{', third party' if c.third_party else ''})" for c in noness]))
    if storage:
        parts.append("storage " + _first(storage))
    if obs.fingerprinting:
        parts.append("fingerprinting " + _first(list(obs.fingerprinting)))
    if not parts:
        return None
    where = f" on {obs.site}" + (f" (run {obs.run_id})" if obs.run_id else "")
    return _Level("present", f"measured{where}, {obs.consent_state}: " + "; ".join(parts), "measured")


def _observed_identifier(obs: SiteServiceObservation, service: Service, rubric: Rubric) -> _Level | None:
    if _self_hosted(service):
        return None
    cookies = [c for c in obs.cookies if c.lifetime_seconds and (c.purpose is None or c.purpose in rubric.tracking_purposes)]
    parts = []
    if cookies:
        parts.append("persistent cookie " + _first([f"{c.name} ({_lifetime(c.lifetime_seconds)})" for c in cookies]))
    if obs.identifiers:
        parts.append("identifier in request " + _first(list(obs.identifiers)))
    if obs.pixels:
        parts.append("pixel " + _first(list(obs.pixels)))
    if obs.fingerprinting:
        parts.append("fingerprinting " + _first(list(obs.fingerprinting)))
    if not parts:
        return None
    return _Level("present", f"measured on {obs.site}, {obs.consent_state}: " + "; ".join(parts), "measured")


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


def _factor(ctx: RiskContext, code: str, level: str, evidence: str, confidence: str) -> FactorResult:
    factor = ctx.rubric.factors[code]
    return FactorResult(code, factor.title, level, factor.levels[level].points, evidence, confidence)


def _f4(service: Service, ctx: RiskContext) -> FactorResult:
    buckets = ctx.rubric.factors["F4"].buckets
    if not service.purposes:
        return _factor(ctx, "F4", "unknown", "no purposes recorded in the catalog", "catalog-unverified")
    levels = {p: buckets[p] for p in service.purposes if p in buckets}
    best = max(levels.values(), key=lambda lv: ctx.rubric.points("F4", lv))
    why = ", ".join(p for p, lv in levels.items() if lv == best)
    if _self_hosted(service) and ctx.rubric.points("F4", best) > ctx.rubric.points("F4", "first_party"):
        return _factor(ctx, "F4", "first_party", f"self-hosted: {', '.join(service.purposes)} for the site itself, "
                       "no provider processes the data", "catalog-verified")
    return _factor(ctx, "F4", best, f"catalog purposes: {', '.join(service.purposes)} (highest: {why}; "
                   f"entry as of {service.as_of})", "catalog-verified")


def _f5(service: Service, ctx: RiskContext) -> FactorResult:
    if _self_hosted(service):
        return _factor(ctx, "F5", "first_party", "self-hosted: no provider receives the data", "catalog-verified")
    role, entry = service.role_on(ctx.day)
    if entry is not None:
        role_src = f" [{entry.source}, as of {entry.as_of}, {entry.confidence}]"
        role_mark = entry.confidence
        span = f" (valid {entry.valid_from or '…'} to {entry.valid_to or '…'})"
    else:
        fact = _best_fact(service.facts, ["role"])
        role_src, role_mark, span = _cite(fact), (fact.confidence if fact else "M"), ""
    own = service.own_purposes.value
    own_fact = _best_fact(service.facts, ["own_purposes"])
    if role in ("controller", "joint_controller"):
        return _factor(ctx, "F5", "own_purposes", f"role on {ctx.day}: {role}{span}{role_src}", _label(role_mark))
    if own == "yes":
        return _factor(ctx, "F5", "own_purposes", f"provider may reuse the data: {service.own_purposes.note}"
                       f"{_cite(own_fact)}", _label(own_fact.confidence if own_fact else "M"))
    if role == "processor":
        return _factor(ctx, "F5", "processor", f"role on {ctx.day}: processor{span}{role_src}", _label(role_mark))
    return _factor(ctx, "F5", "unknown", f"role on {ctx.day} not recorded (own-purpose use: {own})",
                   "catalog-unverified")


def _f6(jur: JurisdictionTransfer, ctx: RiskContext) -> FactorResult:
    label = "catalog-verified" if jur.cls == "site_operator" else _label(jur.confidence)
    if jur.cls in ("unknown", "eea_parent_unknown", "us_dpf_unknown"):
        label = "catalog-unverified"
    return _factor(ctx, "F6", jur.cls, jur.evidence, label)


def _f7(server: ServerTransfer, ctx: RiskContext) -> FactorResult:
    if server.cls == "first_party":
        return _factor(ctx, "F7", "first_party", server.evidence, "catalog-verified")
    if not server.measured:
        return _factor(ctx, "F7", "not_measured", server.evidence, "catalog-unverified")
    return _factor(ctx, "F7", server.cls, server.evidence, "measured")


def _f8(service: Service, ctx: RiskContext) -> FactorResult:
    if _self_hosted(service):
        return _factor(ctx, "F8", "first_party", "already self-hosted", "catalog-verified")
    if service.self_host_alternative.value:
        note = service.self_host_alternative.note or "self-hosting possible"
        return _factor(ctx, "F8", "remote_with_alternative", f"catalog: {note}", "catalog-verified")
    return _factor(ctx, "F8", "no_alternative", "catalog: no trivial self-host alternative recorded", "catalog-verified")


def _mitigations(service: Service, ctx: RiskContext, dnt: bool | None, dnt_evidence: str) -> list[FactorResult]:
    items = ctx.rubric.mitigations
    out = []
    if _self_hosted(service):
        return out
    ip = service.ip_anonymisation.value
    if ip in ("browser", "eu_edge"):
        fact = _best_fact(service.facts, ["ip_handling"])
        out.append(FactorResult("M:ip_truncated", items["ip_truncated"].title, ip, items["ip_truncated"].points,
                                f"catalog: {service.ip_anonymisation.note}{_cite(fact)}",
                                _label(fact.confidence if fact else "M")))
    if dnt is True:
        out.append(FactorResult("M:dnt_honoured", items["dnt_honoured"].title, "tested",
                                items["dnt_honoured"].points, dnt_evidence, "measured"))
    elif dnt is None and service.honours_dnt.value == "yes":
        fact = _best_fact(service.facts, ["dnt"])
        out.append(FactorResult("M:dnt_honoured", items["dnt_honoured"].title, "documented",
                                items["dnt_honoured"].points, f"catalog: {service.honours_dnt.note}{_cite(fact)}",
                                _label(fact.confidence if fact else "M")))
    if service.eu_hosting.value == "yes":
        fact = _best_fact(service.facts, ["eu_hosting", "data_location"])
        if fact is not None and fact.confidence in ("V", "S"):
            out.append(FactorResult("M:eu_hosting", items["eu_hosting"].title, "evidenced",
                                    items["eu_hosting"].points, f"catalog: EU hosting: {fact.value}{_cite(fact)}",
                                    _label(fact.confidence)))
    return out


def _security(service: Service, ctx: RiskContext) -> list[FactorResult]:
    finding = service.security_finding
    if finding is None or finding.kind not in ctx.rubric.security:
        return []
    item = ctx.rubric.security[finding.kind]
    return [FactorResult(f"S:{finding.kind}", item.title, finding.kind, item.points,
                         f"catalog: {finding.note} (since {finding.since or '?'}) [{finding.source}, as of "
                         f"{finding.as_of}, {finding.confidence}]", _label(finding.confidence))]


def _reasons(service: Service, ctx: RiskContext, storage: _Level, ident: _Level, f5: FactorResult,
             jur: JurisdictionTransfer) -> list[ReasonResult]:
    titles = {code: title for code, (title, _legal) in ctx.rubric.reasons.items()}
    third = not _self_hosted(service)
    state = {"present": "holds", "unknown": "unknown"}
    c1 = ReasonResult("C1", titles["C1"], state.get(storage.level, "no"), storage.evidence)
    if third:
        c2 = ReasonResult("C2", titles["C2"], state.get(ident.level, "no"), ident.evidence)
    else:
        c2 = ReasonResult("C2", titles["C2"], "no", "self-hosted: no third-party request")
    tracking = sorted(set(service.purposes) & _CONSENT_PURPOSES_C3)
    if tracking:
        c3 = ReasonResult("C3", titles["C3"], "holds", f"catalog purposes: {', '.join(tracking)}")
    elif "analytics" in service.purposes and third and f5.level == "own_purposes":
        c3 = ReasonResult("C3", titles["C3"], "holds", f"third-party analytics whose provider uses the data for its "
                          f"own purposes (cross-site capable): {f5.evidence}")
    elif "analytics" in service.purposes and third and f5.level == "unknown":
        c3 = ReasonResult("C3", titles["C3"], "unknown", "third-party analytics; whether the provider links data "
                          "across sites is not established (role unknown)")
    else:
        c3 = ReasonResult("C3", titles["C3"], "no", f"catalog purposes: {', '.join(service.purposes) or 'none'}")
    if third and service.self_host_alternative.value and jur.non_eea_controlled:
        c4 = ReasonResult("C4", titles["C4"], "holds", f"self-host alternative exists; {jur.evidence}")
    elif third and service.self_host_alternative.value and jur.non_eea_controlled is None:
        c4 = ReasonResult("C4", titles["C4"], "unknown", f"self-host alternative exists; control not established: "
                          f"{jur.evidence}")
    else:
        why = "no self-host alternative recorded" if third and not service.self_host_alternative.value else \
            ("self-hosted" if not third else "EEA-controlled provider")
        c4 = ReasonResult("C4", titles["C4"], "no", why)
    consent = service.consent
    if consent.basis in ("court_ruling", "authority_decision"):
        c5 = ReasonResult("C5", titles["C5"], "holds", f"{consent.reason}"
                          f"{' (' + consent.note + ')' if consent.note else ''} [{consent.source}, as of {consent.as_of}]")
    else:
        c5 = ReasonResult("C5", titles["C5"], "no", "no decision on this service recorded in the catalog")
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


def _to_check(service: Service, ctx: RiskContext, factors: list[FactorResult], jur: JurisdictionTransfer,
              server: ServerTransfer, *, dnt_tested: bool, static_only: bool) -> tuple[str, ...]:
    conds = ctx.rubric.conditions
    third = not _self_hosted(service)
    f5 = next(f for f in factors if f.code == "F5")
    items: list[str] = []
    if third and f5.level == "own_purposes":
        items.append("(1) The provider uses the data for its own purposes: a processing agreement is not enough; "
                     "check the joint-controller arrangement (Art. 26 GDPR) and the consent text.")
    elif third:
        items.append(f"(1) {conds[1].to_check}")
    if jur.dpf is not None and jur.dpf.effective == "unknown" and jur.cls.startswith(("us_", "non_eea")):
        items.append(f"(3) Check {jur.dpf.name} on the DPF list "
                     f"({jur.dpf.source if jur.dpf.source.startswith('http') else 'dataprivacyframework.gov'}): "
                     f"active status, EU framework and non-HR coverage ({jur.dpf.reason}).")
    for note in dict.fromkeys(jur.notes + server.notes):
        items.append(f"(3) {note}: check that the recipient is within this scope.")
    if third and service.eu_hosting.value == "optional":
        items.append("(3) EU hosting is optional: check which region this site's account uses.")
    if server.cls in ("not_measured", "anycast_or_unknown"):
        items.append("(3) Server location not established (anycast/CDN or not measured): confirm with an RTT/IPmap "
                     "measurement or the provider's documentation.")
    if third and service.ip_anonymisation.value in ("unknown", "after_receipt"):
        items.append("(5) Check whether the IP is shortened before it leaves the browser or the EU edge "
                     "(truncation after the transfer does not count).")
    if third and not dnt_tested:
        items.append("(6) Test whether the service honours Do-Not-Track / GPC (crawl with DNT: 1 and Sec-GPC: 1).")
    items.append(f"(4) {conds[4].to_check}")
    items.append(f"(7) {conds[7].to_check}")
    items.append(f"(8) {conds[8].to_check}")
    if static_only:
        items.append("Storage written by scripts was not observed (static crawl): confirm with a browser crawl "
                     "before consent.")
    for entry in service.roles:
        if entry.valid_from and entry.valid_from <= ctx.day and \
                (ctx.as_of.toordinal() - date.fromisoformat(_pad(entry.valid_from)).toordinal()) <= 366:
            items.append(f"The provider's role changed to {entry.role} on {entry.valid_from}: check which terms "
                         "the site has accepted.")
    numbered = sorted((i for i in items if i.startswith("(")), key=lambda i: int(i[1:i.index(")")]))
    first = []
    if service.security_finding is not None:
        first.append(f"Security: {service.security_finding.note} Remove the reference or serve a vetted copy "
                     "yourself.")
    return tuple(first + numbered + [i for i in items if not i.startswith("(")])


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
            reasons: list[ReasonResult], verdict: tuple[str, str], to_check: tuple[str, ...],
            server: ServerTransfer, jur: JurisdictionTransfer, n_obs: int) -> Assessment:
    rubric = ctx.rubric
    base = sum(f.points for f in factors if not f.code.startswith("M:"))
    mitigation = max(sum(f.points for f in factors if f.code.startswith("M:")), rubric.mitigation_cap)
    raw = base + mitigation
    score = min(max(raw, rubric.score_min), rubric.score_max)
    return Assessment(grain, service.id, service.name, site, ctx.day, verdict[0], tuple(reasons), verdict[1], score,
                      raw, rubric.band(score), tuple(factors), _overall_confidence(factors), to_check, server, jur,
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
    static_note = "static crawl cannot see storage written by scripts; "

    def behaviour(seen: _Level | None, prior: _Level, what: str) -> _Level:
        if seen is not None:
            return seen
        if browser_clean:
            return _Level("absent", f"measured on {obs.site} (browser, before consent): no {what}", "measured")
        return _Level(prior.level, static_note + prior.evidence if obs.method == "static" else prior.evidence,
                      prior.confidence)

    storage = behaviour(seen_storage, _prior_storage(service, ctx), "non-essential storage")
    ident = behaviour(seen_ident, _prior_identifier(service, ctx), "identifier, pixel or fingerprinting")
    gated = obs.gated or not obs.pre_consent
    gate_text = ("loaded only after consent (gated reference)" if obs.gated else
                 f"observed {obs.consent_state.replace('_', ' ')}") + f" on {obs.site}"

    def scored(code: str, seen: _Level | None, beh: _Level) -> FactorResult:
        if seen is not None and obs.pre_consent:
            return _factor(ctx, code, "present", seen.evidence, "measured")
        if gated:
            return _factor(ctx, code, "gated", gate_text, "measured")
        return _factor(ctx, code, beh.level, beh.evidence, beh.confidence)

    f1 = scored("F1", seen_storage, storage)
    if _self_hosted(service):
        f2 = _factor(ctx, "F2", "absent", f"self-hosted: requests go to {obs.site} itself", "catalog-verified")
        f3 = _factor(ctx, "F3", "absent", "self-hosted: identifiers stay with the site", "catalog-verified")
    else:
        if gated:
            f2 = _factor(ctx, "F2", "gated", gate_text, "measured")
        elif obs.loaded_on_page_view:
            f2 = _factor(ctx, "F2", "present", f"measured on {obs.site}: loads {_first(list(obs.requests)) or 'on page view'}"
                         f" before consent", "measured")
        else:
            f2 = _factor(ctx, "F2", "absent", f"measured on {obs.site}: referenced, but not loaded on page view",
                         "measured")
        f3 = scored("F3", seen_ident, ident)
    f5 = _f5(service, ctx)
    factors = [f1, f2, f3, _f4(service, ctx), f5, _f6(jur, ctx), _f7(server, ctx), _f8(service, ctx)]
    dnt_evidence = f"measured on {obs.site}: DNT/GPC crawl showed no request to the provider" if obs.dnt_honoured \
        else ""
    factors += _mitigations(service, ctx, obs.dnt_honoured, dnt_evidence) + _security(service, ctx)
    reasons = _reasons(service, ctx, storage, ident, f5, jur)
    verdict = _verdict(service, reasons, storage)
    to_check = _to_check(service, ctx, factors, jur, server, dnt_tested=obs.dnt_honoured is not None,
                         static_only=obs.method == "static")
    return _finish("site_service", service, obs.site, ctx, factors, reasons, verdict, to_check, server, jur, 1)


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
        return _Level("present", f"seen before consent on {hit_sites} of {sites} site(s), e.g. {found[0][1].evidence}",
                      "measured")

    storage = aggregate([(o, lv) for o in pre if (lv := _observed_storage(o, service, rubric))],
                        _prior_storage(service, ctx))
    ident = aggregate([(o, lv) for o in pre if (lv := _observed_identifier(o, service, rubric))],
                      _prior_identifier(service, ctx))
    f1 = _factor(ctx, "F1", storage.level, storage.evidence, storage.confidence)
    if _self_hosted(service):
        f2 = _factor(ctx, "F2", "absent", "self-hosted: requests go to the site itself", "catalog-verified")
        f3 = _factor(ctx, "F3", "absent", "self-hosted: identifiers stay with the site", "catalog-verified")
    else:
        loaded = [o for o in pre if o.loaded_on_page_view and not o.gated]
        if loaded:
            f2 = _factor(ctx, "F2", "present", f"loaded before consent on {len({o.site for o in loaded})} of {sites} "
                         f"site(s), e.g. {_first(list(loaded[0].requests)) or loaded[0].site}", "measured")
        else:
            hosts = ", ".join(h.lstrip("=") for h in service.hosts[:2]) or "the provider's host"
            f2 = _factor(ctx, "F2", "present", f"catalog: embedded without a consent gate, the browser requests "
                         f"{hosts} on page view", "catalog-verified")
        f3 = _factor(ctx, "F3", ident.level, ident.evidence, ident.confidence)
    f5 = _f5(service, ctx)
    factors = [f1, f2, f3, _f4(service, ctx), f5, _f6(jur, ctx), _f7(server, ctx), _f8(service, ctx)]
    tested = [o.dnt_honoured for o in obs if o.dnt_honoured is not None]
    dnt = None if not tested else all(tested)
    dnt_evidence = f"measured: DNT/GPC honoured on {len(tested)} tested site(s)" if dnt else ""
    factors += _mitigations(service, ctx, dnt, dnt_evidence) + _security(service, ctx)
    reasons = _reasons(service, ctx, storage, ident, f5, jur)
    verdict = _verdict(service, reasons, storage)
    to_check = _to_check(service, ctx, factors, jur, server, dnt_tested=bool(tested),
                         static_only=bool(obs) and all(o.method == "static" for o in obs))
    return _finish("service", service, None, ctx, factors, reasons, verdict, to_check, server, jur, len(obs))


def lifetime_seconds(text: str) -> int | None:
    """Parse a catalog lifetime ("2 years", "13 months", "30 minutes", "session") into seconds (None = session
    or not parseable). Helper for adapters that turn catalog cookies into observations."""
    m = re.match(r"^\s*(\d+)\s*(year|month|week|day|hour|minute)s?\b", text.lower())
    if not m:
        return None
    size = {"year": 365 * 86400, "month": 30 * 86400, "week": 7 * 86400, "day": 86400, "hour": 3600, "minute": 60}
    return int(m.group(1)) * size[m.group(2)]
