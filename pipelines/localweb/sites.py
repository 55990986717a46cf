"""In-memory model of the virtual sites the local web serves: routes, sites and the host map."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Union

__all__ = [
    "KINDS",
    "Body",
    "Route",
    "Site",
    "Web",
    "html_route",
    "text_route",
    "redirect",
    "not_found_route",
    "robots_route",
    "normalize_host",
    "hosts_in_html",
]

KINDS = ("normal", "refuse", "reset", "tls_garbage", "slow")

#: A body is bytes, or a zero-argument callable returning bytes (evaluated lazily).
Body = Union[bytes, Callable[[], bytes]]

# Bodies larger than this are streamed with flow control instead of written in one piece.
STREAM_THRESHOLD = 1 << 20


@dataclass(eq=False)
class Route:
    """One response: status, header list (may repeat names), body and optional delay.

    ``body`` may be a zero-argument callable; it is called on first use and, when
    ``cache`` is true, its result is kept (so a 20 MB body is generated once).
    ``chunked`` sends the body with ``Transfer-Encoding: chunked`` and no
    ``Content-Length``.  ``delay`` (seconds) holds the response back.
    ``Content-Length`` and ``Connection`` are added by the server; do not put
    them in ``headers``.
    """

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Body = b""
    delay: float | None = None
    chunked: bool = False
    cache: bool = True
    reason: str | None = None
    # Server-side cache of encoded wire bytes; not part of the model.
    _wire: dict = field(default_factory=dict, repr=False, compare=False)

    def body_bytes(self) -> bytes:
        """Return the body as bytes, materialising (and caching) a callable body."""
        body = self.body
        if callable(body):
            data = body()
            if self.cache:
                self.body = data
            return data
        return body

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive) or None."""
        low = name.lower()
        for key, value in self.headers:
            if key.lower() == low:
                return value
        return None


def html_route(body: str | bytes, status: int = 200, headers: Iterable[tuple[str, str]] = (),
               charset: str | None = "utf-8", delay: float | None = None) -> Route:
    """An HTML page; ``str`` bodies are encoded with ``charset`` (utf-8 if None)."""
    if isinstance(body, str):
        body = body.encode(charset or "utf-8")
    ctype = f"text/html; charset={charset}" if charset else "text/html"
    return Route(status=status, headers=[("Content-Type", ctype), *headers], body=body, delay=delay)


def text_route(body: str | bytes, status: int = 200, content_type: str = "text/plain; charset=utf-8",
               headers: Iterable[tuple[str, str]] = ()) -> Route:
    """A plain (non-HTML) response such as robots.txt or a sitemap."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return Route(status=status, headers=[("Content-Type", content_type), *headers], body=body)


def redirect(to_url: str, status: int = 301, headers: Iterable[tuple[str, str]] = ()) -> Route:
    """A redirect response to ``to_url`` (absolute or relative) with a tiny HTML body."""
    safe = to_url.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    body = f'<html><body>Moved: <a href="{safe}">{safe}</a></body></html>\n'.encode()
    return Route(status=status, headers=[("Location", to_url), ("Content-Type", "text/html; charset=utf-8"),
                                         *headers], body=body)


_NOT_FOUND_BODY = (b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>"
                   b"<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p>"
                   b"</body></html>\n")


def not_found_route(server: str | None = None) -> Route:
    """The default 404 page for unknown paths on a known site."""
    headers = [("Content-Type", "text/html; charset=utf-8")]
    if server:
        headers.append(("Server", server))
    return Route(status=404, headers=headers, body=_NOT_FOUND_BODY)


def robots_route(text: str) -> Route:
    """A robots.txt route."""
    return text_route(text)


_DEFAULT_404 = not_found_route()


def normalize_host(host: str) -> str:
    """Lower-case, strip a port, brackets and a trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else host
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


