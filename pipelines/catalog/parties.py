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

    def same_owner(self, host: str, site: str) -> bool:
        """True when ``host`` belongs to the site's own organisation though its registrable domain differs:
        both domains under one owner (the catalog's companies or ``domain_owners.yml``), or the host's domain
        is named after the site (``static-nzz.ch`` for ``nzz.ch``, ``spiegelcdn.de`` for ``spiegel.de``; see
        :func:`named_after`)."""
        a, b = registrable_domain(host), registrable_domain(site)
        if a == b:
            return True
        owner = self._by_domain.get(a)
        if owner is not None and owner == self._by_domain.get(b):
            return True
        return named_after(a, b)


#: what a publisher calls the extra domains of its own infrastructure (``spiegelcdn``, ``zeit-static``)
_INFRA_WORDS = ("cdn", "static", "assets", "img", "images", "media", "data", "api", "online", "content",
                "files", "stats", "ads", "digital", "services", "group", "verlag")


def _name(domain: str) -> str:
    """The name part of a registrable domain (``static-nzz`` of ``static-nzz.ch``, ``bbc`` of ``bbc.co.uk``)."""
    from crawler.hosts import psl

    suffix = psl().publicsuffix(domain) or ""
    return domain[: -len(suffix) - 1] if suffix and domain.endswith("." + suffix) else domain.split(".", 1)[0]


def named_after(domain: str, site_domain: str) -> bool:
    """True when ``domain`` is the site's own name on another suffix or with an infrastructure word:
    ``faz.de`` for ``faz.net``; ``static-nzz.ch``, ``nzz-cdn.com``, ``spiegelcdn.de`` for ``spiegel.de``.
    A bare shared word (``bild`` in ``bildungsserver.de``) is not enough."""
    a, b = _name(domain), _name(site_domain)
    if not a or not b:
        return False
    return a == b or _infra_of(a, b) or _infra_of(b, a)


def _infra_of(name: str, site: str) -> bool:
    """``name`` is ``site`` joined with one infrastructure word (``static-nzz``, ``spiegelcdn``, ``zeitonline``,
    ``blog-b-static``)."""
    if len(site) < 3:
        return False
    return any(name in (site + sep + word, word + sep + site) for word in _INFRA_WORDS for sep in ("", "-"))
