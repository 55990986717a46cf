"""Summaries of a sealed run for people: sites by outcome, pages, resources, third-party hosts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from common.hosts import registrable_domain
from common.runfolder import parts
from crawler.outcomes import ANSWERED
from pipelines.warehouse.sqlfiles import named_params

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


def _files(run_dir: Path, table: str) -> list[str]:
    files = [str(f) for f in parts(run_dir, table)]
    if not files:
        raise FileNotFoundError(f"run {run_dir.name} has no {table} parts")
    return files


def summarise_run(run_dir: Path) -> RunSummary:
    """Read a run's Parquet parts (DuckDB in memory; the file lists are bound parameters, so any path works) and
    compute the headline figures."""
    con = duckdb.connect()
    files = {"sites": _files(run_dir, "sites"), "pages": _files(run_dir, "pages"),
             "resources": _files(run_dir, "resources")}

    def rows(sql: str) -> list[tuple]:
        return con.execute(sql, named_params(sql, files)).fetchall()

    by_outcome = rows("SELECT outcome, count(*) n FROM read_parquet($sites) GROUP BY 1 ORDER BY 2 DESC, 1")
    n_sites = sum(n for _, n in by_outcome)
    n_pages, n_ok = rows("SELECT count(*), count(*) FILTER (WHERE status BETWEEN 200 AND 299) "
                         "FROM read_parquet($pages)")[0]
    n_res = rows("SELECT count(*) FROM read_parquet($resources) WHERE NOT declared")[0][0]
    pairs = rows("SELECT DISTINCT s.site, r.host FROM read_parquet($resources) r "
                 "JOIN read_parquet($sites) s USING (input_domain) "
                 "WHERE NOT r.declared AND r.host <> '' AND s.site IS NOT NULL")
    third_hosts: set[str] = set()
    reach: dict[str, set[str]] = {}
    for site, host in pairs:
        rd = registrable_domain(host)
        if rd != registrable_domain(site):
            third_hosts.add(host)
            reach.setdefault(rd, set()).add(site)
    top = sorted(((rd, len(s)) for rd, s in reach.items()), key=lambda kv: (-kv[1], kv[0]))[:15]
    return RunSummary(run_dir.name, n_sites, by_outcome, n_pages, n_ok, n_res, len(third_hosts), top)

