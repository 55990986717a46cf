"""Pure functions from a fetched page to what it makes a browser load: references, links, signatures, cookies.

No I/O here: ``observe(body, url, headers)`` takes bytes and returns an ``Observation``. It tolerates any
broken HTML or encoding and never raises on page content.

The walk over the parsed elements is ``_Walk.visit`` (the reference); when the C extension
``crawler/_fastwalk.c`` is built, it walks the tree instead, handles the common cases itself and calls
back into ``_Walk`` for the rest, so both give the same observation (tests/crawler/test_observe_native.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Callable, Mapping, Sequence
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser
from w3lib.encoding import (
    html_body_declared_encoding,
    html_to_unicode,
    http_content_type_encoding,
    resolve_encoding,
)

from common.signatures import CompiledSignature, compile_signature, load_signatures

# --- the rule tables: the one place they are written (the native walk, crawler/_fastwalk.c, receives them
# from here when it is set up and holds none of its own) ------------------------------------------------------
# element -> (what the walk does with it, the attributes that make the browser fetch something, the attribute
# the element must carry to be looked at). Roles: "fetch" adds the attributes' URLs, "script" / "link" / "meta" /
# "style" / "title" / "anchor" have their own rules below.
_ELEMENTS: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "title": ("title", (), None),
    "script": ("script", ("src",), None),
    "img": ("fetch", ("src", "srcset"), None),
    "iframe": ("fetch", ("src",), None),
    "frame": ("fetch", ("src",), None),
    "embed": ("fetch", ("src",), None),
    "object": ("fetch", ("data",), None),
    "source": ("fetch", ("src", "srcset"), None),
    "video": ("fetch", ("src", "poster"), None),
    "audio": ("fetch", ("src",), None),
    "track": ("fetch", ("src",), None),
    "input": ("fetch", ("src",), "src"),
    "form": ("fetch", ("action",), "action"),
    "link": ("link", ("href",), "href"),
    "meta": ("meta", (), "http-equiv"),
    "style": ("style", (), None),
    "body": ("fetch", ("background",), "background"),
    "a": ("anchor", ("href",), "href"),
    "area": ("anchor", ("href",), "href"),
    "template": ("template", (), None),  # its content is observed after the walk, as gated markup
}
_ROLE = {tag: role for tag, (role, _attrs, _required) in _ELEMENTS.items()}
_FETCH_ATTRS: dict[str, tuple[str, ...]] = {tag: attrs for tag, (role, attrs, _r) in _ELEMENTS.items()
                                            if role in ("fetch", "script")}
# attributes that hold a script's or iframe's URL back until a consent manager or a loader script moves it to
# src (Usercentrics/Cookiebot data-src, consentmanager, Complianz, Borlabs, lazy loaders): a gated reference
_GATE_SRC_ATTRS = ("data-src", "data-cmp-src", "data-cmplz-src", "data-borlabs-script-blocker-src", "data-gdpr-src",
                   "data-lazy-src")
_GATEABLE = ("script", "iframe")  # the elements whose gate attributes are read
# attributes where page-speed tools park a script's URL until the page has loaded (Rocket Loader, WP Rocket,
# PhastPress): no consent involved, so the reference is direct
_DEFERRED_SRC_ATTRS = ("data-rocket-src", "data-phast-original-src")
_LINK_RELS_FETCHED = frozenset(
    {"stylesheet", "preload", "modulepreload", "prefetch", "preconnect", "dns-prefetch", "icon", "shortcut",
     "apple-touch-icon", "manifest", "prerender", "alternate stylesheet", "mask-icon"}
)
_HINT_RELS = frozenset({"preconnect", "dns-prefetch"})  # a connection only: the embedding "hint"


def _selector(links: bool) -> str:
    """The CSS selector of the elements the Python walk visits (``a``/``area`` only when links are wanted)."""
    parts = [f"{tag}[{required}]" if required else tag for tag, (role, _a, required) in _ELEMENTS.items()
             if links or role != "anchor"]
    return ", ".join(parts + ["[style*='url(' i]"])


_SELECTOR = _selector(False)
_SELECTOR_LINKS = _selector(True)
_SKIP_SCHEMES = ("data:", "javascript:", "mailto:", "tel:", "about:", "blob:", "#", "sms:", "whatsapp:", "callto:")
# data: URIs (often huge inline images) are skipped inside the regex, never copied out
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(?![dD][aA][tT][aA]:)([^'")\s]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""", re.I)
# anchored on "//" (10x faster than a leading optional scheme); the scheme is read from the text before it
_JS_URL = re.compile(r"""//[a-zA-Z0-9][a-zA-Z0-9.-]*\.[a-zA-Z]{2,63}(?::\d{2,5})?(?:/[^\s"'<>`\\)]*)?""")
_ABS_PREFIXES = ("https://", "http://")
_URL_OPENERS = frozenset("\"'`(=:,[")  # what precedes "//" in a URL literal ("https:" ends in ":")
_REFRESH = re.compile(r"""^\s*\d*(?:\.\d*)?\s*[;,]\s*(?:url\s*=\s*)?['"]?([^'"\s][^'"]*)""", re.I)
_CSP_KEYWORDS = frozenset({"'self'", "'none'", "'unsafe-inline'", "'unsafe-eval'", "'strict-dynamic'", "*",
                           "'unsafe-hashes'", "'report-sample'", "'wasm-unsafe-eval'", "data:", "blob:", "https:",
                           "http:", "mediastream:", "filesystem:", "wss:", "ws:"})



