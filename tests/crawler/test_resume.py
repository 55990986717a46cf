"""A crawl killed with SIGKILL mid-run resumes from its committed parts to a complete, duplicate-free run."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq

from common.runfolder import Layout, parts
from crawler.ledger import clean_incomplete, committed
from devweb.web.server import LocalWeb
from tests.conftest import ROOT, run_cli
from tests.support.benchweb import bench_web

N = 150


def test_sigkill_then_resume_gives_every_domain_once(tmp_path, local_dns):
    domains = [f"site-{i:05d}.de" for i in range(1, N + 1)]
    (tmp_path / "d.txt").write_text("\n".join(domains) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    with LocalWeb(bench_web(N, pages_per_site=3)) as web:
        env = {**os.environ, **web.proxy_env()}
        args = ["--out", str(out), "--nameserver", local_dns.nameserver, "--no-progress", "--no-summary",
                "--max-pages", "3", "--no-autothrottle", "-s", "SR_BATCH_SITES=10"]
        proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "crawl", str(tmp_path / "d.txt"), *args,
                                 "--concurrency", "2"],
                                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        layout = Layout(out)
        deadline = time.monotonic() + 120
        run_dir = None
        while time.monotonic() < deadline:
            runs = sorted(layout.raw.glob("2*")) if layout.raw.is_dir() else []
            if runs and len(committed(runs[0])) >= 2:  # two batches complete in every table
                run_dir = runs[0]
                break
            assert proc.poll() is None, "crawl finished before it could be killed: make it slower"
            time.sleep(0.05)
        assert run_dir is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert not (run_dir / "manifest.json").exists()  # killed: not sealed
        done_before = len(committed(run_dir))
        res = run_cli(["crawl", "--resume", run_dir.name, *args, "--concurrency", "2"], env=web.proxy_env())
    assert res.returncode == 0, res.stderr[-2000:]
    assert "resuming" in res.stderr and done_before >= 2
    assert (run_dir / "manifest.json").is_file()
    names = pq.read_table([str(p) for p in parts(run_dir, "sites")], columns=["input_domain"]).column(0).to_pylist()
    assert len(names) == len(set(names)) == N
    assert set(names) == set(domains)
    manifest = layout.read_manifest(run_dir.name)
    assert sum(manifest["counts"]["sites_by_outcome"].values()) == N
    assert len(manifest["writers"]) == 2
    for table in ("pages", "resources"):  # no orphan rows of half-written sites
        rows = pq.read_table([str(p) for p in parts(run_dir, table)], columns=["input_domain"]).column(0).to_pylist()
        assert set(rows) <= set(domains)


def test_clean_incomplete_drops_partial_batches(tmp_path):
    from tests.pipelines.warehouse_fixture import write_tiny_run

    run_dir = write_tiny_run(tmp_path)
    (run_dir / "manifest.json").unlink()
    extra = run_dir / "sites" / "part-wtest-00002.parquet"  # a batch present in one table only
    extra.write_bytes((run_dir / "sites" / "part-wtest-00001.parquet").read_bytes())
    (run_dir / "pages" / ".part-wtest-00002.parquet.tmp").write_bytes(b"half")
    removed = clean_incomplete(run_dir)
    assert {p.name for p in removed} == {"part-wtest-00002.parquet", ".part-wtest-00002.parquet.tmp"}
    assert committed(run_dir) == {("wtest", 1)}


def test_resume_refuses_sealed_and_unknown_runs(tmp_path):
    from tests.pipelines.warehouse_fixture import write_tiny_run

    run_dir = write_tiny_run(tmp_path)
    res = run_cli(["crawl", "--resume", run_dir.name, "--out", str(tmp_path)])
    assert res.returncode == 2 and "sealed" in res.stderr
    res = run_cli(["crawl", "--resume", "20261101T120000Z-ffffff", "--out", str(tmp_path)])
    assert res.returncode == 2 and "no run" in res.stderr


def test_resume_crawls_the_rest_as_the_run_began(tmp_path, monkeypatch):
    """`crawl --resume RUN_ID` without flags adopts every setting the run began with (a browser run stays a
    browser run with its passes; pages per site, concurrency, resolver, -s settings stay), and its start time."""
    from crawler.runner import RUN_OPTIONS, CrawlOptions, prepare_run, resume_run, run_options

    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.delenv("http_proxy", raising=False)
    domains = tmp_path / "domains.txt"
    domains.write_text("a-site.de\nb-site.de\n", encoding="utf-8")
    began = CrawlOptions(out=tmp_path / "out", max_pages=1, concurrency=1, timeout=7.0, nameservers=("127.0.0.1:5353",),
                         mode="browser", consent_states=("accept",), signals=("gpc",),
                         extra_settings={"SR_BATCH_SITES": "5"})
    plan = prepare_run(domains, began)
    later = CrawlOptions(out=tmp_path / "out")  # the defaults: what a resume without flags parses
    resumed = resume_run(plan.run_id, later)
    assert run_options(later) == run_options(began) and set(run_options(later)) == set(RUN_OPTIONS)
    assert resumed.accepted == 2 and resumed.resumed_from == 0
    assert resumed.started_at == plan.started_at
    assert "run" not in resumed.input_info  # the manifest's input stays the input


def test_resume_refuses_flags_that_would_change_the_run(tmp_path):
    """A resume given flags that differ from the run's start is refused, listing every difference (exit 2);
    flags equal to the run's are fine."""
    from crawler.runner import CrawlOptions, prepare_run

    domains = tmp_path / "domains.txt"
    domains.write_text("a-site.de\n", encoding="utf-8")
    plan = prepare_run(domains, CrawlOptions(out=tmp_path / "out", max_pages=1, concurrency=1))
    res = run_cli(["crawl", "--resume", plan.run_id, "--out", str(tmp_path / "out"), "--max-pages", "5",
                   "--concurrency", "1", "--mode", "browser", "-s", "SR_BATCH_SITES=3"])
    assert res.returncode == 2, res.stderr
    message = " ".join(res.stderr.split())
    assert "--max-pages 5 (the run has 1)" in message and "--mode browser (the run has static)" in message
    assert "--set SR_BATCH_SITES=3 (the run has none)" in message
    assert "--concurrency" not in message  # given, but equal to the run's
    # the run began without a proxy: resuming through one would change how every remaining site is fetched
    res = run_cli(["crawl", "--resume", plan.run_id, "--out", str(tmp_path / "out")],
                  env={"https_proxy": "http://127.0.0.1:9"})
    assert res.returncode == 2 and "https_proxy set (the run went through none)" in " ".join(res.stderr.split())


