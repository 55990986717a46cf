"""Page-data functions of the knowledge base, checked as dicts on a tiny two-run warehouse."""

from __future__ import annotations

import pytest

from pipelines import glossary
from pipelines.catalog.load import load_catalog
from pipelines.publish import explain, sections, sources
from pipelines.publish import page_data as pd
from pipelines.publish.changes import changes_data
from pipelines.risk.model import DISCLAIMER
from pipelines.warehouse import connect
from tests.pipelines.test_publish_fixture import HOSTILE_COOKIES, PREV_RUN, RUN, write_publish_runs


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    warehouse = write_publish_runs(tmp_path_factory.mktemp("publish-wh"))
    c = connect(warehouse)
    yield c
    c.close()


SECTION_KEYS = {"what", "why", "data", "consent", "legal_basis", "ip", "location", "company", "prevalence",
                "privacy_policy", "why_consent", "conclusion", "options", "sources", "as_of", "disclaimer"}


def test_run_info(con):
    # each fixture run starts on the day its id says (the day its assessment is made on)
    assert sections.run_info(con) == {"run_id": RUN, "run_date": f"{RUN[:4]}-{RUN[4:6]}-{RUN[6:8]}", "prev_run_id": PREV_RUN,
                                "prev_run_date": f"{PREV_RUN[:4]}-{PREV_RUN[4:6]}-{PREV_RUN[6:8]}",
                                "panel": {"name": None, "list_checksum": "000000000000"}}


@pytest.mark.parametrize("lang", ["de", "en"])
def test_service_page_has_every_section(con, catalog, lang):
    page = pd.service_page_data(con, catalog, "hotjar", lang)
    assert SECTION_KEYS <= set(page)
    assert page["lang"] == lang and page["name"] == "Hotjar" and page["category"] == "session-replay"
    assert page["disclaimer"] == DISCLAIMER[lang]
    assert page["ip"] == glossary.text(lang, "ip_text")
    assert "IP" in page["ip"] and page["ip"] != "ip_text"


def test_editorial_text_comes_only_from_the_catalog(con, catalog):
    ed = catalog.by_id["hotjar"].editorial
    for lang in ("de", "en"):
        page = pd.service_page_data(con, catalog, "hotjar", lang)
        assert page["what"] == (getattr(ed, f"what_{lang}") or None)
        assert page["why"] == (getattr(ed, f"why_{lang}") or None)


def test_service_data_section(con, catalog):
    page = pd.service_page_data(con, catalog, "hotjar", "en")
    data = page["data"]
    assert data["categories"] == list(catalog.by_id["hotjar"].data_categories)
    hjid = next(c for c in data["cookies"] if c["name"] == "_hjid")
    assert hjid == {"name": "_hjid", "match": "exact", "purpose": "analytics", "lifetime": "365 days",
                    "source": hjid["source"]}
    # lifetime "unknown" in the catalog stays unknown (None), it is not invented
    assert next(c for c in data["cookies"] if c["name"] == "_hjLocalStorageTest")["lifetime"] is None
    # crawled cookie names are attributed by the catalog's exact/prefix entries, verbatim
    assert data["observed_cookies"] == sorted(HOSTILE_COOKIES + ["_hjid"])
    assert data["tracking"]["sets_cookies"] == "yes"


