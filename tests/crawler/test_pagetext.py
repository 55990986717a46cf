"""Readable text of policy pages: what a reader sees, never what scripts or templates hold; never raises."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.pagetext import page_text


def test_scripts_styles_templates_are_not_text():
    body = (b"<html lang=de><head><title>T</title><script>var hotjar=1</script><style>.x{}</style></head>"
            b"<body><p>Wir nutzen Matomo.</p><template>Hotjar</template><noscript>Pixel</noscript>"
            b"<svg><text>Chart</text></svg><p>Ende</p></body></html>")
    pt = page_text(body)
    assert pt.text == "Wir nutzen Matomo.\nEnde"
    assert pt.lang == "de" and not pt.truncated and pt.chars == len(pt.text)


def test_blocks_never_run_together():
    pt = page_text(b"<ul><li>Google</li><li>Analytics</li></ul><div>Hot</div><div>jar</div>")
    assert "GoogleAnalytics" not in pt.text and "Hotjar" not in pt.text
    assert pt.text.split("\n") == ["Google", "Analytics", "Hot", "jar"]


def test_inline_elements_join_words():
    assert page_text(b"<p>Google <b>Tag</b>&nbsp;Manager</p>").text == "Google Tag Manager"


def test_truncation_and_length():
    body = b"<p>" + b"Datenschutz " * 1000 + b"</p>"
    pt = page_text(body, max_chars=100)
    assert len(pt.text) == 100 and pt.truncated and pt.chars > 10_000


def test_lang_is_checked():
    assert page_text(b'<html lang="en-GB"><p>x</p>').lang == "en-gb"
    assert page_text(b'<html lang="<script>"><p>x</p>').lang is None
    assert page_text(b"<p>x</p>").lang is None


def test_charset_from_header():
    assert page_text("<p>Datenschutzerklärung</p>".encode("cp1252"), "text/html; charset=windows-1252").text == \
        "Datenschutzerklärung"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_never_raises_on_bytes(body):
    pt = page_text(body)
    assert pt.chars >= len(pt.text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/=\"' abcp!-&;\x00\n")) , max_size=500))
def test_never_raises_on_tag_soup(text):
    page_text(text.encode("utf-8"))
