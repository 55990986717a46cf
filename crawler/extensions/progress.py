"""Scrapy extension that shows the progress of finished sites: a live bar (``SR_PROGRESS = True``, on a terminal)
or plain lines for logs (``SR_PROGRESS = "lines"``, see ``crawler/progresslines.py``)."""

from __future__ import annotations

from scrapy import signals
from scrapy.exceptions import NotConfigured

from common.tables import SiteBundle
from crawler.progresslines import ProgressLines


class ProgressExtension:
    """Advances a rich progress bar per finished site, showing the outcome mix; ``SR_TOTAL_SITES`` sets the total."""

    def __init__(self, total: int):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]crawl"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[mix]}"),
            TimeElapsedColumn(), TimeRemainingColumn(), transient=False,
        )
        self.task = self.progress.add_task("crawl", total=total or None, mix="")
        self.outcomes: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler):
        mode = crawler.settings.get("SR_PROGRESS")
        if mode == "lines":
            ext = ProgressLinesExtension(crawler.settings.getint("SR_TOTAL_SITES"))
        elif mode in (True, "True", "true", "1", 1):
            ext = cls(crawler.settings.getint("SR_TOTAL_SITES"))
        else:
            raise NotConfigured("SR_PROGRESS is off")
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.scraped, signal=signals.item_scraped)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def opened(self, spider):
        self.progress.start()

    def scraped(self, item, response, spider):
        if isinstance(item, SiteBundle):
            rows = item.site_rows
            for row in rows:
                self.outcomes[row["outcome"]] = self.outcomes.get(row["outcome"], 0) + 1
            mix = " ".join(f"{k}:{v}" for k, v in sorted(self.outcomes.items(), key=lambda kv: -kv[1])[:4])
            self.progress.update(self.task, advance=len(rows), mix=mix)

    def closed(self, spider, reason):
        self.progress.stop()


class ProgressLinesExtension:
    """The same progress as lines on stderr: every N sites or per minute, done/total, rate, ETA, outcomes."""

    def __init__(self, total: int):
        self.lines = ProgressLines("crawl", total, "sites")

    def opened(self, spider):
        pass

    def scraped(self, item, response, spider):
        if isinstance(item, SiteBundle):
            for row in item.site_rows:
                self.lines.advance(1, row["outcome"])

    def closed(self, spider, reason):
        self.lines.close()
