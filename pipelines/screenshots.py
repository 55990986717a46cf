"""Full-page screenshots of local HTML files (knowledge-base pages, scan reports) in headless Chromium, at the widths
a reader uses (1280 px desktop, 390 px phone).

Debian's ``chromium`` is driven by Playwright (``executable_path``; nothing is downloaded) with every request sent
to a closed loopback proxy, so a page can only load what sits beside it on disk. Used by ``servicerisk demo`` for
the KB pages and the scan report; any caller hands in ``(html path, name)`` pairs and widths and gets
``<out>/<name>-<width>.png`` back.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterable, Sequence
from pathlib import Path

from crawler.browser.chromium import CHROMIUM_ARGS, browser_unavailable

WIDTHS = (1280, 390)
HEIGHT = 844  # the viewport's height (a phone's); the screenshot covers the whole page


class BrowserUnavailable(RuntimeError):
    """Chromium or Playwright is not installed: no screenshot can be taken (the message says which)."""


def browser_executable(executable: str | None = None) -> str:
    """The Chromium to use (default: the crawler's ``SR_BROWSER_EXECUTABLE``), or :class:`BrowserUnavailable` when it
    (or Playwright) is missing."""
    why = browser_unavailable(executable, option="executable=PATH")
    if why:
        raise BrowserUnavailable(why)
    if executable is None:
        from crawler.settings import SR_BROWSER_EXECUTABLE as executable
    return shutil.which(executable)


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def capture(pages: Iterable[tuple[Path, str]], out_dir: Path, widths: Sequence[int] = WIDTHS,
            executable: str | None = None) -> list[Path]:
    """Screenshot each ``(html path, name)`` at each width (full page) into ``out_dir/<name>-<width>.png``; returns
    the files written. Raises :class:`BrowserUnavailable` without a browser and ``FileNotFoundError`` for a page that
    does not exist (a page that cannot be rendered raises Playwright's error)."""
    pages = [(Path(p), name) for p, name in pages]
    for path, _ in pages:
        if not path.is_file():
            raise FileNotFoundError(path)
    exe = browser_executable(executable)
    from playwright.sync_api import sync_playwright

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True,
                                    args=[*CHROMIUM_ARGS, f"--proxy-server=http://127.0.0.1:{_closed_port()}"])
        try:
            for width in widths:
                ctx = browser.new_context(viewport={"width": width, "height": HEIGHT}, service_workers="block")
                page = ctx.new_page()
                for path, name in pages:
                    page.goto(path.resolve().as_uri(), wait_until="load")
                    target = out_dir / f"{name}-{width}.png"
                    page.screenshot(path=str(target), full_page=True)
                    written.append(target)
                ctx.close()
        finally:
            browser.close()
    return written
