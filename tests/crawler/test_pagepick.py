"""Tests for crawler.pagepick: classifying links and choosing the same-site pages to fetch."""

from __future__ import annotations

import pytest

from crawler.observe import observe
from crawler.pagepick import KINDS, page_kind, pick_pages

HOME = "https://www.example.de/"


# --------------------------------------------------------------------------- page_kind


@pytest.mark.parametrize(
    ("url", "text", "kind"),
    [
        ("https://www.example.de/datenschutz", "", "privacy"),
        ("https://www.example.de/de/Datenschutzerklaerung.html", "", "privacy"),
        ("https://www.example.de/p/17", "Datenschutzerklärung", "privacy"),
        ("https://www.example.de/privacy-policy", "", "privacy"),
        ("https://www.example.de/x", "Privacy Policy", "privacy"),
        ("https://www.example.de/dsgvo", "", "privacy"),
        ("https://www.example.de/impressum", "", "imprint"),
        ("https://www.example.de/x", "IMPRESSUM", "imprint"),
        ("https://www.example.de/imprint", "", "imprint"),
        ("https://www.example.de/legal-notice", "", "imprint"),
        ("https://www.example.de/x", "Legal notice", "imprint"),
        ("https://www.example.de/kontakt", "", "contact"),
        ("https://www.example.de/x", "Kontakt", "contact"),
        ("https://www.example.de/contact-us/", "", "contact"),
        ("https://www.example.de/x", "Contact", "contact"),
        ("https://www.example.de/cookie-richtlinie", "", "cookies"),
        ("https://www.example.de/agb", "", "legal"),
        ("https://www.example.de/terms-of-service", "", "legal"),
        ("https://www.example.de/ueber-uns", "", "about"),
        ("https://www.example.de/x", "About us", "about"),
        ("https://www.example.de/produkte", "Produkte", "other"),
        ("https://www.example.de/", "", "other"),
    ],
)
def test_page_kind(url, text, kind):
    assert page_kind(url, text) == kind


def test_earlier_kind_wins_when_several_words_match():
    assert page_kind("https://www.example.de/kontakt", "Datenschutz") == "privacy"
    assert page_kind("https://www.example.de/impressum-und-kontakt", "") == "imprint"
    assert page_kind("https://www.example.de/legal/privacy", "") == "privacy"


def test_host_and_query_do_not_count():
    assert page_kind("https://datenschutz.example.de/start?x=impressum", "") == "other"


def test_kinds_order():
    assert [k for k, _ in KINDS][:3] == ["privacy", "imprint", "contact"]


# --------------------------------------------------------------------------- pick_pages


def test_german_site_picks_policy_imprint_contact_first():
    links = [
        ("https://www.example.de/produkte", "Produkte"),
        ("https://www.example.de/kontakt", "Kontakt"),
        ("https://www.example.de/impressum", "Impressum"),
        ("https://www.example.de/datenschutz", "Datenschutz"),
        ("https://www.example.de/blog", "Blog"),
    ]
    assert pick_pages(links, HOME, 4) == [
        ("https://www.example.de/datenschutz", "privacy"),
        ("https://www.example.de/impressum", "imprint"),
        ("https://www.example.de/kontakt", "contact"),
        ("https://www.example.de/produkte", "other"),
    ]


def test_english_link_text_counts():
    links = [("https://example.com/a", "Home"), ("https://example.com/b", "Contact us"),
             ("https://example.com/c", "Imprint"), ("https://example.com/d", "Privacy notice")]
    assert pick_pages(links, "https://example.com/", 3) == [
        ("https://example.com/d", "privacy"),
        ("https://example.com/c", "imprint"),
        ("https://example.com/b", "contact"),
    ]


def test_preference_order_then_document_order():
    links = [
        ("https://www.example.de/o1", ""),
        ("https://www.example.de/about", ""),
        ("https://www.example.de/contact", ""),
        ("https://www.example.de/o2", ""),
        ("https://www.example.de/agb", ""),
        ("https://www.example.de/imprint", ""),
        ("https://www.example.de/cookies", ""),
        ("https://www.example.de/privacy", ""),
        ("https://www.example.de/o3", ""),
        ("https://www.example.de/privacy-2", ""),
    ]
    got = pick_pages(links, HOME, 100)
    assert got == [
        ("https://www.example.de/privacy", "privacy"),
        ("https://www.example.de/privacy-2", "privacy"),
        ("https://www.example.de/imprint", "imprint"),
        ("https://www.example.de/contact", "contact"),
        ("https://www.example.de/cookies", "cookies"),
        ("https://www.example.de/agb", "legal"),
        ("https://www.example.de/about", "about"),
        ("https://www.example.de/o1", "other"),
        ("https://www.example.de/o2", "other"),
        ("https://www.example.de/o3", "other"),
    ]


