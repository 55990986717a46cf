"""The long tail: services and companies generated from the pinned third-party-web entities, behind the curated
catalog (curated entries win on every host). Fetching and caching the package is ``common.refdata``'s."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from common.refdata import (
    DEFAULT_CACHE,
    DEFAULT_LOCK,
    cached_file,
    cached_tarball,
    extract,
    load_third_party_web,
    read_lock,
)
from pipelines.catalog.load import Catalog, Company, Dpf, Fact, Service
from pipelines.catalog.match import host_matches
from pipelines.catalog.vocab import is_valid_host_pattern

# third-party-web category -> catalog category (closed set in vocab.CATEGORIES)
TPW_CATEGORY_MAP = MappingProxyType({
    "ad": "advertising",
    "analytics": "analytics",
    "cdn": "cdn",
    "consent-provider": "consent",
    "content": "embed",
    "customer-success": "customer-support",
    "hosting": "hosting",
    "marketing": "marketing-automation",
    "other": "other",
    "social": "social",
    "tag-manager": "tag-manager",
    "utility": "other",
    "video": "video",
})





def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "unnamed"


def tpw_host_pattern(domain: str) -> str:
    """third-party-web domain → catalog host pattern: ``*.x.com`` → ``x.com``; ``a.x.com`` → ``=a.x.com``."""
    domain = domain.strip().lower()
    return domain[2:] if domain.startswith("*.") else f"={domain}"


def _covered(pattern: str, curated: Sequence[str]) -> bool:
    """True if a curated host pattern already claims every host that ``pattern`` would match."""
    host = pattern.lstrip("=")
    for cur in curated:
        if cur == pattern or (not cur.startswith("=") and host_matches(cur, host)):
            return True
    return False


TPW_HOME = "https://github.com/patrickhulce/third-party-web"  # the long tail's public source


def third_party_web_services(entities: Iterable[dict[str, Any]], catalog: Catalog, *,
                             source: str = "third-party-web@0.30.0", as_of: str = "2026-09-14",
                             ) -> tuple[list[Service], list[Company]]:
    """Turn third-party-web entities into long-tail services (``tpw-<slug>``) and their companies, in memory.

    Never overrides the curated catalog: host patterns that a curated service already covers are dropped
    (as are IP-address "domains"), entities left without hosts are skipped, and ids never collide with curated ids. Long-tail companies
    get ids ``tpw-co-<slug>``, country and DPF ``unknown``, unless the curated catalog has a company of that name
    or alias (then the service belongs to it).
    """
    curated_hosts = [h for s in catalog.services for h in s.hosts]
    taken = set(catalog.by_id) | set(catalog.companies)
    # a company the curated catalog knows by this name or alias is that company (one record per company)
    curated_names: dict[str, str] = {}
    for c in catalog.companies.values():
        for name in (c.name, *c.aliases):
            curated_names.setdefault(name.strip().lower(), c.id)
    services: list[Service] = []
    companies: dict[str, Company] = {}
    for entity in entities:
        patterns = []
        for domain in entity.get("domains", []):
            pattern = tpw_host_pattern(domain)
            if not is_valid_host_pattern(pattern):  # e.g. bare IP addresses in the source data
                continue
            if pattern not in patterns and not _covered(pattern, curated_hosts):
                patterns.append(pattern)
        if not patterns:
            continue
        sid = f"tpw-{slugify(entity['name'])}"
        while sid in taken:
            sid += "-x"
        taken.add(sid)
        company_name = entity.get("company") or entity["name"]
        cid = curated_names.get(company_name.strip().lower()) or f"tpw-co-{slugify(company_name)}"
        if cid not in companies and cid not in catalog.companies:
            if cid in taken:
                cid += "-x"
            companies[cid] = Company(
                id=cid, name=company_name, dpf=Dpf(status="unknown", confidence="M"),
                facts=(Fact("company", company_name, source, as_of, "S"),), sources=(source,), as_of=as_of,
                notes="Generated from third-party-web; legal entity, seat and parent unknown.")
            taken.add(cid)
        category = TPW_CATEGORY_MAP.get(entity.get("category", "other"), "other")
        services.append(Service(
            id=sid, name=entity["name"], category=category, company=cid, hosts=tuple(patterns),
            facts=(Fact("company", company_name, source, as_of, "S"),
                   Fact("category", f"third-party-web category '{entity.get('category')}'", source, as_of, "S"),
                   Fact("role", "unknown: a long-tail entry generated from third-party-web; its role towards the site "
                        "is not curated", TPW_HOME, as_of, "S")),
            sources=(source,), as_of=as_of, notes="Long-tail entry generated from third-party-web."))
        curated_hosts.extend(patterns)
    return services, list(companies.values())


def with_long_tail(catalog: Catalog, entities: Iterable[dict[str, Any]], **kwargs: Any) -> Catalog:
    """A new Catalog: the curated entries first (they win on every host), then the third-party-web tail."""
    services, companies = third_party_web_services(entities, catalog, **kwargs)
    all_services = catalog.services + tuple(services)
    all_companies = {**catalog.companies, **{c.id: c for c in companies}}
    by_id = {**catalog.by_id, **{s.id: s for s in services}}
    return replace(catalog, services=all_services, companies=MappingProxyType(all_companies),
                   by_id=MappingProxyType(by_id))


def catalog_with_long_tail(catalog: Catalog | None = None, *, lock_path: str | Path = DEFAULT_LOCK,
                           cache_dir: str | Path = DEFAULT_CACHE) -> tuple[Catalog, dict[str, Any]]:
    """The curated catalog plus the third-party-web long tail when its pinned file is cached (never fetches).

    Returns (catalog, provenance); without the cached file the curated catalog is returned and the
    provenance says so (``servicerisk refdata`` fetches it).
    """
    from pipelines.catalog.load import load_catalog

    catalog = catalog or load_catalog()
    entry = read_lock(lock_path)["third-party-web"]
    path = cached_file(entry, cache_dir)
    if not path.is_file():
        tarball = cached_tarball(entry, cache_dir)
        if not tarball.is_file():
            return catalog, {"long_tail": "not loaded: run `servicerisk refdata`", "curated": len(catalog.services)}
        path = extract(entry, tarball, cache_dir)
    full = with_long_tail(catalog, load_third_party_web(path), source=entry.source_ref, as_of=entry.data_date)
    return full, {"long_tail": entry.source_ref, "curated": len(catalog.services),
                  "long_tail_services": len(full.services) - len(catalog.services)}
