"""Page bytes to text as a browser decodes them, and the cheap facts about the bytes observe() needs first."""

from __future__ import annotations

import re

from w3lib.encoding import (
    html_body_declared_encoding,
    html_to_unicode,
    http_content_type_encoding,
    resolve_encoding,
)

from crawler.observe.native import _native
from crawler.observe.rules import _FETCH_ATTRS

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def decode_body(body: bytes, content_type: str = "") -> tuple[str, str]:
    """Decode page bytes like a browser: a BOM, then a charset in the header that actually decodes,
    then ``<meta charset>``, then UTF-8 if valid, else windows-1252. Returns (text, encoding)."""
    for bom, bom_enc in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(bom_enc, errors="replace"), bom_enc
    header_enc = http_content_type_encoding(content_type) if content_type else None
    if header_enc:
        enc = resolve_encoding(header_enc) or header_enc
        try:
            return body.decode(enc), enc
        except (UnicodeDecodeError, LookupError):
            pass  # a wrong charset header: fall through to the document's own evidence
    meta = html_body_declared_encoding(body[:4096])
    if meta and meta.lower().replace("-", "").startswith("utf16"):
        meta = "utf-8"  # HTML spec: a utf-16 <meta> in a byte stream that parsed as ASCII means UTF-8

    def autodetect(data: bytes) -> str | None:
        try:
            data.decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            return "cp1252"

    enc, text = html_to_unicode(f"text/html; charset={meta}" if meta else None, body, auto_detect_fun=autodetect)
    return text, enc


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)")


_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                   "wbr", "param", "keygen"})


_KEEP = "|".join(sorted(set(_FETCH_ATTRS) | {"link", "meta", "style", "base", "title", "head", "html", "noscript"}))


# a tag that is not kept and carries no url( in its attributes (inline-style references survive)
_NOT_KEPT = re.compile(r"</?(?!(?:" + _KEEP + r")\b)[a-zA-Z][a-zA-Z0-9-]*(?![^<>]*url\()(?:\s[^<>]*)?/?>", re.I)


MAX_DEPTH = 512  # Chromium's HTML parser caps the tree depth at 512 too


def flatten_if_deep(text: str, min_tags: int = 20_000) -> tuple[str, bool]:
    """Pathologically nested markup makes tree building quadratic. When a page with many tags nests deeper
    than ``MAX_DEPTH``, drop the container tags that never fetch anything (div, span, p, a …) so the
    parse stays linear; references survive, links do not. Returns (text, flattened?)."""
    if text.count("<") < min_tags:
        return text, False
    depth = deepest = 0
    for m in _TAG.finditer(text):
        name = m.group(2).lower()
        if name in _VOID:
            continue
        if m.group(1):
            depth = max(0, depth - 1)
        else:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return _NOT_KEPT.sub("", text), True
    return text, False


def _plain_encoding(body: bytes, content_type: str) -> str | None:
    """The encoding ``decode_body`` reports, named without decoding the body when a ``<meta>`` declaration
    decides it (no BOM, no charset header); None when only decoding can tell."""
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or body[:3] == b"\xef\xbb\xbf" or body[:4] == b"\x00\x00\xfe\xff":
        return None
    header = http_content_type_encoding(content_type) if content_type else None
    if header:  # decode_body takes a header charset that decodes the body: for UTF-8, a validity check
        native = _native()
        utf8 = (resolve_encoding(header) or header) == "utf-8" and native is not None and native.utf8_valid(body)
        return "utf-8" if utf8 else None
    meta = html_body_declared_encoding(body[:4096])
    if not meta:  # decode_body then tries UTF-8, else cp1252 (and a cp1252 page is parsed from its text)
        native = _native()
        return "utf-8" if native is not None and native.utf8_valid(body) else None
    if meta.lower().replace("-", "").startswith("utf16"):
        meta = "utf-8"
    enc = http_content_type_encoding(f"text/html; charset={meta}")
    if enc is None:
        return None
    return enc + "-be" if enc in ("utf-16", "utf-32") else enc


_BASE_TAG = re.compile(rb"<(?:base|BASE|Base)")


def _body_facts(body: bytes) -> tuple[int, bool, bool]:
    """(the number of ``<`` when it matters: bodies over 100 kB, whether ``<base``, ``<BASE`` or ``<Base``
    occurs, whether a NUL byte does), in one native pass when the extension is built."""
    native = _native()
    if native is not None:
        return native.body_facts(body)
    return body.count(b"<") if len(body) > 100_000 else 0, _BASE_TAG.search(body) is not None, b"\x00" in body
