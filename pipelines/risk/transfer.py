"""Transfer classes, kept apart on purpose: where a service's **servers** are (measured per host) and whose
**jurisdiction** its operator is under (catalog company chain + DPF status). An EU server run by a
US-controlled company is still reachable by US law, and a US server of a DPF participant is covered by an
adequacy decision, so neither side can stand in for the other.

Server side (F7): ``first_party`` / ``eea`` / ``adequate`` / ``us_dpf`` / ``not_measured`` /
``anycast_or_unknown`` / ``us_dpf_unknown`` / ``third_country``.
Jurisdiction side (F6): ``site_operator`` / ``eea`` / ``eea_parent_unknown`` / ``adequate`` /
``non_eea_parent`` / ``us_dpf`` / ``us_dpf_unknown`` / ``us_no_dpf`` / ``third_country`` / ``unknown``.

:func:`build_chain` turns the catalog into a :class:`CompanyChain` (the only place that reads the catalog);
:func:`server_class` and :func:`jurisdiction_class` are pure functions of plain data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from pipelines import glossary
from pipelines.catalog import vocab
from pipelines.enrich.dpf import DpfSnapshot, DpfStatus, resolve_status
from pipelines.glossary import Item, item
from pipelines.risk.countries import ADEQUATE, EEA, THIRD_COUNTRY, UNKNOWN, US, CountryTables

LOCATION_CONFIDENCES = ("measured", "anycast_or_cdn", "unknown")
SERVER_ORDER = ("first_party", "eea", "adequate", "us_dpf", "not_measured", "anycast_or_unknown", "us_dpf_unknown",
                "third_country")
_CONF_ORDER = {"V": 0, "S": 1, "M": 2}
_DPF_NO = ("inactive", "not_listed", "not_covered")


@dataclass(frozen=True)
class HostLocation:
    """Where one host's servers are, as the enrichment stage measured them from the crawl's vantage point.

    ``countries``: ISO codes of the addresses the host resolved to; ``confidence``: ``measured`` (GeoIP of an
    ordinary network), ``anycast_or_cdn`` (the address is on an anycast/CDN network, the country says
    nothing about the serving location) or ``unknown``; ``evidence``: the DNS/GeoIP answer in one line.
    """

    host: str
    countries: frozenset[str] = frozenset()
    confidence: str = "unknown"
    evidence: str = ""

    def __post_init__(self):
        if self.confidence not in LOCATION_CONFIDENCES:
            raise ValueError(f"location confidence {self.confidence!r} not in {LOCATION_CONFIDENCES}")
        object.__setattr__(self, "countries", frozenset(c.upper() for c in self.countries if c))


@dataclass(frozen=True)
class Entity:
    """One company in a chain: its seat ``country`` (``unknown`` allowed), the V/S/M ``confidence`` of the seat
    fact, the confidence of the parent link that leads *to* it (``""`` for the first entity) and, for US
    entities, the DPF status on the assessment day."""

    id: str
    name: str
    country: str
    confidence: str = "M"
    link_confidence: str = ""
    dpf: DpfStatus | None = None


@dataclass(frozen=True)
class CompanyChain:
    """The **recipient** of the data followed by its parents (DSK application notes on the DPF: the specific
    recipient counts). The recipient is the contracting entity itself unless the catalog records that it passes
    the data on (``transfers_to``, e.g. Google Ireland -> Google LLC); then ``contracting`` is the EEA contracting
    entity, shown beside the recipient. ``entities`` is empty when the company is unknown; ``complete`` is True
    when the top entity is a known ultimate parent; ``site_operator`` marks self-hosting."""

    company_id: str
    entities: tuple[Entity, ...] = ()
    complete: bool = False
    top_confidence: str = "M"
    site_operator: bool = False
    contracting: Entity | None = None  # set only when it differs from the recipient
    transfer_confidence: str = ""  # V/S/M of the transfers_to statement ("" without one)

    @property
    def recipient(self) -> Entity | None:
        return self.entities[0] if self.entities else None

    def describe(self) -> tuple[Item, ...]:
        """The chain as evidence items: the recipient and its parents (and the EEA contracting entity that passes
        the data to it)."""
        if self.site_operator:
            return (item("chain_site_operator"),)
        if not self.entities:
            return (item("chain_unknown", company=self.company_id),)
        out = []
        if self.contracting is not None:
            out.append(item("chain_contracting", name=self.contracting.name, country=self.contracting.country))
        out.append(item("chain", entities=[{"name": e.name, "country": e.country} for e in self.entities]))
        if not self.complete:
            out.append(item("chain_top_unknown"))
        return tuple(out)

    @property
    def us_entity(self) -> Entity | None:
        """The first US entity in the chain (the one whose DPF status matters), or None."""
        return next((e for e in self.entities if e.country == "US"), None)

    @property
    def us_jurisdiction(self) -> bool | None:
        """The entity or any parent is a US company; None when that cannot be excluded."""
        if self.site_operator:
            return False
        if any(e.country == "US" for e in self.entities):
            return True
        if not self.entities or not self.complete or any(e.country == "unknown" for e in self.entities):
            return None
        return False

    @property
    def confidence(self) -> str:
        """The weakest V/S/M mark among the seats, the parent links and the top-of-chain statement."""
        marks = [e.confidence for e in self.entities] + [e.link_confidence for e in self.entities if e.link_confidence]
        if self.entities:
            marks.append(self.top_confidence)
        if self.transfer_confidence:
            marks.append(self.transfer_confidence)
        return max(marks, key=lambda m: _CONF_ORDER.get(m, 2)) if marks else "M"


@dataclass(frozen=True)
class JurisdictionTransfer:
    """Result of :func:`jurisdiction_class`. ``non_eea_controlled`` is True when any entity is outside the EEA
    (None when unknown); ``notes`` name partial adequacy scopes the reader must check."""

    cls: str
    us_jurisdiction: bool | None
    non_eea_controlled: bool | None
    items: tuple[Item, ...]
    confidence: str
    dpf: DpfStatus | None = None
    notes: tuple[ScopeNote, ...] = ()
    recipient: Entity | None = None  # the entity whose jurisdiction and DPF status are scored
    contracting: Entity | None = None  # the EEA contracting entity, when it passes the data to the recipient

    @property
    def evidence(self) -> str:
        return glossary.render("en", self.items)


@dataclass(frozen=True)
class ScopeNote:
    """A partial adequacy decision the reader must check the recipient against (e.g. Canada: PIPEDA only)."""

    country: str
    decision: str
    scope_limit: str

    def params(self) -> dict:
        return {"country": self.country, "decision": self.decision, "scope_limit": self.scope_limit}


@dataclass(frozen=True)
class HostClass:
    host: str
    cls: str
    countries: tuple[str, ...]
    confidence: str
    items: tuple[Item, ...] = ()


@dataclass(frozen=True)
class ServerTransfer:
    """Result of :func:`server_class`: the worst class over all hosts, and the class of each host."""

    cls: str
    hosts: tuple[HostClass, ...] = ()
    items: tuple[Item, ...] = ()
    measured: bool = False
    notes: tuple[ScopeNote, ...] = field(default=())

    @property
    def evidence(self) -> str:
        return glossary.render("en", self.items)


# --------------------------------------------------------------------------------------------------
# building the chain from the catalog


def _fact_confidence(company, field_name: str, default: str = "M") -> str:
    marks = [f.confidence for f in company.facts if f.field == field_name]
    return min(marks, key=lambda m: _CONF_ORDER.get(m, 2)) if marks else default


def _entity(c, snapshot: DpfSnapshot, on: date, link: str = "") -> Entity:
    dpf = resolve_status(c, snapshot, on) if c.country == "US" else None
    return Entity(c.id, c.name, c.country, _fact_confidence(c, "seat"), link, dpf)


def build_chain(catalog, company_id: str, snapshot: DpfSnapshot, on: date) -> CompanyChain:
    """The chain of the data recipient for contracting company ``company_id`` on day ``on`` (dated
    acquisitions respected), with DPF statuses for US entities resolved against ``snapshot``
    (:func:`pipelines.enrich.dpf.resolve_status`, the one owner of the effective status). Unknown company ids
    give an empty chain."""
    if company_id == vocab.SITE_OPERATOR:
        return CompanyChain(company_id, site_operator=True, complete=True, top_confidence="V")
    day = on.isoformat()
    recipient_id = catalog.recipient(company_id)
    companies = catalog.parent_chain(recipient_id, day)
    entities = []
    for i, c in enumerate(companies):
        entities.append(_entity(c, snapshot, on, _fact_confidence(companies[i - 1], "parent") if i else ""))
    complete = bool(companies) and companies[-1].parent_status_on(day) == "none"
    top = _fact_confidence(companies[-1], "parent") if complete else "M"
    contracting, transfer_mark = None, ""
    if recipient_id != company_id and company_id in catalog.companies:
        first = catalog.companies[company_id]
        contracting = _entity(first, snapshot, on)
        transfer_mark = first.transfers_to.confidence if first.transfers_to else ""
    return CompanyChain(company_id, tuple(entities), complete, top, contracting=contracting,
                        transfer_confidence=transfer_mark)


# --------------------------------------------------------------------------------------------------
# the two classes


def _us_class(entity: Entity | None, *, server: bool) -> str:
    status = entity.dpf.effective if entity is not None and entity.dpf is not None else "unknown"
    if status == "active":
        return "us_dpf"
    if status in _DPF_NO:
        return "third_country" if server else "us_no_dpf"
    return "us_dpf_unknown"


def _scope_note(countries: CountryTables, code: str, on: date) -> ScopeNote | None:
    decision = countries.adequacy(code, on)
    if decision is not None and decision.scope == "partial" and code != "US":
        return ScopeNote(code, decision.decision, decision.scope_limit)
    return None


def jurisdiction_class(chain: CompanyChain, countries: CountryTables, on: date) -> JurisdictionTransfer:
    """Classify whose law reaches the data (F6). Pure.

    The chain starts at the recipient (see :func:`build_chain`); the worst link decides: any entity in a
    country without adequacy -> ``third_country``; a US recipient -> ``us_dpf`` / ``us_no_dpf`` /
    ``us_dpf_unknown`` by its effective DPF status; an EEA or adequate recipient with a US or other non-EEA
    parent -> ``non_eea_parent``; an adequate entity -> ``adequate``; an EEA
    entity whose ultimate parent is not established -> ``eea_parent_unknown``; all EEA -> ``eea``.
    """
    if chain.site_operator:
        return JurisdictionTransfer("site_operator", False, False, (item("jur_site_operator"),), "V")
    if not chain.entities or chain.entities[0].country == "unknown":
        why = (*chain.describe(), item("seat_unknown")) if chain.entities else \
            (item("company_not_in_catalog", company=chain.company_id),)
        return JurisdictionTransfer("unknown", chain.us_jurisdiction, None, why, "M",
                                    recipient=chain.recipient, contracting=chain.contracting)
    first = chain.entities[0]
    regions = [countries.region(e.country, on) for e in chain.entities]
    notes = tuple(n for e in chain.entities if (n := _scope_note(countries, e.country, on)))
    non_eea = True if any(r != EEA for r in regions if r != UNKNOWN) else (
        None if (UNKNOWN in regions or not chain.complete) else False)
    dpf = first.dpf if regions[0] == US else (chain.us_entity.dpf if chain.us_entity else None)
    if THIRD_COUNTRY in regions:
        bad = [{"name": e.name, "country": e.country}
               for e, r in zip(chain.entities, regions, strict=True) if r == THIRD_COUNTRY]
        cls, why = "third_country", (item("jur_no_adequacy", entities=bad),)
    elif regions[0] == US:
        cls = _us_class(first, server=False)
        why = (item("jur_us_recipient"), *(first.dpf.items() if first.dpf else (item("dpf_no_status"),)))
    elif US in regions[1:]:
        cls, why = "non_eea_parent", (item("jur_us_parent"),)
        if dpf is not None:
            why += (item("jur_us_parent_dpf"), *dpf.items())
    elif ADEQUATE in regions[1:]:
        parents = [{"name": e.name, "country": e.country}
                   for e, r in zip(chain.entities, regions, strict=True) if r == ADEQUATE]
        cls, why = "non_eea_parent", (item("jur_adequate_parent", entities=parents),)
    elif regions[0] == ADEQUATE:
        decision = countries.adequacy(first.country, on)
        cls, why = "adequate", (item("jur_adequate", decision=decision.decision if decision else None),)
    elif UNKNOWN in regions or not chain.complete:
        cls, why = "eea_parent_unknown", (item("jur_eea_parent_unknown"),)
    else:
        cls, why = "eea", (item("jur_eea"),)
    evidence = (*chain.describe(), *why, item("chain_facts", mark=chain.confidence))
    confidence = chain.confidence
    if dpf is not None and cls.startswith("us_"):
        confidence = max(confidence, dpf.confidence, key=lambda m: _CONF_ORDER.get(m, 2))
    return JurisdictionTransfer(cls, chain.us_jurisdiction, non_eea, evidence, confidence, dpf, notes,
                                chain.recipient, chain.contracting)


def _host_class(loc: HostLocation, chain: CompanyChain, countries: CountryTables, on: date,
                notes: list[ScopeNote]) -> HostClass:
    codes = tuple(sorted(loc.countries))
    if loc.confidence == "anycast_or_cdn":
        return HostClass(loc.host, "anycast_or_unknown", codes, loc.confidence,
                         (item("host_anycast", host=loc.host, countries=list(codes)),))
    if loc.confidence != "measured" or not codes:
        return HostClass(loc.host, "anycast_or_unknown", codes, loc.confidence,
                         (item("host_unknown", host=loc.host),))
    classes = []
    for code in codes:
        region = countries.region(code, on)
        if region == EEA:
            classes.append("eea")
        elif region == ADEQUATE:
            classes.append("adequate")
            if note := _scope_note(countries, code, on):
                notes.append(note)
        elif region == US:
            classes.append(_us_class(chain.us_entity, server=True))
        elif region == THIRD_COUNTRY:
            classes.append("third_country")
        else:
            classes.append("anycast_or_unknown")
    worst = max(classes, key=SERVER_ORDER.index)
    return HostClass(loc.host, worst, codes, loc.confidence, (item("host_measured", host=loc.host,
                                                                    countries=list(codes)),))


def server_class(locations: Iterable[HostLocation], chain: CompanyChain, countries: CountryTables,
                 on: date) -> ServerTransfer:
    """Classify where the servers are (F7): the worst host decides. Pure.

    Self-hosted services are ``first_party``; no locations at all is ``not_measured``; anycast/CDN or
    unlocated hosts are ``anycast_or_unknown``; a US address counts as ``us_dpf`` only when the chain's US
    entity has an effective DPF listing, as ``third_country`` when it is inactive/not listed/not covered, and
    as ``us_dpf_unknown`` otherwise (also when no US entity is in the chain).
    """
    if chain.site_operator:
        return ServerTransfer("first_party", items=(item("server_first_party"),))
    locs = list(locations)
    if not locs:
        return ServerTransfer("not_measured", items=(item("server_not_measured"),))
    notes: list[ScopeNote] = []
    hosts = tuple(_host_class(loc, chain, countries, on, notes) for loc in sorted(locs, key=lambda x: x.host))
    worst = max((h.cls for h in hosts), key=SERVER_ORDER.index)
    shown = [h for h in hosts if h.cls == worst][:2] + [h for h in hosts if h.cls != worst][:1]
    more = len(hosts) - len(shown)
    evidence = tuple(i for h in shown for i in h.items) + ((item("more_hosts", n=more),) if more > 0 else ())
    # anycast/unknown answers are measurements too: the crawl established that the location is unclear
    return ServerTransfer(worst, hosts, evidence, True, tuple(dict.fromkeys(notes)))