@dataclass(eq=False)
class Site:
    """A virtual site: host, behaviour kind, protocols it answers and its routes.

    * ``kind``: ``normal`` | ``refuse`` | ``reset`` (the connection is reset, no answer at all: at CONNECT
      behind the proxy, at the request when served as an origin) | ``tls_garbage`` | ``slow``.
    * ``https``: if False, CONNECT to the host behaves like ``refuse``.
    * ``http``: if False, plain HTTP to the host behaves like ``refuse``.
    * ``http_redirect``: plain HTTP answers 301 to the same URL on https.
    * ``routes``: exact path (with or without query) -> Route.
    * ``route_fn``: optional ``path -> Route | None`` for generated pages,
      consulted after ``routes``.
    * ``fallback``: route for unknown paths (default: a 404 page).
    * ``delay``: for ``slow`` sites, how long a connection is held before it is
      closed without an answer.
    """

    host: str
    kind: str = "normal"
    https: bool = True
    http: bool = True
    routes: dict[str, Route] = field(default_factory=dict)
    route_fn: Callable[[str], Route | None] | None = None
    fallback: Route | None = None
    http_redirect: bool = False
    delay: float = 120.0
    meta: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.host = normalize_host(self.host)
        if self.kind not in KINDS:
            raise ValueError(f"unknown site kind {self.kind!r}; expected one of {KINDS}")

    def add(self, path: str, route: Route) -> Route:
        """Register ``route`` at ``path`` and return it."""
        self.routes[path] = route
        return route

    def resolve(self, path: str) -> Route:
        """Route for a request path (query string tried exact first, then stripped)."""
        routes = self.routes
        route = routes.get(path)
        if route is not None:
            return route
        bare = path
        q = path.find("?")
        if q >= 0:
            bare = path[:q]
        h = bare.find("#")
        if h >= 0:
            bare = bare[:h]
        if bare != path:
            route = routes.get(bare)
            if route is not None:
                return route
        if self.route_fn is not None:
            route = self.route_fn(path)
            if route is not None:
                return route
        return self.fallback or _DEFAULT_404


Resolver = Callable[[str], Union[Site, None]]


class Web(dict):
    """Host -> Site map, plus resolver functions for pattern-matched (generated) hosts.

    ``web[host]``, ``host in web`` and ``web.get(host)`` consult the stored sites
    first and then the resolvers, so a Web can represent 100,000 generated hosts
    without storing them.  ``len(web)`` and iteration cover stored sites only.
    """

    def __init__(self, sites: Iterable[Site] = (), resolvers: Iterable[Resolver] = ()) -> None:
        super().__init__()
        self.resolvers: list[Resolver] = list(resolvers)
        for site in sites:
            self.add(site)

    def add(self, site: Site) -> Site:
        """Store ``site`` under its host (replacing an existing one) and return it."""
        dict.__setitem__(self, site.host, site)
        return site

    def add_resolver(self, resolver: Resolver) -> None:
        """Add ``resolver(host) -> Site | None`` for hosts not stored in the map."""
        self.resolvers.append(resolver)

    def lookup(self, host: str) -> Site | None:
        """Site for an already normalised host, or None (unknown host)."""
        site = dict.get(self, host)
        if site is not None:
            return site
        for resolver in self.resolvers:
            site = resolver(host)
            if site is not None:
                return site
        return None

    def __missing__(self, host: str) -> Site:
        site = self.lookup(normalize_host(host)) if isinstance(host, str) else None
        if site is None:
            raise KeyError(host)
        return site

    def get(self, host, default=None):  # type: ignore[override]
        if not isinstance(host, str):
            return default
        site = self.lookup(normalize_host(host))
        return default if site is None else site

    def __contains__(self, host) -> bool:  # type: ignore[override]
        return isinstance(host, str) and self.lookup(normalize_host(host)) is not None

    def merge(self, other: "Web") -> "Web":
        """Add all sites and resolvers of ``other`` to this web; return self."""
        for site in other.values():
            self.add(site)
        self.resolvers.extend(other.resolvers)
        return self

    def hosts(self) -> Iterator[str]:
        """Stored host names (resolver-backed hosts are not enumerated)."""
        return iter(dict.keys(self))


def hosts_in_html(html: str) -> set[str]:
    """Hosts of absolute http(s) and protocol-relative URLs in ``html`` (a cheap helper for tests)."""
    return {m.group(1).lower() for m in _URL_HOST_RE.finditer(html)}


_URL_HOST_RE = re.compile(r"(?:https?:)?//([a-zA-Z0-9.-]+\.[a-zA-Z]{2,})(?=[/:\"'?#\s<>)]|$)")
