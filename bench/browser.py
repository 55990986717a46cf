"""Browser-mode benchmark: sites per minute in headless Chromium vs static mode, same local sites, same run.

Crawls N generated local sites (one page each) through the local proxy, once in static mode and once in browser
mode (pre-consent only), and prints sites/min for both and their ratio. The target is >= 20 sites/min in browser
mode on 2 cores. Nothing leaves 127.0.0.1: Chromium gets the local proxy as --proxy-server.

    .venv/bin/python bench/browser.py [--sites 100] [--contexts 4]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.crawl import start_web  # noqa: E402
from common.runfolder import Layout  # noqa: E402
from devweb.dns import LocalDNS  # noqa: E402
from tests.support.zones import web_zone  # noqa: E402

TARGET = 20.0  # sites/min in browser mode on 2 cores


def run_child(cmd: list[str], env: dict) -> tuple[float, float, int]:
    """Run a crawl on every core (Chromium needs more than one); return (wall s, CPU s incl. children, peak RSS)."""
    import subprocess

    t0 = time.perf_counter()
    before = os.times()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(proc.pid, 0)
    after = os.times()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[:6]} failed: {proc.stderr.read().decode()[-2000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return time.perf_counter() - t0, cpu, ru.ru_maxrss * 1024


def crawl_round(mode: str, domains: Path, out: Path, env: dict, contexts: int, nameserver: str) -> dict:
    cmd = [sys.executable, "-m", "pipelines.cli", "crawl", str(domains), "--out", str(out), "--mode", mode,
           "--max-pages", "1", "--nameserver", nameserver, "--no-autothrottle", "--no-progress", "--no-summary"]
    if mode == "browser":
        cmd += ["-s", f"SR_BROWSER_CONTEXTS={contexts}", "--concurrency", str(2 * contexts)]
    wall, cpu, rss = run_child(cmd, env)
    layout = Layout(out)
    manifest = layout.read_manifest(layout.latest_run())
    elapsed = manifest["counts"]["scrapy"].get("elapsed_time_seconds", wall)
    return {"wall": wall, "cpu": cpu, "rss": rss, "elapsed": elapsed, "sites": manifest["counts"]["sites"],
            "ok": manifest["counts"]["sites_by_outcome"].get("ok", 0),
            "requests": manifest["counts"].get("browser", {}).get("requests", 0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sites", type=int, default=100)
    ap.add_argument("--contexts", type=int, default=4, help="browser contexts (pages loading at once)")
    args = ap.parse_args()
    if not shutil.which("chromium"):
        raise SystemExit("bench/browser.py: chromium is not installed (apt-get install chromium)")

    tmp = Path(tempfile.mkdtemp(prefix="sr-bench-browser-"))
    web, port = start_web(args.sites, tmp)
    proxy = f"http://127.0.0.1:{port}"
    env = {**os.environ, "http_proxy": proxy, "https_proxy": proxy, "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy,
           "no_proxy": "", "NO_PROXY": ""}
    dns = LocalDNS(web_zone("", bench_sites=args.sites)).start()  # the crawler looks every site up itself
    try:
        domains = tmp / "domains.txt"
        domains.write_text("".join(f"site-{i:05d}.de\n" for i in range(1, args.sites + 1)))
        print(f"bench/browser.py: {args.sites} local sites, 1 page each, {os.cpu_count()} CPUs, "
              f"{args.contexts} browser contexts")
        t0 = time.perf_counter()
        static = crawl_round("static", domains, tmp / "out-static", env, args.contexts, dns.nameserver)
        browser = crawl_round("browser", domains, tmp / "out-browser", env, args.contexts, dns.nameserver)
        print(f"{'':10}{'sites':>7}{'ok':>6}{'seconds':>9}{'sites/min':>11}{'CPU s':>8}{'peak RSS MB':>13}")
        for name, r in (("static", static), ("browser", browser)):
            r["spm"] = r["sites"] / r["elapsed"] * 60.0
            print(f"{name:10}{r['sites']:>7}{r['ok']:>6}{r['elapsed']:>9.1f}{r['spm']:>11.1f}{r['cpu']:>8.1f}"
                  f"{r['rss'] / 2**20:>13.0f}")
        print(f"browser requests recorded: {browser['requests']} ({browser['requests'] / max(1, browser['sites']):.1f} "
              f"per site)")
        ratio = browser["spm"] / static["spm"]
        print(f"ratio browser/static sites/min: {ratio:.3f} (browser is {1 / ratio:.1f}x slower)")
        print(f"browser mode: {browser['spm']:.1f} sites/min (target >= {TARGET:.0f} on 2 cores) "
              f"{'PASS' if browser['spm'] >= TARGET else 'FAIL'}; total {time.perf_counter() - t0:.0f}s")
    finally:
        dns.stop()
        web.terminate()
        web.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
