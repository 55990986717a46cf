"""Open the analysts' DuckDB warehouse (read-only by default) and quote identifiers in one place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

DEFAULT_WAREHOUSE = Path(__file__).resolve().parents[2] / "out" / "demo" / "warehouse.duckdb"


def connect(path: str | Path | None = None, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """A connection to ``path`` (default: the demo warehouse). Read-only unless asked; a missing file is a
    ``FileNotFoundError`` with the command that builds it."""
    path = Path(path or DEFAULT_WAREHOUSE)
    if read_only and not path.is_file():
        raise FileNotFoundError(f"no warehouse at {path}: run `servicerisk build --out {path.parent}` first")
    return duckdb.connect(str(path), read_only=read_only)


def fetch_dicts(con, sql: str, params: list | dict | None = None) -> list[dict[str, Any]]:
    """Run ``sql`` with bound ``params`` (a list for ``?``, a dict for ``$name``) and return one dict per row."""
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (table/column name); the only way identifiers enter SQL text."""
    return '"' + name.replace('"', '""') + '"'
