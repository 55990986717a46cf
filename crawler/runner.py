"""Set up a crawl run folder from a domain list and run the spider in this process."""

from __future__ import annotations

import csv
import json
import os
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.hosts import psl_version
from common.manifest import settings_digest
from common.paths import data_path
from common.runfolder import DOMAINS, REJECTED, Layout, check_run_id, new_run_id, new_writer_id
from common.tables import TABLES, SiteBundle
from crawler import defaults
from crawler import settings as default_settings
from crawler.defaults import MODES, RUN_OPTION_FLAGS
from crawler.domains import read_domain_list, write_rejected_csv


@dataclass
class CrawlOptions:
    """What a user can set for one crawl (CLI flags map 1:1 onto these; defaults from ``crawler.defaults``)."""

    out: Path
    max_pages: int = defaults.CRAWL.max_pages
    concurrency: int = defaults.CRAWL.concurrency
    per_site_concurrency: int = defaults.CRAWL.per_site_concurrency
    timeout: float = defaults.CRAWL.timeout
    ignore_robots: bool = defaults.CRAWL.ignore_robots
    user_agent: str | None = None
    allow_private: bool = defaults.CRAWL.allow_private
    nameservers: tuple[str, ...] = ()
    autothrottle: bool = defaults.CRAWL.autothrottle
    progress: bool | str = False  # True: a bar, "lines": progress lines on stderr, False: none
    run_id: str | None = None
    writer_id: str | None = None
    kind: str = "crawl"
    mode: str = defaults.CRAWL.mode  # static | browser (headless Chromium)
    consent_states: tuple[str, ...] = ()  # browser mode: extra passes besides pre-consent (accept, reject)
    signals: tuple[str, ...] = ()  # browser mode: extra signal passes (gpc)
    panel: str | None = None  # runs compared with each other (trends); default: those of the same input list
    extra_settings: dict[str, Any] = field(default_factory=dict)


#: the run-shaping CrawlOptions fields (their flags: ``crawler.defaults.RUN_OPTION_FLAGS``)
RUN_OPTIONS: tuple[str, ...] = tuple(RUN_OPTION_FLAGS)
_TUPLES = ("nameservers", "consent_states", "signals")


def run_options(opts: CrawlOptions) -> dict[str, Any]:
    """The run-shaping fields of ``opts`` as JSON values (tuples as lists)."""
    return {k: list(v) if k in _TUPLES else (dict(v) if isinstance(v, dict) else v)
            for k in RUN_OPTIONS for v in [getattr(opts, k)]}


def adopt_options(opts: CrawlOptions, recorded: dict[str, Any]) -> None:
    """Set the run-shaping fields of ``opts`` to ``recorded`` (``run_options`` of the run's start)."""
    for k, v in recorded.items():
        if k in RUN_OPTIONS:
            setattr(opts, k, tuple(v) if k in _TUPLES else v)


@dataclass
class RunPlan:
    run_id: str
    run_dir: Path
    domains_path: Path  # the accepted domains this process crawls (all of them, or what a resume has left)
    input_info: dict[str, Any]
    accepted: int
    rejected: int
    resumed_from: int = 0  # sites already committed when a resume started
    started_at: str = ""  # when the run began (a resume keeps it)


def prepare_run(domains_path: str | os.PathLike, opts: CrawlOptions, *, distributed: bool = False) -> RunPlan:
    """Read and validate the list, create ``OUT/raw/<run_id>/`` with ``domains.csv`` and ``rejected.csv``.
    ``distributed``: the run is seeded for workers elsewhere (whose proxy settings this process does not know).

    Raises ``DomainListError`` (one-line message) for an empty, unreadable or wholly invalid list.
    """
    dl = read_domain_list(domains_path)
    layout = Layout(Path(opts.out))
    run_id = check_run_id(opts.run_id) if opts.run_id else new_run_id()
    run_dir = layout.run_dir(run_id)
    run_dir.mkdir(parents=True, exist_ok=False)
    write_rejected_csv(dl.rejected, run_dir / REJECTED)
    tmp = run_dir / f".{DOMAINS}.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["line_no", "rank", "domain"])
        for d in dl.domains:
            w.writerow([d.line_no, "" if d.rank is None else d.rank, d.domain])
    os.replace(tmp, run_dir / DOMAINS)
    info = {"path": str(dl.path), "sha256": dl.sha256, "format": dl.format, "lines": dl.lines,
            "accepted": len(dl.domains), "rejected": len(dl.rejected), "tables": list(TABLES)}
    started = _now_iso()
    # what a resume must crawl the same way (resume_run adopts it); kept apart from the manifest's "input"
    run = {"started_at": started, "options": run_options(opts), "proxy": None if distributed else bool(_proxy()),
           "settings_digest": settings_digest(recorded_settings(opts))}
    (run_dir / INPUT_INFO).write_text(json.dumps({**info, "run": run}), encoding="utf-8")
    return RunPlan(run_id, run_dir, run_dir / DOMAINS, info, len(dl.domains), len(dl.rejected), started_at=started)


