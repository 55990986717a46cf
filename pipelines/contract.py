"""The file contract of what servicerisk publishes (``kb/json/<id>.json``, a scan's ``report.json``, the KB's
Markdown front matter): a ``schema_version``, "unknown" spelled one way for every tri-state, and the JSON Schemas
in ``pipelines/schemas/`` that describe the files (tests validate every demo output against them).

Page data keeps ``None`` for "not known" (templates render it in the reader's language); only the files written
for other programs spell it ``"unknown"``, so a consumer never reads ``null`` as false.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

SCHEMA_VERSION = 2  # kb/json/<id>.json; 2: consent.conditions, consent.checks, factors[].items, sources[].dataset
# a scan's report.json; 2: evidence links per finding, policy-block links per service, the before-consent summary
SCAN_REPORT_SCHEMA_VERSION = 2
UNKNOWN = "unknown"

# tri-states (true / false / unknown, or a vocabulary with "unknown") by path; "[]" walks a list, "*" every key
KB_SERVICE_TRI_STATES = ("company.us_jurisdiction", "company.dpf.status", "data.tracking.*")
SCAN_REPORT_TRI_STATES = (
    "cmp", "services[].us_jurisdiction", "services[].company_us_jurisdiction", "services[].cmp",
    "services[].fires_before_consent", "services[].fires_after_accept", "services[].fires_after_reject",
    "services[].fires_with_gpc", "services[].static_seen", "services[].browser_only",
)
# the Markdown pages' front matter (service and company pages)
FRONT_MATTER_TRI_STATES = ("consent_required", "band", "us_jurisdiction", "dpf_status")
SCHEMA_FILES = {"kb-service": "kb-service.schema.json", "scan-report": "scan-report.schema.json"}


def spell_unknown(data: Any, paths: tuple[str, ...]) -> Any:
    """A copy of ``data`` with ``None`` at each tri-state path replaced by ``"unknown"`` (absent keys stay absent)."""
    data = json.loads(json.dumps(data, default=str))  # a deep, JSON-plain copy (dates become ISO strings)
    for path in paths:
        _fill(data, path.split("."))
    return data


def _fill(node: Any, parts: list[str]) -> None:
    if not parts or node is None:
        return
    head, rest = parts[0], parts[1:]
    if head.endswith("[]"):
        items = node.get(head[:-2]) if isinstance(node, dict) else None
        for item in items or []:
            _fill(item, rest)
        return
    if not isinstance(node, dict):
        return
    keys = list(node) if head == "*" else [head] if head in node else []
    for key in keys:
        if rest:
            _fill(node[key], rest)
        elif node[key] is None:
            node[key] = UNKNOWN


def kb_service_json(page: dict[str, Any]) -> dict[str, Any]:
    """A service's ``kb/json`` document: the page data with ``schema_version`` and tri-states spelled out."""
    return {"schema_version": SCHEMA_VERSION, **spell_unknown(page, KB_SERVICE_TRI_STATES)}


def scan_report_json(data: dict[str, Any]) -> dict[str, Any]:
    """A scan's ``report.json`` document."""
    return {"schema_version": SCAN_REPORT_SCHEMA_VERSION, **spell_unknown(data, SCAN_REPORT_TRI_STATES)}


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema ``name`` (``kb-service`` or ``scan-report``)."""
    text = resources.files("pipelines.schemas").joinpath(SCHEMA_FILES[name]).read_text(encoding="utf-8")
    return json.loads(text)
