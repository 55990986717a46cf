"""Scale-out benchmark: distributed crawl throughput with 1 and 2 workers, and peak RSS as the domain list grows.

In one run on the local web (everything on 127.0.0.1, a throwaway redis-server on a free port):

1. pages/s of a distributed run (``seed --redis`` + ``crawl --redis`` workers) with 1 worker and with 2
   workers on the same sites (medians over rounds, the order alternated); pages/s is pages fetched over the span from the first site's start to the last
   site's finish (from the run's own rows, so worker start-up and idle close are not counted);
2. peak RSS after the same number of crawled sites (``--max-pages 1``, stopped by ``CLOSESPIDER_ITEMCOUNT``)
   with 10k and with 100k domains queued, for a single-process crawl (list on disk, started lazily) and a
   Redis worker (list in Redis), plus the ``seed`` process and Redis memory per queued domain. Target: the
   100k peak within 1.5x the 10k peak.

    .venv/bin/python bench/scale.py [--sites 1000] [--max-pages 5] [--rounds 3] [--crawled 2000]
                                    [--small 10000] [--big 100000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import redis  # noqa: E402
from crawl import start_web  # noqa: E402  (bench/crawl.py: the local bench web in its own process)

from common.runfolder import Layout, parts  # noqa: E402
from devweb.dns import LocalDNS  # noqa: E402
from tests.support.zones import web_zone  # noqa: E402

QUICK_IDLE = ["-s", "MAX_IDLE_TIME_BEFORE_CLOSE=1", "-s", "SR_REDIS_HEARTBEAT_INTERVAL=1", "-s",
              "SR_REDIS_HEARTBEAT_TTL=3"]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *args]


def measure(cmd: list[str], env: dict, ok=(0,)) -> tuple[float, int]:
    """Run a process to the end; (wall s, peak RSS bytes). Exit codes outside ``ok`` abort the benchmark."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        raise SystemExit(f"{' '.join(cmd[2:5])} exited {code}: {proc.stderr.read().decode()[-2000:]}")
    return time.perf_counter() - t0, ru.ru_maxrss * 1024


def start_redis(tmp: Path) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("redis-server")
    if not binary:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(200):
        try:
            client.ping()
            return proc, url
        except redis.ConnectionError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def used_memory(url: str) -> int:
    return int(redis.Redis.from_url(url).info("memory")["used_memory"])


def write_list(path: Path, n: int) -> Path:
    path.write_text("".join(f"site-{i:05d}.de\n" for i in range(1, n + 1)))
    return path


