"""Crawl benchmark: servicerisk vs a plain Scrapy spider on the same local URLs with the same settings.

Prints pages/s (Scrapy's own elapsed time) and crawler CPU-seconds per page for both, the ratios (medians
over rounds, order alternated), and the peak RSS of servicerisk on a 10,000-site list. The local web runs in
its own process pinned to one core and the crawler to the other, so the server is not the bottleneck.
Everything stays on 127.0.0.1.

    .venv/bin/python bench/crawl.py [--sites 1000] [--rounds 3] [--rss-sites 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common.runfolder import Layout, parts  # noqa: E402
from crawler import settings as S  # noqa: E402
from devweb.dns import LocalDNS  # noqa: E402
from tests.support.zones import web_zone  # noqa: E402

CPUS = sorted(os.sched_getaffinity(0))
CRAWLER_CPUS = {CPUS[0]}
SERVER_CPUS = set(CPUS[1:]) or {CPUS[0]}


def pin(cpus):
    return lambda: os.sched_setaffinity(0, cpus)


def start_web(n: int, tmp: Path) -> tuple[subprocess.Popen, int]:
    ready = tmp / "web.port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.webs", "--web", "bench", "--n", str(n), "--port", "0",
         "--ready-file", str(ready)],
        cwd=ROOT, preexec_fn=pin(SERVER_CPUS),
    )
    for _ in range(600):
        if ready.exists() and ready.read_text().strip():
            return proc, int(ready.read_text().strip())
        if proc.poll() is not None:
            raise SystemExit("local web failed to start")
        time.sleep(0.05)
    raise SystemExit("local web did not become ready")


def run_child(cmd: list[str], env: dict) -> tuple[float, float, int]:
    """Run a crawler process pinned to its core; return (wall s, CPU s, peak RSS bytes)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, preexec_fn=pin(CRAWLER_CPUS),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[:4]} failed: {proc.stderr.read().decode()[-2000:]}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024


def plain_settings(log: Path) -> dict:
    keys = ["USER_AGENT", "ROBOTSTXT_OBEY", "CONCURRENT_REQUESTS", "CONCURRENT_REQUESTS_PER_DOMAIN", "DOWNLOAD_DELAY",
            "DOWNLOAD_TIMEOUT", "DOWNLOAD_MAXSIZE", "DOWNLOAD_WARNSIZE", "RETRY_ENABLED", "RETRY_TIMES",
            "COOKIES_ENABLED", "REDIRECT_ENABLED", "METAREFRESH_ENABLED", "TELNETCONSOLE_ENABLED", "DNSCACHE_ENABLED",
            "REACTOR_THREADPOOL_MAXSIZE", "SCHEDULER_PRIORITY_QUEUE", "CONCURRENT_ITEMS"]
    s = {k: getattr(S, k) for k in keys}
    s.update({"AUTOTHROTTLE_ENABLED": False, "LOG_LEVEL": "INFO", "LOG_FILE": str(log)})
    return s


def servicerisk_round(domains: Path, out: Path, env: dict, dns: str) -> dict:
    cmd = [sys.executable, "-m", "pipelines.cli", "crawl", str(domains), "--out", str(out), "--nameserver", dns,
           "--no-autothrottle", "--no-progress", "--no-summary"]
    wall, cpu, rss = run_child(cmd, env)
    layout = Layout(out)
    run_id = layout.latest_run()
    manifest = layout.read_manifest(run_id)
    run_dir = layout.run_dir(run_id)
    pages = pq.read_table([str(p) for p in parts(run_dir, "pages")], columns=["final_url", "status"]).to_pylist()
    fetched = [p["final_url"] for p in pages if p["status"] is not None]
    return {"wall": wall, "cpu": cpu, "rss": rss, "pages": len(fetched), "urls": fetched,
            "elapsed": manifest["counts"]["scrapy"].get("elapsed_time_seconds", wall),
            "ok_sites": manifest["counts"]["sites_by_outcome"].get("ok", 0)}


