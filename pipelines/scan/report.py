"""Page data of a one-site scan: a pure read of the scan's own warehouse plus the catalog, as one plain dict.

The dict is what ``report.json`` holds and what the HTML and terminal renderers format; nothing here writes.
Missing measurements stay ``None``/empty (rendered "unknown"), never guessed.
"""

from __future__ import annotations

import re
from typing import Any

from pipelines.catalog.coverage import COMPANY_ONLY, NO_POLICY, NOT_MENTIONED
from pipelines.catalog.load import Catalog
from pipelines.policy.render import block_path
from pipelines.publish.texts import LANGS
from pipelines.risk.model import DISCLAIMER
from pipelines.warehouse import sqlfiles

REPORT_VERSION = 2  # 2: evidence links per finding, policy-block links, the before-consent summary
#: DNS outcome classes that are answers (the resolver works; the name may not exist); the others say it does not
DNS_ANSWERS = frozenset({"ok", "nxdomain", "no_answer", "loop"})
EVIDENCE_DIR = "evidence"
POLICY_DIR = "policy"
# a site's policy that does not name the service (or no policy found): the scan drafts a block for it
NEEDS_BLOCK = (NOT_MENTIONED, COMPANY_ONLY, NO_POLICY)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def evidence_path(kind: str, key: str, ext: str = "html") -> str:
    """The report-relative path of a finding's evidence (``evidence/services/<id>.html``,
    ``evidence/hosts/<host>.json``): the report links it, ``pipelines.scan.evidence`` writes it."""
    return f"{EVIDENCE_DIR}/{kind}/{_UNSAFE.sub('_', key)[:120] or '_'}.{ext}"


def _evidence(kind: str, key: str) -> dict[str, str]:
    return {"html": evidence_path(kind, key, "html"), "json": evidence_path(kind, key, "json")}


def before_consent(services: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The one definition behind the browser-mode headline and table: ``loads`` = services seen loading before any
    consent (the table's "loads before consent: yes" rows); ``needs_consent`` = those of them the rubric says need
    consent (yes/likely), i.e. the §25 TDDDG findings (a consent tool or self-hosted fonts may load first)."""
    loads = [s["service_id"] for s in services if s.get("fires_before_consent") is True]
    needs = [s["service_id"] for s in services
             if s.get("fires_before_consent") is True and s.get("consent_required") in ("yes", "likely")]
    return {"loads": loads, "needs_consent": needs}


def sql_rows(con, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of ``pipelines/scan/sql/<name>.sql`` with those of ``params`` it names bound."""
    return sqlfiles.sql_rows(con, "pipelines.scan", name, params)


def plain(value: Any) -> Any:
    """JSON-ready values (DuckDB gives lists, dates, decimals)."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
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
    sites = sql_rows(con, "site", params)
    site = sites[0] if sites else None
    data: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "domain": site_input,
        "run_id": run_id,
        "provenance": provenance,
        "disclaimer": dict(DISCLAIMER),
        "reachable": bool(site and site["outcome"] == "ok"),
        "site": plain(site),
        "pages": plain(sql_rows(con, "pages", params)),
        "services": [],
        "third_party_hosts": [],
        "cloaking": [],
        "policy": {"pages": [], "coverage_counts": {}},
        "mode": provenance.get("mode", "static"),
        "consent_passes": [],
        "cmp": None,
        "dns": _dns(con, params),
    }
    if site is None or site["outcome"] != "ok":
        detail = sql_rows(con, "detail", params)
        data["failure"] = {
            "outcome": site["outcome"] if site else "not_crawled",
            "error_class": site["error_class"] if site else None,
            "detail": detail[0]["detail"] if detail else None,
            "attempts": plain(detail[0]["attempts"]) if detail else [],
        }
        return data

    hosts_by_service: dict[str, list[dict[str, Any]]] = {}
    for h in sql_rows(con, "service_hosts", params):
        hosts_by_service.setdefault(h["service_id"], []).append(plain(h))
    services = sql_rows(con, "services", params)
    companies = {c["company_id"]: c for c in sql_rows(con, "run_companies", {"run_id": params["run_id"]})}
    policies = sql_rows(con, "policy_texts", params)
    coverage = {c["service_id"]: c for c in sql_rows(con, "policy_coverage", params)}
    counts: dict[str, int] = {}
    for svc in services:
        hosts = hosts_by_service.get(svc["service_id"], [])
        entry = plain(svc)
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
                           "excerpt": cov.get("excerpt"), "blocks": None}
        if cov["status"] in NEEDS_BLOCK:  # a draft block for the site's policy, written beside the report
            entry["policy"]["blocks"] = {lang: f"{POLICY_DIR}/{block_path(lang, svc['service_id'], 'html')}"
                                         for lang in LANGS}
        entry["evidence"] = _evidence("services", svc["service_id"])
        counts[cov["status"]] = counts.get(cov["status"], 0) + 1
        data["services"].append(entry)
    data["consent_passes"] = plain(sql_rows(con, "consent", params))
    data["cmp"] = next((p["cmp"] for p in data["consent_passes"] if p["consent_state"] == "none"
                        and p["signal"] == "none"), None)
    data["third_party_hosts"] = [{**h, "evidence": _evidence("hosts", h["host"])}
                                 for h in plain(sql_rows(con, "third_party_hosts", params))]
    data["cloaking"] = [{**c, "evidence": _evidence("hosts", c["host"])}
                        for c in plain(sql_rows(con, "cloaking", {**params, "site": site["site"]}))]
    if data["mode"] == "browser":
        data["before_consent"] = before_consent(data["services"])
    data["policy"] = {
        "pages": plain(policies),
        "coverage_counts": counts,
        "found": bool(policies),
    }
    return data


def _dns(con, params: dict[str, Any]) -> dict[str, Any]:
    """How the scan's DNS lookups ended; ``no_resolver``: every lookup went unanswered (timeouts, SERVFAIL,
    REFUSED), so server locations are unknown for want of a working resolver, not for the hosts' sake."""
    outcomes = {r["dns_outcome"]: r["hosts"] for r in sql_rows(con, "dns", params)}
    total = sum(outcomes.values())
    answered = sum(n for o, n in outcomes.items() if o in DNS_ANSWERS)
    return {"hosts": total, "outcomes": outcomes, "no_resolver": total > 0 and answered == 0}


def _company(companies: dict[str, dict], company_id: str) -> dict[str, Any]:
    c = companies.get(company_id)
    if c is None:
        return {"id": company_id, "name": company_id, "country": "unknown"}
    return {"id": c["company_id"], "name": c["name"], "country": c["country"], "city": c.get("city"),
            "dpf_status": c["dpf_status"], "dpf_checked_on": c["dpf_checked_on"]}
