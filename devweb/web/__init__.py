"""Local web: a loopback HTTP/HTTPS forward proxy serving many virtual sites from memory for crawler tests."""

from .bench import bench_domain_list_text, bench_domains, bench_web
from .browserweb import BROWSER_DOMAINS, browser_web
from .demo import DEMO_DOMAINS, demo_domain_list_text, demo_ground_truth, demo_web
from .faults import FAULT_EXPECTED, fault_web
from .server import LocalWeb, serve_forever
from .sites import Route, Site, Web, html_route, redirect, text_route

__all__ = [
    "LocalWeb", "serve_forever",
    "Route", "Site", "Web", "html_route", "text_route", "redirect",
    "fault_web", "FAULT_EXPECTED",
    "demo_web", "DEMO_DOMAINS", "demo_domain_list_text", "demo_ground_truth",
    "bench_web", "bench_domains", "bench_domain_list_text",
    "browser_web", "BROWSER_DOMAINS",
    "build_web",
]


def build_web(names: str, n: int = 1000, month: int = 1, pages_per_site: int = 5) -> Web:
    """Build a web from comma-separated names (demo, faults, bench, browser), merged in order."""
    web = Web()
    for name in (part.strip() for part in names.split(",")):
        if name == "demo":
            web.merge(demo_web(month))
        elif name == "faults":
            web.merge(fault_web())
        elif name == "bench":
            web.merge(bench_web(n, pages_per_site))
        elif name == "browser":
            web.merge(browser_web())
        else:
            raise ValueError(f"unknown web {name!r}; expected demo, faults, bench or browser")
    return web
