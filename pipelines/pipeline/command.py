"""Click commands that run the whole pipeline, for ``pipelines/cli.py`` to register: ``run`` (a domain list) and
``demo`` (the offline demo web), and :class:`Printer`, what they (and ``build``) print as the stages finish."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from common.runfolder import Layout
from crawler.command import (
    browser_options,
    crawl_option,
    crawl_options,
    new_run_options,
    require_browser,
    require_resolver,
    say_sealed,
    say_unsealed,
)
from crawler.progresslines import progress_mode, step_lines
from pipelines import exits
from pipelines.clihelp import epilog, err, fail, out, out_option, self_command
from pipelines.pipeline import CrawlNotFinished, Observer, PipelineError, crawl_in_child, run_pipeline

if TYPE_CHECKING:
    from crawler.runner import CrawlOptions

EXAMPLES = {
    "run": "servicerisk run domains.txt --out out/mycrawl --max-pages 5",
    "demo": "servicerisk demo --out out/demo",
}
DEMO_SCAN_SITE = "baeckerei-schmidt.de"  # embeds Google services its privacy policy only partly names
# pages of the demo's output shown as screenshots (path under --out, file name stem), at 1280 and 390 px; the
# newest scan's report.html is added as "scan-report"
DEMO_SCREENSHOTS = (("kb/de/site/services/livechat.html", "kb-livechat-de"),
                    ("kb/en/site/services/livechat.html", "kb-livechat-en"),
                    ("kb/de/site/index.html", "kb-index-de"), ("kb/en/site/index.html", "kb-index-en"))


class Printer(Observer):
    """Prints each stage of the pipeline as it finishes into ``out_dir``: rejected lines, the run summary (with
    ``summary``), the enrichment summary, the warehouse build (a spinner on a terminal, step lines otherwise)."""

    def __init__(self, out_dir: Path, summary: bool = True):
        self.out_dir, self.summary = out_dir, summary

    def prepared(self, plan) -> None:
        if plan.rejected:
            err.print(f"{plan.rejected} line(s) rejected, see {plan.run_dir / 'rejected.csv'}")

    def crawled(self, plan, warning) -> None:
        say_sealed(plan.run_dir, warning, self.summary)

    def enriched(self, result) -> None:
        from pipelines.enrich.command import print_summary

        print_summary(result.path, out)

    @contextmanager
    def building(self):
        if progress_mode(None) is True:  # a long build says what it is doing
            with Console(stderr=True).status("building the warehouse") as status:
                yield lambda what: status.update(f"building the warehouse: {what}")
        else:
            yield step_lines("build")

    def rebuilding(self, reason: str) -> None:
        out.print(f"{reason}: rebuilding it from the run folders")

    def built(self, report) -> None:
        out.print(f"warehouse {Layout(self.out_dir).warehouse}: loaded {len(report.loaded)} run(s), "
                  f"re-attributed {len(report.reattributed)}, privacy policies checked in "
                  f"{len(report.policy_checked)}, {len(report.models)} models; catalog {report.catalog}")


def pipeline(domains: Path, options: CrawlOptions, printer: Printer, **kwargs):
    """``run_pipeline`` for a command: an unfinished crawl says how to resume it, every error is one line and
    its exit code."""
    try:
        return run_pipeline(domains, options, observer=printer, **kwargs)
    except CrawlNotFinished as e:
        say_unsealed(e.plan.run_id, e.reason, options.out)
        sys.exit(e.code)
    except PipelineError as e:
        fail(str(e), e.code)


@click.command(epilog=epilog(EXAMPLES["run"]), context_settings={"ignore_unknown_options": False})
@click.argument("domains", type=click.Path(dir_okay=False, path_type=Path))
@crawl_options
@browser_options
def run(domains, **flags):
    """The main job: crawl DOMAINS, enrich the run (DNS, server location, network, cloaking), build the warehouse."""
    options = new_run_options(flags)
    require_resolver(options.nameservers)
    result = pipeline(domains, options, Printer(options.out, flags["summary"]))
    if result.warning:  # sealed all the same: enriched and built, then said again
        fail("the crawl ran, but fewer than 10 % of its sites answered (see the warning above)", exits.FEW_ANSWERED)


@click.command(epilog=epilog(EXAMPLES["demo"], "servicerisk demo --serve --out out/demo"))
@out_option("Output folder for the demo dataset.", default=Path("out/demo"), show_default=True)
@crawl_option("mode", help="browser: one crawl of the demo web plus the browser fixture sites in headless "
                           "Chromium (pre-consent, accept, reject, GPC), then the consent marts; needs /usr/bin/chromium.")
@click.option("--serve", is_flag=True,
              help="Run no pipeline: keep the demo web (month 2, plus the browser fixture sites) and its DNS up until "
                   "Ctrl-C, and print the environment to set in another shell to crawl or scan demo sites.")
@click.option("--proxy-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="With --serve: the demo web's proxy port on 127.0.0.1 (0: any free port).")
@click.option("--dns-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="With --serve: the demo DNS server's port on 127.0.0.1 (0: any free port).")
def demo(out_dir, mode="static", serve=False, proxy_port=0, dns_port=0):
    """Run the whole pipeline on the embedded offline demo web (local proxy + local DNS on 127.0.0.1):
    two monthly crawls (some sites change their embeds in month 2), then the warehouse. With --serve, only keep
    the demo web and DNS up for your own crawls and scans."""
    from crawler.runner import CrawlOptions
    from devweb.dns import LocalDNS
    from devweb.dns.demo import demo_zone
    from devweb.web.demo import demo_domain_list_text, demo_web
    from devweb.web.server import LocalWeb

    if serve:
        _demo_serve(out_dir, proxy_port, dns_port)
        return
    if mode == "browser":
        _demo_browser(out_dir)
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    domains = out_dir / "demo-domains.txt"
    domains.write_text(demo_domain_list_text(), encoding="utf-8")
    layout = Layout(out_dir)
    with LocalDNS(demo_zone()) as dns:
        for month in (1, 2):
            with LocalWeb(demo_web(month=month)) as web:
                out.print(f"[bold]month {month}[/bold]: demo web on {web.proxy_url} (proxy), DNS on {dns.nameserver}")
                options = CrawlOptions(out=out_dir, nameservers=(dns.nameserver,), timeout=10.0,
                                       progress=progress_mode(None))
                result = pipeline(domains, options, Printer(out_dir, summary=month == 2),
                                  crawl=crawl_in_child(web.proxy_env()), build=month == 2,
                                  kb=("de", "en") if month == 2 else (), rebuild_outdated=True)
            if result.warning:
                fail(f"demo crawl of month {month} failed (exit {exits.FEW_ANSWERED})", exits.FEW_ANSWERED)
    service_ids = _print_demo_services(layout)
    from pipelines.publish.verdicts import warehouse_verdicts
    from pipelines.warehouse.connect import connect

    out.print("\n[bold]consent verdicts and risk scores of the demo services[/bold] (the warehouse's service_risk)")
    con = connect(layout.warehouse, read_only=True)
    warehouse_verdicts(con, service_ids, out)
    con.close()
    out.print(f"\nKnowledge base: {(out_dir / 'kb').resolve()} — open "
              f"{(out_dir / 'kb' / 'de' / 'site' / 'index.html').resolve()} (English: "
              f"{result.kb['en'].index_html.resolve()})", soft_wrap=True)
    out.print(f"\n[bold]Quickscan of one demo site[/bold] ({DEMO_SCAN_SITE}; kept in {layout.scans}/, not in the "
              "dataset)")
    from pipelines.scan.command import scan_and_report

    with LocalDNS(demo_zone()) as dns, LocalWeb(demo_web(month=2)) as web:
        rc = scan_and_report(DEMO_SCAN_SITE, out_dir, nameservers=(dns.nameserver,), timeout=10.0,
                             crawl=crawl_in_child(web.proxy_env()))
    if rc != exits.OK:
        fail(f"demo scan of {DEMO_SCAN_SITE} failed (exit {rc})", rc)
    _demo_screenshots(layout)
    wh = layout.warehouse
    out.print(f"\nOutputs: runs in {layout.raw.resolve()}/, warehouse {wh.resolve()}, scans in {layout.scans.resolve()}/")
    out.print(f"Knowledge base: open {(out_dir / 'kb' / 'de' / 'site' / 'index.html').resolve()}", soft_wrap=True)
    out.print("Example queries an analyst can paste:")
    for q in (
        "SELECT service_id, name, sites, round(share, 3) AS share, round(share_ci_low, 3) AS lo, "
        "round(share_ci_high, 3) AS hi FROM services ORDER BY sites DESC LIMIT 10",
        "SELECT company_id, name, sites, round(reach, 3) AS reach, us_jurisdiction, dpf_status FROM companies "
        "WHERE parent_id IS NULL ORDER BY sites DESC LIMIT 10",
        "SELECT site, third_party_hosts, services FROM sites WHERE outcome = 'ok' ORDER BY services DESC LIMIT 10",
    ):
        out.print(f"  {self_command()} query --out {out_dir} \"{q}\"", soft_wrap=True)
    out.print(f"To crawl or scan demo sites yourself, keep the demo web up with `{self_command()} demo --serve` "
              "(it prints what to set in another shell).", soft_wrap=True)


def _demo_screenshots(layout: Layout) -> None:
    """Screenshots of the demo's KB pages and scan report into OUT/screenshots/ when Chromium is installed (a
    message otherwise)."""
    from pipelines.screenshots import BrowserUnavailable, capture

    pages = [(layout.out / rel, name) for rel, name in DEMO_SCREENSHOTS]
    pages += [(report, "scan-report") for report in sorted(layout.scans.glob("*/report.html"))[-1:]]
    target = layout.out / "screenshots"
    try:
        files = capture(pages, target)
    except BrowserUnavailable as exc:
        out.print(f"\nScreenshots skipped: {exc}")
        return
    out.print(f"\nScreenshots: {len(files)} files in {target.resolve()}/", soft_wrap=True)


def _demo_domains(out_dir: Path) -> Path:
    """The demo's domain list plus the browser fixture sites, written to OUT/demo-domains.txt."""
    from devweb.web import BROWSER_DOMAINS
    from devweb.web.demo import demo_domain_list_text

    out_dir.mkdir(parents=True, exist_ok=True)
    domains = out_dir / "demo-domains.txt"
    domains.write_text(demo_domain_list_text() + "".join(f"{d}\n" for d in BROWSER_DOMAINS), encoding="utf-8")
    return domains


