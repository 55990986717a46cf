"""Comparable runs only: trends, `kb --changes` and every "since the previous run" figure compare runs of one
panel (the same domain list, or the same --panel name); a different list into the same folder is a new panel, and
the knowledge base says which panel its figures come from."""

from __future__ import annotations

import json

from pipelines.warehouse.build import build
from tests.conftest import run_cli
from tests.pipelines.warehouse_fixture import q, write_tiny_run

RUN1, RUN2, RUN3, RUN4 = (f"2026{m:02d}01T120000Z-aaaaa{m}" for m in range(1, 5))
LIST_A, LIST_B = "a" * 64, "b" * 64


def test_a_run_of_another_list_is_not_compared(tmp_path):
    write_tiny_run(tmp_path, RUN1, 1, input_sha256=LIST_A)
    write_tiny_run(tmp_path, RUN2, 2, input_sha256=LIST_B)  # another domain list into the same folder
    build(tmp_path)
    db = tmp_path / "warehouse.duckdb"
    assert q(db, "SELECT run_id, panel, prev_run_id FROM int_run_pairs ORDER BY run_id") == [
        (RUN1, "input:aaaaaaaaaaaa", None), (RUN2, "input:bbbbbbbbbbbb", None)]
    assert q(db, "SELECT count(*) FROM service_trends_all") == [(0,)]
    assert q(db, "SELECT count(*) FROM service_policy_all WHERE prev_run_id IS NOT NULL") == [(0,)]
    res = run_cli(["kb", "--out", str(tmp_path), "--changes"])
    assert res.returncode == 0, res.stderr
    assert "no previous run of this panel" in res.stdout and "bbbbbbbbbbbb" in res.stdout

    # the same list again: compared with its own previous run, never with the other list's
    write_tiny_run(tmp_path, RUN3, 2, input_sha256=LIST_A)
    build(tmp_path)
    assert q(db, "SELECT DISTINCT prev_run_id, panel FROM service_trends") == [(RUN1, "input:aaaaaaaaaaaa")]
    assert dict(q(db, "SELECT service_id, movement FROM service_trends"))["hotjar"] == "gone"
    res = run_cli(["kb", "--out", str(tmp_path), "--changes", "--json"])
    changes = json.loads(res.stdout)
    assert (changes["prev_run_id"], changes["panel"]["list_checksum"]) == (RUN1, "aaaaaaaaaaaa")
    assert {"service_id": "hotjar", "kind": "share", "movement": "gone", "from": 1 / 3, "to": 0.0} in changes["changes"]


def test_a_named_panel_groups_runs_of_different_lists(tmp_path):
    write_tiny_run(tmp_path, RUN1, 1, input_sha256=LIST_A, panel="monthly-de")
    write_tiny_run(tmp_path, RUN2, 2, input_sha256=LIST_B)
    write_tiny_run(tmp_path, RUN4, 2, input_sha256=LIST_B, panel="monthly-de")  # the panel's list was updated
    build(tmp_path)
    db = tmp_path / "warehouse.duckdb"
    assert q(db, "SELECT DISTINCT prev_run_id, panel FROM service_trends") == [(RUN1, "monthly-de")]
    res = run_cli(["kb", "--out", str(tmp_path), "--lang", "en"])
    assert res.returncode == 0, res.stderr
    index = (tmp_path / "kb" / "en" / "site" / "index.html").read_text(encoding="utf-8")
    assert "Panel (runs compared): monthly-de" in index
    res = run_cli(["kb", "--out", str(tmp_path), "--changes"])
    assert f"changes from {RUN1} to {RUN4} (panel: monthly-de)" in res.stdout
