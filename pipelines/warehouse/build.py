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
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable

import duckdb
import pyarrow as pa

from common.hosts import registrable_domain
from common.runfolder import Layout, parts
from common.tables import SCHEMAS, TABLES
from crawler.outcomes import OUTCOMES
from pipelines.warehouse import dictionary
from pipelines.warehouse.connect import (
    SCHEMA_KEY,
    engine_version,
    open_writable,
    quote_ident,
    require_schema,
    storage_version,
)

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
DETECTOR_VERSION = 5  # bump when detection rules change in code: every stored run is re-attributed


@dataclass
class BuildReport:
    loaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    reattributed: list[str] = field(default_factory=list)
    policy_checked: list[str] = field(default_factory=list)  # runs whose privacy policies were (re)checked
    enriched: list[str] = field(default_factory=list)
    assessed: list[str] = field(default_factory=list)  # runs whose risk was (re)assessed in this build
    models: list[str] = field(default_factory=list)
    assertions: dict[str, int] = field(default_factory=dict)
    catalog: dict = field(default_factory=dict)
    comments: dict = field(default_factory=dict)  # {"tables": n, "columns": n} given COMMENT ON

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
    """The DuckDB type of an Arrow column type (lists and structs keep their element types)."""
    if pa.types.is_boolean(typ):
        return "BOOLEAN"
    if pa.types.is_integer(typ):
        return "BIGINT"
    if pa.types.is_floating(typ):
        return "DOUBLE"
    if pa.types.is_timestamp(typ):
        return "TIMESTAMPTZ"
    if pa.types.is_date(typ):
        return "DATE"
    if pa.types.is_list(typ):
        return f"{_sql_type(typ.value_type)}[]"
    if pa.types.is_struct(typ):
        return "STRUCT(" + ", ".join(f"{quote_ident(typ.field(i).name)} {_sql_type(typ.field(i).type)}"
                                     for i in range(typ.num_fields)) + ")"
    return "VARCHAR"


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLES:
        _from_arrow(con, f"CREATE TABLE IF NOT EXISTS {quote_ident('raw_' + table)} AS SELECT * FROM _arrow_in",
                    _arrow_empty(SCHEMAS[table]))
    _from_arrow(con, "CREATE TABLE IF NOT EXISTS detections AS SELECT * FROM _arrow_in",
                _arrow_empty(DETECTIONS_SCHEMA))
    _from_arrow(con, "CREATE TABLE IF NOT EXISTS unclaimed AS SELECT * FROM _arrow_in", _arrow_empty(UNCLAIMED_SCHEMA))
    from pipelines.enrich.run import SCHEMAS as ENRICHED

    for table, schema in ENRICHED.items():
        _from_arrow(con, f"CREATE TABLE IF NOT EXISTS {quote_ident(ENRICHED_PREFIX + table)} AS SELECT * FROM _arrow_in",
                    _arrow_empty(schema))
    con.execute("CREATE TABLE IF NOT EXISTS _enriched (run_id VARCHAR PRIMARY KEY, manifest_sha256 VARCHAR)")
    con.execute("""CREATE TABLE IF NOT EXISTS _runs (run_id VARCHAR PRIMARY KEY, kind VARCHAR, started_at TIMESTAMPTZ,
                   ended_at TIMESTAMPTZ, manifest_sha256 VARCHAR, catalog_digest VARCHAR, loaded_at TIMESTAMPTZ,
                   manifest JSON)""")
    con.execute("CREATE TABLE IF NOT EXISTS _meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    from pipelines.warehouse.policy import POLICY_COVERAGE_SCHEMA

    _from_arrow(con, "CREATE TABLE IF NOT EXISTS policy_coverage AS SELECT * FROM _arrow_in",
                _arrow_empty(POLICY_COVERAGE_SCHEMA))
    con.execute("CREATE TABLE IF NOT EXISTS _policy_checked (run_id VARCHAR PRIMARY KEY, terms_digest VARCHAR)")


def iso_date(value) -> date | None:
    """A catalog date (``YYYY-MM-DD`` text or a date) as a date; anything else is unknown (None)."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


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
                     datetime.now(timezone.utc), json.dumps(manifest)])
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
          "as_of": iso_date(s.as_of)} for s in catalog.services],
        schema=pa.schema([("service_id", pa.string()), ("name", pa.string()), ("category", pa.string()),
                          ("company_id", pa.string()), ("curated", pa.bool_()), ("consent_baseline", pa.string()),
                          ("role", pa.string()), ("as_of", pa.date32())]))
    _from_arrow(con, "CREATE OR REPLACE TABLE _services AS SELECT * FROM _arrow_in", services)
    rows = []
    for c in catalog.companies.values():
        chain = catalog.parent_chain(c.id)
        ultimate = chain[-1] if chain else c
        us = catalog.us_jurisdiction(c.id)  # derived in one place: the catalog (unknown stays unknown)
        rows.append({"company_id": c.id, "name": c.name, "country": c.country, "parent_id": c.parent,
                     "us_jurisdiction": us,
                     "ultimate_parent_id": ultimate.id, "ultimate_parent_country": ultimate.country,
                     "parent_chain": [x.id for x in chain], "as_of": iso_date(c.as_of)})
    companies = pa.Table.from_pylist(rows, schema=pa.schema([
        ("company_id", pa.string()), ("name", pa.string()), ("country", pa.string()), ("parent_id", pa.string()),
        ("us_jurisdiction", pa.bool_()), ("ultimate_parent_id", pa.string()), ("ultimate_parent_country", pa.string()),
        ("parent_chain", pa.list_(pa.string())), ("as_of", pa.date32())]))
    _from_arrow(con, "CREATE OR REPLACE TABLE _companies AS SELECT * FROM _arrow_in", companies)


RISK_STORES = {"_service_risk": "SERVICE_SCHEMA", "_site_service_risk": "SITE_SCHEMA", "_run_companies": "COMPANY_SCHEMA"}


def _run_day(run_id: str, started_at: datetime | str | None):
    """The day a run's assessment is made on: its start date (UTC, from the manifest), else the date in its id."""
    if isinstance(started_at, datetime):
        return started_at.astimezone(timezone.utc).date()
    text = (started_at or "")[:10]
    try:
        return date.fromisoformat(text)
    except ValueError:
        return date(int(run_id[:4]), int(run_id[4:6]), int(run_id[6:8]))


def _risk(con, report: BuildReport, ctx=None) -> None:
    """The risk & consent assessments (pipelines/risk) and the company facts of every dataset run, kept per
    run: a run is assessed with its own date and the catalog version current when it is first assessed, and
    re-assessed only when that version moves (a data or model change; the verdicts that moved are then recorded
    in ``_risk_changes`` for ``kb --changes``) or when this build loaded new inputs of the run (its raw data or
    enrichment). A rebuild on another day changes nothing."""
    from dataclasses import replace

    import pipelines.warehouse.risk as wr
    from pipelines.risk.model import load_context

    ctx = ctx or load_context()
    for table, schema in RISK_STORES.items():
        _from_arrow(con, f"CREATE TABLE IF NOT EXISTS {quote_ident(table)} AS SELECT * FROM _arrow_in",
                    _arrow_empty(getattr(wr, schema)))
    con.execute("CREATE TABLE IF NOT EXISTS _risk_runs (run_id VARCHAR PRIMARY KEY, catalog_version VARCHAR, "
                "assessed_on VARCHAR, assessed_at VARCHAR)")
    con.execute("CREATE TABLE IF NOT EXISTS _risk_changes (run_id VARCHAR, service_id VARCHAR, prev_version VARCHAR, "
                "catalog_version VARCHAR, prev_consent VARCHAR, consent_required VARCHAR, prev_band VARCHAR, "
                "band VARCHAR, prev_score INTEGER, risk_score INTEGER, changed_at VARCHAR)")
    runs = con.execute("SELECT run_id, started_at FROM _runs WHERE kind IN (SELECT kind FROM _dataset_kinds) "
                       "ORDER BY run_id").fetchall()
    done = dict(con.execute("SELECT run_id, catalog_version FROM _risk_runs").fetchall())
    live = {r for r, _ in runs}
    for table in [*RISK_STORES, "_risk_runs"]:  # runs that left the dataset
        for (gone,) in con.execute(f"SELECT DISTINCT run_id FROM {quote_ident(table)}").fetchall():
            if gone not in live:
                con.execute(f"DELETE FROM {quote_ident(table)} WHERE run_id = ?", [gone])

    def insert(table: str, rows: pa.Table) -> None:
        if rows.num_rows:
            _from_arrow(con, f"INSERT INTO {quote_ident(table)} BY NAME SELECT * FROM _arrow_in", rows)

    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    # a run's inputs are its sealed raw data, its enrichment and the catalog version: re-assess when the version
    # moved, or when this build (re)loaded the run or its enrichment (e.g. `enrich` ran after the first build) or
    # re-ran its detection
    refreshed = set(report.loaded) | set(report.enriched) | set(report.reattributed)
    for run_id, started_at in runs:
        if done.get(run_id) == ctx.version and run_id not in refreshed:
            continue
        run_ctx = replace(ctx, as_of=_run_day(run_id, started_at))
        old = {r[0]: r[1:] for r in con.execute(
            "SELECT service_id, consent_required, band, risk_score FROM _service_risk WHERE run_id = ?",
            [run_id]).fetchall()}
        con.execute("BEGIN TRANSACTION")
        try:
            for table in RISK_STORES:
                con.execute(f"DELETE FROM {quote_ident(table)} WHERE run_id = ?", [run_id])
            wr.write_risk_tables(con, insert, run_ctx, run_id)
            insert("_run_companies", wr.company_rows(run_id, run_ctx))
            if run_id in done and done[run_id] != ctx.version:  # the verdicts a catalog-version move changed
                for sid, consent, band, score in con.execute(
                        "SELECT service_id, consent_required, band, risk_score FROM _service_risk WHERE run_id = ?",
                        [run_id]).fetchall():
                    prev = old.get(sid)
                    if prev and prev != (consent, band, score):
                        con.execute("INSERT INTO _risk_changes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                    [run_id, sid, done[run_id], ctx.version, prev[0], consent, prev[1], band, prev[2],
                                     score, now])
            con.execute("INSERT OR REPLACE INTO _risk_runs VALUES (?, ?, ?, ?)",
                        [run_id, ctx.version, run_ctx.day, now])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        report.assessed.append(run_id)


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