def test_ctrl_c_prints_the_resume_command_and_the_resume_keeps_the_run_as_it_began(tmp_path, local_dns):
    """Interrupted with Ctrl-C, a crawl says how to finish it (exit 130); that exact command, without the flags
    the run began with, finishes it with those flags: every site has one page (--max-pages 1), the manifest
    says so and keeps the run's start time and settings digest."""
    n = 40
    domains = [f"site-{i:05d}.de" for i in range(1, n + 1)]
    (tmp_path / "d.txt").write_text("\n".join(domains) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    with LocalWeb(bench_web(n, pages_per_site=3)) as web:
        env = {**os.environ, **web.proxy_env()}
        proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "crawl", str(tmp_path / "d.txt"), "--out",
                                 str(out), "--nameserver", local_dns.nameserver, "--no-progress", "--no-summary",
                                 "--max-pages", "1", "--concurrency", "1", "--no-autothrottle",
                                 "-s", "SR_BATCH_SITES=5"],
                                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        layout = Layout(out)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            runs = sorted(layout.raw.glob("2*")) if layout.raw.is_dir() else []
            if runs and committed(runs[0]):
                break
            assert proc.poll() is None, "crawl finished before it could be interrupted"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, stderr[-2000:]
        (run_dir,) = runs
        assert not (run_dir / "manifest.json").exists()
        command = re.search(r"crawl --resume \S+ --out \S+", stderr)
        assert command, stderr[-2000:]
        assert command[0] == f"crawl --resume {run_dir.name} --out {out}"
        res = run_cli(command[0].split(), env=web.proxy_env())
    assert res.returncode == 0, res.stderr[-2000:]
    manifest = layout.read_manifest(run_dir.name)
    began = json.loads((run_dir / ".input.json").read_text(encoding="utf-8"))["run"]
    assert manifest["started_at"] == began["started_at"]
    assert (manifest["settings"]["max_pages"], manifest["settings"]["concurrency"]) == (1, 1)
    pages = pq.read_table([str(p) for p in parts(run_dir, "pages")], columns=["input_domain"]).column(0).to_pylist()
    assert len(pages) == len(set(pages)) == n  # one page per site, before and after the interruption
    assert manifest["settings_digest"] == began["settings_digest"]
