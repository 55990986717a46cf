"""Who owns a registrable domain (catalog companies up to their ultimate parent, plus dated domain-owner
groups), so that first/third party can be judged by entity and not only by site."""

from __future__ import annotations

from pathlib import Path

import yaml

from common.paths import data_path
from crawler.hosts import registrable_domain
from pipelines.catalog.load import Catalog

DOMAIN_OWNERS = data_path("reference", "domain_owners.yml")


class EntityIndex:
    """registrable domain → entity id.

    A catalog service contributes its host patterns that are whole registrable domains (``hotjar.com``,
    not ``=cdn.x.amazonaws.com``: a shared hosting domain belongs to nobody's entity), mapped to the
    ultimate parent of the service's company. ``data/reference/domain_owners.yml`` adds owner groups.
    """

    def __init__(self, catalog: Catalog, owners_file: Path | None = DOMAIN_OWNERS):
        self._by_domain: dict[str, str] = {}
        if owners_file is not None and owners_file.is_file():
            data = yaml.safe_load(owners_file.read_text(encoding="utf-8")) or {}
            for entry in data.get("owners", []):
                for domain in entry["domains"]:
                    self._by_domain.setdefault(domain.lower(), entry["entity"])
        for service in catalog.services:
            if service.company == "site-operator":
                continue
            chain = catalog.parent_chain(service.company)
            entity = chain[-1].id if chain else service.company
            for pattern in service.hosts:
                host = pattern.lstrip("=").lower()
                if pattern.startswith("=") or registrable_domain(host) != host:
                    continue
                self._by_domain.setdefault(host, entity)

    def entity_of(self, host: str) -> str | None:
        """The owning entity of ``host``'s registrable domain, or None when unknown."""
        return self._by_domain.get(registrable_domain(host))
