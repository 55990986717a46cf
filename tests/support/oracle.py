"""An attribute-level oracle for what a page makes a browser fetch, written independently of crawler.observe.

It uses a different parser (lxml's HTML parser, i.e. libxml2's tokenizer) and its own decoding, URL
resolution and srcset/refresh parsing, so that agreement with ``crawler.observe.observe`` means something.
It covers fetch attributes only: inline scripts, inline CSS and CSP headers are observe extras and are
deliberately absent here. Known over-counts, harmless for recall: ``<frame>`` outside a ``<frameset>``
(HTML5 drops it), ``<input src>`` without ``type=image``, and the contents of ``<template>``.

Entry points: ``oracle_urls``, ``oracle_hosts``, ``oracle_third_party_hosts``, ``registrable``; and, for the
tests that run on real pages, ``corpus_pages`` (the corpus itself comes from the ``realpages`` fixture of
``tests/conftest.py``).
"""

from __future__ import annotations

import codecs
import csv
import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from lxml import etree
from publicsuffixlist import PublicSuffixList

# element -> attributes whose URL the browser fetches
FETCH_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
    "object": ("data",),
    "form": ("action",),
    "body": ("background",),
}
# <link rel> tokens whose href is fetched or connected to ("shortcut icon" carries the token "icon")
LINK_RELS = frozenset({"stylesheet", "preload", "modulepreload", "prefetch", "preconnect", "dns-prefetch", "icon",
                       "apple-touch-icon", "manifest"})

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# <meta charset=x> and <meta http-equiv=content-type content="text/html; charset=x">, in the first bytes
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([a-zA-Z0-9_:.+-]+)""", re.I)
# WHATWG label quirks that Python's codec names do not follow
_LABEL_QUIRKS = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "l1": "cp1252",
                 "us-ascii": "cp1252", "ascii": "cp1252", "iso8859-1": "cp1252", "iso_8859-1": "cp1252",
                 "x-sjis": "shift_jis", "shift-jis": "shift_jis", "sjis": "shift_jis", "windows-31j": "cp932",
                 "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "tis-620": "cp874",
                 "iso-8859-9": "cp1254", "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "big5": "big5hkscs"}
_UTF16 = frozenset({"utf-16", "utf-16le", "utf-16be", "utf-16-le", "utf-16-be", "utf16"})


def _codec(label: str) -> str | None:
    label = label.strip().lower()
    if label in _UTF16:  # a meta charset of UTF-16 in an ASCII-compatible prescan means UTF-8 (HTML spec)
        return "utf-8"
    label = _LABEL_QUIRKS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_html(body: bytes) -> tuple[str, str]:
    """(text, encoding): a BOM, then a ``<meta charset>`` in the first 4 KiB, then UTF-8 if valid, else cp1252."""
    for bom, enc in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(enc, errors="replace"), enc
    m = _META_CHARSET.search(body[:4096])
    if m:
        enc = _codec(m.group(1).decode("ascii", "replace"))
        if enc:
            return body.decode(enc, errors="replace"), enc
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace"), "cp1252"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # libxml2 chokes on these; browsers keep going
_RAW_TEXT = re.compile(r"<!--.*?-->|<(script|style|textarea|title|xmp|noembed|noframes)\b.*?</\1\s*>", re.I | re.S)
_BODY_TAG = re.compile(r"<body\b[^>]*>", re.I)


class _StartTags:
    """lxml parser target: records every start tag libxml2's tokenizer emits (HTML5-conformant since 2.14).

    Tags are taken from the event stream, not from the tree: libxml2's tree building is not HTML5's and
    silently drops content (after a self-closed ``<html/>`` the whole document is lost; stray markup in
    ``<head>`` can cost the rest of the body), while the event stream keeps every tag.
    """

    def __init__(self) -> None:
        self.tags: list[tuple[str, dict[str, str]]] = []

    def start(self, tag, attrib) -> None:
        if isinstance(tag, str):
            self.tags.append((tag.lower(), {k.lower(): v for k, v in attrib.items()}))

    def close(self) -> list[tuple[str, dict[str, str]]]:
        return self.tags


def _tokenize(text: str) -> list[tuple[str, dict[str, str]]]:
    target = _StartTags()
    parser = etree.HTMLParser(target=target, encoding="utf-8", huge_tree=True)
    try:
        etree.fromstring(text.encode("utf-8", "replace"), parser)
    except etree.XMLSyntaxError:
        pass  # keep the tags seen so far
    return target.tags


def start_tags(text: str) -> list[tuple[str, dict[str, str]]]:
    """(tag, attributes) of every start tag in ``text``, in document order, lower-case names.

    The text reaches libxml2 as UTF-8 bytes with the encoding fixed, so that neither an ``<?xml encoding?>``
    declaration nor a ``<meta charset>`` re-decodes it. libxml2 drops a misplaced second ``<body>`` start tag
    whose attributes HTML5 merges into the body element; those are read back from the raw tags (outside
    comments, scripts and other raw text) and appended as a synthetic ``body`` tag.
    """
    text = _CONTROL.sub("\ufffd", text)
    if not text.strip():
        return []
    tags = _tokenize(text)
    if "<body" in text.lower():
        merged: dict[str, str] = {}
        for raw in _BODY_TAG.findall(_RAW_TEXT.sub(" ", text)):
            for tag, attrs in _tokenize(raw):
                if tag == "body":
                    for k, v in attrs.items():
                        merged.setdefault(k, v)  # HTML5: a later <body> adds only attributes not yet present
        if merged:
            tags.append(("body", merged))
    return tags


def srcset_urls(value: str) -> list[str]:
    """Candidate URLs of a srcset per the HTML spec's algorithm: skip whitespace and commas, take a run of
    non-whitespace as the URL (trailing commas end the candidate, no descriptors); otherwise the
    descriptors run to the first comma outside parentheses."""
    urls: list[str] = []
    pos, n = 0, len(value)
    ws = " \t\n\r\f"
    while True:
        while pos < n and (value[pos] in ws or value[pos] == ","):
            pos += 1
        if pos >= n:
            return urls
        end = pos
        while end < n and value[end] not in ws:
            end += 1
        url = value[pos:end]
        pos = end
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            in_parens = False
            while pos < n:
                c = value[pos]
                if c == "(":
                    in_parens = True
                elif c == ")":
                    in_parens = False
                elif c == "," and not in_parens:
                    break
                pos += 1
        if url:
            urls.append(url)


def refresh_url(content: str) -> str | None:
    """The URL of a ``<meta http-equiv=refresh content=...>`` (HTML spec "shared declarative refresh steps")."""
    s = content.lstrip(" \t\n\r\f")
    i = 0
    while i < len(s) and (s[i].isdigit() or s[i] == "."):
        i += 1
    if i == 0:
        return None
    s = s[i:].lstrip(" \t\n\r\f")
    if not s or s[0] not in ";,":
        return None
    s = s[1:].lstrip(" \t\n\r\f")
    if s[:3].lower() == "url":
        rest = s[3:].lstrip(" \t\n\r\f")
        if rest.startswith("="):
            s = rest[1:].lstrip(" \t\n\r\f")
    if s[:1] in ("'", '"'):
        quote, s = s[0], s[1:]
        j = s.find(quote)
        if j >= 0:
            s = s[:j]
    s = s.strip()
    return s or None


# WHATWG forbidden domain code points (a URL with one of them in its host fails to parse)
_FORBIDDEN_HOST = re.compile(r"[\x00-\x20#/:<>?@\[\\\]^|%\x7f]")
_SPECIAL_SLASHES = re.compile(r"^(https?):[/\\]*", re.I)
_EMPTY_AUTHORITY = re.compile(r"^(?:https?:)?//(?:[/?#]|$)")


def resolve(base: str, raw: str) -> str | None:
    """``raw`` resolved against the http(s) ``base`` (urljoin), if it yields an http(s) URL with a host.

    Before urljoin, the WHATWG URL parser's rules for special schemes that urljoin lacks: leading and
    trailing C0 controls and spaces are stripped, tabs and newlines removed, ``\\`` read as ``/``, and any
    number of slashes after ``http:``/``https:`` taken as the ``//`` of an authority.
    """
    raw = raw.strip("".join(map(chr, range(0x21))))
    raw = raw.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")
    if not raw:
        return None
    m = _SPECIAL_SLASHES.match(raw)
    if m:  # "https:/x", "https:///x": authority; "http:x" on an https base too; "https:x" on https: relative
        scheme = m.group(1).lower()
        if m.end() > len(scheme) + 1 or not base.lower().startswith(scheme + ":"):
            raw = scheme + "://" + raw[m.end():]
    elif raw.startswith("///"):
        raw = "//" + raw.lstrip("/")
    if _EMPTY_AUTHORITY.match(raw):
        return None  # an empty host: a special URL without one fails to parse (urljoin would return the base)
    try:
        url = urljoin(base, raw)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        parts.port  # noqa: B018 -- raises ValueError when out of range: the browser rejects the URL
        if ":" not in parts.hostname and _FORBIDDEN_HOST.search(parts.hostname):  # ":": IPv6, brackets gone
            return None
    except ValueError:
        return None
    return url


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def _raw_urls(tags: list[tuple[str, dict[str, str]]]) -> list[str]:
    """Every fetched URL string among the start tags, unresolved, in document order."""
    out: list[str] = []
    for tag, attrs in tags:
        if tag == "link":
            rels = set((attrs.get("rel") or "").lower().split())
            if rels & LINK_RELS and attrs.get("href"):
                out.append(attrs["href"])
        elif tag == "meta":
            if (attrs.get("http-equiv") or "").strip().lower() == "refresh":
                url = refresh_url(attrs.get("content") or "")
                if url:
                    out.append(url)
        else:
            for attribute in FETCH_ATTRIBUTES.get(tag, ()):
                value = attrs.get(attribute)
                if not value:
                    continue
                if attribute == "srcset":
                    out.extend(srcset_urls(value))
                else:
                    out.append(value)
    return out


def document_base(tags: list[tuple[str, dict[str, str]]], page_url: str) -> str:
    """The page URL, or the first ``<base href>`` (anywhere in the document) resolved against it."""
    for tag, attrs in tags:
        if tag != "base" or attrs.get("href") is None:
            continue
        try:
            joined = urljoin(page_url, attrs["href"].strip(" \t\n\r\f"))
            if urlsplit(joined).scheme in ("http", "https"):
                return joined
        except ValueError:
            pass
        return page_url
    return page_url


def oracle_urls(body: bytes, page_url: str) -> list[str]:
    """Absolute http(s) URLs the page's attributes make a browser fetch (duplicates kept, document order)."""
    text, _ = decode_html(body)
    tags = start_tags(text)
    base = document_base(tags, page_url)
    out = []
    for raw in _raw_urls(tags):
        url = resolve(base, raw)
        if url:
            out.append(url)
    return out


