"""Progress off a terminal: a ``servicerisk run`` whose output goes to a file (nohup, cron, CI) writes progress
lines into it (done/total, rate, ETA, outcome counts) for the crawl, the DNS enrichment and the build; and the
line maker itself on a fake clock."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

from crawler.progresslines import ProgressLines, progress_mode, step_lines
from devweb.dns import LocalDNS
from devweb.dns.demo import demo_zone
from devweb.web.demo import demo_domain_list_text, demo_web
from devweb.web.server import LocalWeb
from tests.conftest import ROOT


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_lines_every_n_items_and_every_interval():
    out, clock = io.StringIO(), Clock()
    p = ProgressLines("crawl", 100, "sites", stream=out, every=10, interval=60, clock=clock)
    for i in range(25):
        clock.t += 1.0
        p.advance(1, "ok" if i % 5 else "dns_error")
    clock.t += 120  # a slow stretch: the next item writes a line although fewer than 10 came
    p.advance(1, "ok")
    p.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "crawl: 10/100 sites (10%), 1.0/s, ETA 1m30s, ok 8, dns_error 2"
    assert lines[1].startswith("crawl: 20/100 sites (20%), 1.0/s, ETA 1m20s")
    assert lines[2].startswith("crawl: 26/100 sites (26%)")
    assert lines[-1].startswith("crawl: 26/100 sites (26%), 0.2/s, done in 2m25s, ok 21, dns_error 5")
    assert len(lines) == 4


def test_progress_mode_follows_the_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert progress_mode(None, Tty()) is True
    assert progress_mode(None, io.StringIO()) == "lines"
    assert progress_mode(False, Tty()) is False and progress_mode(True, io.StringIO()) is True


def test_step_lines():
    out, clock = io.StringIO(), Clock()
    step = step_lines("build", out, clock)
    step("load r1")
    clock.t = 75
    step("rebuild models")
    assert out.getvalue().splitlines() == ["build: 0s, load r1", "build: 1m15s, rebuild models"]


def test_run_redirected_to_a_file_writes_progress_lines(tmp_path):
    domains = tmp_path / "domains.txt"
    domains.write_text(demo_domain_list_text(), encoding="utf-8")
    log = tmp_path / "run.log"
    with LocalDNS(demo_zone()) as dns, LocalWeb(demo_web(month=1)) as web, open(log, "w") as f:
        env = {**os.environ, **web.proxy_env()}
        rc = subprocess.call([sys.executable, "-m", "pipelines.cli", "run", str(domains), "--out", str(tmp_path / "out"),
                              "--nameserver", dns.nameserver, "--timeout", "10", "--no-summary"],
                             stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=ROOT, timeout=600)
    text = log.read_text(encoding="utf-8")
    assert rc == 0, text[-3000:]
    crawl = [line for line in text.splitlines() if line.startswith("crawl: ")]
    assert len(crawl) >= 5, crawl  # about one line per tenth of the list, and the last
    total = int(re.match(r"crawl: \d+/(\d+) ", crawl[-1]).group(1))
    assert total >= 50  # the accepted demo domains
    assert re.fullmatch(rf"crawl: \d+/{total} sites \(\d+%\), [\d.]+/s, ETA \w+, ok \d+.*", crawl[0]), crawl[0]
    assert re.fullmatch(rf"crawl: {total}/{total} sites \(100%\), [\d.]+/s, done in \w+, ok \d+.*", crawl[-1]), crawl[-1]
    assert re.search(r"^resolve: (\d+)/\1 hosts \(100%\), .*done in", text, flags=re.M), text[-2000:]
    assert re.search(r"^build: \w+, rebuild models$", text, flags=re.M)
    assert "\x1b[" not in text  # no terminal control sequences in a log
