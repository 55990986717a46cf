"""Third-party host recall of ``observe()`` against an independent attribute-level oracle, on real pages.

The oracle (``tests/support/oracle.py``) reads the page with a different parser (lxml/libxml2) and its own decoding
and URL resolution. For every corpus page (first-party identity = ``original_url``), the oracle's
third-party hosts are compared with observe's (hosts of non-declared references whose registrable domain
differs from the page's). Micro-averaged recall = |oracle ∩ observe| / |oracle| must be at least 99 %,
overall and on the hand-labelled pages of ``tests/data/detection_labels/labels-*.jsonl`` when those exist.

The corpus comes from the session fixture ``realpages`` (tests/conftest.py: extracted from ../shared into
``ROOT/.cache/realpages-dev``; skipped without ../shared, failed when CI=true). The figures are written to
``ROOT/.cache/observe-recall.txt`` and put in the assertion messages.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from crawler.observe import observe
from tests.support.oracle import (
    ROOT,
    corpus_pages,
    decode_html,
    host_of,
    oracle_hosts,
    oracle_third_party_hosts,
    oracle_urls,
    refresh_url,
    registrable,
    srcset_urls,
)

MIN_RECALL = 0.99
LABELS_DIR = ROOT / "tests" / "data" / "detection_labels"
REPORT = ROOT / ".cache" / "observe-recall.txt"
TOP_MISSES = 20
REALPAGES_NAME = "realpages-dev"


# --------------------------------------------------------------------------- the oracle itself

PAGE = "https://www.site.example/dir/page.html"


def _hosts(html: str | bytes, url: str = PAGE) -> set[str]:
    return oracle_hosts(html.encode("utf-8") if isinstance(html, str) else html, url)


def test_oracle_reads_every_fetch_attribute():
    html = """<html><head>
      <link rel="stylesheet" href="https://css.example/a.css"><link rel="Shortcut Icon" href="//icon.example/f.ico">
      <link rel="alternate" href="https://alt.example/feed"><link rel="canonical" href="https://canon.example/">
      <link rel="dns-prefetch" href="//dns.example"><link rel="modulepreload" href="https://mod.example/m.js">
      <meta http-equiv="Refresh" content="5; URL='https://refresh.example/next'">
      <script src="https://js.example/a.js"></script></head>
      <body background="https://bg.example/b.png">
      <img src="https://img.example/i.png" srcset="https://s1.example/a.png 1x, https://s2.example/b,c.png 2x">
      <picture><source srcset="https://src1.example/x.webp"></picture>
      <iframe src="https://frame.example/"></iframe><embed src="https://embed.example/e">
      <object data="https://obj.example/o"></object><video poster="https://poster.example/p.png" src="https://vid.example/v">
      <track src="https://track.example/t.vtt"></video><audio src="https://audio.example/a.mp3"></audio>
      <input type="image" src="https://input.example/i.png"><form action="https://form.example/post"></form>
      <a href="https://anchor.example/">not fetched</a><img src="data:image/png;base64,AAAA">
      <img src="javascript:alert(1)"><script src="ftp://ftp.example/x.js"></script>
    </body></html>"""
    assert _hosts(html) == {
        "css.example", "icon.example", "dns.example", "mod.example", "refresh.example", "js.example", "bg.example",
        "img.example", "s1.example", "s2.example", "src1.example", "frame.example", "embed.example", "obj.example",
        "poster.example", "vid.example", "track.example", "audio.example", "input.example", "form.example",
    }


def test_oracle_resolves_against_first_base_href_and_like_a_browser():
    html = """<base href="https://cdn.base.example/x/"><base href="https://second.example/">
      <img src="rel.png"><img src="/abs.png"><img src="https:///slashes.example/a"><img src="\\\\back.example\\a">
      <img src="  https://UPPER.Example.COM./p  "><img src="https://bad host.example/"><img src="https://p.example:99999/">
      <img src="//[::1]:8080/x">"""
    assert _hosts(html) == {"cdn.base.example", "slashes.example", "back.example", "upper.example.com", "::1"}
    # a relative <base href> resolves against the page URL
    assert oracle_urls(b'<base href="/sub/"><script src="a.js"></script>', PAGE) == [
        "https://www.site.example/sub/a.js"]


def test_oracle_srcset_and_refresh_parsing():
    assert srcset_urls("a.png 1x,b.png 2x , c.png") == ["a.png", "b.png", "c.png"]
    assert srcset_urls("https://x.example/a,b.png 100w, https://y.example/c.png,") == [
        "https://x.example/a,b.png", "https://y.example/c.png"]
    assert srcset_urls("a.png (max-width: 1, 2) 1x, b.png") == ["a.png", "b.png"]
    assert refresh_url("0;url=https://a.example/") == "https://a.example/"
    assert refresh_url(" 3 , URL = \"https://b.example/x\" ") == "https://b.example/x"
    assert refresh_url("5") is None and refresh_url("soon; url=x") is None


def test_oracle_survives_libxml2_tree_quirks():
    # a self-closed <html/> makes libxml2's tree lose everything after it; a second <body> loses its attributes
    assert _hosts('<html lang="de" /><head><script src="https://a.example/s.js"></script></head>') == {"a.example"}
    assert _hosts('<p>x</p><body background="https://bg.example/b.png">') == {"bg.example"}
    assert _hosts('<?xml version="1.0" encoding="utf-8"?><html><img src="https://x.example/i"></html>') == {"x.example"}
    assert _hosts("<script>document.write('<body background=\"https://no.example/\">')</script>") == set()


def test_oracle_decodes_like_a_browser():
    jp = '<meta charset="shift_jis"><title>日本</title><img src="https://jp.example/日本.png">'.encode("shift_jis")
    assert decode_html(jp)[1] == "shift_jis" and _hosts(jp) == {"jp.example"}
    utf16 = b"\xff\xfe" + '<img src="https://u16.example/">'.encode("utf-16-le")
    assert _hosts(utf16) == {"u16.example"}
    assert decode_html(b"caf\xe9")[1] == "cp1252" and decode_html("café".encode())[1] == "utf-8"
    assert decode_html(b'<meta charset="utf-16"><p>x')[1] == "utf-8"  # the HTML spec's prescan rule


def test_oracle_third_party_uses_registrable_domains():
    html = '<img src="https://img.site.example/a"><img src="https://cdn.other.co.uk/b"><img src="https://x.co.uk/c">'
    assert oracle_third_party_hosts(html.encode(), PAGE) == {"cdn.other.co.uk", "x.co.uk"}
    assert registrable("a.b.example.co.uk") == "example.co.uk" and registrable("10.0.0.1") == "10.0.0.1"


# --------------------------------------------------------------------------- recall on real pages


@dataclass
class PageResult:
    page_file: str
    url: str
    oracle: set[str]
    observed: set[str]  # all non-declared references, inline extras included
    observed_attr: set[str]  # attribute references only (no inline script/CSS extras)


@dataclass
class Recall:
    label: str
    pages: int = 0
    oracle: int = 0
    hits: int = 0
    hits_attr: int = 0
    misses: Counter = field(default_factory=Counter)
    example: dict = field(default_factory=dict)

    @property
    def recall(self) -> float:
        return self.hits / self.oracle if self.oracle else 1.0

    @property
    def recall_attr(self) -> float:
        return self.hits_attr / self.oracle if self.oracle else 1.0

    def add(self, r: PageResult) -> None:
        self.pages += 1
        self.oracle += len(r.oracle)
        self.hits += len(r.oracle & r.observed)
        self.hits_attr += len(r.oracle & r.observed_attr)
        for host in sorted(r.oracle - r.observed):
            self.misses[host] += 1
            self.example.setdefault(host, f"{r.page_file} ({r.url})")

    def summary(self) -> str:
        return (f"{self.label}: third-party host recall {self.recall:.4%} ({self.hits}/{self.oracle} oracle hosts "
                f"on {self.pages} pages); attribute references only {self.recall_attr:.4%}")

    def top_misses(self) -> str:
        if not self.misses:
            return "  (no missed hosts)"
        return "\n".join(f"  {n:4d}x {host}  e.g. {self.example[host]}"
                         for host, n in self.misses.most_common(TOP_MISSES))


def _third_party(hosts, page_url: str) -> set[str]:
    page = registrable(host_of(page_url))
    return {h for h in hosts if h and registrable(h) != page}


@pytest.fixture(scope="module")
def corpus_results(realpages) -> dict[str, PageResult]:
    results: dict[str, PageResult] = {}
    for page in corpus_pages(realpages):
        body = page.path.read_bytes()
        refs = [r for r in observe(body, page.url, links=False).references if not r.declared]
        results[page.page_file] = PageResult(
            page.page_file, page.url,
            oracle=oracle_third_party_hosts(body, page.url),
            observed=_third_party((r.host for r in refs), page.url),
            observed_attr=_third_party((r.host for r in refs if not r.inline), page.url),
        )
    return results


def _labelled_page_files(results: dict[str, PageResult]) -> tuple[set[str], list[str]]:
    """Corpus pages named by the label files (by page file, page URL, or else site host), and the files read."""
    files = sorted(LABELS_DIR.glob("labels-*.jsonl")) if LABELS_DIR.is_dir() else []
    by_name = {Path(pf).name: pf for pf in results}
    by_url = {r.url: pf for pf, r in results.items()}
    by_site: dict[str, list[str]] = {}
    for pf, r in results.items():
        by_site.setdefault(host_of(r.url), []).append(pf)
    chosen: set[str] = set()
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if not isinstance(rec, dict):
                continue
            found = None
            for key in ("page_file", "file", "page", "path"):
                value = rec.get(key)
                if isinstance(value, str) and Path(value).name in by_name:
                    found = [by_name[Path(value).name]]
                    break
            if found is None:
                for key in ("original_url", "page_url", "url"):
                    value = rec.get(key)
                    if isinstance(value, str) and value in by_url:
                        found = [by_url[value]]
                        break
            if found is None:
                for key in ("site_host", "site", "host"):
                    value = rec.get(key)
                    if isinstance(value, str) and value.lower() in by_site:
                        found = by_site[value.lower()]
                        break
            chosen.update(found or ())
    return chosen, [p.name for p in files]


@pytest.fixture(scope="module")
def recall_report(corpus_results) -> dict[str, Recall]:
    overall = Recall("overall")
    for r in corpus_results.values():
        overall.add(r)
    report = {"overall": overall}
    labelled_files, label_sources = _labelled_page_files(corpus_results)
    if label_sources:
        labelled = Recall(f"labelled subset ({', '.join(label_sources)})")
        for pf in sorted(labelled_files):
            labelled.add(corpus_results[pf])
        report["labelled"] = labelled
    lines = [f"observe() vs attribute-level oracle (tests/support/oracle.py) on {REALPAGES_NAME}, "
             f"{time.strftime('%Y-%m-%d %H:%M:%S')}"]
    for rec in report.values():
        lines += [rec.summary(), f"top {TOP_MISSES} missed hosts:", rec.top_misses()]
    if not label_sources:
        lines.append(f"labelled subset: no {LABELS_DIR.relative_to(ROOT)}/labels-*.jsonl yet")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return report



def test_oracle_is_not_degenerate_on_the_corpus(corpus_results):
    """A silently broken oracle (nothing parsed) would make any recall look perfect."""
    pages = len(corpus_results)
    with_third_party = sum(1 for r in corpus_results.values() if r.oracle)
    assert pages >= 1000
    assert with_third_party >= 0.85 * pages, f"oracle found third-party hosts on only {with_third_party}/{pages}"
    assert sum(len(r.oracle) for r in corpus_results.values()) >= 5 * pages


def test_third_party_recall_overall(recall_report):
    rec = recall_report["overall"]
    msg = f"{rec.summary()} (report: {REPORT})\nmost frequent missed hosts:\n{rec.top_misses()}"
    assert rec.recall >= MIN_RECALL, msg


def test_third_party_recall_on_labelled_pages(recall_report):
    if "labelled" not in recall_report:
        pytest.skip(f"no {LABELS_DIR.relative_to(ROOT)}/labels-*.jsonl yet")
    rec = recall_report["labelled"]
    assert rec.pages > 0, (f"{rec.label}: no record could be matched to a corpus page (expected a page_file, "
                           "original_url or site_host field per JSON line)")
    msg = f"{rec.summary()} (report: {REPORT})\nmost frequent missed hosts:\n{rec.top_misses()}"
    assert rec.recall >= MIN_RECALL, msg
