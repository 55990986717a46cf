"""`servicerisk query` only reads: empty SQL is a usage error, and nothing it runs writes a file, reads one outside
the warehouse, attaches a database or loads an extension."""

from __future__ import annotations

import pytest

from pipelines.exits import USAGE
from pipelines.warehouse.build import build
from tests.conftest import run_cli
from tests.pipelines.warehouse_fixture import write_tiny_run


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    out = tmp_path_factory.mktemp("query")
    write_tiny_run(out)
    build(out)
    return out


@pytest.mark.parametrize("sql", ["", "   ", "/* only a comment */", ";"])
def test_empty_sql_is_a_usage_error_with_an_example(out, sql):
    res = run_cli(["query", "--out", str(out), sql])
    assert res.returncode == USAGE, res.stderr
    assert "no SQL given" in res.stderr and "servicerisk query --out" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("sql,kind", [
    ("COPY (SELECT * FROM sites) TO '{target}'", "COPY"),
    ("EXPORT DATABASE '{dir}'", "EXPORT"),
    ("ATTACH '{dir}/other.duckdb' AS other", "ATTACH"),
    ("INSTALL httpfs", "INSTALL/LOAD"),
    ("LOAD httpfs", "INSTALL/LOAD"),
    ("SELECT 1; COPY sites TO '{target}'", "COPY"),
    ("DELETE FROM sites_all", "DELETE"),
])
def test_statements_that_do_more_than_read_are_refused(out, tmp_path, sql, kind):
    target = tmp_path / "leak.csv"
    res = run_cli(["query", "--out", str(out), sql.format(target=target, dir=tmp_path)])
    assert res.returncode == USAGE, res.stderr
    assert f"{kind} statements are refused" in res.stderr and "read-only" in res.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_table_functions_cannot_read_files(out, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a,b\n1,2\n", encoding="utf-8")
    res = run_cli(["query", "--out", str(out), f"SELECT * FROM read_csv('{secret}')"])
    assert res.returncode == USAGE and "query failed" in res.stderr
    assert "disabled by configuration" in res.stderr or "Permission" in res.stderr


def test_reading_the_warehouse_still_works(out):
    for sql in ("SELECT count(*) AS n FROM sites", "DESCRIBE sites", "SUMMARIZE services",
                "EXPLAIN SELECT * FROM services", "PRAGMA table_info('sites')"):
        res = run_cli(["query", "--out", str(out), "--csv", sql])
        assert res.returncode == 0, (sql, res.stderr)
