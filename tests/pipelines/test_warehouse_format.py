"""The warehouse opens in every current DuckDB client and describes itself: written in the pinned storage format
(the DuckDB command-line client of the 1.5 line opens the demo warehouse), engine and storage version in ``_meta``,
and every column of the marts, run tables and staging views carries its ``schema/*.yml`` text as a COMMENT."""

from __future__ import annotations

import json
import subprocess

import duckdb

from pipelines.warehouse import dictionary
from pipelines.warehouse.connect import STORAGE_VERSION, open_writable, storage_version
from tests.conftest import require_tool


def _cli(path, sql: str) -> list[dict]:
    exe = require_tool("duckdb")
    proc = subprocess.run([exe, "-readonly", "-json", str(path), "-c", sql], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout or "[]")


def _cli_version() -> str:
    proc = subprocess.run([require_tool("duckdb"), "-version"], capture_output=True, text=True, timeout=60)
    return proc.stdout.split()[0]


def test_duckdb_cli_opens_the_demo_warehouse_and_reads_its_comments(demo_out):
    wh = demo_out / "warehouse.duckdb"
    assert _cli_version().startswith("v1."), "the CLI under test should be the 1.x line that refuses format 69"
    rows = _cli(wh, "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'services' ORDER BY column_index")
    comments = {r["column_name"]: r["comment"] for r in rows}
    assert comments["share"].startswith(dictionary.schema()["marts"]["services"]["columns"]["share"])
    assert "unit: fraction of sites (0..1)" in comments["share"]
    assert "formula: sites / sites_total" in comments["share"]
    assert all(comments.values()), [c for c, v in comments.items() if not v]
    table = _cli(wh, "SELECT comment FROM duckdb_views() WHERE view_name = 'services'")[0]["comment"]
    assert "one row per run and detected service" in table and "newest" in table
    # and it answers a query the README shows
    top = _cli(wh, "SELECT service_id, sites FROM services ORDER BY sites DESC, service_id LIMIT 1")
    con = duckdb.connect(str(wh), read_only=True)
    try:
        assert top == [dict(zip(("service_id", "sites"), con.execute(
            "SELECT service_id, sites FROM services ORDER BY sites DESC, service_id LIMIT 1").fetchone(), strict=True))]
        meta = dict(con.execute("SELECT key, value FROM _meta").fetchall())
    finally:
        con.close()
    assert meta["engine_version"] == duckdb.__version__
    assert meta["storage_version"].rstrip("+") == STORAGE_VERSION


def test_every_column_of_marts_run_tables_and_staging_has_a_comment(demo_out):
    con = duckdb.connect(str(demo_out / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE NOT internal AND schema_name = 'main' "
            "AND (table_name LIKE 'raw\\_%' ESCAPE '\\' OR table_name LIKE 'enr\\_%' ESCAPE '\\' "
            "OR table_name LIKE 'stg\\_%' ESCAPE '\\' OR table_name IN ('detections', 'policy_coverage', '_runs', '_meta') "
            "OR table_name IN (SELECT unnest(?)))", [list(dictionary.table_docs())]).fetchall()
        tables = dict(con.execute("SELECT table_name, comment FROM duckdb_tables() UNION ALL "
                                  "SELECT view_name, comment FROM duckdb_views() WHERE NOT internal").fetchall())
    finally:
        con.close()
    described = {(t, c) for t, c, comment in rows if comment}
    missing = sorted({(t, c) for t, c, _ in rows} - described)
    assert not missing, f"columns without a COMMENT (describe them in pipelines/warehouse/schema/): {missing}"
    assert len({t for t, _ in described}) >= 40 and len(described) >= 700, (len({t for t, _ in described}), len(described))
    for name in ("raw_sites", "enr_hosts", "stg_sites", "sites_all", "sites", "detections"):
        assert tables[name], name
    assert tables["stg_sites"] == "one row per input domain per run"  # from the SQL file's grain line


def test_a_warehouse_in_another_storage_format_is_rewritten_in_the_pinned_one(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path), config={"storage_compatibility_version": "latest"})
    con.execute("CREATE TABLE t AS SELECT 42 AS x")
    con.execute("CREATE VIEW v AS SELECT x + 1 AS y FROM t")
    old = storage_version(con)
    con.close()
    assert old.rstrip("+") != STORAGE_VERSION  # DuckDB's newest format, which the 1.5 clients refuse
    con = open_writable(path)
    try:
        assert storage_version(con).rstrip("+") == STORAGE_VERSION
        assert con.execute("SELECT y FROM v").fetchall() == [(43,)]
    finally:
        con.close()
    assert _cli(path, "SELECT y FROM v") == [{"y": 43}]
    assert not list(tmp_path.glob(".*migrate*"))


def test_dates_and_timestamps_are_typed(tmp_path):
    from pipelines.warehouse.build import build
    from tests.pipelines.warehouse_fixture import write_tiny_run

    write_tiny_run(tmp_path)
    build(tmp_path)
    wh = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(wh), read_only=True)
    try:
        types = dict(con.execute("SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name IN ('_runs', '_run_companies', 'companies_all')").fetchall())
        started = con.execute("SELECT started_at FROM _runs").fetchall()[0][0]
    finally:
        con.close()
    assert types["_runs.started_at"] == types["_runs.loaded_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["_run_companies.dpf_checked_on"] == types["companies_all.dpf_checked_on"] == "DATE"
    assert (started.year, started.month, started.day) == (2026, 11, 1)  # the tiny run's start
