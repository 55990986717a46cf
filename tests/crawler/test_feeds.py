"""Tests for crawler.feeds: the Parquet item exporter and the atomic local feed storage."""

from __future__ import annotations

import io
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawler.feeds import AtomicFileFeedStorage, ParquetItemExporter
from crawler.items import SCHEMAS, TABLES, SiteBundle
from crawler.paths import Layout, new_run_id, parts

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def export(table: str, *batches: list[dict], **kwargs) -> pa.Table:
    buf = io.BytesIO()
    exp = ParquetItemExporter(buf, table=table, **kwargs)
    exp.start_exporting()
    for rows in batches:
        exp.export_item(SiteBundle.of(table, rows))
    exp.finish_exporting()
    buf.seek(0)
    return pq.read_table(buf)


def assert_exact_schema(got: pa.Schema, table: str) -> None:
    want = SCHEMAS[table]
    assert got.equals(want)
    assert [(f.name, f.type, f.nullable) for f in got] == [(f.name, f.type, f.nullable) for f in want]


def site_row(domain: str, **extra) -> dict:
    row = {"run_id": "r1", "rank": 1, "line_no": 3, "input_domain": domain, "site": domain,
           "final_host": "www." + domain, "start_url": f"https://{domain}/", "final_url": f"https://www.{domain}/",
           "outcome": "ok", "error_class": None, "detail": None, "attempts": [f"https://{domain}/ -> ok"],
           "redirect_chain": [f"https://{domain}/", f"https://www.{domain}/"], "cross_site_redirect": False,
           "pages_ok": 3, "pages_failed": 0, "method": "static", "started_at": NOW, "finished_at": NOW}
    row.update(extra)
    return row


def test_sites_rows_round_trip_with_exact_schema():
    t = export("sites", [site_row("a.de"), site_row("b.de", outcome="dns_error", pages_ok=0)], [site_row("c.de")])
    assert_exact_schema(t.schema, "sites")
    rows = t.to_pylist()
    assert [r["input_domain"] for r in rows] == ["a.de", "b.de", "c.de"]
    assert rows[1]["outcome"] == "dns_error" and rows[1]["pages_ok"] == 0
    assert rows[0]["redirect_chain"] == ["https://a.de/", "https://www.a.de/"]
    assert rows[0]["started_at"] == NOW


@pytest.mark.parametrize("table", TABLES)
def test_empty_batch_is_a_valid_empty_file_with_schema(table):
    t = export(table)
    assert t.num_rows == 0
    assert_exact_schema(t.schema, table)


@pytest.mark.parametrize("table", TABLES)
def test_items_without_rows_give_an_empty_file_with_schema(table):
    t = export(table, [], [])
    assert t.num_rows == 0
    assert_exact_schema(t.schema, table)


def test_missing_columns_become_null():
    t = export("signatures", [{"run_id": "r1", "signature_id": "gtm-container-id"}])
    assert t.to_pylist() == [{"run_id": "r1", "input_domain": None, "page_url": None,
                              "signature_id": "gtm-container-id", "value": None, "gated": None, "embedding": None,
                              "method": None, "consent_state": None, "signal": None}]


def test_unknown_column_raises():
    with pytest.raises(ValueError, match=r"unknown columns \['bogus'\]"):
        export("signatures", [{"run_id": "r1", "bogus": 1}])


def test_unknown_column_in_a_later_row_raises():
    # (was a bug: only the first buffered row was checked, later unknown columns were silently dropped)
    with pytest.raises(ValueError, match="unknown columns"):
        export("signatures", [{"run_id": "r1"}], [{"run_id": "r1", "bogus": 1}])


def test_wrong_type_raises():
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError, TypeError)):
        export("pages", [{"status": "two hundred"}])


def test_unknown_table_raises():
    with pytest.raises(ValueError, match="unknown table"):
        ParquetItemExporter(io.BytesIO(), table="nope")


def test_accepts_the_options_scrapy_passes():
    t = export("resources", [{"url": "https://cdn.example.com/a.js", "inline": False, "declared": False}],
               fields_to_export=None, encoding="utf-8", indent=None)
    assert t.num_rows == 1
    assert_exact_schema(t.schema, "resources")


def test_bundle_exports_only_the_exporters_table():
    bundle = SiteBundle({"cookies": [{"name": "a"}], "signatures": [{"value": "1"}, {"value": "2"}]})
    for table, n in (("cookies", 1), ("signatures", 2), ("pages", 0)):
        buf = io.BytesIO()
        exp = ParquetItemExporter(buf, table=table)
        exp.start_exporting()
        exp.export_item(bundle)
        exp.finish_exporting()
        buf.seek(0)
        assert pq.read_table(buf).num_rows == n
    with pytest.raises(KeyError):
        SiteBundle.of("nope", [])


def test_exporter_can_be_reused_for_the_next_batch():
    first, second = io.BytesIO(), io.BytesIO()
    exp = ParquetItemExporter(first, table="signatures")
    exp.export_item(SiteBundle.of("signatures", [{"value": "1"}]))
    exp.finish_exporting()
    exp.file = second
    exp.finish_exporting()
    first.seek(0)
    second.seek(0)
    assert pq.read_table(first).num_rows == 1
    assert pq.read_table(second).num_rows == 0


# --------------------------------------------------------------------------- AtomicFileFeedStorage


def _spooled(data: bytes):
    f = tempfile.TemporaryFile()
    f.write(data)
    return f


def test_store_publishes_final_file_without_tmp(tmp_path):
    target = tmp_path / "raw" / "run" / "pages" / "part-w1-00001.parquet"
    storage = AtomicFileFeedStorage(str(target))
    f = _spooled(b"PAR1 fake content")  # position at the end: storage must rewind
    storage._store_in_thread(f)
    assert target.read_bytes() == b"PAR1 fake content"
    assert sorted(p.name for p in target.parent.iterdir()) == ["part-w1-00001.parquet"]
    assert f.closed


def test_store_file_uri_with_escapes(tmp_path):
    target = tmp_path / "with space" / "part-w1-00002.parquet"
    storage = AtomicFileFeedStorage(target.as_uri(), feed_options={"format": "parquet"})
    assert storage.path == target
    storage._store_in_thread(_spooled(b"abc"))
    assert target.read_bytes() == b"abc"
    assert [p.name for p in target.parent.iterdir()] == ["part-w1-00002.parquet"]


def test_store_replaces_existing_part(tmp_path):
    target = tmp_path / "part-w1-00001.parquet"
    target.write_bytes(b"old old old old")
    AtomicFileFeedStorage(str(target))._store_in_thread(_spooled(b"new"))
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["part-w1-00001.parquet"]


def test_exporter_and_storage_together_produce_a_listed_part(tmp_path):
    layout = Layout(tmp_path)
    rid = new_run_id(NOW)
    uri = layout.part_uri_template(rid, "sites", "w1") % {"batch_id": 1}
    storage = AtomicFileFeedStorage(uri)
    f = tempfile.NamedTemporaryFile(prefix="feed-", dir=tmp_path)
    exp = ParquetItemExporter(f, table="sites")
    exp.start_exporting()
    exp.export_item(SiteBundle.of("sites", [site_row("a.de"), site_row("b.de")]))
    exp.finish_exporting()
    storage._store_in_thread(f)
    found = parts(layout.run_dir(rid), "sites")
    assert [p.name for p in found] == ["part-w1-00001.parquet"]
    t = pq.read_table(found[0])
    assert t.num_rows == 2
    assert_exact_schema(t.schema, "sites")
    assert not list(Path(layout.table_dir(rid, "sites")).glob("*.tmp"))
