"""One owner per fact, on the demo (``servicerisk demo``): the companies mart, service_risk, the knowledge-base
pages, the demo scan's report and ``refdata dpf --check`` show the same DPF status and seat for every company, and
Hotjar (detected by its snippet) has the server location the enrichment measured for its script host."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.catalog.load import load_catalog
from pipelines.risk import dpf as d
from pipelines.warehouse.connect import fetch_dicts


@pytest.fixture(scope="module")
def facts(demo_out: Path) -> dict:
    """The run's company facts (the one owner, ``_run_companies``) and what every output shows."""
    con = duckdb.connect(str(demo_out / "warehouse.duckdb"), read_only=True)
    try:
        latest = con.execute("SELECT run_id FROM int_latest_run").fetchone()[0]
        owner = {r["company_id"]: r for r in fetch_dicts(
            con, "SELECT company_id, name, country, city, dpf_status FROM _run_companies WHERE run_id = ?", [latest])}
        return {
            "owner": owner,
            "companies": fetch_dicts(con, "SELECT company_id, country, city, dpf_status FROM companies"),
            "risk": fetch_dicts(con, "SELECT service_id, recipient_id, recipient_country, recipient_dpf_status, "
                                     "contracting_id, contracting_country, as_of FROM service_risk"),
            "hotjar": fetch_dicts(con, "SELECT country, confidence FROM service_locations WHERE service_id = 'hotjar'"),
            "hotjar_hosts": fetch_dicts(con, "SELECT host, countries, location_confidence FROM hosts "
                                             "WHERE service_id = 'hotjar'"),
            "hotjar_risk": fetch_dicts(con, "SELECT server_class, factors FROM service_risk WHERE service_id = 'hotjar'"),
        }
    finally:
        con.close()


def _seat(row: dict) -> tuple:
    return row["country"], row["dpf_status"]


def test_companies_mart_shows_the_run_company_facts(facts):
    assert facts["companies"]
    for row in facts["companies"]:
        owner = facts["owner"][row["company_id"]]
        assert (row["country"], row["city"], row["dpf_status"]) == (owner["country"], owner["city"],
                                                                    owner["dpf_status"]), row["company_id"]


def test_service_risk_recipient_and_contracting_entity_agree(facts):
    recipients = [r for r in facts["risk"] if r["recipient_id"]]
    assert {r["recipient_id"] for r in recipients} >= {"google-llc", "hotjar-ltd", "text-inc"}
    for r in recipients:
        owner = facts["owner"][r["recipient_id"]]
        assert (r["recipient_country"], r["recipient_dpf_status"]) == _seat(owner), r["service_id"]
        if r["contracting_id"]:
            assert r["contracting_country"] == facts["owner"][r["contracting_id"]]["country"], r["service_id"]
    google = {r["service_id"]: r for r in recipients}["google-tag-manager"]
    assert (google["recipient_id"], google["contracting_id"]) == ("google-llc", "google-ireland")  # recipient rule


def test_knowledge_base_pages_agree(demo_out, facts):
    risk = {r["service_id"]: r for r in facts["risk"]}
    pages = sorted((demo_out / "kb" / "json").glob("*.json"))
    assert len(pages) >= len(risk)
    for path in pages:
        page = json.loads(path.read_text(encoding="utf-8"))
        company = page.get("company")
        if company and company.get("in_catalog"):
            owner = facts["owner"][company["id"]]
            assert (company["country"] or "unknown", company["dpf"]["status"] or "unknown") == _seat(owner), path.name
            assert company["city"] == owner["city"], path.name
        recipient = (page.get("consent") or {}).get("recipient")
        if recipient:
            assert (recipient["country"], recipient["dpf_status"]) == _seat(facts["owner"][recipient["id"]]), path.name
    html = (demo_out / "kb" / "en" / "site" / "services" / "google-fonts.html").read_text(encoding="utf-8")
    assert "Google LLC" in html  # the page names the recipient beside the contracting company


def test_scan_report_agrees(demo_out, facts):
    reports = sorted((demo_out / "scans").glob("*/report.json"))
    assert reports
    report = json.loads(reports[-1].read_text(encoding="utf-8"))
    assert report["services"]
    for svc in report["services"]:
        if svc["company_id"] in facts["owner"]:
            owner = facts["owner"][svc["company_id"]]
            assert (svc["company_country"], svc["dpf_status"]) == _seat(owner), svc["service_id"]
        for entity in [svc["recipient"], *svc["parents"]]:
            if entity and entity["id"] in facts["owner"]:
                assert (entity["country"], entity["dpf_status"]) == _seat(facts["owner"][entity["id"]]), entity["id"]


def test_dpf_check_agrees(facts):
    """``refdata dpf --check`` counts each US company as the warehouse does (same day, same resolver)."""
    day = date.fromisoformat(str(facts["risk"][0]["as_of"]))
    rows = {r.company_id: r for r in d.check(load_catalog(), d.load_snapshot(), day) if r.company_id}
    shown = [c for c in facts["owner"].values() if c["company_id"] in rows]
    assert {"google-llc", "cloudflare-inc", "meta-platforms-inc"} <= {c["company_id"] for c in shown}
    for c in shown:
        assert rows[c["company_id"]].effective == c["dpf_status"], c["company_id"]
        assert rows[c["company_id"]].country == c["country"], c["company_id"]


def test_hotjar_has_its_measured_location(facts):
    assert facts["hotjar_hosts"] and all(h["location_confidence"] == "measured" for h in facts["hotjar_hosts"])
    measured = {h_c for h in facts["hotjar_hosts"] for h_c in h["countries"]}
    assert {(r["country"], r["confidence"]) for r in facts["hotjar"]} == {(c, "measured") for c in measured}
    (risk,) = facts["hotjar_risk"]
    f7 = next(f for f in risk["factors"] if f["code"] == "F7")
    assert risk["server_class"] == "eea" and f7["level"] == "eea" and f7["confidence"] == "measured"
