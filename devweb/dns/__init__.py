"""A real DNS server on loopback for tests and the demo (zone fixtures, NXDOMAIN, SERVFAIL, timeouts)."""

from devweb.dns.server import LocalDNS, Zone

__all__ = ["LocalDNS", "Zone"]
