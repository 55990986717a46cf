"""One spider: a list of sites, each fetched from its home page plus up to N preferred same-site pages.

Thin glue over ``crawler.sitecrawl.SiteCrawl`` (the per-site state machine): this class turns its fetches into
Scrapy requests, Scrapy's responses and failures back into its answers, runs the pages it wants examined in the
observation pool (``crawler.observepool``, off the reactor thread), counts its events in stats, and emits one
``SiteBundle`` item (every table's rows) when a site is finished.
"""

from __future__ import annotations

import asyncio
import csv

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider

from common.tables import SiteBundle
from crawler import settings as base
from crawler.observepool import ObservePool
from crawler.outcomes import classify_exception
from crawler.sitecrawl import Answer, CrawlConfig, Fetch, SiteCrawl, Step


def answer_of(response) -> Answer:
    """A Scrapy response as the state machine's ``Answer``."""
    headers: dict[str, str] = {}
    rows: list[tuple[str, str]] = []
    for key, values in response.headers.items():
        if not values:
            continue
        name = key.decode("latin-1").lower()
        rows.extend((name, v.decode("latin-1")) for v in values)
        headers[name] = values[-1].decode("latin-1")
    return Answer(response.url, response.status, headers, rows, response.body,
                  response.meta.get("download_latency", 0.0))


