"""``servicerisk query`` output: piped or redirected it prints CSV with every value whole; on a terminal a table
that folds long values instead of cutting them."""

from __future__ import annotations

import csv
import io
import os
import pty
import subprocess
import sys

import duckdb

from tests.conftest import ROOT, run_cli

SQL = "SELECT company_id, name FROM companies ORDER BY length(name) DESC, company_id LIMIT 3"


def _expected(demo_out) -> list[list[str]]:
    con = duckdb.connect(str(demo_out / "warehouse.duckdb"), read_only=True)
    try:
        return [list(r) for r in con.execute(SQL).fetchall()]
    finally:
        con.close()


def test_piped_query_prints_csv_with_full_values(demo_out):
    res = run_cli(["query", "--out", str(demo_out), SQL])
    assert res.returncode == 0, res.stderr
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["company_id", "name"]
    assert rows[1:] == _expected(demo_out)
    assert max(len(r[1]) for r in rows[1:]) > 40  # long enough that a table would have cut it
    assert "…" not in res.stdout


def test_query_on_a_terminal_prints_a_table_that_folds_long_values(demo_out):
    primary, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "60"}
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "query", "--out", str(demo_out), SQL],
                          stdout=secondary, stderr=subprocess.PIPE, cwd=ROOT, env=env, timeout=120)
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    text = b"".join(chunks).decode()
    assert proc.returncode == 0, proc.stderr
    assert "┃" in text or "│" in text  # a table, not CSV
    flat = "".join(ch for ch in text if ch not in "│┃ \r\n")
    for _, name in _expected(demo_out):
        assert name.replace(" ", "") in flat  # every character of the long value is there, folded over lines
