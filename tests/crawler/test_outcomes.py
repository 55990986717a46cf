"""Tests for crawler.outcomes with the real exception objects Scrapy and Twisted raise."""

from __future__ import annotations

import pytest
from OpenSSL import SSL
from scrapy import Request
from scrapy.core.downloader.handlers.http11 import TunnelError
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.utils._download_handlers import get_maxsize_msg, wrap_twisted_exceptions
from twisted.internet import defer
from twisted.internet import error as txerror
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed

from crawler.middlewares import PrivateAddressRefused
from crawler.outcomes import (
    _PROXY_STATUS,
    _SQUID,
    FALLBACK_ON,
    OUTCOMES,
    Classified,
    classify_exception,
    classify_proxy_response,
    classify_tunnel_error,
    is_html,
)


def raised(make):
    """Run ``make`` (which raises) and return the exception as Python delivers it (with __cause__ etc.)."""
    try:
        make()
    except BaseException as e:  # noqa: BLE001
        return e
    raise AssertionError("nothing raised")


def wrapped(twisted_exc: BaseException) -> BaseException:
    """What Scrapy's download handler turns a Twisted exception into (its own wrapping helper)."""

    def make():
        with wrap_twisted_exceptions():
            raise twisted_exc

    return raised(make)


def tunnel_message(extra, host: str = "127.0.0.1", port: int = 8080) -> str:
    """The TunnelError message exactly as scrapy.core.downloader.handlers.http11 formats it."""
    return f"Could not open CONNECT tunnel with proxy {host}:{port} [{extra!r}]"


# --------------------------------------------------------------------------- classify_exception


def test_download_timeout_error_is_timeout():
    c = classify_exception(DownloadTimeoutError("Getting https://example.com/ took longer than 20.0 seconds."))
    assert c == Classified("timeout", "DownloadTimeoutError",
                           "Getting https://example.com/ took longer than 20.0 seconds.")


def test_download_timeout_wrapped_from_twisted_timeout():
    exc = wrapped(txerror.TimeoutError())
    assert type(exc) is DownloadTimeoutError
    assert isinstance(exc.__cause__, txerror.TimeoutError)
    assert classify_exception(exc).outcome == "timeout"


def test_cancelled_with_empty_message_is_too_large_with_readable_detail():
    c = classify_exception(DownloadCancelledError(""))
    assert c.outcome == "too_large"
    assert c.error_class == "DownloadCancelledError"
    assert "DOWNLOAD_MAXSIZE" in c.detail


def test_cancelled_from_twisted_cancel_as_scrapy_does_it():
    # the streaming body past DOWNLOAD_MAXSIZE: Scrapy cancels the Deferred, the handler wraps CancelledError
    exc = wrapped(defer.CancelledError())
    assert type(exc) is DownloadCancelledError and str(exc) == ""
    assert classify_exception(exc).outcome == "too_large"


def test_cancelled_with_scrapy_maxsize_message_is_too_large():
    msg = get_maxsize_msg(20_000_000, 10_485_760, Request("https://example.com/"), expected=True)
    c = classify_exception(DownloadCancelledError(msg))
    assert c.outcome == "too_large"
    assert c.detail == msg


def test_download_failed_from_openssl_error_is_tls():
    ssl_exc = SSL.Error([("SSL routines", "", "certificate verify failed")])

    def make():
        try:
            raise ssl_exc
        except SSL.Error as e:
            raise DownloadFailedError(str(e)) from e

    exc = raised(make)
    c = classify_exception(exc)
    assert c.outcome == "tls_error"
    assert c.error_class == "Error"  # the OpenSSL class found in the cause chain
    assert "certificate verify failed" in c.detail


def test_response_failed_wrapping_openssl_error_is_tls():
    # what Scrapy really raises for a TLS failure mid-request: ResponseFailed([Failure(SSL.Error)]) wrapped
    inner = SSL.Error([("SSL routines", "", "tlsv1 alert internal error")])
    exc = wrapped(ResponseFailed([Failure(inner)]))
    assert type(exc) is DownloadFailedError
    assert classify_exception(exc).outcome == "tls_error"


def test_response_failed_wrapping_connection_lost_is_connect_error():
    exc = wrapped(ResponseFailed([Failure(txerror.ConnectionLost("Connection to the other side was lost"))]))
    c = classify_exception(exc)
    assert c.outcome == "connect_error"
    assert c.error_class == "DownloadFailedError"


def test_cannot_resolve_host_is_dns_error():
    c = classify_exception(CannotResolveHostError("DNS lookup failed: no results for hostname lookup: nx.example."))
    assert c.outcome == "dns_error"
    assert c.error_class == "CannotResolveHostError"


