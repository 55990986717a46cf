"""Read the curated YAML catalog (services, companies, signatures) into frozen dataclasses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from common.paths import DATA_DIR
from pipelines.catalog.match import ServiceMatcher
from pipelines.problems import ProblemsError

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is ~5x faster

SIGNATURES_FILE = "_signatures.yml"
DEFAULT_DATA_DIR = DATA_DIR

SERVICE_KEYS = frozenset({
    "id", "name", "aliases", "category", "company", "hosts", "url_patterns", "signatures", "cookies",
    "data_categories", "purposes", "consent", "role", "eu_hosting", "self_host_alternative", "sets_cookies",
    "editorial", "facts", "sources", "as_of", "notes",
    # risk-model inputs (see data/README.md): dated roles and structured privacy properties
    "roles", "own_purposes", "ip_anonymisation", "honours_dnt", "device_access", "security_finding",
})
COMPANY_KEYS = frozenset({
    "id", "name", "country", "parent", "parent_status", "role_note", "dpf", "acquisitions", "valid_from",
    "valid_to", "facts", "sources", "as_of", "aliases", "notes", "city", "street", "transfers_to",
})
CONSENT_KEYS = frozenset({"baseline", "reason", "basis", "source", "as_of", "note"})
FINDING_KEYS = frozenset({"kind", "since", "note", "source", "as_of", "confidence"})
TRANSFER_KEYS = frozenset({"company", "source", "as_of", "confidence", "note"})
COOKIE_OVERRIDES_FILE = Path("reference") / "cookie_purposes.csv"
COOKIE_OVERRIDE_COLUMNS = ("service", "name", "match", "purpose", "status", "source", "as_of", "note")
ROLE_KEYS = frozenset({"role", "valid_from", "valid_to", "source", "as_of", "confidence", "note"})
SIGNATURE_KEYS = frozenset({"id", "regex", "description", "example", "ignore_case", "services", "loader", "page"})
FACT_KEYS = frozenset({"field", "value", "source", "as_of", "confidence", "note", "valid_from", "valid_to"})


class CatalogError(ProblemsError):
    """Raised by :func:`load_catalog` when the catalog has problems; ``problems`` lists them all."""

    what = "catalog"


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


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()[:10]
    return str(value)


def _flag(value: Any) -> str:
    """Closed-set yes/no fields: YAML 1.1 reads a bare yes/no as a boolean, so map it back."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return _text(value)


def _opt_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _tuple(value: Any, problems: list[str], where: str, key: str) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(f"{where}: '{key}' must be a list")
        return ()
    return tuple(value)


