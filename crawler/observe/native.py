"""Setting up the native walk (``crawler/_fastwalk.c``): it gets the rule tables from ``rules`` and must give
the observation the pure-Python walk gives on a document that exercises every branch, else observe() runs
without it."""

from __future__ import annotations

from dataclasses import fields

from selectolax.lexbor import LexborHTMLParser

from crawler.observe.model import Reference, _observation_tuple
from crawler.observe.rules import (
    _DATA_TYPE_SUFFIXES,
    _DATA_TYPES,
    _DEFERRED_SRC_ATTRS,
    _ELEMENTS,
    _GATE_SRC_ATTRS,
    _GATEABLE,
    _JS_TYPE_SUFFIXES,
    _JS_TYPES,
    _LINK_RELS_FETCHED,
    _LINK_TEXT_MAX,
    _SIG_SCAN_LIMIT,
    _SIG_TAIL,
    _SKIP_SCHEMES,
    _TITLE_MAX,
    _URL_OPENERS,
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
    from crawler.observe import observe  # the package's entry point (imports this module)

    url = "https://www.site.example/dir/page.html"
    try:
        same = all(_observation_tuple(observe(_SELF_CHECK, url, links=links, native=True)) ==
                   _observation_tuple(observe(_SELF_CHECK, url, links=links, native=False)) for links in (False, True))
    except Exception:  # noqa: BLE001 - a broken build must not break observe(): fall back to Python
        same = False
    if not same:
        _NATIVE[0] = None
    return _NATIVE[0]
