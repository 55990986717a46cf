"""Scrapy extension that keeps a distributed worker's heartbeat in Redis and adds its counters on close."""

from __future__ import annotations

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from crawler import settings as base
from crawler.distributed.queue import Keys, add_stats, worker_info


class HeartbeatExtension:
    """Every ``SR_REDIS_HEARTBEAT_INTERVAL`` s sets ``servicerisk:<run>:hb:<writer>`` (sites open, sites done)
    with a TTL of ``SR_REDIS_HEARTBEAT_TTL`` s, so ``seal`` and ``seed --requeue-missing`` see which workers
    are alive; a killed worker's key simply expires. On ``engine_stopped`` (after the last part is stored) it
    adds the worker's integer stats to the run's sum and deletes the heartbeat. Needs ``SR_REDIS_URL``."""

    def __init__(self, crawler, server):
        s = crawler.settings
        self.crawler = crawler
        self.server = server
        self.writer = s.get("SR_WRITER_ID")
        self.keys = Keys(s.get("SR_RUN_ID"))
        self.interval = s.getfloat("SR_REDIS_HEARTBEAT_INTERVAL", base.SR_REDIS_HEARTBEAT_INTERVAL)
        self.ttl = max(1, s.getint("SR_REDIS_HEARTBEAT_TTL", base.SR_REDIS_HEARTBEAT_TTL))
        self.loop = task.LoopingCall(self.beat)
        self.spider = None

    @classmethod
    def from_crawler(cls, crawler):
        url = crawler.settings.get("SR_REDIS_URL")
        if not url:
            raise NotConfigured("SR_REDIS_URL is not set")
        from crawler.distributed.queue import connect

        ext = cls(crawler, connect(url))
        ext.beat()  # alive from the start, before the first site is popped
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def opened(self, spider):
        self.spider = spider
        self.loop.start(self.interval, now=True)

    def beat(self):
        open_sites = len(getattr(self.spider, "sites", ()) or ())
        done = self.crawler.stats.get_value("item_scraped_count", 0) if self.crawler.stats else 0
        self.server.set(self.keys.heartbeat(self.writer), worker_info(self.writer, open_sites, done), ex=self.ttl)

    def engine_stopped(self):
        if self.loop.running:
            self.loop.stop()
        stats = {k: v for k, v in self.crawler.stats.get_stats().items() if not k.startswith("memusage/")}
        add_stats(self.server, self.keys.run_id, stats)
        self.server.delete(self.keys.heartbeat(self.writer))
