"""Click commands of the risk stage, for ``pipelines/cli.py`` to register: ``dpf`` (show, import and check the
DPF snapshot; meant for ``servicerisk refdata dpf`` or a top-level ``servicerisk dpf``) and ``risk`` (catalog
verdicts per service)."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from pipelines import exits
from pipelines.catalog.load import DEFAULT_DATA_DIR
from pipelines.clihelp import epilog, fail

EXAMPLES = {
    "dpf": "servicerisk dpf --check",
    "refdata dpf": "servicerisk refdata dpf --check",
    "risk": "servicerisk risk google-fonts livechat --explain",
}


def _day(value: datetime | None) -> date:
    return value.date() if value else date.today()


@click.command("dpf", epilog=epilog(EXAMPLES["refdata dpf"], EXAMPLES["dpf"],
                                     "servicerisk refdata dpf --import dpf-entries.csv"))
@click.option("--check", "do_check", is_flag=True,
              help="Report US companies (and every company with a participant id) whose DPF status is missing, "
                   "not checked, of unrecorded scope, or older than 12 months; snapshot rows no company uses; and the "
                   "facts check: companies behind the top services (data/reference/top_services.csv) with unknown "
                   "seat or unexplained unknown facts, legal facts without a public source or older than 12 months.")
@click.option("--import", "import_csv", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="CSV", help="Validate an import CSV (one row per organisation, copied from the official list) "
                                  "and merge it into a new snapshot data/reference/dpf/dpf-snapshot-<date>.csv.")
@click.option("--template", is_flag=True, help="Print an import CSV with the header and one example row, then exit.")
@click.option("--dry-run", is_flag=True, help="With --import: validate and report, but write nothing.")
@click.option("--strict", is_flag=True, help="With --check: exit 1 if any company is missing, stale or unscoped, or the facts check finds "
                   "anything but stale facts.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Day to measure ages against and to date a new snapshot (default: today).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_DATA_DIR,
              show_default=True, help="Data folder holding companies/ and reference/dpf/.")
def dpf(do_check, import_csv, template, dry_run, strict, as_of, data_dir):
    """Show, import and check the EU–US Data Privacy Framework snapshot. Companies are matched only by the
    participant id in their company file, never by name; a status older than 12 months counts as unknown."""
    from pipelines.catalog.load import CatalogError, load_catalog
    from pipelines.risk import dpf as d

    console = Console()
    if template:
        click.echo(d.template(), nl=False)
        return
    day = _day(as_of)
    folder = Path(data_dir) / "reference" / "dpf"
    try:
        snapshot = d.load_snapshot(folder)
    except d.DpfImportError as e:
        fail("the current snapshot is invalid:\n" + "\n".join(e.problems), exits.FAILED)
    try:
        catalog = load_catalog(data_dir)
    except (CatalogError, FileNotFoundError) as e:
        fail(f"cannot load the catalog: {e}", exits.FAILED)
    if import_csv is not None:
        try:
            entries = d.read_dpf_csv(import_csv, today=day)
        except d.DpfImportError as e:
            for problem in e.problems:
                click.echo(problem, err=True)
            fail(f"{import_csv}: {len(e.problems)} problem(s); nothing imported")
        merged = d.merge(snapshot, entries)
        diff = d.import_diff(snapshot, entries, catalog)
        console.print(f"{import_csv}: {len(entries)} valid row(s): {len(diff.added)} new, {len(diff.changed)} changed, "
                      f"{len(diff.unchanged)} unchanged")
        for e in diff.unused:
            console.print(f"  note: no company file names participant id {e.participant_id} ({e.name}); add it to "
                          "that company's dpf.participant_id to use it")
        if dry_run:
            console.print("dry run: nothing written")
        else:
            path = d.write_snapshot(merged, day, folder)
            console.print(f"snapshot written: {path}")
            snapshot = d.load_snapshot(folder)
    if do_check:
        from pipelines.catalog.prevalence import top_service_ids
        from pipelines.risk.facts_check import checkup

        report = checkup(catalog, snapshot, day, top_service_ids(data_dir))
        t = Table(title=f"DPF status check on {day} (snapshot {snapshot.date or 'none'})")
        for col in ("problem", "company", "counts as", "checked on", "age"):
            t.add_column(col, overflow="fold")
        for r in report.rows:
            t.add_row(r.problem, r.company_id or r.name, r.effective or "-", r.checked_on or "-",
                      f"{r.age_days} d" if r.age_days is not None else "-")
        console.print(t)
        for r in report.rows:
            if r.problem != "ok":
                pid = f" [{r.participant_id}]" if r.participant_id else ""
                console.print(f"  {r.company_id or r.name}{pid}: {r.problem}: {r.detail or r.recorded}",
                              soft_wrap=True, markup=False)
        counts = report.counts
        console.print(f"facts: {counts['unknown_seat']} compan(ies) behind the top services with unknown seat "
                      f"(country or city), {counts['unexplained_unknown']} unknown fact(s) without a reason (parent "
                      f"chain, role, DPF statement), {counts['no_public_source']} legal fact(s) without a public "
                      f"source, {counts['stale']} legal fact(s) older than 12 months", soft_wrap=True)
        for i in report.issues:
            if i.kind != "stale":
                console.print(f"  {i.kind}: {i.owner} {i.field}: {i.detail}", soft_wrap=True, markup=False)
        console.print(f"{len(report.recheck)} of {report.companies} companies need a (re)check on "
                      f"{d.LIST_SEARCH_URL}; fill the import CSV (servicerisk refdata dpf --template) and import it.")
        if strict and report.failed:
            sys.exit(exits.FAILED)
    elif import_csv is None:
        users: dict[str, list[str]] = {}
        for c in catalog.companies.values():
            if c.dpf.participant_id:
                users.setdefault(c.dpf.participant_id, []).append(c.id)
        t = Table(title=f"DPF snapshot {snapshot.date or '(none)'}: {snapshot.path or folder}")
        for col in ("name", "participant id", "status", "frameworks", "coverage", "checked on", "companies"):
            t.add_column(col, overflow="fold")
        for e in sorted(snapshot.entries.values(), key=lambda e: e.name.lower()):
            t.add_row(e.name, e.participant_id, e.status, ";".join(e.frameworks) or "-", ";".join(e.coverage) or "-",
                      e.checked_on or "-", ", ".join(users.get(e.participant_id, [])) or "-")
        console.print(t)


@click.command("risk", epilog=epilog(EXAMPLES["risk"]))
@click.argument("service_ids", nargs=-1)
@click.option("--explain", is_flag=True, help="Print every factor with its evidence line, the reasons and the "
                                               "to-check list.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per service instead of a table.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Assessment day: dated roles, acquisitions, adequacy and DPF ages are taken on this day "
                   "(default: today).")
@click.option("--lang", type=click.Choice(["en", "de"]), default="en", show_default=True,
              help="Language of the not-legal-advice note.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_DATA_DIR,
              show_default=True, help="Data folder (catalog, reference tables, rubric).")
def risk(service_ids, explain, as_json, as_of, lang, data_dir):
    """Print the catalog-baseline consent verdict (yes/no/likely with reason codes), risk score, band and
    confidence of services (default: every curated service). An indicator, not legal advice."""
    from pipelines.publish.verdicts import print_verdicts
    from pipelines.risk.model import assess_service, load_context

    try:
        ctx = load_context(data_dir, as_of=_day(as_of))
    except Exception as e:  # the loaders' errors all carry a readable message
        fail(f"cannot load the risk data: {e}", exits.FAILED)
    ids = list(service_ids) or [s.id for s in ctx.catalog.services if not s.id.startswith("tpw-")]
    unknown = [i for i in ids if i not in ctx.catalog.by_id]
    if unknown:
        fail(f"not in the catalog: {', '.join(unknown)}")
    results = [assess_service(i, ctx) for i in ids]
    if as_json:
        for a in results:
            click.echo(json.dumps(a.as_dict(), ensure_ascii=False))
        return
    print_verdicts(results, Console(), lang=lang, explain=explain)
