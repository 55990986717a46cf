"""The inline-signature rules (data/services/_signatures/*.yml) are curated from the dev corpus: each names the
page its example comes from, the example is a short evidence string found in that page's bytes, and the
signature fires there through observe() (the walk the crawl runs), in a script that runs, a held-back one or
decoded embed code."""

from __future__ import annotations

import csv

import pytest

from common.signatures import SIGNATURES_DIR, load_signatures, signature_rules
from crawler.observe import observe

RULES = [rule for _file, _i, rule in signature_rules()]
FROM_CORPUS = [r for r in RULES if r.get("page")]


def test_rules_are_read_from_short_files_in_name_order():
    """The rules live in several files (each under 500 lines) and load in file-name order, the order observe()
    runs them in."""
    files = sorted(SIGNATURES_DIR.glob("*.yml"))
    assert len(files) > 1 and all(len(f.read_text(encoding="utf-8").splitlines()) < 500 for f in files)
    assert [name for name, _i, _rule in signature_rules()] == sorted(name for name, _i, _rule in signature_rules())
    assert [s.id for s in load_signatures()] == [r["id"] for r in RULES]


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
