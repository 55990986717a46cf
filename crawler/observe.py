"""Pure functions from a fetched page to what it makes a browser load: references, links, signatures, cookies.

No I/O here: ``observe(body, url, headers)`` takes bytes and returns an ``Observation``. It tolerates any
broken HTML or encoding and never raises on page content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Mapping
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser
from w3lib.encoding import html_body_declared_encoding, html_to_unicode, http_content_type_encoding, resolve_encoding

# element -> attributes that make the browser fetch something
_FETCH_ATTRS: dict[str, tuple[str, ...]] = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
    "form": ("action",),
    "body": ("background",),
}
_LINK_RELS_FETCHED = frozenset(
    {"stylesheet", "preload", "modulepreload", "prefetch", "preconnect", "dns-prefetch", "icon", "shortcut",
     "apple-touch-icon", "manifest", "prerender", "alternate stylesheet", "mask-icon"}
)
_SELECTOR = ("script, img, iframe, frame, embed, object, source, video, audio, track, input[src], form[action], "
             "link[href], meta[http-equiv], style, body[background], [style*='url(' i]")
_SELECTOR_LINKS = _SELECTOR + ", a[href], area[href]"
_SKIP_SCHEMES = ("data:", "javascript:", "mailto:", "tel:", "about:", "blob:", "#", "sms:", "whatsapp:", "callto:")
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")\s]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""", re.I)
# anchored on "//" (10x faster than a leading optional scheme); the scheme is read from the text before it
_JS_URL = re.compile(r"""//[a-z0-9][a-z0-9.-]*\.[a-z]{2,63}(?::\d{2,5})?(?:/[^\s"'<>`\\)]*)?""", re.I)
_URL_OPENERS = frozenset("\"'`(=:,[")  # what precedes "//" in a URL literal ("https:" ends in ":")
_REFRESH = re.compile(r"""^\s*\d*(?:\.\d*)?\s*[;,]\s*(?:url\s*=\s*)?['"]?([^'"\s][^'"]*)""", re.I)
_CSP_KEYWORDS = frozenset({"'self'", "'none'", "'unsafe-inline'", "'unsafe-eval'", "'strict-dynamic'", "*",
                           "'unsafe-hashes'", "'report-sample'", "'wasm-unsafe-eval'", "data:", "blob:", "https:",
                           "http:", "mediastream:", "filesystem:", "wss:", "ws:"})

#: Built-in inline snippet signatures (id -> regex with one capture group for the id value). A signature
#: only runs on scripts containing its literal needle (the longest plain prefix of the regex, or a given one).
DEFAULT_SIGNATURES: dict[str, str] = {
    "gtm-container-id": r"\b(GTM-[A-Z0-9]{4,10})\b",
    "ga4-measurement-id": r"""['"](G-[A-Z0-9]{6,12})['"]""",
    "ua-property-id": r"\b(UA-\d{4,10}-\d{1,4})\b",
    "google-ads-id": r"""['"](AW-\d{6,12})['"]""",
    "meta-pixel-init": r"""fbq\(\s*['"]init['"]\s*,\s*['"]?(\d{6,20})""",
    "livechat-license": r"""__lc\.license\s*=\s*['"]?(\d{4,12})""",
    "hotjar-id": r"""hjid\s*:\s*['"]?(\d{4,12})""",
    "matomo-paq": r"""_paq\.push\(\s*\[\s*['"]setSiteId['"]\s*,\s*['"]?(\w+)""",
}


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
    flattened: bool = False  # the page nested too deeply and was parsed without its container tags


_NEEDLES = {"gtm-container-id": "GTM-", "ga4-measurement-id": "G-", "ua-property-id": "UA-", "google-ads-id": "AW-",
            "meta-pixel-init": "fbq", "livechat-license": "__lc", "hotjar-id": "hjid", "matomo-paq": "_paq"}


def compile_signatures(signatures: Mapping[str, str], needles: Mapping[str, str] | None = None):
    """[(id, needle, compiled regex)]: the regex runs only on text that contains the needle."""
    needles = needles if needles is not None else _NEEDLES
    return [(sid, needles.get(sid, ""), re.compile(rx)) for sid, rx in signatures.items()]


_DEFAULT_COMPILED = compile_signatures(DEFAULT_SIGNATURES)


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


def _absolute(base: str, raw: str) -> str | None:
    """``raw`` resolved against ``base``; absolute http(s) URLs skip urljoin (the common case)."""
    low = raw[:8].lower()
    if low.startswith(("https://", "http://")) and " " not in raw and "\\" not in raw:
        return raw
    if raw.startswith("//"):
        return base.split(":", 1)[0] + ":" + raw
    try:
        return urljoin(base, raw)
    except ValueError:
        return None


