"""Asyncio HTTP/HTTPS forward proxy on loopback that answers every request from an in-memory Web."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import struct
import threading
from http import HTTPStatus
from typing import Iterator

from .sites import STREAM_THRESHOLD, Route, Site, Web, normalize_host, redirect
from .tls import server_ssl_context

__all__ = ["LocalWeb", "serve_forever", "new_event_loop", "PROXY_STATUS_NAME"]

PROXY_STATUS_NAME = "servicerisk-localweb"

_STREAM_CHUNK = 256 * 1024
_MAX_HEAD = 64 * 1024
_MAX_PENDING = 4 * 1024 * 1024
_GARBAGE_LINGER = 10.0

_KIND_NORMAL = "normal"
_KIND_SLOW = "slow"
_KIND_GARBAGE = "tls_garbage"
_KIND_RESET = "reset"
_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends a TCP reset


def new_event_loop(use_uvloop: bool | None = None) -> asyncio.AbstractEventLoop:
    """A fresh event loop: uvloop when importable (unless disabled), else asyncio's default.

    ``use_uvloop=None`` means "use it if available unless LOCALWEB_LOOP=asyncio".
    """
    if use_uvloop is None:
        use_uvloop = os.environ.get("LOCALWEB_LOOP", "").lower() != "asyncio"
    if use_uvloop:
        try:
            import uvloop  # type: ignore[import-not-found]
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


# --------------------------------------------------------------------------- wire encoding

def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _encode(text: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def encode_head(status: int, reason: str | None, headers, length: int | None, close: bool) -> bytes:
    """Status line and headers; ``length=None`` means chunked transfer encoding."""
    parts = [f"HTTP/1.1 {status} {reason or _reason(status)}"]
    for name, value in headers:
        parts.append(f"{name}: {value}")
    if length is None:
        parts.append("Transfer-Encoding: chunked")
    else:
        parts.append(f"Content-Length: {length}")
    parts.append("Connection: close" if close else "Connection: keep-alive")
    return _encode("\r\n".join(parts) + "\r\n\r\n")


def _route_wire(route: Route, close: bool, head_only: bool) -> tuple[bytes, bytes | None, bool]:
    """(bytes to write now, body to stream or None, chunked?) for ``route``; cached on the route."""
    key = (close, head_only)
    wire = route._wire.get(key)
    if wire is not None:
        return wire
    cacheable = route.cache or not callable(route.body)
    body = route.body_bytes()
    if route.chunked:
        head = encode_head(route.status, route.reason, route.headers, None, close)
        wire = (head, None if head_only else body, True)
    else:
        head = encode_head(route.status, route.reason, route.headers, len(body), close)
        if head_only:
            wire = (head, None, False)
        elif len(body) > STREAM_THRESHOLD:
            wire = (head, body, False)
        else:
            wire = (head + body, None, False)
    if cacheable:
        route._wire[key] = wire
    return wire


def _stream_plain(body: bytes) -> Iterator[memoryview]:
    view = memoryview(body)
    for i in range(0, len(view), _STREAM_CHUNK):
        yield view[i:i + _STREAM_CHUNK]


def _stream_chunked(body: bytes) -> Iterator[bytes]:
    view = memoryview(body)
    for i in range(0, len(view), _STREAM_CHUNK):
        piece = view[i:i + _STREAM_CHUNK]
        yield b"%x\r\n" % len(piece) + piece + b"\r\n"
    yield b"0\r\n\r\n"


def _error(status: int, reason: str, headers: list[tuple[str, str]], text: str) -> dict[bool, bytes]:
    body = text.encode()
    hdrs = [("Content-Type", "text/plain; charset=utf-8"), *headers]
    return {close: encode_head(status, reason, hdrs, len(body), close) + body for close in (False, True)}


_DNS_FAIL = _error(502, "DNS lookup failed", [
    ("Proxy-Status", f"{PROXY_STATUS_NAME}; error=dns_error"),
    ("X-Squid-Error", "ERR_DNS_FAIL 0"),
], "DNS lookup failed: the host is unknown to the local web.\n")
_REFUSED = _error(502, "Connection refused", [
    ("Proxy-Status", f"{PROXY_STATUS_NAME}; error=connection_refused"),
    ("X-Squid-Error", "ERR_CONNECT_FAIL 111"),
], "Connection refused by the origin server.\n")
_BAD_REQUEST = _error(400, "Bad Request", [], "Bad request.\n")[True]
_TOO_LARGE_HEAD = _error(431, "Request Header Fields Too Large", [], "Request header too large.\n")[True]
_ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# Starts with a byte that is no TLS record type (20..23), so any TLS client fails at once.
_GARBAGE = b"\x8f\x00garbage\x00" + random.Random(0x5EED).randbytes(190)


# --------------------------------------------------------------------------- protocol

class _State:
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

    def __init__(self, state: _State, origin: str = "") -> None:
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
                    self.transport.write(_TOO_LARGE_HEAD)
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
            self.transport.write(_BAD_REQUEST)
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
                    self.transport.write(_BAD_REQUEST)
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
                    self.transport.write(_CONTINUE)

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
                self.transport.write(_BAD_REQUEST)
                self._close()
                return
            site = self.state.lookup(normalize_host(host.decode("latin-1")))
            if self.state.log is not None:
                self.state.log.append((method.decode("latin-1"), normalize_host(host.decode("latin-1"))))
            if site is None:
                self.transport.write(_DNS_FAIL[close])
                if close:
                    self._close()
                return
            kind = site.kind
            if kind == _KIND_RESET:
                self.reset()
                return
            if not site.http or (kind != _KIND_NORMAL and kind != _KIND_SLOW):
                self.transport.write(_REFUSED[close])
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
        wire = _route_wire(route, close, head_only)
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
            self.stream = _stream_chunked(body) if chunked else _stream_plain(body)
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
        if site is None:
            transport.write(_DNS_FAIL[True])
            self._close()
            return
        kind = site.kind
        if kind == _KIND_RESET:
            self.reset()
            return
        if kind == "refuse" or not site.https:
            transport.write(_REFUSED[True])
            self._close()
            return
        transport.write(_ESTABLISHED)
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
            self.transport.write(_GARBAGE)
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


# --------------------------------------------------------------------------- running

class LocalWeb:
    """Run the local web proxy in a daemon thread with its own event loop.

    >>> with LocalWeb(fault_web()) as lw:
    ...     env = lw.proxy_env()   # hand to a crawler subprocess
    """

    def __init__(self, web: Web, host: str = "127.0.0.1", port: int = 0,
                 use_uvloop: bool | None = None, log: bool = False, origin_ports: dict[str, int] | None = None) -> None:
        self.web = web
        #: also serve the sites directly, as their origin server: ``{"http": 80, "https": 443}`` (TLS from the
        #: first byte there); a crawl reaches them without a proxy when its DNS points their names at ``host``
        self.origin_ports = dict(origin_ports or {})
        #: with ``log=True``: (method, host) of every proxied request and CONNECT, in arrival order
        self.request_log: list[tuple[str, str]] | None = [] if log else None
        self.host = host
        self._requested_port = port
        self._use_uvloop = use_uvloop
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._server: asyncio.base_events.Server | None = None
        self._origins: list = []
        self._state: _State | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("LocalWeb is not running")
        return self._port

    @property
    def proxy_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def proxy_env(self) -> dict[str, str]:
        """Environment variables that route http and https through this proxy."""
        url = self.proxy_url
        return {"http_proxy": url, "https_proxy": url, "HTTP_PROXY": url, "HTTPS_PROXY": url,
                "no_proxy": "", "NO_PROXY": ""}

    def start(self) -> "LocalWeb":
        """Start listening in a daemon thread; returns once the socket is bound."""
        if self._thread is not None:
            raise RuntimeError("LocalWeb already started")
        server_ssl_context()  # generate the certificate before the loop starts
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="localweb", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._error
        return self

    def _run(self) -> None:
        loop = new_event_loop(self._use_uvloop)
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._state = _State(self.web, loop, self.request_log)
            self._server = loop.run_until_complete(_listen(self._state, self.host, self._requested_port))
            self._port = self._server.sockets[0].getsockname()[1]
            self._origins = [loop.run_until_complete(_listen(self._state, self.host, port, scheme))
                             for scheme, port in self.origin_ports.items()]
        except BaseException as exc:  # report bind errors to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            for server in self._origins:
                server.close()
            _shutdown(loop, self._server, self._state)
            loop.close()

    def stop(self) -> None:
        """Close the listener and all connections and join the thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._thread = None
        self._loop = None
        self._port = None

    def __enter__(self) -> "LocalWeb":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


