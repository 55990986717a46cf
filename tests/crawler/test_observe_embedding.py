"""How a page embeds what it references (``Reference.embedding``): direct, gated (held back by a consent manager
or a loader), encoded (escaped or encoded embed code, decoded), config (URL literals in inline code) and hint
(connection hints). The definition: docs/methodology.md, "What embeds means"."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from crawler.observe import EMBEDDINGS, embedding_of, observe

PAGE = "https://www.site.example/dir/page.html"


def embeddings(html: str, **kw) -> dict[str, set[str]]:
    """url -> the embeddings it was seen with."""
    out: dict[str, set[str]] = {}
    for r in observe(html.encode("utf-8"), PAGE, links=False, **kw).references:
        out.setdefault(r.url, set()).add(r.embedding)
    return out


@pytest.mark.parametrize("native", [True, False], ids=["native", "python"])
def test_consent_gated_scripts_and_iframes(native):
    got = embeddings(
        '<script type="text/plain" data-usercentrics="X" src="https://a.example/a.js"></script>'
        '<script type="didomi/javascript">var u = "https://b.example/b.js";</script>'
        '<script data-src="https://c.example/c.js"></script>'
        '<script class="cmplazyload" data-cmp-src="https://d.example/d.js"></script>'
        "<script type='text/template' data-borlabs-script-blocker-src=\"//e.example/e.js\"></script>"
        '<script type="text/template">{{ no src }}</script>'
        '<iframe src="about:blank" data-cmp-src="https://f.example/embed"></iframe>'
        '<iframe data-src="https://g.example/embed"></iframe>'
        '<iframe src="https://h.example/embed" data-src="https://i.example/embed"></iframe>', native=native)
    assert got == {"https://a.example/a.js": {"gated"}, "https://b.example/b.js": {"gated"},
                   "https://c.example/c.js": {"gated"}, "https://d.example/d.js": {"gated"},
                   "https://e.example/e.js": {"gated"}, "https://f.example/embed": {"gated"},
                   "https://g.example/embed": {"gated"}, "https://h.example/embed": {"direct"}}


@pytest.mark.parametrize("native", [True, False], ids=["native", "python"])
def test_page_speed_deferral_is_not_a_gate(native):
    got = embeddings(
        '<script type="rocketlazyloadscript" data-rocket-src="https://a.example/jquery.js"></script>'
        '<script type="0123abcd-text/javascript">var u = "https://b.example/b.js";</script>'
        '<script type="pmdelayedscript" src="https://c.example/c.js"></script>'
        '<script type="text/phast" data-phast-original-src="https://d.example/d.js"></script>', native=native)
    assert got == {"https://a.example/jquery.js": {"direct"}, "https://b.example/b.js": {"config"},
                   "https://c.example/c.js": {"direct"}, "https://d.example/d.js": {"direct"}}


def test_direct_hint_and_config():
    got = embeddings(
        '<link rel="preconnect" href="https://hint.example"><link rel="dns-prefetch" href="//dns.example">'
        '<link rel="preload" href="https://pre.example/f.woff2"><img src="https://img.example/p.gif">'
        '<script>var s = "https://cfg.example/loader.js";</script>')
    assert got == {"https://hint.example": {"hint"}, "https://dns.example": {"hint"},
                   "https://pre.example/f.woff2": {"direct"}, "https://img.example/p.gif": {"direct"},
                   "https://cfg.example/loader.js": {"config"}}


@pytest.mark.parametrize("native", [True, False], ids=["native", "python"])
def test_template_content_is_gated(native):
    got = embeddings('<template id="t"><iframe src="https://tpl.example/embed"></iframe>'
                     '<script src="https://tpl.example/s.js"></script></template>', native=native)
    assert got == {"https://tpl.example/embed": {"gated"}, "https://tpl.example/s.js": {"gated"}}


def test_html_escaped_embed_code_in_an_attribute_is_encoded_but_escaped_text_is_not():
    got = embeddings(
        '<div class="video" data-html="&lt;iframe src=&quot;https://www.youtube.com/embed/abc&quot;&gt;'
        '&lt;/iframe&gt;"></div>'
        '<div data-block-json="{&quot;html&quot;:&quot;&lt;iframe src=\\&quot;//player.vimeo.com/video/1\\&quot;'
        '&gt;&lt;/iframe&gt;&quot;}"></div>'
        '<textarea>&lt;iframe src=&quot;https://copy.example/embed&quot;&gt;&lt;/iframe&gt;</textarea>'
        '<p>Paste &lt;script src="https://sample.example/x.js"&gt;&lt;/script&gt; into your page.</p>')
    assert got == {"https://www.youtube.com/embed/abc": {"encoded"}, "https://player.vimeo.com/video/1": {"encoded"}}


def test_js_escaped_and_url_encoded_embed_code_is_encoded():
    got = embeddings(
        '<script>var a = "\\u003ciframe src=\\u0022https://js.example/embed\\u0022\\u003e\\u003c/iframe\\u003e";'
        "var b = '<iframe width=\\\"1\\\" src=\\\"https://quoted.example/embed\\\"></iframe>';"
        'document.write(unescape("' + quote('<script src="https://url.example/u.js"></script>') + '"));'
        "document.write(unescape(\"%3Cscript src='\" + host + \"rel.example/x.js'%3E%3C/script%3E\"));</script>")
    # the URL-literal scan of the script sees the first two as well (config); decoded, they are encoded embeds
    assert got["https://js.example/embed"] == {"config", "encoded"}
    assert got["https://quoted.example/embed"] == {"config", "encoded"}
    assert got["https://url.example/u.js"] == {"encoded"}
    assert not any("rel.example" in u for u in got)  # a script-built relative URL is no reference


def test_base64_embed_code_is_decoded_with_its_signatures():
    opt_in = base64.b64encode(b'<script async src="https://www.googletagmanager.com/gtag/js?id=G-ABCDEF1234">'
                              b"</script><script>gtag('config', 'G-ABCDEF1234');</script>").decode()
    blocker = base64.b64encode(b'<div><iframe src="https://www.youtube-nocookie.com/embed/x"></iframe>'
                               b'<img src="/relative.png"></div>').decode()
    html = (f'<script>var cfg = {{"optInJS": "{opt_in}"}};</script>'
            f'<div data-borlabs-cookie-type="content-blocker"><script type="text/template">{blocker}</script></div>'
            '<img src="data:image/png;base64,iVBORw0KGgoPHNjcmlwdAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA">')
    obs = observe(html.encode(), PAGE, links=False)
    got = {r.url: r.embedding for r in obs.references}
    assert got == {"https://www.googletagmanager.com/gtag/js?id=G-ABCDEF1234": "encoded",
                   "https://www.youtube-nocookie.com/embed/x": "encoded"}
    assert ("ga4-measurement-id", "G-ABCDEF1234") in obs.encoded_signatures
    assert ("ga4-measurement-id", "G-ABCDEF1234", "encoded") in obs.signature_evidence()
    assert not obs.signatures


def test_gated_signatures_carry_their_embedding():
    obs = observe(b'<script type="text/plain">gtag("config", "G-GATED12345");</script>'
                  b"<script>fbq('init', '123456789012345');</script>", PAGE)
    assert set(obs.signature_evidence()) == {("ga4-measurement-id", "G-GATED12345", "gated"),
                                             ("meta-pixel-init", "123456789012345", "config")}


def test_csp_declared_hosts_are_not_embedded():
    obs = observe(b"<p>x</p>", PAGE, {"content-security-policy": "script-src https://csp.example"})
    assert [r.embedding for r in obs.references] == [None]


@pytest.mark.parametrize(("args", "expected"), [
    (("script", "src", "", False, False), "direct"),
    (("script", "src", "", True, True), "gated"),
    (("iframe", "src", "", False, True), "encoded"),
    (("link", "href", "preconnect", False, False), "hint"),
    (("link", "href", "dns-prefetch preconnect", False, False), "hint"),
    (("link", "href", "preload", False, False), "direct"),
    (("script", "inline", "", False, False), "config"),
    (("style", "text", "", False, False), "direct"),
])
def test_embedding_rule(args, expected):
    assert embedding_of(*args) == expected
    assert expected in EMBEDDINGS
