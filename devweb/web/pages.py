"""The demo web's HTML pages as plain tuples, for measurements that observe them without a crawl (the top-services
ranking: ``pipelines.catalog.prevalence.compute_top_services``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from http.cookies import SimpleCookie

from devweb.web.demo import demo_web


def demo_pages(months: Iterable[int] = (1, 2)) -> Iterator[tuple[str, str, bytes, tuple[str, ...]]]:
    """Every HTML page of every demo site in ``months``: (site domain, URL, body, names of the cookies it sets)."""
    for month in months:
        for site in demo_web(month).values():
            domain = site.meta.get("domain")
            if not domain:
                continue  # a redirecting apex host
            for path, route in sorted(site.routes.items()):
                if "text/html" not in (route.header("Content-Type") or ""):
                    continue
                names = []
                for name, value in route.headers:
                    if name.lower() == "set-cookie":
                        names += list(SimpleCookie(value).keys())
                yield domain, f"https://{site.host}{path}", route.body_bytes(), tuple(names)
