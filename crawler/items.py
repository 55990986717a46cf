"""The crawl contract: the tables a run stores, their Parquet schemas, and the item that carries rows.

Every site yields exactly one ``SiteBundle`` item when it is finished, so all feeds close their batches on
the same set of sites: part ``n`` of every table covers the same sites, which is what resume relies on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

TS = pa.timestamp("ms", tz="UTC")
STR_LIST = pa.list_(pa.string())

#: table name -> (schema, one-line description). Column meanings are documented in docs/crawl-tables.md.
SCHEMAS: dict[str, pa.Schema] = {
    # one row per input domain per run, whatever happened to it
    "sites": pa.schema(
        [
            ("run_id", pa.string()),
            ("rank", pa.int64()),
            ("line_no", pa.int64()),
            ("input_domain", pa.string()),
            ("site", pa.string()),
            ("final_host", pa.string()),
            ("start_url", pa.string()),
            ("final_url", pa.string()),
            ("outcome", pa.string()),
            ("error_class", pa.string()),
            ("detail", pa.string()),
            ("attempts", STR_LIST),
            ("redirect_chain", STR_LIST),
            ("cross_site_redirect", pa.bool_()),
            ("pages_ok", pa.int32()),
            ("pages_failed", pa.int32()),
            ("method", pa.string()),
            ("started_at", TS),
            ("finished_at", TS),
        ]
    ),
    # one row per fetched page (the home page and the chosen same-site pages)
    "pages": pa.schema(
        [
            ("run_id", pa.string()),
            ("input_domain", pa.string()),
            ("page_kind", pa.string()),
            ("url", pa.string()),
            ("final_url", pa.string()),
            ("status", pa.int32()),
            ("redirect_chain", STR_LIST),
            ("content_type", pa.string()),
            ("encoding", pa.string()),
            ("bytes", pa.int64()),
            ("fetch_ms", pa.float64()),
            ("title", pa.string()),
            ("error_class", pa.string()),
            ("detail", pa.string()),
            ("method", pa.string()),
            ("consent_state", pa.string()),
            ("signal", pa.string()),
            ("cmp", pa.string()),
            ("consent_result", pa.string()),
            ("load_state", pa.string()),
            ("popups", pa.int32()),
            ("fetched_at", TS),
        ]
    ),
    # one row per header of interest per response (redirect hops included)
    "response_headers": pa.schema(
        [
            ("run_id", pa.string()),
            ("input_domain", pa.string()),
            ("page_url", pa.string()),
            ("response_url", pa.string()),
            ("name", pa.string()),
            ("value", pa.string()),
            ("method", pa.string()),
        ]
    ),
    # one row per reference a page makes the browser fetch or connect to
    "resources": pa.schema(
        [
            ("run_id", pa.string()),
            ("input_domain", pa.string()),
            ("page_url", pa.string()),
            ("url", pa.string()),
            ("host", pa.string()),
            ("element", pa.string()),
            ("attribute", pa.string()),
            ("rel", pa.string()),
            ("inline", pa.bool_()),
            ("declared", pa.bool_()),
            ("gated", pa.bool_()),
            ("embedding", pa.string()),  # direct | gated | encoded | config | hint (NULL: CSP-declared)
            ("method", pa.string()),
            ("consent_state", pa.string()),
            ("signal", pa.string()),
            ("resource_type", pa.string()),
            ("frame_url", pa.string()),
            ("initiator", pa.string()),
            ("redirected_from", pa.string()),
            ("status", pa.int32()),
            ("remote_ip", pa.string()),
            ("failure", pa.string()),
            ("requested_at", TS),
        ]
    ),
    # one row per inline snippet signature found on a page
    "signatures": pa.schema(
        [
            ("run_id", pa.string()),
            ("input_domain", pa.string()),
            ("page_url", pa.string()),
            ("signature_id", pa.string()),
            ("value", pa.string()),
            ("gated", pa.bool_()),
            ("embedding", pa.string()),  # config | gated | encoded
            ("method", pa.string()),
            ("consent_state", pa.string()),
            ("signal", pa.string()),
        ]
    ),
    # one row per Set-Cookie (static) or cookie present after load (browser)
    "cookies": pa.schema(
        [
            ("run_id", pa.string()),
            ("input_domain", pa.string()),
            ("page_url", pa.string()),
            ("name", pa.string()),
            ("value_length", pa.int32()),
            ("domain", pa.string()),
            ("host_only", pa.bool_()),
            ("path", pa.string()),
            ("expires", TS),
            ("max_age", pa.int64()),
            ("session", pa.bool_()),
            ("secure", pa.bool_()),
            ("http_only", pa.bool_()),
            ("same_site", pa.string()),
            ("set_by_host", pa.string()),
            ("method", pa.string()),
            ("consent_state", pa.string()),
            ("signal", pa.string()),
            ("third_party", pa.bool_()),
        ]
    ),
    # one row per localStorage/sessionStorage key present after a browser load (values never stored)
    "storage": pa.schema(
        [
            ("run_id", pa.string()),
            ("input_domain", pa.string()),
            ("page_url", pa.string()),
            ("origin", pa.string()),
            ("kind", pa.string()),
            ("key", pa.string()),
            ("value_length", pa.int32()),
            ("third_party", pa.bool_()),
            ("method", pa.string()),
            ("consent_state", pa.string()),
            ("signal", pa.string()),
        ]
    ),
    # one row per fetched privacy or cookie policy page: its readable text (the policy-coverage check reads it)
    "policy_texts": pa.schema(
        [
            ("run_id", pa.string()),
            ("input_domain", pa.string()),
            ("page_url", pa.string()),
            ("page_kind", pa.string()),
            ("lang", pa.string()),
            ("chars", pa.int64()),
            ("truncated", pa.bool_()),
            ("text", pa.string()),
            ("method", pa.string()),
        ]
    ),
}

#: The tables every run has written; since browser mode a run's ``.input.json`` names the tables it writes.
LEGACY_TABLES: tuple[str, ...] = ("sites", "pages", "response_headers", "resources", "signatures", "cookies")

TABLES: tuple[str, ...] = tuple(SCHEMAS)


@dataclass(slots=True)
class SiteBundle:
    """Every row one finished site produced, by table name (a key of ``SCHEMAS``).

    One item per site: each table's feed exporter takes its own table's rows, so all feeds count the same
    items and close their batches on the same sites (part ``n`` of every table covers the same sites).
    """

    tables: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def site_rows(self) -> list[dict]:
        return self.tables.get("sites", [])

    @classmethod
    def of(cls, table: str, rows: list[dict]) -> "SiteBundle":
        """A bundle holding rows of one table only (tests and tools)."""
        if table not in SCHEMAS:
            raise KeyError(f"unknown table {table!r}")
        return cls({table: rows})
