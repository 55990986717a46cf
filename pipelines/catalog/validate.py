"""Check a loaded catalog against the catalog rules and return every problem found as text."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from itertools import pairwise
from pathlib import Path

from pipelines.catalog import vocab
from pipelines.catalog.load import Catalog, Company, Fact, Service, read_catalog


def _iso_date_ok(value: str | None, *, partial: bool = False) -> bool:
    if value is None:
        return False
    regex = vocab.PARTIAL_DATE_RE if partial else vocab.ISO_DATE_RE
    if not regex.match(value):
        return False
    parts = [int(p) for p in value.split("-")] + [1, 1]
    try:
        date(parts[0], parts[1], parts[2])
    except ValueError:
        return False
    return True


def _check_facts(facts: tuple[Fact, ...], where: str, problems: list[str]) -> None:
    for i, fact in enumerate(facts):
        at = f"{where} facts[{i}] ({fact.field or '?'})"
        if fact.field not in vocab.FACT_FIELDS:
            problems.append(f"{at}: field '{fact.field}' not in {sorted(vocab.FACT_FIELDS)}")
        if fact.value is None or fact.value == "":
            problems.append(f"{at}: value is empty")
        if not fact.source:
            problems.append(f"{at}: fact without source")
        elif not vocab.is_valid_source(fact.source):
            problems.append(f"{at}: source '{fact.source}' is not a public URL or name@version package")
        elif fact.field in vocab.LEGAL_FACT_FIELDS - {"cookies"} and not vocab.is_public_url(fact.source):
            problems.append(f"{at}: legal fact needs a public URL as source (got '{fact.source}')")
        if not fact.as_of:
            problems.append(f"{at}: fact without as_of")
        elif not _iso_date_ok(fact.as_of):
            problems.append(f"{at}: as_of '{fact.as_of}' is not an ISO date (YYYY-MM-DD)")
        if fact.confidence not in vocab.CONFIDENCE:
            problems.append(f"{at}: confidence '{fact.confidence}' not in V/S/M")
        for name in ("valid_from", "valid_to"):
            value = getattr(fact, name)
            if value is not None and not _iso_date_ok(value, partial=True):
                problems.append(f"{at}: {name} '{value}' is not an ISO date")


def _fact_fields(facts: tuple[Fact, ...]) -> set[str]:
    return {f.field for f in facts}


def _check_service(s: Service, catalog: Catalog, problems: list[str]) -> None:
    where = s.path or f"service {s.id}"
    if not vocab.ID_RE.match(s.id):
        problems.append(f"{where}: id '{s.id}' is not kebab-case")
    if not s.name:
        problems.append(f"{where}: name is empty")
    if s.category not in vocab.CATEGORIES:
        problems.append(f"{where}: category '{s.category}' not in the closed set")
    if not s.company:
        problems.append(f"{where}: company is empty")
    elif s.company not in catalog.companies:
        problems.append(f"{where}: company '{s.company}' does not exist in data/companies")
    seen_hosts: set[str] = set()
    for pattern in s.hosts:
        if not vocab.is_valid_host_pattern(pattern):
            problems.append(f"{where}: invalid host pattern '{pattern}'")
        if pattern in seen_hosts:
            problems.append(f"{where}: host pattern '{pattern}' listed twice")
        seen_hosts.add(pattern)
    for up in s.url_patterns:
        if not vocab.is_valid_host_pattern(up.host, allow_any=True):
            problems.append(f"{where}: invalid url_patterns host '{up.host}'")
        try:
            re.compile(up.path)
        except re.error as exc:
            problems.append(f"{where}: url_patterns path regex {up.path!r} does not compile: {exc}")
    for sig in s.signatures:
        if sig not in catalog.signatures:
            problems.append(f"{where}: signature '{sig}' is not defined in services/_signatures/")
    if not (s.hosts or s.url_patterns or s.signatures):
        problems.append(f"{where}: no hosts, url_patterns or signatures, so it can never be detected")
    for i, c in enumerate(s.cookies):
        at = f"{where} cookies[{i}]"
        if not c.name:
            problems.append(f"{at}: name is empty")
        if c.match not in vocab.COOKIE_MATCH:
            problems.append(f"{at}: match '{c.match}' not in {sorted(vocab.COOKIE_MATCH)}")
        elif c.match == "regex":
            try:
                re.compile(c.name)
            except re.error as exc:
                problems.append(f"{at}: regex {c.name!r} does not compile: {exc}")
        if c.purpose not in vocab.PURPOSES:
            problems.append(f"{at}: purpose '{c.purpose}' not in the closed set")
        if not vocab.is_valid_source(c.source):
            problems.append(f"{at}: source '{c.source}' is missing or malformed")
    for value in s.data_categories:
        if value not in vocab.DATA_CATEGORIES:
            problems.append(f"{where}: data category '{value}' not in the closed set")
    for value in s.purposes:
        if value not in vocab.PURPOSES:
            problems.append(f"{where}: purpose '{value}' not in the closed set")
    if any(f.field == "dpf" for f in s.facts):
        problems.append(f"{where}: a DPF status belongs to the company (its dpf block or the DPF snapshot), not to the "
                        "service's facts (one owner)")
    if s.consent.basis not in vocab.CONSENT_BASES:
        problems.append(f"{where}: consent.basis '{s.consent.basis}' not in {sorted(vocab.CONSENT_BASES)}")
    elif s.consent.basis != "catalog":
        if s.consent.baseline != "required":
            problems.append(f"{where}: consent.basis '{s.consent.basis}' needs baseline 'required'")
        if not vocab.is_public_url(s.consent.source) or not _iso_date_ok(s.consent.as_of):
            problems.append(f"{where}: consent.basis '{s.consent.basis}' needs a public source URL and an ISO as_of")
    finding = s.security_finding
    if finding is not None:
        if finding.kind not in vocab.SECURITY_FINDINGS:
            problems.append(f"{where}: security_finding.kind '{finding.kind}' not in {sorted(vocab.SECURITY_FINDINGS)}")
        if not vocab.is_public_url(finding.source) or not _iso_date_ok(finding.as_of):
            problems.append(f"{where}: security_finding needs a public source URL and an ISO as_of")
        if finding.since and not _iso_date_ok(finding.since, partial=True):
            problems.append(f"{where}: security_finding.since '{finding.since}' is not an ISO date")
        if finding.confidence not in vocab.CONFIDENCE:
            problems.append(f"{where}: security_finding.confidence '{finding.confidence}' not in V/S/M")
    if s.consent.baseline not in vocab.CONSENT_BASELINES:
        problems.append(f"{where}: consent.baseline '{s.consent.baseline}' not in the closed set")
    elif s.consent.baseline != "unknown" and not s.consent.reason:
        problems.append(f"{where}: consent.reason is required when the baseline is not 'unknown'")
    if s.role not in vocab.ROLES:
        problems.append(f"{where}: role '{s.role}' not in the closed set")
    if s.eu_hosting.value not in vocab.EU_HOSTING:
        problems.append(f"{where}: eu_hosting '{s.eu_hosting.value}' not in the closed set")
    if s.sets_cookies not in vocab.SETS_COOKIES:
        problems.append(f"{where}: sets_cookies '{s.sets_cookies}' not in the closed set")
    _check_facts(s.facts, where, problems)
    fields = _fact_fields(s.facts)
    _check_roles(s, where, problems)
    for key, (allowed, fact_field) in vocab.SERVICE_FLAGS.items():
        flag = getattr(s, key)
        if flag.value not in allowed:
            problems.append(f"{where}: {key} '{flag.value}' not in {sorted(allowed)}")
        elif flag.value != "unknown" and fact_field not in fields:
            problems.append(f"{where}: {key} '{flag.value}' has no backing fact (field: {fact_field})")
    # a structured legal value must be backed by a dated, sourced fact that carries its confidence
    if s.role not in ("unknown", "") and "role" not in fields and not s.roles:
        problems.append(f"{where}: role '{s.role}' has no backing fact (field: role)")
    if s.eu_hosting.value not in ("unknown", "") and not fields & {"eu_hosting", "data_location"}:
        problems.append(f"{where}: eu_hosting '{s.eu_hosting.value}' has no backing fact (field: eu_hosting)")
    if s.sets_cookies not in ("unknown", "") and "cookies" not in fields:
        problems.append(f"{where}: sets_cookies '{s.sets_cookies}' has no backing fact (field: cookies)")
    for source in s.sources:
        if not vocab.is_valid_source(source):
            problems.append(f"{where}: source '{source}' is not a public URL or name@version package")
    if not _iso_date_ok(s.as_of):
        problems.append(f"{where}: as_of '{s.as_of}' is not an ISO date")
    texts = [s.editorial.what_de, s.editorial.what_en, s.editorial.why_de, s.editorial.why_en]
    if any(texts) and not all(texts):
        problems.append(f"{where}: editorial texts must be all filled or all empty")


def _check_roles(s: Service, where: str, problems: list[str]) -> None:
    """Dated roles: closed set, valid dates, a source, as-of and confidence each, no overlaps, and the
    ``role`` field equal to the role valid on the entry's ``as_of`` date."""
    for i, entry in enumerate(s.roles):
        at = f"{where} roles[{i}]"
        if entry.role not in vocab.ROLES - {"unknown"}:
            problems.append(f"{at}: role '{entry.role}' not in {sorted(vocab.ROLES - {'unknown'})}")
        for name in ("valid_from", "valid_to"):
            value = getattr(entry, name)
            if value is not None and not _iso_date_ok(value, partial=True):
                problems.append(f"{at}: {name} '{value}' is not an ISO date")
        if entry.valid_from and entry.valid_to and entry.valid_to < entry.valid_from:
            problems.append(f"{at}: valid_to is before valid_from")
        if not vocab.is_valid_source(entry.source):
            problems.append(f"{at}: role without a valid source")
        if not _iso_date_ok(entry.as_of):
            problems.append(f"{at}: as_of '{entry.as_of}' is not an ISO date")
        if entry.confidence not in vocab.CONFIDENCE:
            problems.append(f"{at}: confidence '{entry.confidence}' not in V/S/M")
    spans = sorted(((e.valid_from or "0000"), (e.valid_to or "9999"), i) for i, e in enumerate(s.roles))
    for (_f1, t1, i), (f2, _t2, j) in pairwise(spans):
        if f2[:len(t1)] <= t1[:len(f2)]:
            problems.append(f"{where}: roles[{i}] and roles[{j}] overlap")
    if s.roles and _iso_date_ok(s.as_of):
        current, _entry = s.role_on(s.as_of)
        if s.role != current:
            problems.append(f"{where}: role '{s.role}' disagrees with roles (valid on {s.as_of}: '{current}')")