def test_cannot_resolve_host_wrapped_from_twisted_dns_lookup_error():
    exc = wrapped(txerror.DNSLookupError("address 'nx.example' not found: [Errno -2] Name or service not known."))
    assert type(exc) is CannotResolveHostError
    assert classify_exception(exc).outcome == "dns_error"


def test_twisted_dns_lookup_error_is_dns_error():
    exc = txerror.DNSLookupError("address 'nx.example' not found: [Errno -2] Name or service not known.")
    assert str(exc).startswith("DNS lookup failed")
    c = classify_exception(exc)
    assert (c.outcome, c.error_class) == ("dns_error", "DNSLookupError")


def test_twisted_tcp_timed_out_is_timeout():
    exc = txerror.TCPTimedOutError(110, "Connection timed out")
    c = classify_exception(exc)
    assert (c.outcome, c.error_class) == ("timeout", "TCPTimedOutError")


def test_twisted_connection_refused_is_connect_error():
    exc = txerror.ConnectionRefusedError(111, "Connection refused")
    c = classify_exception(exc)
    assert (c.outcome, c.error_class) == ("connect_error", "ConnectionRefusedError")
    assert "Connection refused" in c.detail


def test_download_connection_refused_is_connect_error():
    exc = wrapped(txerror.ConnectionRefusedError(111, "Connection refused"))
    assert type(exc) is DownloadConnectionRefusedError
    c = classify_exception(exc)
    assert (c.outcome, c.error_class) == ("connect_error", "DownloadConnectionRefusedError")


def test_data_loss_is_connect_error():
    assert classify_exception(ResponseDataLossError("Connection lost")).outcome == "connect_error"


def test_robots_ignore_request_is_robots_denied():
    c = classify_exception(IgnoreRequest("Forbidden by robots.txt"))
    assert (c.outcome, c.error_class) == ("robots_denied", "IgnoreRequest")


def test_other_ignore_request_is_not_robots_denied():
    assert classify_exception(IgnoreRequest("some other reason")).outcome == "connect_error"


def test_private_guard_refusal_is_refused_private():
    exc = PrivateAddressRefused("refused intranet.example: resolves to forbidden address 10.0.0.5")
    assert isinstance(exc, IgnoreRequest)
    c = classify_exception(exc)
    assert (c.outcome, c.error_class) == ("refused_private", "PrivateAddressRefused")
    assert "10.0.0.5" in c.detail


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"status": 502, "reason": b"DNS lookup failed"}, "dns_error"),
        ({"status": 504, "reason": b"Gateway Timeout"}, "timeout"),
        ({"status": 502, "reason": b"Connection refused"}, "connect_error"),
        ({"status": 502, "reason": b"Bad Gateway"}, "connect_error"),
        ({"status": 408, "reason": b"Request Timeout"}, "timeout"),
        ({"status": 403, "reason": b"Destination prohibited"}, "refused_private"),
        ({"status": 403, "reason": b"Forbidden"}, "connect_error"),
        (b"garbage that is not HTTP", "connect_error"),
    ],
)
def test_tunnel_error_as_scrapy_formats_it(extra, expected):
    msg = tunnel_message(extra)
    exc = TunnelError(msg)
    assert classify_tunnel_error(msg) == expected
    c = classify_exception(exc)
    assert (c.outcome, c.error_class) == (expected, "TunnelError")


def test_tunnel_message_literal_from_brief():
    msg = "Could not open CONNECT tunnel with proxy 127.0.0.1:8080 [{'status': 502, 'reason': b'DNS lookup failed'}]"
    assert tunnel_message({"status": 502, "reason": b"DNS lookup failed"}) == msg
    assert classify_exception(TunnelError(msg)).outcome == "dns_error"


def test_tunnel_reason_with_apostrophe():
    msg = tunnel_message({"status": 502, "reason": b"Can't resolve host"})
    assert "b\"Can't resolve host\"" in msg
    assert classify_tunnel_error(msg) == "dns_error"


def test_every_classification_is_a_known_outcome():
    samples = [
        DownloadTimeoutError("x"), DownloadCancelledError(""), CannotResolveHostError("x"),
        DownloadConnectionRefusedError("x"), DownloadFailedError("x"), IgnoreRequest("Forbidden by robots.txt"),
        ValueError("something odd"), RuntimeError(""), txerror.ConnectionDone(), TunnelError("junk"),
    ]
    for exc in samples:
        c = classify_exception(exc)
        assert c.outcome in OUTCOMES, exc
        assert isinstance(c.detail, str)
    assert set(_PROXY_STATUS.values()) <= set(OUTCOMES)
    assert set(_SQUID.values()) <= set(OUTCOMES)
    assert FALLBACK_ON <= set(OUTCOMES)