def plain_round(urls: list[str], tmp: Path, env: dict, tag: str) -> dict:
    urls_path = tmp / f"urls-{tag}.txt"
    urls_path.write_text("\n".join(urls) + "\n")
    settings_path = tmp / f"plain-settings-{tag}.json"
    settings_path.write_text(json.dumps(plain_settings(tmp / f"plain-{tag}.log")))
    stats_path = tmp / f"plain-stats-{tag}.json"
    wall, cpu, rss = run_child([sys.executable, str(ROOT / "bench" / "plain_spider.py"), str(urls_path),
                                str(settings_path), str(stats_path)], env)
    stats = json.loads(stats_path.read_text())
    return {"wall": wall, "cpu": cpu, "rss": rss, "pages": stats.get("plain/pages", 0),
            "elapsed": stats.get("elapsed_time_seconds", wall)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sites", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rss-sites", type=int, default=10_000)
    ap.add_argument("--skip-rss", action="store_true")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="sr-bench-crawl-"))
    n_web = max(args.sites, 0 if args.skip_rss else args.rss_sites)
    web, port = start_web(n_web, tmp)
    proxy = f"http://127.0.0.1:{port}"
    env = {**os.environ, "http_proxy": proxy, "https_proxy": proxy, "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy,
           "no_proxy": "", "NO_PROXY": ""}
    os.sched_setaffinity(0, SERVER_CPUS)  # the DNS server threads live in this process
    try:
        with LocalDNS(web_zone("", bench_sites=n_web)) as dns:  # the crawler looks every site up
            domains = tmp / "domains.txt"
            domains.write_text("".join(f"site-{i:05d}.de\n" for i in range(1, args.sites + 1)))
            print(f"bench/crawl.py: {args.sites} local sites, {args.rounds} rounds, crawler on CPU {CRAWLER_CPUS}, "
                  f"local web on CPU {SERVER_CPUS}")
            sr_runs, plain_runs = [], []
            for r in range(args.rounds):
                order = ("sr", "plain") if r % 2 == 0 else ("plain", "sr")
                for which in order:
                    if which == "sr":
                        res = servicerisk_round(domains, tmp / f"out-{r}", env, dns.nameserver)
                        urls = res.pop("urls")
                        sr_runs.append(res)
                    else:
                        if r == 0 and not sr_runs:
                            urls = servicerisk_round(domains, tmp / "out-warm", env, dns.nameserver)["urls"]
                        plain_runs.append(plain_round(urls, tmp, env, str(r)))
                print(f"  round {r + 1}: servicerisk {sr_runs[-1]['pages']} pages in {sr_runs[-1]['elapsed']:.1f}s, "
                      f"plain {plain_runs[-1]['pages']} pages in {plain_runs[-1]['elapsed']:.1f}s")

            def med(runs, f):
                return statistics.median(f(x) for x in runs)

            sr_pps = med(sr_runs, lambda x: x["pages"] / x["elapsed"])
            pl_pps = med(plain_runs, lambda x: x["pages"] / x["elapsed"])
            sr_cpu = med(sr_runs, lambda x: x["cpu"] / x["pages"])
            pl_cpu = med(plain_runs, lambda x: x["cpu"] / x["pages"])
            print()
            print(f"{'':22}{'pages/s':>10}{'CPU ms/page':>14}{'peak RSS MB':>14}")
            print(f"{'plain Scrapy spider':22}{pl_pps:>10.1f}{pl_cpu * 1000:>14.2f}{med(plain_runs, lambda x: x['rss']) / 2**20:>14.0f}")
            print(f"{'servicerisk crawl':22}{sr_pps:>10.1f}{sr_cpu * 1000:>14.2f}{med(sr_runs, lambda x: x['rss']) / 2**20:>14.0f}")
            tput, cpu = sr_pps / pl_pps, sr_cpu / pl_cpu
            print(f"throughput ratio servicerisk/plain: {tput:.2f} (target >= 0.80) {'PASS' if tput >= 0.8 else 'FAIL'}")
            print(f"CPU-per-page ratio servicerisk/plain: {cpu:.2f} (target <= 1.25) {'PASS' if cpu <= 1.25 else 'FAIL'}")

            if not args.skip_rss:
                big = tmp / "domains-rss.txt"
                big.write_text("".join(f"site-{i:05d}.de\n" for i in range(1, args.rss_sites + 1)))
                res = servicerisk_round(big, tmp / "out-rss", env, dns.nameserver)
                mb = res["rss"] / 2**20
                print(f"peak RSS, {args.rss_sites} sites ({res['pages']} pages, {res['elapsed']:.0f}s): {mb:.0f} MB "
                      f"(target < 500) {'PASS' if mb < 500 else 'FAIL'}")
    finally:
        web.terminate()
        web.wait(10)


if __name__ == "__main__":
    main()
