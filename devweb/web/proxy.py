"""The local web's connection protocol: plain proxy requests, CONNECT tunnels with TLS, origin-server ports, and
the fault kinds a site can have (refused, reset, TLS garbage, slow); answers come from the in-memory Web."""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Iterator

from .sites import Route, Site, Web, normalize_host, redirect
from .tls import server_ssl_context
from .wire import (
    BAD_REQUEST,
    CONTINUE,
    DNS_FAIL,
    ESTABLISHED,
    GARBAGE,
    REFUSED,
    TOO_LARGE_HEAD,
    route_wire,
    stream_chunked,
    stream_plain,
)

__all__ = ["ProxyState", "listen", "shutdown"]

_MAX_HEAD = 64 * 1024
_MAX_PENDING = 4 * 1024 * 1024
_GARBAGE_LINGER = 10.0

_KIND_NORMAL = "normal"
_KIND_SLOW = "slow"
_KIND_GARBAGE = "tls_garbage"
_KIND_RESET = "reset"
_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends a TCP reset

class ProxyState:
    """Shared per-server state: the web, TLS context and open connections."""

    __slots__ = ("web", "lookup", "ssl_ctx", "conns", "loop", "log")

    def __init__(self, web: Web, loop: asyncio.AbstractEventLoop, log: list | None = None) -> None:
        self.log = log  # (method, host) per proxied request and CONNECT, when the server keeps a log
        self.web = web
        self.lookup = web.lookup
        self.ssl_ctx = server_ssl_context()
        self.conns: set[_ProxyProtocol] = set()
        self.loop = loop

    def close_all(self) -> None:
        for conn in list(self.conns):
            conn.abort()


