"""The KB page and the scan report show both shares: embedded on X % of sites, of which loaded without a
consent gate on Y % (German first), how the site embeds each service, and the KB index lists the long tail."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from pipelines import glossary
from pipelines.catalog.load import load_catalog
from pipelines.publish import page_data as pd
from pipelines.publish.render import render_index_html, render_service_html, render_service_md
from pipelines.scan.render import render_html
from pipelines.scan.report import scan_data
from pipelines.scan.texts import scan_label
from pipelines.warehouse import connect
from pipelines.warehouse.build import build
from tests.pipelines.test_warehouse_embedding import RUN, rows
from tests.pipelines.warehouse_fixture import write_run_rows

PROVENANCE = {"crawled_at": "2026-11-01", "enriched_at": None, "geoip": None, "catalog": None}


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    out = tmp_path_factory.mktemp("publish-embedding")
    write_run_rows(out, RUN, rows(), fixture="embedding")
    assert not build(out).failed_assertions
    con = connect(out / "warehouse.duckdb")
    yield con
    con.close()


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.mark.parametrize(("lang", "sentence"), [
    ("de", "eingebunden auf 100,0 % der Websites, davon ohne Einwilligungssperre geladen auf 40,0 % (2/5;"),
    ("en", "embedded on 100.0 % of sites, of which loaded without a consent gate on 40.0 % (2/5;"),
])
def test_service_page_shows_both_shares(con, catalog, lang, sentence):
    page = pd.service_page_data(con, catalog, "hotjar", lang)
    prev = page["prevalence"]
    assert (prev["sites"], prev["sites_without_gate"], prev["share_without_gate"]) == (5, 2, pytest.approx(0.4))
    assert prev["ci_low_without_gate"] < 0.4 < prev["ci_high_without_gate"]
    assert sentence in render_service_html(page)
    assert sentence in render_service_md(page)


@pytest.mark.parametrize("lang", ["de", "en"])
def test_index_lists_the_unclaimed_domains(con, catalog, lang):
    data = pd.index_data(con, catalog, lang)
    assert [(d["registrable_domain"], d["sites"]) for d in data["unclaimed"]] == [("smallvendor.io", 3)]
    html = render_index_html(data)
    assert 'id="unclaimed"' in html and "smallvendor.io" in html and "cdn.smallvendor.io" in html


@pytest.mark.parametrize(("site", "lang", "embedding", "loads"), [
    ("gated-b.de", "de", "gated", "nein"),
    ("config-d.de", "de", "config", "ja"),
    ("encoded-c.de", "en", "encoded", "no"),
])
def test_scan_report_says_how_the_site_embeds_each_service(con, catalog, site, lang, embedding, loads):
    data = scan_data(con, catalog, run_id=RUN, site_input=site, provenance=PROVENANCE)
    hotjar = next(s for s in data["services"] if s["service_id"] == "hotjar")
    assert hotjar["loads_without_gate"] is (loads in ("ja", "yes"))
    html = render_html(data, lang)
    cell = lxml_html.fromstring(html).xpath(f"//tr[@id='svc-hotjar']/td[@data-label='{scan_label(lang, 'embedding')}']")
    embedded = glossary.label(lang, "embedding", embedding)
    assert " ".join(" ".join(cell[0].itertext()).split()) == f"{embedded} {scan_label(lang, 'without_gate')}: {loads}"
    without = 1 if loads in ("ja", "yes") else 0
    assert (f"1 Dienst(e) eingebunden, davon {without} ohne Einwilligungssperre geladen." if lang == "de"
            else f"1 service(s) embedded, of which {without} loaded without a consent gate.") in html


def test_scan_lists_unclaimed_hosts_by_the_domains_rule(con, catalog):
    data = scan_data(con, catalog, run_id=RUN, site_input="gated-b.de", provenance=PROVENANCE)
    # the site's own static domain is not another company's host
    assert [h["host"] for h in data["third_party_hosts"]] == ["widget.smallvendor.io"]