def _check_company(c: Company, catalog: Catalog, problems: list[str]) -> None:
    where = c.path or f"company {c.id}"
    if not vocab.ID_RE.match(c.id):
        problems.append(f"{where}: id '{c.id}' is not kebab-case")
    if not c.name:
        problems.append(f"{where}: name is empty")
    if c.country != "unknown" and not vocab.COUNTRY_RE.match(c.country):
        problems.append(f"{where}: country '{c.country}' is not ISO-2 or 'unknown'")
    if c.parent_status not in vocab.PARENT_STATUS:
        problems.append(f"{where}: parent_status '{c.parent_status}' not in {sorted(vocab.PARENT_STATUS)}")
    elif (c.parent is not None) != (c.parent_status == "known"):
        problems.append(f"{where}: parent_status '{c.parent_status}' does not fit parent '{c.parent}' "
                        "(known needs a parent; none/unknown need parent: null)")
    if c.parent is not None:
        if c.parent == c.id:
            problems.append(f"{where}: company is its own parent")
        elif c.parent not in catalog.companies:
            problems.append(f"{where}: parent '{c.parent}' does not exist")
    if c.city and c.country == "unknown":
        problems.append(f"{where}: city '{c.city}' without a seat country")
    if c.street and (not c.city or not any(f.field == "seat" and c.street in str(f.value) for f in c.facts)):
        problems.append(f"{where}: street '{c.street}' needs a city and a seat fact whose value names it")
    if c.transfers_to is not None:
        t = c.transfers_to
        if t.company not in catalog.companies or t.company == c.id:
            problems.append(f"{where}: transfers_to '{t.company}' is not another company in the catalog")
        if not vocab.is_public_url(t.source) or not _iso_date_ok(t.as_of) or t.confidence not in vocab.CONFIDENCE:
            problems.append(f"{where}: transfers_to needs a public source URL, an ISO as_of and a V/S/M confidence")
    dpf = c.dpf
    if dpf.status not in vocab.DPF_STATUS:
        problems.append(f"{where}: dpf.status '{dpf.status}' not in the closed set")
    if dpf.participant_id is not None and not vocab.DPF_ID_RE.match(dpf.participant_id):
        problems.append(f"{where}: dpf.participant_id '{dpf.participant_id}' is not an 18-char a2z… id")
    if not set(dpf.frameworks) <= {"EU", "UK", "CH"} or not set(dpf.coverage) <= {"HR", "non-HR"}:
        problems.append(f"{where}: dpf.frameworks must be a subset of EU/UK/CH and dpf.coverage of HR/non-HR")
    if dpf.participant_id and (dpf.status != "unknown" or dpf.checked_on or dpf.frameworks or dpf.coverage):
        problems.append(f"{where}: dpf with a participant_id records no status, checked_on, frameworks or coverage: "
                        "the DPF snapshot (reference/dpf/) holds them (one owner)")
    if any(f.field == "dpf" for f in c.facts):
        problems.append(f"{where}: the DPF statement belongs in the dpf block (or the DPF snapshot), not in facts")
    if dpf.checked_on is not None and not _iso_date_ok(dpf.checked_on):
        problems.append(f"{where}: dpf.checked_on '{dpf.checked_on}' is not an ISO date")
    if dpf.confidence not in vocab.CONFIDENCE:
        problems.append(f"{where}: dpf.confidence '{dpf.confidence}' not in V/S/M")
    if (dpf.status in ("active", "inactive", "not_listed") or dpf.participant_id) and not vocab.is_valid_source(
            dpf.source):
        problems.append(f"{where}: dpf status/participant id without a valid source")
    for i, acq in enumerate(c.acquisitions):
        at = f"{where} acquisitions[{i}]"
        if acq.acquirer not in catalog.companies:
            problems.append(f"{at}: acquirer '{acq.acquirer}' does not exist")
        for name in ("announced", "valid_from", "valid_to"):
            value = getattr(acq, name)
            if value is not None and not _iso_date_ok(value, partial=True):
                problems.append(f"{at}: {name} '{value}' is not an ISO date")
        if not vocab.is_valid_source(acq.source):
            problems.append(f"{at}: acquisition without a valid source")
        if not _iso_date_ok(acq.as_of):
            problems.append(f"{at}: as_of '{acq.as_of}' is not an ISO date")
        if acq.confidence not in vocab.CONFIDENCE:
            problems.append(f"{at}: confidence '{acq.confidence}' not in V/S/M")
    for name in ("valid_from", "valid_to"):
        value = getattr(c, name)
        if value is not None and not _iso_date_ok(value, partial=True):
            problems.append(f"{where}: {name} '{value}' is not an ISO date")
    if c.valid_from and c.valid_to and c.valid_to < c.valid_from:
        problems.append(f"{where}: valid_to is before valid_from")
    _check_facts(c.facts, where, problems)
    fields = _fact_fields(c.facts)
    if c.id != vocab.SITE_OPERATOR:
        if c.parent is not None and "parent" not in fields:
            problems.append(f"{where}: parent '{c.parent}' has no backing fact (field: parent)")
        if c.parent_status == "none" and not fields & {"parent", "ownership"}:
            problems.append(f"{where}: parent_status 'none' has no backing fact (field: parent or ownership)")
        if c.country != "unknown" and "seat" not in fields:
            problems.append(f"{where}: country '{c.country}' has no backing fact (field: seat)")
    for source in c.sources:
        if not vocab.is_valid_source(source):
            problems.append(f"{where}: source '{source}' is not a public URL or name@version package")
    if not _iso_date_ok(c.as_of):
        problems.append(f"{where}: as_of '{c.as_of}' is not an ISO date")


