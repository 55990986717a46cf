"""Lint and contract tests for the curated service/company catalog and the pinned reference data."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import tarfile
from pathlib import Path

import pytest
import yaml

from common import refdata
from pipelines.catalog import longtail, vocab
from pipelines.catalog.load import CatalogError, load_catalog, read_catalog
from pipelines.catalog.validate import lint, validate

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"

# The 40 services most frequent on the .de/.at/.ch pages of realpages-dev (site counts, see data/README.md).
TOP40 = [
    "google-universal-analytics", "google-tag-manager", "wordpress-emoji", "google-fonts", "infonline-ivw",
    "google-ad-manager", "google-adsense", "matomo-self-hosted", "facebook-social-plugins", "google-other",
    "google-hosted-libraries", "gravatar", "google-recaptcha", "youtube", "meta-pixel", "vg-wort", "twitter-x",
    "borlabs-cookie", "outbrain", "google-ads", "cloudflare-cdnjs", "jetpack-stats", "bootstrapcdn", "instagram",
    "google-analytics-4", "criteo", "taboola", "usercentrics", "jetpack-cdn", "wordpress-com",
    "google-cloud-storage", "google-maps", "stroeer", "jquery-cdn", "adobe-fonts", "amazon-s3",
    "fonts-self-hosted", "pinterest", "cleverpush", "github",
]

# Services the brief and the seed page name explicitly.
REQUIRED = [
    "google-analytics-4", "google-tag-manager", "google-fonts", "youtube", "youtube-nocookie", "google-recaptcha",
    "google-maps", "meta-pixel", "linkedin-insight", "microsoft-clarity", "hotjar", "livechat", "userlike",
    "matomo-self-hosted", "matomo-cloud", "etracker", "usercentrics", "cookiebot", "onetrust", "borlabs-cookie",
    "jsdelivr", "cloudflare-cdnjs", "unpkg", "cloudflare-web-analytics", "cloudflare", "trustpilot", "trusted-shops",
    "tiktok-pixel", "vimeo", "vg-wort", "infonline-ivw", "zendesk", "intercom", "hubspot", "tawk-to",
    "pinterest-tag", "criteo", "adobe-fonts", "google-ads", "google-adsense",
]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(DATA)


def all_facts(catalog):
    for s in catalog.services:
        for f in s.facts:
            yield s.id, f
    for c in catalog.companies.values():
        for f in c.facts:
            yield c.id, f


# ------------------------------------------------------------------------------------------ real catalog


def test_real_catalog_lints_clean():
    assert lint(DATA) == []


def test_catalog_is_frozen_and_indexed(catalog):
    service = catalog.by_id["livechat"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        service.name = "x"  # type: ignore[misc]
    assert catalog.company_of(service).id == "text-inc"
    assert len(catalog.services) >= 150
    assert len(catalog.by_id) == len(catalog.services)


def test_ids_unique_and_kebab_case(catalog):
    ids = [s.id for s in catalog.services]
    assert len(ids) == len(set(ids))
    assert all(vocab.ID_RE.match(i) for i in ids)
    assert all(vocab.ID_RE.match(c) for c in catalog.companies)


def test_every_company_and_parent_exists(catalog):
    for s in catalog.services:
        assert s.company in catalog.companies, s.id
    for c in catalog.companies.values():
        assert c.parent is None or c.parent in catalog.companies, c.id
        for acq in c.acquisitions:
            assert acq.acquirer in catalog.companies, c.id


def test_every_legal_fact_has_source_and_as_of(catalog):
    n = 0
    for owner, f in all_facts(catalog):
        if f.field in vocab.LEGAL_FACT_FIELDS:
            n += 1
            assert vocab.is_valid_source(f.source), (owner, f)
            assert vocab.ISO_DATE_RE.match(f.as_of), (owner, f)
            assert f.confidence in vocab.CONFIDENCE, (owner, f)
    assert n > 100


def test_signatures_compile_and_examples_match(catalog):
    assert catalog.signatures
    for sig in catalog.signatures.values():
        regex = sig.compile()
        assert regex.groups <= 1, sig.id
        if sig.example is not None:
            assert regex.search(sig.example), sig.id
    for sid in ("gtm-container-id", "ga4-measurement-id", "ua-property-id", "meta-pixel-init", "livechat-license",
                "hotjar-id", "matomo-paq", "userlike-widget", "usercentrics-settings-id", "cookiebot-cbid",
                "onetrust-domain-script", "etracker-secure-code", "clarity-project", "linkedin-partner-id",
                "tiktok-pixel"):
        assert sid in catalog.signatures


def test_signature_captures_the_id(catalog):
    m = catalog.signatures["gtm-container-id"].compile().search("…'dataLayer','GTM-K9ZX12');")
    assert m and m.group(1) == "GTM-K9ZX12"
    m = catalog.signatures["livechat-license"].compile().search("window.__lc.license = 8765432;")
    assert m and m.group(1) == "8765432"


def test_required_and_top_services_present(catalog):
    missing = [i for i in REQUIRED + TOP40 if i not in catalog.by_id]
    assert missing == []


def test_top40_have_editorial_texts_and_legal_facts(catalog):
    for sid in TOP40:
        s = catalog.by_id[sid]
        texts = dataclasses.asdict(s.editorial)
        assert all(len(t) > 40 for t in texts.values()), sid
        assert any(f.field in vocab.LEGAL_FACT_FIELDS for f in s.facts), sid


def test_company_chains(catalog):
    def chain(cid):
        return [c.id for c in catalog.parent_chain(cid)]

    assert chain("google-ireland") == ["google-ireland", "google-llc", "alphabet"]
    assert chain("meta-platforms-ireland") == ["meta-platforms-ireland", "meta-platforms-inc"]
    assert chain("linkedin-ireland") == ["linkedin-ireland", "linkedin-corp", "microsoft"]
    assert chain("hotjar-ltd") == ["hotjar-ltd", "contentsquare"]
    assert chain("text-inc") == ["text-inc", "text-sa"]
    assert catalog.companies["hotjar-ltd"].country == "MT"
    assert catalog.companies["contentsquare"].country == "FR"
    assert catalog.companies["usercentrics-gmbh"].country == "DE"
    assert catalog.companies["usercentrics-as"].country == "DK"
    assert catalog.companies["innocraft"].country == "NZ"
    assert catalog.by_id["cookiebot"].company == "usercentrics-as"
    assert catalog.by_id["matomo-cloud"].company == "innocraft"
    vimeo = catalog.companies["vimeo-inc"]
    assert vimeo.parent == "bending-spoons"
    assert [a.acquirer for a in vimeo.acquisitions] == ["bending-spoons"]
    for sid in ("matomo-self-hosted", "borlabs-cookie", "fonts-self-hosted"):
        assert catalog.by_id[sid].company == vocab.SITE_OPERATOR


def test_dpf_ids_only_where_sourced(catalog):
    ids = {c.id: c.dpf.participant_id for c in catalog.companies.values() if c.dpf.participant_id}
    assert ids == {"google-llc": "a2zt000000001L5AAI", "cloudflare-inc": "a2zt0000000GnZKAA0"}
    for c in catalog.companies.values():
        if c.dpf.status in ("active", "inactive"):
            assert c.dpf.confidence in ("V", "S"), c.id  # an [M] status must stay "unknown"


def test_memory_facts_are_never_recorded_as_verified(catalog):
    """Items marked [M] in legal-facts.md must carry confidence M (or be unknown)."""
    expect_m = {
        ("alphabet", "seat"), ("linkedin-ireland", "seat"), ("onetrust-llc", "seat"), ("vimeo-inc", "seat"),
        ("pinterest-europe", "seat"), ("pinterest-inc", "seat"), ("criteo-sa", "seat"), ("adobe-inc", "seat"),
        ("adobe-ireland", "seat"), ("tawk-to-inc", "seat"), ("hubspot-inc", "seat"), ("cloudflare-inc", "seat"),
        ("bytedance-ltd", "seat"), ("google-llc", "parent"), ("tiktok-technology-ltd", "parent"),
        ("zendesk-inc", "parent"),
    }
    for cid, field in expect_m:
        # what the research note held from memory stays M; a later fact may only upgrade it from a public page
        facts = [f for f in catalog.companies[cid].facts if f.field == field]
        noted = [f for f in facts if f.as_of == "2026-11-29"]
        assert noted and all(f.confidence == "M" for f in noted), (cid, field)
        assert all(vocab.is_public_url(f.source) for f in facts if f.confidence != "M"), (cid, field)
    # Google LLC's status has one owner, the DPF snapshot: the company file records only the participant id
    assert catalog.companies["google-llc"].dpf.status == "unknown" and not catalog.companies["google-llc"].dpf.checked_on
    for cid in ("text-inc", "tawk-to-inc"):  # no public DPF statement found
        assert catalog.companies[cid].dpf.status == "unknown", cid
    for cid in ("zendesk-inc", "intercom-inc", "hubspot-inc", "onetrust-llc"):  # the vendor's own statement, dated
        dpf = catalog.companies[cid].dpf
        assert dpf.status == "active" and dpf.checked_on and vocab.is_public_url(dpf.source), cid
        assert dpf.confidence in ("V", "S") and dpf.frameworks and dpf.coverage, cid
    for sid in ("youtube", "youtube-nocookie", "google-maps"):
        entity = [f for f in catalog.by_id[sid].facts if f.field == "contracting_entity"]
        assert entity and all(f.confidence == "M" for f in entity), sid
    assert catalog.companies["zendesk-inc"].acquisitions[0].confidence == "M"


def test_dated_roles(catalog):
    roles = {(f.valid_from, f.valid_to, f.value) for f in catalog.by_id["google-recaptcha"].facts if f.field == "role"}
    assert any(vf == "2026-04-02" and "processor" in v for vf, _vt, v in roles)
    assert catalog.by_id["google-recaptcha"].role == "processor"


@pytest.mark.parametrize("host,path,expected", [
    ("www.googletagmanager.com", "/gtm.js?id=GTM-ABCD", "google-tag-manager"),
    ("www.googletagmanager.com", "/ns.html?id=GTM-ABCD", "google-tag-manager"),
    ("www.googletagmanager.com", "/gtag/js?id=G-1A2B3C4D", "google-analytics-4"),
    ("www.googletagmanager.com", "/gtag/js?l=dataLayer&id=AW-123456789", "google-ads"),
    ("www.googletagmanager.com", "/gtag/js?id=UA-1234-1", "google-universal-analytics"),
    ("www.google-analytics.com", "/analytics.js", "google-universal-analytics"),
    ("region1.google-analytics.com", "/g/collect?v=2", "google-analytics-4"),
    ("www.google.com", "/recaptcha/api.js", "google-recaptcha"),
    ("www.gstatic.com", "/recaptcha/releases/abc/recaptcha__de.js", "google-recaptcha"),
    ("www.google.com", "/maps/embed?pb=xyz", "google-maps"),
    ("policies.google.com", "/privacy", "google-other"),
    ("www.youtube.com", "/embed/abc", "youtube"),
    ("www.youtube-nocookie.com", "/embed/abc", "youtube-nocookie"),
    ("connect.facebook.net", "/en_US/fbevents.js", "meta-pixel"),
    ("connect.facebook.net", "/de_DE/sdk.js", "facebook-social-plugins"),
    ("pagead2.googlesyndication.com", "/pagead/js/adsbygoogle.js", "google-adsense"),
    ("securepubads.g.doubleclick.net", "/tag/js/gpt.js", "google-ad-manager"),
    ("googleads.g.doubleclick.net", "/pagead/viewthroughconversion/1/", "google-ads"),
    ("cdnjs.cloudflare.com", "/ajax/libs/jquery/3.6.0/jquery.min.js", "cloudflare-cdnjs"),
    ("cdnjs.cloudflare.com", "/ajax/libs/cookieconsent2/3.0.3/cookieconsent.min.js", "cookieconsent-osano"),
    ("static.cloudflareinsights.com", "/beacon.min.js", "cloudflare-web-analytics"),
    ("cdn.livechatinc.com", "/tracking.js", "livechat"),
    ("cdn.matomo.cloud", "/example.matomo.cloud/matomo.js", "matomo-cloud"),
    ("www.example.de", "/wp-content/plugins/borlabs-cookie/js/borlabs-cookie.min.js", "borlabs-cookie"),
])
def test_matcher_splits_products(catalog, host, path, expected):
    service = catalog.match(host, path)
    assert service is not None and service.id == expected


def test_matcher_first_party_flag(catalog):
    assert catalog.match("www.example.de", "/piwik.js").id == "matomo-self-hosted"
    assert catalog.match("stats.other-company.de", "/piwik.js", first_party=False) is None
    assert catalog.match("unknown.example", "/x.js") is None


# ------------------------------------------------------------------------------------------ negative tests

VALID_COMPANY = {
    "id": "acme", "name": "Acme GmbH", "country": "DE", "parent": None,
    "dpf": {"participant_id": None, "status": "not_applicable", "checked_on": None, "source": "https://example.org/x",
            "confidence": "V"},
    "facts": [{"field": "seat", "value": "DE", "source": "https://acme.example/imprint", "as_of": "2026-01-01",
               "confidence": "V"}],
    "sources": ["https://acme.example/imprint"], "as_of": "2026-01-01",
}
VALID_SERVICE = {
    "id": "acme-chat", "name": "Acme Chat", "aliases": ["Acme"], "category": "chat", "company": "acme",
    "hosts": ["acme.example", "=cdn.acme-static.example"],
    "url_patterns": [{"host": "acme.example", "path": "^/chat/"}], "signatures": ["acme-id"],
    "cookies": [{"name": "acme_", "match": "prefix", "purpose": "functional", "lifetime": "1 year",
                 "source": "https://acme.example/cookies"}],
    "data_categories": ["chat_content"], "purposes": ["communication"],
    "consent": {"baseline": "required", "reason": "sets cookies"}, "role": "processor",
    "eu_hosting": {"value": "yes", "note": "Frankfurt"}, "self_host_alternative": {"value": False, "note": ""},
    "sets_cookies": "yes",
    "facts": [
        {"field": "role", "value": "processor", "source": "https://acme.example/dpa", "as_of": "2026-01-01",
         "confidence": "V"},
        {"field": "eu_hosting", "value": "Frankfurt", "source": "https://acme.example/dpa", "as_of": "2026-01-01",
         "confidence": "S"},
        {"field": "cookies", "value": "acme_*", "source": "https://acme.example/cookies", "as_of": "2026-01-01",
         "confidence": "V"},
    ],
    "sources": ["https://acme.example/dpa"], "as_of": "2026-01-01",
}
VALID_SIGNATURES = {"signatures": [{"id": "acme-id", "regex": r"acmeId\s*=\s*(\d+)", "description": "Acme id",
                                    "example": "acmeId = 42"}]}


def write_catalog(root: Path, services=None, companies=None, signatures=None) -> Path:
    (root / "services").mkdir(parents=True)
    (root / "companies").mkdir()
    for s in services if services is not None else [VALID_SERVICE]:
        (root / "services" / f"{s['id']}.yml").write_text(yaml.safe_dump(s), encoding="utf-8")
    for c in companies if companies is not None else [VALID_COMPANY]:
        (root / "companies" / f"{c['id']}.yml").write_text(yaml.safe_dump(c), encoding="utf-8")
    (root / "services" / "_signatures").mkdir()
    (root / "services" / "_signatures" / "10_rules.yml").write_text(yaml.safe_dump(signatures or VALID_SIGNATURES),
                                                                    encoding="utf-8")
    return root


def changed(base: dict, **updates) -> dict:
    out = json.loads(json.dumps(base))
    out.update(updates)
    return out


def test_minimal_catalog_is_clean(tmp_path):
    assert lint(write_catalog(tmp_path)) == []


def test_detects_duplicate_service_id(tmp_path):
    root = write_catalog(tmp_path)
    dup = changed(VALID_SERVICE, hosts=["other.example"])
    (root / "services" / "acme-chat-copy.yml").write_text(yaml.safe_dump(dup), encoding="utf-8")
    problems = lint(root)
    assert any("duplicate id 'acme-chat'" in p for p in problems), problems


def test_detects_missing_company(tmp_path):
    problems = lint(write_catalog(tmp_path, services=[changed(VALID_SERVICE, company="ghost-corp")]))
    assert any("company 'ghost-corp' does not exist" in p for p in problems), problems


def test_detects_parent_cycle(tmp_path):
    parent_fact = {"field": "parent", "value": "x", "source": "https://example.org/x", "as_of": "2026-01-01", "confidence": "M"}
    a = changed(VALID_COMPANY, id="a-co", parent="b-co", facts=VALID_COMPANY["facts"] + [parent_fact])
    b = changed(VALID_COMPANY, id="b-co", parent="a-co", facts=VALID_COMPANY["facts"] + [parent_fact])
    problems = lint(write_catalog(tmp_path, companies=[VALID_COMPANY, a, b]))
    assert any("parent cycle" in p for p in problems), problems


def test_detects_missing_parent(tmp_path):
    parent_fact = {"field": "parent", "value": "x", "source": "https://example.org/x", "as_of": "2026-01-01", "confidence": "M"}
    a = changed(VALID_COMPANY, parent="nobody", facts=VALID_COMPANY["facts"] + [parent_fact])
    problems = lint(write_catalog(tmp_path, companies=[a]))
    assert any("parent 'nobody' does not exist" in p for p in problems), problems


def test_detects_fact_without_source_or_date(tmp_path):
    facts = [dict(VALID_SERVICE["facts"][0], source=""), dict(VALID_SERVICE["facts"][1], as_of="June 2026"),
             VALID_SERVICE["facts"][2]]
    problems = lint(write_catalog(tmp_path, services=[changed(VALID_SERVICE, facts=facts)]))
    assert any("fact without source" in p for p in problems), problems
    assert any("is not an ISO date" in p for p in problems), problems


@pytest.mark.parametrize("updates,needle", [
    ({"category": "tracking"}, "category 'tracking'"),
    ({"id": "Acme_Chat"}, "not kebab-case"),
    ({"hosts": ["https://acme.example/"]}, "invalid host pattern"),
    ({"hosts": ["*.acme.example"]}, "invalid host pattern"),
    ({"url_patterns": [{"host": "acme.example", "path": "(unclosed"}]}, "does not compile"),
    ({"signatures": ["nope"]}, "signature 'nope' is not defined"),
    ({"purposes": ["marketing"]}, "purpose 'marketing'"),
    ({"data_categories": ["email"]}, "data category 'email'"),
    ({"consent": {"baseline": "maybe", "reason": "x"}}, "consent.baseline"),
    ({"role": "processor", "facts": []}, "has no backing fact"),
    ({"hosts": [], "url_patterns": [], "signatures": []}, "can never be detected"),
    ({"unexpected": 1}, "unknown key 'unexpected'"),
])
def test_detects_bad_service_values(tmp_path, updates, needle):
    problems = lint(write_catalog(tmp_path, services=[changed(VALID_SERVICE, **updates)]))
    assert any(needle in p for p in problems), problems


def test_detects_host_claimed_twice(tmp_path):
    other = changed(VALID_SERVICE, id="acme-other", url_patterns=[])
    problems = lint(write_catalog(tmp_path, services=[VALID_SERVICE, other]))
    assert any("claimed by both" in p for p in problems), problems


def test_detects_signature_example_mismatch(tmp_path):
    sigs = {"signatures": [dict(VALID_SIGNATURES["signatures"][0], example="no id here")]}
    problems = lint(write_catalog(tmp_path, signatures=sigs))
    assert any("example does not match" in p for p in problems), problems


def test_detects_bad_dpf(tmp_path):
    bad = changed(VALID_COMPANY, dpf={"participant_id": "12345", "status": "certified", "checked_on": "soon",
                                      "source": "", "confidence": "X"})
    problems = lint(write_catalog(tmp_path, companies=[bad]))
    for needle in ("participant_id", "dpf.status 'certified'", "dpf.checked_on", "dpf.confidence"):
        assert any(needle in p for p in problems), (needle, problems)


def test_load_catalog_raises_with_all_problems(tmp_path):
    root = write_catalog(tmp_path, services=[changed(VALID_SERVICE, company="ghost-corp", category="x")])
    with pytest.raises(CatalogError) as err:
        load_catalog(root)
    assert len(err.value.problems) >= 2


def test_yaml_booleans_for_yes_no_fields(tmp_path):
    root = write_catalog(tmp_path)
    path = root / "services" / "acme-chat.yml"
    path.write_text(path.read_text().replace("sets_cookies: 'yes'", "sets_cookies: yes"), encoding="utf-8")
    assert read_catalog(root).by_id["acme-chat"].sets_cookies == "yes"
    assert not [p for p in lint(root) if "duplicate" in p]


def test_lint_reports_missing_folder(tmp_path):
    assert lint(tmp_path / "nowhere")


# ------------------------------------------------------------------------------------------ reference data


def make_tarball(path: Path, member: str, payload: bytes) -> None:
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))


def fake_entry(tmp_path: Path, payload: bytes = b'[{"name": "X", "domains": ["*.x.example"]}]'):
    src = tmp_path / "src"
    src.mkdir()
    tgz = src / "fake-pkg-1.0.0.tgz"
    make_tarball(tgz, "package/data.json", payload)
    entry = refdata.LockEntry(name="fake-pkg", version="1.0.0", tarball=tgz.name, file="package/data.json",
                              sha256=refdata.sha256_file(tgz), licence="MIT", data_date="2026-01-01")
    return entry, tgz


def test_fetch_runs_npm_pack_and_verifies(tmp_path):
    entry, tgz = fake_entry(tmp_path)
    calls = []

    def runner(cmd, cwd, **kwargs):
        calls.append(cmd)
        (Path(cwd) / entry.tarball).write_bytes(tgz.read_bytes())
        return type("Result", (), {"returncode": 0, "stderr": ""})()

    cache = tmp_path / "cache"
    path = refdata.fetch(entry, cache, runner=runner)
    assert calls == [["npm", "pack", "fake-pkg@1.0.0", "--silent"]]
    assert path == cache / entry.tarball
    data = refdata.extract(entry, path, cache)
    assert json.loads(data.read_text())[0]["name"] == "X"
    refdata.fetch(entry, cache, runner=lambda *a, **k: pytest.fail("must use the cache"))


def test_fetch_rejects_checksum_mismatch(tmp_path):
    entry, tgz = fake_entry(tmp_path)
    bad = dataclasses.replace(entry, sha256="0" * 64)

    def runner(cmd, cwd, **kwargs):
        (Path(cwd) / entry.tarball).write_bytes(tgz.read_bytes())
        return type("Result", (), {"returncode": 0, "stderr": ""})()

    with pytest.raises(refdata.RefdataError, match="sha256 mismatch"):
        refdata.fetch(bad, tmp_path / "cache", runner=runner)
    assert not (tmp_path / "cache" / entry.tarball).exists()


def test_fetch_reports_npm_failure(tmp_path):
    entry, _ = fake_entry(tmp_path)

    def runner(cmd, cwd, **kwargs):
        return type("Result", (), {"returncode": 1, "stderr": "E404 not found"})()

    with pytest.raises(refdata.RefdataError, match="npm pack failed"):
        refdata.fetch(entry, tmp_path / "cache", runner=runner)


def test_lock_file_pins_the_catalog_packages():
    lock = refdata.read_lock()
    assert {"third-party-web", "@slashgear/gdpr-cookie-scanner"} <= set(lock)
    tpw = lock["third-party-web"]
    assert (tpw.version, tpw.file, tpw.licence) == ("0.30.0", "package/dist/entities.json", "MIT")
    ocd = lock["@slashgear/gdpr-cookie-scanner"]
    assert ocd.version == "3.8.2" and ocd.file == "package/dist/data/open-cookie-database.json"
    assert "Apache-2.0" in (ocd.data_licence or "")
    for entry in lock.values():
        assert re.fullmatch(r"[0-9a-f]{64}", entry.sha256)


def test_no_banned_sources_anywhere():
    banned = re.compile(r"ghostery|trackerdb|tracker[ -]?radar", re.IGNORECASE)
    for path in list((DATA / "services").glob("*.yml")) + list((DATA / "companies").glob("*.yml")):
        assert not banned.search(path.read_text(encoding="utf-8")), path
    for path in (ROOT / "pipelines" / "catalog").glob("*.py"):
        assert not banned.search(path.read_text(encoding="utf-8")), path


def _cached_or_skip():
    lock = refdata.read_lock()
    paths = {name: refdata.cached_tarball(entry) for name, entry in lock.items()}
    missing = [str(p.relative_to(ROOT)) for p in paths.values() if not p.is_file()]
    if missing:
        msg = ("reference tarballs not cached; fetch them with `servicerisk refdata` (needs npm): missing "
               + ", ".join(missing))
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + " (CI must fetch them: .ci/run -> make test -> make refdata)")
        pytest.skip(msg)
    return lock, paths


def test_cached_refdata_checksums_and_contents(catalog):
    lock, paths = _cached_or_skip()
    for name, entry in lock.items():
        refdata.verify(paths[name], entry)
    tpw_entry = lock["third-party-web"]
    entities = refdata.load_third_party_web(refdata.extract(tpw_entry, paths["third-party-web"]))
    assert len(entities) >= 2000
    assert all(e["company"] for e in entities)
    ocd_entry = lock["@slashgear/gdpr-cookie-scanner"]
    cookies = refdata.load_open_cookie_database(refdata.extract(ocd_entry, paths["@slashgear/gdpr-cookie-scanner"]))
    assert len(cookies) >= 2000
    assert {"_ga", "__lc_cid", "CookieConsent"} <= {c["cookie"] for c in cookies}


def test_long_tail_never_overrides_curated(catalog):
    lock, paths = _cached_or_skip()
    entities = refdata.load_third_party_web(paths["third-party-web"])
    full = longtail.with_long_tail(catalog, entities)
    assert len(full.services) > len(catalog.services) + 1500
    assert validate(full) == []
    tail = [s for s in full.services if s.id.startswith("tpw-")]
    assert tail and all(s.company in full.companies for s in tail)
    assert all(s.category in vocab.CATEGORIES for s in tail)
    for s in catalog.services:
        for pattern in s.hosts:
            host = pattern.lstrip("=")
            assert full.match(host, "/").id == catalog.match(host, "/").id, host
    assert full.match("cdn.livechatinc.com", "/tracking.js").id == "livechat"
    mixpanel = full.match("cdn.mxpnl.com", "/libs/mixpanel-2-latest.min.js")  # not curated: the long tail has it
    assert mixpanel is not None and mixpanel.id.startswith("tpw-")


def test_signature_files_merge_and_an_id_in_two_files_is_a_problem(tmp_path):
    root = write_catalog(tmp_path)
    folder = root / "services" / "_signatures"
    other = {"signatures": [{"id": "other-id", "regex": r"otherId=(\d+)", "description": "Other id",
                             "example": "otherId=7"}]}
    (folder / "20_more.yml").write_text(yaml.safe_dump(other), encoding="utf-8")
    catalog = read_catalog(root)
    assert list(catalog.signatures) == ["acme-id", "other-id"]
    assert catalog.signatures["other-id"].path == "services/_signatures/20_more.yml"
    assert not [p for p in lint(root) if "duplicate" in p]
    (folder / "30_again.yml").write_text(yaml.safe_dump(VALID_SIGNATURES), encoding="utf-8")
    assert ("signatures: duplicate id 'acme-id' in services/_signatures/10_rules.yml and "
            "services/_signatures/30_again.yml") in lint(root)
    (folder / "30_again.yml").write_text("rules: []\n", encoding="utf-8")
    assert "services/_signatures/30_again.yml: must contain a 'signatures' list" in read_catalog(root).load_problems
