"""The glossary (pipelines/glossary/de/*.yml, en/*.yml): both languages have the same keys, every code the pipeline can
put on a page has a name in both, every evidence and "to check" code the risk model emits has a template in both,
and the helpers write numbers, plurals, lifetimes, countries and sources in the reader's language."""

from __future__ import annotations

import re
import string

import pytest

from crawler.dnslookup import OUTCOMES as DNS_OUTCOMES
from crawler.outcomes import OUTCOMES
from crawler.pagepick import KINDS
from pipelines import glossary
from pipelines.catalog import vocab
from pipelines.catalog.load import load_catalog
from pipelines.glossary import Item, count, country, label, lifetime, render, source_label
from pipelines.risk import rubric as rb
from pipelines.risk.model import LABELS as CONFIDENCES
from pipelines.risk.transfer import LOCATION_CONFIDENCES
from tests.conftest import ROOT

LANGS = glossary.LANGS
RUBRIC = rb.load_rubric()


def _keys(node, prefix=()):
    out = set()
    if isinstance(node, dict):
        for k, v in node.items():
            out |= {prefix + (k,)} | _keys(v, prefix + (k,))
    return out


def test_both_languages_have_the_same_keys_and_only_text():
    de, en = (glossary.glossary(lang) for lang in LANGS)
    # service_name holds only the names that differ from the catalog's (English) names
    assert {k for k in _keys(de) ^ _keys(en) if k[0] != "service_name"} == set()
    assert set(de["service_name"]) <= {s.id for s in load_catalog().services}
    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                assert isinstance(k, (str, int)) and not isinstance(k, bool), (path, k)  # YAML reads NO as false
                walk(v, path + [k])
        elif isinstance(node, list):
            assert path[1] == "units" and len(node) == 2 and all(isinstance(x, str) for x in node), path
        else:
            assert isinstance(node, str) and node.strip(), (path, node)

    for lang in LANGS:
        data = glossary.glossary(lang)
        assert not set(data["labels"]) & set(data["texts"]), "a key is both a label and a text"
        walk(data, [lang])