def _parent_cycles(catalog: Catalog) -> list[str]:
    problems = []
    reported: set[frozenset[str]] = set()
    for start in catalog.companies:
        path: list[str] = []
        current: str | None = start
        while current is not None and current in catalog.companies:
            if current in path:
                cycle = path[path.index(current):]
                key = frozenset(cycle)
                if key not in reported and len(cycle) > 1:
                    reported.add(key)
                    problems.append("companies: parent cycle " + " -> ".join(cycle + [current]))
                break
            path.append(current)
            current = catalog.companies[current].parent
    return problems


def _check_cookie_overrides(catalog: Catalog) -> list[str]:
    problems = []
    seen: set[tuple[str, str]] = set()
    for o in catalog.cookie_overrides:
        at = f"reference/cookie_purposes.csv: line {o.line}"
        if o.service not in catalog.by_id:
            problems.append(f"{at}: service '{o.service}' is not in the catalog")
        if (o.service, o.name) in seen:
            problems.append(f"{at}: cookie '{o.name}' of '{o.service}' listed twice")
        seen.add((o.service, o.name))
        if not o.name:
            problems.append(f"{at}: name is empty")
        if o.status not in vocab.COOKIE_OVERRIDE_STATUS:
            problems.append(f"{at}: status '{o.status}' not in {sorted(vocab.COOKIE_OVERRIDE_STATUS)}")
        if o.status == "active" and o.purpose not in vocab.PURPOSES:
            problems.append(f"{at}: purpose '{o.purpose}' not in the closed set")
        if o.match and o.match not in vocab.COOKIE_MATCH:
            problems.append(f"{at}: match '{o.match}' not in {sorted(vocab.COOKIE_MATCH)}")
        if not vocab.is_public_url(o.source):
            problems.append(f"{at}: source must be the vendor's public documentation URL")
        if not _iso_date_ok(o.as_of):
            problems.append(f"{at}: as_of '{o.as_of}' is not an ISO date")
    return problems


