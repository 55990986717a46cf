"""The warehouse's schema version: the build writes it to ``_meta``; a warehouse of another version is refused by
the readers and by an incremental build with the command that fixes it, and ``build --rebuild`` rebuilds it from
the run folders."""

from __future__ import annotations

import duckdb
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.warehouse import dictionary
from pipelines.warehouse.connect import WarehouseVersionError, connect
from tests.pipelines.warehouse_fixture import q, write_tiny_run


def _set_version(db, value: str | None) -> None:
    con = duckdb.connect(str(db))
    try:
        con.execute("DELETE FROM _meta WHERE key = 'schema_version'")
        if value is not None:
            con.execute("INSERT INTO _meta VALUES ('schema_version', ?)", [value])
    finally:
        con.close()


@pytest.fixture
def built(tmp_path):
    out = tmp_path / "out"
    write_tiny_run(out)
    assert CliRunner().invoke(main, ["build", "--out", str(out)]).exit_code == 0
    return out


def test_an_older_warehouse_is_refused_until_rebuilt(built):
    db = built / "warehouse.duckdb"
    assert q(db, "SELECT value FROM _meta WHERE key = 'schema_version'") == [(str(dictionary.version()),)]
    runner = CliRunner()
    assert runner.invoke(main, ["kb", "--out", str(built), "--lang", "en"]).exit_code == 0

    _set_version(db, str(dictionary.version() - 1))
    wanted = f"rebuild with `servicerisk build --rebuild --out {built}`"
    for args in (["kb", "--out", str(built)], ["kb", "--out", str(built), "--changes"], ["check", "--out", str(built)],
                 ["build", "--out", str(built)]):
        res = runner.invoke(main, args)
        assert res.exit_code == 2, (args, res.output)
        assert "built by an older servicerisk" in res.output and wanted in res.output, (args, res.output)
    # the refused build left the warehouse as it was
    assert q(db, "SELECT value FROM _meta WHERE key = 'schema_version'") == [(str(dictionary.version() - 1),)]

    res = runner.invoke(main, ["build", "--rebuild", "--out", str(built)])
    assert res.exit_code == 0, res.output
    assert q(db, "SELECT value FROM _meta WHERE key = 'schema_version'") == [(str(dictionary.version()),)]
    assert q(db, "SELECT count(*) FROM sites") == [(4,)]
    assert runner.invoke(main, ["kb", "--out", str(built), "--lang", "en"]).exit_code == 0


def test_a_warehouse_from_before_versions_and_one_from_a_newer_version(built):
    db = built / "warehouse.duckdb"
    _set_version(db, None)  # built before the version was recorded
    with pytest.raises(WarehouseVersionError, match=r"an older servicerisk \(schema version 0"):
        connect(db)
    _set_version(db, str(dictionary.version() + 1))
    with pytest.raises(WarehouseVersionError, match="a newer servicerisk"):
        connect(db)
    res = CliRunner().invoke(main, ["build", "--out", str(built)])
    assert res.exit_code == 2 and "built by a newer servicerisk" in res.output
