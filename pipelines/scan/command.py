"""``servicerisk scan DOMAIN``: check one site the way the seed's "Quickscanner" does, through the same pipeline.

The scan is its own small dataset under ``OUT/scans/<run_id>/`` (``raw/``, ``enriched/``, ``warehouse.duckdb``,
``report.json``, ``report.html``): crawled, enriched and built exactly like a dataset run, but never mixed into
``OUT/raw`` or ``OUT/warehouse.duckdb``. Exit codes (``pipelines.exits``): 0 scanned, 2 bad input, 3 site
unreachable (the report says why), 5 no DNS lookup was answered (no working resolver; the report says so), 1 the
pipeline failed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from crawler.paths import Layout, new_run_id
from pipelines import exits
from pipelines.contract import scan_report_json
from pipelines.publish.texts import LANGS

EXAMPLE = "servicerisk scan www.example.de --out out/scans-demo"
MODES = ("static", "browser")


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.command("scan", epilog=f"\b\nExample:\n  {EXAMPLE}")
@click.argument("domain")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder; the scan is written to OUT/scans/<run_id>/ (never into the dataset).")
@click.option("--max-pages", type=click.IntRange(1, 100), default=10, show_default=True,
              help="Pages of the site to fetch, home page included (privacy, imprint, contact pages first).")
@click.option("--mode", type=click.Choice(MODES), default="static", show_default=True,
              help="static: the HTML as served; browser: a real headless Chromium (needs Debian chromium) that "
                   "loads the home page before consent, after accept and after reject (autoconsent) and with GPC.")
@click.option("--browser-executable", default=None, metavar="PATH",
              help="Chromium for --mode browser (default: /usr/bin/chromium, Debian's package).")
@click.option("--lang", type=click.Choice(LANGS), default="de", show_default=True, help="Language of the report.")
@click.option("--timeout", type=click.FloatRange(0.5, 600), default=20.0, show_default=True,
              help="Download timeout per request, seconds.")
@click.option("--nameserver", "nameservers", multiple=True, metavar="IP[:PORT]",
              help="Resolver for DNS enrichment and the private-address guard (repeatable; default: the system's).")
@click.option("--allow-private", is_flag=True, help="Allow destinations on loopback/private addresses.")
@click.option("--ignore-robots", is_flag=True, help="Do not honour robots.txt.")
@click.option("--user-agent", default=None, help="User-Agent header; include a contact URL.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of a table.")
def scan(domain, out_dir, max_pages, mode, browser_executable, lang, timeout, nameservers, allow_private,
         ignore_robots, user_agent, as_json):
    """Scan one site: its services with consent verdicts and risk bands, server countries, companies with US
    jurisdiction and DPF status, cloaked subdomains, and which services its privacy policy does not mention.
    Prints a summary and writes report.json and report.html under OUT/scans/<run_id>/."""
    from crawler.domains import InvalidDomain, normalise_domain
    from crawler.resolver import parse_nameserver

    try:
        site = normalise_domain(domain)
    except InvalidDomain as e:
        _fail(f"{domain!r} is not a domain: {e}", 2)
    for ns in nameservers:
        try:
            parse_nameserver(ns)
        except ValueError as e:
            _fail(f"--nameserver: {e}", 2)
    if mode == "browser":
        from crawler.browser import browser_unavailable

        why = browser_unavailable(browser_executable, option="--browser-executable PATH")
        if why:
            _fail(why, 2)
    console = Console(stderr=as_json, emoji=False, highlight=False)  # crawled ":name:" strings stay text
    run_id = new_run_id()
    scan_dir = Layout(out_dir).scans / run_id
    data, evidence = run_scan(site, scan_dir, run_id=run_id, max_pages=max_pages, mode=mode,
                              browser_executable=browser_executable, timeout=timeout,
                              nameservers=tuple(nameservers), allow_private=allow_private,
                              ignore_robots=ignore_robots, user_agent=user_agent, console=console)
    from pipelines.scan.render import print_report, write_evidence_pages, write_policy_blocks, write_report

    write_evidence_pages(evidence, scan_dir, lang)
    write_policy_blocks(data, scan_dir)
    json_path, html_path = write_report(data, scan_dir, lang)
    if as_json:
        click.echo(json.dumps(scan_report_json(data), ensure_ascii=False, default=str))
    else:
        print_report(data, console, lang)
    console.print(f"report: {html_path.resolve()} (JSON: {json_path.resolve()})", soft_wrap=True)
    if data["dns"]["no_resolver"]:
        sys.exit(exits.NO_DNS)
    if not data["reachable"]:
        sys.exit(exits.UNREACHABLE)


def run_scan(site: str, scan_dir: Path, *, run_id: str, max_pages: int, mode: str, timeout: float,
             browser_executable: str | None = None,
             nameservers: tuple[str, ...], allow_private: bool, ignore_robots: bool, user_agent: str | None,
             console: Console) -> tuple[dict, dict]:
    """Crawl, enrich and build ``site`` into ``scan_dir`` (a fresh folder) and return the report's page data and
    its evidence pack (:func:`pipelines.scan.evidence.evidence_data`; a browser scan's crawl writes one HAR file
    per visit to ``scan_dir/evidence/har/``)."""
    from crawler.runner import CrawlOptions, prepare_run, run_crawl
    from pipelines.catalog.refdata import catalog_with_long_tail
    from pipelines.enrich.run import EnrichError, enrich_run
    from pipelines.scan.evidence import EVIDENCE_DIR, HAR_DIR, evidence_data
    from pipelines.scan.report import scan_data
    from pipelines.warehouse.build import build
    from pipelines.warehouse.connect import connect

    scan_dir.mkdir(parents=True, exist_ok=False)
    har_dir = scan_dir / EVIDENCE_DIR / HAR_DIR
    extra = {"SR_BROWSER_EXECUTABLE": browser_executable} if browser_executable else {}
    if mode == "browser":
        extra["SR_BROWSER_HAR_DIR"] = str(har_dir)
    domains = scan_dir / "domain.txt"
    domains.write_text(site + "\n", encoding="utf-8")
    opts = CrawlOptions(out=scan_dir, max_pages=max_pages, concurrency=4, per_site_concurrency=2, timeout=timeout,
                        ignore_robots=ignore_robots, user_agent=user_agent, allow_private=allow_private,
                        nameservers=nameservers, autothrottle=False, run_id=run_id, kind="scan", mode=mode,
                        # one site: the browser pass loads it before consent, after accept and reject, and with GPC
                        consent_states=("accept", "reject") if mode == "browser" else (),
                        signals=("gpc",) if mode == "browser" else (),
                        extra_settings=extra)
    plan = prepare_run(domains, opts)
    console.print(f"scanning {site} (up to {max_pages} pages) …")
    run_crawl(plan, opts)
    layout = Layout(scan_dir)
    if not (plan.run_dir / "manifest.json").is_file():
        _fail(f"the scan crawl of {site} did not finish (see {plan.run_dir / 'crawl.log'})", 1)
    try:
        enriched = enrich_run(scan_dir, run_id, nameservers=list(nameservers))
    except EnrichError as e:
        _fail(f"enrichment failed: {e}", 1)
    catalog, provenance = catalog_with_long_tail()
    report = build(scan_dir, catalog=catalog, catalog_provenance=provenance, kinds=("scan",))
    if report.failed_assertions:
        _fail(f"warehouse assertions failed for the scan: {report.failed_assertions}", 1)
    raw_manifest = layout.read_manifest(run_id)
    enr_manifest = json.loads((enriched.path / "manifest.json").read_text(encoding="utf-8"))
    ref = enr_manifest.get("reference_data") or {}
    prov = {
        "crawled_at": raw_manifest.get("started_at"),
        "enriched_at": enr_manifest.get("started_at"),
        "geoip": {k: f"{v.get('name')} ({v.get('build_date')})" for k, v in ref.items()
                  if k in ("geo_db", "asn_db") and isinstance(v, dict)},
        "catalog": report.catalog.get("digest"),
        "reference_data": raw_manifest.get("reference_data"),
        "mode": mode,
        "max_pages": max_pages,
    }
    con = connect(layout.warehouse, read_only=True)
    try:
        data = scan_data(con, catalog, run_id=run_id, site_input=site, provenance=prov)
        return data, evidence_data(con, data, har_dir if mode == "browser" else None)
    finally:
        con.close()
