"""Browser mode without a browser: error classification, passes, consent-tracker verdicts, visit rows, the
ledger's table set for old and new runs, and the extra files a pinned package may carry."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from datetime import timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common import refdata as rd
from common.tables import LEGACY_TABLES, SCHEMAS, TABLES
from crawler.browser.consent import AutoconsentBundle, ConsentTracker
from crawler.browser.observe import page_extras, visit_rows
from crawler.browser.visit import Pass, RequestRecord, Visit
from crawler.ledger import committed, run_tables
from crawler.outcomes import OUTCOMES, classify_browser_error
from crawler.sitecrawl import extra_passes


@pytest.mark.parametrize("message,outcome", [
    ("Page.goto: net::ERR_NAME_NOT_RESOLVED at https://x.de/", "dns_error"),
    ("Page.goto: net::ERR_TUNNEL_CONNECTION_FAILED at https://x.de/", "connect_error"),
    ("Page.goto: net::ERR_CONNECTION_REFUSED at http://x.de/", "connect_error"),
    ("Page.goto: net::ERR_TIMED_OUT at https://x.de/", "timeout"),
    ("Page.goto: net::ERR_SSL_PROTOCOL_ERROR at https://x.de/", "tls_error"),
    ("Page.goto: net::ERR_CERT_AUTHORITY_INVALID at https://x.de/", "tls_error"),
    ("Page.goto: net::ERR_TOO_MANY_REDIRECTS at https://x.de/", "redirect_loop"),
    ("Page.goto: net::ERR_ABORTED at https://x.de/file.pdf", "not_html"),
    ("Page.goto: Target page, context or browser has been closed", "browser_error"),
    ("something nobody has seen", "browser_error"),
])
def test_classify_browser_error(message, outcome):
    c = classify_browser_error(message)
    assert c.outcome == outcome
    assert c.outcome in OUTCOMES


def test_navigation_timeout_is_timeout():
    assert classify_browser_error("Page.goto: Timeout 20000ms exceeded.", "TimeoutError").outcome == "timeout"


def test_new_outcomes_listed():
    assert {"browser_error", "page_budget_exceeded"} <= set(OUTCOMES)


def test_extra_passes_order_and_filter():
    assert extra_passes(["reject", "accept"], ["gpc"]) == (Pass("accept"), Pass("reject"), Pass("none", "gpc"))
    assert extra_passes([], []) == ()


def _bundle() -> AutoconsentBundle:
    return AutoconsentBundle("/* script */", {"v": 1, "s": [], "r": []}, {"autoconsent": []}, "test")


def test_consent_tracker_verdicts():
    none = ConsentTracker("none", None)
    assert (none.cmp, none.outcome) == ("unknown", "not_attempted")
    missing = ConsentTracker("accept", None)
    assert missing.outcome == "no_cmp_tool"
    t = ConsentTracker("reject", _bundle())
    assert t.cmp == "unknown"  # autoconsent never reported
    t.lifecycle = "started"  # detecting: on a quiet page without a CMP it can stay there
    assert (t.cmp, t.outcome) == ("none", "no_banner")
    t.cmps.append("acris")
    t.popup = "acris"
    assert (t.cmp, t.outcome) == ("acris", "pending")
    t.result = True
    assert t.outcome == "clicked"
    t.result = False
    assert t.outcome == "click_failed"


def test_rules_per_state():
    b = _bundle()
    assert "compact" in b.rules("none") and "compact" in b.rules("reject")
    assert b.rules("accept") == {"autoconsent": []}  # opt-in steps live only in the full rule set
    assert b.config("none")["autoAction"] is None
    assert b.config("accept")["autoAction"] == "optIn"
    assert b.config("reject")["autoAction"] == "optOut"
    assert b.config("reject")["enableCosmeticRules"] is False


def test_visit_rows():
    v = Visit(url="https://shop.de/", pass_=Pass("reject", "none"), final_url="https://shop.de/", status=200)
    v.requests = [
        RequestRecord("https://shop.de/", "document", "https://shop.de/", navigation=True, status=200),
        RequestRecord("https://cdn.tracker.com/t.js", "script", "https://shop.de/", initiator="https://shop.de/",
                      status=200, remote_ip="127.0.0.1"),
        RequestRecord("data:image/png;base64,AAAA", "image", "https://shop.de/"),
        RequestRecord("https://px.tracker.com/p.gif", "image", "https://shop.de/", failure="net::ERR_FAILED"),
    ]
    v.cookies = [
        {"name": "_ga", "value": "GA1.2.3", "domain": ".shop.de", "path": "/", "expires": 1900000000.5,
         "httpOnly": False, "secure": False, "sameSite": "Lax"},
        {"name": "uid", "value": "x" * 40, "domain": "px.tracker.com", "path": "/", "expires": -1,
         "httpOnly": True, "secure": True, "sameSite": "None"},
    ]
    v.storage = [("https://shop.de", "local", "k", 3), ("https://shop.de", "local", "k", 3),
                 ("https://embed.tracker.com", "session", "sid", 10)]
    rows = visit_rows(v, run_id="r1", input_domain="shop.de", page_url="https://shop.de/", site_host="www.shop.de")
    res = rows["resources"]
    assert [r["url"] for r in res] == ["https://shop.de/", "https://cdn.tracker.com/t.js", "https://px.tracker.com/p.gif"]
    assert {r["method"] for r in res} == {"browser"} and {r["consent_state"] for r in res} == {"reject"}
    assert res[2]["failure"] == "net::ERR_FAILED" and res[1]["element"] == "script"
    ga, uid = rows["cookies"]
    assert (ga["third_party"], ga["session"], ga["host_only"], ga["value_length"]) == (False, False, False, 7)
    assert ga["expires"].tzinfo == timezone.utc
    assert (uid["third_party"], uid["session"], uid["expires"], uid["value_length"]) == (True, True, None, 40)
    assert [(s["origin"], s["key"], s["third_party"]) for s in rows["storage"]] == [
        ("https://shop.de", "k", False), ("https://embed.tracker.com", "sid", True)]
    for table, table_rows in rows.items():  # rows fit the crawl contract
        pa.Table.from_pylist(table_rows, schema=SCHEMAS[table])
    assert page_extras(v)["consent_state"] == "reject"


def _write_part(run_dir, table, writer="w1", n=1):
    d = run_dir / table
    d.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([], schema=SCHEMAS[table]), d / f"part-{writer}-{n:05d}.parquet")


def test_ledger_old_run_without_storage_table(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    (old / ".input.json").write_text(json.dumps({"accepted": 1}))  # written before runs named their tables
    assert run_tables(old) == LEGACY_TABLES
    for t in LEGACY_TABLES:
        _write_part(old, t)
    assert committed(old) == {("w1", 1)}

    new = tmp_path / "new"
    new.mkdir()
    (new / ".input.json").write_text(json.dumps({"tables": list(TABLES)}))
    for t in TABLES:
        if t != "storage":
            _write_part(new, t)
    assert committed(new) == set()  # the storage part is missing: not committed
    _write_part(new, "storage")
    assert committed(new) == {("w1", 1)}


def _tarball(tmp_path, members: dict[str, bytes]):
    path = tmp_path / "pkg-1.0.0.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_refdata_extra_files(tmp_path):
    main, extra = b"main", b"extra"
    tgz = _tarball(tmp_path, {"package/a.js": main, "package/b.json": extra})

    def entry(extra_sha):
        return rd.LockEntry(name="pkg", version="1.0.0", tarball=tgz.name, file="package/a.js",
                            sha256=rd.sha256_file(tgz), licence="MPL-2.0", data_date="2026-11-29",
                            file_sha256=hashlib.sha256(main).hexdigest(),
                            extra_files={"package/b.json": extra_sha})

    cache = tmp_path / "cache"
    good = entry(hashlib.sha256(extra).hexdigest())
    assert rd.extract(good, tgz, cache).read_bytes() == main
    assert rd.cached_extra(good, "package/b.json", cache).read_bytes() == extra
    bad = entry("0" * 64)
    rd.cached_extra(bad, "package/b.json", cache).unlink()
    with pytest.raises(rd.RefdataError, match="b.json"):
        rd.extract(bad, tgz, cache)


def test_warehouse_loads_a_run_from_before_browser_mode(tmp_path):
    """A run written before the storage table and the signal/browser columns existed still builds; staging
    reads its rows as static / none / none, and the consent marts are empty for it."""
    from pipelines.warehouse.build import build
    from tests.pipelines.warehouse_fixture import tiny_rows, write_run_rows

    run_id = "20261101T120000Z-01d01d"
    run_dir = write_run_rows(tmp_path, run_id, tiny_rows(run_id))
    new_cols = {"signal", "cmp", "consent_result", "load_state", "popups", "resource_type", "frame_url", "initiator",
                "redirected_from", "status", "remote_ip", "failure", "third_party"}
    for table in TABLES:
        for part in (run_dir / table).glob("*.parquet"):
            if table not in LEGACY_TABLES:
                part.unlink()
                continue
            t = pq.read_table(part)
            keep = [c for c in t.column_names if c not in new_cols and not (table == "signatures" and c == "consent_state")]
            pq.write_table(t.select(keep), part)
    (run_dir / "storage").rmdir()
    build(tmp_path)
    import duckdb

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    methods = con.execute("SELECT DISTINCT method, consent_state, signal FROM stg_resources").fetchall()
    assert methods == [("static", "none", "none")]
    assert con.execute("SELECT count(*) FROM site_services").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM site_service_consent").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM stg_storage").fetchone()[0] == 0
    con.close()