def _demo_serve(out_dir: Path, proxy_port: int, dns_port: int) -> None:
    """Serve the demo web (month 2 and the browser fixture sites) and its DNS until Ctrl-C or SIGTERM."""
    import signal
    import threading

    from devweb.dns import LocalDNS
    from devweb.dns.demo import demo_zone
    from devweb.dns.fixtures import browser_zone
    from devweb.web import BROWSER_DOMAINS, build_web
    from devweb.web.server import LocalWeb

    domains = _demo_domains(out_dir)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    web = build_web("demo,browser", month=2)
    with LocalDNS(demo_zone().update(browser_zone()), port=dns_port) as dns, \
            LocalWeb(web, port=proxy_port) as lw:
        me = self_command()
        out.print(f"demo web on {lw.proxy_url} (an HTTP(S) proxy serving {len(web)} hosts), demo DNS on "
                  f"{dns.nameserver}; Ctrl-C stops both.", soft_wrap=True)
        out.print("In another shell, set:", soft_wrap=True)
        click.echo(f"  export https_proxy={lw.proxy_url} http_proxy={lw.proxy_url} no_proxy=")
        out.print("then, for example:", soft_wrap=True)
        click.echo(f"  {me} scan {DEMO_SCAN_SITE} --out {out_dir} --nameserver {dns.nameserver}")
        click.echo(f"  {me} crawl {domains} --out {out_dir / 'mine'} --nameserver {dns.nameserver}")
        click.echo(f"  {me} scan {BROWSER_DOMAINS[1]} --mode browser --out {out_dir} --nameserver {dns.nameserver}")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    out.print("demo web and DNS stopped")


