"""History is reproducible: a run's assessment uses the run's date and the catalog version recorded for it, so
a rebuild a year later (the clock moved; the build's risk context is its only clock) changes no old verdict,
and a fresh warehouse built a year later from the same run gives the same verdicts. Only a move of the catalog
version re-assesses a run, and the verdicts that moved are listed in risk_changes."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date, timedelta
from types import MappingProxyType

import duckdb

from pipelines.publish.changes import changes_data
from pipelines.publish.command import format_changes
from pipelines.risk.model import load_context
from pipelines.warehouse.build import build
from tests.pipelines.warehouse_fixture import q, write_tiny_run

RUN1 = "20261101T120000Z-aaaaaa"
VERDICTS = ("SELECT run_id, service_id, consent_required, risk_score, band, confidence, recipient_id, "
            "recipient_dpf_status, as_of, catalog_version FROM service_risk_all ORDER BY ALL")
SITE_VERDICTS = ("SELECT run_id, site_input, service_id, consent_required, risk_score, band, as_of "
                 "FROM site_service_risk_all ORDER BY ALL")
COMPANIES = "SELECT run_id, company_id, country, dpf_status FROM _run_companies ORDER BY ALL"


def _state(db):
    return q(db, VERDICTS), q(db, SITE_VERDICTS), q(db, COMPANIES)


def test_rebuild_a_year_later_changes_no_old_verdict(tmp_path):
    out = tmp_path / "a"
    write_tiny_run(out, RUN1, month=1)
    today = load_context()
    report = build(out, risk_context=today)
    assert report.assessed == [RUN1] and not report.failed_assertions
    db = out / "warehouse.duckdb"
    before = _state(db)
    assert before[0] and all(str(r[8]) == "2026-11-01" for r in before[0])  # assessed on the run's date
    assert ("google-fonts",) in {(r[1],) for r in before[0]}

    year_later = replace(today, as_of=today.as_of + timedelta(days=366))
    report = build(out, risk_context=year_later)
    assert report.assessed == []  # same catalog version: nothing is re-assessed
    assert _state(db) == before

    # a fresh warehouse built a year later from the same run gives the same verdicts
    fresh = tmp_path / "b"
    shutil.copytree(out / "raw", fresh / "raw")
    report = build(fresh, risk_context=year_later)
    assert report.assessed == [RUN1]
    assert _state(fresh / "warehouse.duckdb") == before


def test_catalog_version_move_reassesses_and_reports_changes(tmp_path):
    write_tiny_run(tmp_path, RUN1, month=1)
    ctx = load_context(as_of=date(2026, 11, 1))
    build(tmp_path, risk_context=ctx)
    db = tmp_path / "warehouse.duckdb"
    # a new catalog version in which Google LLC's DPF statement is gone: Google Fonts' recipient loses "active"
    google = ctx.catalog.companies["google-llc"]
    companies = dict(ctx.catalog.companies)
    companies["google-llc"] = replace(google, dpf=replace(google.dpf, participant_id=None, status="unknown"))
    moved = replace(ctx, version="test-moved", catalog=replace(ctx.catalog, companies=MappingProxyType(companies)))
    report = build(tmp_path, risk_context=moved)
    assert report.assessed == [RUN1]
    changes = q(db, "SELECT service_id, prev_version, catalog_version, prev_score, risk_score FROM risk_changes_all "
                    "WHERE service_id = 'google-fonts'")
    assert changes and changes[0][1] == ctx.version and changes[0][2] == "test-moved"
    assert changes[0][4] > changes[0][3]  # us_dpf -> us_dpf_unknown scores higher
    assert q(db, "SELECT DISTINCT catalog_version FROM service_risk_all") == [("test-moved",)]
    # kb --changes says so: the moved verdicts of the current catalog version, for every run re-assessed
    con = duckdb.connect(str(db), read_only=True)
    data = changes_data(con, moved.catalog)
    con.close()
    fonts = [c for c in data["changes"] if c["kind"] == "assessment" and c["service_id"] == "google-fonts"]
    assert fonts and fonts[0]["run_id"] == RUN1 and fonts[0]["versions"] == [ctx.version, "test-moved"]
    assert fonts[0]["to"]["score"] > fonts[0]["from"]["score"]
    assert f"google-fonts: re-assessed run {RUN1} (catalog version {ctx.version} -> test-moved)" in format_changes(data)


def test_catalog_version_moves_only_with_what_the_assessment_reads(tmp_path):
    from pipelines.catalog.load import DEFAULT_DATA_DIR
    from pipelines.risk.model import catalog_version

    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data, ignore=shutil.ignore_patterns("cache"))
    version = catalog_version(data)
    (data / "reference" / "top_services.csv").write_text("# recomputed ranking\n", encoding="utf-8")
    assert catalog_version(data) == version  # the prevalence ranking is not an input of the assessment
    company = data / "companies" / "google-llc.yml"
    company.write_text(company.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    assert catalog_version(data) != version