def _now_iso() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")


INPUT_INFO = ".input.json"


class ResumeError(Exception):
    """The run cannot be resumed (unknown, already sealed, or asked to change its settings)."""


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "none"
    return "default" if value is None else str(value)


def resume_conflicts(recorded: dict[str, Any], opts: CrawlOptions, given: set[str], proxy_then: bool | None,
                     proxy_now: bool) -> list[str]:
    """What a resume would change about a run: each option in ``given`` (set on the command line) whose value
    differs from the run's ``recorded`` one, and a proxy that was used and is not (or the other way round)."""
    current = run_options(opts)
    out = [f"{RUN_OPTION_FLAGS[k]} {_shown(current[k])} (the run has {_shown(recorded[k])})"
           for k in RUN_OPTIONS if k in given and k in recorded and current[k] != recorded[k]]
    if proxy_then is not None and proxy_then != proxy_now:
        out.append("https_proxy " + ("unset (the run went through a proxy)" if proxy_then
                                     else "set (the run went through none)"))
    return out


def resume_run(run_id: str, opts: CrawlOptions, given: Collection[str] = ()) -> RunPlan:
    """Prepare to finish an interrupted run: drop half-written batches, and crawl only the domains that no
    committed batch holds (into parts of a new writer), exactly as the run began: every run-shaping option of
    its start is set on ``opts``, and ``started_at`` is kept. Raises ``ResumeError`` when an option in ``given``
    (set on the command line) or the use of a proxy differs from the run's, listing the differences."""
    from crawler.ledger import clean_incomplete, done_domains

    layout = Layout(Path(opts.out))
    run_dir = layout.run_dir(check_run_id(run_id))
    if not (run_dir / DOMAINS).is_file():
        raise ResumeError(f"no run {run_id} under {layout.raw}")
    if (run_dir / "manifest.json").is_file():
        raise ResumeError(f"run {run_id} is sealed (complete); nothing to resume")
    info = json.loads((run_dir / INPUT_INFO).read_text(encoding="utf-8"))
    run = info.pop("run", None) or {}
    recorded = run.get("options") or {}
    legacy = info.pop("crawl", None)  # runs begun before every option was recorded: their mode and passes
    if legacy and not recorded:
        recorded = {"mode": legacy.get("mode", "static"), "consent_states": legacy.get("consent_states", []),
                    "signals": legacy.get("signals", [])}
    conflicts = resume_conflicts(recorded, opts, set(given), run.get("proxy"), bool(_proxy()))
    if conflicts:
        raise ResumeError(f"run {run_id} began with other settings: {'; '.join(conflicts)}. Resume it without "
                          "these flags (it keeps its own settings) or start a new run")
    adopt_options(opts, recorded)
    clean_incomplete(run_dir)
    done = done_domains(run_dir)
    remaining = run_dir / f".remaining-{secrets.token_hex(3)}.csv"
    kept = 0
    with open(run_dir / DOMAINS, newline="", encoding="utf-8") as src, \
            open(remaining, "w", newline="", encoding="utf-8") as dst:
        reader = csv.DictReader(src)
        w = csv.DictWriter(dst, fieldnames=reader.fieldnames)
        w.writeheader()
        for row in reader:
            if row["domain"] not in done:
                w.writerow(row)
                kept += 1
    return RunPlan(run_id, run_dir, remaining, info, kept, info.get("rejected", 0), resumed_from=len(done),
                   started_at=run.get("started_at", ""))


def reference_data_versions() -> dict[str, Any]:
    """Versions and dates of the reference data this checkout pins (recorded in every run's manifest)."""
    out: dict[str, Any] = {"public_suffix_list": psl_version()}
    lock = data_path("reference", "refdata.lock.json")
    try:
        for p in json.loads(lock.read_text(encoding="utf-8")).get("packages", []):
            out[p["name"]] = {"version": p["version"], "data_date": p.get("data_date"), "sha256": p.get("sha256")}
    except (OSError, ValueError, KeyError):
        out["pinned_packages"] = "unavailable"
    return out


