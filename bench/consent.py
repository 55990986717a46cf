"""Consent passes under load: 22 banner sites crawled in browser mode (accept and reject passes) while two
processes burn CPU, with the retry of passes that miss the banner (the default) and, in the same run, without it.

Every site shows the same consent banner (the one autoconsent's ``acris`` rule clicks) and its pre-consent load
detects it; a pass must therefore end ``clicked``, or, if even the retries missed it, ``no_banner_after_retry``,
never a plain ``no_banner``. Prints each round's site outcomes, consent results (a pass whose load failed by its
error, which fails the rule) and the pass/fail of that rule; a site whose pre-consent load failed (over the page
budget on a machine loaded beyond the burners) has no passes and shows only in the outcomes. Nothing leaves
127.0.0.1 (local web as the proxy, local DNS).

    .venv/bin/python bench/consent.py [--sites 22] [--burners 2] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyarrow.parquet as pq  # noqa: E402

from common.runfolder import Layout, parts  # noqa: E402
from devweb.dns import LocalDNS, Zone  # noqa: E402
from devweb.dns.fixtures import FIXTURE_ADDRESS  # noqa: E402
from devweb.web.browserweb import banner_domains, banner_web  # noqa: E402
from devweb.web.server import LocalWeb  # noqa: E402

BURN = "while True: pass"


def crawl(domains: Path, out: Path, env: dict, nameserver: str, retries: int) -> dict:
    """One browser crawl with accept and reject passes; the pass results and the wall time."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "crawl", str(domains), "--out", str(out), "--mode", "browser",
         "--consent", "accept,reject", "--max-pages", "1", "--nameserver", nameserver, "--no-autothrottle",
         "--no-progress", "--no-summary", "-s", f"SR_BROWSER_CONSENT_RETRIES={retries}"],
        cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed ({proc.returncode}): {proc.stderr[-2000:]}")
    layout = Layout(out)
    run_dir = layout.run_dir(layout.latest_run())
    pages = pq.read_table([str(p) for p in parts(run_dir, "pages")],
                          columns=["input_domain", "consent_state", "cmp", "consent_result", "error_class"]).to_pylist()
    counts = layout.read_manifest(run_dir.name)["counts"]
    passes = [p for p in pages if p["consent_state"] in ("accept", "reject")]
    pre = {p["input_domain"]: p["cmp"] for p in pages if p["consent_state"] == "none"}
    # a pass whose load failed (over its budget, say) is named by its error, not by its consent result
    return {"wall": wall, "results": Counter(p["error_class"] or p["consent_result"] for p in passes),
            "passes": len(passes), "detected": sum(1 for c in pre.values() if c not in (None, "none", "unknown")),
            "retries": counts["stats"].get("sr/browser/consent_retry", 0), "sites": counts["sites_by_outcome"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sites", type=int, default=22)
    ap.add_argument("--burners", type=int, default=2, help="processes spinning on the CPU during every crawl")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    if not shutil.which("chromium"):
        raise SystemExit("bench/consent.py: chromium is not installed (apt-get install chromium)")
    tmp = Path(tempfile.mkdtemp(prefix="sr-bench-consent-"))
    domains = tmp / "domains.txt"
    domains.write_text("".join(f"{d}\n" for d in banner_domains(args.sites)), encoding="utf-8")
    web = banner_web(args.sites)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a terminated bench still stops its burners
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(args.burners)]
    print(f"bench/consent.py: {args.sites} banner sites x (accept, reject), {args.burners} CPU burners, "
          f"{os.cpu_count()} CPUs")
    failed = False
    try:
        with LocalDNS(Zone.of_hosts(web.hosts(), FIXTURE_ADDRESS)) as dns, LocalWeb(web) as lw:
            env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
            env.update(lw.proxy_env())
            for r in range(args.rounds):
                for retries in ((2, 0) if r % 2 == 0 else (0, 2)):
                    res = crawl(domains, tmp / f"out-{r}-{retries}", env, dns.nameserver, retries)
                    ok = set(res["results"]) <= {"clicked", "no_banner_after_retry"}
                    label = "with retries   " if retries else "without retries"
                    print(f"  round {r + 1}, {label}: sites {dict(sorted(res['sites'].items()))}; {res['passes']} "
                          f"passes in {res['wall']:.0f}s, banner detected pre-consent on {res['detected']}/"
                          f"{args.sites} sites, {res['retries']} retries; results "
                          f"{dict(sorted(res['results'].items()))}; clicked or no_banner_after_retry only: "
                          f"{'PASS' if ok else 'FAIL'}")
                    failed |= retries > 0 and not ok
    finally:
        for b in burners:
            b.kill()
            b.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("consent passes (with retries): " + ("FAIL" if failed else "PASS"))


if __name__ == "__main__":
    main()
