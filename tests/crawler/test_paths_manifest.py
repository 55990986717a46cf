"""Tests for common.runfolder (run ids, layout, sealed runs, parts) and common.manifest."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.manifest import (
    build_manifest,
    counts_from_stats,
    package_versions,
    settings_digest,
    table_summary,
    write_manifest,
)
from common.runfolder import MANIFEST, RUN_ID_RE, Layout, check_run_id, new_run_id, new_writer_id, parts
from common.tables import SCHEMAS, TABLES

T0 = datetime(2026, 11, 29, 8, 41, 0, tzinfo=timezone.utc)


# --------------------------------------------------------------------------- run ids


def test_new_run_id_format():
    rid = new_run_id(T0)
    assert re.fullmatch(r"20261129T084100Z-[0-9a-f]{6}", rid)
    assert check_run_id(rid) == rid
    assert RUN_ID_RE.match(new_run_id())


def test_run_ids_sort_chronologically():
    times = [T0 + timedelta(seconds=s) for s in (0, 1, 59, 60, 3600, 86400, 86400 * 40, 86400 * 400)]
    ids = [new_run_id(t) for t in times]
    assert sorted(reversed(ids)) == ids


def test_run_ids_are_unique_within_one_second():
    ids = {new_run_id(T0) for _ in range(300)}
    assert len(ids) > 290  # 24 random bits


def test_writer_ids():
    ids = {new_writer_id() for _ in range(100)}
    assert all(re.fullmatch(r"w[0-9a-f]{6}", w) for w in ids)
    assert len(ids) > 95


@pytest.mark.parametrize(
    "bad",
    ["", "../x", "..", "20261129T084100Z-3fa2c1/../x", "../20261129T084100Z-3fa2c1", "20261129T084100Z-3FA2C1",
     "20261129T084100Z-3fa2c", "20261129T084100Z-3fa2c1x", "x20261129T084100Z-3fa2c1", "20261129T0841Z-3fa2c1",
     "20261129T084100Z_3fa2c1", "/tmp/20261129T084100Z-3fa2c1", "20261129T084100Z-3fa2c1/"],
)
def test_check_run_id_rejects(bad):
    with pytest.raises(ValueError, match="invalid run id"):
        check_run_id(bad)


def test_check_run_id_rejects_none():
    with pytest.raises(ValueError):
        check_run_id(None)  # type: ignore[arg-type]


def test_check_run_id_rejects_trailing_newline():
    with pytest.raises(ValueError):
        check_run_id("20261129T084100Z-3fa2c1\n")


def test_part_uri_template_rejects_writer_with_trailing_newline(tmp_path):
    with pytest.raises(ValueError):
        Layout(tmp_path).part_uri_template(new_run_id(T0), "pages", "w1\n")


def test_layout_refuses_traversal(tmp_path):
    layout = Layout(tmp_path)
    with pytest.raises(ValueError):
        layout.run_dir("../../etc")
    with pytest.raises(ValueError):
        layout.table_dir("../x", "pages")
    with pytest.raises(ValueError):
        layout.read_manifest("../x")


# --------------------------------------------------------------------------- layout


def test_layout_paths(tmp_path):
    layout = Layout(tmp_path)
    rid = new_run_id(T0)
    assert layout.raw == tmp_path / "raw"
    assert layout.enriched == tmp_path / "enriched"
    assert layout.scans == tmp_path / "scans"
    assert layout.kb == tmp_path / "kb"
    assert layout.warehouse == tmp_path / "warehouse.duckdb"
    assert layout.run_dir(rid) == tmp_path / "raw" / rid
    assert layout.run_dir(rid, root=layout.scans) == tmp_path / "scans" / rid
    assert layout.table_dir(rid, "pages") == tmp_path / "raw" / rid / "pages"


def test_part_uri_template(tmp_path):
    layout = Layout(tmp_path)
    rid = new_run_id(T0)
    uri = layout.part_uri_template(rid, "resources", "w1a2b3c")
    assert not uri.startswith("file:")
    assert Path(uri).is_absolute()
    assert uri % {"batch_id": 7} == str((tmp_path / "raw" / rid / "resources").resolve() / "part-w1a2b3c-00007.parquet")
    for bad in ("", "a/b", "../w", "w 1", "x" * 65):
        with pytest.raises(ValueError, match="invalid writer id"):
            layout.part_uri_template(rid, "resources", bad)


def _seal(run_dir: Path, manifest: dict | None = None) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_manifest(run_dir, manifest or {"run_id": run_dir.name})


def test_sealed_runs_and_latest(tmp_path):
    layout = Layout(tmp_path)
    old, mid, new, unsealed = (new_run_id(T0 + timedelta(days=d)) for d in (0, 1, 2, 3))
    _seal(layout.raw / new)
    _seal(layout.raw / old)
    _seal(layout.raw / mid)
    (layout.raw / unsealed / "pages").mkdir(parents=True)  # newest, but not sealed
    _seal(layout.raw / "not-a-run")  # sealed, but no run id
    _seal(layout.raw / "latest")
    (layout.raw / new_run_id(T0 + timedelta(days=9))).write_text("a file, not a folder")
    dir_manifest = layout.raw / new_run_id(T0 + timedelta(days=8))
    (dir_manifest / MANIFEST).mkdir(parents=True)  # 'manifest.json' that is a folder
    assert layout.sealed_runs() == [old, mid, new]
    assert layout.latest_run() == new
    assert layout.read_manifest(new) == {"run_id": new}


def test_sealed_runs_without_raw(tmp_path):
    layout = Layout(tmp_path / "nothing-here")
    assert layout.sealed_runs() == []
    assert layout.latest_run() is None
    layout.raw.mkdir(parents=True)
    assert layout.sealed_runs() == []
    assert layout.latest_run() is None


def test_sealed_runs_under_other_root(tmp_path):
    layout = Layout(tmp_path)
    rid = new_run_id(T0)
    _seal(layout.scans / rid)
    assert layout.sealed_runs() == []
    assert layout.sealed_runs(layout.scans) == [rid]
    assert layout.latest_run(layout.scans) == rid
    assert layout.read_manifest(rid, layout.scans)["run_id"] == rid


def test_parts_lists_only_committed_parts(tmp_path):
    run_dir = tmp_path / "raw" / new_run_id(T0)
    d = run_dir / "pages"
    d.mkdir(parents=True)
    for name in ("part-wb-00002.parquet", "part-wa-00001.parquet", ".part-wa-00003.parquet.tmp",
                 "part-wa-00004.parquet.tmp", "notes.txt", "other-00001.parquet"):
        (d / name).write_bytes(b"")
    assert [p.name for p in parts(run_dir, "pages")] == ["part-wa-00001.parquet", "part-wb-00002.parquet"]
    assert parts(run_dir, "cookies") == []
    assert parts(tmp_path / "missing", "pages") == []


# --------------------------------------------------------------------------- manifest


def test_write_manifest_is_atomic_and_leaves_no_temp(tmp_path):
    manifest = {"run_id": "r", "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "n": 3, "ü": "ß"}
    path = write_manifest(tmp_path, manifest)
    assert path == tmp_path / MANIFEST
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST]
    text = path.read_text("utf-8")
    assert text.endswith("\n")
    assert json.loads(text) == {"run_id": "r", "when": "2026-01-02 03:04:05+00:00", "n": 3, "ü": "ß"}
    # rewriting replaces the content completely
    write_manifest(tmp_path, {"run_id": "r2"})
    assert json.loads(path.read_text("utf-8")) == {"run_id": "r2"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST]


def test_failed_manifest_write_keeps_previous_manifest(tmp_path):
    write_manifest(tmp_path, {"run_id": "good"})
    circular: dict = {}
    circular["self"] = circular
    with pytest.raises(ValueError):
        write_manifest(tmp_path, {"run_id": "bad", "c": circular})
    assert json.loads((tmp_path / MANIFEST).read_text("utf-8")) == {"run_id": "good"}


def test_failed_first_manifest_write_does_not_seal(tmp_path):
    layout = Layout(tmp_path)
    rid = new_run_id(T0)
    run_dir = layout.raw / rid
    run_dir.mkdir(parents=True)
    circular: list = []
    circular.append(circular)
    with pytest.raises(ValueError):
        write_manifest(run_dir, {"c": circular})
    assert not (run_dir / MANIFEST).exists()
    assert layout.sealed_runs() == []


def test_counts_from_stats():
    stats = {
        "sr/site/outcome/ok": 3,
        "sr/site/outcome/dns_error": 1,
        "sr/site/error_class/DNSLookupError": 1,
        "sr/page/status/2xx": 5,
        "sr/page/status/4xx": 2,
        "sr/guard/refused": 2,
        "sr/sites": 4,
        "sr/ratio/x": 0.5,        # not an int: ignored
        "sr/started": "2026-01-01",
        "downloader/request_count": 10,  # not ours: ignored
        "item_scraped_count": 6,
    }
    assert counts_from_stats(stats) == {
        "guard": {"refused": 2},
        "page/status": {"2xx": 5, "4xx": 2},
        "site/error_class": {"DNSLookupError": 1},
        "site/outcome": {"dns_error": 1, "ok": 3},
        "total": {"sites": 4},
    }
    out = counts_from_stats(stats)
    assert list(out) == sorted(out)
    assert list(out["site/outcome"]) == ["dns_error", "ok"]
    assert counts_from_stats({}) == {}


def test_settings_digest_stable_under_key_order():
    a = {"SR_MAX_PAGES": 5, "SR_NAMESERVERS": ["127.0.0.1:53"], "nested": {"x": 1, "y": [1, 2]}, "ROBOTSTXT_OBEY": True}
    b = {"ROBOTSTXT_OBEY": True, "nested": {"y": [1, 2], "x": 1}, "SR_NAMESERVERS": ["127.0.0.1:53"], "SR_MAX_PAGES": 5}
    da = settings_digest(a)
    assert da == settings_digest(b)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", da)
    assert settings_digest({**a, "SR_MAX_PAGES": 6}) != da
    assert settings_digest({**a, "SR_NAMESERVERS": ["127.0.0.1:54"]}) != da
    assert settings_digest({**a, "nested": {"x": 1, "y": [2, 1]}}) != da  # list order matters
    assert settings_digest({"when": T0}) == settings_digest({"when": str(T0)})


def test_package_versions():
    v = package_versions()
    assert v["python"].count(".") == 2
    assert v["servicerisk"] != "not installed"
    assert v["pyarrow"] == pa.__version__


def _write_part(run_dir: Path, table: str, name: str, rows: list[dict]) -> None:
    d = run_dir / table
    d.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMAS[table]), d / name)


def test_table_summary_and_build_manifest(tmp_path):
    rid = new_run_id(T0)
    run_dir = tmp_path / "raw" / rid
    # counts by outcome come from the committed sites rows (so resumed runs count every writer's sites)
    _write_part(run_dir, "sites", "part-w1-00001.parquet", [{"run_id": rid, "site": "a.de", "outcome": "ok"},
                                                           {"run_id": rid, "site": "b.de", "outcome": "ok"}])
    _write_part(run_dir, "sites", "part-w1-00002.parquet", [{"run_id": rid, "site": "c.de", "outcome": "timeout",
                                                            "error_class": "DownloadTimeoutError"}])
    _write_part(run_dir, "pages", "part-w1-00001.parquet", [{"run_id": rid, "url": "https://a.de/"}])
    (run_dir / "pages" / ".part-w1-00002.parquet.tmp").write_bytes(b"half written")
    summary = table_summary(run_dir)
    assert set(summary) == set(TABLES)
    assert summary["sites"] == {"parts": ["part-w1-00001.parquet", "part-w1-00002.parquet"], "rows": 3}
    assert summary["pages"] == {"parts": ["part-w1-00001.parquet"], "rows": 1}
    assert summary["cookies"] == {"parts": [], "rows": 0}

    settings = {"SR_MAX_PAGES": 5}
    stats = {"sr/site/outcome/ok": 2, "sr/site/outcome/timeout": 1, "sr/page/status/2xx": 1,
             "sr/page/error/timeout": 1, "sr/site/error_class/DownloadTimeoutError": 1, "other": 9}
    m = build_manifest(run_id=rid, kind="static", started_at=T0.isoformat(), run_dir=run_dir, settings=settings,
                       stats=stats, input_info={"path": "domains.txt"}, reference_data={"psl": "x"},
                       writers=["w1"], close_reason="finished")
    assert m["run_id"] == rid and m["kind"] == "static" and m["close_reason"] == "finished"
    assert m["settings_digest"] == settings_digest(settings)
    assert m["counts"]["sites"] == 3
    assert m["counts"]["sites_by_outcome"] == {"ok": 2, "timeout": 1}
    assert m["counts"]["site_error_classes"] == {"DownloadTimeoutError": 1}
    assert m["counts"]["page_errors_by_outcome"] == {"timeout": 1}
    assert m["counts"]["pages_by_status"] == {"2xx": 1}
    assert m["counts"]["rows"]["pages"] == 1
    assert "other" not in m["counts"]["stats"]
    assert m["tables"] == summary
    datetime.fromisoformat(m["ended_at"])
    # the manifest seals the run
    write_manifest(run_dir, m)
    layout = Layout(tmp_path)
    assert layout.sealed_runs() == [rid]
    assert layout.read_manifest(rid)["counts"]["sites"] == 3
