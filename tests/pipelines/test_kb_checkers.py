"""The demo knowledge base passes real checkers: LinkChecker over every page (no dead file or anchor, both
languages), html-validate (recommended rules, no error), axe-core in headless Chromium (no serious or critical
violation, contrast included), no horizontal overflow at 390 and 1280 px; every page has its language, a meta
description, hreflang alternates and a language switch. Tools are pinned (pip test extras, tests/tools for npm)."""

from __future__ import annotations

import functools
import http.server
import re
import subprocess
import threading
from pathlib import Path

import pytest
from lxml import html as lxml_html

from pipelines import glossary
from pipelines.publish.texts import LANGS
from tests.conftest import require_node_tool, require_tool


def _pages(demo_out, lang: str) -> list[Path]:
    return sorted((demo_out / "kb" / lang / "site").rglob("*.html"))


def _scan_pages(demo_out) -> list[Path]:
    """The demo scan's report, its evidence pages and its draft policy blocks."""
    scans = demo_out / "scans"
    return sorted([*scans.glob("*/report.html"), *scans.glob("*/evidence/*/*.html"), *scans.glob("*/policy/*/*.html")])


class _Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        self.send_header("LinkChecker", "local test server")  # LinkChecker then checks at full speed
        super().end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def kb_http(demo_out):
    """The demo's kb/ folder over HTTP on 127.0.0.1 (LinkChecker, running as root, drops to nobody and can
    then not read the test's private temp folder through file:// URLs)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_Handler, directory=str(demo_out / "kb")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("lang", LANGS)
def test_link_checker_finds_no_dead_link_or_anchor(kb_http, demo_out, tmp_path, lang):
    exe = require_tool("linkchecker")
    config = tmp_path / "linkcheckerrc"
    config.write_text("[checking]\nthreads=4\n[AnchorCheck]\n", encoding="utf-8")
    # the outside sources are listed, never fetched: only 127.0.0.1 is checked
    proc = subprocess.run([exe, "--config", str(config), "--no-status", "--ignore-url", r"^https?://(?!127\.0\.0\.1[:/])",
                           "-o", "text", f"{kb_http}/{lang}/site/index.html"],
                          capture_output=True, text=True, timeout=600)
    summary = re.search(r"(\d+) links? in \d+ URLs? checked\. (\d+) warnings? found\. (\d+) errors? found", proc.stdout)
    assert summary, proc.stdout[-3000:] + proc.stderr[-2000:]
    links, warnings, errors = map(int, summary.groups())
    problems = "\n".join(b for b in proc.stdout.split("\n\n") if "Warning" in b or "Error" in b)
    assert (warnings, errors) == (0, 0), problems[:5000]
    assert links >= len(_pages(demo_out, lang)), (links, "LinkChecker did not walk the whole site")


def test_html_validator_finds_no_error(demo_out):
    exe = require_node_tool(".bin/html-validate")
    config = exe.parents[2] / ".htmlvalidate.json"
    files = [str(p) for lang in LANGS for p in _pages(demo_out, lang)] + [str(p) for p in _scan_pages(demo_out)]
    assert len(files) > 60
    proc = subprocess.run([str(exe), "--config", str(config), "--formatter", "text", *files],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]


@pytest.mark.xdist_group("chromium-heavy")  # not beside the browser-mode crawl, whose page budgets are wall-clock
@pytest.mark.parametrize("lang", LANGS)
def test_axe_finds_no_serious_violation_and_nothing_overflows(kb_browser, demo_out, lang):
    axe = require_node_tool("axe-core/axe.min.js").read_text(encoding="utf-8")
    # the pages' CSP admits their one sorting script only; the test injects axe past it
    ctx = kb_browser.new_context(bypass_csp=True, viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    violations, overflow = [], []
    try:
        scans = _scan_pages(demo_out) if lang == LANGS[0] else []  # the scan report, its evidence and policy blocks
        for path in _pages(demo_out, lang) + scans:
            page.goto(path.resolve().as_uri())
            page.add_script_tag(content=axe)
            found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                                  ".map(v => [v.id, v.impact, v.nodes.length, v.nodes[0].html.slice(0, 160)])")
            violations += [(path.name, *v) for v in found if v[1] in ("serious", "critical")]
            for width in (390, 1280):
                page.set_viewport_size({"width": width, "height": 844})
                scroll = page.evaluate("document.documentElement.scrollWidth")
                if scroll > width:
                    overflow.append((path.name, width, scroll))
            page.set_viewport_size({"width": 390, "height": 844})
    finally:
        ctx.close()
    assert not violations, violations[:20]
    assert not overflow, overflow[:20]


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_has_language_description_and_alternates(demo_out, lang):
    other = [o for o in LANGS if o != lang]
    for path in _pages(demo_out, lang):
        doc = lxml_html.fromstring(path.read_bytes())
        assert doc.get("lang") == lang, path
        desc = doc.xpath("//meta[@name='description']/@content")
        assert desc and len(desc[0]) > 40, path
        alternates = dict(zip(doc.xpath("//link[@rel='alternate']/@hreflang"),
                              doc.xpath("//link[@rel='alternate']/@href"), strict=True))
        assert set(alternates) == set(LANGS), path
        for o in other:
            target = (path.parent / alternates[o]).resolve()
            assert target.is_file() and target == (demo_out / "kb" / o / "site" / path.relative_to(
                demo_out / "kb" / lang / "site")).resolve(), (path, alternates[o])
            switch = doc.xpath(f"//nav//a[@hreflang='{o}']")
            assert switch and switch[0].get("lang") == o and switch[0].get("href") == alternates[o], path
    method = lxml_html.fromstring((demo_out / "kb" / lang / "site" / "methodology.html").read_bytes())
    article = method.xpath("//article[@id='methodology']")[0]
    assert article.get("lang") is None  # the methodology is written in the page's language
    assert article.xpath("h1")[0].text_content().startswith(glossary.text(lang, "methodology"))
