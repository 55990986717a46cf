"""Write privacy-policy blocks for catalog services or for the services one scan found: facts
(:mod:`pipelines.policy.facts`) → words (:mod:`pipelines.policy.compose`) → files (:mod:`pipelines.policy.render`).

``write_blocks`` is the one entry point; ``servicerisk policy`` and ``servicerisk scan`` both call it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from common.runfolder import Layout, check_run_id
from pipelines.catalog.load import Catalog
from pipelines.policy.compose import compose
from pipelines.policy.facts import block_facts
from pipelines.policy.render import write_block
from pipelines.publish.texts import LANGS
from pipelines.risk.model import RiskContext, load_context


class PolicyInputError(ValueError):
    """The services, scan or domain asked for cannot be found (the message says what to do)."""


class NothingToDraft(PolicyInputError):
    """The scan asked for found no services: the input was right, there is just nothing to write."""


@dataclass
class PolicyRequest:
    """What ``servicerisk policy`` drafts: the services, the folder, and a scan's verdicts and day (or none)."""

    service_ids: list[str]
    folder: Path
    verdicts: dict[str, str | None] | None = None
    day: date | None = None

    def options(self) -> dict[str, Any]:
        """The keyword arguments ``write_blocks`` takes from the scan (none for catalog services)."""
        return {} if self.verdicts is None else {"verdicts": self.verdicts, "day": self.day}


def policy_request(out_dir: Path, *, domain: str | None = None, scan_id: str | None = None,
                   services: str | None = None) -> PolicyRequest:
    """Resolve exactly one of a DOMAIN (its newest scan in ``out_dir``), a scan run id or comma-separated catalog
    service ids into what to draft; ``PolicyInputError`` says what is wrong."""
    from crawler.domains import InvalidDomain, normalise_domain

    if sum(x is not None for x in (domain, scan_id, services)) != 1:
        raise PolicyInputError("give exactly one of DOMAIN, --scan RUN_ID or --services ID,ID")
    if services is not None:
        ids = [s.strip() for s in services.split(",") if s.strip()]
        if not ids:
            raise PolicyInputError("--services: no service id given")
        return PolicyRequest(ids, out_dir / "policy")
    if domain is not None:
        try:
            site = normalise_domain(domain)
        except InvalidDomain as e:
            raise PolicyInputError(f"{domain!r} is not a domain: {e}") from e
        scan_id = newest_scan(out_dir, site)
    try:
        check_run_id(scan_id)
    except ValueError as e:
        raise PolicyInputError(f"--scan: {e}") from e
    report = read_scan(out_dir, scan_id)
    ids = [s["service_id"] for s in report.get("services") or []]
    if not ids:
        raise NothingToDraft(f"scan {scan_id} of {report.get('domain')} found no services")
    return PolicyRequest(ids, out_dir / "policy" / report["domain"], scan_verdicts(report), scan_day(report))


@dataclass
class Written:
    """Per language, service id -> (Markdown path, HTML path)."""

    files: dict[str, dict[str, tuple[Path, Path]]] = field(default_factory=dict)

    def count(self) -> int:
        return sum(len(v) for v in self.files.values())


def write_blocks(catalog: Catalog, service_ids: Iterable[str], folder: Path, *, ctx: RiskContext | None = None,
                 day: date | None = None, verdicts: dict[str, str | None] | None = None,
                 langs: Iterable[str] = LANGS) -> Written:
    """Write ``folder/<lang>/<id>.md`` and ``.html`` for each service in each language.

    ``catalog`` finds the services (long-tail ones included); ``ctx`` is the risk context on ``day`` (loaded when
    not given). ``verdicts`` maps a service id to a consent verdict already made (a scan's, for its site); a
    service listed there with ``None`` has none; services not listed are assessed at the catalog grain.
    Raises :class:`PolicyInputError` for an id the catalog does not know.
    """
    ids = list(dict.fromkeys(service_ids))
    unknown = [s for s in ids if s not in catalog.by_id]
    if unknown:
        raise PolicyInputError(f"not in the catalog: {', '.join(unknown)}")
    ctx = ctx or load_context(as_of=day)
    verdicts = verdicts or {}
    written = Written()
    for sid in ids:
        given = verdicts.get(sid)
        facts = block_facts(catalog.by_id[sid], catalog, ctx, consent_required=given,
                            assessed=False if sid in verdicts and given is None else None)
        for lang in langs:
            written.files.setdefault(lang, {})[sid] = write_block(compose(facts, lang), folder)
    return written


def scan_verdicts(report: dict[str, Any]) -> dict[str, str | None]:
    """Service id -> the scan's consent verdict for its site (None where the scan has none)."""
    return {s["service_id"]: s.get("consent_required") if s.get("consent_required") in ("yes", "likely", "no")
            else None for s in report.get("services") or []}


def scan_day(report: dict[str, Any]) -> date | None:
    """The day the scan was crawled (its verdicts and DPF statuses are of that day)."""
    crawled = str((report.get("provenance") or {}).get("crawled_at") or "")[:10]
    try:
        return date.fromisoformat(crawled)
    except ValueError:
        return None


def read_scan(out_dir: Path, run_id: str) -> dict[str, Any]:
    """The ``report.json`` of scan ``run_id`` under ``out_dir/scans/``."""
    path = Layout(out_dir).scans / run_id / "report.json"
    if not path.is_file():
        raise PolicyInputError(f"no scan report {path}: list the scans in {Layout(out_dir).scans}/")
    return json.loads(path.read_text(encoding="utf-8"))


def newest_scan(out_dir: Path, domain: str) -> str:
    """The run id of the newest scan of ``domain`` under ``out_dir/scans/``."""
    scans = Layout(out_dir).scans
    for folder in sorted(scans.iterdir(), reverse=True) if scans.is_dir() else []:
        report = folder / "report.json"
        if report.is_file() and json.loads(report.read_text(encoding="utf-8")).get("domain") == domain:
            return folder.name
    raise PolicyInputError(f"no scan of {domain} in {scans}/: run `servicerisk scan {domain} --out {out_dir}` "
                           "first, or name catalog services with --services")
