"""Downloader middleware that refuses destinations on loopback/private/link-local addresses."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest, NotConfigured

from crawler.hosts import host_of
from crawler.netguard import HostGuard
from crawler.resolver import make_async_resolver


class PrivateAddressRefused(IgnoreRequest):
    """Raised for a request whose host is (or resolves to) a forbidden address."""

    sr_outcome = "refused_private"


class PrivateGuardMiddleware:
    """Refuses requests to forbidden addresses unless ``SR_ALLOW_PRIVATE``.

    Settings: ``SR_ALLOW_PRIVATE`` (bool), ``SR_NAMESERVERS`` (list of ``IP[:PORT]``; default: the
    system's), ``SR_DNS_TIMEOUT`` (seconds, default 2). Stats: ``sr/guard/refused``, ``sr/guard/lookups``.
    """

    def __init__(self, guard: HostGuard, stats):
        self.guard = guard
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        if s.getbool("SR_ALLOW_PRIVATE"):
            raise NotConfigured("SR_ALLOW_PRIVATE is set")
        resolver = make_async_resolver(s.getlist("SR_NAMESERVERS"), s.getfloat("SR_DNS_TIMEOUT", 2.0))
        return cls(HostGuard(resolver), crawler.stats)

    def process_request(self, request, spider=None):
        # Synchronous when the host's verdict is memoised (nearly every request); a coroutine otherwise.
        if not request.url.startswith(("http://", "https://")):
            return None
        host = host_of(request.url).lower()
        verdict = self.guard.cached(host)
        if verdict is None:
            return self._check(host)
        return self._apply(host, verdict)

    async def _check(self, host: str):
        before = self.guard.lookups
        verdict = await self.guard.check(host)
        if self.guard.lookups != before:
            self.stats.inc_value("sr/guard/lookups")
        return self._apply(host, verdict)

    def _apply(self, host, verdict):
        if verdict.refused:
            self.stats.inc_value("sr/guard/refused")
            raise PrivateAddressRefused(f"refused {host}: {verdict.reason}")
        return None
