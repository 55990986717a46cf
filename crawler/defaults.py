"""The crawl defaults, stated once: ``crawler.settings``, ``CrawlOptions``, the crawl flags of the command line
and the scan (as explicit overrides, ``SCAN``) all take their values from this table."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class CrawlDefaults:
    """What one crawl does unless told otherwise (the run-shaping ``CrawlOptions`` fields)."""

    max_pages: int = 5  # pages per site, home page included
    concurrency: int = 32  # requests in flight overall
    per_site_concurrency: int = 2  # requests in flight per site
    timeout: float = 20.0  # download timeout per request, seconds
    ignore_robots: bool = False
    allow_private: bool = False  # destinations on loopback/private/link-local addresses are refused
    autothrottle: bool = True
    mode: str = "static"  # static | browser


#: a dataset crawl (``crawl``, ``run``, ``seed``)
CRAWL = CrawlDefaults()
#: a scan of one site: more of its pages (privacy, imprint and contact pages first), few requests in flight and no
#: AutoThrottle (one site, a person waiting for the report)
SCAN = replace(CRAWL, max_pages=10, concurrency=4, autothrottle=False)
