"""Local web: a loopback HTTP/HTTPS forward proxy serving many virtual sites from memory (the demo web and the
browser fixture sites; the fault and bench webs of tests and benchmarks live in ``tests/support``)."""

from .browserweb import BROWSER_DOMAINS, browser_web
from .demo import DEMO_DOMAINS, demo_domain_list_text, demo_ground_truth, demo_web
from .server import LocalWeb, serve_forever
from .sites import Route, Site, Web, html_route, redirect, text_route

__all__ = [
    "LocalWeb", "serve_forever",
    "Route", "Site", "Web", "html_route", "text_route", "redirect",
    "demo_web", "DEMO_DOMAINS", "demo_domain_list_text", "demo_ground_truth",
    "browser_web", "BROWSER_DOMAINS",
    "build_web",
]


def build_web(names: str, month: int = 1) -> Web:
    """Build a web from comma-separated names (demo, browser), merged in order."""
    web = Web()
    for name in (part.strip() for part in names.split(",")):
        if name == "demo":
            web.merge(demo_web(month))
        elif name == "browser":
            web.merge(browser_web())
        else:
            raise ValueError(f"unknown web {name!r}; expected demo or browser")
    return web
