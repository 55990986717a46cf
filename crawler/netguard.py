"""Refuse fetches whose destination is loopback/private/link-local (domain lists are untrusted input)."""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from collections import OrderedDict
from dataclasses import dataclass

from common.hosts import is_ip
from crawler import settings as base
from crawler.dnslookup import HostResolver


def is_forbidden_ip(ip: str) -> bool:
    """True for addresses a crawler must not be steered to: loopback, private, link-local, CGNAT,
    multicast, reserved, unspecified (IPv4-mapped IPv6 is checked as its IPv4)."""
    try:
        addr = ipaddress.ip_address(ip.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return (
        addr.is_loopback
        or addr.is_private
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
        or (isinstance(addr, ipaddress.IPv4Address) and addr in _CGNAT)
        or (isinstance(addr, ipaddress.IPv6Address) and addr.is_site_local)
    )


_CGNAT = ipaddress.ip_network("100.64.0.0/10")


_LEGACY_V4 = re.compile(r"^(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?\Z", re.I)


def legacy_ipv4(host: str) -> str | None:
    """The dotted-quad an OS makes of a legacy IPv4 spelling (``127.1``, ``2130706433``, ``0x7f000001``,
    ``0177.0.0.1``), or None for anything else. URL parsers pass these through as names."""
    if not _LEGACY_V4.match(host):
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(host.rstrip(".")))
    except OSError:
        return None


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a host may be fetched, the addresses seen, and why. ``failure``: the DNS outcome class
    (``crawler.dnslookup.OUTCOMES``: ``nxdomain``, ``servfail``, ``timeout`` …) when the name did not resolve."""

    refused: bool
    addresses: tuple[str, ...]
    reason: str
    failure: str = ""


class HostGuard:
    """Decides per host, memoised for the run, whether a fetch is allowed, from the run's own DNS lookup
    (``crawler.dnslookup.HostResolver``: the ``--nameserver`` setting, whether or not a proxy is used).

    A host is refused when it is a forbidden IP literal, ``localhost``/``*.localhost``, or when any of its
    A/AAAA answers is forbidden; with ``allow_private`` nothing is refused (addresses are still looked up). A
    name that does not resolve is not refused: its verdict carries the DNS failure (the crawl records the site
    as ``dns_error`` without fetching it).
    """

    def __init__(self, resolver: HostResolver, memo_size: int = 100_000, allow_private: bool = False):
        self.resolver = resolver
        self.memo: OrderedDict[str, Verdict] = OrderedDict()
        self.memo_size = memo_size
        self.allow_private = allow_private
        self.lookups = 0

    def cached(self, host: str) -> Verdict | None:
        """The memoised verdict for ``host`` (already normalised), or None when it must be checked."""
        return self.memo.get(host)

    async def check(self, host: str) -> Verdict:
        host = host.lower().rstrip(".")
        hit = self.memo.get(host)
        if hit is not None:
            self.memo.move_to_end(host)
            return hit
        verdict = await self._decide(host)
        if self.allow_private and verdict.refused:
            verdict = Verdict(False, verdict.addresses, f"{verdict.reason} (allowed: --allow-private)")
        self.memo[host] = verdict
        if len(self.memo) > self.memo_size:
            self.memo.popitem(last=False)
        return verdict

    async def _decide(self, host: str) -> Verdict:
        if is_ip(host):
            bad = is_forbidden_ip(host)
            return Verdict(bad, (host.strip("[]"),), "forbidden address literal" if bad else "public address literal")
        legacy = legacy_ipv4(host)
        if legacy is not None:
            bad = is_forbidden_ip(legacy)
            return Verdict(bad, (legacy,), f"address literal {legacy}" + (" is forbidden" if bad else ""))
        if host == "localhost" or host.endswith(".localhost"):
            return Verdict(True, (), "localhost name")
        self.lookups += 1
        answer = await self.resolver.resolve(host)
        addresses = tuple(a.ip for a in answer.addresses)
        bad = [a for a in addresses if is_forbidden_ip(a)]
        if bad:
            return Verdict(True, addresses, f"resolves to forbidden address {bad[0]}")
        if not addresses:
            return Verdict(False, (), f"DNS lookup failed: {answer.outcome}"
                           + (f" ({answer.detail})" if answer.detail else ""), answer.outcome)
        return Verdict(False, addresses, "resolved")


@functools.lru_cache(maxsize=None)
def run_guard(nameservers: tuple[str, ...], timeout: float, allow_private: bool) -> HostGuard:
    """The process's guard for a run's resolver settings: the downloader middleware, the connections'
    name resolution (``crawler.dnsresolver``) and browser mode's proxy (``crawler.browser.guard``) share its
    memo, so each host is looked up once and every connection goes to an address the guard checked."""
    return HostGuard(HostResolver(nameservers, timeout=timeout, memo_size=100_000), allow_private=allow_private)


def guard_from_settings(settings) -> HostGuard:
    """``run_guard`` for Scrapy settings ``SR_NAMESERVERS``, ``SR_DNS_TIMEOUT``, ``SR_ALLOW_PRIVATE``."""
    return run_guard(tuple(settings.getlist("SR_NAMESERVERS")),
                     settings.getfloat("SR_DNS_TIMEOUT", base.SR_DNS_TIMEOUT), settings.getbool("SR_ALLOW_PRIVATE"))
