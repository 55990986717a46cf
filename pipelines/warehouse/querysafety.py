"""What ``servicerisk query`` may run: statements that only read the warehouse, on a connection that can reach
no file, network or extension (DuckDB's ``enable_external_access`` off, configuration locked).

A read-only database still lets ``COPY … TO 'file'``, ``EXPORT DATABASE``, ``ATTACH``, ``INSTALL``/``LOAD`` and
``read_csv('/etc/…')`` touch the machine; the statement check names the refused kind in plain words, the
connection settings stop the rest (table functions reading files) with DuckDB's permission error.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

#: statement kinds a query may contain (DESCRIBE, SHOW and SUMMARIZE are SELECTs to DuckDB)
READING = frozenset({"SELECT", "EXPLAIN", "PRAGMA", "CALL"})
EXAMPLE = 'servicerisk query --out out/demo "SELECT service_id, sites FROM services LIMIT 10"'


class UnsafeQuery(ValueError):
    """The SQL is empty, does not parse, or would do more than read the warehouse; the message says which."""


def check_query(sql: str) -> None:
    """Raise ``UnsafeQuery`` unless ``sql`` holds one or more statements that only read."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as e:
        raise UnsafeQuery(f"the SQL does not parse: {str(e).splitlines()[0]}") from None
    if not statements:
        raise UnsafeQuery(f"no SQL given (only blanks or comments); for example: {EXAMPLE}")
    for st in statements:
        kind = st.type.name
        if kind not in READING:
            kinds = "INSTALL/LOAD" if kind == "LOAD" else kind
            raise UnsafeQuery(f"{kinds} statements are refused: query reads the warehouse and nothing else "
                              "(it is read-only; `servicerisk export` writes Parquet files)")


def connect_for_queries(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse at ``path`` without access to files, the network or extensions.
    Raises ``FileNotFoundError`` (with the command that builds it) when there is none."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no warehouse at {path}: run `servicerisk build --out {path.parent}` first")
    return duckdb.connect(str(path), read_only=True, config={
        "enable_external_access": False, "autoinstall_known_extensions": False,
        "autoload_known_extensions": False, "lock_configuration": True})
