"""Distributed crawls on a real redis-server: two workers share one frontier; a killed worker's sites are
re-enqueued with ``seed --requeue-missing``; ``seal`` writes the manifest only when the run is complete."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import redis

from common.runfolder import Layout, parts
from crawler.distributed.queue import Keys, entry, home_request, parse_entry, site_dupefilter
from crawler.ledger import committed
from devweb.web.server import LocalWeb
from tests.conftest import ROOT, run_cli
from tests.support.benchweb import bench_web

N = 500
# fast heartbeats and idle close so the test does not wait on production defaults (30 s TTL, 10 s idle)
QUICK = ["-s", "SR_REDIS_HEARTBEAT_INTERVAL=0.5", "-s", "SR_REDIS_HEARTBEAT_TTL=2", "-s", "MAX_IDLE_TIME_BEFORE_CLOSE=1"]


def _domains(tmp_path: Path) -> tuple[Path, list[str]]:
    domains = [f"site-{i:05d}.de" for i in range(1, N + 1)]
    path = tmp_path / "d.txt"
    path.write_text("\n".join(domains) + "\n", encoding="utf-8")
    return path, domains


def _worker(url: str, out: Path, env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "crawl", "--redis", url, "--out", str(out),
                             "--no-progress"], env={**os.environ, **env}, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"))


def _writer_of(log: Path, proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        m = re.search(r"worker (\S+) joined", log.read_text())
        if m:
            return m[1]
        assert proc.poll() is None, log.read_text()[-2000:]
        time.sleep(0.05)
    raise AssertionError("worker did not join")


def _site_rows(run_dir: Path) -> list[str]:
    return pq.read_table([str(p) for p in parts(run_dir, "sites")], columns=["input_domain"]).column(0).to_pylist()


def _seed(url, domains_path, out, dns, *extra):
    res = run_cli(["seed", "--redis", url, str(domains_path), "--out", str(out), "--nameserver", dns,
                   "--max-pages", "1", "--no-autothrottle", *QUICK, *extra])
    assert res.returncode == 0, res.stderr[-2000:]
    (run_dir,) = Layout(out).raw.iterdir()
    return run_dir


def test_two_workers_crawl_every_site_exactly_once(tmp_path, local_dns, redis_server):
    domains_path, domains = _domains(tmp_path)
    out = tmp_path / "out"
    with LocalWeb(bench_web(N, pages_per_site=1)) as web:
        run_dir = _seed(redis_server, domains_path, out, local_dns.nameserver, "--concurrency", "4",
                        "-s", "SR_BATCH_SITES=50")
        assert redis.Redis.from_url(redis_server).llen(Keys(run_dir.name).queue) == N
        res = run_cli(["seal", "--redis", redis_server, "--out", str(out)])
        assert res.returncode == 1 and f"{N} domain(s) still queued" in res.stderr
        workers = [_worker(redis_server, out, web.proxy_env(), tmp_path / f"w{i}.log") for i in range(2)]
        writers = {_writer_of(tmp_path / f"w{i}.log", w) for i, w in enumerate(workers)}
        for w in workers:
            assert w.wait(300) == 0
        res = run_cli(["seal", "--redis", redis_server, "--out", str(out), "--wait", "10", "--no-summary"])
    assert res.returncode == 0, res.stderr[-2000:]
    names = _site_rows(run_dir)
    assert len(names) == len(set(names)) == N and set(names) == set(domains)
    manifest = Layout(out).read_manifest(run_dir.name)
    assert set(manifest["writers"]) == writers and len(writers) == 2
    per_writer = {w: sum(pq.ParquetFile(p).metadata.num_rows for p in parts(run_dir, "sites") if f"-{w}-" in p.name)
                  for w in writers}
    print("sites per worker:", per_writer)
    assert all(per_writer.values()), per_writer  # both workers took sites from the shared queue
    assert manifest["counts"]["sites"] == N
    assert manifest["counts"]["stats"]["sr/redis/popped"] == N
    assert manifest["settings"]["max_pages"] == 1
    res = run_cli(["crawl", "--redis", redis_server, "--out", str(out)])  # a late worker finds the run sealed
    assert res.returncode == 2 and "sealed" in res.stderr


def test_killed_worker_requeue_missing_then_complete(tmp_path, local_dns, redis_server):
    domains_path, domains = _domains(tmp_path)
    out = tmp_path / "out"
    with LocalWeb(bench_web(N, pages_per_site=1)) as web:
        run_dir = _seed(redis_server, domains_path, out, local_dns.nameserver, "--concurrency", "2",
                        "-s", "SR_BATCH_SITES=10", "-s", "SR_SITES_IN_FLIGHT=30")
        logs = [tmp_path / "a.log", tmp_path / "b.log"]
        a, b = (_worker(redis_server, out, web.proxy_env(), log) for log in logs)
        victim = _writer_of(logs[0], a)
        deadline = time.monotonic() + 120
        while sum(1 for w, _ in committed(run_dir) if w == victim) < 2:
            assert a.poll() is None, "the worker finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        assert b.wait(300) == 0
        res = run_cli(["seal", "--redis", redis_server, "--out", str(out)])
        assert res.returncode == 1 and ("no committed row" in res.stderr or "still running" in res.stderr)
        deadline = time.monotonic() + 30
        while True:  # the killed worker's heartbeat expires after its TTL
            res = run_cli(["seed", "--redis", redis_server, "--requeue-missing", "--out", str(out)])
            if res.returncode == 0 or time.monotonic() > deadline:
                break
            assert "still running" in res.stderr, res.stderr
            time.sleep(0.5)
        assert res.returncode == 0, res.stderr[-2000:]
        requeued = int(re.search(r"(\d+) domain\(s\) without", res.stdout)[1])
        assert requeued > 0
        c = _worker(redis_server, out, web.proxy_env(), tmp_path / "c.log")
        assert c.wait(300) == 0, (tmp_path / "c.log").read_text()[-2000:]
        res = run_cli(["seal", "--redis", redis_server, "--out", str(out), "--wait", "10", "--no-summary"])
    assert res.returncode == 0, res.stderr[-2000:]
    names = _site_rows(run_dir)
    assert len(names) == len(set(names)) == N and set(names) == set(domains)
    assert victim in Layout(out).read_manifest(run_dir.name)["writers"]  # its committed batches were kept
    for table in ("pages", "resources"):  # no orphan rows of the killed worker's half-written sites
        rows = pq.read_table([str(p) for p in parts(run_dir, table)], columns=["input_domain"]).column(0)
        assert set(rows.to_pylist()) <= set(domains)
    assert len(pq.read_table([str(p) for p in parts(run_dir, "pages")]).column(0)) == N  # one page per site


def test_queue_entries_and_site_claims(redis_server):
    client = redis.Redis.from_url(redis_server)
    assert parse_entry(entry("example.de", 7, 3)) == ("example.de", 7, 3)
    with pytest.raises(ValueError):
        parse_entry(b'{"domain": ""}')
    dupefilter = site_dupefilter(client, "20261129T084100Z-3fa2c1")
    assert not dupefilter.request_seen(home_request("example.de"))
    assert dupefilter.request_seen(home_request("example.de"))  # a second worker would skip it
    assert not dupefilter.request_seen(home_request("example.org"))


def test_redis_commands_fail_clearly(tmp_path, redis_server):
    res = run_cli(["crawl", "--redis", redis_server, "--out", str(tmp_path)])
    assert res.returncode == 2 and "no run in Redis" in res.stderr
    res = run_cli(["seal", "--redis", "redis://127.0.0.1:1/0", "--out", str(tmp_path)])
    assert res.returncode == 1 and "cannot reach Redis" in res.stderr
    res = run_cli(["crawl", "d.txt", "--redis", redis_server, "--out", str(tmp_path)])
    assert res.returncode == 2 and "no DOMAINS" in res.stderr
    res = run_cli(["crawl", "--redis", redis_server, "--out", str(tmp_path), "--max-pages", "3", "--no-autothrottle"])
    assert res.returncode == 2 and "--max-pages, --no-autothrottle: a distributed run's settings come from" in res.stderr


def test_requeue_waits_for_no_live_worker_and_seal_for_an_empty_queue_too(tmp_path, redis_server):
    from crawler.distributed.queue import worker_info

    (tmp_path / "d.txt").write_text("a-site.de\nb-site.de\nc-site.de\nnot a domain\n", encoding="utf-8")
    out = tmp_path / "out"
    res = run_cli(["seed", "--redis", redis_server, str(tmp_path / "d.txt"), "--out", str(out)])
    assert res.returncode == 0 and "3 domain(s) enqueued" in res.stdout and "1 line(s) rejected" in res.stderr
    (run_dir,) = Layout(out).raw.iterdir()
    keys, client = Keys(run_dir.name), redis.Redis.from_url(redis_server)
    requeue = ["seed", "--redis", redis_server, "--requeue-missing", "--out", str(out)]
    res = run_cli(requeue)  # queued domains are not missing
    assert res.returncode == 0 and "0 domain(s) without a committed row re-enqueued" in res.stdout
    assert client.llen(keys.queue) == 3
    client.delete(keys.queue)  # as if a worker had popped them all ...
    for domain in ("a-site.de", "b-site.de", "c-site.de"):
        site_dupefilter(client, run_dir.name).request_seen(home_request(domain))
    client.sadd(keys.writers, "wabc123")  # ... and were still crawling them
    client.set(keys.heartbeat("wabc123"), worker_info("wabc123", 3, 0), ex=60)
    res = run_cli(requeue)
    assert res.returncode == 2 and "1 worker(s) still running: wabc123@" in res.stderr
    res = run_cli(["seal", "--redis", redis_server, "--out", str(out)])
    assert res.returncode == 1 and "still running" in res.stderr
    client.delete(keys.heartbeat("wabc123"))  # the worker died: its heartbeat expired
    res = run_cli(["seal", "--redis", redis_server, "--out", str(out)])
    assert res.returncode == 1 and "3 domain(s) have no committed row" in res.stderr
    res = run_cli(requeue)
    assert res.returncode == 0 and "3 domain(s) without a committed row re-enqueued" in res.stdout
    assert client.llen(keys.queue) == 3 and client.scard(keys.dupefilter) == 0  # claims released
    assert not (run_dir / "manifest.json").exists()


def test_lost_redis_run_finishes_with_single_process_resume(tmp_path, local_dns, redis_server):
    """The run folder is the ledger: without Redis, `crawl --resume` finishes a distributed run and seals it."""
    domains_path, domains = _domains(tmp_path)
    out = tmp_path / "out"
    flags = ["--nameserver", local_dns.nameserver, "--max-pages", "1", "--no-autothrottle", "-s", "SR_BATCH_SITES=20"]
    with LocalWeb(bench_web(N, pages_per_site=1)) as web:
        res = run_cli(["seed", "--redis", redis_server, str(domains_path), "--out", str(out), "--concurrency", "2",
                       *flags])
        assert res.returncode == 0, res.stderr[-2000:]
        (run_dir,) = Layout(out).raw.iterdir()
        worker = _worker(redis_server, out, web.proxy_env(), tmp_path / "w.log")
        deadline = time.monotonic() + 120
        while len(committed(run_dir)) < 2:
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        res = run_cli(["crawl", "--resume", run_dir.name, "--out", str(out), "--no-summary", "--no-progress",
                       *flags], env=web.proxy_env())
    assert res.returncode == 0, res.stderr[-2000:]
    names = _site_rows(run_dir)
    assert len(names) == len(set(names)) == N and set(names) == set(domains)
    assert len(Layout(out).read_manifest(run_dir.name)["writers"]) == 2


def test_a_worker_cannot_join_a_run_being_sealed(tmp_path, redis_server):
    from crawler.distributed.queue import SEALING, DistributedError, join

    (tmp_path / "d.txt").write_text("a-site.de\n", encoding="utf-8")
    assert run_cli(["seed", "--redis", redis_server, str(tmp_path / "d.txt"), "--out", str(tmp_path)]).returncode == 0
    (run_dir,) = Layout(tmp_path).raw.iterdir()
    client, keys = redis.Redis.from_url(redis_server), Keys(run_dir.name)
    writer = join(client, run_dir.name)  # joining leaves a heartbeat that a seal would see
    assert client.exists(keys.heartbeat(writer))
    client.delete(keys.heartbeat(writer))
    client.hset(keys.meta, SEALING, 1)
    with pytest.raises(DistributedError, match="being sealed"):
        join(client, run_dir.name)
    assert not [k for k in client.keys(f"{keys.heartbeat('')}*")]
