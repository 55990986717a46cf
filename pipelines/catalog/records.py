"""The catalog's records as frozen dataclasses: a service and its parts (cookies, consent baseline, dated roles,
flags, findings), a company and its parts (DPF entry, acquisitions, transfers), a signature, and :class:`Catalog`,
the whole catalog with its queries (parent chains, recipients, US jurisdiction, host matching)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pipelines.catalog.match import ServiceMatcher


@dataclass(frozen=True)
class Fact:
    """One dated, sourced statement (legal or descriptive) about a service or company."""

    field: str
    value: Any
    source: str
    as_of: str
    confidence: str
    note: str = ""
    valid_from: str | None = None
    valid_to: str | None = None


@dataclass(frozen=True)
class UrlPattern:
    """Split products on a shared host: ``host`` is a host pattern (or ``*``), ``path`` a regex."""

    host: str
    path: str


@dataclass(frozen=True)
class Cookie:
    name: str
    match: str
    purpose: str
    lifetime: str
    source: str


@dataclass(frozen=True)
class Consent:
    """The catalog's consent baseline. ``basis`` says what it rests on: ``catalog`` (the curators' reading of the
    sources), ``court_ruling`` or ``authority_decision`` (a decision held that this service needs consent; the
    rubric's reason C5), with the decision's public ``source`` and ``as_of`` date; ``note`` e.g. a pending appeal."""

    baseline: str
    reason: str
    basis: str = "catalog"
    source: str = ""
    as_of: str = ""
    note: str = ""


@dataclass(frozen=True)
class SecurityFinding:
    """A security problem of the service itself (e.g. a hijacked domain serving malicious code), reported apart
    from the privacy verdict. ``kind`` from ``vocab.SECURITY_FINDINGS``; ``since`` a (partial) ISO date."""

    kind: str
    since: str = ""
    note: str = ""
    source: str = ""
    as_of: str = ""
    confidence: str = "M"


@dataclass(frozen=True)
class TransfersTo:
    """The entity outside the EEA to which an EEA contracting entity passes the visitors' data (the recipient
    the DSK application notes on the DPF look at), with its public source."""

    company: str
    source: str = ""
    as_of: str = ""
    confidence: str = "M"
    note: str = ""


@dataclass(frozen=True)
class Flagged:
    """A closed-set value with a free-text note (``eu_hosting``)."""

    value: str
    note: str = ""


@dataclass(frozen=True)
class SelfHost:
    value: bool
    note: str = ""


@dataclass(frozen=True)
class DatedRole:
    """The provider's role towards the site operator during a period (``valid_from``/``valid_to`` inclusive,
    ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; None = open), with its source, as-of date and V/S/M confidence."""

    role: str
    valid_from: str | None = None
    valid_to: str | None = None
    source: str = ""
    as_of: str = ""
    confidence: str = "M"
    note: str = ""

    def valid_on(self, day: str) -> bool:
        """True if the role applies on ``day`` (an ISO date)."""
        return _date_in(day, self.valid_from, self.valid_to)


def _date_in(day: str, start: str | None, end: str | None) -> bool:
    """Is ISO ``day`` within [start, end]? Partial dates compare on their precision (``2025`` covers the year)."""
    if start and day[:len(start)] < start:
        return False
    if end and day[:len(end)] > end:
        return False
    return True


@dataclass(frozen=True)
class Editorial:
    what_de: str = ""
    what_en: str = ""
    why_de: str = ""
    why_en: str = ""


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    category: str
    company: str
    aliases: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    url_patterns: tuple[UrlPattern, ...] = ()
    signatures: tuple[str, ...] = ()
    cookies: tuple[Cookie, ...] = ()
    data_categories: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    consent: Consent = Consent("unknown", "")
    role: str = "unknown"
    eu_hosting: Flagged = Flagged("unknown")
    self_host_alternative: SelfHost = SelfHost(False)
    sets_cookies: str = "unknown"
    editorial: Editorial = Editorial()
    facts: tuple[Fact, ...] = ()
    sources: tuple[str, ...] = ()
    as_of: str = ""
    notes: str = ""
    path: str = ""  # file the entry came from ("" for in-memory entries)
    roles: tuple[DatedRole, ...] = ()
    own_purposes: Flagged = Flagged("unknown")  # yes / no / unknown: provider reuses data for its own purposes
    ip_anonymisation: Flagged = Flagged("unknown")  # browser / eu_edge / after_receipt / none / unknown
    honours_dnt: Flagged = Flagged("unknown")  # yes / no / unknown (documented by the provider)
    device_access: Flagged = Flagged("unknown")  # yes / no / unknown: script reads device properties for the provider
    security_finding: SecurityFinding | None = None

    def role_on(self, day: str) -> tuple[str, DatedRole | None]:
        """The provider's role on ISO ``day``: the dated ``roles`` entry valid then, else ``role``.

        Returns (role, the entry or None). With dated roles but none valid on ``day`` the role is ``unknown``.
        """
        if not self.roles:
            return self.role or "unknown", None
        for entry in self.roles:
            if entry.valid_on(day):
                return entry.role, entry
        return "unknown", None


@dataclass(frozen=True)
class Dpf:
    participant_id: str | None = None
    status: str = "unknown"
    checked_on: str | None = None
    source: str = ""
    confidence: str = "M"
    note: str = ""
    frameworks: tuple[str, ...] = ()  # EU / UK / CH as the statement names them; () = not recorded
    coverage: tuple[str, ...] = ()  # HR / non-HR; () = not recorded


@dataclass(frozen=True)
class Acquisition:
    acquirer: str
    announced: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    source: str = ""
    as_of: str = ""
    confidence: str = "M"
    note: str = ""


@dataclass(frozen=True)
class Company:
    id: str
    name: str
    country: str = "unknown"
    parent: str | None = None
    role_note: str = ""
    dpf: Dpf = Dpf()
    acquisitions: tuple[Acquisition, ...] = ()
    valid_from: str | None = None
    valid_to: str | None = None
    aliases: tuple[str, ...] = ()
    facts: tuple[Fact, ...] = ()
    sources: tuple[str, ...] = ()
    as_of: str = ""
    notes: str = ""
    path: str = ""
    # known: ``parent`` is set; none: a source says this is the ultimate parent; unknown: not established
    parent_status: str = "unknown"
    city: str = ""  # seat city (backed by the seat fact), "" = not recorded
    street: str = ""  # street address of the seat (a seat fact's value holds it), "" = not recorded
    transfers_to: TransfersTo | None = None

    def parent_on(self, day: str | None) -> str | None:
        """The parent company id on ISO ``day`` (None = today's record).

        An acquisition by the recorded parent that starts after ``day`` (or ended before it) means the link
        did not hold then; the earlier owner is not recorded, so the result is None (unknown, see
        :meth:`parent_status_on`).
        """
        if day is None or self.parent is None:
            return self.parent
        for acq in self.acquisitions:
            if acq.acquirer == self.parent and not _date_in(day, acq.valid_from, acq.valid_to):
                return None
        return self.parent

    def parent_status_on(self, day: str | None) -> str:
        """``known``, ``none`` or ``unknown`` on ISO ``day`` (see :meth:`parent_on`)."""
        if self.parent is not None and self.parent_on(day) is None:
            return "unknown"
        return self.parent_status


@dataclass(frozen=True)
class Signature:
    """An inline-snippet fingerprint; ``regex`` has one capture group for the account/container id if any.

    ``loader``: the snippet is the vendor's loader code (running it fetches the vendor's script), so finding it
    in a script that runs on load shows the service loading without a consent gate; a bare account id or
    config object does not. ``page``: the dev-corpus page (``pages/NNNN_host.html``) whose bytes hold the
    ``example``, a short evidence string taken from a real page."""

    id: str
    regex: str
    description: str
    example: str | None = None
    ignore_case: bool = False
    path: str = ""
    loader: bool = False
    page: str | None = None

    def compile(self) -> re.Pattern[str]:
        return re.compile(self.regex, re.IGNORECASE if self.ignore_case else 0)


@dataclass(frozen=True, eq=False)
class Catalog:
    """The whole catalog. ``services`` keeps file order (duplicates included, for the validator)."""

    services: tuple[Service, ...]
    companies: Mapping[str, Company]
    signatures: Mapping[str, Signature]
    by_id: Mapping[str, Service]
    load_problems: tuple[str, ...] = ()
    cookie_overrides: tuple = ()  # CookieOverride rows, validated against the services
    duplicate_companies: tuple[Company, ...] = ()
    duplicate_signatures: tuple[Signature, ...] = ()

    def company_of(self, service: Service) -> Company | None:
        return self.companies.get(service.company)

    def parent_chain(self, company_id: str, on: str | None = None) -> tuple[Company, ...]:
        """The company followed by its parents up to the ultimate parent (stops on cycles).

        ``on`` (ISO date) follows only the parent links that held on that day (dated acquisitions).
        """
        chain: list[Company] = []
        seen: set[str] = set()
        current: str | None = company_id
        while current and current not in seen and current in self.companies:
            seen.add(current)
            company = self.companies[current]
            chain.append(company)
            current = company.parent_on(on)
        return tuple(chain)

    def recipient(self, company_id: str) -> str:
        """The company that receives the visitors' data when ``company_id`` is the contracting entity: the
        entity its ``transfers_to`` names (followed until none is named), else the company itself."""
        seen: set[str] = set()
        current = company_id
        while current in self.companies and current not in seen:
            seen.add(current)
            target = self.companies[current].transfers_to
            if target is None or target.company not in self.companies:
                return current
            current = target.company
        return current

    def chain_complete(self, company_id: str, on: str | None = None) -> bool:
        """True if the chain of ``company_id`` is known up to an entity a source names as ultimate parent."""
        chain = self.parent_chain(company_id, on)
        return bool(chain) and chain[-1].parent_status_on(on) == "none"

    def us_jurisdiction(self, company_id: str, on: str | None = None) -> bool | None:
        """Derived: the entity or any parent in its chain is a US company.

        True as soon as one US entity is in the chain; False only when every country in the chain is known
        and the chain is complete (its top is a known ultimate parent); None (unknown) otherwise, including
        for a company that is not in the catalog.
        """
        chain = self.parent_chain(company_id, on)
        if not chain:
            return None
        countries = [c.country for c in chain]
        if "US" in countries:
            return True
        if "unknown" in countries or chain[-1].parent_status_on(on) != "none":
            return None
        return False

    @cached_property
    def matcher(self) -> ServiceMatcher:
        return ServiceMatcher(self.services)

    def match(self, host: str, path: str = "/", *, first_party: bool | None = None) -> Service | None:
        """The service that serves ``host`` + ``path`` (path may include the query), or None.

        See :mod:`pipelines.catalog.match` for the precedence rules and ``first_party``.
        """
        return self.matcher.match(host, path, first_party=first_party)


# --------------------------------------------------------------------------------------------------
# reading
