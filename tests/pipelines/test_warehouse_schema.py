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


def test_columns_added_to_an_older_warehouse_keep_their_types():
    """Schema evolution: a risk store created before structured evidence gains evidence_items/checks as lists of
    structs (not strings), so the pages can read them after the re-assessment."""

    from pipelines.warehouse import risk as wr
    from pipelines.warehouse.build import _add_missing_columns

    con = duckdb.connect()
    con.execute("CREATE TABLE _service_risk (run_id VARCHAR, service_id VARCHAR)")
    _add_missing_columns(con, "_service_risk", wr.SERVICE_SCHEMA)
    types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = '_service_risk'")
                 .fetchall())
    assert types["evidence_items"] == "STRUCT(factor VARCHAR, code VARCHAR, params VARCHAR)[]"
    assert types["checks"].startswith("STRUCT(condition ") and types["to_check"] == "VARCHAR[]"
    assert types["as_of"] == "DATE"
    con.execute("INSERT INTO _service_risk (run_id, evidence_items) VALUES "
                "('r', [{'factor': 'F1', 'code': 'catalog_sets_no_cookies', 'params': '{}'}])")
    assert con.execute("SELECT evidence_items[1].code FROM _service_risk").fetchone() == ("catalog_sets_no_cookies",)
