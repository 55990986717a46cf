"""`servicerisk policy`: a draft privacy-policy block per demo service, in German and English, Markdown and HTML,
naming the provider, the legal basis, the transfer basis and every cookie of the catalog entry."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from lxml import html as lxml_html

from pipelines.catalog.load import load_catalog
from pipelines.publish.texts import LANGS
from tests.conftest import run_cli
from tests.pipelines.test_detect_demo import DEMO_TO_CATALOG

DEMO_SERVICES = sorted(set(DEMO_TO_CATALOG.values()))
# the legal basis and transfer basis as a reader of the block must find them, per language
LEGAL_BASIS = {"de": ("Art. 6 Abs. 1 lit. a DSGVO", "Art. 6 Abs. 1 lit. f DSGVO"),
               "en": ("Art. 6(1)(a) GDPR", "Art. 6(1)(f) GDPR")}
TRANSFER = {
    "de": {"dpf": "Art. 45 DSGVO", "scc": "Art. 46 Abs. 2 lit. c DSGVO",
           "eea": "Europäischen Wirtschaftsraum verarbeitet", "none": "keine Daten an andere Unternehmen"},
    "en": {"dpf": "Art. 45 GDPR", "scc": "Art. 46(2)(c) GDPR",
           "eea": "processed in the European Economic Area", "none": "no data is passed to other companies"},
}
# written from the vendors' legal pages (see data/companies), not from the code's answer
EXPECTED = {
    # LiveChat: Text, Inc. in Boston relies on standard contractual clauses; consent needed (cookies on page view)
    "livechat": {"provider": "Text, Inc.", "address": "101 Arch St", "basis": 0, "transfer": "scc"},
    # Google Analytics: Google Ireland contracts, Google LLC (DPF-certified) receives; consent needed
    "google-analytics-4": {"provider": "Google Ireland Limited", "recipient": "Google LLC", "basis": 0,
                           "transfer": "dpf"},
    # etracker GmbH, Hamburg: EU processing
    "etracker": {"provider": "etracker GmbH", "transfer": "eea"},
    # self-hosted web fonts: the site's own server, nothing leaves it
    "fonts-self-hosted": {"transfer": "none", "basis": 1},
}


@pytest.fixture(scope="module")
def blocks(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("policy")
    res = run_cli(["policy", "--out", str(out), "--services", ",".join(DEMO_SERVICES)])
    assert res.returncode == 0, res.stderr[-3000:]
    for lang in LANGS:
        assert f"{len(DEMO_SERVICES)} draft block(s) ({lang})" in res.stdout
    return out / "policy"


def _texts(folder: Path, lang: str, sid: str) -> tuple[str, str]:
    md = (folder / lang / f"{sid}.md").read_text(encoding="utf-8")
    doc = lxml_html.fromstring((folder / lang / f"{sid}.html").read_bytes())
    assert doc.get("lang") == lang
    assert not doc.xpath("//script | //img | //iframe | //link")
    return md, re.sub(r"\s+", " ", doc.text_content())


@pytest.mark.parametrize("lang", LANGS)
def test_every_demo_service_has_a_block_naming_provider_basis_transfer_and_cookies(blocks, lang):
    catalog = load_catalog()
    for sid in DEMO_SERVICES:
        service = catalog.by_id[sid]
        for text in _texts(blocks, lang, sid):
            plain = text.replace("\\", "")  # Markdown escapes
            assert ("Entwurf, keine Rechtsberatung" if lang == "de" else "Draft, not legal advice") in plain, sid
            if service.company != "site-operator":
                assert catalog.companies[service.company].name in plain, (sid, lang)
            assert any(b in plain for b in LEGAL_BASIS[lang]), (sid, lang)
            assert any(t in plain for t in TRANSFER[lang].values()), (sid, lang)
            for cookie in service.cookies:
                assert cookie.name in plain, (sid, lang, cookie.name)


@pytest.mark.parametrize("lang", LANGS)
def test_blocks_state_what_the_vendors_pages_say(blocks, lang):
    for sid, want in EXPECTED.items():
        md, html_text = _texts(blocks, lang, sid)
        for text in (md.replace("\\", ""), html_text):
            for key in ("provider", "address", "recipient"):
                if key in want:
                    assert want[key] in text, (sid, lang, key)
            if "basis" in want:
                assert LEGAL_BASIS[lang][want["basis"]] in text, (sid, lang)
                assert LEGAL_BASIS[lang][1 - want["basis"]] not in text, (sid, lang)
            assert TRANSFER[lang][want["transfer"]] in text, (sid, lang)


def test_blocks_carry_no_code_or_other_language_label(blocks):
    from pipelines import glossary

    catalog = load_catalog()
    for lang, other in (("de", "en"), ("en", "de")):
        foreign = {glossary.label(other, kind, k) for kind in ("purpose_phrase", "data_category")
                   for k in glossary.codes(kind) if glossary.label(other, kind, k) != glossary.label(lang, kind, k)}
        assert len(foreign) > 15
        for sid in DEMO_SERVICES:
            text = re.sub(r"https?://\S+", "", _texts(blocks, lang, sid)[1])  # source URLs may hold any word
            service = catalog.by_id[sid]
            codes = set(service.purposes) | set(service.data_categories)
            if lang == "en":  # English labels may contain a code's word ("online identifiers"); never the code
                codes = {c for c in codes if "_" in c}
            assert not [c for c in codes if re.search(rf"\b{c}\b", text)], (sid, lang)
            assert not [f for f in foreign if f in text], (sid, lang)


def test_unknown_facts_are_marked_not_invented(blocks):
    # Google Ireland's street is not in the catalog: the block asks for it instead of making one up
    md, _ = _texts(blocks, "de", "google-analytics-4")
    assert "Anschrift ergänzen" in md
    # no retention period is recorded for LiveChat: the operator is told what to ask the vendor
    md, _ = _texts(blocks, "en", "livechat")
    assert "Retention period unknown – ask the vendor" in md


def test_policy_needs_exactly_one_source_and_known_ids(tmp_path):
    res = run_cli(["policy", "--out", str(tmp_path)])
    assert res.returncode == 2 and "exactly one of" in res.stderr
    res = run_cli(["policy", "--out", str(tmp_path), "--services", "livechat,no-such-service"])
    assert res.returncode == 2 and "no-such-service" in res.stderr
    res = run_cli(["policy", "--out", str(tmp_path), "example.de"])
    assert res.returncode == 2 and "servicerisk scan example.de" in res.stderr


def test_policy_request_resolves_services_domains_and_scans(tmp_path):
    from pipelines.policy.blocks import NothingToDraft, PolicyInputError, policy_request

    request = policy_request(tmp_path, services=" livechat, google-analytics-4 ,")
    assert request.service_ids == ["livechat", "google-analytics-4"] and request.folder == tmp_path / "policy"
    assert request.options() == {}
    for kwargs, needle in (({}, "exactly one of"), ({"services": " , "}, "no service id"),
                           ({"domain": "not a domain!"}, "is not a domain"),
                           ({"scan_id": "../etc"}, "--scan"),
                           ({"domain": "example.de"}, "servicerisk scan example.de")):
        with pytest.raises(PolicyInputError, match=re.escape(needle)):
            policy_request(tmp_path, **kwargs)
    scan = tmp_path / "scans" / "20261207T010203Z-abc123"
    scan.mkdir(parents=True)
    scan.joinpath("report.json").write_text('{"domain": "example.de", "services": [], "provenance": {}}', "utf-8")
    with pytest.raises(NothingToDraft, match="found no services"):
        policy_request(tmp_path, domain="Example.DE")
    scan.joinpath("report.json").write_text(
        '{"domain": "example.de", "services": [{"service_id": "livechat", "consent_required": "yes"}], '
        '"provenance": {"crawled_at": "2026-12-07T01:02:03Z"}}', "utf-8")
    request = policy_request(tmp_path, scan_id=scan.name)
    assert request.service_ids == ["livechat"] and request.folder == tmp_path / "policy" / "example.de"
    assert request.options() == {"verdicts": {"livechat": "yes"}, "day": date(2026, 12, 7)}
