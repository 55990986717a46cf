"""`servicerisk demo --serve` keeps the demo web and DNS up and prints what to set: the printed commands work."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

from tests.conftest import ROOT, run_cli


def test_demo_serve_prints_an_environment_that_scans_a_demo_site(tmp_path):
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "demo", "--serve", "--out", str(tmp_path / "demo")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while not any("--nameserver" in line for line in lines):
            assert proc.poll() is None and time.monotonic() < deadline, lines
            lines.append(proc.stdout.readline())
        text = "".join(lines)
        proxy = re.search(r"export https_proxy=(\S+) http_proxy=(\S+)", text)
        scan = re.search(r"scan (\S+) --out \S+ --nameserver (\S+)", text)
        assert proxy and scan, text
        assert proxy[1].startswith("http://127.0.0.1:") and scan[2].startswith("127.0.0.1:")
        res = run_cli(["scan", scan[1], "--out", str(tmp_path / "mine"), "--nameserver", scan[2], "--json"],
                      env={"https_proxy": proxy[1], "http_proxy": proxy[2]})
        assert res.returncode == 0, res.stderr[-2000:]
        report = json.loads(res.stdout)
        assert report["reachable"] and report["services"]
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "stopped" in rest