def recorded_settings(opts: CrawlOptions) -> dict[str, Any]:
    """The settings that shape a run's data, as recorded (and digested) in its manifest."""
    return {
        "max_pages": opts.max_pages,
        "concurrency": opts.concurrency,
        "per_site_concurrency": opts.per_site_concurrency,
        "timeout": opts.timeout,
        "robots": not opts.ignore_robots,
        "allow_private": opts.allow_private,
        "nameservers": list(opts.nameservers),
        "autothrottle": opts.autothrottle,
        "user_agent": opts.user_agent or default_settings.USER_AGENT,
        "max_body_bytes": default_settings.DOWNLOAD_MAXSIZE,
        "retries": default_settings.RETRY_TIMES,
        "proxy": bool(_proxy()),
        "mode": opts.mode,
        "consent_states": ["none", *opts.consent_states],
        "signals": ["none", *opts.signals],
        **{k: v for k, v in opts.extra_settings.items()},
    }


def crawl_settings(plan: RunPlan, opts: CrawlOptions) -> dict[str, Any]:
    """Scrapy settings for this run: module defaults, then the options, then ``extra_settings``."""
    s = default_settings.module_settings()
    writer = opts.writer_id or new_writer_id()
    batch = int(opts.extra_settings.get("SR_BATCH_SITES", default_settings.SR_BATCH_SITES))
    layout = Layout(Path(opts.out))
    recorded = recorded_settings(opts)
    s.update(
        {
            "SR_RUN_ID": plan.run_id,
            "SR_RUN_DIR": str(plan.run_dir),
            "SR_RUN_KIND": opts.kind,
            "SR_STARTED_AT": plan.started_at,
            "SR_PANEL": opts.panel or "",
            "SR_DOMAINS_PATH": str(plan.domains_path),
            "SR_TOTAL_SITES": plan.accepted,
            "SR_WRITER_ID": writer,
            "SR_MAX_PAGES": opts.max_pages,
            "SR_ALLOW_PRIVATE": opts.allow_private,
            "SR_NAMESERVERS": list(opts.nameservers),
            "SR_PROGRESS": opts.progress,
            "CONCURRENT_REQUESTS": opts.concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": opts.per_site_concurrency,
            "DOWNLOAD_TIMEOUT": opts.timeout,
            "ROBOTSTXT_OBEY": not opts.ignore_robots,
            "AUTOTHROTTLE_ENABLED": opts.autothrottle,
            "SR_RECORDED_SETTINGS": recorded,
            "SR_INPUT": plan.input_info,
            "SR_REFERENCE_DATA": reference_data_versions(),
            "LOG_FILE": str(plan.run_dir / "crawl.log"),
            "LOG_LEVEL": "INFO",
            "FEEDS": {
                layout.part_uri_template(plan.run_id, table, writer): {
                    "format": "parquet",
                    "item_classes": [SiteBundle],
                    "item_export_kwargs": {"table": table},
                    "batch_item_count": batch,
                    "store_empty": True,
                }
                for table in TABLES
            },
        }
    )
    if opts.user_agent:
        s["USER_AGENT"] = opts.user_agent
    if opts.mode not in MODES:
        raise ValueError(f"unknown mode {opts.mode!r}; expected one of {', '.join(MODES)}")
    s["SR_MODE"] = opts.mode
    if opts.mode == "browser":
        s.update({"DOWNLOAD_HANDLERS": default_settings.BROWSER_DOWNLOAD_HANDLERS,
                  "SR_BROWSER_PROXY": _proxy(), "SR_CONSENT_STATES": list(opts.consent_states),
                  "SR_SIGNALS": list(opts.signals)})
    s.update(opts.extra_settings)
    return s


def _proxy() -> str:
    """The forward proxy the environment names (static mode: Scrapy reads it itself; browser: ``--proxy-server``)."""
    return os.environ.get("https_proxy") or os.environ.get("HTTPS_PROXY") or os.environ.get("http_proxy") or ""


def run_crawl(plan: RunPlan, opts: CrawlOptions, redis_url: str | None = None) -> dict[str, Any]:
    """Run the spider to completion in this process (the Twisted reactor cannot restart: one call per process).
    With ``redis_url`` this process is a worker of a distributed run (see ``join_run``): it pops sites from the
    run's Redis queue, leaves sealing to ``seal_run`` and logs to ``crawl-<writer>.log``. Returns the final
    Scrapy stats."""
    from scrapy.crawler import CrawlerProcess

    settings = crawl_settings(plan, opts)
    if redis_url:
        from crawler.distributed.spider import RedisSitesSpider as spider_cls

        settings.update({"SR_REDIS_URL": redis_url, "REDIS_URL": redis_url, "SR_SEAL": False,
                         "LOG_FILE": str(plan.run_dir / f"crawl-{settings['SR_WRITER_ID']}.log")})
    elif opts.mode == "browser":
        from crawler.browser.spider import BrowserSitesSpider as spider_cls
    else:
        from crawler.spiders.sites import SitesSpider as spider_cls

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider_cls)
    process.crawl(crawler)
    process.start()
    return crawler.stats.get_stats() if crawler.stats else {}


