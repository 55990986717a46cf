"""Screenshots of local pages in headless Chromium (pipelines/screenshots.py), and the ones ``servicerisk demo``
writes: the LiveChat page (de, en), the index (de, en) and the scan report at 1280 and 390 px."""

from __future__ import annotations

import struct

import pytest

from pipelines.pipeline.command import DEMO_SCREENSHOTS
from pipelines.screenshots import WIDTHS, BrowserUnavailable, browser_executable, capture
from tests.conftest import require_binary


def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def test_capture_writes_one_png_per_page_and_width(tmp_path):
    require_binary("chromium")
    page = tmp_path / "p.html"
    page.write_text("<!DOCTYPE html><html lang='de'><body><h1>Seite</h1>"
                    "<img src='https://example.org/x.png' alt=''><p>" + "Text " * 400 + "</p></body></html>",
                    encoding="utf-8")
    files = capture([(page, "p")], tmp_path / "shots")
    assert [f.name for f in files] == [f"p-{w}.png" for w in WIDTHS]
    for f, width in zip(files, WIDTHS, strict=True):
        w, h = _png_size(f)
        assert w == width and h >= 844  # the full page, at the reader's width


def test_missing_page_or_browser_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        capture([(tmp_path / "nowhere.html", "x")], tmp_path)
    with pytest.raises(BrowserUnavailable, match="needs Chromium"):
        browser_executable(str(tmp_path / "no-such-chromium"))


def test_demo_writes_the_screenshots(demo_out):
    require_binary("chromium")
    shots = demo_out / "screenshots"
    expected = {f"{name}-{w}.png" for _, name in [*DEMO_SCREENSHOTS, (None, "scan-report")] for w in WIDTHS}
    assert {"kb-livechat-de-1280.png", "kb-livechat-en-390.png", "kb-index-de-390.png", "kb-index-en-1280.png",
            "scan-report-1280.png", "scan-report-390.png"} <= expected
    assert expected <= {p.name for p in shots.glob("*.png")}
    for name in expected:
        width, height = _png_size(shots / name)
        assert width == int(name.rsplit("-", 1)[1][:-4]) and height > 1000, name
