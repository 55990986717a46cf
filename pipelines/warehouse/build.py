"""Load sealed runs into the warehouse and rebuild the SQL models: idempotent and incremental.

Raw tables keep every loaded run (a run is reloaded only when its manifest changes); service detections are
computed at build time from the stored observations, so a catalog update re-attributes every run without
re-crawling; staging → intermediate → marts are rebuilt from the raw tables on every build (deterministic,
independent of load order); assertion queries must return zero rows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import duckdb
import pyarrow as pa

from crawler.hosts import registrable_domain
from crawler.items import SCHEMAS, TABLES
from crawler.paths import Layout, parts
from pipelines.warehouse.connect import quote_ident

SQL_DIR = Path(__file__).resolve().parent / "sql"
LAYERS = ("staging", "intermediate", "marts")
DATASET_KINDS = ("crawl", "browser")  # scans never enter the dataset

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
DETECTOR_VERSION = 4  # bump when detection rules change in code: every stored run is re-attributed


@dataclass
class BuildReport:
    loaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    reattributed: list[str] = field(default_factory=list)
    policy_checked: list[str] = field(default_factory=list)  # runs whose privacy policies were (re)checked
    enriched: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    assertions: dict[str, int] = field(default_factory=dict)
    catalog: dict = field(default_factory=dict)

    @property
    def failed_assertions(self) -> dict[str, int]:
        return {k: v for k, v in self.assertions.items() if v}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _arrow_empty(schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist([], schema=schema)


def _from_arrow(con, sql: str, table: pa.Table) -> None:
    """Run ``sql`` with ``table`` registered as ``_arrow_in`` (explicit: Python variables can be shadowed by
    warehouse tables and views of the same name)."""
    con.register("_arrow_in", table)
    try:
        con.execute(sql)
    finally:
        con.unregister("_arrow_in")


def _sql_type(typ: pa.DataType) -> str:
    if pa.types.is_boolean(typ):
        return "BOOLEAN"
    if pa.types.is_integer(typ):
        return "BIGINT"
    if pa.types.is_floating(typ):
        return "DOUBLE"
    if pa.types.is_timestamp(typ):
        return "TIMESTAMPTZ"
    if pa.types.is_list(typ):
        return "VARCHAR[]"
    return "VARCHAR"


def _add_missing_columns(con, table: str, schema: pa.Schema) -> None:
    """Schema evolution: columns added to a contract since the warehouse was created (older rows get NULL)."""
    cols = {r[0] for r in con.execute(f"DESCRIBE {quote_ident(table)}").fetchall()}
    for name, typ in zip(schema.names, schema.types, strict=True):
        if name not in cols:
            con.execute(f"ALTER TABLE {quote_ident(table)} ADD COLUMN {quote_ident(name)} {_sql_type(typ)}")


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLES:
        _from_arrow(con, f"CREATE TABLE IF NOT EXISTS {quote_ident('raw_' + table)} AS SELECT * FROM _arrow_in",
                    _arrow_empty(SCHEMAS[table]))
        _add_missing_columns(con, "raw_" + table, SCHEMAS[table])
    _from_arrow(con, "CREATE TABLE IF NOT EXISTS detections AS SELECT * FROM _arrow_in",
                _arrow_empty(DETECTIONS_SCHEMA))
    _add_missing_columns(con, "detections", DETECTIONS_SCHEMA)
    _from_arrow(con, "CREATE TABLE IF NOT EXISTS unclaimed AS SELECT * FROM _arrow_in", _arrow_empty(UNCLAIMED_SCHEMA))
    from pipelines.enrich.run import SCHEMAS as ENRICHED

    for table, schema in ENRICHED.items():
        _from_arrow(con, f"CREATE TABLE IF NOT EXISTS {quote_ident(ENRICHED_PREFIX + table)} AS SELECT * FROM _arrow_in",
                    _arrow_empty(schema))
    con.execute("CREATE TABLE IF NOT EXISTS _enriched (run_id VARCHAR PRIMARY KEY, manifest_sha256 VARCHAR)")
    con.execute("""CREATE TABLE IF NOT EXISTS _runs (run_id VARCHAR PRIMARY KEY, kind VARCHAR, started_at VARCHAR,
                   ended_at VARCHAR, manifest_sha256 VARCHAR, catalog_digest VARCHAR, loaded_at VARCHAR,
                   manifest JSON)""")
    con.execute("CREATE TABLE IF NOT EXISTS _meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    from pipelines.warehouse.policy import POLICY_COVERAGE_SCHEMA

    _from_arrow(con, "CREATE TABLE IF NOT EXISTS policy_coverage AS SELECT * FROM _arrow_in",
                _arrow_empty(POLICY_COVERAGE_SCHEMA))
    con.execute("CREATE TABLE IF NOT EXISTS _policy_checked (run_id VARCHAR PRIMARY KEY, terms_digest VARCHAR)")
    con.execute("CREATE TABLE IF NOT EXISTS _run_dpf (run_id VARCHAR, company_id VARCHAR, dpf_status VARCHAR, "
                "dpf_checked_on VARCHAR)")


def _load_run(con, layout: Layout, run_id: str, manifest_sha: str) -> None:
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
                     datetime.now(timezone.utc).isoformat(timespec="seconds"), json.dumps(manifest)])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _detect(con, run_id: str, detector, digest: str, chunk: int = 100_000) -> None:
    """Match the run's stored observations against the catalog, streaming the resources page by page
    (read from the raw tables: one schema for every run, newer columns default). Writes ``detections`` and the
    third-party hosts no entry claims (``unclaimed``); first-party hosts the run's enrichment found CNAMEd to a
    catalog service (cloaking) are attributed to it."""
    from crawler.observe import embedding_of, signature_embedding
    from pipelines.catalog.detect import PageRef

    sites = {d: (site or d, host or d) for d, site, host in con.execute(
        "SELECT input_domain, site, final_host FROM raw_sites WHERE run_id = ?", [run_id]).fetchall()}
    known = detector.catalog.by_id
    cnames = {host: sid for host, sid in con.execute(
        f"SELECT host, any_value(service_id) FROM {quote_ident(ENRICHED_PREFIX + 'cloaking')} "
        "WHERE run_id = ? AND service_id IS NOT NULL GROUP BY host", [run_id]).fetchall() if sid in known}
    # one observation = a page seen one way: (domain, page, method, consent state, signal); runs from before
    # browser mode have NULL there, read as static / none / none
    obs = "coalesce(method, 'static'), coalesce(consent_state, 'none'), coalesce(signal, 'none')"
    sigs: dict[tuple, list] = {}
    for d, page, m, c, g, sid, value, gated, embedding in con.execute(
            f"SELECT input_domain, page_url, {obs}, signature_id, value, coalesce(gated, false), embedding "
            "FROM raw_signatures WHERE run_id = ?", [run_id]).fetchall():
        sigs.setdefault((d, page, m, c, g), []).append((sid, value, embedding or signature_embedding(gated)))
    cookies: dict[tuple, list] = {}
    for d, page, m, c, g, name in con.execute(
            f"SELECT input_domain, page_url, {obs}, name FROM raw_cookies WHERE run_id = ?", [run_id]).fetchall():
        cookies.setdefault((d, page, m, c, g), []).append(name)

    out: list[tuple] = []
    left_over: list[tuple] = []
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM detections WHERE run_id = ?", [run_id])
    con.execute("DELETE FROM unclaimed WHERE run_id = ?", [run_id])
    con.execute("DELETE FROM _policy_checked WHERE run_id = ?", [run_id])  # its services may have changed

    def flush(force: bool = False) -> None:
        for rows, table, schema in ((out, "detections", DETECTIONS_SCHEMA), (left_over, "unclaimed", UNCLAIMED_SCHEMA)):
            if rows and (force or len(rows) >= chunk):
                cols = list(zip(*rows, strict=True))
                _from_arrow(con, f"INSERT INTO {quote_ident(table)} BY NAME SELECT * FROM _arrow_in",
                            pa.table([pa.array(col, typ) for col, typ in zip(cols, schema.types, strict=True)],
                                     schema=schema))
                rows.clear()

    def page_done(key: tuple, refs: list) -> None:
        domain, page, method, consent, signal = key
        site, site_host = sites.get(domain, (domain, domain))
        unclaimed: list = []
        for det in detector.detect(site_host=site_host, references=refs, signatures=sigs.pop(key, ()),
                                   cookies=cookies.pop(key, ()), cnames=cnames, unclaimed=unclaimed):
            out.append((run_id, domain, site, page, det.service_id, det.kind, det.evidence, det.seen_in, det.host,
                        method, consent, signal, det.embedding, det.loads_without_gate))
        for u in unclaimed:
            left_over.append((run_id, domain, site, page, u.host, registrable_domain(u.host), u.embedding, method,
                              consent, signal))
        flush()

    cur = con.cursor()
    cur.execute(f"SELECT input_domain, page_url, {obs}, url, host, declared, element, inline, coalesce(gated, false), "
                "rel, attribute, embedding FROM raw_resources WHERE run_id = ? ORDER BY 1, 2, 3, 4, 5", [run_id])
    key, refs = None, []
    while True:
        rows = cur.fetchmany(chunk)
        if not rows:
            break
        for d, page, m, c, g, url, host, declared, element, inline, gated, rel, attribute, embedding in rows:
            if (d, page, m, c, g) != key:
                if key is not None:
                    page_done(key, refs)
                key, refs = (d, page, m, c, g), []
            refs.append(PageRef(url, host, bool(declared), element or "", bool(inline),
                                embedding or embedding_of(element or "", attribute or "", rel, gated)))
    if key is not None:
        page_done(key, refs)
    for key in list(sigs.keys() | cookies.keys()):  # pages with signatures or cookies but no references
        page_done(key, [])
    flush(force=True)
    con.execute("UPDATE _runs SET catalog_digest = ? WHERE run_id = ?", [digest, run_id])
    con.execute("COMMIT")


def _policy_coverage(con, run_id: str, catalog, digest: str) -> None:
    """Check the run's sites' privacy-policy texts for the services detected on them (``policy_coverage``)."""
    from pipelines.warehouse.policy import write_policy_coverage

    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM policy_coverage WHERE run_id = ?", [run_id])
        write_policy_coverage(con, run_id, catalog, lambda rows: _from_arrow(
            con, "INSERT INTO policy_coverage BY NAME SELECT * FROM _arrow_in", rows))
        con.execute("INSERT OR REPLACE INTO _policy_checked VALUES (?, ?)", [run_id, digest])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _record_dpf(con, run_id: str, catalog) -> None:
    """The DPF status of every catalog company as the dataset knew it when the run was loaded, so trends can
    show DPF changes between runs (a later catalog update does not rewrite what an earlier run saw)."""
    rows = [{"run_id": run_id, "company_id": c.id, "dpf_status": c.dpf.status, "dpf_checked_on": c.dpf.checked_on}
            for c in catalog.companies.values()]
    con.execute("DELETE FROM _run_dpf WHERE run_id = ?", [run_id])
    _from_arrow(con, "INSERT INTO _run_dpf SELECT * FROM _arrow_in", pa.Table.from_pylist(rows, schema=pa.schema([
        ("run_id", pa.string()), ("company_id", pa.string()), ("dpf_status", pa.string()),
        ("dpf_checked_on", pa.string())])))


def _load_enriched(con, layout: Layout, report: BuildReport) -> None:
    """Load sealed enrichment outputs (``OUT/enriched/<run_id>/``) of loaded runs; reload when changed."""
    from pipelines.enrich.run import SCHEMAS as ENRICHED

    loaded_runs = {r[0] for r in con.execute("SELECT run_id FROM _runs").fetchall()}
    known = dict(con.execute("SELECT run_id, manifest_sha256 FROM _enriched").fetchall())
    for run_id in layout.sealed_runs(layout.enriched):
        if run_id not in loaded_runs:
            continue
        run_dir = layout.run_dir(run_id, layout.enriched)
        sha = _sha256(run_dir / "manifest.json")
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
        report.enriched.append(run_id)


def _catalog_tables(con, catalog) -> None:
    """Catalog facts the marts join: services and companies (rebuilt on every build)."""
    services = pa.Table.from_pylist(
        [{"service_id": s.id, "name": s.name, "category": s.category, "company_id": s.company,
          "curated": not s.id.startswith("tpw-"), "consent_baseline": s.consent.baseline, "role": s.role,
          "as_of": s.as_of} for s in catalog.services],
        schema=pa.schema([("service_id", pa.string()), ("name", pa.string()), ("category", pa.string()),
                          ("company_id", pa.string()), ("curated", pa.bool_()), ("consent_baseline", pa.string()),
                          ("role", pa.string()), ("as_of", pa.string())]))
    _from_arrow(con, "CREATE OR REPLACE TABLE _services AS SELECT * FROM _arrow_in", services)
    rows = []
    for c in catalog.companies.values():
        chain = catalog.parent_chain(c.id)
        ultimate = chain[-1] if chain else c
        us = catalog.us_jurisdiction(c.id)  # derived in one place: the catalog (unknown stays unknown)
        rows.append({"company_id": c.id, "name": c.name, "country": c.country, "parent_id": c.parent,
                     "us_jurisdiction": us,
                     "ultimate_parent_id": ultimate.id, "ultimate_parent_country": ultimate.country,
                     "parent_chain": [x.id for x in chain], "dpf_status": c.dpf.status,
                     "dpf_checked_on": c.dpf.checked_on, "as_of": c.as_of})
    companies = pa.Table.from_pylist(rows, schema=pa.schema([
        ("company_id", pa.string()), ("name", pa.string()), ("country", pa.string()), ("parent_id", pa.string()),
        ("us_jurisdiction", pa.bool_()), ("ultimate_parent_id", pa.string()), ("ultimate_parent_country", pa.string()),
        ("parent_chain", pa.list_(pa.string())), ("dpf_status", pa.string()), ("dpf_checked_on", pa.string()),
        ("as_of", pa.string())]))
    _from_arrow(con, "CREATE OR REPLACE TABLE _companies AS SELECT * FROM _arrow_in", companies)


def _risk(con) -> None:
    """The risk & consent assessments (pipelines/risk) for every run, as tables the risk marts read."""
    from pipelines.warehouse.risk import SERVICE_SCHEMA, SITE_SCHEMA, write_risk_tables

    _from_arrow(con, "CREATE OR REPLACE TABLE _service_risk AS SELECT * FROM _arrow_in", _arrow_empty(SERVICE_SCHEMA))
    _from_arrow(con, "CREATE OR REPLACE TABLE _site_service_risk AS SELECT * FROM _arrow_in", _arrow_empty(SITE_SCHEMA))

    def insert(table: str, rows: pa.Table) -> None:
        if rows.num_rows:
            _from_arrow(con, f"INSERT INTO {quote_ident(table)} SELECT * FROM _arrow_in", rows)

    write_risk_tables(con, insert)


def _host_domains(con, owners) -> None:
    """Registrable domain of every host seen (the Public Suffix List lives in Python, not in DuckDB), and its
    owner where ``owners`` (``pipelines.catalog.parties.EntityIndex``) knows it."""
    hosts = [r[0] for r in con.execute(
        "SELECT DISTINCT host FROM raw_resources WHERE host IS NOT NULL UNION "
        "SELECT DISTINCT final_host FROM raw_sites WHERE final_host IS NOT NULL UNION "
        "SELECT DISTINCT input_domain FROM raw_sites").fetchall()]
    tbl = pa.table({"host": pa.array(hosts, pa.string()),
                    "registrable_domain": pa.array([registrable_domain(h) for h in hosts], pa.string()),
                    "owner": pa.array([owners.entity_of(h) for h in hosts], pa.string())})
    _from_arrow(con, "CREATE OR REPLACE TABLE _host_domains AS SELECT * FROM _arrow_in", tbl)


def sql_files(layer: str) -> list[Path]:
    """A layer's models in run order (file names may carry a numeric prefix: ``30_sites.sql``)."""
    return sorted((SQL_DIR / layer).glob("*.sql"))


