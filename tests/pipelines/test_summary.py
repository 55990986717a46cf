"""The run summary the crawl prints reads the run's Parquet parts with the file list as a bound parameter: a run
folder whose path holds a quote is read like any other (a list pasted into the SQL would break on it)."""

from __future__ import annotations

from pipelines.summary import summarise_run
from pipelines.warehouse.build import build
from tests.pipelines.warehouse_fixture import q, write_tiny_run


def test_a_run_folder_whose_path_holds_a_quote(tmp_path):
    out = tmp_path / "o'brien's \"crawls\""
    run_dir = write_tiny_run(out)
    s = summarise_run(run_dir)
    # the tiny crawl: shop-a.de, blog-b.de and clean-c.at answered, dead-d.de did not resolve; eight resources
    # referenced, four of them on third-party hosts (Tag Manager and Fonts for shop-a.de, the Meta pixel and
    # Hotjar for blog-b.de), one site each
    assert (s.sites, dict(s.by_outcome)) == (4, {"ok": 3, "dns_error": 1})
    assert (s.pages, s.pages_ok, s.resources, s.third_party_hosts) == (0, 0, 8, 4)
    assert s.top_third_party == [("facebook.net", 1), ("googleapis.com", 1), ("googletagmanager.com", 1),
                                 ("hotjar.com", 1)]
    # the warehouse loads the same folder (read_parquet with the bound file list)
    report = build(out)
    assert report.loaded == [run_dir.name] and not report.failed_assertions
    assert q(out / "warehouse.duckdb", "SELECT count(*) FROM raw_resources") == [(8,)]
