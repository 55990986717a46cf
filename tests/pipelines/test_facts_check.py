"""The facts check on the shipped data: no legal fact without a public source, no company behind the most
prevalent services with an unknown seat or an unknown fact without its reason (CI fails on these); the stored
ranking of the most prevalent services is what the project's observe and detect compute; and the check itself
finds what it must."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from types import MappingProxyType

import pytest

from devweb.web.pages import demo_pages
from pipelines.catalog.load import Fact, load_catalog
from pipelines.catalog.longtail import catalog_with_long_tail
from pipelines.catalog.prevalence import Page, compute_top_services, read_top_services, top_service_ids
from pipelines.risk.facts_check import KINDS, check_facts, companies_behind

DAY = date(2026, 12, 6)


@pytest.fixture(scope="module")
def full_catalog():
    catalog, provenance = catalog_with_long_tail()
    if "long_tail_services" not in provenance:
        pytest.skip(f"third-party-web long tail not cached ({provenance['long_tail']})")
    return catalog, provenance


def test_top_services_have_complete_company_data_and_every_legal_fact_a_public_source(full_catalog):
    catalog, _ = full_catalog
    top = top_service_ids()
    assert len(top) >= 100 and all(s in catalog.by_id for s in top)
    issues = [i for i in check_facts(catalog, top, DAY) if i.kind in KINDS[:-1]]
    assert issues == [], "\n".join(f"{i.kind}: {i.owner} {i.field}: {i.detail}" for i in issues)


def test_stored_ranking_is_what_observe_and_detect_compute(full_catalog, realpages):
    """data/reference/top_services.csv is reproducible: recomputed on the dev corpus and the demo web with the
    project's own observe and detect, it is the same ranking (regenerate it with `servicerisk refdata
    top-services --corpus .cache/realpages-dev --write` after a catalog change)."""
    catalog, provenance = full_catalog
    rows, _how = compute_top_services(realpages, catalog, provenance["long_tail"], (Page(*p) for p in demo_pages()))
    assert rows == read_top_services()
    assert [r.pages for r in rows].count("realpages-dev") == 100


def test_check_reports_unknown_seat_missing_source_and_stale_facts():
    catalog = load_catalog()
    google = catalog.companies["google-llc"]
    bad_fact = Fact("seat", "US", "third-party-web@0.30.0", "2020-01-01", "S")
    companies = dict(catalog.companies)
    companies["google-llc"] = replace(google, country="unknown", facts=(*google.facts, bad_fact))
    broken = replace(catalog, companies=MappingProxyType(companies))
    kinds = {(i.kind, i.owner) for i in check_facts(broken, ["google-fonts"], DAY)}
    assert ("unknown_seat", "companies/google-llc.yml") in kinds
    assert ("no_public_source", "companies/google-llc.yml") in kinds
    assert ("stale", "companies/google-llc.yml") in kinds


def test_companies_behind_a_service_include_recipient_and_parents():
    catalog = load_catalog()
    behind = companies_behind(catalog, ["google-tag-manager", "matomo-self-hosted"])
    assert {"google-ireland", "google-llc", "alphabet"} <= set(behind)
    assert "site-operator" not in behind


def test_checkup_is_the_dpf_check_and_the_facts_check_of_the_top_services(full_catalog):
    from common.paths import data_path
    from pipelines.catalog.load import load_catalog
    from pipelines.risk.dpf import check, load_snapshot
    from pipelines.risk.facts_check import checkup

    curated, day = load_catalog(), date(2026, 12, 7)
    snapshot = load_snapshot(data_path("reference", "dpf"))
    report = checkup(curated, snapshot, day, top_service_ids())
    assert report.rows == check(curated, snapshot, day)
    assert report.issues == check_facts(full_catalog[0], top_service_ids(), day)
    assert sum(report.counts.values()) == len(report.issues) and set(report.counts) == set(KINDS)
    assert report.recheck == [r for r in report.rows if r.problem in ("missing", "stale", "scope")]
    assert report.failed == (bool(report.recheck) or any(report.counts[k] for k in KINDS[:-1]))
