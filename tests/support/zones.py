"""DNS for the local webs of tests and benchmarks: the crawler looks every site up itself (proxy or not), so each
web's hosts must resolve; the fault web's DNS faults (NXDOMAIN, SERVFAIL, a CNAME loop, a dangling CNAME, a server
that never answers) must fail."""

from __future__ import annotations

from devweb.dns.fixtures import FIXTURE_ADDRESS, browser_zone
from devweb.dns.server import Zone

__all__ = ["fault_zone", "web_zone", "FIXTURE_ADDRESS"]


def fault_zone(address: str = FIXTURE_ADDRESS, overrides: dict[str, str] | None = None) -> Zone:
    """Every fault-web host at ``address`` (``overrides``: host -> another address), the DNS faults as their names
    say, and ``dns-private-site.de`` (and its ``www.``) at a private address."""
    from tests.support.faults import DNS_FAULTS, fault_web

    overrides = overrides or {}
    zone = Zone.of_hosts([h for h in fault_web().hosts() if h not in DNS_FAULTS and h not in overrides], address)
    for host, other in overrides.items():
        zone.update(Zone.of_hosts([host], other))
    for name, fault in DNS_FAULTS.items():
        if fault == "loop":
            zone.add(name, "CNAME", f"loop-b.{name}").add(f"loop-b.{name}", "CNAME", name)
        elif fault == "dangling":
            zone.add(name, "CNAME", f"gone.{name}")  # gone.* has no record: NXDOMAIN at the end of the chain
        elif fault != "nxdomain":
            zone.behave(name, fault)
    for name in ("dns-private-site.de", "www.dns-private-site.de"):
        zone.add(name, "A", "10.20.30.40")
    return zone


def web_zone(names: str = "faults,browser", bench_sites: int = 0, address: str = FIXTURE_ADDRESS) -> Zone:
    """A zone for the local webs ``names`` (comma-separated: ``faults``, ``browser``) and the first ``bench_sites``
    sites of the bench web, every host at ``address`` (the fault web's DNS faults as ``fault_zone`` has them)."""
    from tests.support.benchweb import bench_domains

    parts = {p.strip() for p in names.split(",") if p.strip()}
    zone = fault_zone(address) if "faults" in parts else Zone()
    if "browser" in parts:
        zone.update(browser_zone(address))
    return zone.update(Zone.of_hosts(bench_domains(bench_sites), address))