def test_detail_is_shortened_and_single_line():
    c = classify_exception(RuntimeError("line one\n\tline two " + "x" * 1000))
    assert "\n" not in c.detail and "\t" not in c.detail
    assert len(c.detail) == 300 and c.detail.endswith("…")
    assert c.detail.startswith("line one line two")


# --------------------------------------------------------------------------- classify_proxy_response


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (502, {"proxy-status": "squid; error=dns_error; rcode=NXDOMAIN"}, "dns_error"),
        (504, {"proxy-status": "fwd.example; error=dns_timeout"}, "dns_error"),
        (502, {"proxy-status": "fwd.example; error=destination_not_found"}, "dns_error"),
        (502, {"proxy-status": "fwd.example; error=connection_refused"}, "connect_error"),
        (502, {"proxy-status": "fwd.example; error=destination_unavailable"}, "connect_error"),
        (504, {"proxy-status": "fwd.example; error=connection_timeout"}, "timeout"),
        (504, {"proxy-status": "fwd.example; error=http_response_timeout"}, "timeout"),
        (502, {"proxy-status": "fwd.example; error=tls_certificate_error"}, "tls_error"),
        (502, {"proxy-status": "fwd.example; error=tls_protocol_error"}, "tls_error"),
        (403, {"proxy-status": "fwd.example; error=destination_ip_prohibited"}, "refused_private"),
        (502, {"proxy-status": "fwd.example; error=some_future_error_type"}, "connect_error"),
        (502, {"proxy-status": "rev.example, fwd.example; error=dns_timeout"}, "dns_error"),
        (503, {"x-squid-error": "ERR_DNS_FAIL 0"}, "dns_error"),
        (503, {"x-squid-error": "ERR_CONNECT_FAIL 111"}, "connect_error"),
        (504, {"x-squid-error": "ERR_READ_TIMEOUT 0"}, "timeout"),
        (504, {"x-squid-error": "ERR_CONNECT_TIMEOUT 0"}, "timeout"),
        (503, {"x-squid-error": "ERR_SECURE_CONNECT_FAIL 71"}, "tls_error"),
        (502, {"x-squid-error": "ERR_ZERO_SIZE_OBJECT 0"}, "connect_error"),
        (403, {"x-squid-error": "ERR_ACCESS_DENIED 0"}, "connect_error"),
    ],
)
def test_proxy_error_markers(status, headers, expected):
    assert classify_proxy_response(status, headers) == expected


def test_proxy_status_wins_over_squid_header():
    headers = {"proxy-status": "squid; error=connection_timeout", "x-squid-error": "ERR_DNS_FAIL 0"}
    assert classify_proxy_response(504, headers) == "timeout"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"server": "nginx", "content-type": "text/html"},
        {"proxy-status": "fwd.example; received-status=502"},  # proxy forwarded the origin's 502
        {"via": "1.1 squid"},
    ],
)
def test_origin_error_without_proxy_marker_is_none(headers):
    assert classify_proxy_response(502, headers) is None
    assert classify_proxy_response(503, headers) is None


# --------------------------------------------------------------------------- is_html


@pytest.mark.parametrize(
    ("content_type", "head", "expected"),
    [
        ("text/html", b"", True),
        ("text/html; charset=utf-8", b"", True),
        ("TEXT/HTML ; Charset=ISO-8859-1", b"", True),
        ("application/xhtml+xml", b"<?xml version='1.0'?>", True),
        ("application/xhtml+xml; charset=utf-8", b"", True),
        ("", b"<!DOCTYPE html><html><head>", True),
        ("", b"\n\n   <!doctype HTML>", True),
        ("", b"<html lang=de>", True),
        ("", b"<head><title>x</title>", True),
        (None, b"<html>", True),
        ("application/octet-stream", b"<HTML><BODY>", True),
        ("", b"%PDF-1.7\n", False),
        ("", b"\x89PNG\r\n\x1a\n", False),
        ("", b"", False),
        ("image/png", b"\x89PNG\r\n\x1a\n", False),
        ("image/png", b"<html>", False),
        ("application/pdf", b"%PDF-1.4", False),
        ("application/json", b"{\"a\": 1}", False),
        ("text/css", b"<html>", False),
    ],
)
def test_is_html(content_type, head, expected):
    assert is_html(content_type, head) is expected
