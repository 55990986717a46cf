"""The native walk (``crawler/_fastwalk.c``) against the pure-Python reference walk (``observe._Walk``):
the same observation, links included (the home-page call), on every corpus page, on generated documents,
and on the cases each native shortcut must either handle exactly or hand back to Python. Plus the
equivalences the speed-ups of the signature and detection code rely on (anchored signature search, the fast
path+query split), and that the native walk holds no rule table of its own.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from common.signatures import compile_signature, load_signatures
from crawler.observe import compile_signatures, observe
from crawler.observe.embeds import _MARKER_ANCHORS, _find_markers
from crawler.observe.model import _observation_tuple
from crawler.observe.native import _SELF_CHECK, _native
from crawler.observe.sigmatch import _match_signatures, _needle_table
from crawler.observe.urls import _PLAIN_BASE, _host, _relative_prefixes, _self_link
from pipelines.catalog.detect import _path_of
from tests.crawler.test_observe_robust import PAGE, documents, invariant_violations
from tests.support.oracle import corpus_pages

CI = os.environ.get("CI") == "true"


@pytest.fixture(scope="module")
def native():
    module = _native()
    if module is None:
        if CI:
            pytest.fail("crawler._fastwalk is not built or failed its self-check (pip install -e . compiles it)")
        pytest.skip("crawler._fastwalk is not built: observe() runs its pure-Python walk")
    return module


def both(body: bytes, url: str = PAGE, headers: dict | None = None, links: bool = False) -> tuple[tuple, tuple]:
    fast = observe(body, url, headers, links=links, native=True)
    assert not invariant_violations(fast)
    assert fast.walk == "native"
    reference = observe(body, url, headers, links=links, native=False)
    assert reference.walk == "python"
    return _observation_tuple(fast), _observation_tuple(reference)


def test_self_check_document_covers_every_branch(native):
    fast, reference = both(_SELF_CHECK, "https://www.site.example/dir/page.html", links=True)
    assert fast == reference
    assert reference[6] and any("\u00e4" in text for _url, text in reference[6])  # links, non-ASCII text too
    refs = reference[5]
    assert {(r[2], r[3]) for r in refs} >= {
        ("html", "style"), ("link", "href"), ("link", "imagesrcset"), ("meta", "refresh"), ("style", "text"),
        ("script", "src"), ("script", "inline"), ("body", "background"), ("img", "src"), ("img", "srcset"),
        ("img", "style"), ("iframe", "src"), ("video", "src"), ("video", "poster"), ("source", "src"),
        ("track", "src"), ("object", "data"), ("form", "action"), ("input", "src"), ("div", "style")}
    assert reference[3] == "A title" and reference[7] and any(r[7] for r in refs)


@pytest.mark.parametrize("links", [False, True], ids=["sub-page", "home page with links"])
def test_every_corpus_page_gives_the_same_observation(native, realpages, links):
    pages = corpus_pages(realpages)
    differ = []
    for page in pages:
        fast, reference = both(page.path.read_bytes(), page.url, links=links)
        if fast != reference:
            differ.append(page.page_file)
    assert not differ, f"the walks differ on {len(differ)} of {len(pages)} pages: {differ[:10]}"
    if links:
        assert sum(len(observe(p.path.read_bytes(), p.url, links=True).links) for p in pages[:50]) > 1000


LONG_JS = "var a = 1;\n" * 3000  # beyond the 24576-character signature window
CASES = {
    "non-ascii urls": '<img src="/bilder/straße.png"><img src="https://ä.example/ü"><img src="//xn--4ca.example/ü">',
    "dot segments": '<img src="./a.png"><img src="../b.png"><img src="/c/../d.png"><img src="e/.">'
                    '<img src="..">',
    "empty query and fragment": '<img src="a?"><img src="b#"><img src="c?#"><img src="?q"><img src="/x?#y">',
    "empty segments": '<img src="a//b///c/"><img src="/a//b"><img src="a/">',
    "colons and semicolons": '<img src="a:b"><img src="/x:y"><img src="a;b"><img src="x/y;z?p">',
    "protocol relative": '<img src="//h.example"><img src="//h.example:8080/x"><img src="///x.example/y">'
                         '<img src="//h.example./x"><img src="//.//x"><img src="//u@h.example/">',
    "odd absolute": '<img src="HTTPS://UP.EXAMPLE/"><img src="https://x.example:123456/"><img src=" https://a.b/ ">'
                    '<img src="https://x.example/a\u00a0b"><img src="https://x.example/a\\b">'
                    '<img src="https://h.example:8080/x"><img src="https://h-.example/"><img src="https:/x.example/">',
    "whitespace": '<img src="\t/a.png\n"><img src="\x1c/b.png"><img src="\u3000/c.png"><img src=" ">',
    "skipped schemes": '<img src="data:image/png;base64,AA"><img src="JavaScript:void(0)"><a href="mailto:x">'
                       '<img src="#x"><img src="about:blank"><img src=" tel:1">',
    "srcset": '<img srcset="a.png 1x,b.png 2x , c.png, d.png 3x,,e.png"><img srcset="f(1).png 1x, g.png">'
              '<img srcset="ä.png 1x"><source srcset="h.png\u00a01x, i.png"><img srcset=",,, ,">',
    "link rels": '<link rel="STYLESHEET" href="a.css"><link rel="shortcut icon" href="i.ico">'
                 '<link rel=" preload\t" href="p.js"><link rel="canonical" href="c"><link rel="Ä" href="n">'
                 '<link rel="icon" href=""><link rel="preload" imagesrcset="x.png 1x">'
                 '<link rel="preconnect" href="https://fonts.example">',
    "script types": '<script type="module" src="m.js"></script><script type=" TEXT/JavaScript ;x" src="t.js">'
                    '</script><script type="text/plain" data-src="g.js"></script><script type="application/ld+json">'
                    '{"u": "https://ld.example/x.js"}</script><script type="x/y+json">"//j.example/"</script>'
                    '<script type="tëxt/javascript" src="u.js"></script><script type="" src="e.js"></script>'
                    '<script type="text/plain" src="" data-src="d.js"></script><script src="" data-cbid="x">'
                    '</script>',
    "inline urls": "<script>a='//x.example/a.js';b=\"https://y.example:8080/p?q\";c=`http://z.example`;"
                   "d=(//w.example/;e=//comment.example/x\nf=':http://v.example/' g='//5.example:123456/x'"
                   " h='//u.example:1\u0663/' i='//t.example/\u00e4\u00a0rest' j='https:\\/\\/esc.example\\/x'"
                   " k=\"HTTP://cap.example\" l='//a.b' m='//a.bc1' n='//a.bb.c/' o='//-x.example'</script>",
    "escaped only": "<script>var u = '\\/\\/esc.example\\/only.js';</script>",
    "backslash slash without double": "<script>var u = '/\\/x.example/y';</script>",
    "signatures": "<script>gtag('config', 'G-ABCDEF1234'); ga('create', 'UA-1234567-1');"
                  "(function(w,d,s,l,i){})(window,document,'script','dataLayer','GTM-ABC1234');"
                  "fbq('init', '123456789012345'); var _paq = []; _paq.push(['setSiteId', '7']);</script>"
                  '<script src="https://consent.example/uc.js" data-settings-id="AbCdEf123" id="usercentrics-cmp">'
                  "</script>",
    "long script": f"<script>{LONG_JS}var x='//mid.example/a.js';gtag('config','G-MIDDLE1234');{LONG_JS}"
                   "gtag('config', 'G-TAILEND123');</script>",
    "long non-ascii script": f"<script>{'ä' * 30000}GTM-HEAD123 {LONG_JS}{'ö' * 5000}GTM-TAIL123</script>",
    "css": "<style>@import 'a.css'; @import url(b.css); @IMPORT \"c.css\"; x{background:URL( 'd.png' )}"
           "y{background:url(data:image/png;base64,AA)} z{background:url(\"e.png' )} @import 'f.css\"; "
           "w{src:url( g.woff2 )} v{x:url(h\u00e4.png)} u{x:url(i.png\u00a0)} @\u0130mport 'j.css';</style>"
           '<div style="background:URL(k.png)"></div><span style="x:url(\'l.png\')"></span>'
           '<p style="color:red"></p><td style="a:url(m.png)">',
    "meta": '<meta http-equiv="Refresh" content="3;url=/next"><meta http-equiv="content-type" content="x">'
            '<meta http-equiv="REFRESH" content="0; URL=\'https://r.example/\'"><meta http-equiv="rëfresh">',
    "titles": "<title>\n First  title </title><title>second</title>",
    "empty title first": "<title>  </title><title>real</title>",
    "long title": "<title>" + "word\t" * 120 + "</title>",
    "non-ascii titles": "<title>\u00a0\u3000</title><title> Stra\u00dfe \u00a0 A </title><title>x</title>",
    "srcset with parentheses": '<img srcset="a.png 1x, b(1).png 2x"><img srcset="x.png (max-width: 1px, 2px) 1x, '
                               'y.png,,z.png"><img srcset="((("><img srcset=" , a.png 1x(2,3), b.png">'
                               '<img srcset="u(),, v()  w"><img srcset="a.png),b.png">',
    "svg": '<svg><script>var s="//svg.example/x.js"</script><title>icon</title><image href="i.png"/>'
           '<a xlink:href="l" style="x:url(svg.png)"></a><use href="a" xlink:href="b"/></svg>',
    "template and frames": '<template><img src="t.png"></template><frameset><frame src="f.html"></frameset>',
    "base": '<base href="/sub/dir/"><img src="a.png"><img src="../b.png"><img src="/c.png">',
    "base with query": '<base href="https://other.example/x/y?q=1#f"><img src="a.png"><img src="?z">',
    "many attributes": "<img " + " ".join(f"data-a{i}=v{i}" for i in range(60)) + ' src="many.png" style="x:url(s.png)">',
    "forms and inputs": '<form action="/submit"><input src="i.png"><input type="image"></form><form action="">'
                        '<body background="bg.png">',
    "invalid utf-8": b'<img src="/a\xff.png"><script>var u = "//bad.example/\xfe"; GTM-BAD1234</script>'
                     b'<style>x{background:url(\xff.png)}</style><title>\xff t</title>',
    "nul": b'<img src="/a\x00b.png"><script>"//n.example/\x00"</script>',
    "links": '<a href="/a">One</a><a href=" b.html ">Two\n words</a><a href="#top">top</a><a href="">e</a>'
             '<a href="?q=1">q</a><a href="../up">up</a><a href="https://x.example/p#f">f</a><a>none</a>'
             '<a href="mailto:x@y.example">m</a><a href="javascript:void(0)">j</a><a href="//p.example/x">p</a>'
             '<area href="/map"><a href="/stra\u00dfe">\u00e4\u00f6</a><a href="/t">\u00a0nbsp\u3000text </a>'
             '<a href="/s" style="background:url(a.png)">s</a><a href="  ">blank</a><a href="https://h.example:99999/">'
             + "".join(f'<a href="/p{i}">{"w " * (i % 150)}</a>' for i in range(30)),
    "more dot segments": '<img src="../a.png"><img src="./b.png"><img src="/x/../c.png"><img src=".."><img src=".">'
                    '<img src="a/./b/../../../../c?x=1#f"><img src="/."><img src="/../.."><img src="d/..">'
                    '<img src="e//./f/"><img src="/g//../h"><img src="./"><a href="./#top">t</a>'
                    '<a href="../../index.html">i</a><a href="x/../y?q">y</a>',
    "absolute paths with colons or non-ascii": '<img src="/am/\u12ed\u12d8\u1275/s-1"><img src="/wiki/File:X.svg">'
                                              '<img src="/a/b\u00a0"><img src="/a:b/../c"><img src="/\u00e4/./x">'
                                              '<a href="/wiki/Special:X?y=1#z">w</a><a href="/am/\u12ed">a</a>'
                                              '<a href="/x\u3000">s</a><a href="\u00a0/x">t</a><img src="a:b">'
                                              '<img src="//h\u00e4.example/x"><a href="/\u00e4 b">u</a>',
    "non-ascii absolute links": '<a href="https://x.example/stra\u00dfe">a</a><a href=" https://x.example/\u00e4?q=\u00f6#\u00fc ">b'
                                '</a><a href="https://x.example/a\u00a0">c</a><a href="\u00a0https://x.example/b">d</a>'
                                '<a href="https://x.example/\u00e4 b">e</a><a href="https://x.example:8\u0663/">f</a>'
                                '<a href="https://x.example/\u3000">g</a><a href="HTTPS://x.example/\u00e4">h</a>',
    "held back": '<script data-src="https://held.example/a.js"></script><script type="text/plain" data-cmp-src='
                 '"https://cmp.example/b.js"></script><script type="text/template" data-borlabs-script-blocker-src='
                 '"//bl.example/c.js"></script><script type="text/template">no src</script>'
                 '<iframe src="about:blank" data-cmp-src="https://v.example/embed"></iframe><iframe data-src='
                 '"//lazy.example/x" src=""></iframe><iframe src="https://real.example/" data-src="https://x.example/">'
                 '</iframe><script src="" data-gdpr-src="https://g.example/g.js"></script>'
                 '<script type="rocketlazyloadscript" data-rocket-src="/wp/jquery.js"></script><script type='
                 '"abcdef0123-text/javascript">var u="//rocket.example/x.js";</script><script type="pmdelayedscript" '
                 'src="https://pm.example/p.js"></script><script type="didomi/javascript">"//d.example/x.js"</script>'
                 '<script data-phast-original-src="https://ph.example/p.js" type="text/phast"></script>',
}


@pytest.mark.parametrize("name", list(CASES))
def test_edge_cases_give_the_same_observation(native, name):
    html = CASES[name]
    body = html if isinstance(html, bytes) else html.encode("utf-8")
    for url in (PAGE, "https://www.site.example", "https://www.site.example/a//b/../c/d.html?x=1#y",
                "HTTP://Site.Example:8080/a/b?c#d", "https://www.site.example/a;x/b;art1,2?q=1",
                "https://www.site.example/dir/x;p"):
        for links in (False, True):
            fast, reference = both(body, url, links=links)
            assert fast == reference, f"{name} at {url} (links={links})"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents(), page=st.sampled_from([PAGE, "http://Site.Example:8080/a/b?c#d", "https://[::1]/x",
                                              "https://xn--mnchen-3ya.de/", "https://www.site.example",
                                              "https://www.site.example/a;b/c;d,1?e"]))
@example(doc=('<img src="https://h.example:99999/"><img src="http://[::1]:8080/a">', {}), page=PAGE)
@example(doc=('<base href="https://[">\x00<img src="//nul\x00.example/">', {}), page=PAGE)
def test_generated_documents_give_the_same_observation(native, doc, page):
    html, headers = doc
    for body in (html.encode("utf-8", "surrogatepass"), html.encode("cp1252", "replace")):
        for links in (False, True):
            fast, reference = both(body, page, headers, links=links)
            assert fast == reference


def test_the_native_walk_holds_no_rule_table():
    """Rules are written once, in crawler/observe/rules.py: the C sources name none of the element, attribute,
    script-type, rel or scheme strings the walk decides on; configure() hands them over."""
    from pathlib import Path

    import crawler.observe.rules as observe_module

    crawler_dir = Path(observe_module.__file__).parents[1]
    sources = [crawler_dir / "_fastwalk.c", *sorted((crawler_dir / "fastwalk").glob("*.c"))]
    assert len(sources) > 1 and all(f'#include "fastwalk/{p.name}"' in sources[0].read_text(encoding="utf-8")
                                    for p in sources[1:])
    source = "\n".join(p.read_text(encoding="utf-8") for p in sources)
    literals = set(re.findall(r'"([^"\\]*)"', source))
    tables = (set(observe_module._ELEMENTS) | {a for _r, attrs, _q in observe_module._ELEMENTS.values() for a in attrs}
              | set(observe_module._JS_TYPES) | set(observe_module._DATA_TYPES) | set(observe_module._LINK_RELS_FETCHED)
              | set(observe_module._SKIP_SCHEMES) | set(observe_module._GATE_SRC_ATTRS)
              | set(observe_module._DEFERRED_SRC_ATTRS) | set(observe_module._DATA_TYPE_SUFFIXES)
              | set(observe_module._JS_TYPE_SUFFIXES))
    # the names of the walk's roles and the attributes they read are its vocabulary, not rule tables
    walk_vocabulary = {role for role, _a, _q in observe_module._ELEMENTS.values()} | {
        "src", "srcset", "href", "imagesrcset", "style", "type", "rel", "http-equiv", "refresh", "text", "inline"}
    assert not (literals & tables) - walk_vocabulary, sorted((literals & tables) - walk_vocabulary)


# --- the signature search and the path split the speed-ups rely on ------------------------------------------

_PIECES = ([n for s in load_signatures() for n in s.needles] + [a for s in load_signatures() for a, _ in s.anchors]
           + ["GTM-ABCD12", "'config', 'G-ABC123'", "ga('create', 'UA-12345-6')", "UA-1234-1", " ", "x", "-", "\n",
              "_", "9", "A", "é", "'", '"', ",", "(", "\\b"])


@settings(max_examples=1500, deadline=None)
@given(parts=st.lists(st.sampled_from(_PIECES) | st.text(max_size=3), max_size=14))
def test_anchored_signature_search_finds_what_finditer_finds(parts):
    text = "".join(parts)
    for sig in load_signatures():
        assert [(m.span(), m.groups()) for m in sig.finditer(text)] == \
               [(m.span(), m.groups()) for m in sig.regex.finditer(text)], sig.id


@settings(max_examples=1500, deadline=None)
@given(parts=st.lists(st.sampled_from(_PIECES + ["a" * 61, "\u00e4" * 33, "\x00", "\ud800"]) | st.text(max_size=3),
                      max_size=30))
def test_native_needle_search_finds_what_the_python_search_finds(native, parts):
    """The native one-pass needle search (64 positions per step, then the tail; further literals too) picks
    the signatures the pure-Python substring tests pick, so both run the same regexes."""
    text = "".join(parts)
    sigs = load_signatures()
    assert _needle_table(sigs).plain and not _needle_table(sigs).always  # else the native search hands back
    by_python, by_native = [], []
    _match_signatures(text, sigs, by_python)
    _match_signatures(text, sigs, by_native, native)
    assert by_native == by_python


@pytest.mark.parametrize("spelling", ["wxys", "WXYS", "wxy\u017f", "\u212axys"])
def test_case_insensitive_needles_and_anchors_take_every_form_re_matches(spelling):
    """re's case-insensitive matching takes a long s (ſ) for s and the Kelvin sign for k: the needles and anchors
    of a (?i:…) rule hold those forms too, so neither walk misses a match the regex makes (found in review)."""
    sig = compile_signature("ci", r"(?i:[wk]xys)(\d+)_unique_literal")
    code = f"var a = '{spelling}1_unique_literal';"
    assert [m.group(1) for m in sig.regex.finditer(code)] == ["1"] == sig.findall(code)
    page = f"<html><head><script>{code}</script></head></html>".encode()
    for native in (False, None):
        obs = observe(page, "https://a.example/", signatures=[sig], links=False, native=native)
        assert obs.signature_evidence() == [("ci", "1", "config")], native


def test_native_needle_search_takes_any_number_of_rules(native):
    """Thousands of rules with distinct four-byte prefixes (the word table grows with them): the native search
    still picks what the Python one picks, three-byte needles and needles at a text's end included."""
    sigs = tuple(compile_signatures({f"r{i}": f"{i:04x}" + r"q\w+" for i in range(8000)}
                                    | {"three": r"zq!\d", "tail": r"endq\d"}))
    text = "x 0000qa 1abcqb zq!7 4e1fq " * 3 + "ffffq endq9"
    by_python, by_native = [], []
    _match_signatures(text, sigs, by_python)
    _match_signatures(text, sigs, by_native, native)
    assert by_native == by_python and {sid for sid, _v in by_python} == {"r0", "r6844", "three", "tail"}


