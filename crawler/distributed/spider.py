"""The site spider as a worker of a distributed run: sites come from the run's Redis queue, not from a file.

scrapy-redis's ``RedisMixin`` pops queue entries (``next_requests``), turns each into a home request
(``make_request_from_data``) and, once the spider is idle, keeps polling and closes it after
``MAX_IDLE_TIME_BEFORE_CLOSE`` seconds without work. Only *sites* are shared: a site's pages stay in the worker
that popped it (so its ``SiteBundle`` is complete), which is why the page requests go through Scrapy's local
scheduler rather than scrapy-redis's shared one. A site is claimed in scrapy-redis's ``RFPDupeFilter`` (by its
home request's fingerprint) before it starts, so no two workers crawl it.
"""

from __future__ import annotations

import asyncio
import time

from scrapy_redis.spiders import RedisMixin

from crawler.distributed.queue import Keys, home_request, parse_entry, site_dupefilter
from crawler.spiders.sites import SitesSpider


class RedisSitesSpider(RedisMixin, SitesSpider):
    """Crawls the sites of run ``SR_RUN_ID`` popped from its Redis queue (settings ``REDIS_URL``,
    ``MAX_IDLE_TIME_BEFORE_CLOSE``); counts ``sr/redis/popped``, ``sr/redis/duplicate``, ``sr/redis/bad_entry``."""

    name = "sites_redis"

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.redis_key = Keys(spider.run_id).queue
        spider.redis_batch_size = spider.sites_in_flight
        spider.setup_redis(crawler)
        spider.dupefilter = site_dupefilter(spider.server, spider.run_id)
        spider.spider_idle_start_time = int(time.time())
        return spider

    async def start(self):
        """Pop sites while there is room; end once the queue is empty and no site is open (from then on the
        mixin's idle handler polls the queue and closes the spider after ``MAX_IDLE_TIME_BEFORE_CLOSE``)."""
        while True:
            async for item in self._wait_for_room():
                yield item
            self.redis_batch_size = self.sites_in_flight - len(self.sites)
            started = False
            for request in self.next_requests():
                started = True
                yield request
            if started or self.count_size(self.redis_key):
                continue
            if not self.sites:
                self.spider_idle_start_time = int(time.time())
                return
            self._room.clear()
            try:
                await asyncio.wait_for(self._room.wait(), timeout=1.0)
            except asyncio.TimeoutError:
                pass

    def make_request_from_data(self, data):
        """A queue entry → the site's first request, or nothing if the entry is malformed or already claimed."""
        stats = self.crawler.stats
        stats.inc_value("sr/redis/popped")
        try:
            domain, rank, line_no = parse_entry(data)
        except (ValueError, KeyError, TypeError):
            stats.inc_value("sr/redis/bad_entry")
            return None
        if domain in self.sites or self.dupefilter.request_seen(home_request(domain)):
            stats.inc_value("sr/redis/duplicate")
            return None
        self.spider_idle_start_time = int(time.time())
        return self._open_site(domain, rank, line_no)

    def spider_idle(self):
        if self.sites:  # sites still open: the base class's safety net flushes them; keep polling meanwhile
            self.spider_idle_start_time = int(time.time())
        super().spider_idle()
