"""Every embedding counts (direct, gated, encoded, config, hint): site_services carries the embeddings and
whether the site loads the service without a consent gate, services a second share for that; a first-party
host CNAMEd to a tracker is attributed to it; third-party domains no catalog entry claims go to ``domains``."""

from __future__ import annotations

import pytest

from pipelines.warehouse.build import build
from tests.pipelines.warehouse_fixture import _ref, _site, q, wilson, write_run_rows

RUN = "20261101T120000Z-e14e14"


def ref(domain: str, url: str, embedding: str, **kw) -> dict:
    host = url.split("/")[2]
    return {**_ref(RUN, domain, url, host, **kw), "gated": embedding == "gated", "embedding": embedding}


def rows() -> dict[str, list[dict]]:
    """Five sites embed Hotjar five ways; the long tail (smallvendor.io) three ways; blog-b's own static domain
    and a first-party host do not count as long tail."""
    sites = [_site(RUN, d, "ok", i) for i, d in enumerate(
        ["direct-a.de", "gated-b.de", "encoded-c.de", "config-d.de", "hint-e.de"], 1)]
    hotjar = "https://static.hotjar.com/c/hotjar-1.js?sv=6"
    res = [
        ref("direct-a.de", hotjar, "direct"),
        ref("direct-a.de", "https://cdn.smallvendor.io/w.js", "direct"),
        ref("gated-b.de", hotjar, "gated"),
        ref("gated-b.de", "https://widget.smallvendor.io/embed", "gated", element="iframe"),
        ref("gated-b.de", "https://assets.gated-b-static.de/app.js", "direct"),  # the site's own static domain
        ref("encoded-c.de", hotjar, "encoded", element="iframe"),
        ref("config-d.de", hotjar, "config", attribute="inline", inline=True),
        ref("config-d.de", "https://x.smallvendor.io/loader.js", "config", attribute="inline", inline=True),
        ref("config-d.de", "https://x.smallvendor.io/share?u=1", "config", attribute="inline", inline=True),
        ref("hint-e.de", "https://static.hotjar.com", "hint", element="link", attribute="href", rel="preconnect"),
        ref("hint-e.de", "https://hint-e.de/app.js", "direct"),
    ]
    sigs = [{"run_id": RUN, "input_domain": "gated-b.de", "page_url": "https://gated-b.de/", "signature_id":
             "hotjar-id", "value": "1", "gated": True, "embedding": "gated", "method": "static"}]
    return {"sites": sites, "resources": res, "signatures": sigs}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    out = tmp_path_factory.mktemp("embedding")
    write_run_rows(out, RUN, rows(), fixture="embedding")
    report = build(out)
    assert report.loaded == [RUN] and not report.failed_assertions, report.failed_assertions
    return out / "warehouse.duckdb"


def test_site_services_carry_every_embedding(db):
    got = {r[0]: r[1:] for r in q(db, "SELECT site_input, embeddings, loads_without_gate FROM site_services "
                                      "WHERE service_id = 'hotjar'")}
    assert got == {"direct-a.de": (["direct"], True), "gated-b.de": (["gated"], False),
                   "encoded-c.de": (["encoded"], False), "config-d.de": (["config"], True),
                   "hint-e.de": (["hint"], False)}


def test_prevalence_counts_every_embedding_and_a_second_share_without_gate(db):
    (sites, total, share, without, share_wg, lo, hi), = q(
        db, "SELECT sites, sites_total, share, sites_without_gate, share_without_gate, share_without_gate_ci_low, "
            "share_without_gate_ci_high FROM services WHERE service_id = 'hotjar'")
    assert (sites, total, without) == (5, 5, 2)
    assert share == 1.0 and share_wg == pytest.approx(0.4)
    assert (lo, hi) == pytest.approx(wilson(2, 5), abs=1e-12)
    assert q(db, "SELECT count(*) FROM sites WHERE services > 0") == [(5,)]


def test_domains_mart_lists_the_unclaimed_long_tail(db):
    got = q(db, "SELECT registrable_domain, sites, sites_total, share, sites_direct, hosts, embeddings, company_id "
                "FROM domains")
    # the share link in inline code is no embed; the site's own static domain and first-party hosts are left out
    assert got == [("smallvendor.io", 3, 5, pytest.approx(0.6), 1,
                    ["cdn.smallvendor.io", "widget.smallvendor.io", "x.smallvendor.io"], ["config", "direct", "gated"],
                    None)]
    lo, hi = q(db, "SELECT share_ci_low, share_ci_high FROM domains")[0]
    assert (lo, hi) == pytest.approx(wilson(3, 5), abs=1e-12)


def test_cloaked_first_party_host_is_attributed_through_its_cname(tmp_path):
    """A first-party host the enrichment finds CNAMEd to INFOnline's measurement domain is INFOnline, and a
    re-enrichment re-attributes the stored run."""
    from pipelines.enrich.geoip import GeoIP
    from pipelines.enrich.run import enrich_run
    from pipelines.localdns import LocalDNS, Zone

    site_rows = [_site(RUN, "news-f.de", "ok", 1)]
    res = [ref("news-f.de", "https://data-0123456789.news-f.de/tracking.js", "direct")]
    write_run_rows(tmp_path, RUN, {"sites": site_rows, "resources": res}, fixture="cname")
    build(tmp_path)
    assert q(tmp_path / "warehouse.duckdb", "SELECT count(*) FROM site_services") == [(0,)]
    zone = (Zone().add("data-0123456789.news-f.de", "CNAME", "de-news.iocnt.net")
                  .add("de-news.iocnt.net", "A", "85.13.130.9").add("news-f.de", "A", "85.13.130.1"))
    with LocalDNS(zone) as dns:
        enrich_run(tmp_path, RUN, nameservers=[dns.nameserver], geoip=GeoIP(None, None), fetch_refdata=False)
    report = build(tmp_path)
    assert report.reattributed == [RUN] and not report.failed_assertions
    assert q(tmp_path / "warehouse.duckdb", "SELECT service_id, evidence_kinds, embeddings, loads_without_gate "
                                            "FROM site_services") == [("infonline-ivw", ["cname"], ["direct"], True)]