EMBEDDINGS = ("direct", "gated", "encoded", "config", "hint")


def embedding_of(element: str, attribute: str, rel: str | None, gated: bool, encoded: bool = False) -> str:
    """How a page embeds what a reference points to (the definition: docs/methodology.md, "What embeds means"):
    ``gated`` held back until a consent manager or loader releases it, ``encoded`` inside escaped or encoded
    embed code, ``hint`` a connection hint only (preconnect, dns-prefetch), ``config`` a URL literal in inline
    code, else ``direct``. The one place this rule is written; older runs' rows are classified with it too."""
    if gated:
        return "gated"
    if encoded:
        return "encoded"
    if element == "link" and rel and all(r in _HINT_RELS for r in rel.split()):
        return "hint"
    if element == "script" and attribute == "inline":
        return "config"
    return "direct"


def signature_embedding(gated: bool, encoded: bool = False) -> str:
    """The embedding of an inline signature: where the snippet sat (a running script configures the loader)."""
    return "gated" if gated else "encoded" if encoded else "config"


@dataclass(slots=True)
class Reference:
    """One URL the page makes the browser fetch or connect to (or, if ``declared``, merely allows by CSP)."""

    url: str
    host: str
    element: str
    attribute: str
    rel: str = ""
    inline: bool = False
    declared: bool = False
    gated: bool = False  # held back until a consent manager (or a loader script) releases it
    encoded: bool = False  # found in escaped or encoded embed code, decoded

    @property
    def embedding(self) -> str | None:
        """``direct``, ``gated``, ``encoded``, ``config`` or ``hint`` (None for a CSP-declared host)."""
        if self.declared:
            return None
        return embedding_of(self.element, self.attribute, self.rel, self.gated, self.encoded)


@dataclass(slots=True)
class Observation:
    """What one page shows: title, effective base URL, references, same-document links, signatures."""

    url: str
    base_url: str
    encoding: str
    title: str = ""
    references: list[Reference] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    signatures: list[tuple[str, str]] = field(default_factory=list)
    gated_signatures: list[tuple[str, str]] = field(default_factory=list)  # found in consent-gated scripts
    encoded_signatures: list[tuple[str, str]] = field(default_factory=list)  # found in decoded embed code
    flattened: bool = False  # the page nested too deeply and was parsed without its container tags
    walk: str = ""  # which tree walk ran: "native" (crawler/_fastwalk.c) or "python"

    def signature_evidence(self) -> list[tuple[str, str, str]]:
        """Every signature hit as (signature id, value, embedding)."""
        return ([(s, v, signature_embedding(False)) for s, v in self.signatures]
                + [(s, v, signature_embedding(True)) for s, v in self.gated_signatures]
                + [(s, v, signature_embedding(False, True)) for s, v in self.encoded_signatures])


def compile_signatures(signatures: Mapping[str, str]) -> list[CompiledSignature]:
    """Compile ad-hoc {id: regex} signatures (needles derived from each regex)."""
    return [compile_signature(sid, rx) for sid, rx in signatures.items()]


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


