"""Observation benchmark on the real dev corpus: observe() as the crawl calls it vs a lexbor parse-only baseline.

The crawl observes a site's home page with its links (to pick the next pages) and its other pages without;
with the default SR_MAX_PAGES (5) that is one home-page call for four sub-page calls. Every corpus page is
timed both ways, and the crawl's mix is timed as (home + (N-1) x sub-page) / N per page. Prints pages/s for
parse-only, each call and the mix (medians of interleaved repetitions in the same run), and the ratio of the
mix to parse-only (target >= 0.5); also observe + service matching (the warehouse's step) for reference.
Times are the process's CPU time (time.process_time_ns), so other work on a shared machine skews them less,
and the calls are interleaved page by page (the order rotating), so a slow spell slows baseline and calls alike.

    .venv/bin/python bench/observe.py [--reps 5] [--corpus PATH/TO/realpages-dev] [--max-pages 5]
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
from crawler.observe.native import _native  # noqa: E402
from crawler.settings import SR_MAX_PAGES  # noqa: E402
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
    ap.add_argument("--max-pages", type=int, default=SR_MAX_PAGES, help="pages per site in the crawl's mix")
    args = ap.parse_args()
    root = corpus_dir(args.corpus)
    with open(root / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    pages = [((root / r["page_file"]).read_bytes(), r["original_url"]) for r in rows]
    mb = sum(len(b) for b, _ in pages) / 1e6
    detector = Detector(load_catalog())

    def parse_only(body: bytes, url: str) -> None:
        LexborHTMLParser(body)

    def home_pages(body: bytes, url: str) -> None:
        observe(body, url, links=True)

    def sub_pages(body: bytes, url: str) -> None:
        observe(body, url, links=False)

    def observe_and_match(body: bytes, url: str) -> None:
        obs = observe(body, url, links=False)
        detector.detect(site_host=host_of(url), references=obs.references, signatures=obs.signature_evidence())

    calls = (parse_only, home_pages, sub_pages, observe_and_match)
    for body, url in pages:  # warm the memo and caches once, as a long crawl would be
        observe_and_match(body, url)
    # Interleaved per page (each page through every call in turn, the order rotating from page to page and
    # from repetition to repetition), so that a slow spell of a shared machine slows the baseline as much as
    # the calls measured against it; each repetition sums every call's times over the corpus.
    runs: dict[str, list[float]] = {f.__name__: [] for f in calls}
    clock = time.process_time_ns
    for rep in range(args.reps):
        sums = [0] * len(calls)
        for i, (body, url) in enumerate(pages):
            for k in range(len(calls)):
                j = (i + rep + k) % len(calls)
                t0 = clock()
                calls[j](body, url)
                sums[j] += clock() - t0
        for fn, total in zip(calls, sums, strict=True):
            runs[fn.__name__].append(total / 1e9)
    t = {name: statistics.median(v) for name, v in runs.items()}
    n, k = len(pages), max(1, args.max_pages)
    t["crawl_mix"] = (t["home_pages"] + (k - 1) * t["sub_pages"]) / k
    print(f"bench/observe.py: {n} real pages, {mb:.1f} MB, {args.reps} interleaved repetitions (medians); "
          f"native walk: {'yes' if _native() is not None else 'no (pure-Python walk)'}")
    print(f"{'':44}{'pages/s':>10}{'MB/s':>10}")
    for label, key in (("parse-only (lexbor)", "parse_only"), ("observe() home page (links)", "home_pages"),
                       ("observe() sub-page (no links)", "sub_pages"),
                       (f"observe() crawl mix (1 home : {k - 1} sub-pages)", "crawl_mix"),
                       ("observe() sub-page + service matching", "observe_and_match")):
        print(f"{label:44}{n / t[key]:>10.0f}{mb / t[key]:>10.1f}")
    ratio = t["parse_only"] / t["crawl_mix"]
    per_rep = sorted(p * k / (h + (k - 1) * q)
                     for p, h, q in zip(runs["parse_only"], runs["home_pages"], runs["sub_pages"], strict=True))
    print(f"crawl-mix observe() / parse-only pages/s: {ratio:.2f} (target >= 0.50) {'PASS' if ratio >= 0.5 else 'FAIL'}; "
          f"per repetition {per_rep[0]:.2f} to {per_rep[-1]:.2f}")
    print(f"home page / parse-only: {t['parse_only'] / t['home_pages']:.2f}; sub-page / parse-only: "
          f"{t['parse_only'] / t['sub_pages']:.2f}; with matching: {t['parse_only'] / t['observe_and_match']:.2f}")


if __name__ == "__main__":
    main()