def throughput(workers: int, domains: Path, out: Path, url: str, env: dict, dns: str, max_pages: int) -> dict:
    """Seed a run, crawl it with ``workers`` worker processes, seal it; pages/s from the run's rows."""
    redis.Redis.from_url(url).flushdb()
    empty = used_memory(url)
    measure(cli("seed", "--redis", url, str(domains), "--out", str(out), "--nameserver", dns, "--max-pages",
                str(max_pages), "--no-autothrottle", *QUICK_IDLE), env)
    procs = [subprocess.Popen(cli("crawl", "--redis", url, "--out", str(out), "--no-progress"), cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(workers)]
    for p in procs:
        if p.wait() != 0:
            raise SystemExit(f"worker failed: {p.stderr.read().decode()[-2000:]}")
    measure(cli("seal", "--redis", url, "--out", str(out), "--wait", "30", "--no-summary"), env)
    run_dir = Layout(out).run_dir(Layout(out).latest_run())
    sites = pq.read_table([str(p) for p in parts(run_dir, "sites")], columns=["started_at", "finished_at"])
    pages = pq.read_table([str(p) for p in parts(run_dir, "pages")], columns=["status"]).column(0)
    fetched = len(pages) - pages.null_count
    span = (max(sites.column(1).to_pylist()) - min(sites.column(0).to_pylist())).total_seconds()
    part_bytes = sum(p.stat().st_size for p in run_dir.glob("*/part-*.parquet"))
    return {"pages": fetched, "sites": sites.num_rows, "span": span, "pps": fetched / span,
            "redis_bytes": used_memory(url) - empty, "part_bytes": part_bytes}


def rss_single(domains: Path, out: Path, env: dict, dns: str, crawled: int) -> int:
    _, rss = measure(cli("crawl", str(domains), "--out", str(out), "--nameserver", dns, "--max-pages", "1",
                         "--no-autothrottle", "--no-progress", "--no-summary", "-s", f"CLOSESPIDER_ITEMCOUNT={crawled}"),
                     env, ok=(0, 1))
    return rss


def rss_redis(domains: Path, out: Path, url: str, env: dict, dns: str, crawled: int) -> tuple[int, int, int]:
    """(seed peak RSS, worker peak RSS, Redis bytes added by the queue)."""
    redis.Redis.from_url(url).flushdb()
    before = used_memory(url)
    _, seed_rss = measure(cli("seed", "--redis", url, str(domains), "--out", str(out), "--nameserver", dns,
                              "--max-pages", "1", "--no-autothrottle", *QUICK_IDLE), env)
    queued = used_memory(url) - before
    _, worker_rss = measure(cli("crawl", "--redis", url, "--out", str(out), "--no-progress", "-s",
                                f"CLOSESPIDER_ITEMCOUNT={crawled}"), env, ok=(0, 1))
    return seed_rss, worker_rss, queued


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sites", type=int, default=1000, help="sites of the throughput runs")
    ap.add_argument("--max-pages", type=int, default=5, help="pages per site in the throughput runs")
    ap.add_argument("--rounds", type=int, default=3, help="throughput rounds (order of 1 and 2 workers alternated)")
    ap.add_argument("--crawled", type=int, default=2000, help="sites crawled before the RSS runs stop")
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--big", type=int, default=100_000)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="sr-bench-scale-"))
    web, port = start_web(max(args.sites, args.big), tmp)
    rproc, url = start_redis(tmp)
    proxy = f"http://127.0.0.1:{port}"
    env = {**os.environ, "http_proxy": proxy, "https_proxy": proxy, "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy,
           "no_proxy": "", "NO_PROXY": ""}
    try:
        with LocalDNS(web_zone("", bench_sites=max(args.sites, args.big))) as dns:  # the crawler looks every site up
            ns = dns.nameserver
            print(f"bench/scale.py: {os.cpu_count()} CPUs, local web + redis-server + crawlers on this machine")
            print(f"\n1) distributed throughput: {args.sites} sites x {args.max_pages} pages")
            domains = write_list(tmp / "domains.txt", args.sites)
            runs: dict[int, list[dict]] = {1: [], 2: []}
            for r in range(args.rounds):
                for n in ((1, 2) if r % 2 == 0 else (2, 1)):  # alternate the order: load drifts over a run
                    x = throughput(n, domains, tmp / f"out-tput-{n}-{r}", url, env, ns, args.max_pages)
                    runs[n].append(x)
                    print(f"  round {r + 1}, {n} worker(s): {x['pages']} pages, {x['sites']} sites in "
                          f"{x['span']:.1f}s = {x['pps']:.1f} pages/s")
            res = {n: min(xs, key=lambda x: abs(x["pps"] - statistics.median(y["pps"] for y in xs)))
                   for n, xs in runs.items()}
            for n in (1, 2):
                print(f"  median, {n} worker(s): {statistics.median(x['pps'] for x in runs[n]):.1f} pages/s")
            speedup = statistics.median(x["pps"] for x in runs[2]) / statistics.median(x["pps"] for x in runs[1])
            print(f"  speed-up 2 workers / 1 worker (medians): {speedup:.2f}")
            print(f"  Parquet parts: {res[2]['part_bytes'] / res[2]['sites'] / 1024:.1f} KiB per site "
                  f"({args.max_pages} pages of the synthetic bench web)")

            print(f"\n2) peak RSS after {args.crawled} crawled sites (--max-pages 1)")
            rows = {}
            for n in (args.small, args.big):
                lst = write_list(tmp / f"list-{n}.txt", n)
                single = rss_single(lst, tmp / f"out-single-{n}", env, ns, args.crawled)
                seed_rss, worker_rss, queued = rss_redis(lst, tmp / f"out-redis-{n}", url, env, ns, args.crawled)
                rows[n] = (single, worker_rss, seed_rss, queued)
            print(f"  {'domains queued':>15}{'single-process MB':>19}{'redis worker MB':>17}{'seed MB':>9}"
                  f"{'redis queue MB':>16}")
            for n, (single, worker, seed_rss, queued) in rows.items():
                print(f"  {n:>15}{single / 2**20:>19.0f}{worker / 2**20:>17.0f}{seed_rss / 2**20:>9.0f}"
                      f"{queued / 2**20:>16.1f}")
            big, small = rows[args.big], rows[args.small]
            for label, i in (("single-process", 0), ("redis worker", 1)):
                ratio = big[i] / small[i]
                print(f"  {label}: peak RSS {args.big} / {args.small} = {ratio:.2f} (target <= 1.5) "
                      f"{'PASS' if ratio <= 1.5 else 'FAIL'}")
            print(f"  redis: {big[3] / args.big:.0f} bytes per queued domain; "
                  f"{res[2]['redis_bytes'] / args.sites:.0f} bytes per crawled site once drained (dupefilter, "
                  f"run record, stats; {args.sites} sites)")
    finally:
        rproc.terminate()
        web.terminate()
        rproc.wait(10)
        web.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
