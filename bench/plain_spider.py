"""Baseline for bench/crawl.py: a plain Scrapy spider that fetches a URL list and does nothing with it.

Run: python bench/plain_spider.py URLS.txt SETTINGS.json  (settings are the same ones servicerisk used)
"""

from __future__ import annotations

import json
import sys

import scrapy
from scrapy.crawler import CrawlerProcess


class PlainSpider(scrapy.Spider):
    name = "plain"

    def __init__(self, urls_path: str, **kw):
        super().__init__(**kw)
        self.urls_path = urls_path
        self.pages = 0

    async def start(self):
        with open(self.urls_path, encoding="utf-8") as fh:
            for line in fh:
                url = line.strip()
                if url:
                    yield scrapy.Request(url, callback=self.parse, errback=self.failed, dont_filter=True,
                                         meta={"handle_httpstatus_all": True, "dont_redirect": True})

    def parse(self, response):
        self.pages += 1
        self.crawler.stats.inc_value("plain/pages")

    def failed(self, failure):
        self.crawler.stats.inc_value("plain/failed")


def main() -> None:
    urls_path, settings_path, stats_path = sys.argv[1:4]
    settings = json.loads(open(settings_path, encoding="utf-8").read())
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(PlainSpider)
    process.crawl(crawler, urls_path=urls_path)
    process.start()
    stats = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, (int, float))}
    with open(stats_path, "w", encoding="utf-8") as fh:
        json.dump(stats, fh)


if __name__ == "__main__":
    main()
