"""The facts check: is the company data behind the most prevalent services complete (seat country and city,
parent chain, the service's role, a DPF statement for US entities; "unknown" only with its reason, never for the
seat country), does every legal fact carry a public source, and which legal facts are older than 12 months.
``servicerisk refdata dpf --check`` prints it; the test suite fails on every kind but ``stale``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pipelines.catalog import vocab
from pipelines.catalog.load import Catalog
from pipelines.risk.dpf import MAX_AGE_MONTHS, months_before

# most serious first; every kind but the last fails CI
KINDS = ("unknown_seat", "unexplained_unknown", "no_public_source", "stale")
UNKNOWN_REASON = "unknown:"  # a fact value starting with this states why a fact is unknown


@dataclass(frozen=True)
class FactIssue:
    kind: str
    owner: str  # services/<id>.yml or companies/<id>.yml
    field: str
    detail: str


def companies_behind(catalog: Catalog, service_ids: list[str]) -> dict[str, str]:
    """company id -> the first service that puts it in scope: each service's contracting company, its
    recipient and both parent chains (self-hosted services have none)."""
    out: dict[str, str] = {}
    for sid in service_ids:
        service = catalog.by_id.get(sid)
        if service is None or service.company == vocab.SITE_OPERATOR:
            continue
        for start in (service.company, catalog.recipient(service.company)):
            for company in catalog.parent_chain(start):
                out.setdefault(company.id, sid)
    return out


def _reasoned(facts, field: str) -> bool:
    """A fact of ``field`` says why the value is unknown (``unknown: <reason>``), with a public source."""
    return any(f.field == field and f.value.lower().startswith(UNKNOWN_REASON) and vocab.is_public_url(f.source)
               for f in facts)


def _company_issues(c, sid: str) -> list[FactIssue]:
    owner, why = f"companies/{c.id}.yml", f"behind top service {sid}"
    issues = []
    if c.country == "unknown":
        issues.append(FactIssue("unknown_seat", owner, "country", why))
    elif not c.city and not _reasoned(c.facts, "seat"):
        issues.append(FactIssue("unknown_seat", owner, "city", f"seat city not recorded, no 'seat' fact saying why "
                                f"({why})"))
    if c.parent_status == "unknown" and not _reasoned(c.facts, "parent"):
        issues.append(FactIssue("unexplained_unknown", owner, "parent", f"parent chain not established, no "
                                f"'parent' fact saying why ({why})"))
    dpf = c.dpf
    stated = dpf.status != "unknown" and dpf.checked_on  # a status with the day it was read
    if c.country == "US" and not dpf.participant_id and not (vocab.is_public_url(dpf.source) and (stated or dpf.note)):
        issues.append(FactIssue("unexplained_unknown", owner, "dpf", f"US entity without a DPF statement (status, "
                                f"public source, date read; or the reason it is unknown) ({why})"))
    return issues


def check_facts(catalog: Catalog, top: list[str], on: date) -> list[FactIssue]:
    """Every issue, most serious kind first. ``catalog`` should include the long tail when ``top`` names
    long-tail services (a top service missing from it is reported)."""
    issues: list[FactIssue] = []
    for sid in top:
        service = catalog.by_id.get(sid)
        if service is None:
            issues.append(FactIssue("unexplained_unknown", f"services/{sid}.yml", "id", "top service not in the "
                                    "catalog"))
        elif service.company != vocab.SITE_OPERATOR and service.role_on(on.isoformat())[0] == "unknown" \
                and not _reasoned(service.facts, "role"):
            issues.append(FactIssue("unexplained_unknown", f"services/{sid}.yml", "role", "role towards the site "
                                    "operator not established, no 'role' fact saying why"))
    for cid, sid in sorted(companies_behind(catalog, top).items()):
        issues += _company_issues(catalog.companies[cid], sid)
    cutoff = months_before(on, MAX_AGE_MONTHS).isoformat()
    owners = [(f"services/{s.id}.yml", s.facts) for s in catalog.services if not s.id.startswith("tpw-")]
    owners += [(f"companies/{c.id}.yml", c.facts) for c in catalog.companies.values() if not c.id.startswith("tpw-")]
    for owner, facts in owners:
        for f in facts:
            if f.field not in vocab.LEGAL_FACT_FIELDS:
                continue
            if f.field != "cookies" and not vocab.is_public_url(f.source):
                issues.append(FactIssue("no_public_source", owner, f.field, f.source))
            if f.as_of < cutoff:
                issues.append(FactIssue("stale", owner, f.field, f"as of {f.as_of}: {f.source}"))
    return sorted(issues, key=lambda i: (KINDS.index(i.kind), i.owner, i.field))


@dataclass
class Checkup:
    """``servicerisk refdata dpf --check`` as data: the DPF status rows, the facts check's issues and counts by
    kind, and the companies that need a (re)check on the DPF list."""

    rows: list  # pipelines.risk.dpf.CheckRow
    issues: list[FactIssue]
    counts: dict[str, int]
    recheck: list  # rows whose problem is missing, stale or scope
    companies: int  # companies the DPF rows name

    @property
    def failed(self) -> bool:
        """What ``--strict`` fails on: a company to recheck, or a fact issue of any kind but ``stale``."""
        return bool(self.recheck) or any(self.counts[k] for k in KINDS[:-1])


def checkup(catalog: Catalog, snapshot, day: date, top: list[str]) -> Checkup:
    """The DPF status check of the curated ``catalog`` against ``snapshot`` on ``day`` and the facts check of the
    companies behind the ``top`` services (the catalog with its long tail, so every top service is known)."""
    from pipelines.catalog.longtail import catalog_with_long_tail
    from pipelines.risk.dpf import check

    rows = check(catalog, snapshot, day)
    issues = check_facts(catalog_with_long_tail(catalog)[0], top, day)
    return Checkup(rows, issues, {k: sum(1 for i in issues if i.kind == k) for k in KINDS},
                   [r for r in rows if r.problem in ("missing", "stale", "scope")],
                   len([r for r in rows if r.company_id]))