@pytest.mark.parametrize("regex,anchors", [
    (r"\b(GTM-[A-Z0-9]{4,9})\b", (("GTM-", 0),)),
    (r"""(?:gtag/js\?id=|['"]config['"]\s*,\s*['"])(G-[A-Z0-9]{6,12})\b""", (("config", 1), ("gtag/js?id=", 0))),
    (r"(?<!require', ')(?<!\{')\b(GTM-[A-Z0-9]{4,9})\b", (("GTM-", 0),)),  # lookbehinds are zero-width
    (r"""['"](UA-\d{4,10}-\d{1,4})['"]""", (("UA-", 1),)),  # a class, then a group led by a literal
    (r"(?=x)abc", (("abc", 0),)),
    (r"""['"](?i:abc)""", ()),  # a case-insensitive group: no case-sensitive anchor
    (r"a?bc", ()),  # may start with b: no anchor
    (r"[ab]*cd", ()),
    (r"(?i)abc", ()),
    (r"x|yz", ()),  # one-character literal: too short to search by
])
def test_anchors(regex, anchors):
    assert compile_signature("t", regex).anchors == anchors


def test_further_required_literals():
    sig = compile_signature("ua", r"""(?:ga\(\s*['"]create['"]\s*,\s*|['"]config['"]\s*,\s*)['"]?(UA-\d{4,10}-\d{1,4})""")
    # "UA-" is the more distinct literal set ("config" is in every other inline script): it is the needle
    assert sig.needles == ("UA-",)
    assert sig.also == (("config", "ga("),)
    assert sig.findall("ga('create', 'UA-1234-5')") == ["UA-1234-5"]
    assert sig.findall("ga('create', 'X')") == []


