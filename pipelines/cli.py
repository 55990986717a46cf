"""The ``servicerisk`` command line: crawl, demo (and the later stages as they arrive)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from common.runfolder import Layout
from crawler.domains import DomainListError
from crawler.progresslines import progress_mode, step_lines
from pipelines import exits

err = Console(stderr=True)
out = Console()

EXAMPLES = {
    "kb": "servicerisk kb --out out/demo",
    "enrich": "servicerisk enrich --out out/demo",
    "docs": "servicerisk docs > data-dictionary.md",
    "build": "servicerisk build --out out/demo",
    "check": "servicerisk check --out out/demo",
    "query": "servicerisk query --out out/demo \"SELECT service_id, sites, share FROM services LIMIT 10\"",
    "export": "servicerisk export --out out/demo --parquet out/demo-export",
    "run": "servicerisk run domains.txt --out out/mycrawl --max-pages 5",
    "observe": "servicerisk observe saved-page.html --url https://www.example.de/",
    "refdata": "servicerisk refdata",
    "crawl": "servicerisk crawl domains.txt --out out/mycrawl --max-pages 5",
    "seed": "servicerisk seed --redis redis://127.0.0.1:6379/0 tranco-100k.csv --out /mnt/shared/crawls --max-pages 5",
    "seal": "servicerisk seal --redis redis://127.0.0.1:6379/0 --out /mnt/shared/crawls --wait 600",
    "demo": "servicerisk demo --out out/demo",
}


def _fail(message: str, code: int = 2) -> None:
    """One line on stderr (never wrapped), then exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _epilog(name: str) -> str:
    return f"\b\nExample:\n  {EXAMPLES[name]}"


def _exit_codes() -> str:
    return "\b\nExit codes:\n" + "\n".join(f"  {code:>3}  {text}" for code, text in exits.MEANINGS.items())


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=_exit_codes())
@click.version_option(package_name="servicerisk")
def main() -> None:
    """Measure which third-party services websites embed, where their servers are, who runs them,
    and how risky they are under GDPR and TDDDG §25."""


def _check_panel(ctx, param, value):
    import re

    if value is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
        raise click.BadParameter(f"{value!r}: letters, digits, '.', '_' and '-', at most 64", param_hint="--panel")
    return value