def _host(url: str) -> str:
    """Lower-case host of an absolute URL (fast path for the common ``scheme://host[:port]/…`` shape)."""
    i = url.find("://")
    if i > 0:
        rest = url[i + 3 :]
        end = len(rest)
        for ch in "/?#":
            j = rest.find(ch)
            if 0 <= j < end:
                end = j
        netloc = rest[:end]
        if "@" not in netloc and "[" not in netloc and "\\" not in netloc:
            return netloc.split(":", 1)[0].lower().rstrip(".")
    try:
        return (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return ""


_SPECIAL = re.compile(r"^(https?|wss?):[/\\]*", re.I)
# an absolute http(s) URL whose host needs no further checks (ports of up to 4 digits are always valid)
_PLAIN_ABSOLUTE = re.compile(r"https?://[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::\d{1,4})?(?:[/?#][^\s\\]*)?")
_BAD_HOST = re.compile(r"[\s<>^|%\"{}`\[\]\\]")


def _absolute(base: str, raw: str) -> str | None:
    """``raw`` resolved against ``base`` as a browser does for http(s) URLs: the scheme is case-insensitive,
    backslashes are slashes, any number of slashes may follow the scheme; None when the result has no
    usable host (empty, bad characters, port out of range). Absolute URLs skip urljoin (the common case)."""
    if _PLAIN_ABSOLUTE.fullmatch(raw):
        return raw  # the common case: an absolute http(s) URL with a plain host (port <= 65535 checked below)
    else:
        if "\\" in raw:
            raw = raw.replace("\\", "/")
        m = _SPECIAL.match(raw)
        if m:
            url = m.group(1).lower() + "://" + raw[m.end():]
        elif raw.startswith("//"):
            url = base.split(":", 1)[0] + "://" + raw.lstrip("/")
        else:
            try:
                url = urljoin(base, raw)
            except ValueError:
                return None
    host_end = len(url)
    start = url.find("://") + 3
    for ch in "/?#":
        j = url.find(ch, start)
        if 0 <= j < host_end:
            host_end = j
    netloc = url[start:host_end].rsplit("@", 1)[-1]
    if netloc.startswith("["):  # IPv6 literal
        close = netloc.find("]")
        if close < 0:
            return None
        host, port = netloc[: close + 1], netloc[close + 2 :] if netloc[close + 1 : close + 2] == ":" else ""
    else:
        host, _, port = netloc.partition(":")
        if not host or _BAD_HOST.search(host):
            return None
    if port and (not port.isdigit() or int(port) > 65535):
        return None
    return url


def observe(
    body: bytes,
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    signatures: Sequence[CompiledSignature] | None = None,
    max_links: int = 2000,
    links: bool = True,
    native: bool | None = None,
) -> Observation:
    """Observe one HTML page. ``headers`` maps lower-case header names to values (CSP, content type).

    ``signatures`` default to the catalog's (``data/services/_signatures.yml``); they run on inline scripts
    and on the attributes of ``<script>`` elements. ``links=False`` skips ``<a href>`` links (only the home
    page needs them to pick pages). ``native`` picks the tree walk: the C one (``crawler/_fastwalk.c``,
    used by default when it is built, with or without links) or the pure-Python reference walk (``False``);
    both give the same observation.
    """
    headers = headers or {}
    content_type = headers.get("content-type", "")
    encoding = _plain_encoding(body, content_type)
    tags, has_base_tag, has_nul = _body_facts(body)
    many_tags = len(body) > 100_000 and tags >= 20_000
    text = None  # decoded only when needed: the parser reads UTF-8 bytes as they are
    if encoding is None or many_tags:
        text, encoding = decode_body(body, content_type)
    flattened = False
    if many_tags:
        text, flattened = flatten_if_deep(text)
    if encoding == "utf-8" and not flattened and not has_nul and not body.startswith(b"\xef\xbb\xbf"):
        tree = LexborHTMLParser(body)  # UTF-8 bytes: skip re-encoding the decoded text
    else:
        if text is None:
            text, encoding = decode_body(body, content_type)
        tree = LexborHTMLParser(text.replace("\x00", "\ufffd"))
    obs = Observation(url=url, base_url=url, encoding=encoding, flattened=flattened)
    # <base href> applies to every URL in the document, wherever it stands
    if has_base_tag or encoding not in ("utf-8", "cp1252", "latin-1", "iso-8859-1", "ascii"):
        base = tree.css_first("base[href]")
        if base is not None:
            href = (base.attributes.get("href") or "").strip()
            if href:
                resolved = _absolute(url, href)
                obs.base_url = resolved if resolved and resolved.startswith(("http://", "https://")) else url
    sigs = load_signatures() if signatures is None else tuple(signatures)
    fast = _native() if native is not False else None
    walk = _Walk(obs, sigs, links, max_links, fast=fast)
    if fast is not None:
        obs.walk = "native"
        root = tree.root
        if root is not None:
            fast.walk(root.mem_id, walk, Reference, _native_needles(fast, walk.table, walk.sigs))
    else:
        obs.walk = "python"
        _visit_all(walk, tree)
    if walk.templates:
        for node in tree.css("template"):
            _walk_fragment(obs, sigs, walk.seen, _template_content(node.html or ""), gated=True, fast=fast)
    for fragment in _encoded_fragments(body if text is None else text.encode("utf-8", "replace")):
        _walk_fragment(obs, sigs, walk.seen, fragment, encoded=True, fast=fast)
    csp = headers.get("content-security-policy")
    if csp:
        for directive, host in csp_hosts(csp):
            obs.references.append(Reference(host, _host(host) or host, "csp", directive, declared=True))
    return obs


def _visit_all(walk: _Walk, tree: LexborHTMLParser) -> None:
    """The pure-Python walk: ``walk.visit`` for each selected element, in document order, once (lexbor lists
    an element that matches two parts of the selector twice, one after the other)."""
    visit = walk.visit
    last = None
    for node in tree.css(_SELECTOR_LINKS if walk.links else _SELECTOR):
        mem_id = node.mem_id
        if mem_id != last:
            last = mem_id
            visit(node.tag, node.attributes, node.text)


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


class _Walk:
    """The state of one page's walk over its elements, shared by the pure-Python walk (``visit`` per
    selected element) and the native one, which handles the common cases itself and calls back into these
    methods for the rest: the references found so far with their dedup keys, and the signature lists.
    A walk over a template's content or decoded embed code marks what it adds ``gated`` or ``encoded``."""

    __slots__ = ("obs", "refs", "seen", "sigs", "table", "links", "max_links", "rel_root", "rel_dir", "rel_host",
                 "gated", "encoded", "templates", "self_link", "fast")

    def __init__(self, obs: Observation, sigs: tuple[CompiledSignature, ...], links: bool, max_links: int,
                 gated: bool = False, encoded: bool = False, seen: set | None = None, fast=None):
        self.obs = obs
        self.fast = fast  # the native module when the native walk runs (it also searches the needles)
        self.refs = obs.references
        self.seen: set[tuple[str, str, str, bool, bool]] = set() if seen is None else seen
        self.sigs = sigs
        self.table = _needle_table(sigs)
        self.links = links
        self.max_links = max_links
        self.gated = gated
        self.encoded = encoded
        self.templates = False  # the walk passed a <template>
        self.self_link = None  # where a link "#…" leads: the page itself (for the native walk)
        if links:
            self.self_link = _self_link(obs.base_url)
        # for the native walk: relative URLs without dot segments resolve by concatenation
        self.rel_root, self.rel_dir, self.rel_host = _relative_prefixes(obs.base_url)

    def add(self, raw: str | None, element: str, attribute: str, rel: str = "", inline: bool = False,
            gated: bool = False) -> None:
        if not raw:
            return
        if not raw.startswith(_ABS_PREFIXES):
            raw = raw.strip()
            if not raw or raw[:11].lower().startswith(_SKIP_SCHEMES):
                return
            if self.encoded and not (raw.startswith("//") or _SPECIAL.match(raw)):
                return
        absolute = _absolute(self.obs.base_url, raw)
        if absolute is None or not absolute.startswith(("http://", "https://", "ws://", "wss://")):
            return
        gated = gated or self.gated
        key = (absolute, element, attribute, gated, self.encoded)
        if key in self.seen:
            return
        self.seen.add(key)
        self.refs.append(Reference(absolute, _host(absolute), element, attribute, rel, inline, False, gated,
                                   self.encoded))

    def link(self, href: str | None, text: str) -> None:
        """A same-document link (``<a href>``, ``<area href>``) with its collapsed text."""
        obs = self.obs
        if not href or len(obs.links) >= self.max_links:
            return
        absolute = _absolute(obs.base_url, href.strip())
        if absolute and absolute.startswith(("http://", "https://")):
            obs.links.append((absolute.split("#", 1)[0], " ".join((text or "").split())[:_LINK_TEXT_MAX]))

    def add_css(self, css: str, element: str, attribute: str) -> None:
        add = self.add
        for m in _CSS_URL.finditer(css):
            add(m.group(2) or m.group(4), element, attribute, inline=True)

    def add_srcset(self, value: str, element: str, attribute: str, rel: str = "") -> None:
        for candidate in _srcset(value):
            self.add(candidate, element, attribute, rel)

    def target(self, gated: bool) -> list[tuple[str, str]]:
        if self.encoded:
            return self.obs.encoded_signatures
        return self.obs.gated_signatures if gated or self.gated else self.obs.signatures

    def attr_signatures(self, attrs: Mapping[str, str | None], skip_src: bool, gated: bool) -> None:
        """Signatures in a ``<script>`` element's attributes (ids in ``data-*`` attributes: Cookiebot,
        Usercentrics, etracker …)."""
        text = " ".join(f'{k}="{v}"' for k, v in attrs.items() if v and not (skip_src and k == "src"))
        _match_signatures(text, self.sigs, self.target(gated), self.fast)

    def scan_script(self, code: str, gated: bool) -> None:
        _scan_script(code, self.add, self.target(gated), self.sigs, gated, self.fast)

    def signature_matches(self, matches: Sequence[tuple[int, list[re.Match]]], gated: bool) -> None:
        """The matches the native walk found, per signature (index into ``sigs``, in order)."""
        found = self.target(gated)
        for i, sig_matches in matches:
            _add_matches(self.sigs[i], sig_matches, found)

    def set_title(self, text: str) -> None:
        if not self.obs.title:
            self.obs.title = " ".join(text.split())[:_TITLE_MAX]

    def visit(self, tag: str, attrs: Mapping[str, str | None], text: Callable[[], str]) -> None:
        """One element the selector picked: ``attrs`` as selectolax gives them, ``text()`` its text."""
        add = self.add
        role = _ROLE.get(tag)
        if role == "fetch":
            for attribute in _FETCH_ATTRS[tag]:
                value = attrs.get(attribute)
                if value:
                    if attribute.endswith("srcset"):
                        self.add_srcset(value, tag, attribute)
                    else:
                        add(value, tag, attribute)
            if tag in _GATEABLE and _fetches_nothing(attrs.get("src")):
                held = _first_of(attrs, _GATE_SRC_ATTRS)
                if held:
                    add(held, tag, "src", gated=True)
        elif role == "script":
            self.script(attrs, text)
            return
        elif role == "anchor":
            if self.links and len(self.obs.links) < self.max_links:
                href = attrs.get("href")
                if href:
                    self.link(href, text() or "")
        elif role == "link":
            rel = attrs.get("rel")
            if rel:
                rel = rel.lower()
                if rel not in _LINK_RELS_FETCHED:
                    rel = " ".join(rel.split())
                    if rel not in _LINK_RELS_FETCHED and not any(r in _LINK_RELS_FETCHED for r in rel.split()):
                        rel = ""
                if rel:
                    add(attrs.get("href"), "link", "href", rel)
                    if attrs.get("imagesrcset"):
                        self.add_srcset(attrs["imagesrcset"], "link", "imagesrcset", rel)
        elif role == "meta":
            if (attrs.get("http-equiv") or "").lower() == "refresh":
                m = _REFRESH.match(attrs.get("content") or "")
                if m:
                    add(m.group(1), "meta", "refresh")
        elif role == "style":
            self.add_css(text() or "", "style", "text")
            return
        elif role == "title":
            self.set_title(text())
            return
        elif role == "template":
            self.templates = True
            return
        style = attrs.get("style")
        if style and ("url(" in style or "URL(" in style or "url(" in style.lower()):
            self.add_css(style, tag, "style")

    def script(self, attrs: Mapping[str, str | None], text: Callable[[], str]) -> None:
        """A ``<script>``: its URL (``src``, or one parked by a page-speed tool or held back by a consent
        manager), else its code; JSON and templates are never run."""
        stype = attrs.get("type")
        kind = _script_kind(stype) if stype else "js"
        gated = kind == "gated"
        src = attrs.get("src")
        if not src:
            src = _first_of(attrs, _DEFERRED_SRC_ATTRS) if kind != "data" else None
            if not src:
                src = _first_of(attrs, _GATE_SRC_ATTRS)
                gated = gated or bool(src)
        if kind == "data" and not gated:
            return  # JSON / templates: not executed; URLs in app state are links, not loads
        if src:
            self.add(src, "script", "src", gated=gated)
            if len(attrs) > 1:
                self.attr_signatures(attrs, True, gated)
        elif kind != "data":
            code = text() or ""
            if code:
                self.scan_script(code, gated)
                if len(attrs) > 1:
                    self.attr_signatures(attrs, False, gated)


def _first_of(attrs: Mapping[str, str | None], names: Sequence[str]) -> str | None:
    """The value of the first of ``names`` the element carries with a value."""
    for name in names:
        value = attrs.get(name)
        if value:
            return value
    return None


def _fetches_nothing(src: str | None) -> bool:
    """True when a ``src`` value makes the browser fetch nothing (absent, blank, ``about:blank`` …)."""
    if not src:
        return True
    src = src.strip()
    return not src or src[:11].lower().startswith(_SKIP_SCHEMES)


def _self_link(base: str) -> str | None:
    """Where a link ``#…`` leads from ``base``: the page itself, without its fragment (None: no http(s) URL)."""
    if _PLAIN_BASE.fullmatch(base):  # what urljoin gives, without it: an empty query is dropped too
        head, sep, query = base.split("#", 1)[0].partition("?")
        return head if sep and not query else head + sep + query
    here = _absolute(base, "#")
    return here.split("#", 1)[0] if here and here.startswith(("http://", "https://")) else None


def _relative_prefixes(base: str) -> tuple[str | None, str, str]:
    """(root, dir, host) such that a relative URL without dot segments, colons, semicolons, backslashes or
    whitespace resolves against ``base`` to ``root + url`` (``/path``) or ``dir + url`` (``path``, empty
    segments dropped), with host ``host``; root None when ``base`` is not a plain http(s) URL."""
    hit = _PREFIXES.get(base)
    if hit is None:
        hit = (None, "", "")
        plain = _PLAIN_BASE.fullmatch(base)
        if plain:  # what urljoin gives, without it: no dot segments, empty segments or parameters to resolve
            root, path = plain.group(1), plain.group(2)
            hit = (root, root + path[: path.rfind("/") + 1] if path else root + "/", _host(root))
        elif _PLAIN_ABSOLUTE.fullmatch(base):
            root, directory = _absolute(base, "/x"), _absolute(base, "x")
            if root and directory and root.endswith("/x") and directory.endswith("/x") \
                    and root.startswith(("http://", "https://")) and directory.startswith(root[:-1]):
                hit = (root[:-2], directory[:-1], _host(root))
        if len(_PREFIXES) > 4096:
            _PREFIXES.clear()
        _PREFIXES[base] = hit
    return hit


_PREFIXES: dict[str, tuple[str | None, str, str]] = {}
# a plain base whose path (group 2) has no empty, "." or ".." segments and no ";" (urljoin would resolve them)
_PLAIN_BASE = re.compile(r"(https?://[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::\d{1,4})?)"
                         r"((?:/(?!\.\.?(?:[/?#]|$))[^/?#;\s\\]+)*/?)(?:[?#][^\s\\]*)?")


def _plain_encoding(body: bytes, content_type: str) -> str | None:
    """The encoding ``decode_body`` reports, named without decoding the body when a ``<meta>`` declaration
    decides it (no BOM, no charset header); None when only decoding can tell."""
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or body[:3] == b"\xef\xbb\xbf" or body[:4] == b"\x00\x00\xfe\xff":
        return None
    if content_type and http_content_type_encoding(content_type):
        return None
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


_JS_TYPES = frozenset({"text/javascript", "application/javascript", "module", "text/ecmascript",
                       "application/ecmascript", "application/x-javascript", "text/jscript", "text/livescript",
                       "text/javascript1.0", "text/javascript1.1", "text/javascript1.2", "text/javascript1.3",
                       "text/javascript1.4", "text/javascript1.5", "text/x-javascript", "text/x-ecmascript",
                       # page-speed tools that run the script once the page has loaded or is first touched
                       # (WP Rocket, Perfmatters, PhastPress, …): deferred, not held back for consent
                       "rocketlazyloadscript", "pmdelayedscript", "text/phast", "loadonuseraction",
                       "application/deferred"})
_JS_TYPE_SUFFIXES = ("-text/javascript",)  # Cloudflare Rocket Loader: "<hash>-text/javascript"
_DATA_TYPES = frozenset({"application/ld+json", "application/json", "text/template", "text/x-template",
                         "text/html", "text/x-handlebars-template", "importmap", "speculationrules",
                         "text/x-magento-init"})
_DATA_TYPE_SUFFIXES = ("+json", "/json")


def _script_kind(script_type: str) -> str:
    """``js`` (the browser runs it, maybe deferred), ``data`` (JSON, templates: never run) or ``gated`` (any
    other type, e.g. ``text/plain`` as consent managers use it to hold a script back until consent)."""
    t = script_type.split(";", 1)[0].strip().lower()
    if not t or t in _JS_TYPES or t.endswith(_JS_TYPE_SUFFIXES):
        return "js"
    if t in _DATA_TYPES or t.endswith(_DATA_TYPE_SUFFIXES):
        return "data"
    return "gated"


def _match_signatures(text: str, sigs: Sequence[CompiledSignature], found: list[tuple[str, str]],
                      fast=None) -> None:
    """Run the signatures whose needles occur in ``text``; a tight loop of substring tests over a flat
    (needle, signature) table, since most texts contain none of them. ``fast``: the native module, whose one
    pass finds the same needles and further literals (the pure-Python walk, the reference, passes None)."""
    sigs = tuple(sigs)
    table = _needle_table(sigs)
    if fast is not None and sigs:
        found_at = fast.needle_hits(_native_needles(fast, table, sigs), text.encode("utf-8", "surrogatepass"))
        if found_at is not None:  # the native needle search (the same needles and further literals)
            if found_at:
                _run_signatures(text, [sigs[i] for i in found_at], found)
            return
    hits: list[CompiledSignature] = []
    for needle, sig in table.plain:
        if needle in text and sig not in hits:
            hits.append(sig)
    if table.lower:
        lowered = text.lower()
        for needle, sig in table.lower:
            if needle in lowered and sig not in hits:
                hits.append(sig)
    if table.also and hits:
        lowered = text.lower() if table.lower else text
        hits = [s for s in hits if all(any(n in (lowered if s.lower else text) for n in g) for g in s.also)]
    hits.extend(table.always)
    if not hits:
        return
    if len(hits) > 1:
        order = table.order
        hits.sort(key=order.__getitem__)
    _run_signatures(text, hits, found)


def _run_signatures(text: str, hits: Sequence[CompiledSignature], found: list[tuple[str, str]]) -> None:
    for sig in hits:
        _add_matches(sig, sig.finditer(text), found)


def _add_matches(sig: CompiledSignature, matches, found: list[tuple[str, str]]) -> None:
    """Add each match of ``sig`` to ``found`` as (signature id, its id group or the match), once."""
    for m in matches:
        value = m.group(1) if sig.regex.groups else None  # an optional id group may not take part
        pair = (sig.id, m.group(0) if value is None else value)
        if pair not in found:
            found.append(pair)


@dataclass(frozen=True)
class _NeedleTable:
    plain: tuple[tuple[str, CompiledSignature], ...]
    lower: tuple[tuple[str, CompiledSignature], ...]
    always: tuple[CompiledSignature, ...]
    order: dict
    also: bool  # some signature has further required literals


_TABLES: dict[int, tuple[tuple, _NeedleTable]] = {}


def _needle_table(sigs: tuple[CompiledSignature, ...]) -> _NeedleTable:
    hit = _TABLES.get(id(sigs))
    if hit is not None and hit[0] is sigs:
        return hit[1]
    plain = tuple((n, s) for s in sigs if not s.lower for n in s.needles)
    lower = tuple((n, s) for s in sigs if s.lower for n in s.needles)
    always = tuple(s for s in sigs if not s.needles)
    table = _NeedleTable(plain, lower, always, {s: i for i, s in enumerate(sigs)}, any(s.also for s in sigs))
    if len(_TABLES) > 16:
        _TABLES.clear()
    _TABLES[id(sigs)] = (sigs, table)
    return table


def _srcset(value: str) -> list[str]:
    """Candidate URLs of a srcset, parsed as the HTML spec does: a URL is a run of non-whitespace (commas
    inside it are kept, trailing ones end the candidate); descriptors run to the next comma."""
    if "(" in value:
        return _srcset_slow(value)
    out: list[str] = []
    expect_url = True
    for tok in value.split():
        if expect_url:
            tok = tok.lstrip(",")
            if not tok:
                continue
            if tok.endswith(","):
                tok = tok.rstrip(",")
            else:
                expect_url = False
            if tok:
                out.append(tok)
        elif "," in tok:  # end of this candidate's descriptors; text after the comma starts the next URL
            rest = tok.split(",", 1)[1]
            expect_url = True
            if rest:
                if rest.endswith(","):
                    out.append(rest.rstrip(","))
                else:
                    out.append(rest)
                    expect_url = False
    return out


def _srcset_slow(value: str) -> list[str]:
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        while i < n and (value[i].isspace() or value[i] == ","):
            i += 1
        start = i
        while i < n and not value[i].isspace():
            i += 1
        url = value[start:i]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            depth = 0  # skip descriptors up to the next comma outside parentheses
            while i < n and (value[i] != "," or depth):
                depth += value[i] == "("
                depth -= value[i] == ")" and depth > 0
                i += 1
        if url:
            out.append(url)
    return out


def _scan_script(code: str, add, found: list[tuple[str, str]], sigs: Sequence[CompiledSignature],
                 gated: bool = False, fast=None) -> None:
    if "//" in code or "\\/\\/" in code:
        if "\\/" in code:
            code = code.replace("\\/", "/")
        for m in _JS_URL.finditer(code):
            start = m.start()
            if not start or code[start - 1] not in _URL_OPENERS:
                continue  # "//" after anything else is a line comment or an operator, not a URL literal
            before = code[max(0, start - 6) : start].lower()
            scheme = "http:" if before.endswith("http:") and not before.endswith("https:") else "https:"
            add(scheme + m.group(0), "script", "inline", inline=True, gated=gated)
    if len(code) > _SIG_SCAN_LIMIT:  # app state / bundles: snippets sit at the start or the end
        code = code[: _SIG_SCAN_LIMIT - _SIG_TAIL] + "\n" + code[-_SIG_TAIL:]
    _match_signatures(code, sigs, found, fast)


_SIG_SCAN_LIMIT = 24576
_SIG_TAIL = 8192
_TITLE_MAX = 500
_LINK_TEXT_MAX = 200


def csp_hosts(policy: str) -> list[tuple[str, str]]:
    """(directive, source) pairs for host sources named in a Content-Security-Policy header."""
    out: list[tuple[str, str]] = []
    for directive in policy.split(";"):
        bits = directive.split()
        if len(bits) < 2:
            continue
        name = bits[0].lower()
        for src in bits[1:]:
            s = src.strip()
            low = s.lower()
            if low in _CSP_KEYWORDS or low.startswith(("'nonce-", "'sha256-", "'sha384-", "'sha512-")):
                continue
            if "." not in s and not low.startswith("localhost"):
                continue
            if "://" not in s:
                s = "https://" + s.lstrip("*.") if s.startswith("*.") else "https://" + s
            out.append((name, s))
    return out


_MAX_AGE_CAP = 2**62  # keeps Max-Age inside the int64 column


@dataclass(slots=True)
class CookieObs:
    """A parsed Set-Cookie header (the value itself is not kept, only its length)."""

    name: str
    value_length: int
    domain: str
    host_only: bool
    path: str
    expires: datetime | None
    max_age: int | None
    session: bool
    secure: bool
    http_only: bool
    same_site: str


def parse_set_cookie(header: str, request_url: str, now: datetime | None = None) -> CookieObs | None:
    """Parse one Set-Cookie header value as RFC 6265 does, leniently; None when it has no name=value."""
    parts = header.split(";")
    first = parts[0]
    if "=" not in first:
        return None
    name, _, value = first.partition("=")
    name = name.strip()
    if not name:
        return None
    now = now or datetime.now(timezone.utc)
    host = _host(request_url)
    domain, path, expires, max_age = "", "", None, None
    secure = http_only = False
    same_site = ""
    for attr in parts[1:]:
        key, _, val = attr.partition("=")
        key = key.strip().lower()
        val = val.strip()
        if key == "domain" and val:
            domain = val.lstrip(".").lower()
        elif key == "path":
            path = val
        elif key == "expires" and val:
            try:
                expires = parsedate_to_datetime(val)
                if expires.tzinfo is None:
                    expires = expires.replace(tzinfo=timezone.utc)
            except (TypeError, ValueError, IndexError, OverflowError):
                expires = None
        elif key == "max-age":
            try:
                max_age = max(-_MAX_AGE_CAP, min(_MAX_AGE_CAP, int(val)))
            except ValueError:
                pass
        elif key == "secure":
            secure = True
        elif key == "httponly":
            http_only = True
        elif key == "samesite":
            same_site = val.lower()
    if max_age is not None:  # Max-Age wins over Expires; <= 0 means already expired (RFC 6265 5.2.2)
        if max_age <= 0:
            expires = datetime(1970, 1, 1, tzinfo=timezone.utc)
        else:
            try:
                expires = now + timedelta(seconds=max_age)
            except OverflowError:
                expires = datetime(9998, 12, 31, tzinfo=timezone.utc)
    if expires is not None and expires.year > 9999 - 1:
        expires = datetime(9998, 12, 31, tzinfo=timezone.utc)
    return CookieObs(
        name=name[:256],
        value_length=len(value.strip()),
        domain=domain or host,
        host_only=not domain,
        path=path or "/",
        expires=expires,
        max_age=max_age,
        session=expires is None,
        secure=secure,
        http_only=http_only,
        same_site=same_site,
    )


# --- the native walk (crawler/_fastwalk.c) ------------------------------------------------------------------
# every branch of the walk once, for the self-check that both walks agree on this build of selectolax
_SELF_CHECK = (b'<html style="background:url(/h.png)"><head><title> A  title </title><base href="/b/">'
               b'<link rel="Preload" href="/f.woff2" imagesrcset="/a.png 1x, b.png 2x">'
               b'<link rel=" alternate   stylesheet " href="//cdn.example/s.css"><meta http-equiv="refresh" '
               b'content="5; url=/next"><style>@import "x.css"; a{background:url( \'i.png\' )}</style>'
               b'<script src="https://www.googletagmanager.com/gtm.js?id=GTM-ABC123" data-cbid="x"></script>'
               b'<script type="text/plain" data-src="https://t.example/p.js"></script>'
               b'<script type="text/template" data-cmp-src="https://cmp.example/held.js"></script>'
               b'<script type="rocketlazyloadscript" data-rocket-src="/deferred.js"></script>'
               b'<script type="application/ld+json">{"u": "https://json.example/"}</script>'
               b'<script>var u = "https:\\/\\/a.example\\/x.js", v = \'//b.example:8080/y?z\';'
               b"gtag('config', 'G-ABCDEF1234'); fbq('init', '123456789012345');</script></head>"
               b'<body background="bg.png"><img src="img/./a.png" srcset="c.png 1x,d.png 2x">'
               b'<img src=" ../up.png " style="x:URL(s.png)"><iframe src="https://www.youtube.com/embed/x">'
               b'</iframe><iframe src="about:blank" data-cmp-src="https://www.youtube.com/embed/held"></iframe>'
               b'<video src="v.mp4" poster="//p.example/p.jpg"><source src="/s.webm"><track src="t.vtt">'
               b'</video><object data="o.swf"></object><form action="/submit?x=1#f"></form><input src="i.gif">'
               b'<div style="background: url(\'/d.png\')"></div><p><svg><script>//x.example/y</script>'
               b'<title>svg</title></svg><img src="https://EXAMPLE.com:99999/x"><img src="h\xc3\xa9.png">'
               b'<img src="//h\xc3\xa9.example/x"><img src="https://x.example/a b"><img src="?q=1">'
               b'<a href="/page#top"> A\n link </a><a href="https://other.example/x">x</a><a href="#only">'
               b'<area href="m\xc3\xa4p.html"><a href="//p.example/">\xc3\xa4</a>'
               b'<img src="a//b/c?">x</p><template><img src="https://tpl.example/t.png"></template></body></html>')


def _native_spec(fast) -> dict:
    """The rule tables the native walk runs on, from this module (crawler/_fastwalk.c holds none): each
    element rule with its lexbor tag id, looked up on parsed samples of the element."""
    tags = []
    for tag, (role, attrs, required) in _ELEMENTS.items():
        sample = (LexborHTMLParser("<frameset><frame></frameset>") if tag == "frame"
                  else LexborHTMLParser(f"<html><head></head><body><{tag}></{tag}></body></html>"))
        node = sample.css_first(tag)
        if node is None:
            raise RuntimeError(f"no lexbor element for <{tag}>")
        tags.append((tag, fast.tag_id(node.mem_id), role, attrs, required, tag in _GATEABLE))
    return {"tags": tags, "skip_schemes": _SKIP_SCHEMES, "js_types": sorted(_JS_TYPES),
            "js_suffixes": _JS_TYPE_SUFFIXES, "data_types": sorted(_DATA_TYPES),
            "data_suffixes": _DATA_TYPE_SUFFIXES, "link_rels": sorted(_LINK_RELS_FETCHED),
            "gate_src": _GATE_SRC_ATTRS, "deferred_src": _DEFERRED_SRC_ATTRS,
            "url_openers": "".join(sorted(_URL_OPENERS)), "sig_limit": _SIG_SCAN_LIMIT, "sig_tail": _SIG_TAIL,
            "title_max": _TITLE_MAX, "link_text_max": _LINK_TEXT_MAX}


_NATIVE: list = []  # [module or None] once set up


def _native():
    """The native walk module, set up on first use; None when it is not built or fails its self-check."""
    if _NATIVE:
        return _NATIVE[0]
    _NATIVE.append(None)
    try:
        import selectolax.lexbor

        from crawler import _fastwalk

        _fastwalk.load(selectolax.lexbor.__file__)
        _fastwalk.configure(_native_spec(_fastwalk))
        _fastwalk.set_reference(Reference, tuple(f.name for f in fields(Reference)))
    except (ImportError, OSError, AttributeError, ValueError, RuntimeError, TypeError, KeyError):
        return None
    _NATIVE[0] = _fastwalk
    url = "https://www.site.example/dir/page.html"
    try:
        same = all(_observation_tuple(observe(_SELF_CHECK, url, links=links, native=True)) ==
                   _observation_tuple(observe(_SELF_CHECK, url, links=links, native=False)) for links in (False, True))
    except Exception:  # noqa: BLE001 - a broken build must not break observe(): fall back to Python
        same = False
    if not same:
        _NATIVE[0] = None
    return _NATIVE[0]


def _observation_tuple(obs: Observation) -> tuple:
    """Everything an observation holds, as plain tuples (for comparing the two walks)."""
    return (obs.url, obs.base_url, obs.encoding, obs.title, obs.flattened,
            [(r.url, r.host, r.element, r.attribute, r.rel, r.inline, r.declared, r.gated, r.encoded)
             for r in obs.references],
            list(obs.links), list(obs.signatures), list(obs.gated_signatures), list(obs.encoded_signatures))


_NATIVE_NEEDLES: dict[int, tuple[_NeedleTable, object]] = {}


def _native_needles(native, table: _NeedleTable, sigs: tuple[CompiledSignature, ...]):
    """The native form of a needle table (cached per table)."""
    hit = _NATIVE_NEEDLES.get(id(table))
    if hit is None or hit[0] is not table:
        order = table.order
        groups = [(n.encode(), order[s], 0) for n, s in table.plain]
        groups += [(n.encode(), i, 1 + k) for i, s in enumerate(sigs) if not s.lower
                   for k, g in enumerate(s.also[:7]) for n in g]
        counts = [1 + len(s.also[:7]) for s in sigs]
        anchors = [(a.encode(), i, offset) for i, s in enumerate(sigs) for a, offset in s.anchors]
        capsule = native.needles(groups, counts, bool(table.lower), bool(table.always), anchors,
                                 tuple(s.regex for s in sigs))
        if len(_NATIVE_NEEDLES) > 16:
            _NATIVE_NEEDLES.clear()
        hit = _NATIVE_NEEDLES[id(table)] = (table, capsule)
    return hit[1]
