"""The one pipeline, crawl → enrich → build → knowledge base or scan report, that ``run``, ``demo`` and ``scan``
call with different arguments. It raises :class:`PipelineError` (with the exit code) and never prints or exits:
the commands print what their :class:`Observer` hears and map errors to exit codes."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.runfolder import Layout
from crawler.defaults import SCAN
from pipelines import exits

if TYPE_CHECKING:
    from crawler.runner import CrawlOptions, RunPlan

Crawl = Callable[["RunPlan", "CrawlOptions"], dict]


class PipelineError(Exception):
    """A stage could not do its job; ``code`` is the exit code (``pipelines.exits``)."""

    def __init__(self, message: str, code: int = exits.FAILED):
        super().__init__(message)
        self.code = code


class CrawlNotFinished(PipelineError):
    """The crawl stopped before its run was sealed (Ctrl-C or SIGTERM: ``exits.INTERRUPTED``)."""

    def __init__(self, plan: RunPlan, reason: str | None):
        self.plan, self.reason = plan, reason or "stopped"
        super().__init__(f"run {plan.run_id} did not finish ({self.reason}); it is not sealed",
                         exits.INTERRUPTED if reason == "shutdown" else exits.FAILED)


class Observer:
    """What the pipeline tells as it goes, stage by stage; every hook does nothing here (commands print)."""

    def prepared(self, plan: RunPlan) -> None:
        """The run folder exists; the crawl starts."""

    def crawled(self, plan: RunPlan, warning: str | None) -> None:
        """The run is sealed; ``warning`` when few of its sites answered."""

    def enriched(self, result) -> None:
        """The run is enriched (``pipelines.enrich.run.EnrichResult``)."""

    @contextmanager
    def building(self) -> Iterator[Callable[[str], None] | None]:
        """Around the warehouse build; yields the build's ``on_step`` (or None)."""
        yield None

    def built(self, report) -> None:
        """The warehouse is built (``pipelines.warehouse.build.BuildReport``), before its assertions count."""

    def rebuilding(self, reason: str) -> None:
        """The warehouse was built by another servicerisk version and is rebuilt from its run folders."""


@dataclass
class PipelineResult:
    plan: RunPlan
    warning: str | None = None  # sealed, but few sites answered (pipelines.summary.answered_warning)
    enriched: Any = None  # pipelines.enrich.run.EnrichResult
    build: Any = None  # pipelines.warehouse.build.BuildReport, when built
    kb: dict[str, Any] = field(default_factory=dict)  # language -> pipelines.publish.render.BuildResult
    scan: dict[str, Any] | None = None  # the scan report's page data (pipelines.scan.report.scan_data)
    evidence: dict[str, Any] | None = None  # its evidence pack (pipelines.scan.evidence.evidence_data)


def run_pipeline(domains: Path, options: CrawlOptions, *, crawl: Crawl | None = None, build: bool = True,
                 kinds: tuple[str, ...] | None = None, kb: tuple[str, ...] = (), scan_site: str | None = None,
                 observer: Observer | None = None, rebuild_outdated: bool = False) -> PipelineResult:
    """Crawl ``domains`` into a new sealed run of ``options.out`` (with ``crawl``, default in this process),
    enrich it, then (``build``) build the warehouse from the runs of ``kinds`` (default: the dataset's), render
    the knowledge base in the languages ``kb`` and, with ``scan_site``, compute that site's scan report.
    ``rebuild_outdated``: a warehouse of another servicerisk version is rebuilt rather than refused (the demo's
    own folder)."""
    from crawler.domains import DomainListError
    from crawler.runner import prepare_run, run_crawl
    from pipelines.summary import answered_warning

    observer = observer or Observer()
    try:
        plan = prepare_run(domains, options)
    except (DomainListError, FileExistsError, ValueError) as e:
        raise PipelineError(str(e), exits.USAGE) from e
    observer.prepared(plan)
    stats = (crawl or run_crawl)(plan, options)
    if not (plan.run_dir / "manifest.json").is_file():
        raise CrawlNotFinished(plan, stats.get("finish_reason"))
    layout = Layout(options.out)
    result = PipelineResult(plan, warning=answered_warning(layout.read_manifest(plan.run_id)))
    observer.crawled(plan, result.warning)
    result.enriched = enrich(options.out, plan.run_id, options.nameservers, progress=options.progress)
    observer.enriched(result.enriched)
    if not build:
        return result
    from pipelines.catalog.longtail import catalog_with_long_tail

    catalog, provenance = catalog_with_long_tail()
    result.build = build_warehouse(options.out, observer, catalog=catalog, catalog_provenance=provenance,
                                   rebuild_outdated=rebuild_outdated, **({"kinds": kinds} if kinds else {}))
    if kb:
        from pipelines.catalog.load import load_catalog
        from pipelines.publish.render import build_kb

        curated = load_catalog()
        with _reading(layout) as con:
            result.kb = {lang: build_kb(con, curated, options.out, lang) for lang in kb}
    if scan_site:
        result.scan, result.evidence = _scan_report(layout, plan.run_id, scan_site, catalog, result, options)
    return result


def enrich(out: Path, run_id: str | None, nameservers, *, progress: bool | str = False):
    """Enrich the sealed run ``run_id`` (None: the newest) with the curated catalog (cloaking)."""
    from pipelines.catalog.load import load_catalog
    from pipelines.enrich.run import EnrichError, enrich_run

    try:
        return enrich_run(out, run_id, nameservers=list(nameservers), progress=progress, catalog=load_catalog())
    except EnrichError as e:
        raise PipelineError(f"enrichment failed: {e}") from e