def test_other_sites_are_excluded_www_and_subdomains_are_same_site():
    links = [
        ("https://www.example.com/privacy", "Privacy"),       # other registrable domain
        ("https://example.de.evil.example/datenschutz", ""),  # suffix trick
        ("https://facebook.com/example", "Facebook"),
        ("https://example.de/impressum", "Impressum"),         # apex of www home: same site
        ("https://shop.example.de/kontakt", "Kontakt"),        # subdomain: same site
        ("http://www.example.de/agb", "AGB"),                  # other scheme, same site
    ]
    assert pick_pages(links, HOME, 10) == [
        ("https://example.de/impressum", "imprint"),
        ("https://shop.example.de/kontakt", "contact"),
        ("http://www.example.de/agb", "legal"),
    ]


def test_public_suffix_is_respected():
    links = [("https://other.co.uk/privacy", ""), ("https://shop.example.co.uk/privacy", "")]
    assert pick_pages(links, "https://www.example.co.uk/", 5) == [("https://shop.example.co.uk/privacy", "privacy")]


def test_non_http_links_are_excluded():
    links = [("mailto:info@example.de", "Kontakt"), ("ftp://www.example.de/impressum", "Impressum"),
             ("javascript:void(0)", "Datenschutz"), ("https:///nohost", "Kontakt")]
    assert pick_pages(links, HOME, 5) == []


@pytest.mark.parametrize(
    "path", ["/datenschutz.pdf", "/Impressum.PDF", "/team.jpg", "/kontakt.jpeg", "/agb.docx", "/a.zip", "/x.png"]
)
def test_downloads_are_skipped(path):
    assert pick_pages([("https://www.example.de" + path, "Datenschutz")], HOME, 5) == []


def test_download_check_uses_path_only():
    got = pick_pages([("https://www.example.de/datenschutz?format=pdf", ""),
                      ("https://www.example.de/download.php?f=a.pdf", "")], HOME, 5)
    assert [u for u, _ in got] == ["https://www.example.de/datenschutz?format=pdf",
                                   "https://www.example.de/download.php?f=a.pdf"]


def test_home_page_itself_is_excluded_in_every_spelling():
    links = [("https://www.example.de/", "Home"), ("https://www.example.de", "Home"),
             ("https://example.de/", "Start"), ("http://www.example.de/#main", "Skip"),
             ("https://www.example.de/#top", "Top")]
    assert pick_pages(links, HOME, 5) == []


def test_home_with_path_is_excluded():
    home = "https://www.example.de/de/start"
    links = [("https://www.example.de/de/start/", "Start"), ("https://example.de/de/start#x", "Start"),
             ("https://www.example.de/de/", "Deutsch")]
    assert pick_pages(links, home, 5) == [("https://www.example.de/de/", "other")]


def test_duplicates_trailing_slash_fragment_www_are_collapsed():
    links = [
        ("https://www.example.de/impressum", "Impressum"),
        ("https://www.example.de/impressum/", "Impressum"),
        ("https://www.example.de/impressum#anchor", "Impressum"),
        ("https://example.de/impressum", "Impressum"),
        ("http://www.example.de/impressum", "Impressum"),
    ]
    assert pick_pages(links, HOME, 5) == [("https://www.example.de/impressum", "imprint")]


def test_different_queries_are_different_pages():
    links = [("https://www.example.de/index.php?id=1", ""), ("https://www.example.de/index.php?id=2", ""),
             ("https://www.example.de/index.php?id=1", "")]
    assert [u for u, _ in pick_pages(links, HOME, 5)] == ["https://www.example.de/index.php?id=1",
                                                         "https://www.example.de/index.php?id=2"]


@pytest.mark.parametrize("budget", [-1, 0, 1, 2, 3, 50])
def test_budget_respected(budget):
    links = [(f"https://www.example.de/seite-{i}", f"Seite {i}") for i in range(20)]
    links.insert(7, ("https://www.example.de/datenschutz", "Datenschutz"))
    got = pick_pages(links, HOME, budget)
    assert len(got) == max(0, min(budget, 21))
    if budget >= 1:
        assert got[0] == ("https://www.example.de/datenschutz", "privacy")
    if budget >= 3:
        assert got[1:3] == [("https://www.example.de/seite-0", "other"), ("https://www.example.de/seite-1", "other")]


def test_from_a_real_observation():
    html = b"""<html><body>
      <nav><a href="/">Start</a><a href="/leistungen/">Leistungen</a><a href="#content">Skip</a></nav>
      <footer>
        <a href="/kontakt/">Kontakt</a> | <a href="https://www.example.de/impressum/">Impressum</a> |
        <a href="/datenschutz/#cookies">Datenschutz</a> | <a href="/downloads/agb.pdf">AGB (PDF)</a> |
        <a href="https://www.facebook.com/example">Facebook</a> | <a href="mailto:info@example.de">Mail</a>
      </footer></body></html>"""
    obs = observe(html, HOME)
    assert pick_pages(obs.links, HOME, 4) == [
        ("https://www.example.de/datenschutz/", "privacy"),
        ("https://www.example.de/impressum/", "imprint"),
        ("https://www.example.de/kontakt/", "contact"),
        ("https://www.example.de/leistungen/", "other"),
    ]
