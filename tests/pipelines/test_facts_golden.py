"""The model against the golden facts table (tests/data/facts_golden.yml), written from public sources before
the model was run on these services: consent verdict, band range, recipient of the data with its country and
DPF status, EEA contracting entity and role, at the service grain on the table's day."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from pipelines.catalog import vocab
from pipelines.risk.model import assess_service, load_context

GOLDEN = yaml.safe_load((Path(__file__).resolve().parents[1] / "data" / "facts_golden.yml").read_text("utf-8"))
BANDS = ("low", "medium", "high", "very_high")
SITE_OPERATOR = "the site operator"


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("(", " ").replace(")", " ").split())


def service_for(catalog, vendor_name: str):
    """Map a vendor's product name to a catalog service through names and aliases (never through ids): the
    service whose name or an alias is the vendor name, or is contained in it (the longest such wins)."""
    want = _norm(vendor_name)
    best, best_len = None, 0
    for s in catalog.services:
        for name in (s.name, *s.aliases):
            n = _norm(name)
            if n == want:
                return s
            if n and (n in want or want in n) and len(n) > best_len:
                best, best_len = s, len(n)
    return best


@pytest.fixture(scope="module")
def ctx():
    return load_context(as_of=date.fromisoformat(GOLDEN["day"]))


def test_table_has_at_least_40_rows_each_with_public_sources():
    rows = GOLDEN["rows"]
    assert len(rows) >= 40
    for row in rows:
        assert row["sources"] and all(vocab.is_public_url(u) for u in row["sources"]), row["service"]


@pytest.mark.parametrize("row", GOLDEN["rows"], ids=[r["service"] for r in GOLDEN["rows"]])
def test_model_matches_golden_row(row, ctx):
    service = service_for(ctx.catalog, row["service"])
    assert service is not None, f"no catalog service named like {row['service']!r}"
    a = assess_service(service.id, ctx)
    got = a.as_dict()
    problems = []
    if a.consent_required not in row["consent"]:
        problems.append(f"consent {a.consent_required} not in {row['consent']}")
    lo, hi = (BANDS.index(b) for b in row["band"])
    if not lo <= BANDS.index(a.band) <= hi:
        problems.append(f"band {a.band} ({a.risk_score}) outside {row['band']}")
    recipient = got["recipient"]
    if row["recipient"] == SITE_OPERATOR:
        if recipient is not None:
            problems.append(f"recipient {recipient['name']} for a self-hosted service")
    else:
        countries = row["recipient_country"] if isinstance(row["recipient_country"], list) else [row["recipient_country"]]
        if recipient is None or _norm(recipient["name"]) != _norm(row["recipient"]):
            problems.append(f"recipient {recipient and recipient['name']!r} != {row['recipient']!r}")
        elif recipient["country"] not in countries:
            problems.append(f"recipient country {recipient['country']} not in {countries}")
        dpf = row["dpf"] if isinstance(row["dpf"], list) else [row["dpf"]]
        if recipient is not None and recipient["dpf_status"] not in dpf:
            problems.append(f"recipient DPF {recipient['dpf_status']} not in {dpf}")
    if "contracting" in row:
        contracting = got["contracting"]
        if contracting is None or _norm(contracting["name"]) != _norm(row["contracting"]):
            problems.append(f"contracting {contracting and contracting['name']!r} != {row['contracting']!r}")
    roles = row["role"] if isinstance(row["role"], list) else [row["role"]]
    role, _entry = service.role_on(GOLDEN["day"])
    if role not in roles:
        problems.append(f"role {role} not in {roles}")
    assert not problems, f"{row['service']} ({service.id}): " + "; ".join(problems)
