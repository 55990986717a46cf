"""Tests for crawler.resolver: the --nameserver syntax and the resolver built from it (against a local DNS)."""

from __future__ import annotations

import asyncio
import time

import dns.exception
import dns.resolver
import pytest

from crawler.resolver import make_async_resolver, parse_nameserver
from devweb.dns import LocalDNS, Zone


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("1.2.3.4", ("1.2.3.4", 53)),
        ("1.2.3.4:5353", ("1.2.3.4", 5353)),
        ("  1.2.3.4:53  ", ("1.2.3.4", 53)),
        ("127.0.0.1:65535", ("127.0.0.1", 65535)),
        ("127.0.0.1:1", ("127.0.0.1", 1)),
        ("[::1]:53", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        ("[::1]", ("::1", 53)),
        ("::1", ("::1", 53)),
        ("2001:db8::53", ("2001:db8::53", 53)),
        ("[2001:db8::53]:8053", ("2001:db8::53", 8053)),
    ],
)
def test_parse_nameserver(spec, expected):
    assert parse_nameserver(spec) == expected


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("example.com", "not an IP address"),
        ("example.com:53", "not an IP address"),
        ("1.2.3.4:0", "bad port"),
        ("1.2.3.4:99999", "bad port"),
        ("1.2.3.4:65536", "bad port"),
        ("1.2.3.4:", "bad port"),
        ("1.2.3.4:-1", "bad port"),
        ("1.2.3.4:abc", "bad port"),
        ("[::1", "missing ']'"),
        ("[::1]x", "bad nameserver"),
        ("[::1]:", "bad port"),
        ("[::1]:0", "bad port"),
        ("", "not an IP address"),
        ("1.2.3", "not an IP address"),
        ("256.1.1.1", "not an IP address"),
    ],
)
def test_parse_nameserver_errors(spec, fragment):
    with pytest.raises(ValueError) as ei:
        parse_nameserver(spec)
    assert fragment in str(ei.value)
    assert repr(spec) in str(ei.value)


def test_make_async_resolver_uses_given_nameservers_and_timeout():
    res = make_async_resolver(["127.0.0.1:5353", "[::1]:53"], timeout=0.7)
    assert [(ns.address, ns.port) for ns in res.nameservers] == [("127.0.0.1", 5353), ("::1", 53)]
    assert res.lifetime == 0.7 and res.timeout == 0.7


def test_make_async_resolver_rejects_bad_spec():
    with pytest.raises(ValueError):
        make_async_resolver(["dns.example"])


@pytest.fixture(scope="module")
def dns_server():
    zone = Zone().add("www.site.test", "A", "93.184.216.34").add("www.site.test", "AAAA", "2a00:1450::1")
    zone.add("alias.site.test", "CNAME", "www.site.test")
    zone.behave("slow.site.test", "timeout")
    with LocalDNS(zone) as srv:
        yield srv


def test_resolver_answers_from_the_local_server(dns_server):
    res = make_async_resolver([dns_server.nameserver], timeout=1.0)

    async def run():
        a = await res.resolve("www.site.test", "A", search=False)
        aaaa = await res.resolve("www.site.test", "AAAA", search=False)
        alias = await res.resolve("alias.site.test", "A", search=False)
        return [r.to_text() for r in a], [r.to_text() for r in aaaa], [r.to_text() for r in alias]

    assert asyncio.run(run()) == (["93.184.216.34"], ["2a00:1450::1"], ["93.184.216.34"])


def test_resolver_nxdomain_and_lifetime(dns_server):
    res = make_async_resolver([dns_server.nameserver], timeout=0.5)
    with pytest.raises(dns.resolver.NXDOMAIN):
        asyncio.run(res.resolve("missing.site.test", "A", search=False))
    t0 = time.monotonic()
    with pytest.raises(dns.exception.Timeout):
        asyncio.run(res.resolve("slow.site.test", "A", search=False))
    assert time.monotonic() - t0 < 3.0
