"""HTTP(S) download handler that does not keep idle connections of finished sites for minutes."""

from __future__ import annotations

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler


class SiteCrawlDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler with idle keep-alive connections closed after ``SR_IDLE_CONNECTION_TIMEOUT``
    seconds (Twisted's default is 240 s).

    A site crawl never returns to a site it finished, so each finished site's TLS tunnel would otherwise
    sit in the pool with its buffers: memory grew by ~100 KB per site crawled in the last four minutes.
    """

    def __init__(self, crawler):
        super().__init__(crawler)
        self._pool.cachedConnectionTimeout = crawler.settings.getfloat("SR_IDLE_CONNECTION_TIMEOUT", 10.0)


class BrowserDownloadHandler:
    """Loads http(s) pages in headless Chromium (``crawler.browser.BrowserPool``) instead of downloading them.

    The request's ``sr_pass`` meta (a ``Pass``: consent state and signal) says how; the response carries the
    document Chromium received (status, headers, raw body) and ``request.meta["sr_visit"]`` the whole visit
    (every request, cookies, storage, CMP). A failed visit raises ``VisitFailed`` whose ``sr_outcome`` the
    spider records. Settings: ``SR_BROWSER_EXECUTABLE``, ``SR_BROWSER_PROXY``, ``SR_BROWSER_CONTEXTS``,
    ``SR_BROWSER_PAGE_BUDGET``, ``SR_BROWSER_NAV_TIMEOUT``, ``SR_BROWSER_LOAD_TIMEOUT``, ``SR_BROWSER_IDLE_TIMEOUT``,
    ``SR_BROWSER_CONSENT_WAIT``, ``SR_BROWSER_MAX_POPUPS``, ``SR_BROWSER_AUTOCONSENT``, ``SR_BROWSER_TAG``,
    ``SR_BROWSER_HAR_DIR`` (one HAR file per visit, cookie values stripped; the scan's evidence pack).
    Stats: ``sr/browser/*``.
    """

    lazy = True

    def __init__(self, crawler):
        from crawler.browser import BrowserConfig, BrowserPool
        from crawler.consent import load_bundle

        s = crawler.settings
        config = BrowserConfig(
            executable=s.get("SR_BROWSER_EXECUTABLE"),
            proxy=s.get("SR_BROWSER_PROXY") or None,
            contexts=s.getint("SR_BROWSER_CONTEXTS"),
            page_budget=s.getfloat("SR_BROWSER_PAGE_BUDGET"),
            nav_timeout=min(s.getfloat("DOWNLOAD_TIMEOUT"), s.getfloat("SR_BROWSER_PAGE_BUDGET")),
            load_timeout=s.getfloat("SR_BROWSER_LOAD_TIMEOUT"),
            idle_timeout=s.getfloat("SR_BROWSER_IDLE_TIMEOUT"),
            consent_wait=s.getfloat("SR_BROWSER_CONSENT_WAIT"),
            max_popups=s.getint("SR_BROWSER_MAX_POPUPS"),
            user_agent=s.get("USER_AGENT"),
            tag=s.get("SR_BROWSER_TAG", ""),
            har_dir=s.get("SR_BROWSER_HAR_DIR", ""),
        )
        bundle = load_bundle() if s.getbool("SR_BROWSER_AUTOCONSENT", True) else None
        crawler.stats.set_value("sr/browser/autoconsent", 1 if bundle else 0)
        self.pool = BrowserPool(config, bundle, crawler.stats)
        self.http = SiteCrawlDownloadHandler(crawler)  # robots.txt and anything that is not a site's page

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def download_request(self, request):
        from scrapy.http import HtmlResponse

        from crawler.browser import Pass

        if "sr_site" not in request.meta:
            return await self.http.download_request(request)
        visit = await self.pool.visit(request.url, request.meta.get("sr_pass") or Pass())
        request.meta["sr_visit"] = visit
        headers = {k: v for k, v in visit.headers.items() if k not in ("content-encoding", "content-length",
                                                                     "transfer-encoding")}
        return HtmlResponse(url=visit.final_url or request.url, status=visit.status or 200, headers=headers,
                            body=visit.body, request=request, encoding=None)

    async def close(self):
        await self.pool.close()
        await self.http.close()
