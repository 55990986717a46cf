"""Classify what happened to a fetch into the run's outcome classes (also behind a forward proxy)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

OUTCOMES = (
    "ok",
    "dns_error",
    "connect_error",
    "timeout",
    "http_error",
    "tls_error",
    "redirect_loop",
    "robots_denied",
    "too_large",
    "not_html",
    "refused_private",
    "parse_budget_exceeded",
    "browser_error",
    "page_budget_exceeded",
)

#: Outcomes of sites whose home page answered (over HTTP, whatever it said)
ANSWERED = frozenset({"ok", "not_html", "http_error"})

#: Failures after which the next start URL (http://, then the www. variant) is tried.
FALLBACK_ON = frozenset({"dns_error", "connect_error", "tls_error"})

# RFC 9209 Proxy-Status error types -> outcome
_PROXY_STATUS = {
    "dns_timeout": "dns_error",
    "dns_error": "dns_error",
    "destination_not_found": "dns_error",
    "destination_unavailable": "connect_error",
    "destination_ip_unroutable": "connect_error",
    "connection_refused": "connect_error",
    "connection_terminated": "connect_error",
    "proxy_internal_error": "connect_error",
    "destination_ip_prohibited": "refused_private",
    "connection_timeout": "timeout",
    "connection_read_timeout": "timeout",
    "connection_write_timeout": "timeout",
    "http_response_timeout": "timeout",
    "tls_protocol_error": "tls_error",
    "tls_certificate_error": "tls_error",
    "tls_alert_received": "tls_error",
}
# Squid's X-Squid-Error codes -> outcome
_SQUID = {
    "ERR_DNS_FAIL": "dns_error",
    "ERR_CONNECT_FAIL": "connect_error",
    "ERR_READ_TIMEOUT": "timeout",
    "ERR_LIFETIME_EXP": "timeout",
    "ERR_CONNECT_TIMEOUT": "timeout",
    "ERR_SECURE_CONNECT_FAIL": "tls_error",
    "ERR_ZERO_SIZE_OBJECT": "connect_error",
}
_TUNNEL_RE = re.compile(r"'status':\s*(?P<status>\d{3}),\s*'reason':\s*b?(?P<q>['\"])(?P<reason>.*?)(?P=q)\}")
_DNS_WORDS = ("dns", "name resolution", "resolve", "unknown host", "not found", "no such host", "nxdomain")
_TIMEOUT_WORDS = ("timeout", "timed out")
_TIMEOUT_EXCEPTIONS = {"TimeoutError", "TCPTimedOutError", "ConnectingCancelledError", "UserTimeoutError",
                       "DownloadTimeoutError"}
_DNS_EXCEPTIONS = {"DNSLookupError", "CannotResolveHostError"}
_TLS_TEXT = ("OpenSSL.SSL.Error", "SSL routines", "ssl.SSLError", "tlsv1 alert", "wrong version number")
_CONNECT_EXCEPTIONS = {
    "ConnectionRefusedError",
    "ConnectError",
    "NoRouteError",
    "ConnectionLost",
    "ConnectionDone",
    "ConnectionAborted",
    "ResponseFailed",
    "DownloadConnectionRefusedError",
    "DownloadFailedError",
    "ResponseDataLossError",
    "ResponseNeverReceived",
    "PotentialDataLoss",
    "_DataLoss",
}


@dataclass(frozen=True, slots=True)
class Classified:
    """An outcome class, the underlying error class name and a short human detail."""

    outcome: str
    error_class: str
    detail: str


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def classify_proxy_response(status: int, headers: Mapping[str, str]) -> str | None:
    """Outcome for an HTTP response that a forward proxy produced instead of the origin, else None.

    ``headers`` maps lower-case names to values. Only responses carrying a proxy error marker
    (RFC 9209 ``Proxy-Status`` with ``error=``, or Squid's ``X-Squid-Error``) are treated as proxy errors.
    """
    proxy_status = headers.get("proxy-status", "")
    m = re.search(r"error=([a-z_]+)", proxy_status)
    if m:
        return _PROXY_STATUS.get(m.group(1), "connect_error")
    squid = headers.get("x-squid-error", "")
    if squid:
        return _SQUID.get(squid.split()[0], "connect_error")
    return None


def classify_tunnel_error(message: str) -> str:
    """Outcome for a failed CONNECT (Scrapy's TunnelError keeps only the status and reason phrase)."""
    m = _TUNNEL_RE.search(message)
    status = int(m.group("status")) if m else 0
    reason = (m.group("reason") if m else message).lower()
    if status in (504, 408) or any(w in reason for w in _TIMEOUT_WORDS):
        return "timeout"
    if any(w in reason for w in _DNS_WORDS):
        return "dns_error"
    if status == 403 and ("private" in reason or "prohibited" in reason):
        return "refused_private"
    return "connect_error"


def _chain(exc: BaseException) -> Iterable[BaseException]:
    """The exception, what it was raised from, and the reasons Twisted's ResponseFailed wraps."""
    todo, seen = [exc], set()
    while todo:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        if e.__cause__ is not None:
            todo.append(e.__cause__)
        for reason in getattr(e, "reasons", None) or []:
            inner = getattr(reason, "value", reason)
            if isinstance(inner, BaseException):
                todo.append(inner)


def classify_exception(exc: BaseException) -> Classified:
    """Outcome for a download failure. Never raises; unknown errors become ``connect_error``."""
    name = type(exc).__name__
    module = type(exc).__module__ or ""
    text = str(exc)
    outcome = getattr(exc, "sr_outcome", None)  # exceptions raised by our own middlewares
    if outcome:
        return Classified(outcome, getattr(exc, "sr_error_class", name), _short(text))
    if name == "TunnelError":
        return Classified(classify_tunnel_error(text), name, _short(text))
    if name == "IgnoreRequest" and "robots.txt" in text:
        return Classified("robots_denied", name, _short(text))
    if "max size" in text:
        return Classified("too_large", name, _short(text))
    if "DOWNLOAD_MAXSIZE" in text and "decompression" in text:  # a compressed body inflating past the limit
        return Classified("too_large", "DecompressionTooLarge", _short(text))
    if name == "DownloadCancelledError":
        # Scrapy cancels a streaming body that grows past DOWNLOAD_MAXSIZE with an empty message
        return Classified("too_large", name, _short(text) or "download cancelled: body larger than DOWNLOAD_MAXSIZE")
    for inner in _chain(exc):
        iname, imod = type(inner).__name__, type(inner).__module__ or ""
        if imod.startswith("OpenSSL") or iname in ("SSLError", "CertificateError") or "ssl" in imod:
            return Classified("tls_error", iname, _short(str(inner) or text))
    if any(t in text for t in _TLS_TEXT):
        return Classified("tls_error", name, _short(text))
    if any(type(e).__name__ in _DNS_EXCEPTIONS for e in _chain(exc)) or "DNS lookup failed" in text:
        return Classified("dns_error", name, _short(text))
    if name in _TIMEOUT_EXCEPTIONS or "timed out" in text.lower() or "took longer than" in text:
        return Classified("timeout", name, _short(text))
    if name in _CONNECT_EXCEPTIONS or module.startswith("twisted"):
        return Classified("connect_error", name, _short(text))
    return Classified("connect_error", name, _short(text))


def is_html(content_type: str, body_head: bytes) -> bool:
    """True for HTML/XHTML responses; a missing content type is sniffed from the first bytes."""
    ct = (content_type or "").split(";", 1)[0].strip().lower()
    if ct in ("text/html", "application/xhtml+xml"):
        return True
    if ct in ("", "text/plain", "application/octet-stream"):
        head = body_head[:512].lstrip().lower()
        return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<title"))
    return False


# Chromium's net::ERR_* codes (page.goto errors) -> outcome; checked in order, first match wins
_CHROMIUM_NET = (
    ("ERR_NAME_NOT_RESOLVED", "dns_error"),
    ("ERR_NAME_RESOLUTION_FAILED", "dns_error"),
    ("ERR_TOO_MANY_REDIRECTS", "redirect_loop"),
    ("TIMED_OUT", "timeout"),
    ("ERR_SSL", "tls_error"),
    ("ERR_CERT", "tls_error"),
    ("ERR_BAD_SSL", "tls_error"),
    ("ERR_FILE_TOO_BIG", "too_large"),
    ("ERR_CONNECTION", "connect_error"),
    ("ERR_TUNNEL_CONNECTION_FAILED", "connect_error"),  # behind a proxy: the CONNECT failed (DNS or refused)
    ("ERR_PROXY", "connect_error"),
    ("ERR_EMPTY_RESPONSE", "connect_error"),
    ("ERR_ADDRESS", "connect_error"),
    ("ERR_INTERNET_DISCONNECTED", "connect_error"),
    ("ERR_ABORTED", "not_html"),  # a download (attachment, PDF) aborts the navigation
)
_BROWSER_GONE = ("Target page, context or browser has been closed", "Browser has been closed", "browser has disconnected",
                 "Target closed", "crashed", "Connection closed")


def classify_browser_error(message: str, error_class: str = "Error") -> Classified:
    """Outcome for a failed browser navigation (Playwright's error text carries Chromium's ``net::ERR_*``).

    A closed or crashed browser is ``browser_error``; a navigation timeout is ``timeout``; unknown errors are
    ``browser_error`` (the browser, not the site, is the first suspect)."""
    text = _short(message)
    m = re.search(r"net::(ERR_[A-Z_]+)", message)
    if m:
        code = m.group(1)
        for needle, outcome in _CHROMIUM_NET:
            if needle in code:
                return Classified(outcome, code, text)
        return Classified("connect_error", code, text)
    if any(g.lower() in message.lower() for g in _BROWSER_GONE):
        return Classified("browser_error", error_class, text)
    if error_class == "TimeoutError" or "Timeout" in message:
        return Classified("timeout", error_class, text)
    if "Download is starting" in message:
        return Classified("not_html", "Download", text)
    return Classified("browser_error", error_class, text)
