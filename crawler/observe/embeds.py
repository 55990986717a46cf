"""Markup the tree walk does not reach: ``<template>`` contents (gated) and escaped or encoded embed code
(HTML-escaped, JS/JSON-escaped, URL-encoded, base64), found, decoded and observed."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

from common.signatures import CompiledSignature
from crawler.observe.model import Observation, Reference
from crawler.observe.native import _native
from crawler.observe.sigmatch import _native_needles
from crawler.observe.walk import _visit_all, _Walk

# --- markup the tree walk does not reach: <template> contents, escaped or encoded embed code ---------------
# escaped or encoded embed code kept for lazy or consent loading: the markers that start a blob, and its kind
_ENCODED_MARKERS: tuple[tuple[bytes, str], ...] = (
    *((b"&lt;" + t, "html") for t in (b"iframe", b"script", b"img", b"embed", b"object", b"video", b"audio")),
    *((e + t, "js") for e in (b"\\u003c", b"\\u003C", b"\\x3c", b"\\x3C") for t in (b"iframe", b"script", b"img", b"embed")),
    # markup with escaped quotes in a JS string: <iframe src=\"… (not <img: article images in app state)
    (b'src=\\"', "js"), (b"src=\\'", "js"),
    *((e + t, "url") for e in (b"%3C", b"%3c") for t in (b"iframe", b"script", b"img", b"embed")),
    # base64 of <script, <iframe, <img, <div, <blockquote, <embed, <object
    *((t, "b64") for t in (b"PHNjcmlwd", b"PGlmcmFtZ", b"PGltZ", b"PGRpd", b"PGJsb2NrcXVvdGU", b"PGVtYmVk",
                           b"PG9iamVjd")),
)


_MARKER_BYTES = tuple(m for m, _kind in _ENCODED_MARKERS)


# for the native search: each marker with the offset of a byte in it that is rare in pages
_MARKER_ANCHORS = tuple((m, next(i for i, c in enumerate(m) if c in b"\\&%P")) for m in _MARKER_BYTES)


_JS_MARKUP = re.compile(rb"<(?:iframe|script|embed)\s[^<>]*\Z", re.I)


_JS_STRING_END = re.compile(rb"(?<!\\)[\"']|</script", re.I)


_URL_ENCODED_RUN = re.compile(rb"[A-Za-z0-9%._~:/?#@!$&()*+,;=\[\]-]*")


_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/]{24,}={0,2}")


_JS_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.S)


_MAX_FRAGMENTS = 64


_MAX_FRAGMENT_BYTES = 1 << 20


def _unescape_js(text: str) -> str:
    """A JS/JSON string literal's escapes resolved (\\uXXXX, \\xXX, \\" …; unknown ones keep their character)."""
    def one(m: re.Match) -> str:
        e = m.group(1)
        if len(e) > 1:
            cp = int(e[1:], 16)
            return "\ufffd" if 0xD800 <= cp <= 0xDFFF else chr(cp)
        return {"n": "\n", "t": "\t", "r": "\r"}.get(e, e)
    return _JS_ESCAPE.sub(one, text)


def _markers_in(data: bytes) -> list[tuple[int, list[int]]]:
    """(index, positions) of the ``_ENCODED_MARKERS`` that occur in ``data``: where each occurs, left to right
    without overlaps (one native pass when the extension is built)."""
    native = _native()
    return _find_markers(data) if native is None else native.find_markers(data, _MARKER_ANCHORS)


def _find_markers(data: bytes) -> list[tuple[int, list[int]]]:
    """``_markers_in`` in Python: repeated ``bytes.find`` per marker (the reference of the native pass)."""
    out = []
    for i, marker in enumerate(_MARKER_BYTES):
        positions, pos = [], data.find(marker)
        while pos >= 0:
            positions.append(pos)
            pos = data.find(marker, pos + len(marker))
        if positions:
            out.append((i, positions))
    return out


