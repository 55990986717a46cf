"""The risk & consent model: from what a crawl saw of a service (per site, or across sites) plus the catalog,
the DPF snapshot and the country tables, compute ``consent_required`` (yes / no / likely, with reason codes
C1–C5) and ``risk_score`` 0–100 with its band, one evidence line and a confidence label per factor, and the
conditions a crawl cannot check ("to check"). Every number comes from ``data/risk/rubric.yml``.

Two grains, both pure (no I/O; everything arrives in a :class:`RiskContext`):

- :func:`assess_site_service` — one site × one service, from a :class:`SiteServiceObservation`;
- :func:`assess_service` — one service: the catalog baseline (the service embedded as shipped, without a
  consent gate) raised by any observation across sites.

An unknown fact is scored at its own explicit level (see the rubric), never as the best case. The result is an
indicator, not legal advice: :data:`DISCLAIMER` must be shown wherever it is.

The modules, in the order an assessment runs: :mod:`.inputs` (observations, context, catalog version),
:mod:`.evidence` (catalog priors and observed behaviour), :mod:`.factors` (F4–F8, mitigations, security),
:mod:`.verdict` (reason codes, verdict, "to check", score), :mod:`.assess` (the two grains), :mod:`.results`
(the returned dataclasses and the disclaimer).
"""

from pipelines.risk.model.assess import assess_service, assess_site_service
from pipelines.risk.model.inputs import (
    CONSENT_STATES,
    METHODS,
    MODEL_VERSION,
    VERSIONED_DATA,
    ObservedCookie,
    RiskContext,
    SiteServiceObservation,
    catalog_version,
    lifetime_seconds,
    load_context,
)
from pipelines.risk.model.results import (
    DISCLAIMER,
    LABELS,
    VERDICTS,
    Assessment,
    Check,
    FactorResult,
    ReasonResult,
)

__all__ = [
    "CONSENT_STATES", "DISCLAIMER", "LABELS", "METHODS", "MODEL_VERSION", "VERDICTS", "VERSIONED_DATA", "Assessment",
    "Check", "FactorResult", "ObservedCookie", "ReasonResult", "RiskContext", "SiteServiceObservation",
    "assess_service", "assess_site_service", "catalog_version", "lifetime_seconds", "load_context",
]
