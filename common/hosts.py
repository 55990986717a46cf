"""URL → host → registrable domain (offline, bundled Public Suffix List) and first/third-party tests."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Callable
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

_PSL: PublicSuffixList | None = None


def psl() -> PublicSuffixList:
    """The bundled PSL, ICANN section only (never fetched at run time).

    ICANN-only, as Tranco and tldextract's default do: ``fonts.googleapis.com`` belongs to ``googleapis.com``
    and ``x.s3.amazonaws.com`` to ``amazonaws.com``, so a provider's hosts group under its own domain.
    """
    global _PSL
    if _PSL is None:
        _PSL = PublicSuffixList(only_icann=True)
    return _PSL


def psl_version() -> str:
    """The ``VERSION:`` line of the bundled list, for run manifests."""
    import publicsuffixlist

    path = __import__("os").path.join(publicsuffixlist.__path__[0], "public_suffix_list.dat")
    try:
        with open(path, encoding="utf-8") as fh:
            for _, line in zip(range(40), fh, strict=False):  # at most the first 40 lines
                if "VERSION:" in line:
                    return line.split("VERSION:", 1)[1].strip()
    except OSError:
        pass
    return "publicsuffixlist " + getattr(publicsuffixlist, "__version__", "unknown")


def host_of(url: str) -> str:
    """Lower-case host of ``url`` without port or trailing dot; '' when there is none."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".")


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


@lru_cache(maxsize=200_000)
def registrable_domain(host: str) -> str:
    """eTLD+1 of ``host`` (``cdn.livechatinc.com`` → ``livechatinc.com``).

    IP literals and names without a known public suffix are returned unchanged, so they still group.
    """
    host = host.lower().rstrip(".")
    if not host or is_ip(host):
        return host
    return psl().privatesuffix(host) or host


def same_site(host_a: str, host_b: str) -> bool:
    """True when both hosts share a registrable domain (schemeless same-site)."""
    return registrable_domain(host_a) == registrable_domain(host_b)


def cross_site(host: str, site: str) -> bool:
    """True when ``host`` and ``site`` have different registrable domains (eTLD+1)."""
    return registrable_domain(host) != registrable_domain(site)


def cross_entity(host: str, site: str, entity_of: Callable[[str], str | None]) -> bool:
    """True when ``host`` and ``site`` belong to different owners. ``entity_of`` maps a host to its owner
    (e.g. ``pipelines.catalog.parties.EntityIndex.entity_of``); a host with no known owner stands for
    itself, so an unknown cross-site host is also cross-entity (nytimes.com → nyt.com is cross-site but
    same-entity once both are known)."""
    if not cross_site(host, site):
        return False
    a, b = entity_of(host), entity_of(site)
    return a is None or b is None or a != b


def is_third_party(host: str, site: str) -> bool:
    """True when ``host`` is cross-site relative to the site's host or registrable domain."""
    return bool(host) and registrable_domain(host) != registrable_domain(site)
