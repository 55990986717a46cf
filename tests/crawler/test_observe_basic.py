"""Tests for crawler.observe: references, links, signatures, CSP, decoding and Set-Cookie parsing."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.signatures import load_signatures
from common.tables import SiteBundle
from crawler.feeds import ParquetItemExporter
from crawler.observe import (
    compile_signatures,
    csp_hosts,
    decode_body,
    flatten_if_deep,
    observe,
    parse_set_cookie,
)
from crawler.observe.rules import _FETCH_ATTRS

PAGE = "https://site.example/dir/page.html"
FETCH_PREFIXES = ("http://", "https://", "ws://", "wss://")


def obs_of(html: str | bytes, url: str = PAGE, headers: dict | None = None):
    body = html.encode("utf-8") if isinstance(html, str) else html
    return observe(body, url, headers)


def refs(html: str | bytes, url: str = PAGE, headers: dict | None = None) -> list[tuple[str, str, str]]:
    return [(r.url, r.element, r.attribute) for r in obs_of(html, url, headers).references]


def urls(html: str | bytes, url: str = PAGE) -> list[str]:
    return [r.url for r in obs_of(html, url).references]


def refs_of(o) -> list[tuple[str, str, str]]:
    return [(r.url, r.element, r.attribute) for r in o.references]


def urls_of(o) -> list[str]:
    return [r.url for r in o.references]


# --------------------------------------------------------------------------- elements and attributes

# one snippet per (element, attribute) in _FETCH_ATTRS; each yields exactly the expected absolute URL
ELEMENT_CASES = {
    ("script", "src"): ('<script src="https://cdn.example.com/lib.js"></script>', "https://cdn.example.com/lib.js"),
    ("img", "src"): ('<img src="img/logo.png">', "https://site.example/dir/img/logo.png"),
    ("img", "srcset"): ('<img srcset="https://img.example.net/a-1x.jpg 1x">', "https://img.example.net/a-1x.jpg"),
    ("iframe", "src"): ('<iframe src="https://www.youtube.com/embed/abc"></iframe>', "https://www.youtube.com/embed/abc"),
    ("embed", "src"): ('<embed src="/media/movie.swf">', "https://site.example/media/movie.swf"),
    ("object", "data"): ('<object data="https://obj.example.org/x.svg"></object>', "https://obj.example.org/x.svg"),
    ("source", "src"): ('<video><source src="//video.example.com/v.mp4"></video>', "https://video.example.com/v.mp4"),
    ("source", "srcset"): ('<picture><source srcset="/p/a.webp 1x"></picture>', "https://site.example/p/a.webp"),
    ("video", "src"): ('<video src="https://v.example.com/clip.mp4"></video>', "https://v.example.com/clip.mp4"),
    ("video", "poster"): ('<video poster="../poster.jpg"></video>', "https://site.example/poster.jpg"),
    ("audio", "src"): ('<audio src="https://a.example.com/s.mp3"></audio>', "https://a.example.com/s.mp3"),
    ("track", "src"): ('<video><track src="https://t.example.com/sub.vtt"></video>', "https://t.example.com/sub.vtt"),
    ("input", "src"): ('<input type="image" src="https://btn.example.com/go.png">', "https://btn.example.com/go.png"),
    ("form", "action"): ('<form action="https://forms.example.com/submit"></form>', "https://forms.example.com/submit"),
    ("body", "background"): ('<body background="https://bg.example.com/tile.gif"></body>', "https://bg.example.com/tile.gif"),
}


def test_every_fetch_attribute_has_a_case():
    expected = {(tag, attr) for tag, attrs in _FETCH_ATTRS.items() for attr in attrs}
    assert expected - {("frame", "src")} == set(ELEMENT_CASES)


@pytest.mark.parametrize(("element", "attribute"), sorted(ELEMENT_CASES))
def test_fetch_attribute(element, attribute):
    snippet, url = ELEMENT_CASES[(element, attribute)]
    o = obs_of(f"<html><head></head><body>{snippet}</body></html>" if element != "body" else snippet)
    matching = [r for r in o.references if (r.element, r.attribute) == (element, attribute)]
    assert [r.url for r in matching] == [url]
    r = matching[0]
    assert r.host == url.split("/")[2]
    assert not r.inline and not r.declared


def test_frame_in_frameset():
    o = obs_of('<html><frameset><frame src="https://frame.example.com/f.html"><frame src="nav.html"></frameset></html>')
    assert refs_of(o) == [
        ("https://frame.example.com/f.html", "frame", "src"),
        ("https://site.example/dir/nav.html", "frame", "src"),
    ]


@pytest.mark.parametrize(
    ("rel", "fetched"),
    [
        ("stylesheet", True),
        ("preconnect", True),
        ("dns-prefetch", True),
        ("icon", True),
        ("shortcut icon", True),
        ("apple-touch-icon", True),
        ("manifest", True),
        ("modulepreload", True),
        ("preload", True),
        ("prefetch", True),
        ("alternate stylesheet", True),
        ("StyleSheet", True),
        ("canonical", False),
        ("alternate", False),
        ("next", False),
        ("author", False),
        ("", False),
    ],
)
def test_link_rel(rel, fetched):
    o = obs_of(f'<html><head><link rel="{rel}" href="https://links.example.com/x"></head></html>')
    got = [(r.url, r.element, r.attribute, r.rel) for r in o.references]
    if fetched:
        assert got == [("https://links.example.com/x", "link", "href", " ".join(rel.lower().split()))]
    else:
        assert got == []


def test_link_protocol_relative_and_imagesrcset():
    o = obs_of(
        '<link rel="dns-prefetch" href="//dns.example.net">'
        '<link rel="preload" as="image" href="/hero.jpg" imagesrcset="/hero-1.jpg 1x, https://img.example.org/hero-2.jpg 2x">'
    )
    assert refs_of(o) == [
        ("https://dns.example.net", "link", "href"),
        ("https://site.example/hero.jpg", "link", "href"),
        ("https://site.example/hero-1.jpg", "link", "imagesrcset"),
        ("https://img.example.org/hero-2.jpg", "link", "imagesrcset"),
    ]


def test_srcset_candidates_with_descriptors():
    got = urls('<img src="a.jpg" srcset="a-480.jpg 480w,  https://cdn.example.com/a-800.jpg 800w ,a-1200.jpg 1200w">')
    assert got == [
        "https://site.example/dir/a.jpg",
        "https://site.example/dir/a-480.jpg",
        "https://cdn.example.com/a-800.jpg",
        "https://site.example/dir/a-1200.jpg",
    ]


def test_srcset_urls_containing_commas():
    got = urls('<img srcset="https://img.example.com/w_100,h_50/a.jpg 1x, https://img.example.com/w_200,h_100/a.jpg 2x">')
    assert got == ["https://img.example.com/w_100,h_50/a.jpg", "https://img.example.com/w_200,h_100/a.jpg"]


# --------------------------------------------------------------------------- <base href>


def test_relative_base_after_other_elements_applies_to_everything():
    o = obs_of('<html><head><script src="app.js"></script></head><body><img src="img/x.png">'
               '<a href="impressum">Impressum</a><base href="/static/"></body></html>')
    assert o.base_url == "https://site.example/static/"
    assert urls_of(o) == ["https://site.example/static/app.js", "https://site.example/static/img/x.png"]
    assert o.links == [("https://site.example/static/impressum", "Impressum")]


def test_absolute_base_after_other_elements():
    o = obs_of('<img src="a.png"><link rel=stylesheet href="s.css"><base href="https://cdn.other.example/assets/">')
    assert o.base_url == "https://cdn.other.example/assets/"
    assert urls_of(o) == ["https://cdn.other.example/assets/a.png", "https://cdn.other.example/assets/s.css"]
    assert {r.host for r in o.references} == {"cdn.other.example"}


def test_first_base_with_href_wins():
    o = obs_of('<base target="_blank"><base href="https://one.example/"><base href="https://two.example/"><img src="i">')
    assert o.base_url == "https://one.example/"
    assert urls_of(o) == ["https://one.example/i"]


def test_without_base_the_page_url_is_the_base():
    o = obs_of('<img src="i.png">')
    assert o.base_url == PAGE
    assert urls_of(o) == ["https://site.example/dir/i.png"]


# --------------------------------------------------------------------------- meta refresh, CSS, noscript


@pytest.mark.parametrize(
    "content",
    ["0; url=https://next.example.com/landing", "5;URL='https://next.example.com/landing'",
     '0;url="https://next.example.com/landing"', "  3 ,  url = https://next.example.com/landing"],
)
def test_meta_refresh(content):
    got = refs(f"<meta http-equiv='Refresh' content='{content}'>" if '"' in content
               else f'<meta http-equiv="Refresh" content="{content}">')
    assert got == [("https://next.example.com/landing", "meta", "refresh")]


def test_meta_refresh_relative_target():
    assert refs('<meta http-equiv="refresh" content="0; url=/de/">') == [("https://site.example/de/", "meta", "refresh")]


@pytest.mark.parametrize("content", ["30", "0", "5;"])
def test_meta_refresh_delay_only_is_not_a_reference(content):
    assert refs(f'<meta http-equiv="refresh" content="{content}">') == []


def test_other_meta_is_ignored():
    assert refs('<meta name="og:image" content="https://og.example.com/x.png"><meta charset="utf-8">') == []


def test_inline_style_url():
    got = refs('<div style="background-image: url( \'https://bg.example.com/a.png\' )"></div>'
               '<span style="background:url(/b.png)"></span><p style="color:red"></p>')
    assert got == [("https://bg.example.com/a.png", "div", "style"), ("https://site.example/b.png", "span", "style")]
    o = obs_of('<div style="background:url(https://bg.example.com/a.png)"></div>')
    assert o.references[0].inline is True


def test_style_element_import_and_url():
    o = obs_of("""<style>
      @import "https://fonts.googleapis.com/css?family=Roboto";
      @import url('/theme.css');
      .hero { background: url("img/hero.jpg") }
      .x { background: url(data:image/png;base64,AAAA) }
    </style>""")
    assert refs_of(o) == [
        ("https://fonts.googleapis.com/css?family=Roboto", "style", "text"),
        ("https://site.example/theme.css", "style", "text"),
        ("https://site.example/dir/img/hero.jpg", "style", "text"),
    ]
    assert all(r.inline for r in o.references)


@pytest.mark.parametrize("where", ["head", "body"])
def test_noscript_pixel(where):
    pixel = '<noscript><img height="1" width="1" src="https://www.facebook.com/tr?id=123456789&ev=PageView&noscript=1"></noscript>'
    html = f"<html><head>{pixel if where == 'head' else ''}</head><body>{pixel if where == 'body' else ''}</body></html>"
    o = obs_of(html)
    assert refs_of(o) == [("https://www.facebook.com/tr?id=123456789&ev=PageView&noscript=1", "img", "src")]
    assert o.references[0].host == "www.facebook.com"


# --------------------------------------------------------------------------- inline scripts


def test_inline_script_url_literals():
    o = obs_of(r"""<script>
      var a = "https:\/\/cdn.escaped.example\/lib\/x.js";
      var b = '//proto.example.org/p.js';
      var c = "http://plain.example.com/a?b=1";
      var d = 'https://with-port.example.net:8443/ws';
    </script>""")
    got = [(r.url, r.element, r.attribute, r.inline) for r in o.references]
    assert got == [
        ("https://cdn.escaped.example/lib/x.js", "script", "inline", True),
        ("https://proto.example.org/p.js", "script", "inline", True),
        ("http://plain.example.com/a?b=1", "script", "inline", True),
        ("https://with-port.example.net:8443/ws", "script", "inline", True),
    ]
    assert [r.host for r in o.references] == ["cdn.escaped.example", "proto.example.org", "plain.example.com",
                                             "with-port.example.net"]


def test_script_with_src_is_not_scanned_as_inline():
    o = obs_of('<script src="https://cdn.example.com/a.js">var x = "https://inner.example.com/";</script>')
    assert refs_of(o) == [("https://cdn.example.com/a.js", "script", "src")]


def test_commented_out_code_is_not_a_url():
    o = obs_of("<script>\n//console.log(data)\n//window.location.reload()\nvar x = 1;\n</script>")
    assert refs_of(o) == []


# --------------------------------------------------------------------------- skipped schemes, dedup, links


def test_non_fetch_schemes_are_skipped():
    o = obs_of("""
      <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
      <iframe src="javascript:void(0)"></iframe>
      <iframe src="  JavaScript:alert(1)"></iframe>
      <form action="mailto:info@site.example"></form>
      <img src="about:blank"><img src="blob:https://site.example/uuid"><img src="#"><img src="tel:+49301234">
      <link rel="icon" href="data:,">
      <img src="ftp://files.example.com/a.png">
      <img src="   ">
      <img src="https://ok.example.com/1.png">
    """)
    assert refs_of(o) == [("https://ok.example.com/1.png", "img", "src")]


def test_duplicates_are_recorded_once_per_element_and_attribute():
    o = obs_of('<img src="/a.png"><img src="/a.png"><img src="https://site.example/a.png">'
               '<link rel="preload" href="/a.png">')
    assert refs_of(o) == [("https://site.example/a.png", "img", "src"), ("https://site.example/a.png", "link", "href")]


def test_links_are_absolute_without_fragment_and_with_clean_text():
    o = obs_of("""<a href="/datenschutz#cookies">  Daten-
        schutz </a><a href="mailto:x@site.example">Mail</a><a href="javascript:void(0)">JS</a>
        <map><area href="kontakt.html" alt="k"></map><a>no href</a><a href="https://other.example/">Other</a>""")
    assert o.links == [
        ("https://site.example/datenschutz", "Daten- schutz"),
        ("https://site.example/dir/kontakt.html", ""),
        ("https://other.example/", "Other"),
    ]
    assert o.references == []  # links are not references


def test_max_links():
    o = observe(("<a href='/p%d'>p</a>" * 50 % tuple(range(50))).encode(), PAGE, max_links=7)
    assert len(o.links) == 7
    assert o.links[0] == ("https://site.example/p0", "p")


def test_title_whitespace_is_collapsed():
    o = obs_of("<html><head><title>\n   Willkommen \t bei\n\n  Beispiel   GmbH  </title></head></html>")
    assert o.title == "Willkommen bei Beispiel GmbH"
    assert obs_of("<p>no title</p>").title == ""
    assert obs_of("<title>" + "x" * 2000 + "</title>").title == "x" * 500


# --------------------------------------------------------------------------- CSP


def test_csp_hosts():
    policy = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'nonce-r4nd0m' 'sha256-abc=' "
              "https://www.googletagmanager.com *.google-analytics.com; img-src * data: blob:; "
              "connect-src wss://realtime.example.net api.example.com:443; upgrade-insecure-requests; "
              "frame-ancestors 'none'")
    assert csp_hosts(policy) == [
        ("script-src", "https://www.googletagmanager.com"),
        ("script-src", "https://google-analytics.com"),
        ("connect-src", "wss://realtime.example.net"),
        ("connect-src", "https://api.example.com:443"),
    ]


def test_csp_keywords_only_gives_nothing():
    assert csp_hosts("default-src 'self' 'unsafe-eval' https: data:; object-src 'none'; report-to main") == []
    assert csp_hosts("") == []


def test_csp_becomes_declared_references():
    o = obs_of("<img src='/x.png'>", headers={
        "content-security-policy": "Script-Src 'self' *.example.com https://cdn.jsdelivr.net/npm/"})
    declared = [(r.url, r.host, r.element, r.attribute, r.declared) for r in o.references if r.declared]
    assert declared == [
        ("https://example.com", "example.com", "csp", "script-src", True),
        ("https://cdn.jsdelivr.net/npm/", "cdn.jsdelivr.net", "csp", "script-src", True),
    ]
    assert [r.declared for r in o.references] == [False, True, True]


# --------------------------------------------------------------------------- signatures


def test_default_signatures():
    html = """
    <script>(function(w,d,s,l,i){w[l]=w[l]||[];})(window,document,'script','dataLayer','GTM-ABC1234');</script>
    <script>gtag('config', 'G-ABCDEF1234'); ga('create', 'UA-1234567-1', 'auto'); gtag('config', 'AW-123456789');</script>
    <script>!function(f,b,e,v,n,t,s){}(window);fbq('init', '123456789012345');fbq('track', 'PageView');</script>
    <script>window.__lc = window.__lc || {}; window.__lc.license = 12345678;</script>
    <script>(function(h,o,t,j,a,r){h._hjSettings={hjid:1234567,hjsv:6};})(window,document);</script>
    <script>var _paq = window._paq = []; _paq.push(['setSiteId', '42']);</script>
    <script>/* again */ gtag('config', 'G-ABCDEF1234');</script>
    """
    assert obs_of(html).signatures == [
        ("gtm-container-id", "GTM-ABC1234"),
        ("gtm-loader-snippet", "GTM-ABC1234"),
        ("ga4-measurement-id", "G-ABCDEF1234"),
        ("ua-property-id", "UA-1234567-1"),
        ("google-ads-conversion-id", "AW-123456789"),
        ("ua-property-id-config", "UA-1234567-1"),  # a quoted UA id names the property wherever it sits
        ("meta-pixel-init", "123456789012345"),
        ("meta-pixel-track", "PageView"),
        ("livechat-license", "12345678"),
        ("hotjar-id", "1234567"),
        ("matomo-paq", "42"),
    ]


def test_signatures_only_in_inline_scripts():
    html = ('<p>GTM-ABC1234 in text</p><script src="https://www.googletagmanager.com/gtag/js?id=G-ABCDEF1234"></script>'
            '<iframe src="https://www.googletagmanager.com/ns.html?id=GTM-XYZ9876"></iframe>')
    assert obs_of(html).signatures == []


def test_custom_signatures_replace_defaults():
    sigs = compile_signatures({"my-id": r"myTracker\('(\w+)'\)"})
    o = observe(b"<script>myTracker('abc123'); gtag('config', 'G-ABCDEF1234');</script>", PAGE, signatures=sigs)
    assert o.signatures == [("my-id", "abc123")]
    assert {s.id for s in load_signatures()} >= {"gtm-container-id", "ga4-measurement-id", "ua-property-id",
                                                 "meta-pixel-init", "livechat-license", "hotjar-id"}


# --------------------------------------------------------------------------- decode_body

UMLAUTS = "Grüße aus Köln – “Zitat” für 5 €"


@pytest.mark.parametrize(("bom", "codec"), [(b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")])
def test_decode_utf16_bom_beats_header(bom, codec):
    text, enc = decode_body(bom + f"<p>{UMLAUTS}</p>".encode(codec), "text/html; charset=utf-8")
    assert text == f"<p>{UMLAUTS}</p>"
    assert enc == codec


def test_decode_utf8_bom():
    text, enc = decode_body(b"\xef\xbb\xbf" + f"<p>{UMLAUTS}</p>".encode("utf-8"))
    assert text == f"<p>{UMLAUTS}</p>"
    assert enc.replace("-", "").replace("_", "").lower() in ("utf8", "utf8sig")


def test_bom_beats_header_charset():
    # (every UTF-8 byte here is defined in windows-1252, so the wrong header charset "decodes")
    body = b"\xef\xbb\xbf" + "<p>Grüße aus Köln</p>".encode("utf-8")
    text, _ = decode_body(body, "text/html; charset=iso-8859-1")
    assert text == "<p>Grüße aus Köln</p>"


def test_decode_header_charset():
    body = "<p>Grüße aus Köln</p>".encode("latin-1")
    text, enc = decode_body(body, "text/html; charset=ISO-8859-1")
    assert text == "<p>Grüße aus Köln</p>"
    assert enc == "cp1252"  # latin-1 is decoded as windows-1252, as browsers do


def test_decode_wrong_header_charset_with_cp1252_bytes():
    body = f"<p>{UMLAUTS}</p>".encode("cp1252")
    text, enc = decode_body(body, "text/html; charset=utf-8")
    assert text == f"<p>{UMLAUTS}</p>"
    assert enc == "cp1252"


def test_decode_meta_charset_only():
    html = f'<html><head><meta charset="windows-1252"><title>{UMLAUTS}</title></head></html>'
    text, enc = decode_body(html.encode("cp1252"))
    assert UMLAUTS in text
    assert enc == "cp1252"
    html2 = '<head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-15"></head><p>Preis 5 €</p>'
    text2, _ = decode_body(html2.encode("iso-8859-15"))
    assert "Preis 5 €" in text2


def test_decode_no_charset_cp1252_bytes():
    text, enc = decode_body(f"<p>{UMLAUTS}</p>".encode("cp1252"))
    assert text == f"<p>{UMLAUTS}</p>"
    assert enc == "cp1252"


def test_decode_no_charset_utf8_bytes():
    text, enc = decode_body(f"<p>{UMLAUTS}</p>".encode("utf-8"))
    assert text == f"<p>{UMLAUTS}</p>"
    assert enc == "utf-8"


def test_observe_reports_encoding_and_decoded_title():
    o = observe(f"<title>{UMLAUTS}</title>".encode("cp1252"), PAGE, {"content-type": "text/html; charset=utf-8"})
    assert o.title == UMLAUTS
    assert o.encoding == "cp1252"


# --------------------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    "body",
    [
        b"",
        os.urandom(4096),
        bytes(range(256)) * 64,
        b"<html>\x00<body>\x00<img src='https://nul.example.com/\x00a.png'>\x00</body>",
        b"<img src='https://trunc.example.com/a.png' <scr",
        b"<script>var x = 'https://unterminated.example.com/",
        b"<a href='http://[::1'>bad ipv6</a><img src='http://[bad/x'><img src='https://ok.example.com/'",
        b"<!-- unterminated comment <img src='https://hidden.example.com/'>",
        b"<svg><title>svg</title><image href='https://svg.example.com/i.png'/></svg>",
        b"\xff\xfe<\x00h\x00t\x00m\x00l\x00>\x00",
        (b"<div>" * 200 + b"<img src='/deep.png'>" + b"</div>" * 200) * 900,  # ~2 MB, nested 200 deep
    ],
    ids=["empty", "random", "all-bytes", "nul", "truncated-tag", "truncated-script", "bad-urls", "open-comment",
         "svg", "utf16-bom", "2MB-nested"],
)
def test_observe_never_raises(body):
    o = observe(body, PAGE, {"content-type": "text/html"})
    assert isinstance(o.encoding, str) and o.encoding
    for r in o.references:
        assert r.url.startswith(FETCH_PREFIXES)


DEEP = b"<div>" * 30_000


def test_ordinary_and_moderately_nested_pages_are_not_flattened():
    assert observe(b"<div><img src='/a.png'></div>", PAGE).flattened is False
    o = observe((b"<div>" * 200 + b"<a href='/x'>x</a>" + b"</div>" * 200) * 200, PAGE)
    assert o.flattened is False
    assert o.links == [("https://site.example/x", "x")] * 200  # links survive on pages that are not flattened


def test_deep_page_is_flattened_and_keeps_lowercase_references():
    body = DEEP + (b"<img src='https://deep.example.com/x.png'><script src='https://cdn.example.com/a.js'></script>"
                   b"<link rel=stylesheet href='https://css.example.com/s.css'><title> Deep  page </title>")
    o = observe(body, PAGE)
    assert o.flattened is True
    assert urls_of(o) == ["https://deep.example.com/x.png", "https://cdn.example.com/a.js",
                          "https://css.example.com/s.css"]
    assert o.title == "Deep page"


def test_flatten_if_deep_thresholds():
    shallow = "<div>" * 100 + "<span>x</span>" * 30_000
    assert flatten_if_deep(shallow) == (shallow, False)
    few = "<div>" * 1000  # deep, but fewer tags than min_tags: parsing it is cheap
    assert flatten_if_deep(few) == (few, False)
    text, flat = flatten_if_deep("<div>" * 1000, min_tags=10)
    assert flat is True and "<div" not in text


def test_deep_page_keeps_uppercase_fetch_tags():
    body = DEEP + (b'<IMG SRC="https://deep.example.com/x.png"><SCRIPT SRC="https://cdn.example.com/a.js"></SCRIPT>'
                   b'<Link rel=stylesheet href="https://css.example.com/s.css">')
    o = observe(body, PAGE)
    assert o.flattened is True
    assert urls_of(o) == ["https://deep.example.com/x.png", "https://cdn.example.com/a.js",
                          "https://css.example.com/s.css"]


def test_deep_page_keeps_inline_style_references():
    body = DEEP + b"<div style=\"background:url(https://bg.example.com/hero.jpg)\">x</div>"
    o = observe(body, PAGE)
    assert o.flattened is True
    assert urls_of(o) == ["https://bg.example.com/hero.jpg"]


def test_nul_bytes_do_not_hide_later_elements():
    o = observe(b"<p>a\x00b</p><img src='https://after-nul.example.com/x.png'>", PAGE)
    assert urls_of(o) == ["https://after-nul.example.com/x.png"]


def test_two_megabytes_of_unclosed_divs_is_observed_quickly():
    code = textwrap.dedent("""
        from crawler.observe import observe
        o = observe(b"<div>" * 400_000 + b"<img src='https://deep.example.com/x.png'>", "https://site.example/")
        assert [r.url for r in o.references] == ["https://deep.example.com/x.png"]
    """)
    try:
        proc = subprocess.run([sys.executable, "-c", code], timeout=5, capture_output=True)
    except subprocess.TimeoutExpired:
        pytest.fail("observe() on 2 MB of nested <div> took more than 5 s")
    assert proc.returncode == 0, proc.stderr.decode()


TAGS = sorted({(tag, attr) for tag, attrs in _FETCH_ATTRS.items() for attr in attrs}
              | {("link", "href"), ("a", "href"), ("meta", "content"), ("div", "style"), ("base", "href")})
url_like = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["https://x.example/a", "//cdn.example.org/b", "/rel", "data:,x", "javascript:1", "http://[::1",
                     "https://[fe80::1%25eth0]/", "url(https://c.example/)", "0; url=/next", "a.jpg 1x, b.jpg 2x",
                     "ws://w.example/", "HTTPS://UP.EXAMPLE/", "\\\\evil\\x", "https://x.example:99999/"]),
)


@st.composite
def html_fragments(draw):
    parts = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            parts.append(draw(st.text(max_size=30)))
        elif kind == 1:
            tag, attr = draw(st.sampled_from(TAGS))
            rel = draw(st.sampled_from(["", ' rel="stylesheet"', ' rel="icon"', ' http-equiv="refresh"']))
            parts.append(f'<{tag}{rel} {attr}="{draw(url_like)}">')
        elif kind == 2:
            parts.append(f"<script>{draw(st.text(max_size=60))} '{draw(url_like)}'</script>")
        else:
            parts.append(f"<style>@import '{draw(url_like)}'; x{{background:url({draw(url_like)})}}</style>")
    return "".join(parts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=2000), ctype=st.sampled_from(["", "text/html", "text/html; charset=utf-8",
                                                             "text/html; charset=bogus", "text/html; charset=utf-16"]))
def test_property_observe_never_raises_on_bytes(body, ctype):
    o = observe(body, PAGE, {"content-type": ctype})
    assert all(r.url.startswith(FETCH_PREFIXES) for r in o.references)
    assert all(link.startswith(("http://", "https://")) for link, _ in o.links)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html=html_fragments(), encoding=st.sampled_from(["utf-8", "cp1252", "utf-16", "latin-1"]),
       declare=st.booleans())
def test_property_observe_never_raises_on_html_fragments(html, encoding, declare):
    body = html.encode(encoding, errors="replace")
    headers = {"content-type": f"text/html; charset={encoding}"} if declare else {}
    o = observe(body, PAGE, headers)
    for r in o.references:
        assert r.url.startswith(FETCH_PREFIXES), r
        assert not r.declared
    assert all(link.startswith(("http://", "https://")) and "#" not in link for link, _ in o.links)


# --------------------------------------------------------------------------- parse_set_cookie

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
URL = "https://www.shop.example/cart"


def test_max_age_beats_expires_in_either_order():
    for header in ("sid=abc; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Max-Age=3600",
                   "sid=abc; Max-Age=3600; Expires=Wed, 21 Oct 2037 07:28:00 GMT"):
        c = parse_set_cookie(header, URL, now=NOW)
        assert c.expires == NOW + timedelta(seconds=3600)
        assert c.max_age == 3600
        assert c.session is False


def test_expires_parsed_as_utc():
    c = parse_set_cookie("sid=abc; expires=Wed, 21 Oct 2037 07:28:00 GMT", URL, now=NOW)
    assert c.expires == datetime(2037, 10, 21, 7, 28, tzinfo=timezone.utc)
    assert c.max_age is None and c.session is False


def test_max_age_zero_or_negative_is_expired():
    for v in ("0", "-1"):
        c = parse_set_cookie(f"sid=abc; Max-Age={v}", URL, now=NOW)
        assert c.expires <= NOW
        assert c.session is False


def test_non_positive_max_age_expires_at_the_epoch():
    for v in ("0", "-1", "-99999999999999999999999"):
        c = parse_set_cookie(f"sid=abc; Max-Age={v}; Expires=Wed, 21 Oct 2037 07:28:00 GMT", URL, now=NOW)
        assert c.expires == datetime(1970, 1, 1, tzinfo=timezone.utc)
        assert -(2**63) <= c.max_age <= 0


def test_huge_negative_max_age_is_expired():
    c = parse_set_cookie("sid=abc; Max-Age=-1000000000000", URL, now=NOW)
    assert c.expires <= NOW


def test_domain_with_leading_dot():
    c = parse_set_cookie("_ga=GA1.2.3.4; Domain=.Shop.Example; Path=/; Max-Age=63072000", URL, now=NOW)
    assert c.domain == "shop.example"
    assert c.host_only is False
    assert c.name == "_ga" and c.value_length == len("GA1.2.3.4")


def test_host_only_cookie():
    c = parse_set_cookie("sid=abc", URL, now=NOW)
    assert c.domain == "www.shop.example"
    assert c.host_only is True
    assert c.path == "/"
    c2 = parse_set_cookie("sid=abc; Domain=", URL, now=NOW)
    assert (c2.domain, c2.host_only) == ("www.shop.example", True)


def test_flags():
    c = parse_set_cookie("sid=abc; Path=/shop; Secure; HttpOnly; SameSite=Lax", URL, now=NOW)
    assert (c.secure, c.http_only, c.same_site, c.path) == (True, True, "lax", "/shop")
    c2 = parse_set_cookie("sid=abc; secure; samesite=None", URL, now=NOW)
    assert (c2.secure, c2.http_only, c2.same_site) == (True, False, "none")
    c3 = parse_set_cookie("sid=abc", URL, now=NOW)
    assert (c3.secure, c3.http_only, c3.same_site) == (False, False, "")


def test_session_cookie():
    c = parse_set_cookie("PHPSESSID=  0123456789abcdef  ; path=/", URL, now=NOW)
    assert c.session is True and c.expires is None and c.max_age is None
    assert c.value_length == 16


@pytest.mark.parametrize("header", ["novalue", "=abc", "   =abc", "", "; Path=/", "justtext; Secure"])
def test_malformed_is_none(header):
    assert parse_set_cookie(header, URL, now=NOW) is None


def test_empty_value_is_a_cookie():
    c = parse_set_cookie("flag=; Max-Age=10", URL, now=NOW)
    assert c.name == "flag" and c.value_length == 0


@pytest.mark.parametrize(
    "header",
    [
        "a=b; Expires=Fri, 31 Dec 99999 23:59:59 GMT",
        "a=b; Expires=Fri, 31 Dec 9999 23:59:59 GMT",
        "a=b; Expires=Fri, 31 Dec 9999 23:59:59 -1200",
        "a=b; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        "a=b; Expires=Mon, 01 Jan 0001 00:00:00 GMT",
        "a=b; Expires=not a date",
        "a=b; Expires=Wed, 32 Foo 2020 99:99:99 GMT",
        "a=b; Max-Age=99999999999999999999999",
        "a=b; Max-Age=abc",
        "a=b; Max-Age=",
    ],
)
def test_absurd_dates_do_not_crash(header):
    c = parse_set_cookie(header, URL, now=NOW)
    assert c is not None and c.name == "a"
    if c.expires is not None:
        assert c.expires.tzinfo is not None
        assert c.expires.year <= 9998
        assert c.expires.astimezone(timezone.utc).year <= 9999
    assert c.session is (c.expires is None)


def test_unparseable_expires_is_session():
    c = parse_set_cookie("a=b; Expires=not a date", URL, now=NOW)
    assert c.session is True and c.expires is None


def _cookie_row(c):
    return {"run_id": "r", "input_domain": "shop.example", "page_url": URL, "name": c.name,
            "value_length": c.value_length, "domain": c.domain, "host_only": c.host_only, "path": c.path,
            "expires": c.expires, "max_age": c.max_age, "session": c.session, "secure": c.secure,
            "http_only": c.http_only, "same_site": c.same_site, "set_by_host": "www.shop.example",
            "method": "static", "consent_state": "none"}


def test_parsed_cookies_fit_the_cookies_table():
    headers = ["a=b; Expires=Fri, 31 Dec 9999 23:59:59 GMT", "c=d; Max-Age=63072000; Domain=.shop.example",
               "e=f", "g=h; Max-Age=-5"]
    buf = io.BytesIO()
    exp = ParquetItemExporter(buf, table="cookies")
    exp.export_item(SiteBundle.of("cookies", [_cookie_row(parse_set_cookie(h, URL, now=NOW)) for h in headers]))
    exp.finish_exporting()
    buf.seek(0)
    assert pq.read_table(buf).num_rows == 4


def test_huge_max_age_fits_the_cookies_table():
    c = parse_set_cookie("a=b; Max-Age=99999999999999999999999", URL, now=NOW)
    buf = io.BytesIO()
    exp = ParquetItemExporter(buf, table="cookies")
    exp.export_item(SiteBundle.of("cookies", [_cookie_row(c)]))
    exp.finish_exporting()
    buf.seek(0)
    assert pq.read_table(buf).num_rows == 1
