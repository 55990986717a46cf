"""A tiny two-run warehouse for the knowledge-base tests, with hostile strings in crawled fields (helper module;
named test_publish_* so it sits with the tests it serves).

Runs: ``20261101T120000Z-aaaaaa`` (the fixture's month-2 rows: no Hotjar) then ``20261201T120000Z-bbbbbb``
(month-1 rows: Hotjar on blog-b.de, and cookies whose names, pages and hosts carry HTML/script payloads).
"""

from __future__ import annotations

from pathlib import Path

from tests.pipelines.warehouse_fixture import tiny_rows, write_run_rows

PREV_RUN = "20261101T120000Z-aaaaaa"
RUN = "20261201T120000Z-bbbbbb"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
HOSTILE_COOKIES = [f"_hjSession_{SCRIPT}", f"_hjSessionUser_{IMG}"]


def _cookie(run_id: str, name: str, page: str = "https://blog-b.de/") -> dict:
    return {"run_id": run_id, "input_domain": "blog-b.de", "page_url": page, "name": name, "value_length": 8,
            "domain": "blog-b.de", "host_only": True, "path": "/", "expires": None, "max_age": None,
            "session": True, "secure": True, "http_only": False, "same_site": "lax", "set_by_host": "blog-b.de",
            "method": "static", "consent_state": "none"}


def hostile_rows(run_id: str) -> dict[str, list[dict]]:
    rows = tiny_rows(run_id, month=1)
    page = f"https://blog-b.de/?q={IMG}{SCRIPT}"
    rows["cookies"] = [_cookie(run_id, n, page) for n in HOSTILE_COOKIES] + [_cookie(run_id, "_hjid")]
    rows["resources"].append({**rows["resources"][-1], "url": f"https://static.hotjar.com/c/x.js?{SCRIPT}{IMG}",
                              "page_url": page})
    return rows


def _write(out: Path, run_id: str, rows: dict) -> None:
    write_run_rows(out, run_id, rows, fixture="publish")


def write_publish_runs(out: Path) -> Path:
    """Write both runs under ``out`` and build the warehouse; returns the warehouse path."""
    from pipelines.warehouse.build import build

    _write(out, PREV_RUN, tiny_rows(PREV_RUN, month=2))
    _write(out, RUN, hostile_rows(RUN))
    build(out)
    return Path(out) / "warehouse.duckdb"


def test_hostile_rows_carry_payloads():
    rows = hostile_rows(RUN)
    assert [c["name"] for c in rows["cookies"]][:2] == HOSTILE_COOKIES
    assert any(SCRIPT in r["url"] for r in rows["resources"])
