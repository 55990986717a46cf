"""Screenshots of rendered pages (the demo's scan report and knowledge-base pages) in headless Chromium.

Debian's ``chromium`` is driven by Playwright (``executable_path``; no browser is downloaded) with every request
sent to a closed loopback proxy: the pages are self-contained files, so nothing is fetched from anywhere.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

DEFAULT_EXECUTABLE = "/usr/bin/chromium"
HEIGHT = 900  # the viewport's height; the screenshot covers the whole page


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium(executable: str | None = None) -> str | None:
    """The Chromium binary to use, or None when it is not installed."""
    path = executable or DEFAULT_EXECUTABLE
    return path if Path(path).is_file() else shutil.which("chromium")


def screenshot(html_path: Path, name: str, width: int, *, out_dir: Path, executable: str | None = None) -> Path | None:
    """Render ``html_path`` at ``width`` CSS pixels and save the whole page as ``out_dir/<name>-<width>.png``.

    Returns the PNG's path, or None when Chromium is not installed (the caller says so; nothing else fails
    silently: a page that cannot be rendered raises Playwright's error)."""
    exe = chromium(executable)
    if exe is None:
        return None
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}-{width}.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                                          "--disable-background-networking", "--disable-component-update",
                                          f"--proxy-server=http://127.0.0.1:{_closed_port()}"])
        try:
            page = browser.new_page(viewport={"width": width, "height": HEIGHT})
            page.goto(Path(html_path).resolve().as_uri())
            page.screenshot(path=str(target), full_page=True)
        finally:
            browser.close()
    return target