def test_consent_section_from_service_risk(con, catalog):
    risk = pd.service_page_data(con, catalog, "hotjar", "de")["consent"]
    row = con.execute("SELECT consent_required, band, risk_score, reasons, to_check FROM service_risk "
                      "WHERE service_id = 'hotjar'").fetchone()
    assert (risk["consent_required"], risk["band"], risk["score"]) == row[:3]
    assert [r["code"] for r in risk["reasons"]] == list(row[3])
    assert risk["to_check"] == list(row[4])
    assert {f["code"] for f in risk["factors"]} >= {"F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8"}
    assert all(f["evidence"] and f["items"] for f in risk["factors"])
    # the stored structured evidence renders to the stored English line, and to German from the same items
    f1 = next(f for f in risk["factors"] if f["code"] == "F1")
    items = [glossary.Item.from_dict(i) for i in f1["items"]]
    assert glossary.render("en", items) == f1["evidence"]
    assert glossary.render("de", items).startswith("Katalog: setzt ")
    # the eight conditions, each with a status; Hotjar's cookies break (2), its EU edge IP shortening meets (5)
    conds = {c["number"]: c for c in risk["conditions"]}
    assert sorted(conds) == list(range(1, 9))
    assert {c["status"] for c in conds.values()} <= {"met", "not_met", "check"}
    assert conds[2]["status"] == "not_met" and [f["code"] for f in conds[2]["factors"]] == ["F1"]
    assert conds[5]["status"] == "met" and conds[8]["status"] == "check" and conds[8]["checks"]


def test_location_not_measured_is_not_invented(con, catalog):
    loc = pd.service_page_data(con, catalog, "hotjar", "en")["location"]
    # no enrichment in the fixture: the country is unknown and no network is listed
    assert loc["measured_countries"] == []
    assert loc["networks"] == []
    assert all(c["country"] is None for c in loc["countries"])


def test_company_section(con, catalog):
    company = pd.service_page_data(con, catalog, "hotjar", "en")["company"]
    assert company["id"] == "hotjar-ltd" and company["country"] == "MT"
    assert [c["id"] for c in company["chain"]] == [c.id for c in catalog.parent_chain("hotjar-ltd")]
    assert company["us_jurisdiction"] is catalog.us_jurisdiction("hotjar-ltd")
    assert company["dpf"]["status"] == "not_applicable"


def test_prevalence_and_trend(con, catalog):
    prev = pd.service_page_data(con, catalog, "hotjar", "en")["prevalence"]
    assert (prev["sites"], prev["sites_total"]) == (1, 3)
    assert prev["share"] == pytest.approx(1 / 3)
    assert prev["ci_low"] < prev["share"] < prev["ci_high"]
    assert [s["slice"] for s in prev["rank_buckets"]] == ["top1k"]
    assert prev["trend"]["movement"] == "new" and prev["trend"]["prev_share"] == 0


def test_policy_coverage_and_its_change(con, catalog):
    """From the fixture's policy texts: shop-a.de's names Google Analytics and otherwise only "Google", blog-b.de's
    names Hotjar, clean-c.at has none. The previous run (month 2) adds Google Fonts on clean-c.at, drops Hotjar."""
    ga = pd.service_page_data(con, catalog, "google-analytics-4", "de")["policy"]
    assert (ga["measured"], ga["sites_named"], ga["sites_with_policy"], ga["share_named"]) == (True, 1, 1, 1.0)
    assert ga["prev_share_named"] == 1.0 and ga["named_movement"] == "stable"
    assert ga["share_named_ci_low"] < 1.0 == ga["share_named_ci_high"]
    fonts = pd.service_page_data(con, catalog, "google-fonts", "en")["policy"]
    assert (fonts["sites_company_only"], fonts["share_named"], fonts["share_recipient_named"]) == (1, 0.0, 1.0)
    assert fonts["sites_without_policy"] == 0 and fonts["prev_share_named"] == 0.0
    hotjar = pd.service_page_data(con, catalog, "hotjar", "en")["policy"]
    assert hotjar["share_named"] == 1.0 and hotjar["prev_share_named"] is None  # not seen in the previous run
    assert hotjar["named_movement"] == "new"
    assert pd.service_page_data(con, catalog, "livechat", "de")["policy"] == {"measured": False, "sites": None}
    matomo = pd.service_page_data(con, catalog, "matomo-self-hosted", "de")["policy"]
    assert matomo["self_hosted_service"] is True and matomo["share_named"] is None  # no third party to name


