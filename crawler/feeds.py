"""Scrapy feed plumbing for runs: a Parquet item exporter and a storage that publishes parts atomically."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.parquet as pq
from scrapy.exporters import BaseItemExporter
from scrapy.extensions.feedexport import BlockingFeedStorage

from common.tables import SCHEMAS


class ParquetItemExporter(BaseItemExporter):
    """Buffers one table's rows from ``SiteBundle`` items and writes them as one Parquet file on finish.

    Takes the table name from the feed option ``item_export_kwargs: {"table": ...}``; rows are validated
    against the table's schema when written (a missing column becomes null, an unknown one is an error).
    """

    def __init__(self, file: IO[bytes], *, table: str, **kwargs: Any):
        super().__init__(dont_fail=True, **kwargs)
        if table not in SCHEMAS:
            raise ValueError(f"unknown table {table!r}")
        self.file = file
        self.table = table
        self.schema = SCHEMAS[table]
        self._rows: list[dict] = []

    def export_item(self, item: Any) -> None:
        self._rows.extend(item.tables.get(self.table, ()))

    def finish_exporting(self) -> None:
        names = set(self.schema.names)
        for row in self._rows:
            if not names.issuperset(row):
                raise ValueError(f"{self.table}: unknown columns {sorted(set(row) - names)}")
        table = pa.Table.from_pylist(self._rows, schema=self.schema)
        pq.write_table(table, self.file, compression="zstd")
        self._rows = []


class AtomicFileFeedStorage(BlockingFeedStorage):
    """Local-file feed storage: the part is written under a temporary name, then renamed into place.

    A reader therefore sees either no part or a complete one, never a half-written file.
    """

    def __init__(self, uri: str, *, feed_options: dict[str, Any] | None = None):
        parsed = urlparse(uri)
        self.path = Path(unquote(parsed.path) if parsed.scheme == "file" else uri)

    def _store_in_thread(self, file: IO[bytes]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        file.seek(0)
        with open(tmp, "wb") as out:
            shutil.copyfileobj(file, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        file.close()
