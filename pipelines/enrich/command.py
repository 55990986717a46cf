"""The ``servicerisk enrich`` command and the enrichment summary tables (also printed by ``run`` and ``demo``)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from pipelines.clihelp import epilog, fail, nameserver_option, out_option
from pipelines.enrich.summary import summarise

EXAMPLE = "servicerisk enrich --out out/demo"


def print_summary(enriched_dir: Path, console: Console | None = None) -> None:
    """Print the enrichment summary tables of ``enriched_dir`` (third-party hosts by server country and by
    network, DNS outcomes, cloaked subdomains)."""
    console = console or Console()
    s = summarise(enriched_dir)
    t = Table(title="third-party hosts by server country")
    for col, just in (("country", "left"), ("confidence", "left"), ("hosts", "right")):
        t.add_column(col, justify=just)
    for country, conf, n in s["countries"]:
        t.add_row(country, conf, str(n))
    console.print(t)
    t = Table(title="third-party hosts by network (AS)")
    for col, just in (("AS organisation", "left"), ("ASN", "right"), ("hosts", "right")):
        t.add_column(col, justify=just)
    for org, asn, n in s["networks"]:
        t.add_row(org, str(asn or ""), str(n))
    console.print(t)
    t = Table(title="hosts by DNS outcome")
    t.add_column("outcome")
    t.add_column("hosts", justify="right")
    for outcome, n in s["dns"]:
        t.add_row(outcome, str(n))
    console.print(t)
    if s["cloaked"]:
        t = Table(title="CNAME-cloaked first-party subdomains")
        t.add_column("host", no_wrap=True)
        t.add_column("tracker")
        t.add_column("CNAME target", overflow="fold")
        for row in s["cloaked"]:
            t.add_row(*row)
        console.print(t)
    else:
        console.print("no CNAME-cloaked first-party subdomains")


@click.command(epilog=epilog(EXAMPLE))
@out_option("Output folder holding raw/<run_id>/; results go to OUT/enriched/<run_id>/.")
@click.option("--run", "run_id", default=None, metavar="RUN_ID",
              help="Sealed raw run to enrich (default: the newest).")
@nameserver_option()
@click.option("--ecs", default=None, metavar="SUBNET",
              help="Send this EDNS Client Subnet (e.g. 91.0.0.0/24) to see the answer a visitor there gets; "
                   "recorded as the vantage. Default: off.")
@click.option("--geoip-db", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Country/city mmdb (MaxMind GeoIP2/GeoLite2 or ip-location-db); default: the pinned "
                   "@ip-location-db/geo-whois-asn-country-mmdb.")
@click.option("--asn-db", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="ASN mmdb (MaxMind GeoLite2-ASN/GeoIP2-ISP) or ip-location-db ASN CSV; default: the pinned "
                   "@ip-location-db/asn.")
@click.option("--timeout", type=click.FloatRange(0.05, 60), default=2.0, show_default=True,
              help="Seconds to wait for one DNS reply.")
@click.option("--retries", type=click.IntRange(0, 10), default=1, show_default=True,
              help="Extra rounds over all nameservers after a timeout, SERVFAIL or REFUSED.")
@click.option("--concurrency", type=click.IntRange(1, 4096), default=64, show_default=True,
              help="Hosts resolved at the same time.")
@click.option("--force", is_flag=True, help="Replace an existing enrichment of the run.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: a bar when stderr is a terminal, else progress lines on stderr).")
@click.option("--summary/--no-summary", default=True, help="Print the summary tables at the end.")
def enrich(out_dir, run_id, nameservers, ecs, geoip_db, asn_db, timeout, retries, concurrency, force, progress,
           summary):
    """Resolve every host of a sealed crawl run (CNAME chain, A/AAAA), locate its servers (country, network)
    and flag CNAME-cloaked first-party subdomains; writes Parquet tables to OUT/enriched/<run_id>/."""
    from crawler.dnslookup import parse_ecs
    from crawler.progresslines import progress_mode
    from pipelines.catalog.load import CatalogError, load_catalog
    from pipelines.enrich.geoip import GeoIPError
    from pipelines.enrich.run import EnrichError, enrich_run

    if ecs:
        try:
            parse_ecs(ecs)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--ecs") from None
    show = progress_mode(progress)
    try:
        result = enrich_run(out_dir, run_id, tuple(nameservers), ecs, timeout=timeout, retries=retries,
                            concurrency=concurrency, geoip_db=geoip_db, asn_db=asn_db, force=force, progress=show,
                            catalog=load_catalog())
    except (EnrichError, GeoIPError, CatalogError) as e:
        fail(str(e))
    console = Console()
    for problem in result.manifest.get("problems", []):
        Console(stderr=True).print(f"[yellow]warning:[/yellow] {problem}", soft_wrap=True)
    if summary:
        print_summary(result.path, console)
    counts = result.counts
    console.print(f"enriched run [bold]{result.run_id}[/bold]: {counts['hosts']} hosts "
                  f"({counts['hosts_by_dns_outcome']}), {counts['addresses']} addresses, "
                  f"{counts['cloaked_hosts']} cloaked → {result.path}", soft_wrap=True)
