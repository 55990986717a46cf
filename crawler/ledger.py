"""What an unsealed run already holds: the committed Parquet parts are the ledger a resumed crawl trusts.

Every site yields one item that feeds every table, so part ``n`` of a writer covers the same sites in all
tables; a batch counts as committed only when all its table parts exist. Parts of incomplete batches (a kill
between two renames) and temporary files are removed before resuming, so no half-written site survives.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq

from common.tables import LEGACY_TABLES, TABLES

PART_RE = re.compile(r"^part-(?P<writer>[A-Za-z0-9_.-]+)-(?P<n>\d+)\.parquet$")


def run_tables(run_dir: Path) -> tuple[str, ...]:
    """The tables this run writes: named in its ``.input.json``; runs from before browser mode do not name them:
    the six original tables plus any later table they have a folder for (``policy_texts``)."""
    try:
        tables = json.loads((run_dir / ".input.json").read_text(encoding="utf-8")).get("tables")
    except (OSError, ValueError):
        tables = None
    if tables:
        return tuple(t for t in tables if t in TABLES)
    return tuple(t for t in TABLES if t in LEGACY_TABLES or (run_dir / t).is_dir())


def _batches(run_dir: Path) -> dict[tuple[str, int], set[str]]:
    """(writer, batch number) -> tables that have that part."""
    out: dict[tuple[str, int], set[str]] = {}
    for table in TABLES:
        d = run_dir / table
        if not d.is_dir():
            continue
        for p in d.iterdir():
            m = PART_RE.match(p.name)
            if m:
                out.setdefault((m["writer"], int(m["n"])), set()).add(table)
    return out


def committed(run_dir: Path) -> set[tuple[str, int]]:
    """Batches whose parts exist in every table."""
    need = set(run_tables(run_dir))
    return {key for key, tables in _batches(run_dir).items() if need <= tables}


def clean_incomplete(run_dir: Path) -> list[Path]:
    """Delete temporary files and the parts of batches missing in some table; returns what was removed."""
    removed: list[Path] = []
    complete = committed(run_dir)
    for table in TABLES:
        d = run_dir / table
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            m = PART_RE.match(p.name)
            if p.name.endswith(".tmp") or (m and (m["writer"], int(m["n"])) not in complete):
                p.unlink()
                removed.append(p)
    return removed


def done_domains(run_dir: Path) -> set[str]:
    """Input domains recorded in committed batches of the sites table."""
    done: set[str] = set()
    for writer, n in committed(run_dir):
        path = run_dir / "sites" / f"part-{writer}-{n:05d}.parquet"
        done.update(pq.read_table(path, columns=["input_domain"]).column(0).to_pylist())
    return done


def writers(run_dir: Path) -> list[str]:
    """Writer ids that have committed parts in the ``sites`` table."""
    d = run_dir / "sites"
    return sorted({m["writer"] for p in d.iterdir() if (m := PART_RE.match(p.name))}) if d.is_dir() else []
