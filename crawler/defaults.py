"""The crawl defaults, stated once: ``crawler.settings``, ``CrawlOptions``, the crawl flags of the command line
and the scan (as explicit overrides, ``SCAN``) all take their values from this table; and the flag of each
run-shaping option."""

from __future__ import annotations

from dataclasses import dataclass, replace

MODES = ("static", "browser")


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
    mode: str = MODES[0]  # static | browser


#: a dataset crawl (``crawl``, ``run``, ``seed``)
CRAWL = CrawlDefaults()
#: a scan of one site: more of its pages (privacy, imprint and contact pages first), few requests in flight and no
#: AutoThrottle (one site, a person waiting for the report)
SCAN = replace(CRAWL, max_pages=10, concurrency=4, autothrottle=False)

#: CrawlOptions fields that shape a run's data, and the flag that sets each: recorded when the run starts,
#: adopted (or, given with another value, refused) by a resume, shared by every worker of a distributed run
RUN_OPTION_FLAGS: dict[str, str] = {
    "max_pages": "--max-pages", "concurrency": "--concurrency", "per_site_concurrency": "--per-site-concurrency",
    "timeout": "--timeout", "ignore_robots": "--ignore-robots", "user_agent": "--user-agent",
    "allow_private": "--allow-private", "nameservers": "--nameserver", "autothrottle": "--no-autothrottle",
    "extra_settings": "--set", "mode": "--mode", "consent_states": "--consent", "signals": "--gpc", "panel": "--panel",
}
