"""Open the analysts' DuckDB warehouse (read-only by default), in the one storage format every current DuckDB
client reads and only at the schema version this code reads, and quote identifiers in one place."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb

DEFAULT_WAREHOUSE = Path(__file__).resolve().parents[2] / "out" / "demo" / "warehouse.duckdb"

# The storage format warehouses are written in. DuckDB 2.x writes format 69 by default, which the DuckDB CLI 1.5
# and the Node/R/Java clients of the 1.5 line refuse ("can only read versions between 64 and 68"); pinned to
# v1.5.0, the same file opens in all of them (tests/pipelines/test_warehouse_format.py opens it with the CLI).
STORAGE_VERSION = "v1.5.0"


def connect(path: str | Path | None = None, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """A connection to ``path`` (default: the demo warehouse). Read-only unless asked; a missing file is a
    ``FileNotFoundError`` with the command that builds it, one of another schema version a
    :class:`WarehouseVersionError` with the command that rebuilds it. A writable connection creates a new file in
    ``STORAGE_VERSION`` and rewrites an existing file that another format holds (see ``open_writable``)."""
    path = Path(path or DEFAULT_WAREHOUSE)
    if read_only:
        if not path.is_file():
            raise FileNotFoundError(f"no warehouse at {path}: run `servicerisk build --out {path.parent}` first")
        con = duckdb.connect(str(path), read_only=True)
        try:
            require_schema(con, path)
        except WarehouseVersionError:
            con.close()
            raise
        return con
    return open_writable(path)


SCHEMA_KEY = "schema_version"  # the _meta key the build writes and every reader compares


class WarehouseVersionError(FileNotFoundError):
    """A warehouse whose schema version (``_meta``) is not the one this servicerisk reads: the warehouse it needs is
    not there. A ``FileNotFoundError``, so every command reports it as it reports a missing warehouse: one line
    naming the command that builds it."""


def stored_schema_version(con) -> int | None:
    """The schema version ``_meta`` records: None for a file without tables (a new warehouse), 0 for one built
    before the version was recorded."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() "
                                        "WHERE database_name = current_database()").fetchall()}
    if not tables:
        return None
    rows = con.execute("SELECT value FROM _meta WHERE key = ?", [SCHEMA_KEY]).fetchall() if "_meta" in tables else []
    return int(rows[0][0]) if rows and str(rows[0][0]).isdigit() else 0


def require_schema(con, path: str | Path, *, allow_new: bool = False) -> None:
    """Raise :class:`WarehouseVersionError` unless the warehouse ``con`` (at ``path``) has the schema version this
    code writes (``version`` in ``schema/version.yml``); a file without tables passes when ``allow_new`` (a first build).
    There is no migration: a warehouse of another version is rebuilt from its run folders."""
    from pipelines.warehouse.dictionary import version  # the schema file's reader imports this module

    found, wanted = stored_schema_version(con), version()
    if found == wanted or (found is None and allow_new):
        return
    path = Path(path)
    age = "a newer" if (found or 0) > wanted else "an older"
    raise WarehouseVersionError(
        f"{path} was built by {age} servicerisk (schema version {found or 0}, this one reads {wanted}): "
        f"rebuild with `servicerisk build --rebuild --out {path.parent}`")


def _config() -> dict[str, str]:
    return {"storage_compatibility_version": STORAGE_VERSION}


def storage_version(con) -> str | None:
    """The storage format of the connection's main database file (``v1.5.0+`` style), None in memory."""
    row = con.execute("SELECT tags['storage_version'] FROM duckdb_databases() "
                      "WHERE database_name = current_database()").fetchone()
    return row[0] if row and row[0] else None


def engine_version() -> str:
    return duckdb.__version__


def open_writable(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-write connection to ``path`` in ``STORAGE_VERSION``. An existing file in another storage format
    (written by an earlier servicerisk with DuckDB's default) is copied into a new file of the pinned format,
    which replaces it; a failure leaves the old file as it was."""
    path = Path(path)
    con = duckdb.connect(str(path), config=_config())
    current = storage_version(con)
    if current is None or current.rstrip("+") == STORAGE_VERSION:
        return con
    con.close()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.migrate")
    tmp.unlink(missing_ok=True)
    mig = duckdb.connect(str(tmp), config=_config())
    try:
        mig.execute("ATTACH ? AS _sr_source (READ_ONLY)", [str(path)])
        mig.execute(f"COPY FROM DATABASE _sr_source TO {quote_ident(mig.execute('SELECT current_database()').fetchone()[0])}")
        mig.execute("DETACH _sr_source")
        mig.execute("CHECKPOINT")
    except BaseException:
        mig.close()
        tmp.unlink(missing_ok=True)
        raise
    mig.close()
    os.replace(tmp, path)
    Path(f"{path}.wal").unlink(missing_ok=True)
    return duckdb.connect(str(path), config=_config())


def fetch_dicts(con, sql: str, params: list | dict | None = None) -> list[dict[str, Any]]:
    """Run ``sql`` with bound ``params`` (a list for ``?``, a dict for ``$name``) and return one dict per row."""
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (table/column name); the only way identifiers enter SQL text."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """Quote a string literal for the few statements DuckDB gives no bound parameter (``COMMENT ON … IS``,
    ``COPY … TO 'file'``); everywhere else values are bound parameters."""
    return "'" + str(text).replace("'", "''") + "'"
