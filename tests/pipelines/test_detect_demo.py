"""End to end on the demo web: crawl it through the local proxy (every page of every site), build the warehouse
(where matching runs), and compare its detections per site with the demo's ground truth (what each template
embeds)."""

from __future__ import annotations

import json

import pytest

from crawler.observe.native import _native
from devweb.dns import LocalDNS
from devweb.dns.demo import demo_zone
from devweb.web.demo import DEMO_DOMAINS, demo_domain_list_text, demo_ground_truth, demo_web
from devweb.web.server import LocalWeb
from pipelines.catalog.coverage import COMPANY_ONLY, NAMED, NOT_MENTIONED, SELF_HOSTED
from pipelines.catalog.load import load_catalog
from pipelines.warehouse import connect
from pipelines.warehouse.build import build
from pipelines.warehouse.connect import fetch_dicts
from tests.conftest import run_cli

# demo web keys -> catalog ids (written from the catalog files, not from detector output)
DEMO_TO_CATALOG = {
    "gtm": "google-tag-manager", "ga4": "google-analytics-4", "meta_pixel": "meta-pixel", "livechat": "livechat",
    "userlike": "userlike", "hotjar": "hotjar", "matomo_self": "matomo-self-hosted", "matomo_cloud": "matomo-cloud",
    "etracker": "etracker", "usercentrics": "usercentrics", "cookiebot": "cookiebot", "onetrust": "onetrust",
    "borlabs": "borlabs-cookie", "google_fonts": "google-fonts", "fonts_self": "fonts-self-hosted",
    "youtube": "youtube", "youtube_nocookie": "youtube-nocookie", "vimeo": "vimeo", "google_maps": "google-maps",
    "recaptcha": "google-recaptcha", "jsdelivr": "jsdelivr", "cdnjs": "cloudflare-cdnjs", "unpkg": "unpkg",
    "cloudflare_insights": "cloudflare-web-analytics", "trustpilot": "trustpilot", "trusted_shops": "trusted-shops",
    "vgwort": "vg-wort", "ivw": "infonline-ivw", "linkedin": "linkedin-insight", "clarity": "microsoft-clarity",
    "tiktok": "tiktok-pixel",
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    (tmp / "domains.txt").write_text(demo_domain_list_text(), encoding="utf-8")
    with LocalWeb(demo_web(month=1)) as web, LocalDNS(demo_zone()) as dns:
        res = run_cli(["crawl", str(tmp / "domains.txt"), "--out", str(tmp / "out"), "--nameserver",
                       dns.nameserver, "--no-progress", "--no-summary", "--max-pages", "15"], env=web.proxy_env())
    assert res.returncode == 0, res.stderr[-2000:]
    assert not build(tmp / "out").failed_assertions
    return tmp / "out" / "warehouse.duckdb"


def test_manifest_records_which_walk_observed_the_pages(warehouse):
    (manifest_path,) = (warehouse.parent / "raw").glob("*/manifest.json")
    walk = json.loads(manifest_path.read_text(encoding="utf-8"))["observe"]
    assert walk["native_walk"] is (_native() is not None)
    assert sum(walk["pages_by_walk"].values()) > len(DEMO_DOMAINS)
    assert set(walk["pages_by_walk"]) == {"native" if walk["native_walk"] else "python"}


def _rows(warehouse, sql: str) -> list[dict]:
    con = connect(warehouse)
    try:
        return fetch_dicts(con, sql)
    finally:
        con.close()


@pytest.fixture(scope="module")
def detections(warehouse) -> list[dict]:
    return _rows(warehouse, "SELECT input_domain, service_id, kind, evidence, seen_in FROM detections")


def test_mapping_covers_every_demo_service():
    catalog = load_catalog()
    for key, sid in DEMO_TO_CATALOG.items():
        assert sid in catalog.by_id, (key, sid)


def test_detected_services_equal_ground_truth_per_site(detections):
    found: dict[str, set[str]] = {}
    for row in detections:
        found.setdefault(row["input_domain"], set()).add(row["service_id"])
    truth = demo_ground_truth(1)
    mismatches = {}
    for domain in DEMO_DOMAINS:
        expected = {DEMO_TO_CATALOG[k] for k in truth[domain]["services"]}
        if truth[domain]["server"] == "cloudflare":
            expected.add("cloudflare")  # the site itself is served through Cloudflare
        got = found.get(domain, set())
        if expected != got:
            mismatches[domain] = {"missing": sorted(expected - got), "extra": sorted(got - expected)}
    assert not mismatches, mismatches


def test_gated_and_encoded_embeds_count_and_loads_without_gate_is_right(warehouse):
    """The demo's consent-gated and encoded embeds (DEMO_EMBEDDINGS) are embedded services of their sites, not
    loaded without a gate; every other service of every site is. Prevalence counts them all, the second share
    only the sites loading the service without a gate."""
    truth = demo_ground_truth(1)
    got = {(r["site_input"], r["service_id"]): r for r in _rows(
        warehouse, "SELECT site_input, service_id, embeddings, loads_without_gate FROM site_services")}
    held = [(d, k, e) for d in DEMO_DOMAINS for k, e in truth[d]["embeddings"].items() if e != "direct"]
    assert {e for _d, _k, e in held} == {"gated", "encoded"} and len(held) >= 5
    for domain, key, embedding in held:
        row = got[(domain, DEMO_TO_CATALOG[key])]
        assert (row["embeddings"], row["loads_without_gate"]) == ([embedding], False), (domain, key)
    wrong = [(d, k) for d in DEMO_DOMAINS for k in truth[d]["loads_without_gate"]
             if not got[(d, DEMO_TO_CATALOG[k])]["loads_without_gate"]]
    assert not wrong, wrong
    services = {r["service_id"]: (r["sites"], r["sites_without_gate"]) for r in _rows(
        warehouse, "SELECT service_id, sites, sites_without_gate FROM services")}
    for key, sid in DEMO_TO_CATALOG.items():
        sites = [d for d in DEMO_DOMAINS if key in truth[d]["services"]]
        if sites:
            loading = [d for d in sites if key in truth[d]["loads_without_gate"]]
            assert services[sid] == (len(sites), len(loading)), key


def test_every_detection_has_evidence(detections):
    assert detections
    for row in detections:
        assert row["kind"] in {"host", "url_pattern", "path", "signature", "cookie"}
        assert row["evidence"] and row["seen_in"] in {"html", "header", "cookie"}


def test_policy_statuses_follow_what_each_policy_declares(warehouse):
    """The warehouse's policy check on every demo site: a service the site's privacy policy declares (ground truth)
    comes out named; an undeclared one never does (self hosted on the site's own servers, else company only or
    not mentioned)."""
    truth = demo_ground_truth(1)
    rows = _rows(warehouse, "SELECT p.site_input, p.service_id, p.status, s.company_id FROM site_service_policy p "
                            "LEFT JOIN _services s USING (service_id)")
    assert {r["site_input"] for r in rows} >= {d for d in DEMO_DOMAINS if truth[d]["services"]}
    known = set(DEMO_TO_CATALOG.values())  # not "cloudflare": the proxy in front of a site is no template service
    wrong = []
    for r in (r for r in rows if r["service_id"] in known):
        declared = {DEMO_TO_CATALOG[k] for k in truth[r["site_input"]]["declared"]}
        if r["service_id"] in declared:
            expected = {NAMED}
        elif r["company_id"] == "site-operator":
            expected = {SELF_HOSTED}
        else:
            expected = {COMPANY_ONLY, NOT_MENTIONED}
        if r["status"] not in expected:
            wrong.append((r["site_input"], r["service_id"], r["status"]))
    assert not wrong, wrong
    assert {NAMED, COMPANY_ONLY, NOT_MENTIONED, SELF_HOSTED} <= {r["status"] for r in rows}
