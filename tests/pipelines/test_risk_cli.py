"""The ``risk`` click command, ``demo_verdicts`` (what ``make demo`` prints) and the enrichment adapter."""

from __future__ import annotations

import io
import json
from datetime import date

import click
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from rich.console import Console

from pipelines.risk.command import EXAMPLES, dpf, risk
from pipelines.risk.demo import demo_verdicts, host_locations
from pipelines.risk.model import DISCLAIMER, load_context
from pipelines.risk.transfer import HostLocation

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
        ("google-fonts", "likely", "high"), ("cookiebot", "no", "low")]
    assert rows[0]["disclaimer"]["de"] == DISCLAIMER["de"]


def test_risk_table_explain_and_errors():
    res = CliRunner().invoke(risk, ["livechat", "--explain", "--lang", "de", "--as-of", "2026-11-29"])
    assert res.exit_code == 0, res.output
    assert "F6 us_dpf_unknown +15" in res.output and "to check:" in res.output
    assert "keine Rechtsberatung" in res.output
    bad = CliRunner().invoke(risk, ["no-such-service"])
    assert bad.exit_code == 2 and "not in the catalog: no-such-service" in bad.output


def test_demo_verdicts_prints_verdict_score_and_top_reasons(ctx):
    buf = io.StringIO()
    results = demo_verdicts(["livechat", "tpw-not-loaded", "google-fonts", "livechat"], ctx=ctx,
                            console=Console(file=buf, width=200))
    assert [a.service_id for a in results] == ["livechat", "google-fonts"]  # unknown skipped, duplicates once
    out = buf.getvalue()
    assert "LiveChat (livechat)" in out and "F1 present +20" in out and "63" in out
    assert DISCLAIMER["en"] in out.replace("\n", " ")


def test_demo_verdicts_uses_measured_locations(ctx):
    locs = {"livechat": [HostLocation("cdn.livechatinc.com", frozenset({"DE"}), "measured")]}
    (a,) = demo_verdicts(["livechat"], ctx=ctx, locations=locs, console=Console(file=io.StringIO()))
    assert a.factor("F7").level == "eea" and a.risk_score == 60 and a.confidence == "measured"


def test_host_locations_reads_the_enriched_hosts_table(tmp_path):
    assert host_locations(tmp_path) == {}
    (tmp_path / "hosts").mkdir()
    table = pa.table({
        "host": ["cdn.livechatinc.com", "fonts.gstatic.com", "www.site.de", "x.example"],
        "service_id": ["livechat", "google-fonts", None, "livechat"],
        "countries": [["DE"], ["US"], ["DE"], []],
        "location_confidence": ["measured", "anycast_or_cdn", "measured", "weird"],
        "third_party": [True, True, False, True],
    })
    pq.write_table(table, tmp_path / "hosts" / "part-0.parquet")
    locs = host_locations(tmp_path)
    assert set(locs) == {"livechat", "google-fonts"}
    assert {(loc.host, loc.confidence) for loc in locs["livechat"]} == {("cdn.livechatinc.com", "measured"),
                                                                       ("x.example", "unknown")}
    assert locs["google-fonts"][0].countries == {"US"}