def build_warehouse(out: Path, observer: Observer | None = None, *, rebuild_outdated: bool = False, **kwargs):
    """Build ``OUT/warehouse.duckdb`` from the sealed runs (``kwargs`` go to ``pipelines.warehouse.build.build``);
    a usage error when there is none or the warehouse has another schema version (unless ``rebuild_outdated``:
    then it is rebuilt from the run folders), a failure when an assertion returns rows."""
    from pipelines.warehouse.build import build
    from pipelines.warehouse.connect import WarehouseVersionError

    observer = observer or Observer()
    layout = Layout(Path(out))
    if not layout.sealed_runs():
        raise PipelineError(f"no sealed runs under {layout.raw}: crawl first", exits.USAGE)
    try:
        with observer.building() as on_step:
            report = build(out, on_step=on_step, **kwargs)
    except WarehouseVersionError as e:
        if not rebuild_outdated:
            raise PipelineError(str(e), exits.USAGE) from e
        observer.rebuilding(str(e).split(": rebuild with")[0])
        with observer.building() as on_step:
            report = build(out, on_step=on_step, **{**kwargs, "rebuild": True})
    observer.built(report)
    if report.failed_assertions:
        raise PipelineError(f"warehouse assertions failed: {report.failed_assertions}")
    return report


def scan(site: str, scan_dir: Path, *, run_id: str, max_pages: int = SCAN.max_pages, mode: str = SCAN.mode,
         timeout: float = SCAN.timeout, browser_executable: str | None = None, nameservers: tuple[str, ...] = (),
         allow_private: bool = SCAN.allow_private, ignore_robots: bool = SCAN.ignore_robots,
         user_agent: str | None = None, crawl: Crawl | None = None,
         observer: Observer | None = None) -> PipelineResult:
    """Scan ``site`` into ``scan_dir`` (a fresh folder, its own small dataset): the pipeline on one domain with
    the scan's crawl defaults (``crawler.defaults.SCAN``), a warehouse of scan runs only, and the report; a
    browser scan loads the site before consent, after accept and reject, and with GPC, and keeps one HAR file
    per visit under ``scan_dir/evidence/har/``."""
    from crawler.runner import CrawlOptions
    from pipelines.scan.evidence import EVIDENCE_DIR, HAR_DIR

    scan_dir.mkdir(parents=True, exist_ok=False)
    extra = {"SR_BROWSER_EXECUTABLE": browser_executable} if browser_executable else {}
    browser = mode == "browser"
    if browser:
        extra["SR_BROWSER_HAR_DIR"] = str(scan_dir / EVIDENCE_DIR / HAR_DIR)
    domains = scan_dir / "domain.txt"
    domains.write_text(site + "\n", encoding="utf-8")
    options = CrawlOptions(
        out=scan_dir, max_pages=max_pages, concurrency=SCAN.concurrency, per_site_concurrency=SCAN.per_site_concurrency,
        timeout=timeout, ignore_robots=ignore_robots, user_agent=user_agent, allow_private=allow_private,
        nameservers=tuple(nameservers), autothrottle=SCAN.autothrottle, run_id=run_id, kind="scan", mode=mode,
        consent_states=("accept", "reject") if browser else (), signals=("gpc",) if browser else (),
        extra_settings=extra)
    return run_pipeline(domains, options, crawl=crawl, kinds=("scan",), scan_site=site, observer=observer)


def _scan_report(layout: Layout, run_id: str, site: str, catalog, result: PipelineResult,
                 options: CrawlOptions) -> tuple[dict, dict]:
    """The scan report's page data (with the provenance of its crawl, enrichment and build) and evidence pack."""
    from pipelines.scan.evidence import EVIDENCE_DIR, HAR_DIR, evidence_data
    from pipelines.scan.report import scan_data

    raw_manifest = layout.read_manifest(run_id)
    enr_manifest = json.loads((result.enriched.path / "manifest.json").read_text(encoding="utf-8"))
    ref = enr_manifest.get("reference_data") or {}
    prov = {
        "crawled_at": raw_manifest.get("started_at"),
        "enriched_at": enr_manifest.get("started_at"),
        "geoip": {k: f"{v.get('name')} ({v.get('build_date')})" for k, v in ref.items()
                  if k in ("geo_db", "asn_db") and isinstance(v, dict)},
        "catalog": result.build.catalog.get("digest"),
        "reference_data": raw_manifest.get("reference_data"),
        "mode": options.mode,
        "max_pages": options.max_pages,
    }
    har_dir = layout.out / EVIDENCE_DIR / HAR_DIR if options.mode == "browser" else None
    with _reading(layout) as con:
        data = scan_data(con, catalog, run_id=run_id, site_input=site, provenance=prov)
        return data, evidence_data(con, data, har_dir)


@contextmanager
def _reading(layout: Layout):
    from pipelines.warehouse.connect import connect

    con = connect(layout.warehouse, read_only=True)
    try:
        yield con
    finally:
        con.close()


def crawl_in_child(env: dict[str, str]) -> Crawl:
    """A crawl step that runs in a fresh process with ``env`` added to its environment (the Twisted reactor runs
    once per process: the demo crawls several times, each through its own local web)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from crawler.runner import run_crawl

    def crawl(plan: RunPlan, options: CrawlOptions) -> dict:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_set_environ,
                                 initargs=(env,)) as pool:
            return pool.submit(run_crawl, plan, options).result()

    return crawl


def _set_environ(env: dict[str, str]) -> None:
    os.environ.update(env)
