"""A tiny recorded crawl, written exactly as the crawler writes runs (Parquet parts + manifest last)."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from crawler.items import SCHEMAS, TABLES
from crawler.manifest import build_manifest, write_manifest
from crawler.paths import Layout

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def _site(run_id, domain, outcome, rank, pages_ok=1):
    return {"run_id": run_id, "rank": rank, "line_no": rank, "input_domain": domain, "site": domain,
            "final_host": domain, "start_url": f"https://{domain}/", "final_url": f"https://{domain}/",
            "outcome": outcome, "error_class": None if outcome == "ok" else "DNSLookupError",
            "detail": None if outcome == "ok" else "DNS lookup failed", "attempts": [], "redirect_chain": [],
            "cross_site_redirect": False, "pages_ok": pages_ok if outcome == "ok" else 0,
            "pages_failed": 0 if outcome == "ok" else 1, "method": "static", "started_at": T0, "finished_at": T0}


def _ref(run_id, domain, url, host, element="script", attribute="src", rel="", inline=False, gated=False):
    return {"run_id": run_id, "input_domain": domain, "page_url": f"https://{domain}/", "url": url, "host": host,
            "element": element, "attribute": attribute, "rel": rel, "inline": inline, "declared": False,
            "gated": gated, "method": "static", "consent_state": "none"}


def tiny_rows(run_id: str, month: int = 1) -> dict[str, list[dict]]:
    """4 sites: shop-a.de (GTM, GA4, Google Fonts), blog-b.de (Hotjar, self-hosted Matomo by signature,
    a consent-gated Meta Pixel), clean-c.at (first-party only), dead-d.de (dns_error). In month 2 blog-b.de
    drops Hotjar and clean-c.at adds Google Fonts."""
    sites = [_site(run_id, "shop-a.de", "ok", 1), _site(run_id, "blog-b.de", "ok", 2),
             _site(run_id, "clean-c.at", "ok", 3), _site(run_id, "dead-d.de", "dns_error", 4)]
    res = [
        _ref(run_id, "shop-a.de", "https://www.googletagmanager.com/gtm.js?id=GTM-AAAA111", "www.googletagmanager.com"),
        _ref(run_id, "shop-a.de", "https://www.googletagmanager.com/gtag/js?id=G-ABCDEF1234", "www.googletagmanager.com"),
        _ref(run_id, "shop-a.de", "https://fonts.googleapis.com/css2?family=Roboto", "fonts.googleapis.com",
             element="link", attribute="href", rel="stylesheet"),
        _ref(run_id, "shop-a.de", "https://shop-a.de/app.js", "shop-a.de"),
        _ref(run_id, "blog-b.de", "https://connect.facebook.net/en_US/fbevents.js", "connect.facebook.net",
             gated=True),
        _ref(run_id, "blog-b.de", "https://blog-b.de/style.css", "blog-b.de", element="link", attribute="href",
             rel="stylesheet"),
        _ref(run_id, "clean-c.at", "https://clean-c.at/logo.png", "clean-c.at", element="img"),
    ]
    if month == 1:
        res.append(_ref(run_id, "blog-b.de", "https://static.hotjar.com/c/hotjar-123456.js?sv=6", "static.hotjar.com"))
    else:
        res.append(_ref(run_id, "clean-c.at", "https://fonts.googleapis.com/css?family=Lato", "fonts.googleapis.com",
                        element="link", attribute="href", rel="stylesheet"))
    sigs = [{"run_id": run_id, "input_domain": "blog-b.de", "page_url": "https://blog-b.de/",
             "signature_id": "matomo-paq", "value": "3", "gated": False, "method": "static"}]
    return {"sites": sites, "resources": res, "signatures": sigs, "pages": [], "response_headers": [], "cookies": [],
            "policy_texts": tiny_policies(run_id)}


def _policy(run_id, domain, text, kind="privacy"):
    return {"run_id": run_id, "input_domain": domain, "page_url": f"https://{domain}/{kind}", "page_kind": kind,
            "lang": "de", "chars": len(text), "truncated": False, "text": text, "method": "static"}


def tiny_policies(run_id: str) -> list[dict]:
    """shop-a.de names Google Analytics and (as recipient) Google, not Tag Manager or Fonts by name; blog-b.de
    names Hotjar only; clean-c.at has no policy page."""
    return [
        _policy(run_id, "shop-a.de", "Datenschutzerklärung\nWir nutzen Google-Analytics. Anbieter ist die Google "
                                     "Ireland Limited, Gordon House, Dublin."),
        _policy(run_id, "shop-a.de", "Cookie-Richtlinie\nNotwendige Cookies.", kind="cookies"),
        _policy(run_id, "blog-b.de", "Datenschutz\nFür Heatmaps setzen wir Hotjar ein."),
    ]


def write_run_rows(out: Path, run_id: str, rows: dict[str, list[dict]], fixture: str = "tiny",
                   input_sha256: str = "0" * 64, panel: str | None = None) -> Path:
    """Write ``rows`` (table -> rows; a table not given is empty) as one sealed run, exactly as the crawler does:
    parts, then the manifest. ``input_sha256``: the domain list's checksum (runs of one list form one panel)."""
    layout = Layout(Path(out))
    run_dir = layout.run_dir(run_id)
    for table in TABLES:
        (run_dir / table).mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows.get(table, []), schema=SCHEMAS[table]),
                       run_dir / table / "part-wtest-00001.parquet")
    # the run started when its id says (a run's assessment is made on that day)
    started = datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    manifest = build_manifest(run_id=run_id, kind="crawl", started_at=started.isoformat(), run_dir=run_dir,
                              settings={"fixture": fixture}, stats={},
                              input_info={"fixture": True, "sha256": input_sha256}, reference_data={},
                              writers=["wtest"], close_reason="finished", panel=panel)
    write_manifest(run_dir, manifest)
    return run_dir


def write_tiny_run(out: Path, run_id: str = "20261101T120000Z-aaaaaa", month: int = 1, **manifest) -> Path:
    """The tiny crawl as run ``run_id``; ``manifest``: ``input_sha256`` / ``panel`` of ``write_run_rows``."""
    return write_run_rows(out, run_id, tiny_rows(run_id, month), **manifest)


def q(db, sql, params=()):
    """Rows of ``sql`` (bound ``params``) from the warehouse file ``db``, opened read-only."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def wilson(x: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (centre ± half-width), written independently of the SQL macros."""
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)
