"""What an assessment returns: :class:`Assessment` with its factors, reason codes and "to check" items, and the
not-legal-advice :data:`DISCLAIMER` that goes wherever a verdict is shown."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pipelines import glossary
from pipelines.glossary import Item
from pipelines.risk.transfer import JurisdictionTransfer, ServerTransfer

DISCLAIMER: Mapping[str, str] = MappingProxyType({
    "de": "Hinweis: Diese Einstufung ist ein automatisch berechneter Indikator aus Crawl-Beobachtungen und "
          "Katalogdaten, keine Rechtsberatung. Sie ersetzt nicht die Prüfung des Einzelfalls durch eine "
          "fachkundige Person; nicht messbare Bedingungen sind als „zu prüfen“ aufgeführt.",
    "en": "Note: this rating is an automatically computed indicator based on crawl observations and catalog data, "
          "not legal advice. It does not replace a case-by-case review by a qualified person; conditions a crawl "
          "cannot measure are listed as \"to check\".",
})
LABELS = ("measured", "catalog-verified", "catalog-unverified")  # strongest first
VERDICTS = ("yes", "no", "likely")


@dataclass(frozen=True)
class FactorResult:
    """One factor (F1–F8) or mitigation (M:<name>): level, points, its evidence as structured items (template code
    + parameters, rendered per language by :mod:`pipelines.glossary`) and a confidence label."""

    code: str
    title: str
    level: str
    points: int
    items: tuple[Item, ...]
    confidence: str

    @property
    def evidence(self) -> str:
        """The evidence as one English line (the warehouse's ``factors[].evidence``, ``risk --explain``)."""
        return glossary.render("en", self.items)

    def line(self) -> str:
        sign = "+" if self.points > 0 else ""
        return f"{self.code} {self.level} {sign}{self.points}: {self.evidence} ({self.confidence})"

    def as_dict(self) -> dict:
        return {"code": self.code, "title": self.title, "level": self.level, "points": self.points,
                "evidence": self.evidence, "evidence_items": [i.as_dict() for i in self.items],
                "confidence": self.confidence}


@dataclass(frozen=True)
class ReasonResult:
    """A consent reason code: ``state`` is ``holds``, ``unknown`` or ``no``; ``items`` the structured evidence."""

    code: str
    title: str
    state: str
    items: tuple[Item, ...]

    @property
    def evidence(self) -> str:
        return glossary.render("en", self.items)

    def as_dict(self) -> dict:
        return {"code": self.code, "title": self.title, "state": self.state, "evidence": self.evidence,
                "evidence_items": [i.as_dict() for i in self.items]}


@dataclass(frozen=True)
class Check:
    """Something a crawl cannot establish ("to check"): the eight-conditions ``condition`` it belongs to (None for
    a general note), a template ``code`` (``check.<code>`` in the glossary) and its parameters."""

    condition: int | None
    code: str
    params: dict = field(default_factory=dict, hash=False)

    def text(self, lang: str = "en") -> str:
        """The item in ``lang``; in English with its condition number first ("(3) …"), as the warehouse stores it."""
        body = glossary.check_text(lang, self.code, self.params)
        return f"({self.condition}) {body}" if self.condition is not None else body

    def as_dict(self) -> dict:
        return {"condition": self.condition, "code": self.code, "params": self.params}


@dataclass(frozen=True)
class Assessment:
    """The verdict for one site × service (``grain='site_service'``) or one service (``grain='service'``)."""

    grain: str
    service_id: str
    service_name: str
    site: str | None
    as_of: str
    consent_required: str
    reasons: tuple[ReasonResult, ...]
    verdict_basis: str
    risk_score: int
    raw_score: int
    band: str
    factors: tuple[FactorResult, ...]
    confidence: str
    checks: tuple[Check, ...]
    server: ServerTransfer
    jurisdiction: JurisdictionTransfer
    observations: int = 0
    disclaimer: Mapping[str, str] = field(default_factory=lambda: DISCLAIMER)

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """The reason codes that hold (C1–C5)."""
        return tuple(r.code for r in self.reasons if r.state == "holds")

    @property
    def to_check(self) -> tuple[str, ...]:
        """The "to check" items as English lines, each with its condition number first."""
        return tuple(c.text("en") for c in self.checks)

    def factor(self, code: str) -> FactorResult:
        return next(f for f in self.factors if f.code == code)

    def top_reasons(self, n: int = 3) -> list[str]:
        """The ``n`` factors adding most points, as ``F6 us_dpf_unknown +15`` (ties in rubric order)."""
        scored = sorted((f for f in self.factors if f.points > 0), key=lambda f: -f.points)
        return [f"{f.code} {f.level} +{f.points}" for f in scored[:n]]

    def as_dict(self) -> dict:
        """A JSON-ready dict (the shape the warehouse and the publish stage store)."""
        return {
            "grain": self.grain, "service_id": self.service_id, "service_name": self.service_name, "site": self.site,
            "as_of": self.as_of, "consent_required": self.consent_required, "reason_codes": list(self.reason_codes),
            "reasons": [r.as_dict() for r in self.reasons], "verdict_basis": self.verdict_basis,
            "risk_score": self.risk_score, "raw_score": self.raw_score, "band": self.band,
            "factors": [f.as_dict() for f in self.factors], "confidence": self.confidence,
            "to_check": list(self.to_check), "checks": [c.as_dict() for c in self.checks],
            "server_class": self.server.cls,
            "jurisdiction_class": self.jurisdiction.cls, "us_jurisdiction": self.jurisdiction.us_jurisdiction,
            "observations": self.observations, "disclaimer": dict(self.disclaimer),
            "recipient": _entity_dict(self.jurisdiction.recipient, self.jurisdiction.dpf),
            "contracting": _entity_dict(self.jurisdiction.contracting, None),
        }


def _entity_dict(entity, dpf) -> dict | None:
    """A chain entity for JSON: id, name, seat country and (for the recipient) its effective DPF status."""
    if entity is None:
        return None
    status = entity.dpf.effective if entity.dpf is not None else (
        "not_applicable" if entity.country not in ("US", "unknown") else "unknown")
    return {"id": entity.id, "name": entity.name, "country": entity.country, "dpf_status": status}
