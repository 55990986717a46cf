"""CNAME cloaking: a first-party subdomain whose CNAME chain leads to a tracker's name.

A chain member is a tracker target when it is (or lies under) a pattern of the dated list
``data/reference/cloaking_targets.csv`` (known cloaking targets: Adobe ``omtrdc.net``, Criteo
``dnsdelegation.io``, AT Internet ``at-o.net`` …), or when the catalog attributes it, by host, to a service
of a tracking category (``TRACKER_CATEGORIES``). CDN and hosting names (``edgekey.net``, ``cloudfront.net``,
``fastly.net`` …) are in neither, so a site behind a CDN is not flagged; nor is a chain that stays inside
the site's own registrable domain.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.paths import data_label, data_path
from crawler.hosts import registrable_domain

if TYPE_CHECKING:
    from pipelines.catalog.load import Catalog

CLOAKING_TARGETS = data_path("reference", "cloaking_targets.csv")
#: catalog categories whose services count as trackers when a first-party name is CNAMEd to them
TRACKER_CATEGORIES = frozenset({
    "analytics", "advertising", "audience-measurement", "session-replay", "marketing-automation",
    "ab-testing", "tag-manager",
})


class CloakingError(Exception):
    """The cloaking-target table is malformed (a row without pattern, source or as-of date)."""


@dataclass(frozen=True)
class CloakingTarget:
    pattern: str
    tracker: str
    service_id: str
    category: str
    source: str
    as_of: str


@dataclass(frozen=True)
class CloakingHit:
    """A flagged first-party host: which chain member matched, how, and the tracker it belongs to."""

    host: str
    site: str
    target: str
    target_domain: str
    matched_by: str  # cloaking_list | catalog
    pattern: str
    tracker: str
    service_id: str | None
    category: str
    source: str
    as_of: str
    depth: int  # 1 = the host's own CNAME target


def load_cloaking_targets(path: str | Path = CLOAKING_TARGETS) -> list[CloakingTarget]:
    """Read the table (``#`` lines are comments). Raises CloakingError on a row without pattern, source
    or a valid as-of date."""
    path = Path(path)
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(line for line in fh if not line.startswith("#")), 2):
            try:
                target = CloakingTarget(row["pattern"].strip().lower().rstrip("."), row["tracker"].strip(),
                                        (row.get("service_id") or "").strip(), row["category"].strip(),
                                        row["source"].strip(), row["as_of"].strip())
                datetime.strptime(target.as_of, "%Y-%m-%d")
            except (KeyError, ValueError, AttributeError) as exc:
                raise CloakingError(f"{path.name} row {n}: {exc}") from None
            if not target.pattern or "." not in target.pattern or not target.source:
                raise CloakingError(f"{path.name} row {n}: needs a dotted pattern and a source")
            out.append(target)
    return out


def _suffixes(name: str) -> list[str]:
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


class CloakingDetector:
    """``check(host, site, chain)`` → CloakingHit or None. ``site`` is the site's registrable domain (or any
    host of it); ``chain`` the host's CNAME targets in order. Hosts outside the site are never flagged."""

    def __init__(self, catalog: Catalog | None = None, targets: list[CloakingTarget] | None = None,
                 tracker_categories: frozenset[str] = TRACKER_CATEGORIES):
        self.catalog = catalog
        self.targets = targets if targets is not None else load_cloaking_targets()
        self._by_pattern = {t.pattern: t for t in self.targets}
        self.tracker_categories = tracker_categories

    def check(self, host: str, site: str, chain: tuple[str, ...] | list[str]) -> CloakingHit | None:
        host = host.lower().rstrip(".")
        site_rd = registrable_domain(site)
        if registrable_domain(host) != site_rd:
            return None
        for depth, name in enumerate(chain, 1):
            name = name.lower().rstrip(".")
            target_rd = registrable_domain(name)
            if target_rd == site_rd:
                continue  # still inside the site (e.g. www → origin.example.de)
            hit = self._match(name)
            if hit is not None:
                matched_by, pattern, tracker, service_id, category, source, as_of = hit
                return CloakingHit(host, site_rd, name, target_rd, matched_by, pattern, tracker, service_id,
                                   category, source, as_of, depth)
        return None

    def _match(self, name: str) -> tuple[str, str, str, str | None, str, str, str] | None:
        for suffix in _suffixes(name):
            t = self._by_pattern.get(suffix)
            if t is not None:
                return ("cloaking_list", t.pattern, t.tracker, t.service_id or None, t.category, t.source, t.as_of)
        if self.catalog is None:
            return None
        service = self.catalog.matcher.match_host(name)
        if service is None or service.category not in self.tracker_categories:
            return None
        pattern = next((p for p in service.hosts if _pattern_covers(p, name)), "")
        return ("catalog", pattern, service.name, service.id, service.category,
                ", ".join(service.sources[:2]) or (service.path or "catalog"), service.as_of)

    def describe(self) -> dict[str, Any]:
        dates = sorted(t.as_of for t in self.targets)
        return {"path": data_label(CLOAKING_TARGETS), "patterns": len(self.targets),
                "as_of_min": dates[0] if dates else None, "as_of_max": dates[-1] if dates else None,
                "catalog_services": len(self.catalog.services) if self.catalog else 0,
                "tracker_categories": sorted(self.tracker_categories)}


def _pattern_covers(pattern: str, name: str) -> bool:
    if pattern.startswith("="):
        return name == pattern[1:]
    return name == pattern or name.endswith("." + pattern)
