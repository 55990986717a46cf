"""HostResolver against a real DNS server on 127.0.0.1: every outcome class, CNAME chains 0-5, loops, ECS."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from crawler.dnslookup import OUTCOMES, HostResolver, parse_ecs
from pipelines.localdns import LocalDNS, Zone
from pipelines.localdns.server import _free_port

ZONE = Path(__file__).resolve().parents[1] / "fixtures" / "dns" / "outcomes.zone"
FAST = {"timeout": 0.25, "retries": 0}


@pytest.fixture(scope="module")
def dns_server():
    with LocalDNS(Zone.load(ZONE)) as server:
        yield server


def resolve(server, *hosts, **kwargs):
    resolver = HostResolver([server.nameserver], **{**FAST, **kwargs})
    return asyncio.run(resolver.resolve_many(hosts)), resolver


@pytest.mark.parametrize("length", range(6))
def test_cname_chains_of_length_0_to_5(dns_server, length):
    answers, _ = resolve(dns_server, f"chain{length}.t")
    a = answers[f"chain{length}.t"]
    assert a.outcome == "ok" and a.detail == ""
    assert len(a.cname_chain) == length
    if length:
        assert a.cname_chain[-1] == "end.t" and a.canonical_name == "end.t"
        assert {x.ip for x in a.addresses} == {"192.0.2.20", "192.0.2.21", "2001:db8::20"}
        assert {x.owner for x in a.addresses} == {"end.t"}
        assert a.min_ttl == 30
    else:
        assert [x.ip for x in a.addresses] == ["192.0.2.10"] and a.canonical_name == "chain0.t"


def test_several_a_and_aaaa_with_ttls(dns_server):
    answers, _ = resolve(dns_server, "multi.t", "v6only.t")
    multi = answers["multi.t"]
    assert sorted((x.ip, x.family, x.ttl) for x in multi.addresses) == [
        ("192.0.2.31", 4, 120), ("192.0.2.32", 4, 120), ("192.0.2.33", 4, 120),
        ("2001:db8::31", 6, 45), ("2001:db8::32", 6, 45)]
    v6 = answers["v6only.t"]
    assert v6.outcome == "ok" and [(x.ip, x.family) for x in v6.addresses] == [("2001:db8::40", 6)]


@pytest.mark.parametrize("host, outcome, chain", [
    ("nothere.t", "nxdomain", ()),
    ("dangling.t", "nxdomain", ("gone.t",)),
    ("servfail.t", "servfail", ()),
    ("to-servfail.t", "servfail", ("servfail.t",)),
    ("refused.t", "refused", ()),
    ("timeout.t", "timeout", ()),
    ("to-timeout.t", "timeout", ("timeout.t",)),
    ("noanswer.t", "no_answer", ()),
    ("self.t", "loop", ("self.t",)),
    ("loop-a.t", "loop", ("loop-b.t", "loop-a.t")),
    ("loop3-a.t", "loop", ("loop3-b.t", "loop3-c.t", "loop3-a.t")),
])
def test_every_outcome_class(dns_server, host, outcome, chain):
    answers, resolver = resolve(dns_server, host)
    a = answers[host]
    assert a.outcome == outcome
    assert a.cname_chain == chain
    assert a.addresses == ()
    assert a.resolver == dns_server.nameserver
    assert resolver.stats[f"sr/dns/outcome/{outcome}"] == 1
    if outcome not in ("nxdomain", "no_answer") or chain:
        assert a.detail  # failures say what happened


def test_outcome_classes_are_closed(dns_server):
    hosts = ["chain0.t", "nothere.t", "servfail.t", "refused.t", "timeout.t", "noanswer.t", "self.t"]
    answers, resolver = resolve(dns_server, *hosts)
    assert {a.outcome for a in answers.values()} == set(OUTCOMES)
    assert resolver.stats["sr/dns/hosts"] == len(hosts)


def test_depth_limit_is_a_loop_with_a_reason(dns_server):
    answers, _ = resolve(dns_server, "chain5.t", "chain3.t", max_depth=3)
    assert answers["chain5.t"].outcome == "loop"
    assert "longer than 3" in answers["chain5.t"].detail
    assert len(answers["chain5.t"].cname_chain) == 4
    assert answers["chain3.t"].outcome == "ok"


def test_ecs_off_and_on(dns_server):
    off, _ = resolve(dns_server, "geo.t", "geo-cname.t")
    on, _ = resolve(dns_server, "geo.t", "geo-cname.t", ecs="91.0.0.0/24")
    assert {x.ip for x in off["geo.t"].addresses} == {"198.51.100.1", "2001:db8:1::1"}
    assert off["geo.t"].vantage == "resolver" and off["geo.t"].ecs_scope is None
    assert {x.ip for x in on["geo.t"].addresses} == {"203.0.113.91", "2001:db8:1::1"}
    assert on["geo.t"].vantage == "ecs:91.0.0.0/24" and on["geo.t"].ecs_scope == 8
    assert off["geo-cname.t"].cname_chain == ("us-edge.t",)
    assert on["geo-cname.t"].cname_chain == ("eu-edge.t",)
    assert [x.ip for x in on["geo-cname.t"].addresses] == ["203.0.113.92"]


def test_ecs_outside_the_subnet_and_ipv6_subnet(dns_server):
    us, _ = resolve(dns_server, "geo.t", ecs="8.8.8.0/24")
    assert {x.ip for x in us["geo.t"].addresses} == {"198.51.100.1", "2001:db8:1::1"}
    assert us["geo.t"].ecs_scope == 0
    v6, _ = resolve(dns_server, "geo.t", ecs="2001:db8:e000::/48")
    assert {x.ip for x in v6["geo.t"].addresses} == {"198.51.100.1", "2001:db8:e0::1"}
    assert v6["geo.t"].vantage == "ecs:2001:db8:e000::/48"


def test_parse_ecs():
    assert (parse_ecs("91.0.0.77/24").address, parse_ecs("91.0.0.77/24").srclen) == ("91.0.0.0", 24)
    with pytest.raises(ValueError, match="--ecs"):
        parse_ecs("europe")


def test_memo_resolves_each_host_once(dns_server):
    resolver = HostResolver([dns_server.nameserver], **FAST)

    async def twice():
        first = await resolver.resolve_many(["multi.t", "chain2.t", "multi.t", "MULTI.T."])
        before = dns_server.resolver.queries
        second = await asyncio.gather(resolver.resolve("multi.t"), resolver.resolve("chain2.t"))
        return first, second, before

    first, second, before = asyncio.run(twice())
    assert list(first) == ["multi.t", "chain2.t"]
    assert dns_server.resolver.queries == before  # nothing asked again
    assert second[0] is first["multi.t"]
    assert resolver.stats["sr/dns/hosts"] == 2 and resolver.stats["sr/dns/memo_hits"] == 2


def test_concurrency_is_bounded(dns_server):
    resolver = HostResolver([dns_server.nameserver], concurrency=3, **FAST)
    in_flight = peak = 0
    original = resolver._resolve

    async def counted(host):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.01)
            return await original(host)
        finally:
            in_flight -= 1

    resolver._resolve = counted
    hosts = [f"chain{i % 6}.t" for i in range(6)] + [f"nope{i}.t" for i in range(14)]
    answers = asyncio.run(resolver.resolve_many(hosts))
    assert len(answers) == 20 and peak == 3


def test_second_nameserver_answers_when_the_first_is_dead(dns_server):
    dead = f"127.0.0.1:{_free_port()}"
    resolver = HostResolver([dead, dns_server.nameserver], **FAST)
    answers = asyncio.run(resolver.resolve_many(["chain1.t"]))
    assert answers["chain1.t"].outcome == "ok"
    assert answers["chain1.t"].resolver == dns_server.nameserver
    assert resolver.stats["sr/dns/attempt/timeout"] >= 1


def test_retries_ask_again(dns_server):
    answers, resolver = resolve(dns_server, "servfail.t", retries=2)
    assert answers["servfail.t"].outcome == "servfail"
    assert resolver.stats["sr/dns/attempt/servfail"] == 6  # A and AAAA, 3 rounds each


def test_unreachable_dns_gives_timeouts_quickly():
    dead = f"127.0.0.1:{_free_port()}"
    resolver = HostResolver([dead], timeout=0.2, retries=1, concurrency=64)
    hosts = [f"h{i}.example.de" for i in range(50)]
    answers = asyncio.run(resolver.resolve_many(hosts))
    assert {a.outcome for a in answers.values()} == {"timeout"}
    assert all(a.resolver == dead and "no reply" in a.detail for a in answers.values())


def test_address_literals_and_invalid_names_need_no_query(dns_server):
    answers, resolver = resolve(dns_server, "192.0.2.99", "[2001:db8::99]", "bad..name")
    assert answers["192.0.2.99"].outcome == "ok" and answers["192.0.2.99"].addresses[0].ip == "192.0.2.99"
    assert answers["[2001:db8::99]"].addresses[0].family == 6
    assert answers["bad..name"].outcome == "nxdomain" and "not a valid DNS name" in answers["bad..name"].detail
    assert resolver.stats["sr/dns/queries"] == 0


def test_no_nameserver_is_an_error():
    with pytest.raises(ValueError):
        HostResolver(["not-an-ip"])


def test_zone_text_errors_name_the_line():
    with pytest.raises(ValueError, match="line 2"):
        Zone.parse("a.t 60 A 192.0.2.1\nb.t 60 MX mail.t\n")
    with pytest.raises(ValueError, match="unknown behaviour"):
        Zone.parse("a.t explode\n")


def test_server_delay_holds_replies_back():
    zone = Zone.load(ZONE)
    with LocalDNS(zone, delay=0.05) as server:
        resolver = HostResolver([server.nameserver], timeout=1.0, retries=0)
        answers = asyncio.run(resolver.resolve_many([f"chain{i}.t" for i in range(6)]))
    assert {a.outcome for a in answers.values()} == {"ok"}
    assert all(a.elapsed_ms >= 45 for a in answers.values())
    assert max(a.elapsed_ms for a in answers.values()) < 900  # answered concurrently, not one after another


def test_server_as_a_process(tmp_path):
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "pipelines.localdns", "--zone", str(ZONE)],
                            cwd=Path(__file__).resolve().parents[2], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        nameserver = proc.stdout.readline().strip()
        answers = asyncio.run(HostResolver([nameserver], **FAST).resolve_many(["multi.t"]))
        assert answers["multi.t"].outcome == "ok" and len(answers["multi.t"].addresses) == 5
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
