"""The ``risk`` click command and ``warehouse_verdicts`` (what ``make demo`` prints: the service_risk mart)."""

from __future__ import annotations

import io
import json
from datetime import date

import click
import duckdb
import pytest
from click.testing import CliRunner
from rich.console import Console

from pipelines.publish.verdicts import warehouse_verdicts
from pipelines.risk.command import EXAMPLES, dpf, risk
from pipelines.risk.model import DISCLAIMER, load_context
from pipelines.warehouse.connect import fetch_dicts

DAY = date(2026, 11, 29)


@pytest.fixture(scope="module")
def ctx():
    return load_context(as_of=DAY)


@pytest.mark.parametrize("command", [dpf, risk])
def test_commands_have_help_examples_and_option_help(command):
    res = CliRunner().invoke(command, ["--help"])
    assert res.exit_code == 0 and "Example:" in res.output
    assert EXAMPLES[command.name] in res.output
    assert command.help and len(command.help) > 20
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, param.opts


def test_risk_json(ctx):
    res = CliRunner().invoke(risk, ["google-fonts", "cookiebot", "--json", "--as-of", "2026-11-29"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert [(r["service_id"], r["consent_required"], r["band"]) for r in rows] == [
        ("google-fonts", "likely", "medium"), ("cookiebot", "no", "low")]  # Google LLC: DPF active (snapshot)
    assert rows[0]["disclaimer"]["de"] == DISCLAIMER["de"]


def test_risk_table_explain_and_errors():
    res = CliRunner().invoke(risk, ["livechat", "--explain", "--lang", "de", "--as-of", "2026-11-29"])
    assert res.exit_code == 0, res.output
    assert "F6 us_dpf_unknown +15" in res.output and "to check:" in res.output
    assert "keine Rechtsberatung" in res.output
    bad = CliRunner().invoke(risk, ["no-such-service"])
    assert bad.exit_code == 2 and "not in the catalog: no-such-service" in bad.output


def test_demo_console_prints_the_service_risk_mart(tiny_warehouse):
    """make demo prints the warehouse's service_risk rows (the table analysts, the KB and the scan read), so its
    score, band and confidence are the mart's; unknown ids are skipped, duplicates printed once."""
    con = duckdb.connect(str(tiny_warehouse), read_only=True)
    mart = {r["service_id"]: r for r in fetch_dicts(con, "SELECT * FROM service_risk")}
    buf = io.StringIO()
    shown = warehouse_verdicts(con, ["hotjar", "tpw-not-loaded", "google-fonts", "hotjar"],
                               Console(file=buf, width=250))
    con.close()
    assert [r["service_id"] for r in shown] == ["hotjar", "google-fonts"]
    out = buf.getvalue()
    for sid in ("hotjar", "google-fonts"):
        row = mart[sid]
        line = next(ln for ln in out.splitlines() if f"({sid})" in ln)
        assert f" {row['risk_score']} " in line and row["confidence"] in line and row["consent_required"] in line
    assert "Google LLC (US, active)" in out  # the recipient of Google Fonts' data and its DPF status
    assert DISCLAIMER["en"] in out.replace("\n", " ")
