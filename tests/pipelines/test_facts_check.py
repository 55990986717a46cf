"""The facts check on the shipped data: no legal fact without a public source, no company behind the most
prevalent services with an unknown seat (CI fails on both); and the check itself finds what it must."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from types import MappingProxyType

from pipelines.catalog.facts_check import check_facts, companies_behind, top_services
from pipelines.catalog.load import Fact, load_catalog

DAY = date(2026, 12, 6)


def test_top_services_have_known_seats_and_every_legal_fact_a_public_source():
    catalog = load_catalog()
    top = top_services()
    assert len(top) >= 40 and all(s in catalog.by_id for s in top)
    issues = [i for i in check_facts(catalog, top, DAY) if i.kind in ("unknown_seat", "no_public_source")]
    assert issues == []


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
