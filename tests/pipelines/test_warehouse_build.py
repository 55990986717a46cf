"""Golden numbers on a tiny recorded run, idempotent and order-independent loading, assertions, CLI access."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from pipelines.warehouse.build import build
from tests.conftest import run_cli
from tests.pipelines.warehouse_fixture import q, wilson, write_tiny_run

RUN1 = "20261101T120000Z-aaaaaa"
RUN2 = "20261201T120000Z-bbbbbb"


@pytest.fixture()
def one_run(tmp_path):
    write_tiny_run(tmp_path, RUN1, month=1)
    report = build(tmp_path)
    assert report.loaded == [RUN1] and not report.failed_assertions, report
    return tmp_path / "warehouse.duckdb"


def test_sites_mart_golden(one_run):
    rows = q(one_run, "SELECT site_input, outcome, rank_bucket, cctld, third_party_hosts, services FROM sites "
                      "ORDER BY site_input")
    assert rows == [
        ("blog-b.de", "ok", "top1k", "de", 2, 3),       # hotjar + (gated) facebook host; hotjar, matomo, pixel
        ("clean-c.at", "ok", "top1k", "at", 0, 0),
        ("dead-d.de", "dns_error", "top1k", "de", 0, 0),
        ("shop-a.de", "ok", "top1k", "de", 2, 3),       # googletagmanager + fonts.googleapis; GTM, GA4, Fonts
    ]


def test_services_mart_golden(one_run):
    rows = q(one_run, "SELECT service_id, sites, sites_total, share, share_ci_low, share_ci_high, sites_without_gate, "
                      "share_without_gate, share_without_gate_ci_low, share_without_gate_ci_high FROM services "
                      "ORDER BY service_id")
    expected_ids = ["google-analytics-4", "google-fonts", "google-tag-manager", "hotjar", "matomo-self-hosted",
                    "meta-pixel"]
    assert [r[0] for r in rows] == expected_ids  # the consent-gated Meta Pixel is embedded too
    lo, hi = wilson(1, 3)
    for sid, sites, total, share, ci_low, ci_high, without_gate, share_wg, wg_low, wg_high in rows:
        assert (sites, total) == (1, 3)
        assert share == pytest.approx(1 / 3, abs=1e-12)
        assert ci_low == pytest.approx(lo, abs=1e-12) and ci_high == pytest.approx(hi, abs=1e-12)
        # the pixel only sits in a text/plain script: embedded, but nowhere loaded without the gate (Matomo's
        # _paq snippet is its loader and runs on load)
        k = 0 if sid == "meta-pixel" else 1
        assert without_gate == k and share_wg == pytest.approx(k / 3, abs=1e-12)
        assert (wg_low, wg_high) == pytest.approx(wilson(k, 3), abs=1e-12)


def test_site_services_evidence(one_run):
    rows = q(one_run, "SELECT site_input, service_id, evidence_kinds, embeddings, loads_without_gate FROM site_services "
                      "ORDER BY 1, 2")
    assert rows == [
        ("blog-b.de", "hotjar", ["host"], ["direct"], True),
        ("blog-b.de", "matomo-self-hosted", ["signature"], ["config"], True),
        ("blog-b.de", "meta-pixel", ["url_pattern"], ["gated"], False),
        ("shop-a.de", "google-analytics-4", ["url_pattern"], ["direct"], True),
        ("shop-a.de", "google-fonts", ["host"], ["direct"], True),
        ("shop-a.de", "google-tag-manager", ["url_pattern"], ["direct"], True),
    ]


def test_site_hosts_party_and_gating(one_run):
    rows = q(one_run, "SELECT site_input, host, party, only_gated FROM site_hosts ORDER BY 1, 2")
    assert ("blog-b.de", "connect.facebook.net", "third", True) in rows
    assert ("shop-a.de", "shop-a.de", "first", False) in rows
    assert ("shop-a.de", "fonts.googleapis.com", "third", False) in rows


def test_companies_reach_counts_subsidiaries(one_run):
    rows = dict(q(one_run, "SELECT company_id, sites FROM companies"))
    # shop-a.de uses three Google services: Google Ireland / Google LLC / Alphabet each reach 1 of 3 sites
    assert rows.get("alphabet") == 1
    assert q(one_run, "SELECT DISTINCT sites_total FROM companies") == [(3,)]


def _marts(db) -> dict[str, list]:
    con = duckdb.connect(str(db), read_only=True)
    out = {}
    for (name,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_name LIKE "
                               "'%\\_all' ESCAPE '\\' ORDER BY 1").fetchall():
        cols = [r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()]
        order = ", ".join(f'"{c}"' for c in cols if not c.startswith(("parent_chain", "elements", "evidence_kinds")))
        out[name] = con.execute(f'SELECT * FROM "{name}" ORDER BY {order}').fetchall()
    con.close()
    return out


def test_loading_twice_changes_nothing(one_run, tmp_path):
    before = _marts(one_run)
    report = build(tmp_path)
    assert report.loaded == [] and report.reattributed == []
    assert _marts(one_run) == before


def test_two_runs_in_either_order_give_identical_marts(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_tiny_run(a, RUN1, 1)
    build(a)
    write_tiny_run(a, RUN2, 2)
    build(a)
    write_tiny_run(b, RUN2, 2)
    build(b)
    write_tiny_run(b, RUN1, 1)
    build(b)
    assert _marts(a / "warehouse.duckdb") == _marts(b / "warehouse.duckdb")
    # the views show the newest run; the _all tables keep both
    assert q(a / "warehouse.duckdb", "SELECT DISTINCT run_id FROM services") == [(RUN2,)]
    assert q(a / "warehouse.duckdb", "SELECT count(DISTINCT run_id) FROM services_all") == [(2,)]


def test_unsealed_and_scan_runs_are_ignored(tmp_path):
    run_dir = write_tiny_run(tmp_path, RUN1, 1)
    shutil.copytree(run_dir, tmp_path / "raw" / RUN2)
    (tmp_path / "raw" / RUN2 / "manifest.json").unlink()  # unsealed: readers ignore it
    report = build(tmp_path)
    assert report.loaded == [RUN1]


def test_cli_query_check_and_export(one_run, tmp_path):
    out = str(tmp_path)
    res = run_cli(["query", "--out", out, "--json", "SELECT service_id, sites FROM services ORDER BY 1 LIMIT 1"])
    assert res.returncode == 0 and '"service_id": "google-analytics-4"' in res.stdout
    res = run_cli(["query", "--out", out, "DELETE FROM sites_all"])
    assert res.returncode == 2 and "read-only" in res.stderr.lower()
    assert run_cli(["check", "--out", out]).returncode == 0
    res = run_cli(["export", "--out", out, "--parquet", str(tmp_path / "exp")])
    assert res.returncode == 0 and (tmp_path / "exp" / "services.parquet").is_file()


def test_service_trends_between_runs(tmp_path):
    write_tiny_run(tmp_path, RUN1, 1)
    write_tiny_run(tmp_path, RUN2, 2)
    build(tmp_path)
    rows = {r[0]: r[1:] for r in q(tmp_path / "warehouse.duckdb",
                                   "SELECT service_id, prev_sites, sites, movement FROM service_trends")}
    assert rows["hotjar"] == (1, 0, "gone")            # blog-b.de dropped Hotjar in month 2
    assert rows["google-fonts"] == (1, 2, "stable")    # clean-c.at added it: 1/3 -> 2/3, inside the intervals
    assert rows["google-tag-manager"] == (1, 1, "stable")


def test_enriched_run_feeds_hosts_locations_and_cloaking(tmp_path):
    """Crawl tables + a real enrichment (local DNS, tiny GeoIP/ASN files) -> hosts, service_locations marts."""
    from devweb.dns import LocalDNS, Zone
    from pipelines.enrich.run import enrich_run
    from tests.support.fixtures import write_asn_mmdb, write_country_mmdb

    write_tiny_run(tmp_path, RUN1, 1)
    zone = (Zone().add("www.googletagmanager.com", "A", "142.250.185.72")
                  .add("fonts.googleapis.com", "A", "142.250.186.42")
                  .add("static.hotjar.com", "A", "52.31.10.10")
                  .add("shop-a.de", "A", "85.13.130.1").add("blog-b.de", "A", "85.13.130.2")
                  .add("clean-c.at", "A", "85.13.130.3"))
    nets = [{"network": "142.250.0.0/15", "country": "US", "asn": 15169, "org": "Google LLC"},
            {"network": "52.16.0.0/12", "country": "IE", "asn": 16509, "org": "Amazon.com, Inc."},
            {"network": "85.13.128.0/18", "country": "DE", "asn": 34788, "org": "Neue Medien Muennich GmbH"}]
    geo = write_country_mmdb(tmp_path / "geo.mmdb", nets, flavour="geoip2")
    asn = write_asn_mmdb(tmp_path / "asn.mmdb", nets)
    db = tmp_path / "warehouse.duckdb"
    assert build(tmp_path).assessed == [RUN1]  # built before the enrichment: the host seen, its location unknown
    assert q(db, "SELECT server_class FROM service_risk WHERE service_id = 'hotjar'") == [("anycast_or_unknown",)]
    with LocalDNS(zone) as dns:
        enrich_run(tmp_path, RUN1, nameservers=[dns.nameserver], geoip_db=geo, asn_db=asn, fetch_refdata=False)
    report = build(tmp_path)
    assert report.enriched == [RUN1] and not report.failed_assertions
    # the new input re-assesses the run (same catalog version: not a catalog move, so no risk_changes row)
    assert report.assessed == [RUN1]
    assert q(db, "SELECT server_class FROM service_risk WHERE service_id = 'hotjar'") == [("eea",)]
    assert q(db, "SELECT count(*) FROM risk_changes_all") == [(0,)]
    hosts = dict(q(db, "SELECT host, countries FROM hosts WHERE host IN ('static.hotjar.com', 'fonts.googleapis.com')"))
    assert hosts == {"static.hotjar.com": ["IE"], "fonts.googleapis.com": ["US"]}
    locs = q(db, "SELECT service_id, country, hosts, sites FROM service_locations WHERE service_id = 'hotjar'")
    assert locs == [("hotjar", "IE", 1, 1)]
    # a service seen only through an inline signature has no host to locate
    assert q(db, "SELECT count(*) FROM service_locations WHERE service_id = 'matomo-self-hosted'") == [(0,)]
    again = build(tmp_path)
    assert again.enriched == [] and again.assessed == []  # unchanged enrichment is not reloaded nor re-assessed


def test_risk_marts_cover_every_detected_service(one_run):
    rows = q(one_run, "SELECT site_input, service_id, consent_required, band FROM site_service_risk ORDER BY 1, 2")
    assert [(r[0], r[1]) for r in rows] == [
        ("blog-b.de", "hotjar"), ("blog-b.de", "matomo-self-hosted"), ("blog-b.de", "meta-pixel"),
        ("shop-a.de", "google-analytics-4"), ("shop-a.de", "google-fonts"), ("shop-a.de", "google-tag-manager")]
    verdicts = dict(q(one_run, "SELECT service_id, consent_required FROM service_risk"))
    # GA4 sets identifiers for analytics on a US-controlled service: consent is required (guide §6 C1–C3)
    assert verdicts["google-analytics-4"] == "yes"
    # a site with a high-band service shows it as its worst band
    assert q(one_run, "SELECT max_risk_band FROM sites WHERE site_input = 'clean-c.at'") == [(None,)]
    assert q(one_run, "SELECT max_risk_band FROM sites WHERE site_input = 'shop-a.de'")[0][0] in ("high", "very_high")


def test_trends_record_dpf_changes_between_runs(tmp_path):
    """The DPF status trends show is the effective status of the service's data recipient on each run's date: a
    listing checked on 2025-11-15 counts for the November run and is stale (older than 12 months) in December."""
    from dataclasses import replace
    from types import MappingProxyType

    from pipelines.risk.model import load_context

    ctx = load_context()
    google = ctx.dpf.entries["a2zt000000001L5AAI"]
    snapshot = replace(ctx.dpf, entries=MappingProxyType({**ctx.dpf.entries,
                                                           google.participant_id: replace(google, checked_on="2025-11-15")}))
    ctx = replace(ctx, dpf=snapshot, version="test-stale-google")
    write_tiny_run(tmp_path, RUN1, 1)
    write_tiny_run(tmp_path, RUN2, 2)
    build(tmp_path, risk_context=ctx)
    rows = {r[0]: r[1:] for r in q(tmp_path / "warehouse.duckdb",
                                   "SELECT service_id, prev_dpf_status, dpf_status, dpf_changed FROM service_trends")}
    # Google Tag Manager: Google Ireland is the contracting entity, Google LLC the recipient whose status is shown
    assert rows["google-tag-manager"] == ("active", "unknown", True)
    assert rows["hotjar"][2] is False  # an EEA recipient: not_applicable in both runs