def _crawl_options(f):
    opts = [
        click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
                     help="Output folder (holds raw/<run_id>/, enriched/, warehouse.duckdb, kb/, scans/)."),
        click.option("--max-pages", type=click.IntRange(1, 100), default=5, show_default=True,
                     help="Pages per site, home page included."),
        click.option("--concurrency", type=click.IntRange(1, 1024), default=32, show_default=True,
                     help="Requests in flight overall."),
        click.option("--per-site-concurrency", type=click.IntRange(1, 16), default=2, show_default=True,
                     help="Requests in flight per site."),
        click.option("--timeout", type=click.FloatRange(0.5, 600), default=20.0, show_default=True,
                     help="Download timeout per request, seconds."),
        click.option("--ignore-robots", is_flag=True, help="Do not honour robots.txt."),
        click.option("--user-agent", default=None, help="User-Agent header; include a contact URL."),
        click.option("--allow-private", is_flag=True,
                     help="Allow destinations on loopback/private/link-local addresses (refused by default)."),
        click.option("--nameserver", "nameservers", multiple=True, metavar="IP[:PORT]",
                     help="Resolver for everything servicerisk resolves itself (repeatable; default: the system's)."),
        click.option("--no-autothrottle", is_flag=True, help="Disable AutoThrottle (benchmarks on a local web)."),
        click.option("--run-id", default=None, help="Use this run id instead of a new one."),
        click.option("--panel", default=None, metavar="NAME", callback=_check_panel,
                     help="Name the panel this run belongs to: trends and `kb --changes` compare runs of one panel "
                          "only (default: runs of the same domain list, by its checksum)."),
        click.option("--progress/--no-progress", default=None,
                     help="Progress bar (default: a bar when stderr is a terminal, else a progress line per N sites "
                          "or per minute on stderr)."),
        click.option("--summary/--no-summary", default=True, help="Print the run summary table at the end."),
        click.option("-s", "--set", "sets", multiple=True, metavar="NAME=VALUE",
                     help="Override a Scrapy/SR_* setting (repeatable)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _browser_options(f):
    """--mode, --consent, --gpc (crawl and run; a distributed run is static only)."""
    opts = [
        click.option("--mode", type=click.Choice(["static", "browser"]), default="static", show_default=True,
                     help="static: fetch HTML and read it; browser: load every page in headless Chromium "
                          "(/usr/bin/chromium; through https_proxy when set) and record every request, cookie "
                          "and storage key."),
        click.option("--consent", "consent", default="", metavar="accept,reject",
                     help="Browser mode: besides the pre-consent load, also load each home page after accepting "
                          "and/or rejecting its consent banner (autoconsent)."),
        click.option("--gpc", is_flag=True,
                     help="Browser mode: also load each home page sending Sec-GPC: 1 and DNT: 1 "
                          "(navigator.globalPrivacyControl = true)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _parse_consent(value: str, mode: str) -> tuple[str, ...]:
    states = tuple(dict.fromkeys(p.strip().lower() for p in value.split(",") if p.strip()))
    bad = [p for p in states if p not in ("accept", "reject")]
    if bad:
        raise click.BadParameter(f"{', '.join(bad)}: expected accept and/or reject", param_hint="--consent")
    if states and mode != "browser":
        raise click.BadParameter("consent states need --mode browser", param_hint="--consent")
    return states


def _require_browser(settings: dict) -> None:
    """Exit with one line when browser mode cannot run (Chromium from ``-s SR_BROWSER_EXECUTABLE`` or the default)."""
    from crawler.browser.session import browser_unavailable

    why = browser_unavailable(settings.get("SR_BROWSER_EXECUTABLE"))
    if why:
        _fail(why)


def _require_resolver(nameservers) -> None:
    """Exit with one line when there is no resolver to look sites up with (the crawl resolves every name itself)."""
    from crawler.dnslookup import HostResolver

    try:
        HostResolver(tuple(nameservers))
    except ValueError as e:
        _fail(f"{e}: the crawler looks every site up itself")


def _parse_sets(sets: tuple[str, ...]) -> dict:
    out_: dict = {}
    for item in sets:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--set")
        k, v = item.split("=", 1)
        out_[k.strip()] = v
    return out_


def _options(out_dir, max_pages, concurrency, per_site_concurrency, timeout, ignore_robots, user_agent,
             allow_private, nameservers, no_autothrottle, run_id, progress, sets, mode="static", consent="",
             gpc=False, panel=None):
    """CrawlOptions from the shared crawl flags (``--nameserver`` values checked)."""
    from crawler.resolver import parse_nameserver
    from crawler.runner import CrawlOptions

    for ns in nameservers:
        try:
            parse_nameserver(ns)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--nameserver") from None
    if mode == "browser":
        _require_browser(_parse_sets(sets))
    return CrawlOptions(
        out=out_dir, max_pages=max_pages, concurrency=concurrency, per_site_concurrency=per_site_concurrency,
        timeout=timeout, ignore_robots=ignore_robots, user_agent=user_agent, allow_private=allow_private,
        nameservers=tuple(nameservers), autothrottle=not no_autothrottle, run_id=run_id,
        progress=progress_mode(progress), extra_settings=_parse_sets(sets),
        mode=mode, consent_states=_parse_consent(consent, mode), signals=("gpc",) if gpc else (), panel=panel,
    )


_REDIS_HELP = "Redis server of a distributed run, e.g. redis://127.0.0.1:6379/0."


@main.command(epilog=_epilog("crawl") + "\n  servicerisk crawl --resume 20261129T084100Z-3fa2c1 --out out/mycrawl"
              "\n  servicerisk crawl --redis redis://127.0.0.1:6379/0 --out /mnt/shared/crawls")
@click.argument("domains", type=click.Path(dir_okay=False, path_type=Path), required=False)
@_crawl_options
@_browser_options
@click.option("--resume", "resume", default=None, metavar="RUN_ID",
              help="Finish an interrupted (unsealed) run: crawl only the domains no committed part holds.")
@click.option("--redis", "redis_url", default=None, metavar="URL",
              help="Work on the distributed run seeded in this Redis (see `seed`): its settings come from Redis; "
                   "--run-id picks a run other than the newest, -s overrides settings for this worker only.")
def crawl(domains, out_dir, max_pages, concurrency, per_site_concurrency, timeout, ignore_robots, user_agent,
          allow_private, nameservers, no_autothrottle, run_id, panel, progress, summary, sets, mode="static",
          consent="", gpc=False, resume=None, redis_url=None):
    """Crawl the sites in DOMAINS (plain list or Tranco CSV) into a new sealed run under OUT/raw/,
    finish an interrupted run with --resume RUN_ID (after Ctrl-C or a kill), or join a distributed run as one
    of its workers with --redis URL (any number of workers on any number of machines sharing OUT)."""
    from crawler.runner import ResumeError, prepare_run, resume_run, run_crawl

    if redis_url is not None:
        if domains is not None or resume is not None:
            _fail("--redis takes no DOMAINS and no --resume: `seed` enqueues the domains, workers only crawl")
        from crawler.runner import RUN_OPTION_FLAGS

        run_wide = [RUN_OPTION_FLAGS[f] for f in _given_run_options()
                    if f not in ("extra_settings", "mode", "consent_states", "signals")]
        if run_wide:
            _fail(f"{', '.join(run_wide)}: a distributed run's settings come from `seed`; "
                  "use -s NAME=VALUE to change one for this worker")
        _crawl_worker(redis_url, out_dir, run_id, progress, sets)
        return
    if gpc and mode != "browser":
        _fail("--gpc needs --mode browser")
    opts = _options(out_dir, max_pages, concurrency, per_site_concurrency, timeout, ignore_robots, user_agent,
                    allow_private, nameservers, no_autothrottle, run_id, progress, sets, mode, consent, gpc, panel)
    if (domains is None) == (resume is None):
        _fail("give either DOMAINS (a new run) or --resume RUN_ID (finish an interrupted run)")
    if not resume:
        _require_resolver(opts.nameservers)
    try:
        plan = resume_run(resume, opts, _given_run_options()) if resume else prepare_run(domains, opts)
    except (DomainListError, FileExistsError, ValueError, ResumeError) as e:
        _fail(str(e))
    if resume:
        _require_resolver(opts.nameservers)  # the run's own
    if resume and opts.mode == "browser":  # adopted from the run: check the browser now
        _require_browser(opts.extra_settings)
    if resume:
        err.print(f"resuming {plan.run_id} with its own settings ({opts.mode}, --max-pages {opts.max_pages}, "
                  f"--concurrency {opts.concurrency}): {plan.resumed_from} site(s) already committed, "
                  f"{plan.accepted} to go")
    if plan.rejected:
        err.print(f"{plan.rejected} line(s) rejected, see {plan.run_dir / 'rejected.csv'}")
    stats = {}
    try:
        stats = run_crawl(plan, opts)
    finally:
        if not (plan.run_dir / "manifest.json").is_file():
            reason = stats.get("finish_reason") or "stopped"
            err.print(f"[red]run {plan.run_id} did not finish ({reason}); it is not sealed.[/red] Finish it with:",
                      soft_wrap=True)
            click.echo(f"  {_self_command()} crawl --resume {plan.run_id} --out {out_dir}", err=True)
    if not (plan.run_dir / "manifest.json").is_file():
        sys.exit(exits.INTERRUPTED if stats.get("finish_reason") == "shutdown" else exits.FAILED)
    if summary:
        _print_summary(plan.run_dir)
    out.print(f"run [bold]{plan.run_id}[/bold] sealed in {plan.run_dir}")
    from pipelines.summary import answered_warning

    warning = answered_warning(Layout(out_dir).read_manifest(plan.run_id))
    if warning:
        err.print(f"[yellow]warning: {warning}[/yellow]", soft_wrap=True)
        sys.exit(exits.FEW_ANSWERED)


def _given_run_options() -> list[str]:
    """The run-shaping options (``crawler.runner.RUN_OPTION_FLAGS``) set on this command line, in that table's
    order (messages name them in a stable order)."""
    from crawler.runner import RUN_OPTION_FLAGS

    ctx = click.get_current_context()
    given = {p.name for p in ctx.command.params
             if ctx.get_parameter_source(p.name) == click.core.ParameterSource.COMMANDLINE}
    return [field for field, flag in RUN_OPTION_FLAGS.items()
            if any(flag in p.opts for p in ctx.command.params if p.name in given)]


def _crawl_worker(redis_url, out_dir, run_id, progress, sets) -> None:
    from crawler.distributed.queue import DistributedError
    from crawler.runner import join_run, run_crawl

    try:
        plan, opts = join_run(redis_url, out_dir, run_id, progress=progress_mode(progress),
                              extra_settings=_parse_sets(sets))
    except (DistributedError, ValueError) as e:
        _fail(str(e))
    err.print(f"worker {opts.writer_id} joined run {plan.run_id}")
    stats = run_crawl(plan, opts, redis_url=redis_url)
    if stats.get("finish_reason") != "finished":
        _fail(f"worker {opts.writer_id} stopped early ({stats.get('finish_reason')}); "
              "its uncommitted sites need `seed --requeue-missing`", 1)
    out.print(f"worker {opts.writer_id} done: {stats.get('item_scraped_count', 0)} site(s) in run {plan.run_id}")


@main.command(epilog=_epilog("seed") + "\n  servicerisk seed --redis redis://127.0.0.1:6379/0 --requeue-missing "
              "--out /mnt/shared/crawls")
@click.argument("domains", type=click.Path(dir_okay=False, path_type=Path), required=False)
@_crawl_options
@click.option("--redis", "redis_url", required=True, metavar="URL", help=_REDIS_HELP)
@click.option("--requeue-missing", is_flag=True,
              help="Re-enqueue every accepted domain of the run (newest, or --run-id) that has no committed row "
                   "and is not queued, e.g. after a worker died; needs every worker stopped.")
def seed(domains, out_dir, max_pages, concurrency, per_site_concurrency, timeout, ignore_robots, user_agent,
         allow_private, nameservers, no_autothrottle, run_id, panel, progress, summary, sets, redis_url,
         requeue_missing):
    """Create a distributed run from DOMAINS: the run folder under OUT/raw/, its settings in Redis (so workers
    started with `crawl --redis URL` join it) and one queue entry per accepted domain. The crawl flags given
    here apply to every worker."""
    from crawler.distributed.queue import DistributedError
    from crawler.runner import requeue_run, seed_run

    if requeue_missing:
        if domains is not None:
            _fail("--requeue-missing takes no DOMAINS")
        try:
            rid, n = requeue_run(redis_url, out_dir, run_id)
        except (DistributedError, ValueError) as e:
            _fail(str(e))
        out.print(f"run {rid}: {n} domain(s) without a committed row re-enqueued")
        return
    if domains is None:
        _fail("give DOMAINS (a new distributed run) or --requeue-missing")
    opts = _options(out_dir, max_pages, concurrency, per_site_concurrency, timeout, ignore_robots, user_agent,
                    allow_private, nameservers, no_autothrottle, run_id, progress, sets, panel=panel)
    _require_resolver(opts.nameservers)
    try:
        plan, n = seed_run(domains, opts, redis_url)
    except (DistributedError, DomainListError, FileExistsError, ValueError) as e:
        _fail(str(e))
    if plan.rejected:
        err.print(f"{plan.rejected} line(s) rejected, see {plan.run_dir / 'rejected.csv'}")
    out.print(f"run [bold]{plan.run_id}[/bold]: {n} domain(s) enqueued; start workers with "
              f"`servicerisk crawl --redis URL --out {out_dir}`")


@main.command(epilog=_epilog("seal"))
@click.option("--redis", "redis_url", required=True, metavar="URL", help=_REDIS_HELP)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder the run was seeded into.")
@click.option("--run-id", default=None, help="The run to seal (default: the newest seeded run).")
@click.option("--wait", type=click.FloatRange(0, None), default=0, show_default=True,
              help="Seconds to wait for the queue to drain and the workers to finish.")
@click.option("--summary/--no-summary", default=True, help="Print the run summary table.")
def seal(redis_url, out_dir, run_id, wait, summary):
    """Seal a distributed run (write its manifest) once the queue is drained, no worker is alive and every
    accepted domain has exactly one committed row; otherwise exit 1 saying what is missing."""
    from crawler.distributed.queue import DistributedError
    from crawler.runner import seal_run

    try:
        run_dir = seal_run(redis_url, out_dir, run_id, wait)
    except ValueError as e:
        _fail(str(e))
    except DistributedError as e:
        _fail(str(e), 1)
    if summary:
        _print_summary(run_dir)
    out.print(f"run [bold]{run_dir.name}[/bold] sealed in {run_dir}")


def _print_summary(run_dir: Path) -> None:
    from pipelines.summary import summarise_run

    s = summarise_run(run_dir)
    t = Table(title=f"run {s.run_id}", show_header=True)
    t.add_column("sites by outcome")
    t.add_column("n", justify="right")
    for outcome, n in s.by_outcome:
        t.add_row(outcome, str(n))
    t.add_section()
    t.add_row("sites", str(s.sites))
    t.add_row("pages (2xx)", f"{s.pages} ({s.pages_ok})")
    t.add_row("resources", str(s.resources))
    t.add_row("third-party hosts", str(s.third_party_hosts))
    out.print(t)
    if s.top_third_party:
        t2 = Table(title="most referenced third-party domains")
        t2.add_column("registrable domain")
        t2.add_column("sites", justify="right")
        for rd, n in s.top_third_party:
            t2.add_row(rd, str(n))
        out.print(t2)


@main.command(epilog=_epilog("observe"))
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--url", required=True, help="The page's original URL (resolves relative references, decides party).")
@click.option("--content-type", default="", help="Content-Type header the page was served with (charset).")
def observe(file, url, content_type):
    """Print what one saved HTML page references, its inline signatures and the detected services, as JSON lines."""
    import json

    from common.hosts import host_of, is_third_party
    from crawler.observe import observe as observe_page
    from pipelines.catalog.detect import Detector
    from pipelines.catalog.load import load_catalog

    try:
        body = file.read_bytes()
    except OSError as e:
        _fail(f"cannot read {file}: {e}")
    host = host_of(url)
    if not host:
        _fail(f"--url {url!r} has no host")
    obs = observe_page(body, url, {"content-type": content_type} if content_type else None, links=False)
    for r in obs.references:
        click.echo(json.dumps({"type": "reference", "url": r.url, "host": r.host, "element": r.element,
                               "attribute": r.attribute, "rel": r.rel, "inline": r.inline, "declared": r.declared,
                               "embedding": r.embedding, "third_party": is_third_party(r.host, host)},
                              ensure_ascii=False))
    signatures = obs.signature_evidence()
    for sid, value, embedding in signatures:
        click.echo(json.dumps({"type": "signature", "signature_id": sid, "value": value, "embedding": embedding}))
    for d in Detector(load_catalog()).detect(site_host=host, references=obs.references, signatures=signatures):
        click.echo(json.dumps({"type": "detection", "service_id": d.service_id, "kind": d.kind,
                               "evidence": d.evidence, "seen_in": d.seen_in, "embedding": d.embedding},
                              ensure_ascii=False))


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
            _fail(f"{name}: {e}", 1)
        t.add_row(name, entry.version, str(entry.data_date or "unknown"), str(entry.data_licence or entry.licence),
                  str(path))
    out.print(t)


@main.command(epilog=_epilog("run"), context_settings={"ignore_unknown_options": False})
@click.argument("domains", type=click.Path(dir_okay=False, path_type=Path))
@_crawl_options
@_browser_options
@click.pass_context
def run(ctx, domains, **kwargs):
    """The main job: crawl DOMAINS, enrich the run (DNS, server location, network, cloaking), build the warehouse."""
    few_answered = False
    try:
        ctx.invoke(crawl, domains=domains, **kwargs)
    except SystemExit as e:
        if e.code == exits.FEW_ANSWERED:  # sealed all the same: enrich and build it, then say so again
            few_answered = True
        elif e.code not in (0, None):
            raise
    _enrich_latest(kwargs["out_dir"], kwargs.get("nameservers") or ())
    _build_and_report(kwargs["out_dir"])
    if few_answered:
        _fail("the crawl ran, but fewer than 10 % of its sites answered (see the warning above)", exits.FEW_ANSWERED)


def _enrich_latest(out_dir: Path, nameservers, **kwargs) -> None:
    """Enrich the newest sealed run (DNS, location, network, cloaking) and print its summary."""
    from pipelines.catalog.load import load_catalog
    from pipelines.enrich.command import print_summary
    from pipelines.enrich.run import EnrichError, enrich_run

    try:
        result = enrich_run(out_dir, nameservers=list(nameservers), progress=progress_mode(None),
                            catalog=load_catalog(), **kwargs)
    except EnrichError as e:
        _fail(str(e), 1)
    print_summary(result.path, out)
    return result.path


def _out_option(f):
    return click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
                        help="Output folder holding raw/<run_id>/ and warehouse.duckdb.")(f)


def _build_and_report(out_dir: Path, rebuild: bool = False) -> None:
    from pipelines.warehouse.build import build
    from pipelines.warehouse.connect import WarehouseVersionError

    if not Layout(out_dir).sealed_runs():
        _fail(f"no sealed runs under {Layout(out_dir).raw}: crawl first")
    try:
        if progress_mode(None) is True:  # a long build says what it is doing
            with Console(stderr=True).status("building the warehouse") as status:
                report = build(out_dir, rebuild=rebuild,
                               on_step=lambda what: status.update(f"building the warehouse: {what}"))
        else:
            report = build(out_dir, rebuild=rebuild, on_step=step_lines("build"))
    except WarehouseVersionError as e:
        _fail(str(e))
    out.print(f"warehouse {Layout(out_dir).warehouse}: loaded {len(report.loaded)} run(s), "
              f"re-attributed {len(report.reattributed)}, privacy policies checked in {len(report.policy_checked)}, "
              f"{len(report.models)} models; catalog {report.catalog}")
    if report.failed_assertions:
        _fail(f"assertions failed: {report.failed_assertions}", 1)


@main.command(epilog=_epilog("build") + "\n  servicerisk build --rebuild --out out/demo")
@_out_option
@click.option("--rebuild", is_flag=True,
              help="Delete OUT/warehouse.duckdb and build it again from the run folders (needed when it was built by "
                   "another servicerisk version; stored verdicts are assessed again with the current catalog).")
def build(out_dir, rebuild):
    """Load every sealed run under OUT/raw into OUT/warehouse.duckdb and rebuild the marts (idempotent)."""
    _build_and_report(out_dir, rebuild)


@main.command(epilog=_epilog("check"))
@_out_option
def check(out_dir):
    """Run the warehouse's zero-row assertions; exit 1 if any returns rows."""
    from pipelines.warehouse.build import run_assertions
    from pipelines.warehouse.connect import connect

    try:
        con = connect(Layout(out_dir).warehouse, read_only=True)
    except FileNotFoundError as e:
        _fail(str(e))
    results = run_assertions(con)
    for name, n in results.items():
        out.print(f"{'ok  ' if n == 0 else 'FAIL'} {name}" + (f" ({n} rows)" if n else ""))
    if any(results.values()):
        sys.exit(1)


@main.command(epilog=_epilog("query"))
@_out_option
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
        _fail(str(e))
    except duckdb.Error as e:
        _fail(f"query failed: {str(e).splitlines()[0]}")
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
@_out_option
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
        _fail("give --parquet DIR and/or --csv DIR")
    try:
        con = connect(Layout(out_dir).warehouse, read_only=True)
    except FileNotFoundError as e:
        _fail(str(e))
    try:
        for fmt, target in (("parquet", parquet_dir), ("csv", csv_dir)):
            if target is not None:
                result = export_marts(con, target, fmt)
                out.print(f"{len(result.files)} files ({fmt}) and dictionary.md/.json written to {target}")
    finally:
        con.close()


@main.command(epilog=_epilog("demo") + "\n  servicerisk demo --serve --out out/demo")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out/demo"),
              show_default=True, help="Output folder for the demo dataset.")
@click.option("--mode", type=click.Choice(["static", "browser"]), default="static", show_default=True,
              help="browser: one crawl of the demo web plus the browser fixture sites in headless Chromium "
                   "(pre-consent, accept, reject, GPC), then the consent marts; needs /usr/bin/chromium.")
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
                env = {**os.environ, **web.proxy_env()}
                cmd = [sys.executable, "-m", "pipelines.cli", "crawl", str(domains), "--out", str(out_dir),
                       "--nameserver", dns.nameserver, "--timeout", "10", "--no-summary" if month == 1 else "--summary"]
                out.print(f"[bold]month {month}[/bold]: demo web on {web.proxy_url} (proxy), DNS on {dns.nameserver}")
                rc = subprocess.call(cmd, env=env)
            if rc != 0:
                _fail(f"demo crawl of month {month} failed (exit {rc})", rc)
            _enrich_latest(out_dir, [dns.nameserver])
    _build_and_report(out_dir)
    service_ids = _print_demo_services(out_dir)
    from pipelines.publish.verdicts import warehouse_verdicts
    from pipelines.warehouse.connect import connect

    out.print("\n[bold]consent verdicts and risk scores of the demo services[/bold] (the warehouse's service_risk)")
    con = connect(layout.warehouse, read_only=True)
    warehouse_verdicts(con, service_ids, out)
    con.close()
    from pipelines.catalog.load import load_catalog
    from pipelines.publish.render import build_kb
    from pipelines.warehouse.connect import connect

    con = connect(layout.warehouse, read_only=True)
    catalog = load_catalog()
    for lang in ("de", "en"):
        kb_result = build_kb(con, catalog, out_dir, lang)
    con.close()
    out.print(f"\nKnowledge base: {(out_dir / 'kb').resolve()} — open "
              f"{(out_dir / 'kb' / 'de' / 'site' / 'index.html').resolve()} (English: {kb_result.index_html.resolve()})",
              soft_wrap=True)
    out.print(f"\n[bold]Quickscan of one demo site[/bold] ({DEMO_SCAN_SITE}; kept in {layout.scans}/, not in the "
              "dataset)")
    with LocalDNS(demo_zone()) as dns, LocalWeb(demo_web(month=2)) as web:
        rc = subprocess.call([sys.executable, "-m", "pipelines.cli", "scan", DEMO_SCAN_SITE, "--out", str(out_dir),
                              "--nameserver", dns.nameserver, "--timeout", "10"], env={**os.environ, **web.proxy_env()})
    if rc != 0:
        _fail(f"demo scan of {DEMO_SCAN_SITE} failed (exit {rc})", rc)
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
        out.print(f"  {_self_command()} query --out {out_dir} \"{q}\"", soft_wrap=True)
    out.print(f"To crawl or scan demo sites yourself, keep the demo web up with `{_self_command()} demo --serve` "
              "(it prints what to set in another shell).", soft_wrap=True)


DEMO_SCAN_SITE = "baeckerei-schmidt.de"  # embeds Google services its privacy policy only partly names
# pages of the demo's output shown as screenshots (path under --out, file name stem), at 1280 and 390 px; the
# newest scan's report.html is added as "scan-report"
DEMO_SCREENSHOTS = (("kb/de/site/services/livechat.html", "kb-livechat-de"),
                    ("kb/en/site/services/livechat.html", "kb-livechat-en"),
                    ("kb/de/site/index.html", "kb-index-de"), ("kb/en/site/index.html", "kb-index-en"))


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


def _demo_serve(out_dir: Path, proxy_port: int, dns_port: int) -> None:
    """Serve the demo web (month 2 and the browser fixture sites) and its DNS until Ctrl-C or SIGTERM."""
    import signal
    import threading

    from devweb.dns import LocalDNS
    from devweb.dns.demo import demo_zone
    from devweb.dns.fixtures import browser_zone
    from devweb.web import BROWSER_DOMAINS, build_web
    from devweb.web.demo import demo_domain_list_text
    from devweb.web.server import LocalWeb

    out_dir.mkdir(parents=True, exist_ok=True)
    domains = out_dir / "demo-domains.txt"
    domains.write_text(demo_domain_list_text() + "".join(f"{d}\n" for d in BROWSER_DOMAINS), encoding="utf-8")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    web = build_web("demo,browser", month=2)
    with LocalDNS(demo_zone().update(browser_zone()), port=dns_port) as dns, \
            LocalWeb(web, port=proxy_port) as lw:
        me = _self_command()
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
    from devweb.dns import LocalDNS
    from devweb.dns.demo import demo_zone
    from devweb.web import BROWSER_DOMAINS, build_web
    from devweb.web.demo import demo_domain_list_text
    from devweb.web.server import LocalWeb
    from pipelines.warehouse.connect import connect

    out_dir.mkdir(parents=True, exist_ok=True)
    domains = out_dir / "demo-domains.txt"
    domains.write_text(demo_domain_list_text() + "".join(f"{d}\n" for d in BROWSER_DOMAINS), encoding="utf-8")
    from devweb.dns.fixtures import browser_zone

    with LocalDNS(demo_zone().update(browser_zone())) as dns, LocalWeb(build_web("demo,browser")) as web:
        env = {**os.environ, **web.proxy_env()}
        cmd = [sys.executable, "-m", "pipelines.cli", "crawl", str(domains), "--out", str(out_dir),
               "--nameserver", dns.nameserver, "--allow-private", "--max-pages", "1", "--mode", "browser",
               "--consent", "accept,reject", "--gpc", "-s", "SR_BROWSER_PAGE_BUDGET=15"]
        out.print(f"[bold]browser pass[/bold]: headless Chromium through the demo web proxy {web.proxy_url}")
        rc = subprocess.call(cmd, env=env)
        if rc != 0:
            _fail(f"demo browser crawl failed (exit {rc})", rc)
        _enrich_latest(out_dir, [dns.nameserver])
    _build_and_report(out_dir)
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
    out.print(f"  {_self_command()} query --out {out_dir} \"SELECT * FROM site_service_consent "
              f"WHERE fires_before_consent\"", soft_wrap=True)


def _self_command() -> str:
    """How the user invoked us (e.g. ``.venv/bin/servicerisk`` from ``make demo``), for pasteable examples."""
    return sys.argv[0] if sys.argv and sys.argv[0].endswith("servicerisk") else "servicerisk"


def _print_demo_services(out_dir: Path) -> None:
    from pipelines.warehouse.connect import connect

    con = connect(Layout(out_dir).warehouse, read_only=True)
    rows = con.execute("SELECT name, service_id, sites, sites_total FROM services ORDER BY sites DESC, service_id "
                       "LIMIT 20").fetchall()
    t = Table(title="top services on the demo web (newest run)")
    for col, just in (("service", "left"), ("id", "left"), ("sites", "right")):
        t.add_column(col, justify=just)
    for name, sid, n, total in rows:
        t.add_row(name or sid, sid, f"{n}/{total}")
    out.print(t)
    return [sid for _, sid, _, _ in rows]


def _register() -> None:
    from pipelines.catalog.command import top_services
    from pipelines.enrich.command import enrich
    from pipelines.policy.command import EXAMPLE as POLICY_EXAMPLE
    from pipelines.policy.command import policy
    from pipelines.publish.command import kb
    from pipelines.risk.command import EXAMPLES as RISK_EXAMPLES
    from pipelines.risk.command import dpf, risk
    from pipelines.scan.command import EXAMPLE as SCAN_EXAMPLE
    from pipelines.scan.command import scan

    main.add_command(kb)
    main.add_command(scan)
    EXAMPLES["scan"] = SCAN_EXAMPLE
    main.add_command(policy)
    EXAMPLES["policy"] = POLICY_EXAMPLE
    main.add_command(enrich)
    main.add_command(risk)
    main.add_command(dpf)
    refdata.add_command(dpf)
    refdata.add_command(top_services)
    EXAMPLES.update({k: v for k, v in RISK_EXAMPLES.items() if " " not in k})


_register()


if __name__ == "__main__":
    main()