CODE_KINDS = {
    "category": vocab.CATEGORIES, "purpose": vocab.PURPOSES, "data_category": vocab.DATA_CATEGORIES,
    "role": vocab.ROLES, "factor": set(rb.LEVELS), "mitigation": set(rb.MITIGATIONS),
    "security": set(rb.SECURITY_FINDINGS), "reason": set(rb.REASONS), "condition": set(range(1, 9)),
    "condition_status": {"met", "not_met", "check"}, "confidence": set(CONFIDENCES),
    "location_confidence": set(LOCATION_CONFIDENCES),
    "dpf_status": vocab.DPF_STATUS | {"not_covered"}, "consent": set(rb.VERDICTS), "band": set(rb.BANDS),
    "consent_state": {"none", "before_consent", "after_accept", "after_reject"},
    "embedding": {"direct", "gated", "encoded", "config", "hint"}, "outcome": set(OUTCOMES),
    "movement": {"new", "gone", "up", "down", "stable"}, "fact_field": vocab.FACT_FIELDS | {"transfers_to"},
    "mark": vocab.CONFIDENCE, "ip_anonymisation": vocab.IP_ANONYMISATION, "eu_hosting": vocab.EU_HOSTING,
    "yes_no": vocab.YES_NO_UNKNOWN, "rank_bucket": {"top1k", "top10k", "top100k", "rest", "unranked"},
    "legal_source": set(RUBRIC.sources), "mitigation_level": {"browser", "eu_edge", "tested", "documented", "evidenced"},
    "decision_basis": vocab.CONSENT_BASES, "page_kind": {kind for kind, _ in KINDS} | {"home", "other"},
    "dns_outcome": set(DNS_OUTCOMES),
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", sorted(CODE_KINDS))
def test_every_code_has_a_name(lang, kind):
    missing = {c for c in CODE_KINDS[kind] if not glossary.has(lang, kind, c)}
    assert not missing, f"{lang}.yml {kind}: no name for {sorted(map(str, missing))}"


@pytest.mark.parametrize("lang", LANGS)
def test_every_factor_level_and_country_has_a_name(lang):
    for code, levels in rb.LEVELS.items():
        missing = [lv for lv in levels if not glossary.has(lang, f"level.{code}", lv)]
        assert not missing, (lang, code, missing)
    # every country the reference tables know (EEA, adequacy, territories) and every ISO 3166-1 code
    tables = ROOT / "data" / "reference" / "countries"
    codes = {line.split(",")[0] for f in tables.glob("*.csv") for line in f.read_text().splitlines()[1:] if line}
    assert len(glossary.codes("country", lang)) >= 249
    assert not [c for c in codes if not glossary.has(lang, "country", c)]


EMITTERS = [*sorted((ROOT / "pipelines" / "risk" / "model").glob("*.py")), ROOT / "pipelines" / "risk" / "transfer.py",
            ROOT / "pipelines" / "risk" / "dpf.py"]


def _emitted(pattern: str) -> set[str]:
    found = set()
    for path in EMITTERS:
        found |= set(re.findall(pattern, path.read_text(encoding="utf-8")))
    return found


def test_every_evidence_and_check_code_the_model_emits_has_a_template():
    evidence = _emitted(r'item\(\s*"([a-z0-9_]+)"') | _emitted(r'Item\(\s*"([a-z0-9_]+)"')
    # codes chosen at run time: the browser's "nothing seen" items and the C4 "no" reasons
    evidence |= {"browser_no_storage", "browser_no_identifier", "no_self_host_alternative", "already_self_hosted",
                 "eea_controlled"}
    checks = _emitted(r'Check\(\s*(?:\d+|None)\s*,\s*"([a-z0-9_]+)"')
    assert len(evidence) > 60 and len(checks) >= 13
    for lang in LANGS:
        assert evidence <= set(glossary.codes("evidence", lang)), (lang, evidence - set(glossary.codes("evidence", lang)))
        assert checks <= set(glossary.codes("check", lang)), (lang, checks - set(glossary.codes("check", lang)))
    unused = set(glossary.codes("evidence")) - evidence - {"decision"} - {"dpf_origin_company_file", "dpf_origin_none"}
    assert not unused, f"templates nothing emits: {sorted(unused)}"


_FIELD = re.compile(r"\{(\w+)(?::(\w+))?\}")


@pytest.mark.parametrize("lang", LANGS)
def test_templates_use_known_fields_and_render_without_parameters(lang):
    specs = set(glossary._SPECS)
    for section in ("evidence", "check", "labels", "texts"):
        for code, template in glossary.glossary(lang)[section].items():
            for _field, spec in _FIELD.findall(template):
                assert not spec or spec in specs, (lang, section, code, spec)
            parsed = {f for _, f, _, _ in string.Formatter().parse(template) if f}
            other = glossary.glossary("en" if lang == "de" else "de")[section][code]
            assert parsed == {f for _, f, _, _ in string.Formatter().parse(other) if f} or section != "labels", code
            out = glossary.render_item(lang, Item(code)) if section == "evidence" else \
                glossary.check_text(lang, code) if section == "check" else glossary.text(lang, code, _=None)
            assert "{" not in out and "}" not in out, (lang, code, out)


def test_words_and_numbers_in_the_reader_language():
    assert (count("de", 1, "host"), count("de", 3, "host"), count("en", 1, "site"), count("en", 2, "site")) == (
        "1 Host", "3 Hosts", "1 site", "2 sites")
    assert (count("de", 1, "site"), count("de", 61, "site")) == ("1 Website", "61 Websites")
    assert (lifetime("de", "3 years"), lifetime("de", "1 Year"), lifetime("en", "13 months")) == (
        "3 Jahre", "1 Jahr", "13 months")
    assert (lifetime("de", "Session"), lifetime("de", "forever"), lifetime("de", "2 years after last activity")) == (
        "Sitzung", "dauerhaft (ohne Ablaufdatum)", "2 Jahre nach der letzten Aktivität")
    assert lifetime("de", "Deleted when oauth state is validated") is None  # not guessed
    assert (country("de", "US"), country("en", "US"), country("de", "unknown")) == ("USA", "United States", "unbekannt")
    assert glossary.percent("de", 0.049) == "4,9 %" and glossary.percent("en", 0.049) == "4.9 %"
    assert label("de", "category", "tag-manager") == "Tag-Manager" and label("en", "level.F6", "us_dpf_unknown") == (
        "US (DPF not established)")
    assert label("de", "category", "no-such-code") == "no-such-code"  # unknown codes stay visible to the page tests


def test_sources_are_named_without_registry_addresses():
    de = source_label("de", "@slashgear/gdpr-cookie-scanner@3.8.2#open-cookie-database/963037a3")
    assert de == "Open Cookie Database (npm-Paket @slashgear/gdpr-cookie-scanner 3.8.2)"
    assert source_label("en", "third-party-web@0.30.0").startswith("third-party-web (Patrick Hulce) (npm package")
    assert source_label("en", "https://text.com/legal/privacy") == "https://text.com/legal/privacy"
    for lang in LANGS:
        files = sorted((ROOT / "pipelines" / "glossary" / lang).glob("*.yml"))
        assert files
        for file in files:
            assert not re.search(r"npmjs\.|pypi\.org|registry\.", file.read_text(encoding="utf-8")), file


def test_every_catalog_source_package_is_a_named_dataset():
    """Each pinned package the catalog cites is shown as a dataset with a name, never as a bare reference."""
    catalog = load_catalog()
    packages = {src for s in catalog.services for src in [*s.sources, *(c.source for c in s.cookies),
                                                          *(f.source for f in s.facts)]
                if src and not src.startswith("http")}
    assert packages
    for src in packages:
        for lang in LANGS:
            shown = source_label(lang, src)
            assert shown != src and "@" not in shown.split(" (")[0], (src, shown)


def test_evidence_renders_in_both_languages_from_the_same_items():
    items = [Item("catalog_sets_cookies", {"cookies": {"cookies": [{"name": "_ga", "prefix": False,
                                                                   "purpose": "analytics", "lifetime": "2 years"}],
                                                      "more": 2},
                                          "cite": {"source": "https://example.org/", "as_of": "2026-01-01",
                                                   "mark": "V"}}),
             Item("more_hosts", {"n": 2})]
    assert render("de", items) == ("Katalog: setzt _ga (Analyse, 2 Jahre) und 2 weitere [https://example.org/, Stand "
                                   "2026-01-01, belegte Quelle]; 2 weitere (siehe Tabelle der Netze)")
    assert render("en", items).startswith("catalog: sets _ga (analytics, 2 years) and 2 more [https://example.org/, "
                                          "as of 2026-01-01, verified source]")
    # a malformed parameter is shown as it is, never a crash
    assert render("de", [Item("dnt_tested_sites", {"n": "<b>"})]) == "gemessen: DNT/GPC auf <b> beachtet"


def test_language_folder_sections_merge_and_clash(tmp_path):
    """A language folder's files share the sections: merged in name order, a section in two files is an error
    naming both, and lang: must be there."""
    (tmp_path / "a.yml").write_text("lang: de\nlabels:\n  x: X\n", encoding="utf-8")
    (tmp_path / "b.yml").write_text("texts:\n  y: Y\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("labels: {}\n", encoding="utf-8")  # not a section file
    assert glossary.read_folder("de", tmp_path) == {"lang": "de", "labels": {"x": "X"}, "texts": {"y": "Y"}}
    with pytest.raises(glossary.GlossaryError, match="lang: en"):
        glossary.read_folder("en", tmp_path)
    (tmp_path / "c.yml").write_text("labels:\n  z: Z\n", encoding="utf-8")
    with pytest.raises(glossary.GlossaryError, match=r"'labels' is defined in both glossary/de/a\.yml and glossary/de/c\.yml"):
        glossary.read_folder("de", tmp_path)
    (tmp_path / "c.yml").write_text("- a list\n", encoding="utf-8")
    with pytest.raises(glossary.GlossaryError, match="c.yml: top level must be a mapping"):
        glossary.read_folder("de", tmp_path)


def test_every_glossary_file_is_short():
    for lang in LANGS:
        for file in (ROOT / "pipelines" / "glossary" / lang).glob("*.yml"):
            assert len(file.read_text(encoding="utf-8").splitlines()) < 500, file
