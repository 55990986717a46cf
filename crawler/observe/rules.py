"""The observation rules, written once: which elements and attributes make a browser fetch something, script
types, link rels, skipped schemes, held-back URL attributes, the embedding of a reference, the signature window."""

from __future__ import annotations

import re

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


_SIG_SCAN_LIMIT = 24576


_SIG_TAIL = 8192


_TITLE_MAX = 500


_LINK_TEXT_MAX = 200