def validate(catalog: Catalog) -> list[str]:
    """Return the catalog's problems (empty list when clean). Never raises on bad content."""
    problems = list(catalog.load_problems)

    ids = Counter(s.id for s in catalog.services)
    for service_id, n in sorted(ids.items()):
        if n > 1:
            files = [s.path for s in catalog.services if s.id == service_id]
            problems.append(f"services: duplicate id '{service_id}' in {', '.join(files)}")
    for dup in catalog.duplicate_companies:
        problems.append(f"companies: duplicate id '{dup.id}' ({dup.path})")
    for dup in catalog.duplicate_signatures:
        problems.append(f"signatures: duplicate id '{dup.id}' in {catalog.signatures[dup.id].path} and {dup.path}")

    owners: dict[str, str] = {}
    for s in catalog.services:
        for pattern in s.hosts:
            if pattern in owners and owners[pattern] != s.id:
                problems.append(f"services: host pattern '{pattern}' claimed by both '{owners[pattern]}' and "
                                f"'{s.id}' (split products with url_patterns)")
            owners.setdefault(pattern, s.id)

    for s in catalog.services:
        _check_service(s, catalog, problems)
    for c in catalog.companies.values():
        _check_company(c, catalog, problems)
    problems.extend(_parent_cycles(catalog))

    problems.extend(_check_cookie_overrides(catalog))
    used = {sig for s in catalog.services for sig in s.signatures}
    for sig in catalog.signatures.values():
        where = f"{sig.path or 'signatures'} [{sig.id}]"
        if not vocab.ID_RE.match(sig.id):
            problems.append(f"{where}: id is not kebab-case")
        if not sig.description:
            problems.append(f"{where}: description is empty")
        try:
            regex = sig.compile()
        except re.error as exc:
            problems.append(f"{where}: regex does not compile: {exc}")
            continue
        if regex.groups > 1:
            problems.append(f"{where}: regex has {regex.groups} capture groups (at most one, for the id)")
        if sig.example is not None and not regex.search(sig.example):
            problems.append(f"{where}: example does not match the regex")
        if sig.id not in used:
            problems.append(f"{where}: signature is not used by any service")
    return problems


def lint(catalog_dir: str | Path) -> list[str]:
    """Read the catalog under ``catalog_dir`` (the folder holding services/ and companies/) and validate it.

    Returns problems as strings, never raises for catalog content; a missing folder is reported as a problem.
    """
    try:
        catalog = read_catalog(catalog_dir)
    except FileNotFoundError as exc:
        return [str(exc)]
    return validate(catalog)