class _ProxyProtocol(asyncio.Protocol):
    """One client connection: plain proxy requests, CONNECT tunnels and in-tunnel requests."""

    __slots__ = ("state", "transport", "buf", "site", "busy", "hanging", "closed", "paused",
                 "stream", "stream_close", "timer", "body_left", "chunk_left", "garbage", "origin")

    def __init__(self, state: ProxyState, origin: str = "") -> None:
        self.state = state
        self.origin = origin                 # "" behind the proxy; "http" or "https": an origin server's port
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.site: Site | None = None      # set inside a CONNECT tunnel
        self.busy = False                  # a response is pending (delay/stream/TLS setup)
        self.hanging = False               # slow site: never answer
        self.closed = False
        self.paused = False
        self.stream: Iterator | None = None
        self.stream_close = False
        self.timer: asyncio.TimerHandle | None = None
        self.body_left = 0                 # request body bytes still to discard
        self.chunk_left = -1               # >=0 while discarding a chunked request body
        self.garbage = 0                   # 1: tunnel that answers TLS with garbage; 2: sent

    # -- asyncio callbacks
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.state.conns.add(self)
        transport.set_write_buffer_limits(high=512 * 1024, low=128 * 1024)

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.stream = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.state.conns.discard(self)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.stream is not None:
            self._pump()

    def eof_received(self):
        return None  # close our side too

    def data_received(self, data: bytes) -> None:
        if self.busy:
            if self.garbage:
                self._send_garbage()
            elif not self.hanging:
                self.buf += data
                if len(self.buf) > _MAX_PENDING:
                    self.abort()
            return
        self.buf = self.buf + data if self.buf else data
        self._process()

    # -- helpers
    def reset(self) -> None:
        """Close with a TCP reset (RST) instead of an orderly close."""
        if not self.closed and self.transport is not None:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
                except OSError:
                    pass
        self.abort()

    def abort(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.abort()

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            self.transport.close()

    def _finish(self, close: bool) -> None:
        """The current response is fully written."""
        if close:
            self._close()
        elif self.busy:
            self.busy = False
            if self.buf:
                self._process()

    # -- request parsing
    def _process(self) -> None:
        buf = self.buf
        while not self.closed:
            if self.body_left:
                n = len(buf)
                if n <= self.body_left:
                    self.body_left -= n
                    buf = b""
                    break
                buf = buf[self.body_left:]
                self.body_left = 0
            if self.chunk_left >= 0:
                buf = self._drain_chunked(buf)
                if self.chunk_left >= 0:
                    break
            if self.busy or not buf:
                break
            idx = buf.find(b"\r\n\r\n")
            if idx < 0:
                if len(buf) > _MAX_HEAD:
                    self.transport.write(TOO_LARGE_HEAD)
                    self._close()
                break
            head = buf[:idx]
            buf = buf[idx + 4:]
            self.buf = buf
            self._request(head)
            buf = self.buf
        self.buf = buf

    def _drain_chunked(self, buf: bytes) -> bytes:
        """Discard a chunked request body from ``buf``; chunk_left becomes -1 once complete.

        chunk_left: 0 = a size line is expected next, >0 = data bytes (plus CRLF) left.
        """
        while True:
            if self.chunk_left > 0:
                take = min(self.chunk_left, len(buf))
                buf = buf[take:]
                self.chunk_left -= take
                if self.chunk_left:
                    return buf
            end = buf.find(b"\r\n")
            if end < 0:
                return buf
            try:
                size = int(buf[:end].split(b";", 1)[0].strip(), 16)
            except ValueError:
                self.chunk_left = -1
                self._close()
                return b""
            if size == 0:
                rest = buf[end + 2:]
                if rest.startswith(b"\r\n"):
                    self.chunk_left = -1
                    return rest[2:]
                trailer_end = rest.find(b"\r\n\r\n")
                if trailer_end < 0:
                    return buf  # wait for the rest of the trailers
                self.chunk_left = -1
                return rest[trailer_end + 4:]
            buf = buf[end + 2:]
            self.chunk_left = size + 2

    def _request(self, head: bytes) -> None:
        head = head.lstrip(b"\r\n")
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3:
            self.transport.write(BAD_REQUEST)
            self._close()
            return
        method, target, version = parts
        host = None
        close = version == b"HTTP/1.0"
        for line in lines[1:]:
            i = line.find(b":")
            if i <= 0:
                continue
            name = line[:i].lower()
            if name == b"host":
                host = line[i + 1:].strip()
            elif name == b"content-length":
                try:
                    self.body_left = max(0, int(line[i + 1:]))
                except ValueError:
                    self.transport.write(BAD_REQUEST)
                    self._close()
                    return
            elif name == b"connection" or name == b"proxy-connection":
                value = line[i + 1:].lower()
                if b"close" in value:
                    close = True
                elif b"keep-alive" in value and version == b"HTTP/1.0":
                    close = False
            elif name == b"transfer-encoding":
                if b"chunked" in line[i + 1:].lower():
                    self.chunk_left = 0
                    self.body_left = 0
            elif name == b"expect":
                if b"100-continue" in line[i + 1:].lower():
                    self.transport.write(CONTINUE)

        if method == b"CONNECT":
            self._connect(target)
            return

        site = self.site
        if site is None and self.origin:
            site = self._origin_site(host, target)
            if site is None:
                return
            path = target
        elif site is None:
            if target.startswith(b"http://") or target.startswith(b"https://"):
                rest = target[target.index(b"//") + 2:]
                slash = rest.find(b"/")
                if slash < 0:
                    q = rest.find(b"?")
                    host, path = (rest, b"/") if q < 0 else (rest[:q], b"/" + rest[q:])
                else:
                    host, path = rest[:slash], rest[slash:]
                at = host.rfind(b"@")
                if at >= 0:
                    host = host[at + 1:]
            elif host is not None and target.startswith(b"/"):
                path = target
            else:
                self.transport.write(BAD_REQUEST)
                self._close()
                return
            site = self.state.lookup(normalize_host(host.decode("latin-1")))
            if self.state.log is not None:
                self.state.log.append((method.decode("latin-1"), normalize_host(host.decode("latin-1"))))
            if self._unreachable(site, close):
                return
            kind = site.kind
            if not site.http or (kind != _KIND_NORMAL and kind != _KIND_SLOW):
                self.transport.write(REFUSED[close])
                if close:
                    self._close()
                return
            if site.http_redirect and kind == _KIND_NORMAL:
                path_s = path.decode("latin-1")
                route = redirect(f"https://{site.host}{path_s}", 301)
                self._respond(route, close, method == b"HEAD")
                return
        else:
            path = target
            if path.startswith(b"http://") or path.startswith(b"https://"):
                rest = path[path.index(b"//") + 2:]
                slash = rest.find(b"/")
                path = rest[slash:] if slash >= 0 else b"/"

        if site.kind == _KIND_SLOW:
            self._hang(site.delay)
            return
        if site.http_redirect and self.origin == "http":
            self._respond(redirect(f"https://{site.host}{path.decode('latin-1')}", 301), close, method == b"HEAD")
            return
        route = site.resolve(path.decode("latin-1"))
        self._respond(route, close, method == b"HEAD")

    def _unreachable(self, site: Site | None, close: bool) -> bool:
        """Answer a host the web does not know (502 DNS lookup failed) or a site that resets connections; True
        when answered."""
        if site is None:
            self.transport.write(DNS_FAIL[close])
            if close:
                self._close()
            return True
        if site.kind == _KIND_RESET:
            self.reset()
            return True
        return False

    def _origin_site(self, host: bytes | None, target: bytes) -> Site | None:
        """The site an origin server's request is for (``Host`` header), or None after resetting the connection:
        unknown hosts and sites that do not serve this scheme get no answer, as from a server that is not theirs."""
        site = self.state.lookup(normalize_host(host.decode("latin-1"))) if host and target.startswith(b"/") else None
        if self.state.log is not None and site is not None:
            self.state.log.append(("GET", site.host))
        serves = site is not None and (site.https if self.origin == "https" else site.http)
        if not serves or site.kind not in (_KIND_NORMAL, _KIND_SLOW):
            self.reset()
            return None
        return site

    # -- responses
    def _respond(self, route: Route, close: bool, head_only: bool) -> None:
        wire = route_wire(route, close, head_only)
        if route.delay:
            self.busy = True
            self.timer = self.state.loop.call_later(route.delay, self._emit, wire, close)
            return
        self._emit(wire, close)

    def _emit(self, wire: tuple[bytes, bytes | None, bool], close: bool) -> None:
        self.timer = None
        if self.closed:
            return
        data, body, chunked = wire
        self.transport.write(data)
        if body is not None:
            self.busy = True
            self.stream = stream_chunked(body) if chunked else stream_plain(body)
            self.stream_close = close
            self._pump()
            return
        self._finish(close)

    def _pump(self) -> None:
        stream = self.stream
        transport = self.transport
        write = transport.write
        while not self.paused:
            if self.closed or transport.is_closing():  # client went away mid-body
                self.stream = None
                return
            chunk = next(stream, None)
            if chunk is None:
                self.stream = None
                self._finish(self.stream_close)
                return
            write(chunk)

    def _hang(self, delay: float) -> None:
        self.busy = True
        self.hanging = True
        self.buf = b""
        self.body_left = 0
        self.chunk_left = -1
        self.timer = self.state.loop.call_later(delay, self._close)

    # -- CONNECT
    def _connect(self, target: bytes) -> None:
        self.body_left = 0
        self.chunk_left = -1
        site = self.state.lookup(normalize_host(target.decode("latin-1")))
        if self.state.log is not None:
            self.state.log.append(("CONNECT", normalize_host(target.decode("latin-1"))))
        transport = self.transport
        if self._unreachable(site, True):
            return
        kind = site.kind
        if kind == "refuse" or not site.https:
            transport.write(REFUSED[True])
            self._close()
            return
        transport.write(ESTABLISHED)
        self.busy = True
        self.buf = b""
        if kind == _KIND_GARBAGE:
            self.garbage = 1
            self.timer = self.state.loop.call_later(_GARBAGE_LINGER, self._close)
            return
        transport.pause_reading()
        self.state.loop.create_task(self._start_tls(site))

    def _send_garbage(self) -> None:
        if self.garbage == 1 and not self.closed:
            self.garbage = 2
            self.transport.write(GARBAGE)
            # keep the socket open so the client reads the garbage rather than a reset;
            # the linger timer (or the client) closes it.

    async def _start_tls(self, site: Site) -> None:
        try:
            transport = await self.state.loop.start_tls(
                self.transport, self, self.state.ssl_ctx, server_side=True, ssl_handshake_timeout=30.0)
        except (OSError, asyncio.TimeoutError, asyncio.CancelledError, ConnectionError):
            self.abort()
            self.state.conns.discard(self)
            return
        except Exception:  # ssl.SSLError and friends: the client gave up on the handshake
            self.abort()
            self.state.conns.discard(self)
            return
        if transport is None or self.closed:
            return
        self.transport = transport
        transport.set_write_buffer_limits(high=512 * 1024, low=128 * 1024)
        self.site = site
        self.busy = False
        self.paused = False
        if self.buf:
            self._process()


async def listen(state: ProxyState, host: str, port: int, origin: str = ""):
    """The proxy's listener, or with ``origin`` (``http``/``https``) an origin server's."""
    return await state.loop.create_server(lambda: _ProxyProtocol(state, origin), host, port, backlog=4096,
                                          reuse_address=True, ssl=state.ssl_ctx if origin == "https" else None)


def shutdown(loop: asyncio.AbstractEventLoop, server, state: ProxyState | None) -> None:
    if server is not None:
        server.close()
    if state is not None:
        state.close_all()
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(asyncio.sleep(0))
    except RuntimeError:
        pass
