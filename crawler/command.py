"""Click commands of the crawl stage, for ``pipelines/cli.py`` to register: ``crawl``, ``seed``, ``seal`` and
``observe``, and the crawl flags (defaults from ``crawler.defaults``) that ``run`` and ``scan`` share."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from common.runfolder import Layout
from crawler.defaults import CRAWL, MODES, RUN_OPTION_FLAGS, CrawlDefaults
from crawler.domains import DomainListError
from crawler.progresslines import progress_mode
from pipelines import exits
from pipelines.clihelp import epilog, err, fail, nameserver_option, out, out_option, self_command

if TYPE_CHECKING:
    from crawler.runner import CrawlOptions

EXAMPLES = {
    "crawl": "servicerisk crawl domains.txt --out out/mycrawl --max-pages 5",
    "seed": "servicerisk seed --redis redis://127.0.0.1:6379/0 tranco-100k.csv --out /mnt/shared/crawls --max-pages 5",
    "seal": "servicerisk seal --redis redis://127.0.0.1:6379/0 --out /mnt/shared/crawls --wait 600",
    "observe": "servicerisk observe saved-page.html --url https://www.example.de/",
}
_REDIS_HELP = "Redis server of a distributed run, e.g. redis://127.0.0.1:6379/0."
_MODE_HELP = ("static: fetch HTML and read it; browser: load every page in headless Chromium (/usr/bin/chromium; "
              "through https_proxy when set) and record every request, cookie and storage key.")

#: the crawl flags with a default (flag names from ``crawler.defaults.RUN_OPTION_FLAGS``): CrawlOptions field ->
#: click keywords and help; the default comes from a ``crawler.defaults`` table
_FLAGS: dict[str, tuple[dict, str]] = {
    "max_pages": ({"type": click.IntRange(1, 100)}, "Pages per site, home page included."),
    "concurrency": ({"type": click.IntRange(1, 1024)}, "Requests in flight overall."),
    "per_site_concurrency": ({"type": click.IntRange(1, 16)}, "Requests in flight per site."),
    "timeout": ({"type": click.FloatRange(0.5, 600)}, "Download timeout per request, seconds."),
    "mode": ({"type": click.Choice(MODES)}, _MODE_HELP),
    "ignore_robots": ({"is_flag": True}, "Do not honour robots.txt."),
    "allow_private": ({"is_flag": True},
                      "Allow destinations on loopback/private/link-local addresses (refused by default)."),
    "autothrottle": ({"is_flag": True}, "Disable AutoThrottle (benchmarks on a local web)."),
}


def crawl_option(field: str, defaults: CrawlDefaults = CRAWL, help: str | None = None):
    """The click option for the CrawlOptions ``field``, its default taken from ``defaults`` (an on/off flag
    switches away from it: ``--ignore-robots``, ``--allow-private``, ``--no-autothrottle``)."""
    kwargs, text = _FLAGS[field]
    if not kwargs.get("is_flag"):
        kwargs = {**kwargs, "default": getattr(defaults, field), "show_default": True}
    return click.option(RUN_OPTION_FLAGS[field], **kwargs, help=help or text)


def _check_panel(ctx, param, value):
    if value is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
        raise click.BadParameter(f"{value!r}: letters, digits, '.', '_' and '-', at most 64", param_hint="--panel")
    return value


def _decorate(f, opts):
    for o in reversed(opts):
        f = o(f)
    return f


def crawl_options(f):
    """The crawl flags of ``crawl``, ``run`` and ``seed``."""
    return _decorate(f, [
        out_option("Output folder (holds raw/<run_id>/, enriched/, warehouse.duckdb, kb/, scans/)."),
        crawl_option("max_pages"), crawl_option("concurrency"), crawl_option("per_site_concurrency"),
        crawl_option("timeout"), crawl_option("ignore_robots"),
        click.option("--user-agent", default=None, help="User-Agent header; include a contact URL."),
        crawl_option("allow_private"), nameserver_option(), crawl_option("autothrottle"),
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
    ])


def browser_options(f):
    """--mode, --consent, --gpc (crawl and run; a distributed run is static only)."""
    return _decorate(f, [
        crawl_option("mode"),
        click.option("--consent", "consent", default="", metavar="accept,reject",
                     help="Browser mode: besides the pre-consent load, also load each home page after accepting "
                          "and/or rejecting its consent banner (autoconsent)."),
        click.option("--gpc", is_flag=True,
                     help="Browser mode: also load each home page sending Sec-GPC: 1 and DNT: 1 "
                          "(navigator.globalPrivacyControl = true)."),
    ])


def _parse_consent(value: str, mode: str) -> tuple[str, ...]:
    states = tuple(dict.fromkeys(p.strip().lower() for p in value.split(",") if p.strip()))
    bad = [p for p in states if p not in ("accept", "reject")]
    if bad:
        raise click.BadParameter(f"{', '.join(bad)}: expected accept and/or reject", param_hint="--consent")
    if states and mode != "browser":
        raise click.BadParameter("consent states need --mode browser", param_hint="--consent")
    return states


def require_browser(executable: str | None, option: str | None = None) -> None:
    """Exit with one line when browser mode cannot run with Chromium at ``executable`` (None: the default);
    ``option`` names how the command takes another path."""
    from crawler.browser.chromium import browser_unavailable

    why = browser_unavailable(executable, **({"option": option} if option else {}))
    if why:
        fail(why)


def require_resolver(nameservers) -> None:
    """Exit with one line when there is no resolver to look sites up with (the crawl resolves every name itself)."""
    from crawler.dnslookup import HostResolver

    try:
        HostResolver(tuple(nameservers))
    except ValueError as e:
        fail(f"{e}: the crawler looks every site up itself")


def _parse_sets(sets: tuple[str, ...]) -> dict:
    parsed: dict = {}
    for item in sets:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--set")
        k, v = item.split("=", 1)
        parsed[k.strip()] = v
    return parsed


def options_from(flags: dict) -> CrawlOptions:
    """CrawlOptions from the parsed crawl flags (``crawl_options`` and ``browser_options``; a browser crawl's
    Chromium checked)."""
    from crawler.runner import CrawlOptions

    mode = flags.get("mode", CRAWL.mode)
    sets = _parse_sets(flags["sets"])
    if mode == "browser":
        require_browser(sets.get("SR_BROWSER_EXECUTABLE"))
    return CrawlOptions(
        out=flags["out_dir"], max_pages=flags["max_pages"], concurrency=flags["concurrency"],
        per_site_concurrency=flags["per_site_concurrency"], timeout=flags["timeout"],
        ignore_robots=flags["ignore_robots"], user_agent=flags["user_agent"], allow_private=flags["allow_private"],
        nameservers=tuple(flags["nameservers"]), autothrottle=not flags["no_autothrottle"], run_id=flags["run_id"],
        progress=progress_mode(flags["progress"]), extra_settings=sets, mode=mode,
        consent_states=_parse_consent(flags.get("consent", ""), mode),
        signals=("gpc",) if flags.get("gpc") else (), panel=flags["panel"],
    )


def say_unsealed(run_id: str, reason: str | None, out_dir: Path) -> None:
    """The message of a run that did not finish: why, and the command that finishes it."""
    err.print(f"[red]run {run_id} did not finish ({reason or 'stopped'}); it is not sealed.[/red] Finish it with:",
              soft_wrap=True)
    click.echo(f"  {self_command()} crawl --resume {run_id} --out {out_dir}", err=True)


def say_sealed(run_dir: Path, warning: str | None, summary: bool) -> None:
    """The summary table (with ``summary``) and the sealed line of a run, then its few-answered ``warning``."""
    if summary:
        print_run_summary(run_dir)
    out.print(f"run [bold]{run_dir.name}[/bold] sealed in {run_dir}")
    if warning:
        err.print(f"[yellow]warning: {warning}[/yellow]", soft_wrap=True)


def new_run_options(flags: dict) -> CrawlOptions:
    """``options_from`` for a new run of ``crawl`` or ``run`` (``--gpc`` needs browser mode)."""
    if flags["gpc"] and flags["mode"] != "browser":
        fail("--gpc needs --mode browser")
    return options_from(flags)


@click.command(epilog=epilog(EXAMPLES["crawl"], "servicerisk crawl --resume 20261129T084100Z-3fa2c1 --out out/mycrawl",
                             "servicerisk crawl --redis redis://127.0.0.1:6379/0 --out /mnt/shared/crawls"))
@click.argument("domains", type=click.Path(dir_okay=False, path_type=Path), required=False)
@crawl_options
@browser_options
@click.option("--resume", "resume", default=None, metavar="RUN_ID",
              help="Finish an interrupted (unsealed) run: crawl only the domains no committed part holds.")
@click.option("--redis", "redis_url", default=None, metavar="URL",
              help="Work on the distributed run seeded in this Redis (see `seed`): its settings come from Redis; "
                   "--run-id picks a run other than the newest, -s overrides settings for this worker only.")
def crawl(domains, resume=None, redis_url=None, **flags):
    """Crawl the sites in DOMAINS (plain list or Tranco CSV) into a new sealed run under OUT/raw/,
    finish an interrupted run with --resume RUN_ID (after Ctrl-C or a kill), or join a distributed run as one
    of its workers with --redis URL (any number of workers on any number of machines sharing OUT)."""
    from crawler.runner import ResumeError, prepare_run, resume_run, run_crawl

    out_dir = flags["out_dir"]
    if redis_url is not None:
        if domains is not None or resume is not None:
            fail("--redis takes no DOMAINS and no --resume: `seed` enqueues the domains, workers only crawl")
        run_wide = [RUN_OPTION_FLAGS[f] for f in _given_run_options()
                    if f not in ("extra_settings", "mode", "consent_states", "signals")]
        if run_wide:
            fail(f"{', '.join(run_wide)}: a distributed run's settings come from `seed`; "
                 "use -s NAME=VALUE to change one for this worker")
        _crawl_worker(redis_url, out_dir, flags["run_id"], flags["progress"], flags["sets"])
        return
    opts = new_run_options(flags)
    if (domains is None) == (resume is None):
        fail("give either DOMAINS (a new run) or --resume RUN_ID (finish an interrupted run)")
    if not resume:
        require_resolver(opts.nameservers)
    try:
        plan = resume_run(resume, opts, _given_run_options()) if resume else prepare_run(domains, opts)
    except (DomainListError, FileExistsError, ValueError, ResumeError) as e:
        fail(str(e))
    if resume:
        require_resolver(opts.nameservers)  # the run's own
    if resume and opts.mode == "browser":  # adopted from the run: check the browser now
        require_browser(opts.extra_settings.get("SR_BROWSER_EXECUTABLE"))
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
            say_unsealed(plan.run_id, stats.get("finish_reason"), out_dir)
    if not (plan.run_dir / "manifest.json").is_file():
        sys.exit(exits.INTERRUPTED if stats.get("finish_reason") == "shutdown" else exits.FAILED)
    from pipelines.summary import answered_warning

    warning = answered_warning(Layout(out_dir).read_manifest(plan.run_id))
    say_sealed(plan.run_dir, warning, flags["summary"])
    if warning:
        sys.exit(exits.FEW_ANSWERED)


def _given_run_options() -> list[str]:
    """The run-shaping options (``crawler.defaults.RUN_OPTION_FLAGS``) set on this command line, in that table's
    order (messages name them in a stable order)."""
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
        fail(str(e))
    err.print(f"worker {opts.writer_id} joined run {plan.run_id}")
    stats = run_crawl(plan, opts, redis_url=redis_url)
    if stats.get("finish_reason") != "finished":
        fail(f"worker {opts.writer_id} stopped early ({stats.get('finish_reason')}); "
             "its uncommitted sites need `seed --requeue-missing`", exits.FAILED)
    out.print(f"worker {opts.writer_id} done: {stats.get('item_scraped_count', 0)} site(s) in run {plan.run_id}")


@click.command(epilog=epilog(EXAMPLES["seed"], "servicerisk seed --redis redis://127.0.0.1:6379/0 --requeue-missing "
                             "--out /mnt/shared/crawls"))
@click.argument("domains", type=click.Path(dir_okay=False, path_type=Path), required=False)
@crawl_options
@click.option("--redis", "redis_url", required=True, metavar="URL", help=_REDIS_HELP)
@click.option("--requeue-missing", is_flag=True,
              help="Re-enqueue every accepted domain of the run (newest, or --run-id) that has no committed row "
                   "and is not queued, e.g. after a worker died; needs every worker stopped.")
def seed(domains, redis_url, requeue_missing, **flags):
    """Create a distributed run from DOMAINS: the run folder under OUT/raw/, its settings in Redis (so workers
    started with `crawl --redis URL` join it) and one queue entry per accepted domain. The crawl flags given
    here apply to every worker."""
    from crawler.distributed.queue import DistributedError
    from crawler.runner import requeue_run, seed_run

    out_dir = flags["out_dir"]
    if requeue_missing:
        if domains is not None:
            fail("--requeue-missing takes no DOMAINS")
        try:
            rid, n = requeue_run(redis_url, out_dir, flags["run_id"])
        except (DistributedError, ValueError) as e:
            fail(str(e))
        out.print(f"run {rid}: {n} domain(s) without a committed row re-enqueued")
        return
    if domains is None:
        fail("give DOMAINS (a new distributed run) or --requeue-missing")
    opts = options_from(flags)
    require_resolver(opts.nameservers)
    try:
        plan, n = seed_run(domains, opts, redis_url)
    except (DistributedError, DomainListError, FileExistsError, ValueError) as e:
        fail(str(e))
    if plan.rejected:
        err.print(f"{plan.rejected} line(s) rejected, see {plan.run_dir / 'rejected.csv'}")
    out.print(f"run [bold]{plan.run_id}[/bold]: {n} domain(s) enqueued; start workers with "
              f"`servicerisk crawl --redis URL --out {out_dir}`")


@click.command(epilog=epilog(EXAMPLES["seal"]))
@click.option("--redis", "redis_url", required=True, metavar="URL", help=_REDIS_HELP)
@out_option("Output folder the run was seeded into.")
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
        fail(str(e))
    except DistributedError as e:
        fail(str(e), exits.FAILED)
    if summary:
        print_run_summary(run_dir)
    out.print(f"run [bold]{run_dir.name}[/bold] sealed in {run_dir}")


def print_run_summary(run_dir: Path) -> None:
    """The summary tables of a sealed run: sites by outcome, counts, the most referenced third-party domains."""
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


@click.command(epilog=epilog(EXAMPLES["observe"]))
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
        fail(f"cannot read {file}: {e}")
    host = host_of(url)
    if not host:
        fail(f"--url {url!r} has no host")
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
