"""Scrapy extension that seals a finished run by writing its manifest after every feed is stored."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.ledger import writers
from crawler.manifest import build_manifest, write_manifest

logger = logging.getLogger(__name__)


class ManifestExtension:
    """On ``engine_stopped`` (after feeds are stored) writes ``manifest.json`` if the spider finished.

    An interrupted crawl (close reason other than ``finished``) stays unsealed so it can be resumed.
    Settings: ``SR_RUN_DIR``, ``SR_RUN_ID``, ``SR_RUN_KIND``, ``SR_STARTED_AT``, ``SR_INPUT``, ``SR_REFERENCE_DATA``,
    ``SR_WRITER_ID``, ``SR_PANEL``, ``SR_SEAL`` (default True; distributed workers leave sealing to ``seal``).
    """

    def __init__(self, crawler):
        self.crawler = crawler
        s = crawler.settings
        self.run_dir = Path(s.get("SR_RUN_DIR"))
        # when the run began: kept across resumes (SR_STARTED_AT), else when this process started
        self.started_at = s.get("SR_STARTED_AT") or datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.reason = None

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.get("SR_RUN_DIR"):
            raise NotConfigured("SR_RUN_DIR is not set")
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def spider_closed(self, spider, reason):
        self.reason = reason

    def engine_stopped(self):
        s = self.crawler.settings
        if self.reason != "finished" or not s.getbool("SR_SEAL", True):
            logger.warning("run %s not sealed (close reason: %s)", s.get("SR_RUN_ID"), self.reason)
            return
        stats = self.crawler.stats.get_stats()
        manifest = build_manifest(
            run_id=s.get("SR_RUN_ID"),
            kind=s.get("SR_RUN_KIND", "crawl"),
            started_at=self.started_at,
            run_dir=self.run_dir,
            settings=s.getdict("SR_RECORDED_SETTINGS"),
            stats=stats,
            input_info=s.getdict("SR_INPUT"),
            reference_data=s.getdict("SR_REFERENCE_DATA"),
            writers=sorted(set(writers(self.run_dir)) | {s.get("SR_WRITER_ID")}),
            close_reason=self.reason,
            panel=s.get("SR_PANEL") or None,
        )
        write_manifest(self.run_dir, manifest)
