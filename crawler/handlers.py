"""HTTP(S) download handlers: Scrapy's, without idle connections of finished sites kept for minutes and with
CONNECT tunnels that fail as soon as the proxy drops them; and browser mode's, which loads pages in Chromium."""

from __future__ import annotations

import logging

from scrapy.core.downloader.handlers import http11
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

from crawler import settings as base

logger = logging.getLogger(__name__)


def watch_tunnels() -> bool:
    """Make a CONNECT tunnel fail at once when the proxy closes or resets the connection before it answers.

    Scrapy's tunnel endpoint (``_TunnelingTCP4ClientEndpoint``, Scrapy 2.13-2.19) only reads the proxy's answer;
    a connection lost before it leaves the download waiting for ``DOWNLOAD_TIMEOUT`` and ending as a timeout
    (a proxy resetting at CONNECT took 20 s and was recorded as ``timeout``). The subclass installed here
    errbacks the tunnel with a ``TunnelError`` (``connect_error``) when the connection is lost first; it
    overrides the endpoint's two methods (``connect``, ``requestTunnel``) and reads none of its attributes. Returns
    False, changing nothing, when this Scrapy's endpoint does not have the expected shape (then
    ``tests/crawler/test_crawl_faults.py`` fails on its reset fixture)."""
    base = getattr(http11, "_TunnelingTCP4ClientEndpoint", None)
    if base is None or not hasattr(base, "requestTunnel") or getattr(base, "sr_watched", False):
        return bool(base is not None and getattr(base, "sr_watched", False))

    class WatchedTunnelEndpoint(base):
        sr_watched = True

        def connect(self, protocolFactory):
            # what connect() returns is the tunnel's Deferred (fired once the proxy answered the CONNECT); the TCP
            # connection, and so requestTunnel, comes later
            self.sr_ready = super().connect(protocolFactory)
            return self.sr_ready

        def requestTunnel(self, protocol):
            protocol = super().requestTunnel(protocol)
            ready = self.sr_ready
            lost = protocol.connectionLost

            def connection_lost(reason):
                if not ready.called:
                    ready.errback(http11.TunnelError(
                        "Could not open CONNECT tunnel with proxy [the proxy closed the connection before "
                        f"answering: {reason.getErrorMessage()}]"))
                lost(reason)

            protocol.connectionLost = connection_lost
            return protocol

    http11._TunnelingTCP4ClientEndpoint = WatchedTunnelEndpoint
    return True


class SiteCrawlDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler with idle keep-alive connections closed after ``SR_IDLE_CONNECTION_TIMEOUT``
    seconds (Twisted's default is 240 s) and watched CONNECT tunnels (``watch_tunnels``).

    A site crawl never returns to a site it finished, so each finished site's TLS tunnel would otherwise
    sit in the pool with its buffers: memory grew by ~100 KB per site crawled in the last four minutes.
    """

    def __init__(self, crawler):
        super().__init__(crawler)
        self._pool.cachedConnectionTimeout = crawler.settings.getfloat("SR_IDLE_CONNECTION_TIMEOUT",
                                                                       base.SR_IDLE_CONNECTION_TIMEOUT)
        if not watch_tunnels():
            logger.warning("this Scrapy's CONNECT tunnel is not watched: a proxy dropping it costs DOWNLOAD_TIMEOUT")


class BrowserDownloadHandler:
    """Loads http(s) pages in headless Chromium (``crawler.browser.session.BrowserPool``) instead of downloading them.

    The request's ``sr_pass`` meta (a ``Pass``: consent state and signal) says how; the response carries the
    document Chromium received (status, headers, raw body) and ``request.meta["sr_visit"]`` the whole visit
    (every request, cookies, storage, CMP). A failed visit raises ``VisitFailed`` whose ``sr_outcome`` the
    spider records. Chromium's traffic goes through ``crawler.browser.guard.GuardProxy`` (the run's private-address
    guard and resolver), which forwards to ``SR_BROWSER_PROXY`` when set. Settings: ``SR_BROWSER_EXECUTABLE``,
    ``SR_BROWSER_PROXY``, ``SR_BROWSER_CONTEXTS``,
    ``SR_BROWSER_PAGE_BUDGET``, ``SR_BROWSER_NAV_TIMEOUT``, ``SR_BROWSER_LOAD_TIMEOUT``, ``SR_BROWSER_IDLE_TIMEOUT``,
    ``SR_BROWSER_CONSENT_WAIT``, ``SR_BROWSER_MAX_POPUPS``, ``SR_BROWSER_AUTOCONSENT``, ``SR_BROWSER_TAG``,
    ``SR_BROWSER_HAR_DIR`` (one HAR file per visit, cookie values stripped; the scan's evidence pack).
    Stats: ``sr/browser/*``.
    """

    lazy = True

    def __init__(self, crawler):
        from crawler.browser.consent import load_bundle
        from crawler.browser.guard import GuardProxy
        from crawler.browser.session import BrowserConfig, BrowserPool
        from crawler.netguard import guard_from_settings

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
            tag=s.get("SR_BROWSER_TAG", base.SR_BROWSER_TAG),
            har_dir=s.get("SR_BROWSER_HAR_DIR", base.SR_BROWSER_HAR_DIR),
        )
        bundle = load_bundle() if s.getbool("SR_BROWSER_AUTOCONSENT", base.SR_BROWSER_AUTOCONSENT) else None
        crawler.stats.set_value("sr/browser/autoconsent", 1 if bundle else 0)
        # every request of Chromium goes through the run's guard first; SR_BROWSER_PROXY is its upstream
        guard = GuardProxy(guard_from_settings(s), upstream=config.proxy, stats=crawler.stats)
        self.pool = BrowserPool(config, bundle, crawler.stats, guard_proxy=guard)
        self.http = SiteCrawlDownloadHandler(crawler)  # robots.txt and anything that is not a site's page

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def download_request(self, request):
        from scrapy.http import HtmlResponse

        from crawler.browser.visit import Pass

        if "sr_site" not in request.meta:
            return await self.http.download_request(request)
        visit = await self.pool.visit(request.url, request.meta.get("sr_pass") or Pass(),
                                      patience=request.meta.get("sr_patience", 1))
        request.meta["sr_visit"] = visit
        headers = {k: v for k, v in visit.headers.items() if k not in ("content-encoding", "content-length",
                                                                     "transfer-encoding")}
        return HtmlResponse(url=visit.final_url or request.url, status=visit.status or 200, headers=headers,
                            body=visit.body, request=request, encoding=None)

    async def close(self):
        await self.pool.close()
        if self.pool.guard_proxy is not None:
            await self.pool.guard_proxy.close()
        await self.http.close()
