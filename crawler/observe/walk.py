"""The walk over a page's elements: ``_Walk`` holds the page state and the reference rules per element; the
pure-Python walk calls ``_Walk.visit`` per selected element, the native walk calls back into it for the rest."""

from __future__ import annotations

import re
from typing import Callable, Mapping, Sequence

from selectolax.lexbor import LexborHTMLParser

from common.signatures import CompiledSignature
from crawler.observe.model import Observation, Reference
from crawler.observe.rules import (
    _ABS_PREFIXES,
    _CSS_URL,
    _DEFERRED_SRC_ATTRS,
    _FETCH_ATTRS,
    _GATE_SRC_ATTRS,
    _GATEABLE,
    _LINK_RELS_FETCHED,
    _LINK_TEXT_MAX,
    _REFRESH,
    _ROLE,
    _SELECTOR,
    _SELECTOR_LINKS,
    _SKIP_SCHEMES,
    _TITLE_MAX,
    _script_kind,
)
from crawler.observe.sigmatch import _add_matches, _match_signatures, _needle_table, _scan_script
from crawler.observe.urls import (
    _SPECIAL,
    _absolute,
    _fetches_nothing,
    _first_of,
    _host,
    _relative_prefixes,
    _self_link,
    _srcset,
)


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
        # for the native walk: relative URLs resolve against these (by concatenation, or after dot removal)
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
