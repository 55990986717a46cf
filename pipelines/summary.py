"""Summaries of a sealed run for people: sites by outcome, pages, resources, third-party hosts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from crawler.hosts import registrable_domain
from crawler.outcomes import ANSWERED
from crawler.paths import parts

ANSWERED_MIN_SHARE = 0.10  # below it a crawl is reported as broken (exit code pipelines.exits.FEW_ANSWERED)


def answered_warning(manifest: dict) -> str | None:
    """A warning when fewer than ``ANSWERED_MIN_SHARE`` of a sealed run's sites answered over HTTP (none, often):
    the network, the proxy or the resolver is the likelier cause than the sites. None otherwise."""
    by_outcome = manifest.get("counts", {}).get("sites_by_outcome", {})
    total = sum(by_outcome.values())
    answered = sum(n for outcome, n in by_outcome.items() if outcome in ANSWERED)
    if total == 0 or answered >= ANSWERED_MIN_SHARE * total:
        return None
    top = ", ".join(f"{o} {n}" for o, n in sorted(by_outcome.items(), key=lambda kv: -kv[1])[:3])
    return (f"only {answered} of {total} site(s) answered ({top}): check the network, the proxy (https_proxy) "
            "and the resolver (--nameserver) before using this run")


@dataclass
class RunSummary:
    run_id: str
    sites: int
    by_outcome: list[tuple[str, int]]
    pages: int
    pages_ok: int
    resources: int
    third_party_hosts: int
    top_third_party: list[tuple[str, int]]  # registrable domain, sites referencing it


def _scan(run_dir: Path, table: str) -> str:
    files = parts(run_dir, table)
    if not files:
        raise FileNotFoundError(f"run {run_dir.name} has no {table} parts")
    return "read_parquet(" + repr([str(f) for f in files]) + ")"


def summarise_run(run_dir: Path) -> RunSummary:
    """Read a run's Parquet parts (DuckDB in memory) and compute the headline figures."""
    con = duckdb.connect()
    sites = _scan(run_dir, "sites")
    pages = _scan(run_dir, "pages")
    resources = _scan(run_dir, "resources")
    # file lists are our own paths, never crawled strings
    by_outcome = con.execute(f"SELECT outcome, count(*) n FROM {sites} GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
    n_sites = sum(n for _, n in by_outcome)
    n_pages, n_ok = con.execute(f"SELECT count(*), count(*) FILTER (WHERE status BETWEEN 200 AND 299) FROM {pages}").fetchone()
    n_res = con.execute(f"SELECT count(*) FROM {resources} WHERE NOT declared").fetchone()[0]
    pairs = con.execute(
        f"SELECT DISTINCT s.site, r.host FROM {resources} r JOIN {sites} s USING (input_domain) "
        "WHERE NOT r.declared AND r.host <> '' AND s.site IS NOT NULL"
    ).fetchall()
    third_hosts: set[str] = set()
    reach: dict[str, set[str]] = {}
    for site, host in pairs:
        rd = registrable_domain(host)
        if rd != registrable_domain(site):
            third_hosts.add(host)
            reach.setdefault(rd, set()).add(site)
    top = sorted(((rd, len(s)) for rd, s in reach.items()), key=lambda kv: (-kv[1], kv[0]))[:15]
    return RunSummary(run_dir.name, n_sites, by_outcome, n_pages, n_ok, n_res, len(third_hosts), top)

