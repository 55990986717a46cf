"""Browser mode's guard proxy without a browser: what it refuses before connecting, what it forwards (to the
user's proxy or straight to the checked address), and that a kept-alive connection cannot smuggle a second
request past the check."""

from __future__ import annotations

import asyncio

import pytest

from crawler.browser.guard import GuardProxy, Upstream
from crawler.dnslookup import HostResolver
from crawler.netguard import HostGuard
from devweb.dns import LocalDNS, Zone
from devweb.dns.fixtures import FIXTURE_ADDRESS
from devweb.web.server import LocalWeb
from devweb.web.sites import Site, Web, html_route
from tests.support.netns import CountingListener


def http_listener() -> CountingListener:
    """A loopback listener that counts connections and answers each with a tiny HTTP response."""
    return CountingListener(answer=b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nloopbak")


@pytest.fixture(scope="module")
def world():
    zone = Zone.of_hosts(["site.test", "other.test"], FIXTURE_ADDRESS).add("internal.test", "A", "10.0.0.5")
    web = Web([Site("site.test", routes={"/": html_route("<title>site</title>")}),
               Site("other.test", routes={"/": html_route("<title>other</title>")})])
    with LocalDNS(zone) as dns, LocalWeb(web, log=True) as lw:
        yield dns, lw


def _guard(dns, allow_private=False) -> HostGuard:
    return HostGuard(HostResolver([dns.nameserver], timeout=0.5, retries=0), allow_private=allow_private)


async def _exchange(proxy_url: str, data: bytes) -> bytes:
    host, port = proxy_url.rsplit("/", 1)[-1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(data)
    await writer.drain()
    out = b""
    while True:  # until the proxy closes, or (an open tunnel) says nothing more for a second
        try:
            chunk = await asyncio.wait_for(reader.read(65536), 1.0)
        except asyncio.TimeoutError:
            break
        if not chunk:
            break
        out += chunk
    writer.close()
    return out


def run(proxy: GuardProxy, *requests: bytes) -> list[bytes]:
    async def scenario():
        url = await proxy.start()
        try:
            return [await _exchange(url, r) for r in requests]
        finally:
            await proxy.close()

    return asyncio.run(scenario())


def test_private_and_metadata_destinations_are_refused_before_any_connection(world):
    dns, lw = world
    loopback = http_listener()
    proxy = GuardProxy(_guard(dns), upstream=lw.proxy_url)
    answers = run(proxy,
                  f"GET http://127.0.0.1:{loopback.port}/admin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode(),
                  f"CONNECT 127.0.0.1:{loopback.port} HTTP/1.1\r\n\r\n".encode(),
                  b"GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n",
                  b"CONNECT internal.test:443 HTTP/1.1\r\n\r\n",
                  b"CONNECT localhost:443 HTTP/1.1\r\n\r\n")
    for a in answers:
        assert a.startswith(b"HTTP/1.1 403 ") and b"error=destination_ip_prohibited" in a, a
    assert loopback.connections == 0
    assert not [h for _, h in lw.request_log if h in ("127.0.0.1", "169.254.169.254", "internal.test", "localhost")]
    assert set(proxy.refused) == {"127.0.0.1", "169.254.169.254", "internal.test", "localhost"}
    assert proxy.turned_away("http://169.254.169.254/latest/meta-data/")[0] == "refused_private"


def test_allowed_requests_go_through_the_users_proxy(world):
    dns, lw = world
    proxy = GuardProxy(_guard(dns), upstream=lw.proxy_url)
    before = len(lw.request_log)
    plain, tunnel, unknown = run(
        proxy, b"GET http://site.test/ HTTP/1.1\r\nHost: site.test\r\nProxy-Connection: keep-alive\r\n\r\n",
        b"CONNECT site.test:443 HTTP/1.1\r\nHost: site.test:443\r\n\r\n",
        b"CONNECT nowhere.test:443 HTTP/1.1\r\n\r\n")
    assert plain.startswith(b"HTTP/1.1 200 ") and b"<title>site</title>" in plain
    assert tunnel.startswith(b"HTTP/1.1 200 Connection established")
    assert unknown.startswith(b"HTTP/1.1 502 ") and b"error=dns_error" in unknown
    assert lw.request_log[before:] == [("GET", "site.test"), ("CONNECT", "site.test")]  # nowhere.test never left


def test_a_kept_alive_connection_carries_one_request(world):
    """A second request on the same connection (to another host) is never forwarded: the connection ends after
    the first answer, so the browser sends the next request anew and it is checked."""
    dns, lw = world
    proxy = GuardProxy(_guard(dns), upstream=lw.proxy_url)
    before = len(lw.request_log)
    (both,) = run(proxy, b"GET http://site.test/ HTTP/1.1\r\nHost: site.test\r\n\r\n"
                         b"GET http://internal.test/ HTTP/1.1\r\nHost: internal.test\r\n\r\n")
    assert both.count(b"HTTP/1.1 ") == 1 and b"<title>site</title>" in both
    assert lw.request_log[before:] == [("GET", "site.test")]


def test_with_allow_private_and_no_upstream_it_connects_to_the_checked_address(world):
    """The control: the same request reaches a loopback listener when private destinations are allowed (so the
    zero above is the guard's doing, not a listener that could not count)."""
    dns, _ = world
    loopback = http_listener()
    proxy = GuardProxy(_guard(dns, allow_private=True), upstream=None)
    (answer,) = run(proxy, f"GET http://127.0.0.1:{loopback.port}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"loopbak")
    assert loopback.connections == 1


def test_upstream_parsing():
    assert Upstream.parse(None) is None
    assert Upstream.parse("http://127.0.0.1:3128") == Upstream("127.0.0.1", 3128, None)
    up = Upstream.parse("http://user:p%40ss@proxy.example:8080")
    assert (up.host, up.port, up.authorization) == ("proxy.example", 8080, "Basic dXNlcjpwQHNz")