def run_models(con, report: BuildReport) -> None:
    for layer in LAYERS:
        for path in sql_files(layer):
            con.execute(path.read_text(encoding="utf-8"))
            report.models.append(f"{layer}/{path.stem.split('_', 1)[1] if path.stem[:2].isdigit() else path.stem}")


def run_assertions(con) -> dict[str, int]:
    """Every assertion query must return zero rows; returns {name: offending rows}."""
    out = {}
    for path in sql_files("assertions"):
        out[path.stem] = len(con.execute(path.read_text(encoding="utf-8")).fetchall())
    return out


def build(out: str | Path, *, catalog=None, catalog_provenance: dict | None = None,
          kinds: tuple[str, ...] = DATASET_KINDS, on_step: Callable[[str], None] | None = None) -> BuildReport:
    """Load new or changed sealed runs of ``OUT/raw`` into ``OUT/warehouse.duckdb`` and rebuild every model.

    Only runs of ``kinds`` are loaded (a dataset's warehouse: crawl and browser runs; a scan builds its own
    warehouse under ``OUT/scans/<run_id>/`` with ``kinds=("scan",)``). ``on_step`` hears each step as it starts
    ("load RUN", "match RUN", "check privacy policies RUN", …), for a progress display."""
    from pipelines.catalog.detect import Detector
    from pipelines.catalog.parties import EntityIndex
    from pipelines.catalog.refdata import catalog_with_long_tail
    from pipelines.warehouse.policy import terms_digest

    layout = Layout(Path(out))
    if catalog is None:
        catalog, catalog_provenance = catalog_with_long_tail()
    catalog_digest = hashlib.sha256(
        json.dumps([DETECTOR_VERSION] + sorted((s.id, s.hosts, tuple((u.host, u.path) for u in s.url_patterns), s.signatures,
                           tuple(c.name for c in s.cookies)) for s in catalog.services), default=str).encode()
    ).hexdigest()[:16]
    report = BuildReport(catalog={"digest": catalog_digest, **(catalog_provenance or {})})
    step = on_step or (lambda _what: None)
    layout.out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(layout.warehouse))
    con.execute("SET enable_progress_bar = false")
    try:
        _ensure_tables(con)
        con.execute("CREATE OR REPLACE TABLE _dataset_kinds (kind VARCHAR PRIMARY KEY)")
        con.executemany("INSERT INTO _dataset_kinds VALUES (?)", [[k] for k in kinds])
        known = dict(con.execute("SELECT run_id, manifest_sha256 FROM _runs").fetchall())
        attributed = dict(con.execute("SELECT run_id, catalog_digest FROM _runs").fetchall())
        checked = dict(con.execute("SELECT run_id, terms_digest FROM _policy_checked").fetchall())
        policy_digest = terms_digest(catalog)
        detector = None
        owners = EntityIndex(catalog)
        runs = []
        for run_id in layout.sealed_runs():
            manifest_path = layout.run_dir(run_id) / "manifest.json"
            kind = json.loads(manifest_path.read_text(encoding="utf-8")).get("kind")
            if kind not in kinds:
                report.skipped.append(run_id)
                continue
            sha = _sha256(manifest_path)
            changed = known.get(run_id) != sha
            if changed:
                step(f"load {run_id}")
                _load_run(con, layout, run_id, sha)
                _record_dpf(con, run_id, catalog)
                report.loaded.append(run_id)
            runs.append((run_id, changed))
        # before matching: a first-party host the enrichment found CNAMEd to a service is attributed to it
        step("load enrichment")
        _load_enriched(con, layout, report)
        enriched = dict(con.execute("SELECT run_id, manifest_sha256 FROM _enriched").fetchall())
        for run_id, changed in runs:
            # a run is attributed with the catalog and its enrichment: a change of either re-matches it
            digest = catalog_digest if run_id not in enriched else \
                hashlib.sha256(f"{catalog_digest}:{enriched[run_id]}".encode()).hexdigest()[:16]
            detect = changed or attributed.get(run_id) != digest
            if detect:
                step(f"match {run_id}")
                detector = detector or Detector(catalog, owners)
                _detect(con, run_id, detector, digest)
                if not changed:
                    report.reattributed.append(run_id)
            if detect or checked.get(run_id) != policy_digest:  # the services it checks, or their names, changed
                step(f"check privacy policies {run_id}")
                _policy_coverage(con, run_id, catalog, policy_digest)
                report.policy_checked.append(run_id)
        con.execute("INSERT OR REPLACE INTO _meta VALUES ('catalog_digest', ?), ('built_at', ?)",
                    [catalog_digest, datetime.now(timezone.utc).isoformat(timespec="seconds")])
        _catalog_tables(con, catalog)
        _host_domains(con, owners)
        step("assess risk")
        _risk(con)
        step("rebuild models")
        run_models(con, report)
        step("run assertions")
        report.assertions = run_assertions(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return report