def _mapping(value: Any, problems: list[str], where: str, key: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{where}: '{key}' must be a mapping")
        return {}
    return value


def _check_keys(raw: dict, allowed: frozenset[str], problems: list[str], where: str) -> None:
    for key in sorted(set(raw) - allowed):
        problems.append(f"{where}: unknown key '{key}'")


def _fact(raw: Any, problems: list[str], where: str) -> Fact | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: fact must be a mapping")
        return None
    _check_keys(raw, FACT_KEYS, problems, where)
    return Fact(
        field=_text(raw.get("field")),
        value=raw.get("value"),
        source=_text(raw.get("source")),
        as_of=_text(raw.get("as_of")),
        confidence=_text(raw.get("confidence")),
        note=_text(raw.get("note")),
        valid_from=_opt_text(raw.get("valid_from")),
        valid_to=_opt_text(raw.get("valid_to")),
    )


def _facts(raw: Any, problems: list[str], where: str) -> tuple[Fact, ...]:
    out = []
    for i, item in enumerate(_tuple(raw, problems, where, "facts")):
        fact = _fact(item, problems, f"{where} facts[{i}]")
        if fact is not None:
            out.append(fact)
    return tuple(out)


def _service(raw: dict, problems: list[str], where: str) -> Service:
    _check_keys(raw, SERVICE_KEYS, problems, where)
    patterns = []
    for i, item in enumerate(_tuple(raw.get("url_patterns"), problems, where, "url_patterns")):
        if isinstance(item, dict) and set(item) == {"host", "path"}:
            patterns.append(UrlPattern(_text(item["host"]), _text(item["path"])))
        else:
            problems.append(f"{where}: url_patterns[{i}] must be a mapping with exactly 'host' and 'path'")
    cookies = []
    for i, item in enumerate(_tuple(raw.get("cookies"), problems, where, "cookies")):
        if not isinstance(item, dict):
            problems.append(f"{where}: cookies[{i}] must be a mapping")
            continue
        _check_keys(item, frozenset({"name", "match", "purpose", "lifetime", "source"}), problems,
                    f"{where} cookies[{i}]")
        cookies.append(Cookie(_text(item.get("name")), _text(item.get("match") or "exact"),
                              _text(item.get("purpose")), _text(item.get("lifetime")), _text(item.get("source"))))
    consent = _mapping(raw.get("consent"), problems, where, "consent")
    _check_keys(consent, CONSENT_KEYS, problems, f"{where} consent")
    finding_raw = raw.get("security_finding")
    finding = None
    if finding_raw is not None:
        finding_map = _mapping(finding_raw, problems, where, "security_finding")
        _check_keys(finding_map, FINDING_KEYS, problems, f"{where} security_finding")
        finding = SecurityFinding(**{k: _text(finding_map.get(k)) for k in ("kind", "since", "note", "source",
                                                                            "as_of", "confidence")})
    eu = _mapping(raw.get("eu_hosting"), problems, where, "eu_hosting")
    selfhost = _mapping(raw.get("self_host_alternative"), problems, where, "self_host_alternative")
    editorial = _mapping(raw.get("editorial"), problems, where, "editorial")
    _check_keys(editorial, frozenset({"what_de", "what_en", "why_de", "why_en"}), problems, f"{where} editorial")
    selfhost_value = selfhost.get("value", False)
    if not isinstance(selfhost_value, bool):
        problems.append(f"{where}: self_host_alternative.value must be true or false")
        selfhost_value = False
    roles = []
    for i, item in enumerate(_tuple(raw.get("roles"), problems, where, "roles")):
        if not isinstance(item, dict):
            problems.append(f"{where}: roles[{i}] must be a mapping")
            continue
        _check_keys(item, ROLE_KEYS, problems, f"{where} roles[{i}]")
        roles.append(DatedRole(role=_text(item.get("role")), valid_from=_opt_text(item.get("valid_from")),
                               valid_to=_opt_text(item.get("valid_to")), source=_text(item.get("source")),
                               as_of=_text(item.get("as_of")), confidence=_text(item.get("confidence")),
                               note=_text(item.get("note"))))
    flags = {}
    for key in ("own_purposes", "ip_anonymisation", "honours_dnt", "device_access"):
        flag = _mapping(raw.get(key), problems, where, key)
        _check_keys(flag, frozenset({"value", "note"}), problems, f"{where} {key}")
        flags[key] = Flagged(_flag(flag.get("value", "unknown")), _text(flag.get("note")))
    return Service(
        roles=tuple(roles),
        **flags,
        id=_text(raw.get("id")),
        name=_text(raw.get("name")),
        category=_text(raw.get("category")),
        company=_text(raw.get("company")),
        aliases=tuple(_text(a) for a in _tuple(raw.get("aliases"), problems, where, "aliases")),
        hosts=tuple(_text(h) for h in _tuple(raw.get("hosts"), problems, where, "hosts")),
        url_patterns=tuple(patterns),
        signatures=tuple(_text(s) for s in _tuple(raw.get("signatures"), problems, where, "signatures")),
        cookies=tuple(cookies),
        data_categories=tuple(_text(d) for d in _tuple(raw.get("data_categories"), problems, where,
                                                       "data_categories")),
        purposes=tuple(_text(p) for p in _tuple(raw.get("purposes"), problems, where, "purposes")),
        consent=Consent(_text(consent.get("baseline", "unknown")), _text(consent.get("reason")),
                        _text(consent.get("basis") or "catalog"), _text(consent.get("source")),
                        _text(consent.get("as_of")), _text(consent.get("note"))),
        security_finding=finding,
        role=_text(raw.get("role", "unknown")),
        eu_hosting=Flagged(_flag(eu.get("value", "unknown")), _text(eu.get("note"))),
        self_host_alternative=SelfHost(selfhost_value, _text(selfhost.get("note"))),
        sets_cookies=_flag(raw.get("sets_cookies", "unknown")),
        editorial=Editorial(**{k: _text(editorial.get(k)) for k in ("what_de", "what_en", "why_de", "why_en")}),
        facts=_facts(raw.get("facts"), problems, where),
        sources=tuple(_text(s) for s in _tuple(raw.get("sources"), problems, where, "sources")),
        as_of=_text(raw.get("as_of")),
        notes=_text(raw.get("notes")),
        path=where,
    )


def _company(raw: dict, problems: list[str], where: str) -> Company:
    _check_keys(raw, COMPANY_KEYS, problems, where)
    dpf_raw = _mapping(raw.get("dpf"), problems, where, "dpf")
    _check_keys(dpf_raw, frozenset({"participant_id", "status", "checked_on", "source", "confidence", "note",
                                     "frameworks", "coverage"}),
                problems, f"{where} dpf")
    acquisitions = []
    for i, item in enumerate(_tuple(raw.get("acquisitions"), problems, where, "acquisitions")):
        if not isinstance(item, dict):
            problems.append(f"{where}: acquisitions[{i}] must be a mapping")
            continue
        _check_keys(item, frozenset({"acquirer", "announced", "valid_from", "valid_to", "source", "as_of",
                                     "confidence", "note"}), problems, f"{where} acquisitions[{i}]")
        acquisitions.append(Acquisition(
            acquirer=_text(item.get("acquirer")), announced=_opt_text(item.get("announced")),
            valid_from=_opt_text(item.get("valid_from")), valid_to=_opt_text(item.get("valid_to")),
            source=_text(item.get("source")), as_of=_text(item.get("as_of")),
            confidence=_text(item.get("confidence")), note=_text(item.get("note"))))
    parent = raw.get("parent")
    parent_status = _text(raw.get("parent_status")) or ("known" if parent is not None else "unknown")
    transfers = None
    if raw.get("transfers_to") is not None:
        t_raw = _mapping(raw.get("transfers_to"), problems, where, "transfers_to")
        _check_keys(t_raw, TRANSFER_KEYS, problems, f"{where} transfers_to")
        transfers = TransfersTo(**{k: _text(t_raw.get(k)) for k in ("company", "source", "as_of", "confidence",
                                                                     "note")})
    return Company(
        parent_status=parent_status,
        city=_text(raw.get("city")),
        street=_text(raw.get("street")),
        transfers_to=transfers,
        id=_text(raw.get("id")),
        name=_text(raw.get("name")),
        country=_text(raw.get("country", "unknown")),
        parent=None if parent is None else _text(parent),
        role_note=_text(raw.get("role_note")),
        dpf=Dpf(participant_id=_opt_text(dpf_raw.get("participant_id")),
                status=_text(dpf_raw.get("status", "unknown")),
                checked_on=_opt_text(dpf_raw.get("checked_on")),
                source=_text(dpf_raw.get("source")),
                confidence=_text(dpf_raw.get("confidence", "M")),
                note=_text(dpf_raw.get("note")),
                frameworks=tuple(_text(x) for x in _tuple(dpf_raw.get("frameworks"), problems, where, "frameworks")),
                coverage=tuple(_text(x) for x in _tuple(dpf_raw.get("coverage"), problems, where, "coverage"))),
        acquisitions=tuple(acquisitions),
        valid_from=_opt_text(raw.get("valid_from")),
        valid_to=_opt_text(raw.get("valid_to")),
        aliases=tuple(_text(a) for a in _tuple(raw.get("aliases"), problems, where, "aliases")),
        facts=_facts(raw.get("facts"), problems, where),
        sources=tuple(_text(s) for s in _tuple(raw.get("sources"), problems, where, "sources")),
        as_of=_text(raw.get("as_of")),
        notes=_text(raw.get("notes")),
        path=where,
    )


def _read_yaml(path: Path, problems: list[str], where: str) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(f"{where}: cannot parse YAML: {exc}".splitlines()[0])
        return None


@dataclass(frozen=True)
class CookieOverride:
    """One row of ``reference/cookie_purposes.csv``: the vendor-documented purpose of a cookie, which wins over
    the imported Open Cookie Database category; ``status: retired`` drops a cookie the vendor no longer sets,
    ``vendor_site`` one that only the vendor's own website sets (the embedded product does not)."""

    service: str
    name: str
    match: str
    purpose: str
    status: str
    source: str
    as_of: str
    note: str = ""
    line: int = 0


def read_cookie_overrides(data_dir: str | Path, problems: list[str]) -> tuple[CookieOverride, ...]:
    """The override rows (none when the file is missing); structural problems go to ``problems``."""
    import csv

    path = Path(data_dir) / COOKIE_OVERRIDES_FILE
    if not path.exists():
        return ()
    where = str(COOKIE_OVERRIDES_FILE)
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(line for line in fh if not line.startswith("#"))
        if tuple(reader.fieldnames or ()) != COOKIE_OVERRIDE_COLUMNS:
            problems.append(f"{where}: header must be {','.join(COOKIE_OVERRIDE_COLUMNS)}")
            return ()
        for i, row in enumerate(reader, start=2):
            rows.append(CookieOverride(**{k: (row.get(k) or "").strip() for k in COOKIE_OVERRIDE_COLUMNS}, line=i))
    return tuple(rows)


def apply_cookie_overrides(services: list[Service], overrides: tuple[CookieOverride, ...]) -> list[Service]:
    """Services with their cookie purposes set (retired and vendor-site cookies dropped) by ``overrides``; a cookie named
    in the table but missing from the service is added with the table's source."""
    from dataclasses import replace

    by_service: dict[str, dict[str, CookieOverride]] = {}
    for o in overrides:
        by_service.setdefault(o.service, {})[o.name] = o
    out = []
    for s in services:
        table = by_service.get(s.id)
        if not table:
            out.append(s)
            continue
        cookies, seen = [], set()
        for c in s.cookies:
            o = table.get(c.name)
            seen.add(c.name)
            if o is None:
                cookies.append(c)
            elif o.status == "active":
                cookies.append(Cookie(c.name, o.match or c.match, o.purpose, c.lifetime, o.source))
        for name, o in table.items():
            if name not in seen and o.status == "active":
                cookies.append(Cookie(name, o.match or "exact", o.purpose, "unknown", o.source))
        out.append(replace(s, cookies=tuple(cookies)))
    return out


def read_catalog(data_dir: str | Path = DEFAULT_DATA_DIR) -> Catalog:
    """Read ``<data_dir>/services/*.yml``, ``_signatures.yml`` and ``<data_dir>/companies/*.yml``.

    Never raises on content problems: structural problems (bad YAML, unknown keys, wrong types) are
    collected in ``Catalog.load_problems``; run :func:`pipelines.catalog.validate.validate` for the rest.
    Raises ``FileNotFoundError`` if the services or companies folder is missing.
    """
    data_dir = Path(data_dir)
    services_dir, companies_dir = data_dir / "services", data_dir / "companies"
    for folder in (services_dir, companies_dir):
        if not folder.is_dir():
            raise FileNotFoundError(f"catalog folder not found: {folder}")
    problems: list[str] = []

    services: list[Service] = []
    for path in sorted(services_dir.glob("*.yml")):
        if path.name.startswith("_"):
            continue
        where = f"services/{path.name}"
        raw = _read_yaml(path, problems, where)
        if not isinstance(raw, dict):
            if raw is not None:
                problems.append(f"{where}: top level must be a mapping")
            continue
        services.append(_service(raw, problems, where))
        if raw.get("id") is not None and f"{_text(raw.get('id'))}.yml" != path.name:
            problems.append(f"{where}: file name must be '<id>.yml' (id is '{_text(raw.get('id'))}')")

    signatures: dict[str, Signature] = {}
    duplicate_signatures: list[Signature] = []
    sig_path = services_dir / SIGNATURES_FILE
    if sig_path.exists():
        where = f"services/{SIGNATURES_FILE}"
        raw = _read_yaml(sig_path, problems, where)
        items = raw.get("signatures") if isinstance(raw, dict) else None
        if not isinstance(items, list):
            problems.append(f"{where}: must contain a 'signatures' list")
            items = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                problems.append(f"{where}: signatures[{i}] must be a mapping")
                continue
            _check_keys(item, SIGNATURE_KEYS, problems, f"{where} signatures[{i}]")
            sig = Signature(id=_text(item.get("id")), regex=_text(item.get("regex")),
                            description=_text(item.get("description")), example=_opt_text(item.get("example")),
                            ignore_case=bool(item.get("ignore_case", False)), path=where,
                            loader=item.get("loader") is True, page=_opt_text(item.get("page")))
            if sig.id in signatures:
                duplicate_signatures.append(sig)
            else:
                signatures[sig.id] = sig

    companies: dict[str, Company] = {}
    duplicate_companies: list[Company] = []
    for path in sorted(companies_dir.glob("*.yml")):
        where = f"companies/{path.name}"
        raw = _read_yaml(path, problems, where)
        if not isinstance(raw, dict):
            if raw is not None:
                problems.append(f"{where}: top level must be a mapping")
            continue
        company = _company(raw, problems, where)
        if f"{company.id}.yml" != path.name:
            problems.append(f"{where}: file name must be '<id>.yml' (id is '{company.id}')")
        if company.id in companies:
            duplicate_companies.append(company)
        else:
            companies[company.id] = company

    overrides = read_cookie_overrides(data_dir, problems)
    services = apply_cookie_overrides(services, overrides)
    by_id: dict[str, Service] = {}
    for service in services:
        by_id.setdefault(service.id, service)
    return Catalog(
        services=tuple(services),
        companies=MappingProxyType(companies),
        signatures=MappingProxyType(signatures),
        by_id=MappingProxyType(by_id),
        load_problems=tuple(problems),
        cookie_overrides=overrides,
        duplicate_companies=tuple(duplicate_companies),
        duplicate_signatures=tuple(duplicate_signatures),
    )


def load_catalog(data_dir: str | Path = DEFAULT_DATA_DIR) -> Catalog:
    """Read and validate the catalog; raise :class:`CatalogError` listing every problem if it is not clean."""
    from pipelines.catalog.validate import validate

    catalog = read_catalog(data_dir)
    problems = validate(catalog)
    if problems:
        raise CatalogError(problems)
    return catalog
