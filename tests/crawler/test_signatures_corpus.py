"""The inline-signature rules (data/services/_signatures.yml) are curated from the dev corpus: each names the
page its example comes from, the example is a short evidence string found in that page's bytes, and the
signature fires there through observe() (the walk the crawl runs), in a script that runs, a held-back one or
decoded embed code."""

from __future__ import annotations

import csv

import pytest
import yaml

from crawler.observe import observe
from crawler.signatures import SIGNATURES_FILE, load_signatures

RULES = yaml.safe_load(SIGNATURES_FILE.read_text(encoding="utf-8"))["signatures"]
FROM_CORPUS = [r for r in RULES if r.get("page")]


def test_at_least_150_rules_come_from_the_corpus_with_short_evidence():
    assert len(FROM_CORPUS) >= 150, len(FROM_CORPUS)
    assert len({r["id"] for r in RULES}) == len(RULES)
    for r in FROM_CORPUS:
        assert r["page"].startswith("pages/") and r["page"].endswith(".html"), r["id"]
        assert 4 <= len(r["example"]) <= 160, r["id"]  # an evidence string, not a copied page


@pytest.fixture(scope="module")
def fired(realpages) -> dict[str, set[str]]:
    """signature id -> the signatures observe() finds on the page that rule names."""
    urls = {r["page_file"]: r["original_url"] for r in csv.DictReader(
        open(realpages / "manifest.csv", newline="", encoding="utf-8"))}
    out: dict[str, set[str]] = {}
    sigs = load_signatures()
    for page in sorted({r["page"] for r in FROM_CORPUS}):
        obs = observe((realpages / page).read_bytes(), urls[page], links=False, signatures=sigs)
        out[page] = {sid for sid, _value, _embedding in obs.signature_evidence()}
    return out


@pytest.mark.parametrize("rule", FROM_CORPUS, ids=[r["id"] for r in FROM_CORPUS])
def test_the_rule_fires_on_its_corpus_page(rule, realpages, fired):
    body = (realpages / rule["page"]).read_bytes()
    assert rule["example"].encode("utf-8") in body, "the example is not in the page's bytes"
    assert rule["id"] in fired[rule["page"]], "observe() does not find the signature on its page"
