"""HTTP/1.1 on the wire for the local web: status lines and headers, a route's bytes (cached on the route),
streamed and chunked bodies, and the proxy's canned answers (unknown host, refused, bad request)."""

from __future__ import annotations

import random
from http import HTTPStatus
from typing import Iterator

from .sites import STREAM_THRESHOLD, Route

__all__ = ["PROXY_STATUS_NAME", "encode_head", "route_wire", "stream_plain", "stream_chunked", "DNS_FAIL", "REFUSED",
           "BAD_REQUEST", "TOO_LARGE_HEAD", "ESTABLISHED", "CONTINUE", "GARBAGE"]

PROXY_STATUS_NAME = "servicerisk-localweb"

_STREAM_CHUNK = 256 * 1024



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


def route_wire(route: Route, close: bool, head_only: bool) -> tuple[bytes, bytes | None, bool]:
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


def stream_plain(body: bytes) -> Iterator[memoryview]:
    view = memoryview(body)
    for i in range(0, len(view), _STREAM_CHUNK):
        yield view[i:i + _STREAM_CHUNK]


def stream_chunked(body: bytes) -> Iterator[bytes]:
    view = memoryview(body)
    for i in range(0, len(view), _STREAM_CHUNK):
        piece = view[i:i + _STREAM_CHUNK]
        yield b"%x\r\n" % len(piece) + piece + b"\r\n"
    yield b"0\r\n\r\n"


def _error(status: int, reason: str, headers: list[tuple[str, str]], text: str) -> dict[bool, bytes]:
    body = text.encode()
    hdrs = [("Content-Type", "text/plain; charset=utf-8"), *headers]
    return {close: encode_head(status, reason, hdrs, len(body), close) + body for close in (False, True)}


DNS_FAIL = _error(502, "DNS lookup failed", [
    ("Proxy-Status", f"{PROXY_STATUS_NAME}; error=dns_error"),
    ("X-Squid-Error", "ERR_DNS_FAIL 0"),
], "DNS lookup failed: the host is unknown to the local web.\n")
REFUSED = _error(502, "Connection refused", [
    ("Proxy-Status", f"{PROXY_STATUS_NAME}; error=connection_refused"),
    ("X-Squid-Error", "ERR_CONNECT_FAIL 111"),
], "Connection refused by the origin server.\n")
BAD_REQUEST = _error(400, "Bad Request", [], "Bad request.\n")[True]
TOO_LARGE_HEAD = _error(431, "Request Header Fields Too Large", [], "Request header too large.\n")[True]
ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# Starts with a byte that is no TLS record type (20..23), so any TLS client fails at once.
GARBAGE = b"\x8f\x00garbage\x00" + random.Random(0x5EED).randbytes(190)
