"""DNS for the browser fixture sites the demo serves beside its own (``servicerisk demo --mode browser`` and
``--serve``): the crawler looks every site up itself, proxy or not, so each host must resolve. The fault and
bench webs' zones (tests and benchmarks only) build on this in ``tests/support/zones.py``."""

from __future__ import annotations

from devweb.dns.server import Zone

__all__ = ["browser_zone", "FIXTURE_ADDRESS"]

#: The address fixture zones give the local web's hosts: public (the private-address guard lets it pass), and never
#: connected to, since every fetch goes through the local proxy (a crawl without a proxy gets a zone pointing at
#: loopback instead).
FIXTURE_ADDRESS = "88.99.0.10"


def browser_zone(address: str = FIXTURE_ADDRESS) -> Zone:
    """Every host of the browser fixture web (``devweb.web.browserweb``) at ``address``."""
    from devweb.web.browserweb import browser_web

    return Zone.of_hosts(browser_web().hosts(), address)
