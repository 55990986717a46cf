"""Read the curated YAML catalog (services, companies, signatures, cookie overrides) into a :class:`Catalog` of the
frozen records of :mod:`pipelines.catalog.records`, collecting structural problems, and validate it."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from common.paths import DATA_DIR
from common.problems import ProblemsError
from common.signatures import SIGNATURES_FOLDER, signature_rules
from pipelines.catalog.cookie_overrides import apply_cookie_overrides, read_cookie_overrides
from pipelines.catalog.records import (
    Acquisition,
    Catalog,
    Company,
    Consent,
    Cookie,
    DatedRole,
    Dpf,
    Editorial,
    Fact,
    Flagged,
    SecurityFinding,
    SelfHost,
    Service,
    Signature,
    TransfersTo,
    UrlPattern,
)

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is ~5x faster

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
ROLE_KEYS = frozenset({"role", "valid_from", "valid_to", "source", "as_of", "confidence", "note"})
SIGNATURE_KEYS = frozenset({"id", "regex", "description", "example", "ignore_case", "services", "loader", "page"})
FACT_KEYS = frozenset({"field", "value", "source", "as_of", "confidence", "note", "valid_from", "valid_to"})


class CatalogError(ProblemsError):
    """Raised by :func:`load_catalog` when the catalog has problems; ``problems`` lists them all."""

    what = "catalog"



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


def read_catalog(data_dir: str | Path = DEFAULT_DATA_DIR) -> Catalog:
    """Read ``<data_dir>/services/*.yml``, ``services/_signatures/*.yml`` and ``<data_dir>/companies/*.yml``.

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
    sig_problems: list[str] = []
    for name, i, item in signature_rules(services_dir / SIGNATURES_FOLDER, sig_problems):
        where = f"services/{SIGNATURES_FOLDER}/{name}"
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
    problems += [f"services/{SIGNATURES_FOLDER}/{problem}" for problem in sig_problems]

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
