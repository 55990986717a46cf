"""The data dictionary documents every mart and every column the warehouse builds."""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml

SCHEMA = Path(__file__).resolve().parents[2] / "pipelines" / "warehouse" / "schema.yml"


def test_every_mart_column_is_documented(tiny_warehouse):
    doc = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))["marts"]
    con = duckdb.connect(str(tiny_warehouse), read_only=True)
    marts = [r[0].removesuffix("_all") for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_name LIKE '%\\_all' ESCAPE '\\'").fetchall()]
    assert set(marts) == set(doc), set(marts) ^ set(doc)
    for mart in marts:
        cols = {r[0] for r in con.execute(f'DESCRIBE "{mart}_all"').fetchall()}
        assert cols == set(doc[mart]["columns"]), (mart, cols ^ set(doc[mart]["columns"]))
        assert doc[mart]["grain"].startswith("one row per")
        view_cols = {r[0] for r in con.execute(f'DESCRIBE "{mart}"').fetchall()}
        assert view_cols == cols


def test_metrics_have_formula_range_caveat():
    metrics = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))["metrics"]
    for name, m in metrics.items():
        assert m["formula"] and m["range"] and m["caveat"], name
