"""The ``servicerisk`` command line: the group, the warehouse commands (build, check, query, docs, export) and
``refdata``; every other command lives in the ``command`` module of the stage it drives and is registered here."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from common.runfolder import Layout
from pipelines import exits
from pipelines.clihelp import epilog, exit_codes, fail, out, out_option

EXAMPLES = {
    "docs": "servicerisk docs > data-dictionary.md",
    "build": "servicerisk build --out out/demo",
    "check": "servicerisk check --out out/demo",
    "query": "servicerisk query --out out/demo \"SELECT service_id, sites, share FROM services LIMIT 10\"",
    "export": "servicerisk export --out out/demo --parquet out/demo-export",
    "refdata": "servicerisk refdata",
}


def _epilog(name: str) -> str:
    return epilog(EXAMPLES[name])


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=exit_codes())
@click.version_option(package_name="servicerisk")
def main() -> None:
    """Measure which third-party services websites embed, where their servers are, who runs them,
    and how risky they are under GDPR and TDDDG §25."""


@main.group(epilog=_epilog("refdata"), invoke_without_command=True)
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Cache folder for the pinned packages (default: data/cache/refdata).")
@click.pass_context
def refdata(ctx, cache_dir):
    """Fetch the pinned reference data (npm pack NAME@VERSION), verify SHA-256, and list versions and dates.
    `refdata dpf` manages the EU-US Data Privacy Framework snapshot; `refdata top-services` recomputes the ranking
    of the most prevalent services."""
    if ctx.invoked_subcommand is not None:
        return
    from common import refdata as rd

    kwargs = {"cache_dir": cache_dir} if cache_dir else {}
    lock = rd.read_lock()
    t = Table(title="reference data")
    for col in ("package", "version", "data date", "licence", "file"):
        t.add_column(col)
    for name, entry in lock.items():
        try:
            path = rd.ensure(name, **kwargs)
        except (rd.RefdataError, OSError) as e:
            fail(f"{name}: {e}", exits.FAILED)
        t.add_row(name, entry.version, str(entry.data_date or "unknown"), str(entry.data_licence or entry.licence),
                  str(path))
    out.print(t)


def _build_and_report(out_dir: Path, rebuild: bool = False) -> None:
    from pipelines.pipeline import PipelineError, build_warehouse
    from pipelines.pipeline.command import Printer

    try:
        build_warehouse(out_dir, Printer(out_dir), rebuild=rebuild)
    except PipelineError as e:
        fail(str(e), e.code)


@main.command(epilog=_epilog("build") + "\n  servicerisk build --rebuild --out out/demo")
@out_option()
@click.option("--rebuild", is_flag=True,
              help="Delete OUT/warehouse.duckdb and build it again from the run folders (needed when it was built by "
                   "another servicerisk version; stored verdicts are assessed again with the current catalog).")
def build(out_dir, rebuild):
    """Load every sealed run under OUT/raw into OUT/warehouse.duckdb and rebuild the marts (idempotent)."""
    _build_and_report(out_dir, rebuild)


@main.command(epilog=_epilog("check"))
@out_option()
def check(out_dir):
    """Run the warehouse's zero-row assertions; exit 1 if any returns rows."""
    from pipelines.warehouse.build import run_assertions
    from pipelines.warehouse.connect import connect

    try:
        con = connect(Layout(out_dir).warehouse, read_only=True)
    except FileNotFoundError as e:
        fail(str(e))
    results = run_assertions(con)
    for name, n in results.items():
        out.print(f"{'ok  ' if n == 0 else 'FAIL'} {name}" + (f" ({n} rows)" if n else ""))
    if any(results.values()):
        sys.exit(exits.FAILED)


