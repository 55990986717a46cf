"""Observation benchmark: observe() + service matching vs a parse-only baseline on the real dev corpus.

Prints pages/s and MB/s for both (medians of interleaved repetitions in the same run) and the ratio;
the target is observe + matching >= 50% of the parse-only pages/s.

    .venv/bin/python bench/observe.py [--reps 5] [--corpus PATH/TO/realpages-dev]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selectolax.lexbor import LexborHTMLParser  # noqa: E402

from common.hosts import host_of  # noqa: E402
from crawler.observe import observe  # noqa: E402
from pipelines.catalog.detect import Detector  # noqa: E402
from pipelines.catalog.load import load_catalog  # noqa: E402

TARBALL = ROOT.parent / "shared" / "corpus" / "realpages-dev.tar.gz"


def corpus_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    target = ROOT / ".cache" / "realpages-dev"
    if not (target / "manifest.csv").is_file():
        if not TARBALL.is_file():
            raise SystemExit(f"corpus not found: {TARBALL} (pass --corpus)")
        with tarfile.open(TARBALL) as tar:
            tar.extractall(ROOT / ".cache", filter="data")
    return target


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--corpus", default=None)
    args = ap.parse_args()
    root = corpus_dir(args.corpus)
    with open(root / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    pages = [((root / r["page_file"]).read_bytes(), r["original_url"]) for r in rows]
    mb = sum(len(b) for b, _ in pages) / 1e6
    detector = Detector(load_catalog())

    def parse_only() -> None:
        for body, _ in pages:
            LexborHTMLParser(body)

    def observe_and_match() -> None:
        for body, url in pages:
            obs = observe(body, url, links=False)
            detector.detect(site_host=host_of(url), references=obs.references, signatures=obs.signatures)

    observe_and_match()  # warm the memo and caches once, as a long crawl would be
    base, full = [], []
    for _ in range(args.reps):
        for fn, acc in ((parse_only, base), (observe_and_match, full)):
            t0 = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t0)
    b, f = statistics.median(base), statistics.median(full)
    n = len(pages)
    print(f"bench/observe.py: {n} real pages, {mb:.1f} MB, {args.reps} interleaved repetitions (medians)")
    print(f"{'':28}{'pages/s':>10}{'MB/s':>10}")
    print(f"{'parse-only (lexbor)':28}{n / b:>10.0f}{mb / b:>10.1f}")
    print(f"{'observe() + matching':28}{n / f:>10.0f}{mb / f:>10.1f}")
    ratio = b / f
    print(f"observe+matching / parse-only pages/s: {ratio:.2f} (target >= 0.50) {'PASS' if ratio >= 0.5 else 'FAIL'}")


if __name__ == "__main__":
    main()
