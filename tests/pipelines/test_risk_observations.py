"""Which consent pass the per-site risk model is told about (sql/queries/risk_observations.sql + observed_state),
on hand-made detections and page rows in an in-memory DuckDB: clicked vs unclicked banners, subpage-only loads
and the GPC comparison, static-only evidence in a browser run, plain static crawls."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.warehouse.risk import cookie_evidence, observed_state
from pipelines.warehouse.sqlfiles import sql_text

RUN = "20261129T120000Z-abcdef"


def _page(domain, url, kind="home", method="browser", cs="none", sig="none", error=None, result=None):
    return (RUN, domain, kind, url, method, cs, sig, error, result)


def _det(domain, service, url, method="browser", cs="none", sig="none", host="t.example", embedding="direct"):
    return (RUN, domain, domain, url, service, "host", host, "request", host, method, cs, sig, embedding)


@pytest.fixture(scope="module")
def observations():
    con = duckdb.connect()
    con.execute("CREATE TABLE _runs (run_id VARCHAR, kind VARCHAR)")
    con.execute("INSERT INTO _runs VALUES (?, 'crawl')", [RUN])
    con.execute("CREATE TABLE _dataset_kinds (kind VARCHAR)")
    con.execute("INSERT INTO _dataset_kinds VALUES ('crawl'), ('browser')")
    con.execute("CREATE TABLE raw_pages (run_id VARCHAR, input_domain VARCHAR, page_kind VARCHAR, url VARCHAR, "
                "method VARCHAR, consent_state VARCHAR, signal VARCHAR, error_class VARCHAR, consent_result VARCHAR)")
    con.execute("CREATE TABLE detections (run_id VARCHAR, input_domain VARCHAR, site VARCHAR, page_url VARCHAR, "
                "service_id VARCHAR, kind VARCHAR, evidence VARCHAR, seen_in VARCHAR, host VARCHAR, "
                "method VARCHAR, consent_state VARCHAR, signal VARCHAR, embedding VARCHAR)")
    a, ak = "https://a.de/", "https://a.de/kontakt"
    b, c, d, e = "https://b.de/", "https://c.de/", "https://d.de/", "https://e.de/"
    pages = [
        # a.de: browser pre-consent home + subpage, and a GPC pass of the home page
        _page("a.de", a), _page("a.de", ak, kind="contact"), _page("a.de", a, sig="gpc"),
        # b.de: the accept pass found no banner to click
        _page("b.de", b), _page("b.de", b, cs="accept", result="no_cmp_tool"),
        # c.de: accept and reject clicked
        _page("c.de", c), _page("c.de", c, cs="accept", result="clicked"),
        _page("c.de", c, cs="reject", result="clicked"),
        # d.de: a static crawl
        _page("d.de", d, method="static"),
        # e.de: browser pre-consent load failed; static view of the document exists
        _page("e.de", e, error="browser_error"), _page("e.de", e, method="static"),
    ]
    dets = [
        _det("a.de", "subpage-only", ak),  # before consent on /kontakt only: the GPC pass never loads /kontakt
        _det("a.de", "stops-with-gpc", a),
        _det("a.de", "ignores-gpc", a), _det("a.de", "ignores-gpc", a, sig="gpc"),
        _det("a.de", "static-only", a, method="static"),  # the HTML names it, no browser load fetched it
        _det("b.de", "unclicked-accept", b, cs="accept"),
        _det("c.de", "after-accept", c, cs="accept"),
        _det("c.de", "despite-reject", c, cs="reject", host="r.example"),
        _det("d.de", "static", d, method="static"),
        _det("d.de", "static-gated", d, method="static", embedding="gated"),  # held back for the consent manager
        _det("d.de", "static-encoded", d, method="static", embedding="encoded"),
        _det("e.de", "pre-failed", e, method="static"),
        # e.de: a cookie from the static Set-Cookie header, and one the failed browser load's jar still showed
        (RUN, "e.de", "e.de", e, "pre-failed", "cookie", "_static_sess", "cookie", "", "static", "none", "none",
         "direct"),
        (RUN, "e.de", "e.de", e, "pre-failed", "cookie", "_ga", "cookie", "", "browser", "none", "none", "direct"),
    ]
    con.executemany("INSERT INTO raw_pages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", pages)
    con.executemany("INSERT INTO detections VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", dets)
    cur = con.execute(sql_text("pipelines.warehouse", "queries/risk_observations"))
    cols = [x[0] for x in cur.description]
    rows = {r[2]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}
    con.close()
    return rows


def _state(row):
    return observed_state(row["browser_pre"], row["pre_seen"], row["reject_seen"], row["accept_seen"],
                          (row["pre_hosts"], row["pre_cookies"]), (row["reject_hosts"], row["reject_cookies"]),
                          (row["any_hosts"], row["any_cookies"]))[:3]


def test_gpc_is_compared_on_the_home_page_only(observations):
    assert observations["stops-with-gpc"]["dnt_honoured"] is True
    assert observations["ignores-gpc"]["dnt_honoured"] is False
    assert observations["subpage-only"]["dnt_honoured"] is None  # not tested, never "honoured"
    assert _state(observations["subpage-only"]) == ("before_consent", "browser", False)


def test_an_unclicked_accept_pass_is_one_more_load_before_consent(observations):
    row = observations["unclicked-accept"]
    assert (row["pre_seen"], row["accept_seen"]) == (True, False)
    assert _state(row) == ("before_consent", "browser", False)


def test_clicked_passes(observations):
    assert _state(observations["after-accept"]) == ("after_accept", "browser", False)
    row = observations["despite-reject"]
    assert _state(row) == ("after_reject", "browser", False)
    assert row["reject_hosts"] == ["r.example"]


def test_static_evidence(observations):
    assert _state(observations["static"]) == ("none", "static", False)  # a static crawl: the HTML loads it
    # embedded, but held back for consent or kept encoded: not loaded before consent
    for held in ("static-gated", "static-encoded"):
        assert observations[held]["pre_seen"] is False and observations[held]["any_hosts"] == ["t.example"]
    assert _state(observations["static-only"]) == ("none", "browser", True)  # browser never fetched it: gated
    # the browser's pre-consent load failed: the static view of the document stands in
    assert _state(observations["pre-failed"]) == ("none", "static", False)


def test_a_failed_pre_consent_load_keeps_its_cookie_source(observations):
    row = observations["pre-failed"]
    state, method, _gated, _hosts, cookies = observed_state(
        row["browser_pre"], row["pre_seen"], row["reject_seen"], row["accept_seen"],
        (row["pre_hosts"], row["pre_cookies"]), (row["reject_hosts"], row["reject_cookies"]),
        (row["any_hosts"], row["any_cookies"]))
    assert (state, method, sorted(cookies)) == ("none", "static", ["_ga", "_static_sess"])
    assert row["pre_jar_cookies"] == ["_ga"]
    assert {n: cookie_evidence(method, n, row["pre_jar_cookies"]) for n in cookies} == {
        "_static_sess": "Set-Cookie", "_ga": "cookie jar"}
    assert cookie_evidence("browser", "_static_sess", []) == "cookie jar"