def _host_services(con, catalog) -> None:
    """Service attribution of every host the marts show, done once per build for every mart (``hosts``,
    ``cloaking``, ``service_locations``) with the build's catalog: the service the run's detections give the
    host most often (URL-path rules included), else the catalog's host match; NULL when neither knows it."""
    detected = {}
    for run_id, host, sid, _n in con.execute(
            "SELECT run_id, host, service_id, count(*) FROM detections WHERE host IS NOT NULL AND host <> '' "
            "GROUP BY ALL ORDER BY run_id, host, 4 DESC, service_id").fetchall():
        detected.setdefault((run_id, host), sid)
    hosts = con.execute("SELECT run_id, host FROM enr_hosts UNION SELECT run_id, target FROM enr_cloaking "
                        "UNION SELECT DISTINCT run_id, host FROM raw_resources WHERE host IS NOT NULL").fetchall()
    rows = {"run_id": [], "host": [], "service_id": []}
    for run_id, host in hosts:
        if not host:
            continue
        sid = detected.get((run_id, host))
        if sid is None:
            match = catalog.match(host, "/", first_party=False)
            sid = match.id if match is not None else None
        rows["run_id"].append(run_id)
        rows["host"].append(host)
        rows["service_id"].append(sid)
    _from_arrow(con, "CREATE OR REPLACE TABLE _host_services AS SELECT * FROM _arrow_in",
                pa.table({k: pa.array(v, pa.string()) for k, v in rows.items()}))


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
          kinds: tuple[str, ...] = DATASET_KINDS, on_step: Callable[[str], None] | None = None,
          risk_context=None, rebuild: bool = False) -> BuildReport:
    """Load new or changed sealed runs of ``OUT/raw`` into ``OUT/warehouse.duckdb`` and rebuild every model.

    Only runs of ``kinds`` are loaded (a dataset's warehouse: crawl and browser runs; a scan builds its own
    warehouse under ``OUT/scans/<run_id>/`` with ``kinds=("scan",)``). ``on_step`` hears each step as it starts
    ("load RUN", "match RUN", "check privacy policies RUN", …), for a progress display. ``risk_context``
    (default: ``load_context()`` on ``data/``) is what the risk assessment reads; each run is assessed on its own
    date with the catalog version recorded for it.

    A warehouse of another schema version raises :class:`~pipelines.warehouse.connect.WarehouseVersionError`
    (its tables are left as they are); ``rebuild`` deletes the warehouse first and builds it again from the run folders (stored
    assessments are then made again with the current catalog version)."""
    from pipelines.catalog.detect import Detector
    from pipelines.catalog.longtail import catalog_with_long_tail
    from pipelines.catalog.parties import EntityIndex
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
    if rebuild:
        for path in (layout.warehouse, Path(f"{layout.warehouse}.wal")):
            path.unlink(missing_ok=True)
    con = open_writable(layout.warehouse)
    con.execute("SET enable_progress_bar = false")
    try:
        require_schema(con, layout.warehouse, allow_new=True)
        _ensure_tables(con)
        con.execute("CREATE OR REPLACE TABLE _dataset_kinds (kind VARCHAR PRIMARY KEY)")
        con.executemany("INSERT INTO _dataset_kinds VALUES (?)", [[k] for k in kinds])
        con.execute("CREATE OR REPLACE TABLE _outcomes (outcome VARCHAR PRIMARY KEY)")  # the documented set
        con.executemany("INSERT INTO _outcomes VALUES (?)", [[o] for o in OUTCOMES])
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
        con.execute("INSERT OR REPLACE INTO _meta VALUES ('catalog_digest', ?), ('built_at', ?), ('engine_version', ?), "
                    "('storage_version', ?), (?, ?)",
                    [catalog_digest, datetime.now(timezone.utc).isoformat(timespec="seconds"), engine_version(),
                     storage_version(con), SCHEMA_KEY, str(dictionary.version())])
        _catalog_tables(con, catalog)
        _host_domains(con, owners)
        _host_services(con, catalog)
        step("assess risk")
        _risk(con, report, risk_context)
        step("rebuild models")
        run_models(con, report)
        step("describe tables")
        report.comments = dictionary.apply_comments(con)
        step("run assertions")
        report.assertions = run_assertions(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return report
