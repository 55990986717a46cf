"""The ``servicerisk kb`` command: build the knowledge base (or list the changes since the previous run)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipelines.clihelp import epilog, fail, out_option
from pipelines.publish.texts import LANGS

EXAMPLE = "servicerisk kb --out out/demo"


@click.command("kb", epilog=epilog(EXAMPLE))
@out_option("Output folder holding warehouse.duckdb; the knowledge base is written to OUT/kb/.")
@click.option("--lang", type=click.Choice(LANGS), default="de", show_default=True,
              help="Language of the pages (German by default).")
@click.option("--changes", is_flag=True,
              help="List what changed since the previous run (share beyond its interval, new server country, "
                   "DPF status, new cookies) and the verdicts that moved when the catalog version moved, instead of "
                   "rendering.")
@click.option("--json", "as_json", is_flag=True, help="With --changes: print JSON instead of text.")
def kb(out_dir: Path, lang: str, changes: bool, as_json: bool) -> None:
    """Render the knowledge base from the warehouse marts and the catalog into OUT/kb/: Markdown with YAML
    front matter (kb/<lang>/services/<id>.md), a self-contained static HTML site (kb/<lang>/site/index.html)
    and one JSON file per service (kb/json/<id>.json). Editorial texts are read from data/services/<id>.yml
    and never written."""
    from pipelines.catalog.load import load_catalog
    from pipelines.publish import render
    from pipelines.publish.changes import changes_data
    from pipelines.warehouse import connect

    try:
        con = connect(out_dir / "warehouse.duckdb")
    except FileNotFoundError as exc:
        fail(str(exc))
    try:
        catalog = load_catalog()
        if changes:
            data = changes_data(con, catalog)
            if as_json:
                click.echo(json.dumps(data, ensure_ascii=False, default=str))
            else:
                click.echo(format_changes(data))
            return
        result = render.build_kb(con, catalog, out_dir, lang)
    finally:
        con.close()
    click.echo(f"{len(result.services)} service pages, {len(result.companies)} company pages ({lang})")
    click.echo(str(result.index_html))


def format_changes(data: dict) -> str:
    """The change list as plain text lines, one change per line."""
    panel = data["panel"]["name"] or f"domain list {data['panel']['list_checksum'] or 'unknown'}"
    if data["prev_run_id"]:
        lines = [f"changes from {data['prev_run_id']} to {data['run_id']} (panel: {panel}):"]
    else:
        lines = [f"run {data['run_id']} (panel: {panel}): no previous run of this panel to compare with "
                 "(runs of another domain list or --panel are not compared)"]
    for c in data["changes"]:
        if c["kind"] == "share":
            lines.append(f"  {c['service_id']}: share {c['movement']} "
                         f"{c['from'] * 100:.1f}% -> {c['to'] * 100:.1f}% (beyond its interval)")
        elif c["kind"] == "policy_named":
            lines.append(f"  {c['service_id']}: named in privacy policies {c['movement']} "
                         f"{c['from'] * 100:.1f}% -> {c['to'] * 100:.1f}% (beyond its interval)")
        elif c["kind"] == "server_country":
            lines.append(f"  {c['service_id']}: new server countries {', '.join(c['countries'])}")
        elif c["kind"] == "dpf":
            lines.append(f"  {c['service_id']}: DPF status {c['from']} -> {c['to']}")
        elif c["kind"] == "cookies":
            lines.append(f"  {c['service_id']}: new cookies {', '.join(c['cookies'])}")
        elif c["kind"] == "assessment":
            was, now = c["from"], c["to"]
            lines.append(f"  {c['service_id']}: re-assessed run {c['run_id']} (catalog version {c['versions'][0]} -> "
                         f"{c['versions'][1]}): consent {was['consent_required']} -> {now['consent_required']}, "
                         f"{was['band']} {was['score']} -> {now['band']} {now['score']}")
    if not data["changes"] and data["prev_run_id"]:
        lines.append("  no changes")
    return "\n".join(lines)
