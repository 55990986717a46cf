"""A real DNS server on loopback for tests and the demo (zone fixtures, NXDOMAIN, SERVFAIL, timeouts)."""

from pipelines.localdns.server import LocalDNS, Zone

__all__ = ["LocalDNS", "Zone"]
