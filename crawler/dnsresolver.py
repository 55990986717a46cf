"""Twisted's name resolution for the crawl's own connections: the addresses the run's resolver gave the guard.

Without it Scrapy would resolve a site a second time with the system's resolver when it connects without a
proxy: ``--nameserver`` would not apply, and a name could resolve to another address at connect time than the
one the private-address guard checked (DNS rebinding). A name the run's resolver cannot resolve (a proxy named
in ``/etc/hosts``, say; sites never get here, the guard has failed them) falls back to the reactor's resolver.
"""

from __future__ import annotations

import asyncio
import ipaddress

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IHostnameResolver, IHostResolution, IResolverSimple
from zope.interface import implementer

from crawler.netguard import HostGuard, guard_from_settings


@implementer(IHostResolution)
class _Resolution:
    def __init__(self, name: str):
        self.name = name

    def cancel(self) -> None:  # the lookup is shared through the guard's memo; nothing to stop
        pass


@implementer(IHostnameResolver, IResolverSimple)
class RunResolver:
    """Resolves with ``crawler.netguard.HostGuard`` (built from ``SR_NAMESERVERS``, ``SR_DNS_TIMEOUT``,
    ``SR_ALLOW_PRIVATE``); installed on the reactor by Scrapy (``TWISTED_DNS_RESOLVER``)."""

    def __init__(self, reactor, guard: HostGuard):
        self.reactor = reactor
        self.guard = guard
        self._simple_fallback = None
        self._name_fallback = None

    @classmethod
    def from_crawler(cls, crawler, reactor):
        return cls(reactor, guard_from_settings(crawler.settings))

    def install_on_reactor(self) -> None:
        self._simple_fallback = self.reactor.resolver
        self._name_fallback = self.reactor.nameResolver
        self.reactor.installResolver(self)
        self.reactor.installNameResolver(self)

    def _addresses(self, name: str) -> Deferred:
        """Deferred list of the run resolver's addresses for ``name`` (empty when it did not resolve)."""
        d = Deferred.fromFuture(asyncio.ensure_future(self.guard.check(name)))
        return d.addCallback(lambda verdict: list(verdict.addresses))

    # IResolverSimple (reactor.connectTCP with a host name: the proxy's connection)
    def getHostByName(self, name: str, timeout=()) -> Deferred:
        def pick(addresses: list[str]):
            v4 = [a for a in addresses if ":" not in a]
            if v4:
                return v4[0]
            if self._simple_fallback is None:
                raise DNSLookupError(name)
            return self._simple_fallback.getHostByName(name, timeout)

        return self._addresses(name).addCallback(pick)

    # IHostnameResolver (HostnameEndpoint: a site's direct connection)
    def resolveHostName(self, resolutionReceiver, hostName: str, portNumber: int = 0, addressTypes=None,
                        transportSemantics: str = "TCP"):
        wanted = tuple(addressTypes) if addressTypes else (IPv4Address, IPv6Address)

        def deliver(addresses: list[str]) -> None:
            if not addresses and self._name_fallback is not None:
                self._name_fallback.resolveHostName(resolutionReceiver, hostName, portNumber, addressTypes,
                                                    transportSemantics)
                return
            resolutionReceiver.resolutionBegan(_Resolution(hostName))
            for text in addresses:
                kind = IPv6Address if ipaddress.ip_address(text).version == 6 else IPv4Address
                if kind in wanted:
                    resolutionReceiver.addressResolved(kind("TCP", text, portNumber))
            resolutionReceiver.resolutionComplete()

        def failed(_failure) -> None:
            deliver([])

        self._addresses(hostName).addCallbacks(deliver, failed)
        return resolutionReceiver
