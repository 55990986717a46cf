"""Browser mode's own forward proxy: every request Chromium makes (the page's scripts' too) is checked before a
connection is opened.

Chromium gets ``--proxy-server`` pointing here (loopback included, see ``crawler.browser.chromium.CHROMIUM_ARGS``). Each
CONNECT and each plain-HTTP request names its host; the run's guard (``crawler.netguard``: the run's resolver,
memoised, shared with the static checks) decides: a host that is, or resolves to, a loopback, private,
link-local or metadata address is refused with ``403`` before any connection is made (unless ``--allow-private``),
a name that does not resolve gets ``502`` (``Proxy-Status: …; error=dns_error``). Allowed requests go to the
user's proxy (``https_proxy``) when there is one, else straight to the address the guard checked. Plain-HTTP
connections carry one request each (``Connection: close``), so a second request on a kept-alive connection can
never reach another host unchecked. Runs on the running asyncio loop (the reactor's), in the crawl's process.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from crawler.netguard import HostGuard, Verdict

_MAX_HEAD = 64 * 1024
_NAME = "servicerisk-browserguard"


def _answer(status: int, reason: str, error: str, text: str) -> bytes:
    body = text.encode()
    return (f"HTTP/1.1 {status} {reason}\r\nProxy-Status: {_NAME}; error={error}\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode() + body


@dataclass(frozen=True)
class Upstream:
    """The user's forward proxy: host, port and the ``Proxy-Authorization`` value (from ``user:pass@``)."""

    host: str
    port: int
    authorization: str | None = None

    @classmethod
    def parse(cls, url: str | None) -> "Upstream | None":
        if not url:
            return None
        parts = urlsplit(url if "://" in url else f"http://{url}")
        auth = None
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            auth = "Basic " + base64.b64encode(pair).decode()
        return cls(parts.hostname or "127.0.0.1", parts.port or 8080, auth)