def oracle_hosts(body: bytes, page_url: str) -> set[str]:
    """Lower-case hosts of every URL the page's attributes make a browser fetch."""
    return {h for h in map(host_of, oracle_urls(body, page_url)) if h}


_PSL = PublicSuffixList(only_icann=True)


@lru_cache(maxsize=65536)
def registrable(host: str) -> str:
    """Registrable domain (eTLD+1 on the ICANN section); the host itself for IPs, single labels and suffixes."""
    host = host.lower().rstrip(".").strip("[]")
    try:
        ipaddress.ip_address(host)
        return host  # the PSL would make "0.1" of "10.0.0.1"
    except ValueError:
        pass
    return _PSL.privatesuffix(host) or host


def is_third_party(host: str, page_url: str) -> bool:
    return registrable(host) != registrable(host_of(page_url))


def oracle_third_party_hosts(body: bytes, page_url: str) -> set[str]:
    """The oracle hosts whose registrable domain differs from the page's."""
    page = registrable(host_of(page_url))
    return {h for h in oracle_hosts(body, page_url) if registrable(h) != page}


# --------------------------------------------------------------------------- the real-pages corpus

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class CorpusPage:
    page_file: str  # "pages/NNNN_<site_host>.html"
    url: str  # original_url: the page's first-party identity
    path: Path


def corpus_pages(root: Path) -> list[CorpusPage]:
    """The manifest's pages, in manifest order."""
    with open(root / "manifest.csv", newline="", encoding="utf-8") as fh:
        return [CorpusPage(row["page_file"], row["original_url"], root / row["page_file"])
                for row in csv.DictReader(fh)]
