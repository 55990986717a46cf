"""The scan's evidence pack: for each finding of the report (a service, a third-party host, a cloaked subdomain)
what the crawl saw — the requests (URL, time, initiator, status, remote IP), the cookies (name, domain, expiry,
when seen; never a value), the DNS answer (CNAME chain, addresses) and, in browser mode, the HAR file of each
visit — read from the scan's own warehouse and written to ``evidence/`` next to the report.

``pipelines.scan.report.evidence_path`` is the one place a finding's file name is made: the report links it,
the writer here writes it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from common.runfolder import write_text_atomic
from crawler.browser.har import har_name
from crawler.browser.visit import Pass
from pipelines.scan.report import EVIDENCE_DIR, evidence_path, plain, sql_rows

HAR_DIR = "har"  # evidence/har/: one HAR file per browser visit (written by the crawl)
MAX_REQUESTS = 200  # per finding: a page can request one host thousands of times


def _when(row: dict[str, Any]) -> dict[str, Any]:
    """A request's time: the browser's own request time, else the fetch time of the page that referenced it."""
    if row.get("requested_at"):
        return {"time": row["requested_at"], "time_kind": "requested"}
    return {"time": row.get("page_fetched_at"), "time_kind": "page_fetched"}


def _request(row: dict[str, Any]) -> dict[str, Any]:
    initiator = row.get("initiator")
    if not initiator and row.get("method") == "static":
        initiator = f"<{row.get('element') or '?'} {row.get('attribute') or ''}>".replace(" >", ">")
    return {"url": row["url"], "page_url": row["page_url"], **_when(row), "initiator": initiator,
            "status": row.get("status"), "remote_ip": row.get("remote_ip"), "failure": row.get("failure"),
            "gated": row.get("gated"), "method": row["method"], "consent_state": row["consent_state"],
            "signal": row["signal"]}


def _cookie(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in ("name", "domain", "path", "expires", "max_age", "session", "secure", "http_only",
                                    "same_site", "third_party", "page_url", "seen_at", "method", "consent_state",
                                    "signal")}


def _capped(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    return items[:MAX_REQUESTS], len(items)


def evidence_data(con, data: dict[str, Any], har_dir: Path | None = None) -> dict[str, Any]:
    """The evidence of every finding in the report data ``data`` (``pipelines.scan.report.scan_data``), from the
    scan's warehouse ``con``; ``har_dir`` is where the crawl wrote the visits' HAR files (browser mode).
    Returns ``{"services": {id: ev}, "hosts": {host: ev}, "visits": [...]}``; pure read."""
    params = {"run_id": data["run_id"], "site_input": data["domain"]}
    pack: dict[str, Any] = {"run_id": data["run_id"], "domain": data["domain"], "mode": data.get("mode"),
                            "services": {}, "hosts": {}, "visits": []}
    if not data.get("reachable"):
        return pack
    visits = []
    for v in sql_rows(con, "evidence_visits", params):
        name = har_name(v["url"], Pass(v["consent_state"], v["signal"]))
        present = har_dir is not None and (har_dir / name).is_file()
        visits.append(plain({**v, "har": f"{EVIDENCE_DIR}/{HAR_DIR}/{name}" if present else None}))
    pack["visits"] = visits
    by_service: dict[str, dict[str, list]] = {}
    for kind, sql in (("detections", "evidence_detections"), ("requests", "evidence_requests"),
                      ("cookies", "evidence_cookies")):
        for row in sql_rows(con, sql, params):
            by_service.setdefault(row["service_id"], {}).setdefault(kind, []).append(plain(row))
    cloaked = {c["host"]: c for c in data.get("cloaking") or []}
    other_hosts = [h["host"] for h in data.get("third_party_hosts") or []]
    hosts_needed = sorted({r.get("host") for ev in by_service.values() for r in ev.get("detections", [])
                           if r.get("host")} | set(other_hosts) | set(cloaked))
    dns = {r["host"]: plain(r) for r in sql_rows(con, "evidence_dns", {"run_id": params["run_id"],
                                                                    "hosts": hosts_needed})}
    for s in data.get("services") or []:
        ev = by_service.get(s["service_id"], {})
        detections = ev.get("detections", [])
        hosts = sorted({d["host"] for d in detections if d.get("host")})
        requests, total = _capped([_request(r) for r in ev.get("requests", [])])
        pack["services"][s["service_id"]] = {
            "kind": "service", "key": s["service_id"], "name": s.get("name"), "detections": detections,
            "json_name": evidence_path("services", s["service_id"], "json").rsplit("/", 1)[1],
            "requests": requests, "requests_total": total, "cookies": [_cookie(c) for c in ev.get("cookies", [])],
            "dns": [dns[h] for h in hosts if h in dns],
            "visits": [v for v in visits if s["service_id"] in (v.get("services") or [])], "cloaking": None,
        }
    host_rows: dict[str, list] = {}
    for row in sql_rows(con, "evidence_host_requests", {**params, "hosts": sorted(set(other_hosts) | set(cloaked))}):
        host_rows.setdefault(row["host"], []).append(_request(plain(row)))
    for host in sorted(set(other_hosts) | set(cloaked)):
        requests, total = _capped(host_rows.get(host, []))
        pack["hosts"][host] = {"kind": "host", "key": host, "name": host, "requests": requests,
                               "json_name": evidence_path("hosts", host, "json").rsplit("/", 1)[1],
                               "requests_total": total, "cookies": [], "detections": [],
                               "dns": [dns[host]] if host in dns else [],
                               "cloaking": plain(cloaked[host]) if host in cloaked else None, "visits": []}
    return pack


def write_evidence(pack: dict[str, Any], scan_dir: Path, render_page) -> list[Path]:
    """Write ``evidence/<kind>/<key>.json`` and ``.html`` (``render_page(finding) -> str``) for every finding,
    and ``evidence/index.json`` (findings, visits and their HAR files). Returns the files written."""
    written = []
    for kind, findings in (("services", pack["services"]), ("hosts", pack["hosts"])):
        for key, ev in findings.items():
            for ext, text in (("json", json.dumps(ev, ensure_ascii=False, indent=2, default=str) + "\n"),
                              ("html", render_page(ev))):
                path = scan_dir / evidence_path(kind, key, ext)
                path.parent.mkdir(parents=True, exist_ok=True)
                written.append(write_text_atomic(path, text))
    index = {"run_id": pack["run_id"], "domain": pack["domain"], "mode": pack["mode"], "visits": pack["visits"],
             "findings": {kind: {key: evidence_path(kind, key, "json") for key in pack[kind]}
                          for kind in ("services", "hosts")}}
    (scan_dir / EVIDENCE_DIR).mkdir(parents=True, exist_ok=True)
    written.append(write_text_atomic(scan_dir / EVIDENCE_DIR / "index.json",
                                     json.dumps(index, ensure_ascii=False, indent=2, default=str) + "\n"))
    return written