def _demo_browser(out_dir: Path) -> None:
    """The browser pass of the demo: demo web + browser fixture sites, every consent state and GPC."""
    from crawler.runner import CrawlOptions
    from devweb.dns import LocalDNS
    from devweb.dns.demo import demo_zone
    from devweb.dns.fixtures import browser_zone
    from devweb.web import build_web
    from devweb.web.server import LocalWeb
    from pipelines.warehouse.connect import connect

    require_browser(None)
    domains = _demo_domains(out_dir)
    with LocalDNS(demo_zone().update(browser_zone())) as dns, LocalWeb(build_web("demo,browser")) as web:
        out.print(f"[bold]browser pass[/bold]: headless Chromium through the demo web proxy {web.proxy_url}")
        options = CrawlOptions(out=out_dir, nameservers=(dns.nameserver,), allow_private=True, max_pages=1,
                               mode="browser", consent_states=("accept", "reject"), signals=("gpc",),
                               extra_settings={"SR_BROWSER_PAGE_BUDGET": "15"}, progress=progress_mode(None))
        result = pipeline(domains, options, Printer(out_dir), crawl=crawl_in_child(web.proxy_env()))
    if result.warning:
        fail(f"demo browser crawl failed (exit {exits.FEW_ANSWERED})", exits.FEW_ANSWERED)
    con = connect(Layout(out_dir).warehouse, read_only=True)
    t = Table(title="services on browser-crawled sites: before consent, despite reject, despite GPC, browser-only")
    cols = ("service_id", "browser_sites", "sites_before_consent", "sites_after_reject", "sites_with_gpc",
            "sites_browser_only")
    for c in cols:
        t.add_column(c, justify="left" if c == "service_id" else "right")
    for row in con.execute("SELECT service_id, browser_sites, sites_before_consent, sites_after_reject, sites_with_gpc, "
                           "sites_browser_only FROM service_consent ORDER BY sites_before_consent DESC, service_id "
                           "LIMIT 15").fetchall():
        t.add_row(*(str(v) for v in row))
    con.close()
    out.print(t)
    out.print(f"  {self_command()} query --out {out_dir} \"SELECT * FROM site_service_consent "
              f"WHERE fires_before_consent\"", soft_wrap=True)


def _print_demo_services(layout: Layout) -> list[str]:
    from pipelines.warehouse.connect import connect

    con = connect(layout.warehouse, read_only=True)
    rows = con.execute("SELECT name, service_id, sites, sites_total FROM services ORDER BY sites DESC, service_id "
                       "LIMIT 20").fetchall()
    con.close()
    t = Table(title="top services on the demo web (newest run)")
    for col, just in (("service", "left"), ("id", "left"), ("sites", "right")):
        t.add_column(col, justify=just)
    for name, sid, n, total in rows:
        t.add_row(name or sid, sid, f"{n}/{total}")
    out.print(t)
    return [sid for _, sid, _, _ in rows]
