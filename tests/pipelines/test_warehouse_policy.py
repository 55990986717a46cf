"""Privacy-policy coverage in the dataset warehouse: statuses per site and service from the tiny recorded run's
policy texts (tests/pipelines/warehouse_fixture.py), shares per service, and re-checking only when needed."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest

from pipelines.catalog.load import load_catalog
from pipelines.publish.changes import changes_data
from pipelines.publish.command import format_changes
from pipelines.warehouse import connect
from pipelines.warehouse.build import build
from tests.pipelines.warehouse_fixture import q, tiny_rows, wilson, write_run_rows, write_tiny_run

RUN1 = "20261101T120000Z-aaaaaa"
RUN2 = "20261201T120000Z-bbbbbb"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture()
def two_runs(tmp_path, catalog):
    write_tiny_run(tmp_path, RUN1, month=1)
    write_tiny_run(tmp_path, RUN2, month=2)
    report = build(tmp_path, catalog=catalog, catalog_provenance={})
    assert not report.failed_assertions, report.failed_assertions
    return tmp_path


def test_site_statuses_follow_the_policy_texts(two_runs):
    rows = q(two_runs / "warehouse.duckdb",
             "SELECT site_input, service_id, status, term, policy_url FROM site_service_policy_all "
             "WHERE run_id = ? ORDER BY 1, 2", [RUN1])
    assert rows == [
        ("blog-b.de", "hotjar", "named", "Hotjar", "https://blog-b.de/privacy"),
        ("blog-b.de", "matomo-self-hosted", "self_hosted", None, None),  # on the site's own servers, unnamed
        # the consent-gated pixel is embedded, so the policy must name it too
        ("blog-b.de", "meta-pixel", "not_mentioned", None, None),
        # "Google-Analytics" names it (separators ignored); the privacy page is quoted before the cookie page
        ("shop-a.de", "google-analytics-4", "named", "Google Analytics", "https://shop-a.de/privacy"),
        ("shop-a.de", "google-fonts", "company_only", "Google", "https://shop-a.de/privacy"),
        ("shop-a.de", "google-tag-manager", "company_only", "Google", "https://shop-a.de/privacy"),
    ]
    excerpt = q(two_runs / "warehouse.duckdb", "SELECT excerpt FROM site_service_policy_all WHERE run_id = ? AND "
                "service_id = 'hotjar'", [RUN1])[0][0]
    assert "setzen wir Hotjar ein" in excerpt


def test_service_shares_count_only_sites_with_a_policy(two_runs):
    # month 2: clean-c.at adds Google Fonts but has no policy page; blog-b.de dropped Hotjar
    rows = {r[0]: r[1:] for r in q(two_runs / "warehouse.duckdb",
                                   "SELECT service_id, self_hosted_service, sites, sites_with_policy, sites_named, "
                                   "sites_company_only, sites_not_mentioned, sites_self_hosted, share_named, "
                                   "share_recipient_named FROM service_policy")}
    assert rows["google-fonts"] == (False, 2, 1, 0, 1, 0, 0, 0.0, 1.0)
    assert rows["google-analytics-4"] == (False, 1, 1, 1, 0, 0, 0, 1.0, 1.0)
    # on the site's own servers: no third party to name, so no share that would read as a missing disclosure
    assert rows["matomo-self-hosted"] == (True, 1, 1, 0, 0, 0, 1, None, None)
    assert "hotjar" not in rows
    assert q(two_runs / "warehouse.duckdb", "SELECT named_movement, prev_share_named FROM service_policy_all "
                                            "WHERE run_id = ? AND service_id = 'google-analytics-4'", [RUN1]) == \
        [(None, None)]  # the first run has nothing to compare with
    assert q(two_runs / "warehouse.duckdb", "SELECT status FROM site_service_policy WHERE site_input = "
                                            "'clean-c.at'") == [("no_policy",)]


def test_rebuild_rechecks_only_when_the_catalog_names_change(two_runs, catalog):
    db = two_runs / "warehouse.duckdb"
    checked = q(db, "SELECT * FROM _policy_checked ORDER BY run_id")
    steps: list[str] = []
    report = build(two_runs, catalog=catalog, catalog_provenance={}, on_step=steps.append)
    assert q(db, "SELECT * FROM _policy_checked ORDER BY run_id") == checked
    assert report.policy_checked == [] and not any(s.startswith(("load 2", "match", "check")) for s in steps)
    assert steps[-4:] == ["assess risk", "rebuild models", "describe tables", "run assertions"]
    # the catalog renames Hotjar and drops its aliases: the stored run is checked again, and the policy's
    # "Hotjar" is now only the company's name
    hotjar = catalog.by_id["hotjar"]
    renamed = replace(hotjar, name="Heatmap Suite", aliases=())
    later = replace(catalog, services=tuple(renamed if s.id == "hotjar" else s for s in catalog.services),
                    by_id=MappingProxyType({**catalog.by_id, "hotjar": renamed}))
    steps.clear()
    report = build(two_runs, catalog=later, catalog_provenance={}, on_step=steps.append)
    assert not report.failed_assertions and report.policy_checked == [RUN1, RUN2]
    assert f"check privacy policies {RUN1}" in steps and not any(s.startswith("match") for s in steps)
    assert q(db, "SELECT * FROM _policy_checked ORDER BY run_id") != checked
    # the company is "Hotjar Ltd": its name without the legal form is what the policy's "Hotjar" matches
    assert catalog.companies[hotjar.company].name == "Hotjar Ltd"
    assert q(db, "SELECT status, term FROM site_service_policy_all WHERE run_id = ? AND service_id = 'hotjar'",
             [RUN1]) == [("company_only", "Hotjar")]


def test_an_interrupted_build_checks_the_reloaded_run_again(two_runs, catalog):
    """A build stopped after loading and matching a changed run, before its policy check: the next build must
    check it, not keep the statuses of the texts it had before."""
    rows = tiny_rows(RUN1, month=1)  # re-sealed: blog-b.de's policy no longer names Hotjar
    rows["policy_texts"] = [{**p, "text": "Datenschutz\nFür Heatmaps nutzen wir ein Werkzeug.", "chars": 48}
                            if p["input_domain"] == "blog-b.de" else p for p in rows["policy_texts"]]
    write_run_rows(two_runs, RUN1, rows, fixture="tiny-resealed")

    def stop(what: str) -> None:
        if what == f"check privacy policies {RUN1}":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build(two_runs, catalog=catalog, catalog_provenance={}, on_step=stop)
    report = build(two_runs, catalog=catalog, catalog_provenance={})
    assert report.loaded == [] and report.policy_checked == [RUN1]
    assert q(two_runs / "warehouse.duckdb", "SELECT status FROM site_service_policy_all WHERE run_id = ? AND "
             "service_id = 'hotjar'", [RUN1]) == [("not_mentioned",)]


def test_named_share_interval_and_movement(tmp_path, catalog):
    """RUN1: blog-b.de's policy leaves Hotjar out (0 of 1); RUN2: it names it (1 of 1). At n = 1 the intervals are
    wide, but 0 % and 100 % each lie outside the other's: "up". Google Analytics stays named: "stable"."""
    rows = tiny_rows(RUN1, month=1)
    rows["policy_texts"] = [{**p, "text": "Datenschutz\nFür Heatmaps nutzen wir ein Werkzeug."}
                            if p["input_domain"] == "blog-b.de" else p for p in rows["policy_texts"]]
    write_run_rows(tmp_path, RUN1, rows)
    write_run_rows(tmp_path, RUN2, tiny_rows(RUN2, month=1))
    assert not build(tmp_path, catalog=catalog, catalog_provenance={}).failed_assertions
    got = {r[0]: r[1:] for r in q(tmp_path / "warehouse.duckdb",
                                  "SELECT service_id, share_named, share_named_ci_low, share_named_ci_high, "
                                  "prev_share_named, named_movement FROM service_policy")}
    lo, hi = wilson(1, 1)
    assert got["hotjar"][0] == 1.0 and got["hotjar"][1:3] == pytest.approx((lo, hi))
    assert got["hotjar"][3:] == (0.0, "up")
    assert got["google-analytics-4"][3:] == (1.0, "stable")
    assert got["matomo-self-hosted"] == (None, None, None, None, None)  # self-hosted: no share, no movement

    con = connect(tmp_path / "warehouse.duckdb")  # the KB's change list reports the move
    try:
        data = changes_data(con, catalog)
    finally:
        con.close()
    assert {"service_id": "hotjar", "kind": "policy_named", "movement": "up", "from": 0.0, "to": 1.0} \
        in data["changes"]
    assert not any(c["kind"] == "policy_named" and c["service_id"] != "hotjar" for c in data["changes"])
    assert "hotjar: named in privacy policies up 0.0% -> 100.0% (beyond its interval)" in format_changes(data)
