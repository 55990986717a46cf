"""Load and check the rubric data file ``data/risk/rubric.yml``: factor levels and points, mitigations, bands,
reason codes and the mapping to the seed's eight conditions. The model in :mod:`pipelines.risk.model` reads
every number from here; this module makes sure the file names exactly the levels the model can produce."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml

from common.paths import data_path
from pipelines.catalog import vocab
from pipelines.problems import ProblemsError

DEFAULT_RUBRIC = data_path("risk", "rubric.yml")

# The levels the model computes for each factor; the rubric file must define exactly these.
LEVELS: dict[str, tuple[str, ...]] = {
    "F1": ("present", "unknown", "absent", "gated"),
    "F2": ("present", "absent", "gated"),
    "F3": ("present", "unknown", "absent", "gated"),
    "F4": ("ads_profiling_social", "analytics_replay", "functional", "necessary", "unknown", "first_party"),
    "F5": ("own_purposes", "unknown", "processor", "first_party"),
    "F6": ("site_operator", "eea", "eea_parent_unknown", "adequate", "non_eea_parent", "us_dpf", "us_dpf_unknown",
           "us_no_dpf", "third_country", "unknown"),
    "F7": ("first_party", "eea", "adequate", "us_dpf", "anycast_or_unknown", "not_measured", "us_dpf_unknown",
           "third_country"),
    "F8": ("remote_with_alternative", "no_alternative", "first_party"),
}
MITIGATIONS = ("ip_truncated", "dnt_honoured", "eu_hosting")
REASONS = ("C1", "C2", "C3", "C4", "C5")
SECURITY_FINDINGS = ("compromised_domain",)
VERDICTS = ("yes", "no", "likely")
BANDS = ("low", "medium", "high", "very_high")


class RubricError(ProblemsError):
    """The rubric file is malformed or does not match the model; ``problems`` lists every issue."""

    what = "rubric"


@dataclass(frozen=True)
class Level:
    name: str
    points: int
    means: str


@dataclass(frozen=True)
class Factor:
    code: str
    title: str
    evidence: str
    conditions: tuple[int, ...]
    legal: tuple[str, ...]
    levels: Mapping[str, Level]
    buckets: Mapping[str, str]  # F4 only: purpose -> level

    @property
    def max_points(self) -> int:
        return max(level.points for level in self.levels.values())


@dataclass(frozen=True)
class Mitigation:
    code: str
    title: str
    points: int
    evidence: str
    legal: tuple[str, ...]


@dataclass(frozen=True)
class Source:
    key: str
    cite: str
    source: str
    as_of: str


@dataclass(frozen=True)
class Rule:
    """A factor (``F1``…``F8`` or ``M:<mitigation>``) and the levels at which it decides a condition."""

    factor: str
    levels: frozenset[str]

    def holds(self, levels: Mapping[str, str]) -> bool:
        return levels.get(self.factor) in self.levels


@dataclass(frozen=True)
class Condition:
    """One of the eight conditions for consent-free use: the factors that score it, the rules that make it not met
    (any) and the alternatives that make it met (all rules of one alternative); otherwise it is to be checked."""

    number: int
    factors: tuple[str, ...]
    not_met: tuple[Rule, ...] = ()
    met: tuple[tuple[Rule, ...], ...] = ()

    def status(self, levels: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
        """``(status, deciding factors)`` for the factor levels ``{code: level}`` of one assessment: ``not_met``
        with the factors that break it, ``met`` with the factors that establish it, or ``check`` with none."""
        broken = tuple(dict.fromkeys(r.factor for r in self.not_met if r.holds(levels)))
        if broken:
            return "not_met", broken
        for alternative in self.met:
            if all(r.holds(levels) for r in alternative):
                return "met", tuple(r.factor for r in alternative)
        return "check", ()


@dataclass(frozen=True)
class Rubric:
    """The parsed rubric; see ``data/risk/rubric.yml`` for the meaning of every entry."""

    version: int
    as_of: str
    score_min: int
    score_max: int
    bands: tuple[tuple[str, int], ...]  # (band, inclusive lower bound), ascending
    factors: Mapping[str, Factor]
    mitigations: Mapping[str, Mitigation]
    mitigation_cap: int
    reasons: Mapping[str, tuple[str, tuple[str, ...]]]  # code -> (title, legal keys)
    verdicts: Mapping[str, str]
    conditions: Mapping[int, Condition]
    sources: Mapping[str, Source]
    essential_purposes: frozenset[str]
    tracking_purposes: frozenset[str]
    path: str = ""
    security: Mapping[str, Mitigation] = field(default_factory=dict)  # finding kind -> (title, points, legal)
    confidence: str = ""  # the one definition of an assessment's confidence label (dictionary and docs quote it)

    def points(self, factor: str, level: str) -> int:
        return self.factors[factor].levels[level].points

    def band(self, score: int) -> str:
        """The band of a (capped) score."""
        name = self.bands[0][0]
        for band, lower in self.bands:
            if score >= lower:
                name = band
        return name

    def cite(self, keys: tuple[str, ...]) -> str:
        return "; ".join(self.sources[k].cite for k in keys)


def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, list) else ()


def parse_rubric(data: dict, where: str = "rubric.yml") -> Rubric:
    """Build a :class:`Rubric` from parsed YAML; raise :class:`RubricError` listing every problem."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise RubricError([f"{where}: top level must be a mapping"])
    sources = {}
    for key, raw in (data.get("sources") or {}).items():
        if not isinstance(raw, dict) or not raw.get("cite") or not vocab.is_valid_source(raw.get("source")):
            problems.append(f"{where}: sources.{key} needs cite and a valid source")
            continue
        as_of = str(raw.get("as_of", ""))
        if not vocab.ISO_DATE_RE.match(as_of):
            problems.append(f"{where}: sources.{key}: as_of '{as_of}' is not YYYY-MM-DD")
        sources[key] = Source(key, str(raw["cite"]), str(raw["source"]), as_of)

    def legal_keys(raw, at) -> tuple[str, ...]:
        keys = _as_tuple(raw)
        if not keys:
            problems.append(f"{at}: legal must list at least one source key")
        for k in keys:
            if k not in sources:
                problems.append(f"{at}: unknown source key '{k}'")
        return tuple(str(k) for k in keys)

    factors = {}
    raw_factors = data.get("factors") or {}
    if set(raw_factors) != set(LEVELS):
        problems.append(f"{where}: factors must be exactly {sorted(LEVELS)} (got {sorted(raw_factors)})")
    for code, raw in raw_factors.items():
        at = f"{where}: factors.{code}"
        if code not in LEVELS or not isinstance(raw, dict):
            continue
        levels = {}
        raw_levels = raw.get("levels") or {}
        if set(raw_levels) != set(LEVELS[code]):
            problems.append(f"{at}: levels must be exactly {sorted(LEVELS[code])} (got {sorted(raw_levels)})")
        for name, lv in raw_levels.items():
            if not isinstance(lv, dict) or not isinstance(lv.get("points"), int) or not lv.get("means"):
                problems.append(f"{at}.levels.{name}: needs integer points and means")
                continue
            if lv["points"] < 0:
                problems.append(f"{at}.levels.{name}: factor points must not be negative")
            levels[name] = Level(name, lv["points"], str(lv["means"]))
        buckets = dict(raw.get("buckets") or {})
        if code == "F4":
            if set(buckets) != set(vocab.PURPOSES):
                problems.append(f"{at}: buckets must map every catalog purpose {sorted(vocab.PURPOSES)}")
            for purpose, level in buckets.items():
                if level not in LEVELS["F4"]:
                    problems.append(f"{at}: bucket {purpose} -> unknown level '{level}'")
        conditions = tuple(int(c) for c in _as_tuple(raw.get("conditions")))
        for c in conditions:
            if c not in range(1, 9):
                problems.append(f"{at}: condition {c} is not 1..8")
        if not raw.get("title") or not raw.get("evidence"):
            problems.append(f"{at}: needs title and evidence")
        factors[code] = Factor(code, str(raw.get("title", "")), str(raw.get("evidence", "")), conditions,
                               legal_keys(raw.get("legal"), at), MappingProxyType(levels), MappingProxyType(buckets))

    def point_items(items: dict, expected, listed_as: str, prefix: str, positive: bool) -> dict[str, Mitigation]:
        """Mitigations (non-positive points) and security findings (positive points): title, points, evidence,
        legal source keys."""
        out = {}
        if set(items) != set(expected):
            problems.append(f"{where}: {listed_as} must be exactly {sorted(expected)}")
        for code, raw in items.items():
            at = f"{where}: {prefix}.{code}"
            points = raw.get("points") if isinstance(raw, dict) else None
            if not isinstance(points, int) or (points <= 0 if positive else points > 0):
                problems.append(f"{at}: needs {'positive' if positive else 'non-positive'} integer points")
                continue
            out[code] = Mitigation(code, str(raw.get("title", "")), points, str(raw.get("evidence", "")),
                                   legal_keys(raw.get("legal"), at))
        return out

    mit_raw = data.get("mitigations") or {}
    mitigations = point_items(mit_raw.get("items") or {}, MITIGATIONS, "mitigations.items", "mitigations", False)
    cap = mit_raw.get("cap")
    if not isinstance(cap, int) or cap > 0:
        problems.append(f"{where}: mitigations.cap must be a non-positive integer")
        cap = 0

    bands = []
    for item in data.get("bands") or []:
        bands.append((str(item.get("band")), int(item.get("from", -1))))
    if tuple(b for b, _ in bands) != BANDS:
        problems.append(f"{where}: bands must be {list(BANDS)} in this order")
    score = data.get("score") or {}
    smin, smax = score.get("min", 0), score.get("max", 100)
    if bands and (bands[0][1] != smin or [lo for _, lo in bands] != sorted({lo for _, lo in bands})):
        problems.append(f"{where}: band lower bounds must start at score.min and increase")

    reasons = {}
    for code in REASONS:
        raw = (data.get("reasons") or {}).get(code)
        if not isinstance(raw, dict) or not raw.get("title"):
            problems.append(f"{where}: reasons.{code} missing or without title")
            continue
        reasons[code] = (str(raw["title"]), legal_keys(raw.get("legal"), f"{where}: reasons.{code}"))
    verdicts = {str(k): str(v) for k, v in (data.get("verdicts") or {}).items()}
    if set(verdicts) != set(VERDICTS):
        problems.append(f"{where}: verdicts must be exactly {list(VERDICTS)}")

    conditions = {}
    raw_conditions = data.get("conditions") or {}
    if set(raw_conditions) != set(range(1, 9)):
        problems.append(f"{where}: conditions must be 1..8")

    def rule(text, at: str) -> Rule | None:
        """``F6.us_no_dpf|third_country`` or ``M:ip_truncated.browser|eu_edge``."""
        factor, _, levels = str(text).partition(".")
        names = frozenset(lv for lv in levels.split("|") if lv)
        if factor in LEVELS:
            allowed = set(LEVELS[factor])
        elif factor.startswith("M:") and factor[2:] in MITIGATIONS:
            allowed = None  # mitigation levels are the model's (browser, eu_edge, tested, documented, evidenced)
        else:
            problems.append(f"{at}: unknown factor in rule '{text}'")
            return None
        if not names or (allowed is not None and not names <= allowed):
            problems.append(f"{at}: rule '{text}' names no level or an unknown level of {factor}")
            return None
        return Rule(factor, names)

    for number, raw in raw_conditions.items():
        at = f"{where}: conditions.{number}"
        if not isinstance(raw, dict):
            problems.append(f"{at}: must be a mapping")
            continue
        fs = tuple(str(f) for f in _as_tuple(raw.get("factors")))
        for f in fs:
            if f not in LEVELS and f != "M":
                problems.append(f"{at}: unknown factor '{f}'")
        not_met = tuple(r for t in _as_tuple(raw.get("not_met")) if (r := rule(t, at)))
        met = tuple(tuple(r for t in _as_tuple(alt) if (r := rule(t, at))) for alt in _as_tuple(raw.get("met")))
        conditions[int(number)] = Condition(int(number), fs, not_met, met)
    for code, factor in factors.items():
        for c in factor.conditions:
            if c in conditions and code not in conditions[c].factors:
                problems.append(f"{where}: {code} names condition {c}, but conditions.{c}.factors lacks it")

    security = point_items(data.get("security_findings") or {}, SECURITY_FINDINGS, "security_findings",
                           "security_findings", True)
    confidence = str(data.get("confidence") or "")
    if not confidence:
        problems.append(f"{where}: confidence (the definition of the confidence label) is missing")
    essential = frozenset(data.get("essential_purposes") or ())
    tracking = frozenset(data.get("tracking_purposes") or ())
    for name, values in (("essential_purposes", essential), ("tracking_purposes", tracking)):
        if not values or not values <= vocab.PURPOSES:
            problems.append(f"{where}: {name} must be catalog purposes")
    if problems:
        raise RubricError(problems)
    return Rubric(
        version=int(data.get("version", 0)), as_of=str(data.get("as_of", "")), score_min=smin, score_max=smax,
        bands=tuple(bands), factors=MappingProxyType(factors), mitigations=MappingProxyType(mitigations),
        mitigation_cap=cap, reasons=MappingProxyType(reasons), verdicts=MappingProxyType(verdicts),
        conditions=MappingProxyType(conditions), sources=MappingProxyType(sources),
        essential_purposes=essential, tracking_purposes=tracking, path=where,
        security=MappingProxyType(security), confidence=confidence)


def load_rubric(path: str | Path = DEFAULT_RUBRIC) -> Rubric:
    """Read and check the rubric file; raises :class:`RubricError` (also for unreadable YAML)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RubricError([f"{path}: cannot read: {exc}".splitlines()[0]]) from None
    return parse_rubric(data, str(path))