# --- distributed runs (Redis) ------------------------------------------------------------------------------
def seed_run(domains_path: str | os.PathLike, opts: CrawlOptions, redis_url: str) -> tuple[RunPlan, int]:
    """Create a distributed run: the run folder (as ``prepare_run``), its record in Redis (options, input,
    reference data) and the queue of its accepted domains. Returns the plan and how many were enqueued.
    Raises ``DistributedError``, ``DomainListError``."""
    from crawler.distributed.queue import connect, create_run, options_record

    client = connect(redis_url)
    plan = prepare_run(domains_path, opts, distributed=True)
    n = create_run(client, plan.run_id, plan.run_dir, options_record(opts), recorded_settings(opts),
                   plan.input_info, reference_data_versions(), plan.started_at)
    return plan, n


def _options_from_record(record, out: Path, **worker) -> CrawlOptions:
    opts = CrawlOptions(out=out, run_id=record.run_id, **worker)
    adopt_options(opts, record.options)
    return opts


def join_run(redis_url: str, out: Path, run_id: str | None = None, *, progress: bool | str = False,
             extra_settings: dict[str, Any] | None = None) -> tuple[RunPlan, CrawlOptions]:
    """Set up this process as a worker of a seeded run (default: the newest): the run's options from Redis,
    a new writer id, ``extra_settings`` on top for this worker only. Raises ``DistributedError``."""
    from crawler.distributed.queue import connect, join, load_run, run_dir_for

    client = connect(redis_url)
    record = load_run(client, run_id)
    run_dir = run_dir_for(Path(out), record.run_id)
    opts = _options_from_record(record, Path(out), progress=progress, writer_id=join(client, record.run_id))
    opts.extra_settings = {**opts.extra_settings, **(extra_settings or {})}
    plan = RunPlan(record.run_id, run_dir, run_dir / DOMAINS, record.input_info, 0,
                   record.input_info.get("rejected", 0))
    return plan, opts


def requeue_run(redis_url: str, out: Path, run_id: str | None = None) -> tuple[str, int]:
    """Re-enqueue the domains of a run that have no committed row (after a worker died). Returns the run id and
    how many. Raises ``DistributedError``."""
    from crawler.distributed.queue import connect, load_run, requeue_missing, run_dir_for

    client = connect(redis_url)
    record = load_run(client, run_id)
    return record.run_id, requeue_missing(client, record.run_id, run_dir_for(Path(out), record.run_id))


def seal_run(redis_url: str, out: Path, run_id: str | None = None, wait: float = 0.0) -> Path:
    """Write the manifest of a distributed run once its queue is drained, no worker is alive and every accepted
    domain is committed exactly once; polls up to ``wait`` seconds for that. Returns the run folder.
    Raises ``DistributedError``."""
    import time

    from common.manifest import build_manifest, write_manifest
    from crawler.distributed.queue import (
        SEALING,
        DistributedError,
        Keys,
        check_complete,
        check_quiet,
        connect,
        load_run,
        run_dir_for,
        summed_stats,
    )
    from crawler.ledger import writers

    client = connect(redis_url)
    record = load_run(client, run_id)
    run_dir = run_dir_for(Path(out), record.run_id)
    meta = Keys(record.run_id).meta
    deadline = time.monotonic() + wait
    while True:
        client.hset(meta, SEALING, 1)  # before looking for workers: a worker joining now sees it (``join``)
        try:
            check_quiet(client, record.run_id, "seal")
            break
        except DistributedError:
            client.hdel(meta, SEALING)
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)
    try:
        check_complete(run_dir)  # waiting cannot fix a missing or duplicate site: no worker is left
    except DistributedError:
        client.hdel(meta, SEALING)
        raise
    manifest = build_manifest(
        run_id=record.run_id, kind="crawl", started_at=record.started_at, run_dir=run_dir,
        settings=record.recorded, stats=summed_stats(client, record.run_id),
        input_info=record.input_info, reference_data=record.reference_data, writers=writers(run_dir),
        close_reason="finished", panel=record.options.get("panel"),
    )
    write_manifest(run_dir, manifest)
    client.hset(meta, "sealed_at", manifest["ended_at"])
    return run_dir
