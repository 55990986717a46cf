"""The change list of the knowledge base (``servicerisk kb --changes``): what moved since the previous run of the
same panel, and the verdicts that moved when the catalog version moved; a pure read of the warehouse."""

from __future__ import annotations

from typing import Any

from pipelines.catalog.load import Catalog
from pipelines.publish.sections import observed_cookies, row, rows, run_info


def assessment_changes(con, run_id: str | None) -> list[dict[str, Any]]:
    """Verdicts, bands or scores that moved because the catalog version moved (``risk_changes_all``): every run
    re-assessed with the catalog version the newest run ``run_id`` is assessed with, old runs included (a rebuild
    alone never moves a stored verdict)."""
    version = row(con, "run_catalog_version", run_id=run_id) if run_id else None
    if not version:
        return []
    return [{"service_id": r["service_id"], "kind": "assessment", "run_id": r["run_id"],
             "versions": [r["prev_version"], r["catalog_version"]],
             "from": {"consent_required": r["prev_consent"], "band": r["prev_band"], "score": r["prev_score"]},
             "to": {"consent_required": r["consent_required"], "band": r["band"], "score": r["risk_score"]}}
            for r in rows(con, "risk_changes", catalog_version=version["catalog_version"])]


def changes_data(con, catalog: Catalog, run: dict | None = None) -> dict[str, Any]:
    """What changed since the previous run of the same panel: share moved beyond its interval (movement new/gone/up/down),
    new server countries, DPF status changes (all from ``service_trends``), the share of privacy policies naming
    a service moved beyond its interval (``service_policy``) and cookies seen for a service in this run but not in
    the previous one; plus the verdicts that moved when the catalog version moved (:func:`assessment_changes`,
    any run). Without a previous run only the last kind can appear."""
    run = run or run_info(con)
    cur_c = observed_cookies(con, catalog, run["run_id"])
    prev_c = observed_cookies(con, catalog, run["prev_run_id"])
    changes = []
    for t in rows(con, "service_trends"):
        sid = t["service_id"]
        if t["movement"] in ("new", "gone", "up", "down"):
            changes.append({"service_id": sid, "kind": "share", "movement": t["movement"],
                            "from": t["prev_share"], "to": t["share"]})
        if t["new_server_countries"]:
            changes.append({"service_id": sid, "kind": "server_country", "countries": list(t["new_server_countries"])})
        if t["dpf_changed"]:
            changes.append({"service_id": sid, "kind": "dpf", "from": t["prev_dpf_status"], "to": t["dpf_status"]})
    if run["prev_run_id"]:
        for t in rows(con, "policy_moves"):
            changes.append({"service_id": t["service_id"], "kind": "policy_named", "movement": t["named_movement"],
                            "from": t["prev_share_named"], "to": t["share_named"]})
    changes += assessment_changes(con, run["run_id"])
    if run["prev_run_id"]:
        for sid, names in sorted(cur_c.items()):
            new = sorted(set(names) - set(prev_c.get(sid, [])))
            if new:
                changes.append({"service_id": sid, "kind": "cookies", "cookies": new})
    return {"run_id": run["run_id"], "prev_run_id": run["prev_run_id"], "panel": run["panel"], "changes": changes}
