"""The on-disk layout every stage uses: ``OUT/raw/<run_id>/<table>/part-<writer>-<n>.parquet`` and friends."""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

MANIFEST = "manifest.json"
REJECTED = "rejected.csv"
DOMAINS = "domains.csv"
RUN_ID_RE = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}\Z")
WRITER_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id such as ``20261129T084100Z-3fa2c1``."""
    now = now or datetime.now(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def check_run_id(run_id: str) -> str:
    """Return ``run_id`` if it is well-formed (it becomes a folder name), else raise ``ValueError``."""
    if not RUN_ID_RE.match(run_id or ""):
        raise ValueError(f"invalid run id {run_id!r} (expected e.g. 20261129T084100Z-3fa2c1)")
    return run_id


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` under a temporary name, then rename it: readers never see half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def new_writer_id() -> str:
    """A short id naming this process's parts, unique among the writers of one run."""
    return "w" + secrets.token_hex(3)


@dataclass(frozen=True)
class Layout:
    """Paths under one output folder ``--out DIR``."""

    out: Path

    @property
    def raw(self) -> Path:
        return self.out / "raw"

    @property
    def enriched(self) -> Path:
        return self.out / "enriched"

    @property
    def scans(self) -> Path:
        return self.out / "scans"

    @property
    def warehouse(self) -> Path:
        return self.out / "warehouse.duckdb"

    @property
    def kb(self) -> Path:
        return self.out / "kb"

    def run_dir(self, run_id: str, root: Path | None = None) -> Path:
        return (root or self.raw) / check_run_id(run_id)

    def table_dir(self, run_id: str, table: str) -> Path:
        return self.run_dir(run_id) / table

    def part_uri_template(self, run_id: str, table: str, writer: str) -> str:
        """A Scrapy feed URI whose ``%(batch_id)`` placeholder numbers the parts."""
        if not WRITER_RE.match(writer):
            raise ValueError(f"invalid writer id {writer!r}")
        # a plain absolute path (no file:// URI) so the %(batch_id) placeholder is not percent-quoted
        return str(self.table_dir(run_id, table).resolve() / f"part-{writer}-%(batch_id)05d.parquet")

    def sealed_runs(self, root: Path | None = None) -> list[str]:
        """Ids of sealed runs (those with a manifest), oldest first. Unsealed runs are ignored."""
        root = root or self.raw
        if not root.is_dir():
            return []
        return sorted(
            p.name for p in root.iterdir() if p.is_dir() and RUN_ID_RE.match(p.name) and (p / MANIFEST).is_file()
        )

    def latest_run(self, root: Path | None = None) -> str | None:
        runs = self.sealed_runs(root)
        return runs[-1] if runs else None

    def read_manifest(self, run_id: str, root: Path | None = None) -> dict:
        return json.loads((self.run_dir(run_id, root) / MANIFEST).read_text("utf-8"))


def parts(run_dir: Path, table: str) -> list[Path]:
    """Committed Parquet parts of ``table`` in a run (temporary files are never listed)."""
    d = run_dir / table
    return sorted(d.glob("part-*.parquet")) if d.is_dir() else []
