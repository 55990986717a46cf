"""The only settings file: Scrapy defaults for polite crawling, SR_* settings, component order in one place (the
run-shaping values come from ``crawler.defaults``)."""

from __future__ import annotations

from typing import Any

from crawler import __version__, defaults

BOT_NAME = "servicerisk"
SPIDER_MODULES = ["crawler.spiders", "crawler.browser.spider", "crawler.distributed.spider"]

# --- servicerisk settings (SR_*) -------------------------------------------------------------------------
SR_MAX_PAGES = defaults.CRAWL.max_pages  # pages per site, home page included
SR_MAX_REDIRECTS = 10
SR_ALLOW_PRIVATE = defaults.CRAWL.allow_private
SR_NAMESERVERS: list[str] = []  # IP[:PORT]; empty = the system's resolvers
SR_DNS_TIMEOUT = 2.0  # seconds per attempt of the run's own lookups (two rounds over the nameservers)
SR_SITES_IN_FLIGHT = 0  # sites started but not finished; 0 = 4 x CONCURRENT_REQUESTS
SR_POLICY_TEXT_CHARS = 300_000  # readable text kept per privacy/cookie policy page (policy_texts); 0 = none
SR_OBSERVE_WORKERS = 2  # processes examining pages off the reactor thread; 0 = in the reactor thread, no budget
SR_PARSE_BUDGET = 4.0  # seconds a page's examination may take before its worker is killed (parse_budget_exceeded)
SR_PARSE_INLINE_BYTES = 256 * 1024  # pages up to this size are examined in the reactor thread (bounded: ~0.2 s)
SR_BATCH_SITES = 100  # sites per Parquet part (every table's part n covers the same sites)
SR_CONTACT_URL = "https://github.com/servicerisk/servicerisk#crawler"
SR_HEADERS_OF_INTEREST = [
    "set-cookie",
    "content-security-policy",
    "content-security-policy-report-only",
    "server",
    "x-powered-by",
    "strict-transport-security",
    "permissions-policy",
    "referrer-policy",
]
SR_PROGRESS = False  # True: a live bar (a terminal); "lines": plain progress lines on stderr (logs); False: none
# distributed runs (crawl --redis): a worker's heartbeat, and how long an idle worker waits for more sites
SR_REDIS_URL = ""  # empty: a single-process crawl
SR_REDIS_HEARTBEAT_INTERVAL = 5.0
SR_REDIS_HEARTBEAT_TTL = 30
MAX_IDLE_TIME_BEFORE_CLOSE = 10  # scrapy-redis: seconds a worker stays idle on an empty queue before it exits

# --- browser mode (SR_MODE = "browser"): crawler.handlers.BrowserDownloadHandler -------------------------
SR_MODE = defaults.CRAWL.mode  # static | browser
SR_CONSENT_STATES: list[str] = []  # extra consent passes in browser mode: accept, reject (pre-consent always)
SR_SIGNALS: list[str] = []  # extra signal passes in browser mode: gpc (Sec-GPC + DNT + navigator.globalPrivacyControl)
SR_BROWSER_EXECUTABLE = "/usr/bin/chromium"
SR_BROWSER_PROXY = ""  # http://HOST:PORT; the runner fills it from https_proxy
SR_BROWSER_CONTEXTS = 4  # pages loading at once per crawl process
SR_BROWSER_PAGE_BUDGET = 30.0  # seconds per visit, consent steps included (page_budget_exceeded past it)
SR_BROWSER_LOAD_TIMEOUT = 15.0
SR_BROWSER_IDLE_TIMEOUT = 4.0
SR_BROWSER_CONSENT_WAIT = 6.0
SR_BROWSER_CONSENT_RETRIES = 2  # tries more of a consent pass that found no banner the pre-consent load had seen
SR_BROWSER_MAX_POPUPS = 10
SR_BROWSER_AUTOCONSENT = True
SR_BROWSER_HAR_DIR = ""  # a folder: one HAR file per visit (cookie values stripped); "" = no HAR (scans set it)
SR_BROWSER_TAG = ""  # marks this crawl's Chromium processes on their command line; random when empty
BROWSER_DOWNLOAD_HANDLERS = {
    "http": "crawler.handlers.BrowserDownloadHandler",
    "https": "crawler.handlers.BrowserDownloadHandler",
}

# --- polite defaults ----------------------------------------------------------------------------------
USER_AGENT = f"Mozilla/5.0 (compatible; servicerisk/{__version__}; +{SR_CONTACT_URL})"
ROBOTSTXT_OBEY = not defaults.CRAWL.ignore_robots
CONCURRENT_REQUESTS = defaults.CRAWL.concurrency
CONCURRENT_REQUESTS_PER_DOMAIN = defaults.CRAWL.per_site_concurrency
DOWNLOAD_DELAY = 0
AUTOTHROTTLE_ENABLED = defaults.CRAWL.autothrottle
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 10.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_TIMEOUT = defaults.CRAWL.timeout
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
RETRY_ENABLED = True
RETRY_TIMES = 1
COOKIES_ENABLED = False  # every page is observed as a first visit; Set-Cookie is recorded, not replayed
REDIRECT_ENABLED = False  # the spider follows redirects itself to record chains and apply the guard
METAREFRESH_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "WARNING"
DNSCACHE_ENABLED = True
# the crawl's connections resolve with the run's resolver (the addresses the guard checked); Scrapy 2.16 renamed
# the setting from DNS_RESOLVER to TWISTED_DNS_RESOLVER
try:
    from scrapy.settings.default_settings import TWISTED_DNS_RESOLVER as _renamed  # noqa: F401
except ImportError:
    DNS_RESOLVER = "crawler.dnsresolver.RunResolver"
else:
    TWISTED_DNS_RESOLVER = "crawler.dnsresolver.RunResolver"
# Scrapy starts CONCURRENT_ITEMS asyncio workers for every callback's output; our callbacks yield a handful
# of row batches and there are no item pipelines, so a small number avoids ~100 idle tasks per response.
CONCURRENT_ITEMS = 4
REACTOR_THREADPOOL_MAXSIZE = 10
SCHEDULER_PRIORITY_QUEUE = "scrapy.pqueues.DownloaderAwarePriorityQueue"
FEED_EXPORT_BATCH_ITEM_COUNT = SR_BATCH_SITES
FEED_STORE_EMPTY = True
FEED_STORAGES = {"file": "crawler.feeds.AtomicFileFeedStorage", "": "crawler.feeds.AtomicFileFeedStorage"}
FEED_EXPORTERS = {"parquet": "crawler.feeds.ParquetItemExporter"}

SR_IDLE_CONNECTION_TIMEOUT = 10.0
DOWNLOAD_HANDLERS = {
    "http": "crawler.handlers.SiteCrawlDownloadHandler",
    "https": "crawler.handlers.SiteCrawlDownloadHandler",
}

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.PrivateGuardMiddleware": 50,
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
}
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.referer.RefererMiddleware": None,
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
}
EXTENSIONS = {
    "crawler.extensions.manifest.ManifestExtension": 500,
    "crawler.extensions.progress.ProgressExtension": 510,
    "crawler.extensions.heartbeat.HeartbeatExtension": 520,
}


def module_settings() -> dict[str, Any]:
    """Every upper-case name of this module, for ``Settings.setdict``."""
    return {k: v for k, v in globals().items() if k.isupper()}