def _blob(data: bytes, start: int, kind: str) -> tuple[int, bytes] | None:
    """(start, bytes) of the encoded blob a marker at ``start`` opens, or None when it opens none."""
    if kind == "html":
        tag_open, tag_close = data.rfind(b"<", 0, start), data.rfind(b">", 0, start)
        if tag_open < 0 or tag_close > tag_open:
            return None  # escaped markup in text: shown to the reader, not embedded
        quote = max(data.rfind(b'="', tag_open, start), data.rfind(b"='", tag_open, start))
        if quote < 0:
            return None
        end = data.find(data[quote + 1 : quote + 2], start)
        return start, data[start : end if end > 0 else len(data)]
    if kind == "js":
        if data[start : start + 1] == b"s":  # src=\": the markup starts at its tag, a little before
            m = _JS_MARKUP.search(data, max(0, start - 400), start)
            if m is None:
                return None
            start = m.start()
        end = _JS_STRING_END.search(data, start + 1)
        return start, data[start : end.start() if end else len(data)]
    if kind == "url":
        return start, _URL_ENCODED_RUN.match(data, start).group(0)
    if start and data[start - 1 : start] in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/":
        return None  # inside a longer base64 run (an image, a font): not the start of encoded markup
    m = _BASE64_RUN.match(data, start)
    return (start, m.group(0)) if m else None


def _decode_blob(blob: bytes, kind: str) -> str | None:
    raw = blob.decode("utf-8", "replace")
    if kind == "html":
        from html import unescape

        text = unescape(raw)
        return _unescape_js(text) if '\\"' in text or "\\/" in text else text
    if kind == "js":
        return _unescape_js(raw)
    if kind == "url":
        from urllib.parse import unquote

        return unquote(raw)
    import base64

    try:
        return base64.b64decode(blob + b"=" * (-len(blob) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def _encoded_fragments(data: bytes) -> list[str]:
    """Decoded embed-code blobs of a page (HTML-escaped in attribute values, JS/JSON-escaped in scripts,
    URL-encoded, base64), each once, in page order; escaped markup in text (code samples) is not embed code."""
    present = _markers_in(data)
    if not present:
        return []
    blobs: dict[bytes, tuple[int, str]] = {}
    for i, positions in present:
        kind = _ENCODED_MARKERS[i][1]
        for pos in positions:
            if len(blobs) >= _MAX_FRAGMENTS:
                break
            found = _blob(data, pos, kind)
            if found is not None and found[1] not in blobs:
                blobs[found[1]] = (found[0], kind)
    out: list[str] = []
    budget = _MAX_FRAGMENT_BYTES
    for blob, (_start, kind) in sorted(blobs.items(), key=lambda b: b[1][0]):
        if budget <= 0:
            break
        budget -= len(blob)
        text = _decode_blob(blob[:_MAX_FRAGMENT_BYTES], kind)
        if text and "<" in text:
            out.append(text)
    return out


def _template_content(html: str) -> str:
    """The markup inside a serialised ``<template …>…</template>``."""
    start = html.find(">") + 1
    end = html.lower().rfind("</template>")
    return html[start : end if end >= start else len(html)]


def _walk_fragment(obs: Observation, sigs: tuple[CompiledSignature, ...], seen: set, html: str, *,
                   gated: bool = False, encoded: bool = False, depth: int = 0, fast=None) -> None:
    """Observe a piece of markup the tree walk did not reach (a template's content, decoded embed code) into
    ``obs``: its references are gated or encoded; in encoded code only absolute URLs count (relative ones there
    are fragments of script-built strings). ``fast``: the native walk, when observe() uses it."""
    if not html or depth > 1:
        return
    tree = LexborHTMLParser(html)
    walk = _Walk(obs, sigs, False, 0, gated=gated, encoded=encoded, seen=seen, fast=fast)
    root = tree.root
    if fast is not None and root is not None:
        fast.walk(root.mem_id, walk, Reference, _native_needles(fast, walk.table, walk.sigs))
    else:
        _visit_all(walk, tree)
    for node in tree.css("template"):
        _walk_fragment(obs, sigs, seen, _template_content(node.html or ""), gated=True, encoded=encoded,
                       depth=depth + 1, fast=fast)
    if encoded:
        for fragment in _encoded_fragments(html.encode("utf-8", "replace")):
            _walk_fragment(obs, sigs, seen, fragment, gated=gated, encoded=True, depth=depth + 1, fast=fast)
