"""The warehouse data dictionary: ``schema/*.yml`` (section files: version, marts, metrics, tables, units) read
once and turned into table docs, which the build applies as ``COMMENT ON`` statements, exports carry as Parquet
metadata and ``servicerisk docs`` prints.

``schema/`` owns every text: the marts (each documented once, for the table ``X_all`` and the view ``X``),
the run, enrichment and staging tables (``tables``), the metrics (formula, range, caveat) and the units of
numeric columns. A staging view takes its grain from its SQL file's ``-- grain:`` line.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from common.yamlsections import merge_sections
from pipelines.warehouse.connect import quote_ident, quote_literal
from pipelines.warehouse.sqlfiles import sql_text

_METRIC_REF = re.compile(r"\bmetrics?[. ](\w+)")


@dataclass(frozen=True)
class ColumnDoc:
    name: str
    description: str
    unit: str | None = None
    formula: str | None = None


@dataclass(frozen=True)
class TableDoc:
    name: str
    grain: str
    columns: dict[str, ColumnDoc] = field(default_factory=dict)
    mart: str | None = None  # the mart's name for X_all and X
    latest_only: bool = False  # the view X: the newest run only

    @property
    def comment(self) -> str:
        if self.mart is None:
            return self.grain
        scope = "newest dataset run only (view)" if self.latest_only else f"every run (the view {self.mart} shows the newest)"
        return f"Grain: {self.grain}; {scope}."


class SchemaError(ValueError):
    """A file of the data dictionary (``schema/``) is missing, malformed, or repeats another file's section."""


@functools.cache
def schema() -> dict[str, Any]:
    """The dictionary as loaded: the sections of ``schema/*.yml`` merged (found with importlib.resources, so an
    installed wheel has them too)."""
    return merge_sections(resources.files("pipelines.warehouse").joinpath("schema"), "warehouse/schema", SchemaError)


def version() -> int:
    return int(schema()["version"])


def _staging_grain(name: str) -> str:
    sql = sql_text("pipelines.warehouse", f"staging/{name}")
    m = re.search(r"^-- grain: (.+)$", sql, flags=re.M)
    return (m.group(1).strip() if m else name)


def _column(name: str, text: str, metrics: dict, units: dict) -> ColumnDoc:
    ref = _METRIC_REF.search(text)
    metric = metrics.get(name) or (metrics.get(ref.group(1)) if ref else None)
    return ColumnDoc(name, str(text), units.get(name), metric["formula"] if metric else None)


@functools.cache
def table_docs() -> dict[str, TableDoc]:
    """Every documented table and view by name: ``X_all`` and ``X`` per mart, then ``tables``."""
    s = schema()
    metrics, units = s["metrics"], s.get("units", {})
    out: dict[str, TableDoc] = {}
    for mart, spec in s["marts"].items():
        cols = {c: _column(c, t, metrics, units) for c, t in spec["columns"].items()}
        out[f"{mart}_all"] = TableDoc(f"{mart}_all", spec["grain"], cols, mart=mart)
        out[mart] = TableDoc(mart, spec["grain"], cols, mart=mart, latest_only=True)
    tables = s.get("tables", {})
    for name, spec in tables.items():
        if "source" in spec:
            continue
        cols = {c: _column(c, t, metrics, units) for c, t in spec["columns"].items()}
        out[name] = TableDoc(name, spec["grain"], cols)
    for name, spec in tables.items():
        if "source" not in spec:
            continue
        own = {c: _column(c, t, metrics, units) for c, t in (spec.get("columns") or {}).items()}
        out[name] = TableDoc(name, _staging_grain(name), {**out[spec["source"]].columns, **own})
    return out


def apply_comments(con) -> dict[str, int]:
    """``COMMENT ON`` every documented table/view of ``con`` and each of its documented columns that exists.
    Returns ``{"tables": n, "columns": n}``; views are recreated by every build, so this runs after the models."""
    kinds = dict(con.execute("SELECT table_name, table_type FROM information_schema.tables "
                             "WHERE table_schema = 'main'").fetchall())
    present: dict[str, set[str]] = {}
    for table, column in con.execute("SELECT table_name, column_name FROM information_schema.columns "
                                     "WHERE table_schema = 'main'").fetchall():
        present.setdefault(table, set()).add(column)
    n_tables = n_cols = 0
    con.execute("BEGIN TRANSACTION")  # one commit for ~700 statements, not one each (6x faster)
    try:
        for name, doc in table_docs().items():
            if name not in kinds:
                continue
            kind = "VIEW" if kinds[name] == "VIEW" else "TABLE"
            con.execute(f"COMMENT ON {kind} {quote_ident(name)} IS {quote_literal(doc.comment)}")
            n_tables += 1
            for col in doc.columns.values():
                if col.name in present.get(name, ()):
                    con.execute(f"COMMENT ON COLUMN {quote_ident(name)}.{quote_ident(col.name)} IS "
                                f"{quote_literal(column_comment(col))}")
                    n_cols += 1
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return {"tables": n_tables, "columns": n_cols}


def column_comment(col: ColumnDoc) -> str:
    """A column's comment: its description, then unit and formula when it has them."""
    extra = [f"unit: {col.unit}"] if col.unit else []
    extra += [f"formula: {col.formula}"] if col.formula else []
    return col.description + (f" [{'; '.join(extra)}]" if extra else "")


def markdown(names: list[str] | None = None, note: str = "") -> str:
    """The dictionary as Markdown: every mart (or the marts ``names``) with grain, columns and units, then every
    metric; ``note`` is a paragraph under the intro."""
    docs = table_docs()
    marts = schema()["marts"]
    lines = ["# servicerisk warehouse data dictionary", "",
             "Each mart `X_all` keeps every run; the view `X` shows the newest crawl run.", ""]
    lines += [note, ""] if note else []
    for name in names if names is not None else list(marts):
        doc = docs[name]
        lines += [f"## {name}", "", f"Grain: {doc.grain}.", "", "| column | meaning | unit |", "|---|---|---|"]
        lines += [f"| `{c.name}` | {_cell(c.description)} | {c.unit or ''} |" for c in doc.columns.values()]
        lines.append("")
    lines += ["## Metrics", ""]
    for name, m in schema()["metrics"].items():
        lines += [f"### {name}", "", f"- formula: {m['formula']}", f"- range: {m['range']}", f"- caveat: {m['caveat']}", ""]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def as_json(names: list[str] | None = None) -> dict[str, Any]:
    """The dictionary as plain data: ``{version, tables: {name: {grain, columns: {col: {...}}}}, metrics}``."""
    docs = table_docs()
    return {"version": version(),
            "tables": {n: {"grain": docs[n].grain,
                           "columns": {c.name: {"description": c.description, "unit": c.unit, "formula": c.formula}
                                       for c in docs[n].columns.values()}}
                       for n in (names if names is not None else list(schema()["marts"]))},
            "metrics": schema()["metrics"]}
