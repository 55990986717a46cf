"""Tests for crawler.netguard: forbidden addresses and the per-host guard against a real DNS server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from crawler.dnslookup import HostResolver
from crawler.netguard import HostGuard, Verdict, is_forbidden_ip, legacy_ipv4
from pipelines.localdns import LocalDNS, Zone

# --------------------------------------------------------------------------- is_forbidden_ip


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1", "127.255.255.254", "::1", "[::1]",
        "10.0.0.1", "10.255.255.255",
        "172.16.0.1", "172.31.255.254",
        "192.168.0.1", "192.168.255.255",
        "169.254.169.254", "169.254.0.1",
        "100.64.0.1", "100.127.255.254",
        "fe80::1", "fe80::1%eth0",
        "fc00::1", "fd12:3456:789a::1",
        "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
        "0.0.0.0", "::",
        "224.0.0.1", "239.255.255.250", "ff02::1",
        "240.0.0.1", "255.255.255.255",
        "fec0::1",
    ],
)
def test_forbidden(ip):
    assert is_forbidden_ip(ip) is True


@pytest.mark.parametrize(
    "ip",
    ["8.8.8.8", "1.1.1.1", "93.184.216.34", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1",
     "2a00:1450::1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "[2a00:1450::1]"],
)
def test_allowed(ip):
    assert is_forbidden_ip(ip) is False


@pytest.mark.parametrize("text", ["", "example.com", "10.0.0", "not an ip", "1.2.3.4.5"])
def test_non_ip_text_is_not_forbidden(text):
    assert is_forbidden_ip(text) is False


# --------------------------------------------------------------------------- HostGuard against LocalDNS


def _zone() -> Zone:
    z = Zone()
    z.add("public.test", "A", "93.184.216.34").add("public.test", "AAAA", "2a00:1450::1")
    z.add("private.test", "A", "10.0.0.5")
    z.add("loopback.test", "A", "127.0.0.1")
    z.add("mixed.test", "A", "93.184.216.34").add("mixed.test", "AAAA", "fd00::5")
    z.add("mapped.test", "AAAA", "::ffff:a00:1")  # ::ffff:10.0.0.1 (dnslib wants hex groups)
    z.add("cgnat.test", "A", "100.64.1.1")
    z.add("metadata.test", "A", "169.254.169.254")
    z.add("multi.test", "A", "93.184.216.34").add("multi.test", "A", "192.168.1.1")
    z.add("alias.test", "CNAME", "internal.test").add("internal.test", "A", "192.168.1.10")
    z.add("publicalias.test", "CNAME", "public.test")
    z.behave("servfail.test", "servfail")
    z.behave("refused.test", "refused")
    z.behave("slow.test", "timeout")
    z.behave("empty.test", "noanswer")
    return z


@pytest.fixture(scope="module")
def dns_server():
    with LocalDNS(_zone()) as srv:
        yield srv


def _resolver(dns_server) -> HostResolver:
    return HostResolver([dns_server.nameserver], timeout=0.5, retries=0)


@pytest.fixture
def guard(dns_server):
    return HostGuard(_resolver(dns_server))


def check(guard: HostGuard, host: str) -> Verdict:
    return asyncio.run(guard.check(host))


def test_public_name_is_allowed(guard):
    v = check(guard, "public.test")
    assert v.refused is False
    assert set(v.addresses) == {"93.184.216.34", "2a00:1450::1"}
    assert v.reason == "resolved"
    assert guard.lookups == 1


@pytest.mark.parametrize(
    ("host", "bad"),
    [
        ("private.test", "10.0.0.5"),
        ("loopback.test", "127.0.0.1"),
        ("mixed.test", "fd00::5"),
        ("mapped.test", "::ffff:10.0.0.1"),
        ("cgnat.test", "100.64.1.1"),
        ("metadata.test", "169.254.169.254"),
        ("multi.test", "192.168.1.1"),
        ("alias.test", "192.168.1.10"),
    ],
)
def test_names_resolving_to_forbidden_addresses_are_refused(guard, host, bad):
    v = check(guard, host)
    assert v.refused is True
    assert bad in v.addresses
    assert v.reason == f"resolves to forbidden address {bad}"


def test_public_a_and_private_aaaa_is_refused(guard):
    v = check(guard, "mixed.test")
    assert v.refused is True
    assert set(v.addresses) == {"93.184.216.34", "fd00::5"}


def test_cname_to_public_is_allowed(guard):
    v = check(guard, "publicalias.test")
    assert v.refused is False
    assert "93.184.216.34" in v.addresses


@pytest.mark.parametrize(("host", "failure"), [("nxdomain.test", "nxdomain"), ("servfail.test", "servfail"),
                                               ("refused.test", "refused"), ("empty.test", "no_answer")])
def test_unresolvable_names_are_not_refused_but_carry_their_dns_failure(guard, host, failure):
    v = check(guard, host)
    assert (v.refused, v.addresses, v.failure) == (False, (), failure)
    assert v.reason.startswith(f"DNS lookup failed: {failure}")
    assert guard.lookups == 1


def test_timeout_is_a_dns_failure_reached_quickly(guard, dns_server):
    before = dns_server.resolver.queries
    t0 = time.monotonic()
    v = check(guard, "slow.test")
    elapsed = time.monotonic() - t0
    assert (v.refused, v.addresses, v.failure) == (False, (), "timeout")
    assert elapsed < 3.0
    assert dns_server.resolver.queries > before  # the server really was asked (and kept silent)


def test_allow_private_looks_up_but_refuses_nothing(dns_server):
    g = HostGuard(_resolver(dns_server), allow_private=True)
    for host in ("private.test", "10.0.0.1", "localhost"):
        assert check(g, host).refused is False
    assert check(g, "private.test").addresses == ("10.0.0.5",)
    assert check(g, "nxdomain.test").failure == "nxdomain"


@pytest.mark.parametrize(
    ("host", "refused", "address"),
    [
        ("10.0.0.1", True, "10.0.0.1"),
        ("127.0.0.1", True, "127.0.0.1"),
        ("[::1]", True, "::1"),
        ("::ffff:192.168.0.1", True, "::ffff:192.168.0.1"),
        ("8.8.8.8", False, "8.8.8.8"),
        ("[2a00:1450::1]", False, "2a00:1450::1"),
    ],
)
def test_ip_literals_need_no_query(guard, dns_server, host, refused, address):
    before = dns_server.resolver.queries
    v = check(guard, host)
    assert v.refused is refused
    assert v.addresses == (address,)
    assert v.reason == ("forbidden address literal" if refused else "public address literal")
    assert dns_server.resolver.queries == before
    assert guard.lookups == 0


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "localhost.", "foo.localhost", "a.b.localhost."])
def test_localhost_names_refused_without_query(guard, dns_server, host):
    before = dns_server.resolver.queries
    v = check(guard, host)
    assert v == Verdict(True, (), "localhost name")
    assert dns_server.resolver.queries == before
    assert guard.lookups == 0


def test_memo_second_check_sends_no_query(guard, dns_server):
    async def run():
        first = await guard.check("private.test")
        after_first = dns_server.resolver.queries
        second = await guard.check("private.test")
        third = await guard.check("Private.Test.")  # same host, other spelling
        return first, after_first, second, third

    before = dns_server.resolver.queries
    first, after_first, second, third = asyncio.run(run())
    assert after_first - before == 2  # A and AAAA
    assert dns_server.resolver.queries == after_first
    assert first == second == third
    assert first.refused
    assert guard.lookups == 1


def test_memo_also_remembers_allowed_and_unresolved(guard, dns_server):
    async def run():
        for _ in range(3):
            await guard.check("public.test")
            await guard.check("nxdomain.test")

    before = dns_server.resolver.queries
    asyncio.run(run())
    assert dns_server.resolver.queries - before == 4
    assert guard.lookups == 2


def test_memo_is_bounded(dns_server):
    g = HostGuard(HostResolver([dns_server.nameserver], timeout=0.5, retries=0, memo_size=2), memo_size=2)

    async def run():
        for h in ("public.test", "private.test", "nxdomain.test"):
            await g.check(h)
        return list(g.memo)

    assert asyncio.run(run()) == ["private.test", "nxdomain.test"]
    before = dns_server.resolver.queries
    asyncio.run(g.check("public.test"))  # evicted: asked again
    assert dns_server.resolver.queries - before == 2


LEGACY_LOOPBACK = ["127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.1"]


@pytest.mark.parametrize("host", LEGACY_LOOPBACK)
def test_legacy_ipv4_spellings_reach_loopback_through_the_os(host):
    # the OS resolver (Scrapy's default resolver uses gethostbyname) reads these as 127.0.0.1, no DNS query
    assert socket.gethostbyname(host) == "127.0.0.1"


@pytest.mark.parametrize("host", LEGACY_LOOPBACK)
def test_legacy_ipv4_spellings_are_refused(guard, host):
    assert check(guard, host).refused is True


@pytest.mark.parametrize(
    ("host", "dotted"),
    [
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.000.000.001", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("167772161", "10.0.0.1"),
        ("134744072", "8.8.8.8"),
        ("127.1.", "127.0.0.1"),
    ],
)
def test_legacy_ipv4_matches_the_os(host, dotted):
    assert legacy_ipv4(host) == dotted
    assert socket.gethostbyname(host.rstrip(".")) == dotted


@pytest.mark.parametrize("host", ["example.com", "1.2.3.4.5", "999.1.1.1", "0x", "1e100", "127.0.0.1 x", "",
                                  "08.1", "abc.0x1", "123.example"])
def test_legacy_ipv4_rejects_other_text(host):
    assert legacy_ipv4(host) is None


def test_public_legacy_spelling_is_allowed_without_query(guard, dns_server):
    before = dns_server.resolver.queries
    v = check(guard, "134744072")
    assert v.refused is False
    assert v.addresses == ("8.8.8.8",)
    assert dns_server.resolver.queries == before
    assert guard.lookups == 0


def test_legacy_spelling_verdict_names_the_address(guard, dns_server):
    before = dns_server.resolver.queries
    v = check(guard, "0x0a000001")
    assert v.refused is True
    assert v.addresses == ("10.0.0.1",)
    assert "10.0.0.1" in v.reason
    assert dns_server.resolver.queries == before


def test_cached_returns_memoised_verdict_only(guard):
    assert guard.cached("private.test") is None
    v = check(guard, "Private.Test.")
    assert guard.cached("private.test") == v
    assert guard.cached("public.test") is None