@main.command(epilog=_epilog("query"))
@out_option()
@click.argument("sql")
@click.option("--csv", "as_csv", is_flag=True,
              help="Print CSV (the default when stdout is not a terminal: piped or redirected output keeps full values).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
@click.option("--limit", type=int, default=1000, show_default=True, help="Rows printed at most (table/CSV/JSON).")
def query(out_dir, sql, as_csv, as_json, limit):
    """Run SQL that only reads (SELECT, DESCRIBE, EXPLAIN …) on a read-only connection to OUT/warehouse.duckdb
    without access to files, the network or extensions, and print the result: a table on a terminal, CSV when
    piped or redirected, JSON lines with --json."""
    import duckdb

    from pipelines.warehouse.querysafety import UnsafeQuery, check_query, connect_for_queries

    try:
        check_query(sql)
        con = connect_for_queries(Layout(out_dir).warehouse)
        cur = con.execute(sql)
    except (FileNotFoundError, UnsafeQuery) as e:
        fail(str(e))
    except duckdb.Error as e:
        fail(f"query failed: {str(e).splitlines()[0]}")
    cols = [d[0] for d in cur.description or []]
    rows = cur.fetchmany(limit)
    fmt = "json" if as_json else "csv" if as_csv or not sys.stdout.isatty() else "table"
    _print_rows(cols, rows, fmt)


def _print_rows(cols: list[str], rows: list[tuple], fmt: str) -> None:
    """Query results as CSV, JSON lines or (on a terminal) a table; CSV and JSON never shorten a value."""
    import csv as csvmod
    import json

    if fmt == "csv":
        w = csvmod.writer(sys.stdout)
        w.writerow(cols)
        w.writerows(rows)
    elif fmt == "json":
        for row in rows:
            click.echo(json.dumps(dict(zip(cols, row, strict=True)), default=str, ensure_ascii=False))
    else:
        t = Table(show_header=True)
        for c in cols:
            t.add_column(c, overflow="fold")
        for row in rows:
            t.add_row(*["" if v is None else str(v) for v in row])
        out.print(t)


@main.command(epilog=_epilog("docs"))
def docs():
    """Print the warehouse data dictionary (every mart's grain and columns, every metric's formula) as Markdown."""
    from pipelines.warehouse import dictionary

    click.echo(dictionary.markdown())


@main.command(epilog=_epilog("export") + "\n  servicerisk export --out out/demo --csv out/demo-csv")
@out_option()
@click.option("--parquet", "parquet_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write the marts into as Parquet (descriptions, units, formulas, run id and catalog "
                   "version as Parquet metadata).")
@click.option("--csv", "csv_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write the marts into as CSV with a header row (for spreadsheets).")
def export(out_dir, parquet_dir, csv_dir):
    """Write every mart twice, X (the newest run, as the view X) and X_all (every run), plus dictionary.md and
    dictionary.json with every column's meaning, into the --parquet and/or --csv folder."""
    from pipelines.warehouse.connect import connect
    from pipelines.warehouse.export import export as export_marts

    if parquet_dir is None and csv_dir is None:
        fail("give --parquet DIR and/or --csv DIR")
    try:
        con = connect(Layout(out_dir).warehouse, read_only=True)
    except FileNotFoundError as e:
        fail(str(e))
    try:
        for fmt, target in (("parquet", parquet_dir), ("csv", csv_dir)):
            if target is not None:
                result = export_marts(con, target, fmt)
                out.print(f"{len(result.files)} files ({fmt}) and dictionary.md/.json written to {target}")
    finally:
        con.close()


def _register() -> None:
    """Add every stage's commands (each once; ``dpf`` also under its old top-level name) and their examples."""
    from crawler import command as crawl_commands
    from pipelines.catalog import command as catalog_commands
    from pipelines.enrich import command as enrich_commands
    from pipelines.pipeline import command as pipeline_commands
    from pipelines.policy import command as policy_commands
    from pipelines.publish import command as publish_commands
    from pipelines.risk import command as risk_commands
    from pipelines.scan import command as scan_commands

    for command in (crawl_commands.crawl, crawl_commands.seed, crawl_commands.seal, crawl_commands.observe,
                    pipeline_commands.run, pipeline_commands.demo, enrich_commands.enrich, publish_commands.kb,
                    scan_commands.scan, policy_commands.policy, risk_commands.risk):
        main.add_command(command)
    refdata.add_command(risk_commands.dpf)
    refdata.add_command(catalog_commands.top_services)
    main.add_command(risk_commands.dpf)
    EXAMPLES.update(crawl_commands.EXAMPLES)
    EXAMPLES.update(pipeline_commands.EXAMPLES)
    EXAMPLES.update(enrich=enrich_commands.EXAMPLE, kb=publish_commands.EXAMPLE, scan=scan_commands.EXAMPLE,
                    policy=policy_commands.EXAMPLE)
    EXAMPLES.update({k: v for k, v in risk_commands.EXAMPLES.items() if " " not in k})


_register()


if __name__ == "__main__":
    main()
