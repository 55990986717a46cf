"""Scenario for ``test_browser_guard.py``, run by ``tests.support.netns.run_in_netns`` in a network namespace of its own:
a browser-mode crawl of a page whose scripts request ``http://127.0.0.1:<port>/`` and ``http://169.254.169.254/``,
while listeners on exactly those addresses count every connection (169.254.169.254 is put on this namespace's
loopback, so a connection could reach it here and only here). Prints the counts, the upstream proxy's log and the
page's browser request rows as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from common.runfolder import Layout, parts  # noqa: E402
from devweb.dns import LocalDNS, Zone  # noqa: E402
from devweb.dns.fixtures import FIXTURE_ADDRESS  # noqa: E402
from devweb.web.server import LocalWeb  # noqa: E402
from devweb.web.sites import Route, Site, Web, html_route, redirect, robots_route  # noqa: E402
from tests.support.netns import CountingListener, add_loopback_address, loopback_up  # noqa: E402

PROBE_SITE = "guard-probe.de"
REDIRECT_SITE = "guard-redirect.de"  # its home page redirects to the loopback listener
CDN = "cdn.guard-probe-cdn.de"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def main() -> None:
    loopback_up()
    add_loopback_address("169.254.169.254", 1)
    out = Path(sys.argv[1])
    loopback = CountingListener("127.0.0.1")
    metadata = CountingListener("169.254.169.254", 80)
    page = (f'<!doctype html><html><head><title>Probe</title></head><body><h1>Probe</h1>'
            f'<img src="http://{CDN}/ok.png" alt="">'
            f'<iframe src="http://127.0.0.1:{loopback.port}/frame"></iframe>'
            f'<img src="http://169.254.169.254/latest/meta-data/iam" alt="">'
            f"<script>fetch('http://127.0.0.1:{loopback.port}/steal').catch(function(){{}});"
            f"fetch('http://169.254.169.254/latest/meta-data/').catch(function(){{}});</script></body></html>")
    web = Web([Site(PROBE_SITE, https=False, routes={"/": html_route(page), "/robots.txt": robots_route("")}),
               Site(REDIRECT_SITE, https=False, routes={"/": redirect(f"http://127.0.0.1:{loopback.port}/admin", 302),
                                                        "/robots.txt": robots_route("")}),
               Site(CDN, routes={"/ok.png": Route(headers=[("Content-Type", "image/png")], body=PNG)})])
    domains = out / "domains.txt"
    domains.write_text(f"{PROBE_SITE}\n{REDIRECT_SITE}\n", encoding="utf-8")
    with LocalDNS(Zone.of_hosts([PROBE_SITE, REDIRECT_SITE, CDN], FIXTURE_ADDRESS)) as dns, \
            LocalWeb(web, log=True) as lw:
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        env.update(lw.proxy_env())
        proc = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "crawl", str(domains), "--out", str(out / "out"), "--mode",
             "browser", "--max-pages", "1", "--nameserver", dns.nameserver, "--no-progress", "--no-summary",
             "-s", "SR_BROWSER_PAGE_BUDGET=25"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        log = list(lw.request_log)
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed ({proc.returncode}): {proc.stderr[-3000:]}")
    layout = Layout(out / "out")
    run_id = layout.latest_run()
    run_dir = layout.run_dir(run_id)
    import pyarrow.parquet as pq

    rows = pq.read_table([str(p) for p in parts(run_dir, "resources")],
                         columns=["input_domain", "url", "host", "method", "status", "failure"]).to_pylist()
    sites = {r["input_domain"]: r for r in pq.read_table([str(p) for p in parts(run_dir, "sites")],
                                                         columns=["input_domain", "outcome", "detail"]).to_pylist()}
    print(json.dumps({"loopback_port": loopback.port, "loopback_connections": loopback.connections,
                      "metadata_connections": metadata.connections, "proxy_log": log,
                      "browser_rows": [r for r in rows if r["method"] == "browser"], "sites": sites,
                      "stats": layout.read_manifest(run_id)["counts"]["stats"]}))


if __name__ == "__main__":
    main()
