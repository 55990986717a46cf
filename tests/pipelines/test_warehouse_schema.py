"""The data dictionary documents every mart and every column the warehouse builds."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from common.yamlsections import merge_sections
from pipelines.warehouse import dictionary

SCHEMA = Path(__file__).resolve().parents[2] / "pipelines" / "warehouse" / "schema"


def test_every_mart_column_is_documented(tiny_warehouse):
    doc = dictionary.schema()["marts"]
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
    metrics = dictionary.schema()["metrics"]
    for name, m in metrics.items():
        assert m["formula"] and m["range"] and m["caveat"], name


def test_dictionary_sections_live_in_short_files_each_once(tmp_path):
    """The dictionary is a folder of section files (each under 500 lines, version in one of them); a section
    defined in two files is an error naming both."""
    files = sorted(SCHEMA.glob("*.yml"))
    assert len(files) > 1 and all(len(f.read_text(encoding="utf-8").splitlines()) < 500 for f in files)
    assert {"version", "marts", "metrics", "tables", "units"} <= set(dictionary.schema())
    for f in files:
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "zz_more.yml").write_text("version: 4\n", encoding="utf-8")
    with pytest.raises(dictionary.SchemaError, match=r"'version' is defined in both schema/version\.yml and "
                                                      r"schema/zz_more\.yml"):
        merge_sections(tmp_path, "schema", dictionary.SchemaError)
