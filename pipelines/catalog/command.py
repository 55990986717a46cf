"""Click commands of the catalog stage, for ``pipelines/cli.py`` to register: ``top-services`` (recompute the
prevalence ranking ``data/reference/top_services.csv``; meant for ``servicerisk refdata top-services``)."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines import exits
from pipelines.catalog.load import DEFAULT_DATA_DIR
from pipelines.clihelp import epilog, fail

EXAMPLE = "servicerisk refdata top-services --corpus .cache/realpages-dev --write"


@click.command("top-services", epilog=epilog(EXAMPLE))
@click.option("--corpus", "corpus_dir", type=click.Path(file_okay=False, exists=True, path_type=Path), required=True,
              help="The extracted realpages-dev corpus (manifest.csv and pages/).")
@click.option("--top", type=click.IntRange(1), default=100, show_default=True,
              help="How many of the corpus's most prevalent services to keep (the demo's are all kept).")
@click.option("--write", is_flag=True, help="Write data/reference/top_services.csv instead of printing the CSV.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_DATA_DIR,
              show_default=True, help="Data folder holding services/, companies/ and reference/.")
def top_services(corpus_dir: Path, top: int, write: bool, data_dir: Path) -> None:
    """Rank the catalog's services by the sites that embed them, on the .de/.at/.ch pages of the dev corpus and
    on the demo web, with the project's own observe and detect (curated catalog plus the long tail). The facts
    check requires complete company data for these services."""
    from devweb.web.pages import demo_pages
    from pipelines.catalog.load import CatalogError, load_catalog
    from pipelines.catalog.longtail import catalog_with_long_tail
    from pipelines.catalog.prevalence import TOP_SERVICES, Page, compute_top_services, top_services_csv

    try:
        catalog, provenance = catalog_with_long_tail(load_catalog(data_dir))
    except CatalogError as exc:
        fail(f"cannot load the catalog: {exc}", exits.FAILED)
    demo = (Page(*page) for page in demo_pages())
    rows, how = compute_top_services(corpus_dir, catalog, provenance.get("long_tail", "not loaded"), demo, top)
    text = top_services_csv(rows, how)
    if not write:
        click.echo(text, nl=False)
        return
    path = data_dir / TOP_SERVICES
    path.write_text(text, encoding="utf-8")
    click.echo(f"{len(rows)} rows written to {path}")
