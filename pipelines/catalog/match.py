"""Resolve a request (host + path) to the one catalog service that serves it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.catalog.records import Service


def host_matches(pattern: str, host: str) -> bool:
    """``example.com`` matches the domain and its subdomains, ``=cdn.example.com`` only that host."""
    host = host.lower().rstrip(".")
    if pattern == "*":
        return True
    if pattern.startswith("="):
        return host == pattern[1:]
    return host == pattern or host.endswith("." + pattern)


def _specificity(pattern: str) -> tuple[int, int]:
    if pattern == "*":
        return (0, 0)
    if pattern.startswith("="):
        return (2, pattern.count(".") + 1)
    return (1, pattern.count(".") + 1)


class ServiceMatcher:
    """Host-suffix index over host patterns and url_patterns (first service wins on ties).

    Lookups walk the host's labels (``a.b.example.com`` → ``b.example.com`` → ``example.com``), each a dict
    probe; no pattern list is scanned. Precedence, most specific first:

    1. a ``url_patterns`` entry whose host pattern matches and whose ``path`` regex is found in path+query
       (exact host patterns before suffix patterns, longer suffixes before shorter ones; file order on ties);
    2. a ``hosts`` entry (``=host`` exact before suffix patterns, longer suffixes before shorter ones);
    3. a ``url_patterns`` entry with host ``*`` (products recognised by path alone, e.g. self-hosted Matomo);
       callers pass ``first_party=False`` for third-party requests so that a path like ``/piwik.js`` on someone
       else's server is not taken for the site's own installation.
    """

    def __init__(self, services: Iterable[Service]):
        self._exact: dict[str, Service] = {}
        self._suffix: dict[str, Service] = {}
        self._exact_paths: dict[str, list[tuple[re.Pattern[str], Service]]] = {}
        self._suffix_paths: dict[str, list[tuple[re.Pattern[str], Service]]] = {}
        self._star_paths: list[tuple[re.Pattern[str], Service]] = []
        for service in services:
            for pattern in service.hosts:
                table = self._exact if pattern.startswith("=") else self._suffix
                table.setdefault(pattern.lstrip("=").lower(), service)
            for up in service.url_patterns:
                try:
                    regex = re.compile(up.path)
                except re.error:
                    continue  # reported by the validator
                if up.host == "*":
                    self._star_paths.append((regex, service))
                elif up.host.startswith("="):
                    self._exact_paths.setdefault(up.host[1:].lower(), []).append((regex, service))
                else:
                    self._suffix_paths.setdefault(up.host.lower(), []).append((regex, service))

    @staticmethod
    def _suffixes(host: str) -> list[str]:
        labels = host.split(".")
        return [".".join(labels[i:]) for i in range(len(labels) - 1)] or [host]

    def has_path_rules(self, host: str) -> bool:
        """True when a url_pattern could apply to ``host`` (so the path matters for matching it)."""
        host = host.lower().rstrip(".")
        return host in self._exact_paths or any(s in self._suffix_paths for s in self._suffixes(host))

    def match_rule(self, host: str, path: str = "/", *, first_party: bool | None = None) -> tuple[Service, str] | None:
        """(service, rule) where rule is ``url_pattern``, ``host`` or ``path`` (a host-``*`` pattern); or None."""
        host = host.lower().rstrip(".")
        path = path or "/"
        suffixes = self._suffixes(host)
        for regex, service in self._exact_paths.get(host, ()):
            if regex.search(path):
                return service, "url_pattern"
        for suffix in suffixes:
            for regex, service in self._suffix_paths.get(suffix, ()):
                if regex.search(path):
                    return service, "url_pattern"
        if host in self._exact:
            return self._exact[host], "host"
        for suffix in suffixes:
            service = self._suffix.get(suffix)
            if service is not None:
                return service, "host"
        if first_party is False:
            return None
        for regex, service in self._star_paths:
            if regex.search(path):
                return service, "path"
        return None

    def match(self, host: str, path: str = "/", *, first_party: bool | None = None) -> Service | None:
        """Return the service for ``host`` and ``path`` (path may carry ``?query``), or None.

        ``first_party=False`` skips host-``*`` patterns (step 3); None (unknown) and True apply them.
        """
        hit = self.match_rule(host, path, first_party=first_party)
        return hit[0] if hit else None

    def match_host(self, host: str) -> Service | None:
        """The service owning ``host`` through its ``hosts`` list only (no path rules)."""
        host = host.lower().rstrip(".")
        if host in self._exact:
            return self._exact[host]
        for suffix in self._suffixes(host):
            if suffix in self._suffix:
                return self._suffix[suffix]
        return None
