"""``servicerisk scan DOMAIN``: check one site the way the seed's "Quickscanner" does, through the same pipeline.

The scan is its own small dataset under ``OUT/scans/<run_id>/`` (``raw/``, ``enriched/``, ``warehouse.duckdb``,
``report.json``, ``report.html``): crawled, enriched and built exactly like a dataset run
(``pipelines.pipeline.scan``), but never mixed into ``OUT/raw`` or ``OUT/warehouse.duckdb``. Exit codes
(``pipelines.exits``): 0 scanned, 2 bad input, 3 site unreachable (the report says why), 5 no DNS lookup was
answered (no working resolver; the report says so), 1 the pipeline failed.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from common.runfolder import Layout, new_run_id
from crawler.command import crawl_option, require_browser
from crawler.defaults import SCAN
from pipelines import exits
from pipelines.clihelp import epilog, fail, nameserver_option, out_option
from pipelines.contract import scan_report_json
from pipelines.publish.texts import LANGS

EXAMPLE = "servicerisk scan www.example.de --out out/scans-demo"


@click.command("scan", epilog=epilog(EXAMPLE))
@click.argument("domain")
@out_option("Output folder; the scan is written to OUT/scans/<run_id>/ (never into the dataset).")
@crawl_option("max_pages", SCAN,
              help="Pages of the site to fetch, home page included (privacy, imprint, contact pages first).")
@crawl_option("mode", SCAN,
              help="static: the HTML as served; browser: a real headless Chromium (needs Debian chromium) that "
                   "loads the home page before consent, after accept and after reject (autoconsent) and with GPC.")
@click.option("--browser-executable", default=None, metavar="PATH",
              help="Chromium for --mode browser (default: /usr/bin/chromium, Debian's package).")
@click.option("--lang", type=click.Choice(LANGS), default="de", show_default=True, help="Language of the report.")
@crawl_option("timeout", SCAN)
@nameserver_option("Resolver for DNS enrichment and the private-address guard (repeatable; default: the system's).")
@crawl_option("allow_private", SCAN)
@crawl_option("ignore_robots", SCAN)
@click.option("--user-agent", default=None, help="User-Agent header; include a contact URL.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of a table.")
def scan(domain, out_dir, lang, as_json, **flags):
    """Scan one site: its services with consent verdicts and risk bands, server countries, companies with US
    jurisdiction and DPF status, cloaked subdomains, and which services its privacy policy does not mention.
    Prints a summary and writes report.json and report.html under OUT/scans/<run_id>/."""
    from crawler.domains import InvalidDomain, normalise_domain

    try:
        site = normalise_domain(domain)
    except InvalidDomain as e:
        fail(f"{domain!r} is not a domain: {e}")
    if flags["mode"] == "browser":
        require_browser(flags["browser_executable"], option="--browser-executable PATH")
    code = scan_and_report(site, out_dir, lang=lang, as_json=as_json, **flags)
    if code != exits.OK:
        raise SystemExit(code)


def scan_and_report(site: str, out_dir: Path, *, lang: str = "de", as_json: bool = False, crawl=None,
                    **flags) -> int:
    """Scan ``site`` (a normalised domain) into a new OUT/scans/<run_id>/, write and print its report; returns
    the exit code (``flags``: those of ``pipelines.pipeline.scan``; ``crawl``: how to run the crawl)."""
    from pipelines.pipeline import CrawlNotFinished, Observer, PipelineError
    from pipelines.pipeline import scan as scan_site
    from pipelines.scan.render import print_report, write_evidence_pages, write_policy_blocks, write_report

    console = Console(stderr=as_json, emoji=False, highlight=False)  # crawled ":name:" strings stay text

    class Say(Observer):
        def prepared(self, plan) -> None:
            console.print(f"scanning {site} (up to {flags.get('max_pages', SCAN.max_pages)} pages) …")

    run_id = new_run_id()
    scan_dir = Layout(out_dir).scans / run_id
    try:
        result = scan_site(site, scan_dir, run_id=run_id, crawl=crawl, observer=Say(), **flags)
    except CrawlNotFinished as e:
        fail(f"the scan crawl of {site} did not finish (see {e.plan.run_dir / 'crawl.log'})", exits.FAILED)
    except PipelineError as e:
        fail(str(e), e.code)
    data = result.scan
    write_evidence_pages(result.evidence, scan_dir, lang)
    write_policy_blocks(data, scan_dir)
    json_path, html_path = write_report(data, scan_dir, lang)
    if as_json:
        click.echo(json.dumps(scan_report_json(data), ensure_ascii=False, default=str))
    else:
        print_report(data, console, lang)
    console.print(f"report: {html_path.resolve()} (JSON: {json_path.resolve()})", soft_wrap=True)
    if data["dns"]["no_resolver"]:
        return exits.NO_DNS
    if not data["reachable"]:
        return exits.UNREACHABLE
    return exits.OK