def _slow_path_of(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "/"
    return (parts.path or "/") + (("?" + parts.query) if parts.query else "")


@settings(max_examples=2000, deadline=None)
@given(url=st.from_regex(re.compile(r"[hH]ttps?://[a-zA-Z0-9.:@\[\]-]{0,12}[/?#]?[ -~\t\n\x00é]{0,20}"),
                         fullmatch=True) | st.text(max_size=30))
def test_fast_path_of_matches_urlsplit(url):
    assert _path_of(url) == _slow_path_of(url)


def _joined_prefixes(base: str) -> tuple[str, str, str]:
    """(root, dir, host) as urljoin gives them: what "/x" and "x" resolve to, less the "x"."""
    root, directory = urljoin(base, "/x"), urljoin(base, "x")
    assert root.endswith("/x") and directory.endswith("/x")
    return root[:-2], directory[:-1], _host(root)


@settings(max_examples=3000, deadline=None)
@given(base=st.from_regex(re.compile(r"https?://[a-z0-9]([a-z0-9.-]{0,6}[a-z0-9])?(:[0-9]{1,4})?"
                                     r"(/[a-zA-Z0-9.;%~é-]{0,4}){0,4}/?([?#][a-z0-9/.?#=&]{0,6})?"), fullmatch=True))
@example(base="https://a.de/b/./c?x=/y/z")
@example(base="https://a.de/b//c")
@example(base="https://a.de/..")
@example(base="https://a.de/b;p/c")
@example(base="https://a.de?q=/a/b")
@example(base="https://a.de/b/...")
@example(base="https://a.de/b?#f")
@example(base="https://a.de/b??")
def test_relative_prefixes_are_what_urljoin_gives(base):
    """The plain-base shortcut of _relative_prefixes agrees with urljoin wherever it applies."""
    _relative_prefixes.__globals__["_PREFIXES"].clear()
    if _PLAIN_BASE.fullmatch(base):
        assert _relative_prefixes(base) == _joined_prefixes(base)
        assert _self_link(base) == urljoin(base, "#").split("#", 1)[0]


def _decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_UTF8_PIECES = [b"\xc2\x80", b"\xe0\xa0\x80", b"\xed\xa0\x80", b"\xf4\x8f\xbf\xbf", b"\xf4\x90\x80\x80", b"\xc0\x80",
                b"\xe0\x80\x80", b"\xf0\x80\x80\x80", b"a", b"\x80", b"\xff", b"\xef\xbf\xbf", b"\xed\x9f\xbf", b"12345678"]


@settings(max_examples=3000, deadline=None)
@given(data=st.binary(max_size=40) | st.lists(st.sampled_from(_UTF8_PIECES), max_size=12).map(b"".join))
def test_native_utf8_check_agrees_with_the_codec(native, data):
    assert native.utf8_valid(data) == _decodes(data)


def test_detect_shortcuts_change_no_detection(realpages):
    from common.hosts import host_of
    from pipelines.catalog.detect import Detector
    from pipelines.catalog.load import load_catalog

    fast, slow = Detector(load_catalog()), Detector(load_catalog())
    differ = []
    for page in corpus_pages(realpages):
        obs = observe(page.path.read_bytes(), page.url, links=False)
        site = host_of(page.url)
        sigs = obs.signature_evidence()
        for _ in range(2):  # cold and warm memos
            a = fast.detect(site_host=site, references=obs.references, signatures=sigs)
            b = slow.detect(site_host=site, references=obs.references, signatures=sigs, shortcuts=False)
            if a != b:
                differ.append(page.page_file)
    assert not differ, f"{len(differ)} pages differ: {differ[:10]}"


@settings(max_examples=1500, deadline=None)
@given(parts=st.lists(st.sampled_from([b"<", b"<base", b"<BASE", b"<Base", b"<bASE", b"<bas", b"x", b"ase",
                                       b"<" * 40, b"0123456789abcdef", b"\x00"]), max_size=40))
def test_native_body_facts_count_tags_and_find_base(native, parts):
    body = b"".join(parts)
    assert native.body_facts(body) == (body.count(b"<"), re.search(rb"<(?:base|BASE|Base)", body) is not None,
                                       b"\x00" in body)


@settings(max_examples=1500, deadline=None)
@given(parts=st.lists(st.sampled_from([m for m, _a in _MARKER_ANCHORS] + [b"&lt;", b"\\u003", b"PG", b"P", b"%3",
                                       b"&", b"\\", b"%", b"x", b"src=", b"<iframe", b"0123456789abcdef" * 3]),
                      max_size=40))
def test_native_marker_search_gives_what_find_gives(native, parts):
    """The one-pass native search of the encoded-embed markers: every non-overlapping occurrence of each,
    as repeated bytes.find does (the Python fallback of _markers_in)."""
    data = b"".join(parts)
    assert native.find_markers(data, _MARKER_ANCHORS) == _find_markers(data)


@pytest.mark.parametrize("spelling", ["fbAppId", "FB_APP_ID", "fb_app_id", "FbAppID"])
def test_case_insensitive_parts_of_a_rule_match_in_any_case(spelling):
    """A rule whose literals sit in a case-insensitive group (?i:…) finds every spelling, in both walks: its
    needles and anchors are the case spellings of those literals (before, the needle 'app' and the anchor 'fb'
    missed fbAppId and FB_APP_ID although the regex matches them); the needles are the spellings of the whole
    run fb_?app (fbap, fb_a in every case), not of its most common part 'app'."""
    sig = compile_signature("fb-app", r"(?i:\bfb_?app_?id)['\"]?\s*[:=]\s*['\"]?(\d{9,17})")
    assert {"fbap", "FbAp", "FB_A", "fb_a"} <= set(sig.needles) and not {"app", "App"} & set(sig.needles)
    assert {("fbap", 0), ("FB_A", 0), ("FbAp", 0)} <= set(sig.anchors)  # the needles: the scan records them
    code = f"var cfg = {{{spelling}: '1406110536270533'}};"
    assert sig.findall(code) == ["1406110536270533"] == [m.group(1) for m in sig.regex.finditer(code)]
    page = f"<html><head><script>{code}</script></head></html>".encode()
    walks = [observe(page, "https://a.example/", signatures=[sig], links=False, native=n) for n in (False, None)]
    assert {w.walk for w in walks} <= {"python", "native"}
    for w in walks:
        assert w.signature_evidence() == [("fb-app", "1406110536270533", "config")]
