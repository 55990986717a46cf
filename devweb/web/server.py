"""Asyncio HTTP/HTTPS forward proxy on loopback that answers every request from an in-memory Web: the event loop,
``LocalWeb`` (a server in a daemon thread, for tests and the demo) and ``serve_forever`` (in the main thread)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading

from .proxy import ProxyState, listen, shutdown
from .sites import Web
from .tls import server_ssl_context
from .wire import PROXY_STATUS_NAME

__all__ = ["LocalWeb", "serve_forever", "new_event_loop", "PROXY_STATUS_NAME"]


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





class LocalWeb:
    """Run the local web proxy in a daemon thread with its own event loop.

    >>> with LocalWeb(demo_web()) as lw:
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
        self._state: ProxyState | None = None

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
            self._state = ProxyState(self.web, loop, self.request_log)
            self._server = loop.run_until_complete(listen(self._state, self.host, self._requested_port))
            self._port = self._server.sockets[0].getsockname()[1]
            self._origins = [loop.run_until_complete(listen(self._state, self.host, port, scheme))
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
            shutdown(loop, self._server, self._state)
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
    state = ProxyState(web, loop)
    server = None
    try:
        server = loop.run_until_complete(listen(state, host, port))
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
        shutdown(loop, server, state)
        loop.close()
    return 0
