"""Load sealed runs into the warehouse and rebuild the SQL models: idempotent and incremental.

Raw tables keep every loaded run (a run is reloaded only when its manifest changes: ``load.py``); service
detections are computed at build time from the stored observations (``attribute.py``), so a catalog update
re-attributes every run without re-crawling; staging → intermediate → marts are rebuilt from the raw tables on
every build (deterministic, independent of load order); assertion queries must return zero rows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable

import pyarrow as pa

from common.runfolder import Layout
from crawler.outcomes import OUTCOMES
from pipelines.warehouse import dictionary
from pipelines.warehouse.attribute import attribute_run, attribution_digest, host_domains, host_services
from pipelines.warehouse.connect import (
    SCHEMA_KEY,
    engine_version,
    open_writable,
    quote_ident,
    require_schema,
    storage_version,
)
from pipelines.warehouse.load import (
    arrow_empty,
    ensure_tables,
    from_arrow,
    load_enriched,
    load_run,
    manifest_sha256,
)
from pipelines.warehouse.sqlfiles import sql_layer

LAYERS = ("staging", "intermediate", "marts")
DATASET_KINDS = ("crawl", "browser")  # scans never enter the dataset


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


def iso_date(value) -> date | None:
    """A catalog date (``YYYY-MM-DD`` text or a date) as a date; anything else is unknown (None)."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _policy_coverage(con, run_id: str, catalog, digest: str) -> None:
    """Check the run's sites' privacy-policy texts for the services detected on them (``policy_coverage``)."""
    from pipelines.warehouse.policy import write_policy_coverage

    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM policy_coverage WHERE run_id = ?", [run_id])
        write_policy_coverage(con, run_id, catalog, lambda rows: from_arrow(
            con, "INSERT INTO policy_coverage BY NAME SELECT * FROM _arrow_in", rows))
        con.execute("INSERT OR REPLACE INTO _policy_checked VALUES (?, ?)", [run_id, digest])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _catalog_tables(con, catalog) -> None:
    """Catalog facts the marts join: services and companies (rebuilt on every build)."""
    services = pa.Table.from_pylist(
        [{"service_id": s.id, "name": s.name, "category": s.category, "company_id": s.company,
          "curated": not s.id.startswith("tpw-"), "consent_baseline": s.consent.baseline, "role": s.role,
          "as_of": iso_date(s.as_of)} for s in catalog.services],
        schema=pa.schema([("service_id", pa.string()), ("name", pa.string()), ("category", pa.string()),
                          ("company_id", pa.string()), ("curated", pa.bool_()), ("consent_baseline", pa.string()),
                          ("role", pa.string()), ("as_of", pa.date32())]))
    from_arrow(con, "CREATE OR REPLACE TABLE _services AS SELECT * FROM _arrow_in", services)
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
    from_arrow(con, "CREATE OR REPLACE TABLE _companies AS SELECT * FROM _arrow_in", companies)


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
        from_arrow(con, f"CREATE TABLE IF NOT EXISTS {quote_ident(table)} AS SELECT * FROM _arrow_in",
                   arrow_empty(getattr(wr, schema)))
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
            from_arrow(con, f"INSERT INTO {quote_ident(table)} BY NAME SELECT * FROM _arrow_in", rows)

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


def run_models(con, report: BuildReport) -> None:
    """Run every model of ``sql/{staging,intermediate,marts}/`` in order (names may carry a numeric prefix)."""
    for layer in LAYERS:
        for stem, sql in sql_layer("pipelines.warehouse", layer):
            con.execute(sql)
            report.models.append(f"{layer}/{stem.split('_', 1)[1] if stem[:2].isdigit() else stem}")


def run_assertions(con) -> dict[str, int]:
    """Every assertion query must return zero rows; returns {name: offending rows}."""
    out = {}
    for stem, sql in sql_layer("pipelines.warehouse", "assertions"):
        out[stem] = len(con.execute(sql).fetchall())
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
    (its tables are left as they are); ``rebuild`` deletes the warehouse first and builds it again from the run
    folders (stored assessments are then made again with the current catalog version)."""
    from pipelines.catalog.detect import Detector
    from pipelines.catalog.longtail import catalog_with_long_tail
    from pipelines.catalog.parties import EntityIndex
    from pipelines.warehouse.policy import terms_digest

    layout = Layout(Path(out))
    if catalog is None:
        catalog, catalog_provenance = catalog_with_long_tail()
    catalog_digest = attribution_digest(catalog)
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
        ensure_tables(con)
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
            sha = manifest_sha256(manifest_path)
            changed = known.get(run_id) != sha
            if changed:
                step(f"load {run_id}")
                load_run(con, layout, run_id, sha)
                report.loaded.append(run_id)
            runs.append((run_id, changed))
        # before matching: a first-party host the enrichment found CNAMEd to a service is attributed to it
        step("load enrichment")
        report.enriched.extend(load_enriched(con, layout))
        enriched = dict(con.execute("SELECT run_id, manifest_sha256 FROM _enriched").fetchall())
        for run_id, changed in runs:
            # a run is attributed with the catalog and its enrichment: a change of either re-matches it
            digest = catalog_digest if run_id not in enriched else \
                hashlib.sha256(f"{catalog_digest}:{enriched[run_id]}".encode()).hexdigest()[:16]
            rematch = changed or attributed.get(run_id) != digest
            if rematch:
                step(f"match {run_id}")
                detector = detector or Detector(catalog, owners)
                attribute_run(con, run_id, detector, digest)
                if not changed:
                    report.reattributed.append(run_id)
            if rematch or checked.get(run_id) != policy_digest:  # the services it checks, or their names, changed
                step(f"check privacy policies {run_id}")
                _policy_coverage(con, run_id, catalog, policy_digest)
                report.policy_checked.append(run_id)
        con.execute("INSERT OR REPLACE INTO _meta VALUES ('catalog_digest', ?), ('built_at', ?), ('engine_version', ?), "
                    "('storage_version', ?), (?, ?)",
                    [catalog_digest, datetime.now(timezone.utc).isoformat(timespec="seconds"), engine_version(),
                     storage_version(con), SCHEMA_KEY, str(dictionary.version())])
        _catalog_tables(con, catalog)
        host_domains(con, owners)
        host_services(con, catalog)
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
