"""Set up a crawl run folder from a domain list and run the spider in this process."""

from __future__ import annotations

import csv
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler import settings as default_settings
from crawler.domains import read_domain_list, write_rejected_csv
from crawler.hosts import psl_version
from crawler.items import TABLES, SiteBundle
from crawler.paths import DOMAINS, REJECTED, Layout, check_run_id, new_run_id, new_writer_id


@dataclass
class CrawlOptions:
    """What a user can set for one crawl (CLI flags map 1:1 onto these)."""

    out: Path
    max_pages: int = 5
    concurrency: int = 32
    per_site_concurrency: int = 2
    timeout: float = 20.0
    ignore_robots: bool = False
    user_agent: str | None = None
    allow_private: bool = False
    nameservers: tuple[str, ...] = ()
    autothrottle: bool = True
    progress: bool = False
    run_id: str | None = None
    writer_id: str | None = None
    kind: str = "crawl"
    extra_settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunPlan:
    run_id: str
    run_dir: Path
    domains_path: Path  # the accepted domains this process crawls (all of them, or what a resume has left)
    input_info: dict[str, Any]
    accepted: int
    rejected: int
    resumed_from: int = 0  # sites already committed when a resume started


def prepare_run(domains_path: str | os.PathLike, opts: CrawlOptions) -> RunPlan:
    """Read and validate the list, create ``OUT/raw/<run_id>/`` with ``domains.csv`` and ``rejected.csv``.

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
            "accepted": len(dl.domains), "rejected": len(dl.rejected)}
    (run_dir / INPUT_INFO).write_text(json.dumps(info), encoding="utf-8")
    return RunPlan(run_id, run_dir, run_dir / DOMAINS, info, len(dl.domains), len(dl.rejected))


INPUT_INFO = ".input.json"


class ResumeError(Exception):
    """The run cannot be resumed (unknown, or already sealed)."""


def resume_run(run_id: str, opts: CrawlOptions) -> RunPlan:
    """Prepare to finish an interrupted run: drop half-written batches, and crawl only the domains that no
    committed batch holds (into parts of a new writer). Raises ``ResumeError``."""
    from crawler.ledger import clean_incomplete, done_domains

    layout = Layout(Path(opts.out))
    run_dir = layout.run_dir(check_run_id(run_id))
    if not (run_dir / DOMAINS).is_file():
        raise ResumeError(f"no run {run_id} under {layout.raw}")
    if (run_dir / "manifest.json").is_file():
        raise ResumeError(f"run {run_id} is sealed (complete); nothing to resume")
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
    info = json.loads((run_dir / INPUT_INFO).read_text(encoding="utf-8"))
    return RunPlan(run_id, run_dir, remaining, info, kept, info.get("rejected", 0), resumed_from=len(done))


def reference_data_versions() -> dict[str, Any]:
    """Versions and dates of the reference data this checkout pins (recorded in every run's manifest)."""
    out: dict[str, Any] = {"public_suffix_list": psl_version()}
    lock = Path(__file__).resolve().parents[1] / "data" / "reference" / "refdata.lock.json"
    try:
        for p in json.loads(lock.read_text(encoding="utf-8")).get("packages", []):
            out[p["name"]] = {"version": p["version"], "data_date": p.get("data_date"), "sha256": p.get("sha256")}
    except (OSError, ValueError, KeyError):
        out["pinned_packages"] = "unavailable"
    return out


def crawl_settings(plan: RunPlan, opts: CrawlOptions) -> dict[str, Any]:
    """Scrapy settings for this run: module defaults, then the options, then ``extra_settings``."""
    s = default_settings.module_settings()
    writer = opts.writer_id or new_writer_id()
    batch = int(opts.extra_settings.get("SR_BATCH_SITES", default_settings.SR_BATCH_SITES))
    layout = Layout(Path(opts.out))
    recorded = {
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
        "proxy": bool(os.environ.get("https_proxy") or os.environ.get("HTTPS_PROXY")),
        **{k: v for k, v in opts.extra_settings.items()},
    }
    s.update(
        {
            "SR_RUN_ID": plan.run_id,
            "SR_RUN_DIR": str(plan.run_dir),
            "SR_RUN_KIND": opts.kind,
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
    s.update(opts.extra_settings)
    return s


def run_crawl(plan: RunPlan, opts: CrawlOptions) -> dict[str, Any]:
    """Run the spider to completion in this process (the Twisted reactor cannot restart: one call per process).
    Returns the final Scrapy stats."""
    from scrapy.crawler import CrawlerProcess

    from crawler.spiders.sites import SitesSpider

    process = CrawlerProcess(crawl_settings(plan, opts))
    crawler = process.create_crawler(SitesSpider)
    process.crawl(crawler)
    process.start()
    return crawler.stats.get_stats() if crawler.stats else {}
