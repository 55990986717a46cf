"""HAR files of browser visits: one file name per page and pass, and the cookie values and request bodies stripped
from what Playwright wrote."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from common.runfolder import write_text_atomic
from crawler.browser.visit import Pass

_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def har_name(url: str, pass_: Pass) -> str:
    """The HAR file name of the visit of ``url`` in ``pass_``: readable host and path, a hash of the whole URL
    (unique per page), then the pass, e.g. ``www.example.de-impressum-1a2b3c4d.none-none.har``."""
    rest = url.split("://", 1)[-1]
    slug = _UNSAFE.sub("-", rest)[:60].strip("-.") or "page"
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:8]
    return f"{slug}-{digest}.{pass_.consent_state}-{pass_.signal}.har"


_COOKIE_HEADERS = ("cookie", "set-cookie")


def _names_only(header: str, value: str) -> str:
    """A Cookie / Set-Cookie header without values: ``a=; b=`` and ``a=; Path=/; Max-Age=…`` (attributes kept)."""
    if header == "cookie":
        return "; ".join(f"{p.split('=', 1)[0].strip()}=" for p in value.split(";") if p.strip())
    lines = []
    for line in value.split("\n"):  # Chromium joins several Set-Cookie headers with newlines
        first, _, attrs = line.partition(";")
        lines.append(f"{first.split('=', 1)[0].strip()}=" + (f";{attrs}" if attrs else ""))
    return "\n".join(lines)


def strip_har(har: dict[str, Any]) -> dict[str, Any]:
    """``har`` with every cookie value removed (request/response ``cookies`` and Cookie/Set-Cookie headers) and
    request bodies dropped (they can echo identifiers); names, attributes and sizes stay. Mutates and returns."""
    for entry in (har.get("log") or {}).get("entries") or []:
        for side in ("request", "response"):
            part = entry.get(side) or {}
            for c in part.get("cookies") or []:
                c["value"] = ""
            for h in part.get("headers") or []:
                name = str(h.get("name", "")).lower()
                if name in _COOKIE_HEADERS:
                    h["value"] = _names_only(name, str(h.get("value", "")))
        post = (entry.get("request") or {}).get("postData")
        if isinstance(post, dict):
            post["text"] = ""
            post.pop("params", None)
            post["comment"] = "request body not stored"
    return har


def strip_har_file(path: str) -> bool:
    """Rewrite the HAR at ``path`` by :func:`strip_har` (atomically); False when there is no such file."""
    p = Path(path)
    try:
        har = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    write_text_atomic(p, json.dumps(strip_har(har), ensure_ascii=False))
    return True
