"""Pure function from a fetched policy page to its readable text (what the privacy-policy coverage check reads).

No I/O. The text is what a reader sees: scripts, styles, templates and hidden form fields removed, block
elements separated by line breaks, whitespace collapsed. Never raises on page content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

from crawler.observe import decode_body, flatten_if_deep

#: page kinds (crawler.pagepick) whose text is kept: where a site names the services it uses
POLICY_KINDS = frozenset({"privacy", "cookies"})
_DROP = "script, style, noscript, template, svg, iframe, object, head"
_BLOCKS = ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "br", "dd", "dt",
           "td", "th", "table", "ul", "ol", "header", "footer", "main", "aside", "nav", "blockquote", "pre")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_BREAKS = re.compile(r"\s*\n\s*")
_LANG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")


@dataclass(frozen=True, slots=True)
class PageText:
    text: str  # readable text, at most ``max_chars`` characters
    chars: int  # length of the full readable text before truncation
    lang: str | None  # <html lang> (lower-case primary tag and subtags), None when absent or malformed
    truncated: bool


def page_text(body: bytes, content_type: str = "", *, max_chars: int = 300_000) -> PageText:
    """The readable text of an HTML page and its declared language."""
    text, _enc = decode_body(body, content_type)
    if len(body) > 100_000 and body.count(b"<") >= 20_000:
        text, _ = flatten_if_deep(text)
    tree = LexborHTMLParser(text.replace("\x00", "\ufffd"))
    lang = None
    root = tree.root
    if root is not None:
        raw_lang = (root.attributes.get("lang") or "").strip()
        if _LANG.match(raw_lang):
            lang = raw_lang.lower()
    for node in tree.css(_DROP):
        node.decompose()
    body_node = tree.body or tree.root
    if body_node is None:
        return PageText("", 0, lang, False)
    for node in body_node.css(", ".join(_BLOCKS)):
        # a line break after every block, so words of adjacent blocks never run together
        node.insert_after("\n")
    readable = body_node.text(deep=True, separator="", strip=False)
    readable = _BREAKS.sub("\n", _SPACES.sub(" ", readable)).strip()
    full = len(readable)
    return PageText(readable[:max_chars], full, lang, full > max_chars)
