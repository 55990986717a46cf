"""Resolving the URLs a page names as a browser does: hosts, absolute URLs, srcset lists, relative prefixes."""

from __future__ import annotations

import re
from typing import Mapping, Sequence
from urllib.parse import urljoin, urlsplit

from crawler.observe.rules import _SKIP_SCHEMES


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
