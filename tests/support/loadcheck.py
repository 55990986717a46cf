"""Manual throughput check of the local web (not a test) for keep-alive HTTP, CONNECT+TLS and a Scrapy crawl."""

# Usage: python -m tests.support.loadcheck [--seconds 5] [--conns 32] [--scrapy] [--no-uvloop]
# Results go to stdout as one JSON object per measurement.

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_server(n: int, no_uvloop: bool) -> tuple[subprocess.Popen, int]:
    ready = Path(tempfile.mkdtemp(prefix="localweb-load-")) / "port"
    cmd = [sys.executable, "-m", "tests.support.webs", "--web", "bench", "--n", str(n), "--ready-file", str(ready)]
    if no_uvloop:
        cmd.append("--no-uvloop")
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 20
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    return proc, int(ready.read_text())


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    idx = head.find(b"Content-Length: ")
    length = int(head[idx + 16:head.index(b"\r\n", idx)])
    await reader.readexactly(length)
    return int(head[9:12])


async def _open(port: int, host: str, tls: bool):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if tls:
        writer.write(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
        await reader.readuntil(b"\r\n\r\n")
        await writer.start_tls(_CLIENT_CTX, server_hostname=host)
    return reader, writer


_CLIENT_CTX = ssl._create_unverified_context()


async def _client(port: int, idx: int, n_sites: int, tls: bool, deadline: float, counts: list[int],
                  per_request: int = 0) -> None:
    """Keep-alive GETs; with per_request=N a new connection (and tunnel) is opened every N requests."""
    site = 1 + (idx * 7919) % n_sites
    host = f"site-{site:05d}.de"
    reader, writer = await _open(port, host, tls)
    page = 0
    sent = 0
    while time.monotonic() < deadline:
        if per_request and sent and sent % per_request == 0:
            writer.close()
            site = 1 + (site * 31 + 7) % n_sites
            host = f"site-{site:05d}.de"
            reader, writer = await _open(port, host, tls)
        sent += 1
        path = "/" if page == 0 else f"/page/{page}"
        target = path if tls else f"http://{host}{path}"
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: loadcheck\r\n"
                     f"Accept-Encoding: identity\r\n\r\n".encode())
        status = await _read_response(reader)
        if status == 200:
            counts[0] += 1
        page = (page + 1) % 5
    writer.close()


async def _raw_load(port: int, conns: int, seconds: float, tls: bool, n_sites: int, per_request: int) -> int:
    counts = [0]
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(_client(port, i, n_sites, tls, deadline, counts, per_request) for i in range(conns)))
    return counts[0]


def _raw(port: int, pid: int, conns: int, seconds: float, tls: bool, n_sites: int, label: str,
         per_request: int = 0) -> dict:
    try:
        import uvloop  # type: ignore[import-not-found]
        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    cpu0, t0 = _cpu_seconds(pid), time.monotonic()
    done = runner(_raw_load(port, conns, seconds, tls, n_sites, per_request))
    elapsed = time.monotonic() - t0
    cpu = _cpu_seconds(pid) - cpu0
    return {"mode": label, "connections": conns, "requests": done, "seconds": round(elapsed, 2),
            "req_per_s": round(done / elapsed), "server_cpu_share": round(cpu / elapsed, 2),
            "server_capacity_req_per_s_est": round(done / cpu) if cpu else None}


_SPIDER = textwrap.dedent("""
    import sys, time, json
    import scrapy
    from scrapy.crawler import CrawlerProcess

    N = int(sys.argv[1])
    class Bench(scrapy.Spider):
        name = "bench"
        async def start(self):
            for k in range(1, N + 1):
                yield scrapy.Request(f"{sys.argv[2]}://site-{k:05d}.de/", callback=self.parse)
        def parse(self, response):
            for href in response.css("nav a::attr(href)").getall():
                if href.startswith("/page/"):
                    yield response.follow(href, callback=self.parse_page)
        def parse_page(self, response):
            pass

    proc = CrawlerProcess({"LOG_LEVEL": "ERROR", "ROBOTSTXT_OBEY": False, "CONCURRENT_REQUESTS": 128,
                           "CONCURRENT_REQUESTS_PER_DOMAIN": 4, "COOKIES_ENABLED": False, "TELNETCONSOLE_ENABLED": False,
                           "DOWNLOAD_TIMEOUT": 30, "RETRY_ENABLED": False, "REACTOR_THREADPOOL_MAXSIZE": 4,
                           "LOGSTATS_INTERVAL": 0})
    crawler = proc.create_crawler(Bench)
    t0 = time.monotonic()
    proc.crawl(crawler)
    proc.start()
    elapsed = time.monotonic() - t0
    stats = crawler.stats.get_stats()
    n = stats.get("downloader/response_count", 0)
    sys.stdout.write(json.dumps({"responses": n, "seconds": round(elapsed, 2), "status_200": stats.get("downloader/response_status_count/200", 0),
                      "errors": {k: v for k, v in stats.items() if "exception" in k}}) + "\n")
""")


def _scrapy(port: int, pid: int, sites: int, scheme: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    url = f"http://127.0.0.1:{port}"
    env.update({"http_proxy": url, "https_proxy": url, "HTTP_PROXY": url, "HTTPS_PROXY": url,
                "no_proxy": "", "NO_PROXY": ""})
    # Scrapy inspects callback source code, so the spider must live in a real file.
    script = Path(tempfile.mkdtemp(prefix="localweb-spider-")) / "bench_spider.py"
    script.write_text(_SPIDER)
    cpu0 = _cpu_seconds(pid)
    out = subprocess.run([sys.executable, str(script), str(sites), scheme], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    cpu = _cpu_seconds(pid) - cpu0
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"mode": f"scrapy-{scheme}", "error": out.stderr[-2000:]}
    result = json.loads(lines[-1])
    result.update({"mode": f"scrapy-{scheme}", "req_per_s": round(result["responses"] / result["seconds"]),
                   "server_cpu_seconds": round(cpu, 2)})
    return result


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--conns", type=int, default=32)
    parser.add_argument("--sites", type=int, default=1000, help="bench sites served")
    parser.add_argument("--scrapy", action="store_true", help="also run a Scrapy crawl through the proxy")
    parser.add_argument("--scrapy-sites", type=int, default=1000)
    parser.add_argument("--no-uvloop", action="store_true", help="server uses the default asyncio loop")
    args = parser.parse_args(argv)
    proc, port = _start_server(max(args.sites, args.scrapy_sites), args.no_uvloop)
    try:
        _emit(json.dumps(_raw(port, proc.pid, args.conns, args.seconds, False, args.sites, "raw-http-keepalive")))
        _emit(json.dumps(_raw(port, proc.pid, args.conns, args.seconds, True, args.sites, "raw-connect-tls")))
        _emit(json.dumps(_raw(port, proc.pid, args.conns, args.seconds, True, args.sites,
                              "raw-connect-tls-new-tunnel-per-request", per_request=1)))
        _emit(json.dumps(_raw(port, proc.pid, args.conns, args.seconds, False, args.sites,
                              "raw-http-new-connection-per-request", per_request=1)))
        if args.scrapy:
            _emit(json.dumps(_scrapy(port, proc.pid, args.scrapy_sites, "http")))
            _emit(json.dumps(_scrapy(port, proc.pid, args.scrapy_sites, "https")))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
