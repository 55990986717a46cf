"""Build and write a run's ``manifest.json`` (written last: a run with a manifest is sealed)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

import pyarrow.parquet as pq

from crawler.items import TABLES
from crawler.paths import MANIFEST, parts

SCRAPY_STATS = ("downloader/request_count", "downloader/response_count", "downloader/exception_count",
                "response_received_count", "retry/", "robotstxt/", "elapsed_time_seconds", "memusage/max")
PACKAGES = ("servicerisk", "scrapy", "twisted", "pyarrow", "selectolax", "dnspython", "publicsuffixlist", "w3lib")


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def settings_digest(settings: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the settings that shape a run's data."""
    blob = json.dumps(settings, sort_keys=True, default=str, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def table_summary(run_dir: Path) -> dict[str, dict]:
    """Committed parts and row counts per table (from Parquet footers, not by reading data)."""
    out = {}
    for table in TABLES:
        files = parts(run_dir, table)
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        out[table] = {"parts": [f.name for f in files], "rows": rows}
    return out


def counts_from_stats(stats: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Group ``sr/<a>/<b>/<key>`` stats into ``{"<a>/<b>": {key: n}}``."""
    out: dict[str, dict[str, int]] = {}
    for key, value in stats.items():
        if not key.startswith("sr/") or not isinstance(value, int):
            continue
        group, _, leaf = key[3:].rpartition("/")
        out.setdefault(group or "total", {})[leaf] = value
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def _site_counts(run_dir: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Sites by outcome and by error class, from the committed sites parts (all writers, resumes included)."""
    files = parts(run_dir, "sites")
    if not files:
        return {}, {}
    t = pq.read_table([str(f) for f in files], columns=["outcome", "error_class"])
    by_outcome: dict[str, int] = {}
    by_error: dict[str, int] = {}
    for outcome, error in zip(t.column("outcome").to_pylist(), t.column("error_class").to_pylist(), strict=True):
        by_outcome[outcome] = by_outcome.get(outcome, 0) + 1
        if outcome != "ok" and error:
            by_error[error] = by_error.get(error, 0) + 1
    return dict(sorted(by_outcome.items())), dict(sorted(by_error.items()))


def write_manifest(run_dir: Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest.json`` atomically (temporary name, fsync, rename)."""
    path = run_dir / MANIFEST
    tmp = run_dir / f".{MANIFEST}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=False, default=str)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def build_manifest(
    *,
    run_id: str,
    kind: str,
    started_at: str,
    run_dir: Path,
    settings: Mapping[str, Any],
    stats: Mapping[str, Any],
    input_info: Mapping[str, Any],
    reference_data: Mapping[str, Any],
    writers: list[str],
    close_reason: str,
    panel: str | None = None,
) -> dict[str, Any]:
    """The manifest of a finished run. ``panel``: the name given with ``--panel`` (runs of one panel are compared
    with each other; without a name the warehouse uses the input list's checksum)."""
    tables = table_summary(run_dir)
    grouped = counts_from_stats(stats)
    by_outcome, by_error = _site_counts(run_dir)
    return {
        "run_id": run_id,
        "kind": kind,
        "panel": panel,
        "started_at": started_at,
        "ended_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "close_reason": close_reason,
        "settings_digest": settings_digest(settings),
        "settings": dict(settings),
        "versions": package_versions(),
        "reference_data": dict(reference_data),
        "input": dict(input_info),
        "writers": writers,
        "counts": {
            "sites": tables["sites"]["rows"],
            "sites_by_outcome": by_outcome,
            "site_error_classes": by_error,
            "page_errors_by_outcome": grouped.get("page/error", {}),
            "pages_by_status": grouped.get("page/status", {}),
            "browser": grouped.get("browser", {}),
            "rows": {t: v["rows"] for t, v in tables.items()},
            "stats": {k: v for k, v in stats.items() if k.startswith("sr/") and isinstance(v, int)},
            "scrapy": {k: v for k, v in stats.items() if k.startswith(SCRAPY_STATS) and isinstance(v, (int, float))},
        },
        "tables": tables,
        # which tree walk observed the pages: the native one (crawler/_fastwalk.c) or the pure-Python reference
        "observe": {"native_walk": grouped.get("observe/walk", {}).get("native", 0) > 0,
                    "pages_by_walk": grouped.get("observe/walk", {})},
    }
