"""Export the marts for analysts outside DuckDB: per mart ``X.parquet`` (the newest run, as the view ``X``) and
``X_all.parquet`` (every run, as the table ``X_all``), each field carrying its description, unit and formula and
each file its run id(s) and catalog version as Parquet metadata, plus ``dictionary.md``/``dictionary.json``
beside them; or the same files as CSV for spreadsheets (metadata then only in the dictionary files)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.warehouse import dictionary
from pipelines.warehouse.connect import quote_ident, quote_literal

FORMATS = ("parquet", "csv")
BATCH_ROWS = 100_000


@dataclass
class ExportResult:
    target: Path
    format: str
    files: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


def _meta(con) -> dict[str, str]:
    return dict(con.execute("SELECT key, value FROM _meta").fetchall())


def _runs(con, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"SELECT DISTINCT run_id FROM {quote_ident(table)} ORDER BY 1").fetchall()]


def _latest_run(con) -> str | None:
    rows = con.execute("SELECT run_id FROM int_latest_run").fetchall()
    return rows[0][0] if rows else None


def field_metadata(col: dictionary.ColumnDoc | None) -> dict[bytes, bytes]:
    if col is None:
        return {}
    meta = {"description": col.description, "unit": col.unit, "formula": col.formula}
    return {k.encode(): v.encode() for k, v in meta.items() if v}


def _with_metadata(schema: pa.Schema, doc: dictionary.TableDoc, file_meta: dict[str, str]) -> pa.Schema:
    fields = [f.with_metadata(field_metadata(doc.columns.get(f.name))) for f in schema]
    return pa.schema(fields, metadata={k.encode(): v.encode() for k, v in file_meta.items()})


def _write_parquet(con, table: str, path: Path, doc: dictionary.TableDoc, file_meta: dict[str, str]) -> int:
    reader = con.sql(f"SELECT * FROM {quote_ident(table)}").to_arrow_reader(BATCH_ROWS)
    schema = _with_metadata(reader.schema, doc, file_meta)
    rows = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        for batch in reader:
            writer.write_batch(pa.RecordBatch.from_arrays(batch.columns, schema=schema))
            rows += batch.num_rows
    return rows


def _write_csv(con, table: str, path: Path) -> int:
    con.execute(f"COPY (SELECT * FROM {quote_ident(table)}) TO {quote_literal(str(path.resolve()))} "
                "(FORMAT csv, HEADER true)")
    return con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchall()[0][0]


def export(con, target: str | Path, fmt: str = "parquet") -> ExportResult:
    """Write every mart of the warehouse ``con`` into ``target`` as ``fmt`` (parquet or csv), plus the
    dictionary files. Raises ``ValueError`` for another format."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    result = ExportResult(target, fmt)
    docs = dictionary.table_docs()
    meta = _meta(con)
    existing = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    latest = _latest_run(con)
    names: list[str] = []
    marts: list[str] = []
    for mart in dictionary.schema()["marts"]:
        for name in (mart, f"{mart}_all"):
            if name not in existing:
                continue
            runs = [latest] if name == mart and latest else _runs(con, name)
            file_meta = {"servicerisk.table": name, "servicerisk.grain": docs[name].comment,
                         "servicerisk.run_id": ",".join(runs),
                         "servicerisk.catalog_version": meta.get("catalog_digest", ""),
                         "servicerisk.dictionary_version": str(dictionary.version()),
                         "servicerisk.built_at": meta.get("built_at", "")}
            path = target / f"{name}.{fmt}"
            if fmt == "parquet":
                result.rows[name] = _write_parquet(con, name, path, docs[name], file_meta)
            else:
                result.rows[name] = _write_csv(con, name, path)
            result.files.append(path)
            names.append(name)
            if mart not in marts:
                marts.append(mart)
    note = (f"Files: `X.{fmt}` holds the newest run ({latest or 'none'}), `X_all.{fmt}` every run. "
            f"Catalog version {meta.get('catalog_digest') or 'unknown'}.")
    (target / "dictionary.md").write_text(dictionary.markdown(marts, note), encoding="utf-8")
    (target / "dictionary.json").write_text(
        json.dumps({**dictionary.as_json(marts), "catalog_version": meta.get("catalog_digest"), "latest_run_id": latest,
                    "files": {n: f"{n}.{fmt}" for n in names}}, ensure_ascii=False, indent=1), encoding="utf-8")
    return result