async def _listen(state: _State, host: str, port: int, origin: str = ""):
    """The proxy's listener, or with ``origin`` (``http``/``https``) an origin server's."""
    return await state.loop.create_server(lambda: _ProxyProtocol(state, origin), host, port, backlog=4096,
                                          reuse_address=True, ssl=state.ssl_ctx if origin == "https" else None)


def _shutdown(loop: asyncio.AbstractEventLoop, server, state: _State | None) -> None:
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


def _write_ready_file(path: str, port: int) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as fh:
        fh.write(f"{port}\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def serve_forever(web: Web, port: int = 0, ready_file: str | None = None, host: str = "127.0.0.1",
                  use_uvloop: bool | None = None) -> int:
    """Serve ``web`` in the current (main) thread until SIGTERM/SIGINT; returns an exit code.

    When listening, the bound port is written atomically to ``ready_file``.
    """
    loop = new_event_loop(use_uvloop)
    asyncio.set_event_loop(loop)
    state = _State(web, loop)
    server = None
    try:
        server = loop.run_until_complete(_listen(state, host, port))
        bound = server.sockets[0].getsockname()[1]
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, loop.stop)
            except (NotImplementedError, RuntimeError, ValueError):
                signal.signal(sig, lambda *_: loop.call_soon_threadsafe(loop.stop))
        if ready_file:
            _write_ready_file(ready_file, bound)
        loop.run_forever()
    finally:
        _shutdown(loop, server, state)
        loop.close()
    return 0
