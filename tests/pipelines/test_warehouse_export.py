"""``servicerisk export`` on the demo warehouse: ``X.parquet`` is the newest run and ``X_all.parquet`` every run (a
pandas sum counts each site once), every field carries its dictionary text, dates and timestamps are typed, the
file says its run and catalog version, and ``dictionary.md``/``.json`` and ``--csv`` files sit beside."""

from __future__ import annotations

import csv
import json

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.warehouse import dictionary
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def exported(demo_out, tmp_path_factory):
    target = tmp_path_factory.mktemp("export")
    res = run_cli(["export", "--out", str(demo_out), "--parquet", str(target / "pq"), "--csv", str(target / "csv")])
    assert res.returncode == 0, res.stderr
    return target


def _warehouse(demo_out, sql: str, params=None):
    con = duckdb.connect(str(demo_out / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_services_parquet_is_the_latest_run_and_all_is_every_run(exported, demo_out):
    runs = [r[0] for r in _warehouse(demo_out, "SELECT run_id FROM _runs ORDER BY run_id")]
    assert len(runs) == 2  # the demo's two monthly crawls
    per_run = {}
    for run in runs:
        per_run[run] = dict(_warehouse(demo_out, "SELECT service_id, count(DISTINCT site_input) FROM site_services_all s "
                                       "JOIN sites_all USING (run_id, site_input) WHERE run_id = ? AND outcome = 'ok' "
                                       "GROUP BY 1", [run]))
    latest = pd.read_parquet(exported / "pq" / "services.parquet")
    every = pd.read_parquet(exported / "pq" / "services_all.parquet")
    assert set(latest.run_id) == {runs[-1]}
    assert latest.groupby("service_id").sites.sum().to_dict() == per_run[runs[-1]]
    both = {k: per_run[runs[0]].get(k, 0) + per_run[runs[1]].get(k, 0) for k in per_run[runs[0]].keys() | per_run[runs[1]].keys()}
    assert every.groupby("service_id").sites.sum().to_dict() == both
    gtm = latest.set_index("service_id").sites["google-tag-manager"]
    assert every[every.service_id == "google-tag-manager"].sites.sum() > gtm  # the two files differ
    meta = pq.read_schema(exported / "pq" / "services.parquet").metadata
    assert meta[b"servicerisk.run_id"].decode() == runs[-1]
    assert meta[b"servicerisk.catalog_version"].decode() == _warehouse(
        demo_out, "SELECT value FROM _meta WHERE key = 'catalog_digest'")[0][0]
    assert pq.read_schema(exported / "pq" / "services_all.parquet").metadata[b"servicerisk.run_id"].decode() == ",".join(runs)


def test_every_parquet_field_carries_its_dictionary_text(exported):
    docs = dictionary.table_docs()
    files = sorted((exported / "pq").glob("*.parquet"))
    assert len(files) == 2 * len(dictionary.schema()["marts"])
    for path in files:
        doc = docs[path.stem]
        for f in pq.read_schema(path):
            assert f.metadata and f.metadata[b"description"].decode() == doc.columns[f.name].description, (path.name, f.name)
    share = pq.read_schema(exported / "pq" / "services.parquet").field("share").metadata
    assert share[b"unit"] == b"fraction of sites (0..1)"
    assert share[b"formula"].decode() == dictionary.schema()["metrics"]["share"]["formula"]


def test_dates_and_timestamps_are_typed(exported):
    types = {(p, c): pq.read_schema(exported / "pq" / f"{p}.parquet").field(c).type for p, c in
             (("companies", "dpf_checked_on"), ("service_risk", "as_of"), ("cloaking", "as_of"), ("hosts", "resolved_at"))}
    assert types[("companies", "dpf_checked_on")] == pa.date32()
    assert types[("service_risk", "as_of")] == pa.date32()
    assert types[("cloaking", "as_of")] == pa.date32()
    assert pa.types.is_timestamp(types[("hosts", "resolved_at")])


def test_dictionary_files_and_csv_beside_the_data(exported):
    for sub, ext in (("pq", "parquet"), ("csv", "csv")):
        data = json.loads((exported / sub / "dictionary.json").read_text(encoding="utf-8"))
        assert set(data["tables"]) == set(dictionary.schema()["marts"])
        assert data["files"]["services"] == f"services.{ext}" and data["files"]["services_all"] == f"services_all.{ext}"
        md = (exported / sub / "dictionary.md").read_text(encoding="utf-8")
        assert "## services\n" in md and "| `share` | prevalence, see metrics.share | fraction of sites (0..1) |" in md
    with open(exported / "csv" / "services.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    latest = pd.read_parquet(exported / "pq" / "services.parquet")
    assert len(rows) == len(latest) and list(rows[0]) == list(latest.columns)
    assert sorted(int(r["sites"]) for r in rows) == sorted(latest.sites.tolist())


def test_export_needs_a_format(demo_out):
    res = run_cli(["export", "--out", str(demo_out)])
    assert res.returncode == 2 and "--parquet" in res.stderr
