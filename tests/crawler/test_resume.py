"""A crawl killed with SIGKILL mid-run resumes from its committed parts to a complete, duplicate-free run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq

from crawler.ledger import clean_incomplete, committed
from crawler.paths import Layout, parts
from pipelines.localweb.bench import bench_web
from pipelines.localweb.server import LocalWeb
from tests.conftest import ROOT, run_cli

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
        res = run_cli(["crawl", "--resume", run_dir.name, *args, "--concurrency", "16"], env=web.proxy_env())
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


def test_resume_crawls_the_rest_as_the_run_began(tmp_path):
    """A browser-mode run with consent passes resumes in browser mode with the same passes, whatever flags the
    resume was given (a resumed run never mixes static and browser sites)."""
    from crawler.runner import CrawlOptions, prepare_run, resume_run

    domains = tmp_path / "domains.txt"
    domains.write_text("a-site.de\nb-site.de\n", encoding="utf-8")
    began = CrawlOptions(out=tmp_path / "out", mode="browser", consent_states=("accept",), signals=("gpc",))
    plan = prepare_run(domains, began)
    later = CrawlOptions(out=tmp_path / "out")  # `crawl --resume RUN_ID` without the browser flags
    resumed = resume_run(plan.run_id, later)
    assert (later.mode, later.consent_states, later.signals) == ("browser", ("accept",), ("gpc",))
    assert resumed.accepted == 2 and resumed.resumed_from == 0
