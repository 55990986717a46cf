"""The vendor-documented cookie purposes of ``reference/cookie_purposes.csv``: reading the rows and applying them to
the services' cookie lists (they win over the imported Open Cookie Database category)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.catalog.records import Cookie, Service

COOKIE_OVERRIDES_FILE = Path("reference") / "cookie_purposes.csv"
COOKIE_OVERRIDE_COLUMNS = ("service", "name", "match", "purpose", "status", "source", "as_of", "note")


@dataclass(frozen=True)
class CookieOverride:
    """One row of ``reference/cookie_purposes.csv``: the vendor-documented purpose of a cookie, which wins over
    the imported Open Cookie Database category; ``status: retired`` drops a cookie the vendor no longer sets,
    ``vendor_site`` one that only the vendor's own website sets (the embedded product does not)."""

    service: str
    name: str
    match: str
    purpose: str
    status: str
    source: str
    as_of: str
    note: str = ""
    line: int = 0


def read_cookie_overrides(data_dir: str | Path, problems: list[str]) -> tuple[CookieOverride, ...]:
    """The override rows (none when the file is missing); structural problems go to ``problems``."""
    import csv

    path = Path(data_dir) / COOKIE_OVERRIDES_FILE
    if not path.exists():
        return ()
    where = str(COOKIE_OVERRIDES_FILE)
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(line for line in fh if not line.startswith("#"))
        if tuple(reader.fieldnames or ()) != COOKIE_OVERRIDE_COLUMNS:
            problems.append(f"{where}: header must be {','.join(COOKIE_OVERRIDE_COLUMNS)}")
            return ()
        for i, row in enumerate(reader, start=2):
            rows.append(CookieOverride(**{k: (row.get(k) or "").strip() for k in COOKIE_OVERRIDE_COLUMNS}, line=i))
    return tuple(rows)


def apply_cookie_overrides(services: list[Service], overrides: tuple[CookieOverride, ...]) -> list[Service]:
    """Services with their cookie purposes set (retired and vendor-site cookies dropped) by ``overrides``; a cookie named
    in the table but missing from the service is added with the table's source."""
    from dataclasses import replace

    by_service: dict[str, dict[str, CookieOverride]] = {}
    for o in overrides:
        by_service.setdefault(o.service, {})[o.name] = o
    out = []
    for s in services:
        table = by_service.get(s.id)
        if not table:
            out.append(s)
            continue
        cookies, seen = [], set()
        for c in s.cookies:
            o = table.get(c.name)
            seen.add(c.name)
            if o is None:
                cookies.append(c)
            elif o.status == "active":
                cookies.append(Cookie(c.name, o.match or c.match, o.purpose, c.lifetime, o.source))
        for name, o in table.items():
            if name not in seen and o.status == "active":
                cookies.append(Cookie(name, o.match or "exact", o.purpose, "unknown", o.source))
        out.append(replace(s, cookies=tuple(cookies)))
    return out
