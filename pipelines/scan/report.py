"""Page data of a one-site scan: a pure read of the scan's own warehouse plus the catalog, as one plain dict.

The dict is what ``report.json`` holds and what the HTML and terminal renderers format; nothing here writes.
Missing measurements stay ``None``/empty (rendered "unknown"), never guessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.catalog.coverage import NO_POLICY
from pipelines.catalog.load import Catalog
from pipelines.risk.model import DISCLAIMER
from pipelines.warehouse.connect import fetch_dicts

SQL_DIR = Path(__file__).resolve().parent / "sql"
REPORT_VERSION = 1


def _sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def _rows(con, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of ``sql/<name>.sql`` with those of ``params`` it names bound (DuckDB refuses unused ones)."""
    sql = _sql(name)
    return fetch_dicts(con, sql, {k: v for k, v in params.items() if f"${k}" in sql})


def _plain(value: Any) -> Any:
    """JSON-ready values (DuckDB gives lists, dates, decimals)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _countries(hosts: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for h in hosts:
        for c in h.get("countries") or []:
            if c and c != "unknown":
                seen[c] = None
    return sorted(seen)


def scan_data(con, catalog: Catalog, *, run_id: str, site_input: str, provenance: dict[str, Any]) -> dict[str, Any]:
    """Everything the scan report shows for ``site_input`` in scan run ``run_id``.

    ``provenance`` carries the run's and the enrichment's manifest facts (dates, reference-data versions).
    """
    params = {"run_id": run_id, "site_input": site_input}
    sites = _rows(con, "site", params)
    site = sites[0] if sites else None
    data: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "domain": site_input,
        "run_id": run_id,
        "provenance": provenance,
        "disclaimer": dict(DISCLAIMER),
        "reachable": bool(site and site["outcome"] == "ok"),
        "site": _plain(site),
        "pages": _plain(_rows(con, "pages", params)),
        "services": [],
        "third_party_hosts": [],
        "cloaking": [],
        "policy": {"pages": [], "coverage_counts": {}},
        "mode": provenance.get("mode", "static"),
        "consent_passes": [],
        "cmp": None,
    }
    if site is None or site["outcome"] != "ok":
        detail = _rows(con, "detail", params)
        data["failure"] = {
            "outcome": site["outcome"] if site else "not_crawled",
            "error_class": site["error_class"] if site else None,
            "detail": detail[0]["detail"] if detail else None,
            "attempts": _plain(detail[0]["attempts"]) if detail else [],
        }
        return data

    hosts_by_service: dict[str, list[dict[str, Any]]] = {}
    for h in _rows(con, "service_hosts", params):
        hosts_by_service.setdefault(h["service_id"], []).append(_plain(h))
    services = _rows(con, "services", params)
    companies = {c["company_id"]: c for c in _rows(con, "run_companies", {"run_id": params["run_id"]})}
    policies = _rows(con, "policy_texts", params)
    coverage = {c["service_id"]: c for c in _rows(con, "policy_coverage", params)}
    counts: dict[str, int] = {}
    for svc in services:
        hosts = hosts_by_service.get(svc["service_id"], [])
        entry = _plain(svc)
        entry["hosts"] = hosts
        entry["server_countries"] = _countries(hosts)
        entry["location_confidence"] = sorted({h["location_confidence"] for h in hosts if h["location_confidence"]})
        chain = [_company(companies, cid) for cid in (svc["parent_chain"] or [])]
        entry["parents"] = chain[1:]
        # the recipient of the data (its jurisdiction and DPF status are scored; the EEA contracting entity is
        # shown beside it): the same row the risk tables hold, so the report and the warehouse agree
        entry["recipient"] = ({"id": svc["recipient_id"], "name": svc["recipient_name"],
                               "country": svc["recipient_country"], "dpf_status": svc["recipient_dpf_status"],
                               "dpf_checked_on": companies.get(svc["recipient_id"], {}).get("dpf_checked_on")}
                              if svc.get("recipient_id") else None)
        entry["us_entity"] = entry["recipient"] if (entry["recipient"] or {}).get("country") == "US" else None
        cov = coverage.get(svc["service_id"]) or {"status": NO_POLICY}
        entry["policy"] = {"status": cov["status"], "term": cov.get("term"), "page_url": cov.get("policy_url"),
                           "excerpt": cov.get("excerpt")}
        counts[cov["status"]] = counts.get(cov["status"], 0) + 1
        data["services"].append(entry)
    data["consent_passes"] = _plain(_rows(con, "consent", params))
    data["cmp"] = next((p["cmp"] for p in data["consent_passes"] if p["consent_state"] == "none"
                        and p["signal"] == "none"), None)
    data["third_party_hosts"] = _plain(_rows(con, "third_party_hosts", params))
    data["cloaking"] = _plain(_rows(con, "cloaking", {**params, "site": site["site"]}))
    data["policy"] = {
        "pages": _plain(policies),
        "coverage_counts": counts,
        "found": bool(policies),
    }
    return data


def _company(companies: dict[str, dict], company_id: str) -> dict[str, Any]:
    c = companies.get(company_id)
    if c is None:
        return {"id": company_id, "name": company_id, "country": "unknown"}
    return {"id": c["company_id"], "name": c["name"], "country": c["country"], "city": c.get("city"),
            "dpf_status": c["dpf_status"], "dpf_checked_on": c["dpf_checked_on"]}
