"""Load sealed run folders into the warehouse's run tables: the raw crawl tables (``raw_*``), the enrichment
(``enr_*``) and the tables detection fills (``detections``, ``unclaimed``), created from their Arrow schemas. A
run is replaced as a whole, in one transaction; file lists are bound parameters."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from common.runfolder import Layout, parts
from common.tables import SCHEMAS, TABLES
from pipelines.warehouse.connect import quote_ident

DETECTIONS_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("input_domain", pa.string()), ("site", pa.string()), ("page_url", pa.string()),
    ("service_id", pa.string()), ("kind", pa.string()), ("evidence", pa.string()), ("seen_in", pa.string()),
    ("host", pa.string()), ("method", pa.string()), ("consent_state", pa.string()), ("signal", pa.string()),
    ("embedding", pa.string()), ("loads_without_gate", pa.bool_()),
])
# third-party hosts the run's pages embed that no catalog entry claims (the domains mart's long tail)
UNCLAIMED_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("input_domain", pa.string()), ("site", pa.string()), ("page_url", pa.string()),
    ("host", pa.string()), ("registrable_domain", pa.string()), ("embedding", pa.string()),
    ("method", pa.string()), ("consent_state", pa.string()), ("signal", pa.string()),
])
ENRICHED_PREFIX = "enr_"


def manifest_sha256(path: Path) -> str:
    """The SHA-256 of a run's manifest (a changed manifest reloads the run)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def arrow_empty(schema: pa.Schema) -> pa.Table:
    """An empty table of ``schema`` (to create a warehouse table with its types)."""
    return pa.Table.from_pylist([], schema=schema)


def from_arrow(con, sql: str, table: pa.Table) -> None:
    """Run ``sql`` with ``table`` registered as ``_arrow_in`` (explicit: Python variables can be shadowed by
    warehouse tables and views of the same name)."""
    con.register("_arrow_in", table)
    try:
        con.execute(sql)
    finally:
        con.unregister("_arrow_in")


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the run tables a new warehouse lacks (one of the current schema version has them all)."""
    for table in TABLES:
        from_arrow(con, f"CREATE TABLE IF NOT EXISTS {quote_ident('raw_' + table)} AS SELECT * FROM _arrow_in",
                   arrow_empty(SCHEMAS[table]))
    from_arrow(con, "CREATE TABLE IF NOT EXISTS detections AS SELECT * FROM _arrow_in",
               arrow_empty(DETECTIONS_SCHEMA))
    from_arrow(con, "CREATE TABLE IF NOT EXISTS unclaimed AS SELECT * FROM _arrow_in", arrow_empty(UNCLAIMED_SCHEMA))
    from pipelines.enrich.run import SCHEMAS as ENRICHED

    for table, schema in ENRICHED.items():
        from_arrow(con, f"CREATE TABLE IF NOT EXISTS {quote_ident(ENRICHED_PREFIX + table)} AS SELECT * FROM _arrow_in",
                   arrow_empty(schema))
    con.execute("CREATE TABLE IF NOT EXISTS _enriched (run_id VARCHAR PRIMARY KEY, manifest_sha256 VARCHAR)")
    con.execute("""CREATE TABLE IF NOT EXISTS _runs (run_id VARCHAR PRIMARY KEY, kind VARCHAR, started_at TIMESTAMPTZ,
                   ended_at TIMESTAMPTZ, manifest_sha256 VARCHAR, catalog_digest VARCHAR, loaded_at TIMESTAMPTZ,
                   manifest JSON)""")
    con.execute("CREATE TABLE IF NOT EXISTS _meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    from pipelines.warehouse.policy import POLICY_COVERAGE_SCHEMA

    from_arrow(con, "CREATE TABLE IF NOT EXISTS policy_coverage AS SELECT * FROM _arrow_in",
               arrow_empty(POLICY_COVERAGE_SCHEMA))
    con.execute("CREATE TABLE IF NOT EXISTS _policy_checked (run_id VARCHAR PRIMARY KEY, terms_digest VARCHAR)")


def load_run(con, layout: Layout, run_id: str, manifest_sha: str) -> None:
    run_dir = layout.run_dir(run_id)
    manifest = layout.read_manifest(run_id)
    con.execute("BEGIN TRANSACTION")
    try:
        for table in TABLES:
            raw = quote_ident("raw_" + table)
            con.execute(f"DELETE FROM {raw} WHERE run_id = ?", [run_id])
            files = [str(p) for p in parts(run_dir, table)]
            if files:
                con.execute(f"INSERT INTO {raw} BY NAME SELECT * FROM read_parquet(?, union_by_name = true)", [files])
        con.execute("DELETE FROM _runs WHERE run_id = ?", [run_id])
        # a reloaded run is re-checked, even if this build stops before its policy check commits
        con.execute("DELETE FROM _policy_checked WHERE run_id = ?", [run_id])
        con.execute("INSERT INTO _runs VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
                    [run_id, manifest.get("kind"), manifest.get("started_at"), manifest.get("ended_at"), manifest_sha,
                     datetime.now(timezone.utc), json.dumps(manifest)])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def load_enriched(con, layout: Layout) -> list[str]:
    """Load sealed enrichment outputs (``OUT/enriched/<run_id>/``) of loaded runs, reloading changed ones;
    returns the run ids (re)loaded."""
    done = []
    from pipelines.enrich.run import SCHEMAS as ENRICHED

    loaded_runs = {r[0] for r in con.execute("SELECT run_id FROM _runs").fetchall()}
    known = dict(con.execute("SELECT run_id, manifest_sha256 FROM _enriched").fetchall())
    for run_id in layout.sealed_runs(layout.enriched):
        if run_id not in loaded_runs:
            continue
        run_dir = layout.run_dir(run_id, layout.enriched)
        sha = manifest_sha256(run_dir / "manifest.json")
        if known.get(run_id) == sha:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            for table in ENRICHED:
                name = quote_ident(ENRICHED_PREFIX + table)
                con.execute(f"DELETE FROM {name} WHERE run_id = ?", [run_id])
                files = [str(p) for p in parts(run_dir, table)]
                if files:
                    con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM read_parquet(?, union_by_name = true)",
                                [files])
            con.execute("INSERT OR REPLACE INTO _enriched VALUES (?, ?)", [run_id, sha])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        done.append(run_id)
    return done
