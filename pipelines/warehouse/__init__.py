"""The DuckDB warehouse: layered SQL models over sealed runs (staging → intermediate → marts → assertions)."""

from pipelines.warehouse.connect import connect, fetch_dicts, quote_ident

__all__ = ["connect", "fetch_dicts", "quote_ident"]
