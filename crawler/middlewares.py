"""Downloader middleware that resolves every destination with the run's resolver before it is fetched."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest

from crawler.hosts import host_of
from crawler.netguard import HostGuard, guard_from_settings


class PrivateAddressRefused(IgnoreRequest):
    """Raised for a request whose host is (or resolves to) a forbidden address."""

    sr_outcome = "refused_private"


class DnsLookupFailed(IgnoreRequest):
    """Raised for a request whose host the run's resolver could not resolve; ``sr_error_class`` is
    ``dns_<outcome>`` (``dns_nxdomain``, ``dns_servfail``, ``dns_timeout``, ``dns_loop`` …)."""

    sr_outcome = "dns_error"

    def __init__(self, message: str, failure: str):
        super().__init__(message)
        self.sr_error_class = f"dns_{failure}"


class PrivateGuardMiddleware:
    """Looks every destination host up with the run's resolver (``crawler.netguard.HostGuard``), whether or not
    a proxy will fetch it: a name that does not resolve fails as ``dns_error`` without a fetch; a host that is
    (or resolves to) a loopback/private/link-local address is refused unless ``SR_ALLOW_PRIVATE``.

    Settings: ``SR_ALLOW_PRIVATE`` (bool), ``SR_NAMESERVERS`` (list of ``IP[:PORT]``; default: the
    system's), ``SR_DNS_TIMEOUT`` (seconds per attempt, default 2). Stats: ``sr/guard/refused``,
    ``sr/guard/lookups``, ``sr/guard/dns_failed``.
    """

    def __init__(self, guard: HostGuard, stats):
        self.guard = guard
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(guard_from_settings(crawler.settings), crawler.stats)

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
        if verdict.failure:
            self.stats.inc_value("sr/guard/dns_failed")
            raise DnsLookupFailed(f"{host}: {verdict.reason}", verdict.failure)
        return None
