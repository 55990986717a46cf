"""Resolve a request (host + path) to the one catalog service that serves it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.catalog.load import Service


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
    """Index of host patterns and url_patterns over a list of services (first service wins on ties).

    Precedence, most specific first:

    1. a ``url_patterns`` entry whose host pattern matches and whose ``path`` regex is found in path+query
       (exact host patterns before suffix patterns, longer suffixes before shorter ones);
    2. a ``hosts`` entry (``=host`` exact before suffix patterns, longer suffixes before shorter ones);
    3. a ``url_patterns`` entry with host ``*`` (products recognised by path alone, e.g. self-hosted Matomo);
       callers pass ``first_party=False`` for third-party requests so that a path like ``/piwik.js`` on someone
       else's server is not taken for the site's own installation.
    """

    def __init__(self, services: Iterable[Service]):
        self._exact: dict[str, Service] = {}
        self._suffix: dict[str, Service] = {}
        self._patterns: list[tuple[tuple[int, int], int, str, re.Pattern[str], Service]] = []
        order = 0
        for service in services:
            for pattern in service.hosts:
                table = self._exact if pattern.startswith("=") else self._suffix
                table.setdefault(pattern.lstrip("="), service)
            for up in service.url_patterns:
                try:
                    regex = re.compile(up.path)
                except re.error:
                    continue  # reported by the validator
                self._patterns.append((_specificity(up.host), order, up.host, regex, service))
                order += 1
        # most specific host first; stable on file order
        self._patterns.sort(key=lambda item: (-item[0][0], -item[0][1], item[1]))

    def match(self, host: str, path: str = "/", *, first_party: bool | None = None) -> Service | None:
        """Return the service for ``host`` and ``path`` (path may carry ``?query``), or None.

        ``first_party=False`` skips host-``*`` patterns (step 3); None (unknown) and True apply them.
        """
        host = host.lower().rstrip(".")
        path = path or "/"
        for spec, _order, pattern, regex, service in self._patterns:
            if spec[0] == 0:
                break
            if host_matches(pattern, host) and regex.search(path):
                return service
        by_host = self.match_host(host)
        if by_host is not None:
            return by_host
        if first_party is False:
            return None
        for spec, _order, _pattern, regex, service in self._patterns:
            if spec[0] == 0 and regex.search(path):
                return service
        return None

    def match_host(self, host: str) -> Service | None:
        """The service owning ``host`` through its ``hosts`` list only (no path rules)."""
        host = host.lower().rstrip(".")
        if host in self._exact:
            return self._exact[host]
        labels = host.split(".")
        for i in range(len(labels) - 1):
            candidate = ".".join(labels[i:])
            if candidate in self._suffix:
                return self._suffix[candidate]
        return None