def test_conclusion_follows_the_verdict(con, catalog):
    # Hotjar is a processor (issue 15): its visitor ids serve the site only, so C2 (cross-site identifier) is no
    page = pd.service_page_data(con, catalog, "hotjar", "en")
    assert page["conclusion"].startswith("By this assessment Hotjar needs consent before it is loaded. Risk band: "
                                         "medium (35 of 100 points).")
    assert [w["code"] for w in page["why_consent"]] == ["C1", "C3"]
    assert page["options"][0] == "after_consent" and page["options"][-1] == "document"
    assert "keine Einstufung" in explain.conclusion("de", "X", None, [])
    text = explain.conclusion("en", "X", {"consent_required": "likely", "band": "medium", "score": 25,
                                     "recipient": {"name": "X Inc.", "country": "US", "dpf_status": "active"}}, ["US"])
    assert "likely needs consent" in text and "DPF status: active" in text and "United States" in text
    assert "USA" in explain.conclusion("de", "X", {"consent_required": "yes", "band": "high", "score": 45}, ["US"])


def test_sources_and_as_of(con, catalog):
    page = pd.service_page_data(con, catalog, "hotjar", "en")
    urls = [s["url"] for s in page["sources"] if s["url"]]
    assert "https://help.hotjar.com/" in urls
    assert all(s["text"] for s in page["sources"])
    # one entry per page, however often and however spelled (www., trailing slash) the catalog cites it
    keys = [sources._url_key(u) for u in urls]
    assert len(keys) == len(set(keys))
    # datasets from pinned packages have no link; nothing internal is a source
    datasets = [s for s in page["sources"] if s["dataset"]]
    assert datasets and all(s["url"] is None for s in datasets)
    assert not [s for s in page["sources"] if s["text"].startswith("doc:")]
    assert {"tdddg25", "gdpr", "breyer"} <= {s["legal"] for s in page["sources"]}
    assert page["as_of"]["run_id"] == RUN and page["as_of"]["catalog"] == catalog.by_id["hotjar"].as_of


def test_unknown_service_raises(con, catalog):
    with pytest.raises(KeyError):
        pd.service_page_data(con, catalog, "no-such-service", "de")


def test_company_page(con, catalog):
    page = pd.company_page_data(con, catalog, "hotjar-ltd", "en")
    assert page["name"] == "Hotjar Ltd" and page["country"] == "MT"
    assert [s["service_id"] for s in page["services"]] == ["hotjar"]
    assert page["reach"] == pytest.approx(1 / 3)
    assert page["facts"] == [] or all(f["source"] for f in page["facts"])


def test_index_rows(con, catalog):
    rows = pd.index_data(con, catalog, "de")["rows"]
    assert [r["service_id"] for r in rows] == sorted(
        sections.service_ids(con), key=lambda s: (-next(r["share"] for r in rows if r["service_id"] == s), s))
    hotjar = next(r for r in rows if r["service_id"] == "hotjar")
    assert {k: hotjar[k] for k in ("name", "category", "consent_required", "band")} == {
        "name": "Hotjar", "category": "session-replay", "consent_required": "yes", "band": "medium"}  # processor


def test_changes(con, catalog):
    data = changes_data(con, catalog)
    assert (data["run_id"], data["prev_run_id"]) == (RUN, PREV_RUN)
    assert {"service_id": "hotjar", "kind": "share", "movement": "new", "from": 0.0,
            "to": pytest.approx(1 / 3)} in data["changes"]
    cookies = next(c for c in data["changes"] if c["kind"] == "cookies")
    assert cookies["service_id"] == "hotjar" and set(HOSTILE_COOKIES) <= set(cookies["cookies"])
    assert not any(c["kind"] == "dpf" for c in data["changes"])


def test_methodology():
    page = pd.methodology_data("en")
    assert [f["code"] for f in page["factors"]] == [f"F{i}" for i in range(1, 9)]
    assert page["bands"][0] == {"band": "low", "from": 0, "to": 19} and page["disclaimer"] == DISCLAIMER["en"]
    assert [c["number"] for c in page["conditions"]] == list(range(1, 9))