def _split_host_port(authority: str, default_port: int) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or ``host`` → (host, port); raises ValueError."""
    if authority.startswith("["):
        end = authority.index("]")
        host, rest = authority[1:end], authority[end + 1:]
        port = int(rest[1:]) if rest.startswith(":") else default_port
    elif authority.count(":") == 1:
        host, p = authority.split(":")
        port = int(p)
    else:
        host, port = authority, default_port
    if not host or not 0 < port < 65536:
        raise ValueError(authority)
    return host.lower().rstrip("."), port


class GuardProxy:
    """``await proxy.start()`` → the ``http://127.0.0.1:PORT`` URL for Chromium; ``refused`` maps each refused
    host to the guard's reason (what the visit's rows record), ``failed_dns`` each host that did not resolve.
    Stats (when given): ``sr/browser/guard/refused``, ``sr/browser/guard/dns_failed``, ``sr/browser/guard/allowed``."""

    def __init__(self, guard: HostGuard, upstream: str | None = None, stats=None):
        self.guard = guard
        self.upstream = Upstream.parse(upstream)
        self.stats = stats
        self.refused: dict[str, str] = {}
        self.failed_dns: dict[str, str] = {}
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self.url = ""

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"sr/browser/guard/{key}")

    async def start(self) -> str:
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=_MAX_HEAD)
            self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self.url

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def turned_away(self, url: str) -> tuple[str, str] | None:
        """(``refused_private`` or ``dns_error``, the guard's reason) when this proxy turned the URL's host away."""
        try:
            host = (urlsplit(url).hostname or "").lower().rstrip(".")
        except ValueError:
            return None
        if host in self.refused:
            return "refused_private", self.refused[host]
        if host in self.failed_dns:
            return "dns_error", self.failed_dns[host]
        return None

    # --- one client connection -----------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, reader, writer) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        if method == "CONNECT":
            host, port = _split_host_port(target, 443)
        else:
            parts = urlsplit(target)
            if parts.scheme != "http" or not parts.hostname:
                writer.write(_answer(400, "Bad Request", "http_request_error", "absolute http:// URL expected\n"))
                return
            host, port = parts.hostname.lower().rstrip("."), parts.port or 80
        verdict = await self.guard.check(host)
        if verdict.refused:
            self.refused[host] = verdict.reason
            self._inc("refused")
            writer.write(_answer(403, "Forbidden", "destination_ip_prohibited", f"refused {host}: {verdict.reason}\n"))
            return
        if verdict.failure:
            self.failed_dns[host] = verdict.reason
            self._inc("dns_failed")
            writer.write(_answer(502, "Bad Gateway", "dns_error", f"{host}: {verdict.reason}\n"))
            return
        self._inc("allowed")
        if method == "CONNECT":
            await self._tunnel(reader, writer, host, port, verdict)
        else:
            await self._forward(reader, writer, lines, host, port, verdict)

    async def _open_or_answer(self, writer, host: str, port: int, verdict: Verdict):
        """A connection to the upstream proxy, or to the checked address itself; None after answering the client
        with ``502`` when it cannot be opened."""
        try:
            if self.upstream is not None:
                return await asyncio.open_connection(self.upstream.host, self.upstream.port)
            v4 = [a for a in verdict.addresses if ipaddress.ip_address(a).version == 4]
            return await asyncio.open_connection((v4 or list(verdict.addresses))[0], port)
        except OSError as exc:
            writer.write(_answer(502, "Bad Gateway", "destination_unavailable", f"{host}:{port}: {exc}\n"))
            return None

    async def _tunnel(self, reader, writer, host: str, port: int, verdict: Verdict) -> None:
        up = await self._open_or_answer(writer, host, port, verdict)
        if up is None:
            return
        up_reader, up_writer = up
        try:
            if self.upstream is not None:
                authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                auth = f"Proxy-Authorization: {self.upstream.authorization}\r\n" if self.upstream.authorization else ""
                up_writer.write(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{auth}\r\n".encode())
                answer = await up_reader.readuntil(b"\r\n\r\n")
                if answer.split(b" ", 2)[1:2] != [b"200"]:  # the upstream's refusal, passed on as it came
                    writer.write(answer)
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(_pipe(up_reader, writer), 10.0)
                    return
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await _pipe_both(reader, writer, up_reader, up_writer)
        finally:
            up_writer.close()

    async def _forward(self, reader, writer, lines: list[str], host: str, port: int, verdict: Verdict) -> None:
        method, target, version = lines[0].split(" ", 2)
        headers = [h for h in lines[1:] if h and h.split(":", 1)[0].strip().lower() not in
                   ("connection", "proxy-connection", "keep-alive", "proxy-authorization")]
        if self.upstream is None:
            parts = urlsplit(target)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        elif self.upstream.authorization:
            headers.append(f"Proxy-Authorization: {self.upstream.authorization}")
        headers.append("Connection: close")  # one request per connection: the next one is checked afresh
        body = await _request_body(reader, lines)
        up = await self._open_or_answer(writer, host, port, verdict)
        if up is None:
            return
        up_reader, up_writer = up
        try:
            up_writer.write((f"{method} {target} {version}\r\n" + "\r\n".join(headers) + "\r\n\r\n").encode("latin-1")
                            + body)
            await up_writer.drain()
            await _pipe(up_reader, writer)
        finally:
            up_writer.close()


async def _request_body(reader: asyncio.StreamReader, lines: list[str]) -> bytes:
    """The request body: ``Content-Length`` bytes, or a chunked body re-assembled as it came (chunks and all)."""
    fields = {h.split(":", 1)[0].strip().lower(): h.split(":", 1)[1].strip() for h in lines[1:] if ":" in h}
    if "chunked" in fields.get("transfer-encoding", "").lower():
        out = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            out += size_line
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while True:  # trailers, then the empty line
                    line = await reader.readuntil(b"\r\n")
                    out += line
                    if line == b"\r\n":
                        return bytes(out)
            out += await reader.readexactly(size + 2)
    length = int(fields.get("content-length", "0") or 0)
    return await reader.readexactly(length) if length > 0 else b""


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    while True:
        data = await src.read(65536)
        if not data:
            return
        dst.write(data)
        await dst.drain()


async def _pipe_both(reader, writer, up_reader, up_writer) -> None:
    """Relay both ways until either side closes."""
    tasks = [asyncio.ensure_future(_pipe(reader, up_writer)), asyncio.ensure_future(_pipe(up_reader, writer))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
