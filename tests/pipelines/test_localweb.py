"""Tests for the local web proxy: real loopback sockets, no mocks."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import pytest
import yaml

from devweb.web import LocalWeb
from devweb.web.demo import (
    DEMO_DOMAINS,
    MONTH2_CHANGES,
    demo_domain_list_text,
    demo_ground_truth,
    demo_web,
)
from devweb.web.demo_sites import check_ground_truth
from devweb.web.sites import Route, Site, Web, hosts_in_html, html_route
from devweb.web.tls import CERT_COMMON_NAME
from tests.support.benchweb import bench_web
from tests.support.faults import (
    BROKEN_HTML_SITE,
    CHARSET_ENCODING,
    CHARSET_SITE,
    CHARSET_TITLE,
    CROSS_REDIRECT_SITE,
    FAULT_EXPECTED,
    HTTP_ONLY_SITE,
    HUGE_BODY_SITE,
    HUGE_BODY_SIZE,
    HUGE_CHUNKED_SITE,
    INTERNAL_REDIRECT2_SITE,
    INTERNAL_REDIRECT_SITE,
    OK_SITE,
    OK_SITE_PAGES,
    PDF_SITE,
    REDIRECT_LOOP_SITE,
    REDIRECT_TARGET_SITE,
    REFUSED_SITE,
    ROBOTS_DENY_SITE,
    TIMEOUT_SITE,
    TLS_GARBAGE_SITE,
    UNKNOWN_HOST_SITE,
    WWW_ONLY_SITE,
    WWW_ONLY_WWW_HOST,
    XSS_SITE,
    fault_web,
)
from tests.support.webs import build_web

ROOT = Path(__file__).resolve().parents[2]
CTX = ssl._create_unverified_context()


@pytest.fixture(scope="module")
def lw():
    web = build_web("faults,demo,bench", n=100_000)
    # Short hang for the slow site so the server never holds sockets for minutes.
    web[TIMEOUT_SITE].delay = 10.0
    with LocalWeb(web) as server:
        yield server


def plain(lw, timeout=5.0) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", lw.port, timeout=timeout)


def tunnel(lw, host, timeout=5.0) -> http.client.HTTPSConnection:
    conn = http.client.HTTPSConnection("127.0.0.1", lw.port, timeout=timeout, context=CTX)
    conn.set_tunnel(host, 443)
    return conn


def get(conn, url, method="GET", body=None, headers=None):
    conn.request(method, url, body=body, headers=headers or {})
    resp = conn.getresponse()
    return resp, resp.read()


def raw(lw, data: bytes, timeout=5.0) -> bytes:
    """Send raw bytes, read until the server closes (or the head of a CONNECT error arrived)."""
    with socket.create_connection(("127.0.0.1", lw.port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def head_of(response: bytes) -> tuple[str, dict[str, str]]:
    head = response.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers


# --------------------------------------------------------------------------- plain HTTP

def test_plain_absolute_form_get(lw):
    conn = plain(lw)
    resp, body = get(conn, f"http://{OK_SITE}/")
    assert resp.status == 200
    assert resp.getheader("Server") == "nginx"
    assert resp.getheader("Content-Security-Policy")
    cookies = resp.headers.get_all("Set-Cookie")
    assert len(cookies) == 2
    assert any(all(a in c for a in ("Expires=", "Max-Age=", "Domain=", "Path=", "Secure", "HttpOnly", "SameSite="))
               for c in cookies)
    assert b"https://www.googletagmanager.com/gtm.js?id=GTM-ABC1234" in body
    assert b"fonts.googleapis.com" in body
    for path in OK_SITE_PAGES:
        assert f'href="{path}"'.encode() in body


def test_origin_form_and_port_in_host(lw):
    resp = raw(lw, f"GET /impressum HTTP/1.1\r\nHost: {OK_SITE.upper()}:80\r\nConnection: close\r\n\r\n".encode())
    status, headers = head_of(resp)
    assert status == "HTTP/1.1 200 OK"
    assert headers["connection"] == "close"
    assert b"Impressum" in resp


def test_keep_alive_three_requests_and_methods(lw):
    conn = plain(lw)
    resp, body = get(conn, f"http://{OK_SITE}/")
    sock = conn.sock
    assert resp.status == 200 and body
    resp, body = get(conn, f"http://{OK_SITE}/blog/1")
    assert resp.status == 200 and b"Blogbeitrag 1" in body
    assert conn.sock is sock
    resp, body = get(conn, f"http://{OK_SITE}/kontakt", method="POST", body=b"email=a%40b.de&x=" + b"y" * 5000,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 200
    assert conn.sock is sock
    resp, body = get(conn, f"http://{OK_SITE}/", method="HEAD")
    assert resp.status == 200 and body == b""
    assert int(resp.getheader("Content-Length")) > 1000
    resp, body = get(conn, f"http://{OK_SITE}/does-not-exist")
    assert resp.status == 404
    assert conn.sock is sock


def test_pipelined_requests_and_chunked_request_body(lw):
    req = (f"POST http://{OK_SITE}/kontakt HTTP/1.1\r\nHost: {OK_SITE}\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5\r\nhallo\r\n3;ext=1\r\nabc\r\n0\r\n\r\n"
           f"GET http://{OK_SITE}/about HTTP/1.1\r\nHost: {OK_SITE}\r\n\r\n"
           f"GET http://{OK_SITE}/impressum HTTP/1.1\r\nHost: {OK_SITE}\r\nConnection: close\r\n\r\n").encode()
    resp = raw(lw, req)
    assert resp.count(b"HTTP/1.1 200 OK") == 3
    assert b"Seit 1999" in resp and b"HRB 12345" in resp


def test_connection_close_closes(lw):
    with socket.create_connection(("127.0.0.1", lw.port), timeout=3) as sock:
        sock.sendall(f"GET http://{OK_SITE}/about HTTP/1.1\r\nHost: {OK_SITE}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK")


# --------------------------------------------------------------------------- CONNECT / TLS

def test_connect_tls_ok_site(lw):
    conn = tunnel(lw, OK_SITE)
    resp, body = get(conn, "/")
    assert resp.status == 200
    assert b"GTM-ABC1234" in body
    assert len(resp.headers.get_all("Set-Cookie")) == 2
    sock = conn.sock
    for path in ("/impressum", "/blog/8"):
        resp, body = get(conn, path)
        assert resp.status == 200
    assert conn.sock is sock
    der = sock.getpeercert(binary_form=True)
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    cert = x509.load_der_x509_certificate(der)
    assert cert.subject.rfc4514_string() == f"CN={CERT_COMMON_NAME}"
    assert isinstance(cert.public_key().curve, ec.SECP256R1)
    assert sock.selected_alpn_protocol() in (None, "http/1.1")


@pytest.mark.parametrize("connect", [False, True])
def test_unknown_host_dns_error(lw, connect):
    if connect:
        req = f"CONNECT {UNKNOWN_HOST_SITE}:443 HTTP/1.1\r\nHost: {UNKNOWN_HOST_SITE}:443\r\n\r\n"
    else:
        req = f"GET http://{UNKNOWN_HOST_SITE}/ HTTP/1.1\r\nHost: {UNKNOWN_HOST_SITE}\r\nConnection: close\r\n\r\n"
    status, headers = head_of(raw(lw, req.encode()))
    assert status == "HTTP/1.1 502 DNS lookup failed"
    assert headers["proxy-status"] == "servicerisk-localweb; error=dns_error"
    assert headers["x-squid-error"] == "ERR_DNS_FAIL 0"


def test_unknown_host_keeps_plain_connection(lw):
    conn = plain(lw)
    resp, _ = get(conn, f"http://{WWW_ONLY_SITE}/")
    assert resp.status == 502 and resp.reason == "DNS lookup failed"
    resp, _ = get(conn, f"http://{OK_SITE}/")
    assert resp.status == 200


@pytest.mark.parametrize("host,connect", [
    (REFUSED_SITE, True), (REFUSED_SITE, False), (HTTP_ONLY_SITE, True), (TLS_GARBAGE_SITE, False),
])
def test_connection_refused(lw, host, connect):
    if connect:
        req = f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n"
    else:
        req = f"GET http://{host}/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    status, headers = head_of(raw(lw, req.encode()))
    assert status == "HTTP/1.1 502 Connection refused"
    assert headers["proxy-status"] == "servicerisk-localweb; error=connection_refused"
    assert headers["x-squid-error"] == "ERR_CONNECT_FAIL 111"


def test_http_only_site_serves_plain_http(lw):
    resp, body = get(plain(lw), f"http://{HTTP_ONLY_SITE}/")
    assert resp.status == 200 and b"Pension Sonnenschein" in body


def test_tls_garbage_handshake_fails(lw):
    conn = tunnel(lw, TLS_GARBAGE_SITE)
    with pytest.raises(ssl.SSLError):
        conn.request("GET", "/")
    conn.close()


@pytest.mark.parametrize("connect", [False, True])
def test_slow_site_times_out(lw, connect):
    conn = tunnel(lw, TIMEOUT_SITE, timeout=1.0) if connect else plain(lw, timeout=1.0)
    url = "/" if connect else f"http://{TIMEOUT_SITE}/"
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        get(conn, url)
    assert 0.9 <= time.monotonic() - start < 3.0
    conn.close()


def test_route_delay_and_ordering():
    web = Web([Site("delay.test", routes={"/slow": html_route("late", delay=0.3), "/fast": html_route("early")})])
    with LocalWeb(web, use_uvloop=False) as server:
        req = (b"GET http://delay.test/slow HTTP/1.1\r\nHost: delay.test\r\n\r\n"
               b"GET http://delay.test/fast HTTP/1.1\r\nHost: delay.test\r\nConnection: close\r\n\r\n")
        start = time.monotonic()
        resp = raw(server, req)
        assert time.monotonic() - start >= 0.25
        assert resp.index(b"late") < resp.index(b"early")


# --------------------------------------------------------------------------- fault bodies

def test_huge_body_content_length(lw):
    resp, body = get(plain(lw, timeout=20), f"http://{HUGE_BODY_SITE}/")
    assert resp.status == 200
    assert int(resp.getheader("Content-Length")) == HUGE_BODY_SIZE == 20 * 1024 * 1024
    assert len(body) == HUGE_BODY_SIZE


def test_huge_chunked_body(lw):
    conn = tunnel(lw, HUGE_CHUNKED_SITE, timeout=20)
    resp, body = get(conn, "/")
    assert resp.getheader("Transfer-Encoding") == "chunked"
    assert resp.getheader("Content-Length") is None
    assert len(body) == HUGE_BODY_SIZE
    resp, body = get(conn, "/", method="HEAD")  # keep-alive after a streamed body
    assert resp.status == 200 and body == b""


def test_huge_body_client_abort_does_not_hurt(lw):
    with socket.create_connection(("127.0.0.1", lw.port), timeout=5) as sock:
        sock.sendall(f"GET http://{HUGE_BODY_SITE}/ HTTP/1.1\r\nHost: {HUGE_BODY_SITE}\r\n\r\n".encode())
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")
    resp, _ = get(plain(lw), f"http://{OK_SITE}/")
    assert resp.status == 200


def test_charset_site_bytes(lw):
    conn = plain(lw)
    resp, body = get(conn, f"http://{CHARSET_SITE}/")
    assert resp.getheader("Content-Type") == "text/html"
    assert b"charset" not in body.lower()
    assert CHARSET_TITLE.replace("&", "&amp;").encode(CHARSET_ENCODING) in body
    assert b"\x96" in body and b"\xdc" in body  # en dash and Ü in windows-1252
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert b'href="/wrong"' in body and b'href="/meta"' in body
    resp, wrong = get(conn, f"http://{CHARSET_SITE}/wrong")
    assert resp.getheader("Content-Type") == "text/html; charset=utf-8" and wrong == body
    resp, meta = get(conn, f"http://{CHARSET_SITE}/meta")
    assert resp.getheader("Content-Type") == "text/html"
    assert b'<meta charset="windows-1252">' in meta


def test_redirects(lw):
    conn = tunnel(lw, REDIRECT_LOOP_SITE)
    chain = []
    path = "/"
    for _ in range(4):
        resp, _ = get(conn, path)
        assert resp.status == 302
        path = resp.getheader("Location")
        chain.append(path)
    assert chain == ["/a", "/b", "/", "/a"]
    resp, _ = get(conn, "/robots.txt")
    assert resp.status == 404
    resp, _ = get(tunnel(lw, CROSS_REDIRECT_SITE), "/")
    assert resp.status == 301 and resp.getheader("Location") == f"https://{REDIRECT_TARGET_SITE}/welcome"
    resp, body = get(tunnel(lw, REDIRECT_TARGET_SITE), "/welcome")
    assert resp.status == 200 and b'href="/impressum"' in body and b"cdn.jsdelivr.net" in body
    resp, _ = get(tunnel(lw, INTERNAL_REDIRECT_SITE), "/")
    assert resp.getheader("Location") == "http://127.0.0.1:9/admin"
    resp, _ = get(tunnel(lw, INTERNAL_REDIRECT2_SITE), "/")
    assert resp.getheader("Location") == "http://10.0.0.7/"


def test_other_fault_sites(lw):
    conn = plain(lw)
    resp, body = get(conn, f"http://{PDF_SITE}/")
    assert resp.getheader("Content-Type") == "application/pdf" and body.startswith(b"%PDF-1.4")
    resp, body = get(conn, f"http://{BROKEN_HTML_SITE}/")
    assert resp.status == 200 and b"\x00" in body and b"<script src=//cdn.jsdelivr.net/npm/foo@1/x.js>" in body
    resp, body = get(conn, f"http://{ROBOTS_DENY_SITE}/robots.txt")
    assert body == b"User-agent: *\nDisallow: /\n"
    resp, body = get(conn, f"http://{ROBOTS_DENY_SITE}/")
    assert resp.status == 200
    for path in ("/", "/anything", "/impressum"):
        resp, body = get(conn, f"http://error500-site.de{path}")
        assert resp.status == 500 and b"<h1>" in body
    resp, body = get(tunnel(lw, WWW_ONLY_WWW_HOST), "/")
    assert resp.status == 200
    resp, body = get(tunnel(lw, XSS_SITE), "/")
    cookies = resp.headers.get_all("Set-Cookie")
    assert any("<script>alert(1)</script>" in c for c in cookies)
    assert b"<title>Shop <script>alert(1)</script> Angebote</title>" in body


def test_fault_expected_matches_web():
    web = fault_web()
    assert FAULT_EXPECTED[UNKNOWN_HOST_SITE] == "dns_error"
    assert len(FAULT_EXPECTED) == 26  # 19 + gzip bomb, reset at CONNECT and five DNS faults
    assert UNKNOWN_HOST_SITE not in web and WWW_ONLY_SITE not in web and WWW_ONLY_WWW_HOST in web
    for domain in FAULT_EXPECTED:
        if domain not in (UNKNOWN_HOST_SITE, WWW_ONLY_SITE):
            assert domain in web, domain


# --------------------------------------------------------------------------- demo web

def _home(conn, host) -> tuple[int, bytes]:
    resp, body = get(conn, "/")
    return resp.status, body


def test_demo_web_sites_and_third_parties(lw):
    assert len(DEMO_DOMAINS) >= 55 and len(set(DEMO_DOMAINS)) == len(DEMO_DOMAINS)
    web = demo_web(1)
    truth = demo_ground_truth(1)
    for domain in DEMO_DOMAINS:
        host = truth[domain]["host"]
        conn = tunnel(lw, domain)
        resp, body = get(conn, "/")
        if host != domain:
            assert resp.status == 301 and resp.getheader("Location") == f"https://{host}/"
            conn = tunnel(lw, host)
            resp, body = get(conn, "/")
        assert resp.status == 200, domain
        for path in ("/impressum", "/datenschutz", "/kontakt", "/robots.txt"):
            assert get(conn, path)[0].status == 200, (domain, path)
        html = body.decode("utf-8")
        third = {h for h in hosts_in_html(html) if h != domain and not h.endswith("." + domain)}
        assert third, domain
        assert not any(h in web for h in third), domain
    # declared != embedded on most sites; privacy-clean sites exist
    assert sum(set(t["services"]) != set(t["declared"]) for t in truth.values()) >= 40
    assert sum(set(t["services"]) == {"fonts_self", "matomo_self"} for t in truth.values()) >= 3


def test_demo_month2_differs():
    w1, w2 = demo_web(1), demo_web(2)
    truth1, truth2 = demo_ground_truth(1), demo_ground_truth(2)
    changed = [d for d in DEMO_DOMAINS
               if w1[truth1[d]["host"]].routes["/"].body != w2[truth2[d]["host"]].routes["/"].body]
    assert len(changed) >= 8
    assert set(MONTH2_CHANGES) <= set(changed)
    assert demo_web(1)["kanzlei-weber.de"].routes["/"].body == w1["kanzlei-weber.de"].routes["/"].body
    assert "hotjar" in truth1["shop-gartenwelt.de"]["services"]
    assert "hotjar" not in truth2["shop-gartenwelt.de"]["services"]


def test_demo_domain_list_text():
    lines = [ln for ln in demo_domain_list_text().splitlines() if ln and not ln.startswith("#")]
    assert "http://1.2.3.4/" in lines and "not a domain" in lines
    assert len(lines) == len(DEMO_DOMAINS) + 3
    assert len(lines) - len(set(lines)) == 1


def test_demo_ground_truth_data_names_nothing_undefined():
    """The ground truth is data (devweb/data/demo_sites.yml); a service or site its tables name but do not define
    fails the load, named in the message."""
    truth = yaml.safe_load(resources.files("devweb").joinpath("data", "demo_sites.yml").read_text(encoding="utf-8"))
    assert check_ground_truth(truth) is truth
    truth["embeddings"]["kochen-mit-anna.de"]["youtube_nocokie"] = "encoded"
    truth["month2_changes"]["nowhere-site.de"] = {"removed": [], "added": []}
    with pytest.raises(ValueError, match=r"services \['youtube_nocokie'\] or sites \['nowhere-site.de'\]"):
        check_ground_truth(truth)


def test_demo_pages_escape_what_they_show():
    """The templates escape every value (& < > "): a site name with an ampersand is text, not markup."""
    home = demo_web(1)["kanzlei-weber.de"].routes["/"].body
    assert b"<title>Startseite | Kanzlei Weber &amp; Kollegen</title>" in home
    assert b"Weber & Kollegen" not in home


# --------------------------------------------------------------------------- bench web

def test_bench_web_100k(lw):
    start = time.monotonic()
    web = bench_web(100_000)
    assert time.monotonic() - start < 0.5
    assert "site-99999.de" in web and "site-100000.de" in web and "site-100001.de" not in web
    conn = tunnel(lw, "site-99999.de")
    resp, body = get(conn, "/")
    assert resp.status == 200 and 15_000 <= len(body) <= 30_000
    assert body.count(b'href="/page/') == 4
    hosts = {h for h in hosts_in_html(body.decode()) if not h.endswith("site-99999.de")}
    assert len(hosts) >= 15
    resp, body = get(conn, "/page/4")
    assert resp.status == 200
    resp, body = get(conn, "/robots.txt")
    assert body == b"User-agent: *\nAllow: /\n"
    resp, _ = get(plain(lw), "http://site-100001.de/")
    assert resp.status == 502


# --------------------------------------------------------------------------- running

def test_proxy_env_and_stop():
    server = LocalWeb(Web([Site("a.test", routes={"/": Route(body=b"x")})])).start()
    port = server.port
    env = server.proxy_env()
    assert env["http_proxy"] == env["HTTPS_PROXY"] == f"http://127.0.0.1:{port}" == server.proxy_url
    assert env["no_proxy"] == env["NO_PROXY"] == ""
    conn = plain(server)
    assert get(conn, "http://a.test/")[1] == b"x"
    server.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()


def test_cli_ready_file_and_sigterm(tmp_path):
    ready = tmp_path / "port"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.webs", "--web", "faults", "--port", "0",
                             "--ready-file", str(ready)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while not ready.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        port = int(ready.read_text())
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        assert get(conn, f"http://{OK_SITE}/")[0].status == 200
        conn.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        out, err = proc.communicate()
        assert out == b"" and err == b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