def observe(
    body: bytes,
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    signatures: list[tuple[str, re.Pattern]] | None = None,
    max_links: int = 2000,
    links: bool = True,
) -> Observation:
    """Observe one HTML page. ``headers`` maps lower-case header names to values (CSP, content type).

    ``links=False`` skips collecting ``<a href>`` links (only the home page needs them to pick pages).
    """
    headers = headers or {}
    text, encoding = decode_body(body, headers.get("content-type", ""))
    text, obs_flattened = flatten_if_deep(text)
    tree = LexborHTMLParser(text.replace("\x00", "\ufffd"))
    obs = Observation(url=url, base_url=url, encoding=encoding, flattened=obs_flattened)
    refs = obs.references
    seen: set[tuple[str, str, str]] = set()
    sigs = _DEFAULT_COMPILED if signatures is None else signatures

    def add(raw: str | None, element: str, attribute: str, rel: str = "", inline: bool = False) -> None:
        if not raw:
            return
        raw = raw.strip()
        if not raw or raw[:11].lower().startswith(_SKIP_SCHEMES):
            return
        absolute = _absolute(obs.base_url, raw)
        if absolute is None or not absolute.startswith(("http://", "https://", "ws://", "wss://")):
            return
        key = (absolute, element, attribute)
        if key in seen:
            return
        seen.add(key)
        refs.append(Reference(absolute, _host(absolute), element, attribute, rel, inline))

    def add_css(css: str, element: str, attribute: str) -> None:
        for m in _CSS_URL.finditer(css):
            add(m.group(2) or m.group(4), element, attribute, inline=True)

    # <base href> applies to every URL in the document, wherever it stands
    base = tree.css_first("base[href]")
    if base is not None:
        href = (base.attributes.get("href") or "").strip()
        if href:
            obs.base_url = _absolute(url, href) or url
    nodes = tree.css(_SELECTOR_LINKS if links else _SELECTOR)
    title = tree.css_first("title")
    if title is not None:
        obs.title = " ".join(title.text().split())[:500]
    for node in nodes:
        tag = node.tag
        attrs = node.attributes
        if tag == "a" or tag == "area":
            href = attrs.get("href") if links and len(obs.links) < max_links else None
            if href:
                absolute = _absolute(obs.base_url, href.strip())
                if absolute and absolute.startswith(("http://", "https://")):
                    obs.links.append((absolute.split("#", 1)[0], " ".join((node.text() or "").split())[:200]))
        elif tag == "link":
            rel = " ".join((attrs.get("rel") or "").lower().split())
            if rel and (rel in _LINK_RELS_FETCHED or any(r in _LINK_RELS_FETCHED for r in rel.split())):
                add(attrs.get("href"), "link", "href", rel)
                if attrs.get("imagesrcset"):
                    for candidate in _srcset(attrs["imagesrcset"]):
                        add(candidate, "link", "imagesrcset", rel)
        elif tag == "meta":
            if (attrs.get("http-equiv") or "").lower() == "refresh":
                m = _REFRESH.match(attrs.get("content") or "")
                if m:
                    add(m.group(1), "meta", "refresh")
        elif tag == "script":
            if attrs.get("src"):
                add(attrs.get("src"), "script", "src")
            else:
                code = node.text() or ""
                if code:
                    _scan_script(code, add, obs.signatures, sigs)
        elif tag == "style":
            add_css(node.text() or "", "style", "text")
        else:
            for attribute in _FETCH_ATTRS.get(tag, ()):
                value = attrs.get(attribute)
                if not value:
                    continue
                if attribute.endswith("srcset"):
                    for candidate in _srcset(value):
                        add(candidate, tag, attribute)
                else:
                    add(value, tag, attribute)
        style = attrs.get("style") if tag != "style" else None
        if style and "url(" in style.lower():
            add_css(style, tag, "style")
    csp = headers.get("content-security-policy")
    if csp:
        for directive, host in csp_hosts(csp):
            refs.append(Reference(host, _host(host) or host, "csp", directive, declared=True))
    return obs


def _srcset(value: str) -> list[str]:
    """Candidate URLs of a srcset, parsed as the HTML spec does: a URL is a run of non-whitespace (commas
    inside it are kept, trailing ones end the candidate); descriptors run to the next comma."""
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


def _scan_script(code: str, add, found: list[tuple[str, str]], sigs) -> None:
    if "//" in code or "\\/\\/" in code:
        if "\\/" in code:
            code = code.replace("\\/", "/")
        for m in _JS_URL.finditer(code):
            start = m.start()
            if not start or code[start - 1] not in _URL_OPENERS:
                continue  # "//" after anything else is a line comment or an operator, not a URL literal
            before = code[max(0, start - 6) : start].lower()
            scheme = "http:" if before.endswith("http:") and not before.endswith("https:") else "https:"
            add(scheme + m.group(0), "script", "inline", inline=True)
    for sid, needle, rx in sigs:
        if needle and needle not in code:
            continue
        for m in rx.finditer(code):
            value = m.group(1) if rx.groups else m.group(0)
            pair = (sid, value)
            if pair not in found:
                found.append(pair)


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