class SitesSpider(scrapy.Spider):
    """Crawls the sites listed in ``SR_DOMAINS_PATH`` (``line_no,rank,domain`` CSV) for run ``SR_RUN_ID``.

    Settings: ``SR_MAX_PAGES``, ``SR_MAX_REDIRECTS``, ``SR_POLICY_TEXT_CHARS``, ``SR_HEADERS_OF_INTEREST``,
    ``SR_SITES_IN_FLIGHT``, ``SR_OBSERVE_WORKERS``, ``SR_PARSE_BUDGET`` and ``SR_PARSE_INLINE_BYTES`` (the
    observation pool)."""

    name = "sites"
    method = "static"

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        s = crawler.settings
        spider.run_id = s.get("SR_RUN_ID")
        spider.domains_path = s.get("SR_DOMAINS_PATH")
        spider.config = CrawlConfig(
            run_id=spider.run_id, method=cls.method, max_pages=max(1, s.getint("SR_MAX_PAGES", base.SR_MAX_PAGES)),
            max_redirects=s.getint("SR_MAX_REDIRECTS", base.SR_MAX_REDIRECTS),
            policy_text_chars=s.getint("SR_POLICY_TEXT_CHARS", base.SR_POLICY_TEXT_CHARS),
            headers_of_interest=tuple(h.lower() for h in s.getlist("SR_HEADERS_OF_INTEREST")),
            passes=cls.passes_of(s),
            consent_retries=s.getint("SR_BROWSER_CONSENT_RETRIES", base.SR_BROWSER_CONSENT_RETRIES))
        spider.sites: dict[str, SiteCrawl] = {}
        spider.outstanding: dict[str, int] = {}  # per open site: requests made whose callback has not returned
        spider.sites_in_flight = max(1, s.getint("SR_SITES_IN_FLIGHT", base.SR_SITES_IN_FLIGHT)
                                     or 4 * s.getint("CONCURRENT_REQUESTS", base.CONCURRENT_REQUESTS))
        spider.pool = ObservePool(s.getint("SR_OBSERVE_WORKERS", base.SR_OBSERVE_WORKERS),
                                  s.getfloat("SR_PARSE_BUDGET", base.SR_PARSE_BUDGET),
                                  inline_bytes=s.getint("SR_PARSE_INLINE_BYTES", base.SR_PARSE_INLINE_BYTES))
        spider._room = asyncio.Event()
        spider._flush_scheduled = False
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._on_dropped, signal=signals.request_dropped)
        crawler.signals.connect(spider._on_opened, signal=signals.spider_opened)
        crawler.signals.connect(spider._on_closed, signal=signals.spider_closed)
        return spider

    @classmethod
    def passes_of(cls, settings) -> tuple:
        """The extra passes of a home page (browser mode only)."""
        return ()

    def _on_opened(self, spider) -> None:
        self.pool.stats = self.crawler.stats

    def _on_closed(self, spider, reason) -> None:
        self.pool.close()

    # --- start ------------------------------------------------------------------------------------------
    async def start(self):
        """Start sites lazily: at most ``SR_SITES_IN_FLIGHT`` at a time, so the scheduler, the downloader's
        per-site slots and the per-site buffers stay small however long the list is."""
        with open(self.domains_path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row["domain"] in self.sites:
                    continue
                async for item in self._wait_for_room():
                    yield item
                yield self._open_site(row["domain"], int(row["rank"]) if row.get("rank") else None,
                                      int(row["line_no"]))

    async def _wait_for_room(self):
        """Wait until fewer than ``SR_SITES_IN_FLIGHT`` sites are open; yields the rows of sites found lost."""
        while len(self.sites) >= self.sites_in_flight:
            self._room.clear()
            try:
                await asyncio.wait_for(self._room.wait(), timeout=5.0)
            except asyncio.TimeoutError:
                for sc in [sc for d, sc in self.sites.items() if not self.outstanding.get(d)]:
                    for item in self._emit(sc, sc.give_up()):
                        yield item

    def _open_site(self, domain: str, rank: int | None, line_no: int) -> scrapy.Request:
        """Register a site as open and return the request for its first start URL."""
        sc = SiteCrawl(self.config, domain, rank, line_no)
        self.sites[domain] = sc
        return self._request(sc, sc.start())

    def _request(self, sc: SiteCrawl, fetch: Fetch) -> scrapy.Request:
        self.outstanding[sc.domain] = self.outstanding.get(sc.domain, 0) + 1
        return scrapy.Request(fetch.url, callback=self.on_response, errback=self.on_error, dont_filter=True,
                              meta={"sr_site": sc.domain, "sr_fetch": fetch, "dont_redirect": True,
                                    "handle_httpstatus_all": True})

    # --- the state machine's steps ------------------------------------------------------------------------
    def _emit(self, sc: SiteCrawl, step: Step) -> list:
        """Requests for the step's fetches, its counts in stats, and the site's item once it is finished."""
        stats = self.crawler.stats
        for key, n in step.counts.items():
            stats.inc_value(f"sr/{key}", n)
        out: list = [self._request(sc, f) for f in step.fetches]
        if step.bundle is not None:
            self.sites.pop(sc.domain, None)
            self.outstanding.pop(sc.domain, None)
            self._room.set()
            out.append(SiteBundle(step.bundle))
        return out

    async def _run(self, sc: SiteCrawl, fetch: Fetch, step: Step) -> list:
        """Emit ``step``; examine the page it hands over (in the pool) and emit what follows from that."""
        out = self._emit(sc, step)
        while step.job is not None:
            result = await self.pool.examine(step.job)
            if sc.finished:  # given up meanwhile (the safety net): nothing more to record
                break
            step = sc.on_examined(fetch, result)
            out += self._emit(sc, step)
        return out

    def _landed(self, domain: str) -> None:
        if domain in self.outstanding:
            self.outstanding[domain] -= 1

    # --- responses and failures -----------------------------------------------------------------------------
    async def on_response(self, response):
        meta = response.meta
        sc = self.sites.get(meta["sr_site"])
        try:
            if sc is None:
                return []
            return await self._run(sc, meta["sr_fetch"], self._answered(sc, meta["sr_fetch"], response))
        finally:
            self._landed(meta["sr_site"])

    def _answered(self, sc: SiteCrawl, fetch: Fetch, response) -> Step:
        return sc.on_answer(fetch, answer_of(response))

    def on_error(self, failure):
        meta = failure.request.meta
        sc = self.sites.get(meta["sr_site"])
        try:
            if sc is None:
                return []
            return self._emit(sc, self._failed(sc, meta["sr_fetch"], failure))
        finally:
            self._landed(meta["sr_site"])

    def _failed(self, sc: SiteCrawl, fetch: Fetch, failure) -> Step:
        return sc.on_failure(fetch, classify_exception(failure.value))

    # --- safety net ---------------------------------------------------------------------------------------
    def _on_dropped(self, request, spider=None) -> None:
        """A request the scheduler dropped gets no callback: no longer in flight (the site is then given up)."""
        if "sr_fetch" in request.meta:
            self._landed(request.meta["sr_site"])

    def _on_idle(self):
        """Nothing is in flight: sites still open lost their requests; emit each of them exactly once."""
        if self.sites and not self._flush_scheduled:
            self._flush_scheduled = True
            self.crawler.engine.crawl(scrapy.Request("data:,", callback=self._flush_lost, dont_filter=True))
            raise DontCloseSpider

    def _flush_lost(self, response):
        self._flush_scheduled = False
        out: list = []
        for sc in list(self.sites.values()):
            out += self._emit(sc, sc.give_up())
        return out
