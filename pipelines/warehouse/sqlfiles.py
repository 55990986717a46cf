"""The one reader of the project's ``.sql`` files: ``<package>/sql/<name>.sql`` read as a package resource (so an
installed wheel finds them as a checkout does) and run with bound parameters only."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

from pipelines.warehouse.connect import fetch_dicts

_PARAM = re.compile(r"\$([A-Za-z_]\w*)")


@cache
def sql_text(package: str, name: str) -> str:
    """The text of ``sql/<name>.sql`` inside ``package`` (``"pipelines.scan"``, ``"site"``); ``name`` may name a
    layer folder (``"queries/cookie_lifetimes"``). Raises ``FileNotFoundError`` for a file that is not there."""
    return resources.files(package).joinpath("sql", *f"{name}.sql".split("/")).read_text(encoding="utf-8")


def sql_layer(package: str, layer: str) -> list[tuple[str, str]]:
    """The files of ``sql/<layer>/`` in run order (names may carry a numeric prefix: ``30_sites.sql``) as
    ``(stem, text)`` pairs."""
    folder = resources.files(package).joinpath("sql", layer)
    stems = sorted(p.name.removesuffix(".sql") for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(stem, sql_text(package, f"{layer}/{stem}")) for stem in stems]


def named_params(sql: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Those of ``params`` that ``sql`` names (``$run_id``): DuckDB refuses unused parameters, so one dict can serve
    several statements."""
    used = set(_PARAM.findall(sql))
    return {k: v for k, v in (params or {}).items() if k in used}


def sql_rows(con, package: str, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Rows of ``sql/<name>.sql`` as dicts, with those of ``params`` the file names bound."""
    sql = sql_text(package, name)
    return fetch_dicts(con, sql, named_params(sql, params))


def sql_row(con, package: str, name: str, params: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The first row of :func:`sql_rows`, or None when the query returns none."""
    rows = sql_rows(con, package, name, params)
    return rows[0] if rows else None
