"""Privacy-policy coverage on fixture policies in German and English: page text extraction + catalog terms."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crawler.pagetext import page_text
from pipelines.catalog.coverage import (
    COMPANY_ONLY,
    NAMED,
    NO_POLICY,
    NOT_MENTIONED,
    SELF_HOSTED,
    PolicyText,
    Terms,
    _matcher,
    _may_match,
    _text,
    normalise,
    policy_coverage,
    service_terms,
)
from pipelines.catalog.load import load_catalog

POLICIES = Path(__file__).resolve().parents[1] / "fixtures" / "policies"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _policy(name: str, content_type: str = "text/html") -> PolicyText:
    pt = page_text((POLICIES / name).read_bytes(), content_type)
    return PolicyText(f"https://example.test/{name}", pt.text)


def _coverage(catalog, ids: list[str], *policies: PolicyText) -> dict[str, object]:
    return {c.service_id: c for c in policy_coverage([service_terms(catalog, i) for i in ids], list(policies))}


GERMAN_EMBEDS = ["google-analytics-4", "google-tag-manager", "cookiebot", "youtube", "hotjar", "meta-pixel",
                 "livechat", "matomo-cloud", "fonts-self-hosted"]


def test_german_policy_statuses(catalog):
    cov = _coverage(catalog, GERMAN_EMBEDS, _policy("datenschutz-de.html"))
    status = {k: v.status for k, v in cov.items()}
    assert status == {
        "google-analytics-4": NAMED,  # written "Google-Analytics" and "Google Analytics" (with a no-break space)
        "google-tag-manager": COMPANY_ONLY,  # only "Google Ireland Limited" is named
        "cookiebot": NAMED,
        "youtube": NAMED,
        "hotjar": NOT_MENTIONED,  # only in a script, a style class and a <template>: not readable text
        "meta-pixel": NOT_MENTIONED,  # only in a <noscript> pixel's alt text
        "livechat": NOT_MENTIONED,  # the policy says "Text" (an ordinary word), never LiveChat or its company
        "matomo-cloud": NOT_MENTIONED,  # "Matomotion GmbH" is another word
        "fonts-self-hosted": SELF_HOSTED,
    }
    assert cov["google-tag-manager"].term == "Google"  # first hit: the company word in "Google-Analytics"
    assert "Google" in cov["google-tag-manager"].excerpt
    assert cov["google-analytics-4"].page_url.endswith("datenschutz-de.html")
    assert "Google-Analytics" in cov["google-analytics-4"].excerpt  # excerpts quote the policy as written


def test_english_policy_statuses(catalog):
    cov = _coverage(catalog, ["hotjar", "livechat", "meta-pixel", "google-tag-manager", "youtube"],
                    _policy("privacy-en.html", "text/html; charset=windows-1252"))
    assert {k: v.status for k, v in cov.items()} == {
        "hotjar": NAMED,
        "livechat": NAMED,
        "meta-pixel": COMPANY_ONLY,  # "Meta Platforms Ireland Limited" for a Facebook page, not the pixel
        "google-tag-manager": NOT_MENTIONED,  # "policies.google.com" is a URL, not the company's name
        "youtube": NOT_MENTIONED,
    }
    assert cov["meta-pixel"].term == "Meta Platforms Ireland Limited"


def test_windows_1252_policy_decodes(catalog):
    text = _policy("privacy-en.html", "text/html; charset=windows-1252").text
    assert "Wrocław" in text and "“we”" in text and "café" in text


def test_no_policy_text_means_no_policy(catalog):
    cov = _coverage(catalog, ["hotjar", "fonts-self-hosted"])
    assert {c.status for c in cov.values()} == {NO_POLICY}
    cov = _coverage(catalog, ["hotjar"], PolicyText("https://x.test/p", "   \n "))
    assert cov["hotjar"].status == NO_POLICY


def test_second_policy_page_counts(catalog):
    """A cookie policy page can name what the privacy page does not."""
    cov = _coverage(catalog, ["hotjar", "google-tag-manager"], _policy("datenschutz-de.html"),
                    PolicyText("https://example.test/cookies", "Cookie-Richtlinie: Google Tag Manager lädt Skripte."))
    assert cov["google-tag-manager"].status == NAMED
    assert cov["google-tag-manager"].page_url == "https://example.test/cookies"
    assert cov["hotjar"].status == NOT_MENTIONED


@pytest.mark.parametrize("text,status", [
    ("Wir nutzen GOOGLE TAG MANAGER.", NAMED),
    ("Wir nutzen Google_Tag_Manager.", NAMED),
    ("Wir nutzen Google–Tag–Manager.", NAMED),
    ("Wir nutzen GoogleTagManager.", NOT_MENTIONED),  # no word boundary after "Google": conservative miss
    ("Wir nutzen googletagmanager.com.", NOT_MENTIONED),
    ("Wir nutzen Tools von Google.", COMPANY_ONLY),
    ("Wir nutzen Tools von google.", NOT_MENTIONED),  # one-word company names match as written
    ("Anbieter: Alphabet Inc.", COMPANY_ONLY),
    ("Das Alphabet der Datenverarbeitung.", NOT_MENTIONED),  # ordinary word, not the company
])
def test_matching_rules(catalog, text, status):
    cov = _coverage(catalog, ["google-tag-manager"], PolicyText("u", text))
    assert cov["google-tag-manager"].status == status


def test_terms_come_from_the_catalog(catalog):
    t = service_terms(catalog, "google-tag-manager")
    svc = catalog.by_id["google-tag-manager"]
    assert svc.name in t.service
    assert "Google LLC" in t.company  # a parent in the chain
    assert all(len(normalise(x)) >= 3 for x in t.service + t.company)
    assert service_terms(catalog, "fonts-self-hosted").self_hosted
    unknown = service_terms(catalog, "tpw-not-in-catalog")
    assert unknown.service == ("tpw-not-in-catalog",) and unknown.company == ()


def test_ordinary_words_never_name_a_service(catalog):
    """Single-word names that are ordinary words ("Clarity", "Steady", "Faktor") are no evidence; brand spellings
    still match in other capitalisations ("Youtube")."""
    text = ("For clarity: our subscribers can use PayPal Käuferschutz. GPT-based texts appear at a steady pace; "
            "the Faktor is two. Videos von Youtube.")
    ids = ["microsoft-clarity", "subscribers", "trusted-shops", "google-ad-manager", "steady",
           "liveramp-privacy-manager", "youtube"]
    cov = _coverage(catalog, ids, PolicyText("u", text))
    assert {k: v.status for k, v in cov.items() if v.status == NAMED} == {"youtube": NAMED}
    assert _coverage(catalog, ["microsoft-clarity"], PolicyText("u", "Wir nutzen Microsoft Clarity."))[
        "microsoft-clarity"].status == NAMED


_TERM_LISTS = [("Google Analytics", "GA4"), ("Google Tag Manager",), ("YouTube",), ("Hotjar Ltd.", "Hotjar"),
               ("Meta Platforms, Inc.", "Meta"), ("reCAPTCHA",), ("1&1 IONOS",), ("Straße Dienste",)]
_PIECES = ["Google", "google", "GOOGLE", "Analytics", "analytics", "Tag", "Manager", "YouTube", "youtube", "Hotjar",
           "hotjar", "Ltd.", "Meta", "meta", "Platforms,", "Inc.", "reCAPTCHA", "RECAPTCHA", "1&1", "IONOS", "Straße",
           "STRASSE", "strasse", "Dienste", "ẞ", "ﬁ", "Ａ", "ſ", "K", "İ", "İONOS", "İonos", "ı", "ANALYTıCS", "Analytıcs", " ", "  ", "-", "_", "\u00ad", "\u2011", "\n",
           "\t", ".", ",", "(", "/", "x", "é", "ü"]


@settings(max_examples=600, deadline=None)
@example(pieces=["1&1", " ", "İONOS"], terms=("1&1 IONOS",))  # the regex folds İ to i, casefold() to i + U+0307
@example(pieces=["Google", " ", "Analytıcs"], terms=("Google Analytics", "GA4"))  # dotless ı: the regex folds it to i
@given(pieces=st.lists(st.sampled_from(_PIECES), max_size=14), terms=st.sampled_from(_TERM_LISTS))
def test_the_pre_check_never_hides_a_match(pieces, terms):
    """The cheap substring pre-check may only skip texts the pattern cannot match (the dataset build relies on it)."""
    text = _text(PolicyText("https://example.test/p", "".join(pieces)))
    m = _matcher(terms)
    if m.pattern is not None and m.pattern.search(text.text):
        assert _may_match(m, text), (text.text, terms)


def test_sharp_s_matches_either_spelling():
    terms = [Terms("acme-strassen", ("Straßen Dienst",), ("Acme Straße GmbH",))]
    for text in ("Wir nutzen den Straßen-Dienst.", "Wir nutzen den STRASSEN DIENST.", "wir nutzen den strassen dienst"):
        assert policy_coverage(terms, [PolicyText("https://example.test/p", text)])[0].status == NAMED, text
    only_company = policy_coverage(terms, [PolicyText("https://example.test/p", "Anbieter: Acme Strasse GmbH")])[0]
    assert (only_company.status, only_company.term) == (COMPANY_ONLY, "Acme Straße GmbH")
