"""How many sites embed each catalog service on a set of pages, found with the project's own ``observe`` and
``Detector``: the ranking behind ``data/reference/top_services.csv`` (the services whose companies the facts
check requires complete data for).

Two page sets, both offline: the real-page dev corpus (``realpages-dev``, the pages of its .de/.at/.ch sites,
the corpus the catalog was built from; see data/README.md) and the demo web (``pipelines.localweb.demo``, every
HTML page of every demo site in both demo months, with the cookies its responses set). A site counts once per
service, however many of its pages show it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

from pipelines.catalog.load import DEFAULT_DATA_DIR

TOP_SERVICES = Path("reference") / "top_services.csv"
CORPUS_SUFFIXES = (".de", ".at", ".ch")
CORPUS_TOP = 100
COLUMNS = ("service_id", "pages", "rank", "sites", "sites_total")


@dataclass(frozen=True)
class Page:
    """One page to observe: the site it belongs to, its URL (its first-party identity), body and cookie names."""

    site: str
    url: str
    body: bytes
    cookies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ranked:
    """A service's place in one page set: ``sites`` of ``sites_total`` embed it."""

    service_id: str
    pages: str  # "realpages-dev" or "demo"
    rank: int
    sites: int
    sites_total: int


def corpus_pages(corpus_dir: str | Path, suffixes: tuple[str, ...] = CORPUS_SUFFIXES) -> Iterator[Page]:
    """The pages of the dev corpus (``manifest.csv`` + ``pages/``) whose site host ends in one of ``suffixes``."""
    root = Path(corpus_dir)
    with (root / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["site_host"].endswith(suffixes):
                yield Page(row["site_host"], row["original_url"], (root / row["page_file"]).read_bytes())


def demo_pages(months: Iterable[int] = (1, 2)) -> Iterator[Page]:
    """Every HTML page of every demo site (``pipelines.localweb.demo.demo_web``) in ``months``."""
    from pipelines.localweb.demo import demo_web

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
                yield Page(domain, f"https://{site.host}{path}", route.body_bytes(), tuple(names))


def sites_per_service(pages: Iterable[Page], catalog) -> tuple[dict[str, set[str]], set[str]]:
    """service id -> the sites whose pages show it (``Detector`` on ``observe``), and every site seen."""
    from crawler.hosts import host_of
    from crawler.observe import observe
    from pipelines.catalog.detect import Detector

    detector = Detector(catalog)
    found: dict[str, set[str]] = {}
    sites: set[str] = set()
    for page in pages:
        sites.add(page.site)
        obs = observe(page.body, page.url, links=False)
        for d in detector.detect(site_host=host_of(page.url), references=obs.references,
                                 signatures=obs.signature_evidence(), cookies=page.cookies):
            found.setdefault(d.service_id, set()).add(page.site)
    return found, sites


def rank(found: dict[str, set[str]], sites_total: int, pages: str, top: int | None = None) -> list[Ranked]:
    """Services by sites (most first, then by id); ``top`` keeps the first ``top``."""
    ordered = sorted(found.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]
    return [Ranked(sid, pages, i, len(s), sites_total) for i, (sid, s) in enumerate(ordered, start=1)]


def top_services_csv(rows: Iterable[Ranked], how: str) -> str:
    """The ranking as the stored CSV: ``#`` comment lines saying how it was computed, then the rows."""
    buf = io.StringIO()
    for line in how.strip().splitlines():
        buf.write(f"# {line}\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([r.service_id, r.pages, r.rank, r.sites, r.sites_total])
    return buf.getvalue()


def read_top_services(data_dir: str | Path = DEFAULT_DATA_DIR) -> list[Ranked]:
    """The stored ranking (``reference/top_services.csv``), in file order; [] when the file is missing."""
    path = Path(data_dir) / TOP_SERVICES
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(line for line in fh if not line.startswith("#"))
        return [Ranked(r["service_id"], r["pages"], int(r["rank"]), int(r["sites"]), int(r["sites_total"]))
                for r in reader]


def top_service_ids(data_dir: str | Path = DEFAULT_DATA_DIR) -> list[str]:
    """The service ids of the stored ranking, without repeats (the services the facts check covers)."""
    return list(dict.fromkeys(r.service_id for r in read_top_services(data_dir)))


HOW = """The {top} services on most .de/.at/.ch sites of the realpages-dev corpus ({corpus_sites} sites), then every service
on the demo web ({demo_sites} sites, both months), by sites. Found with the project's own crawler.observe and
pipelines.catalog.detect.Detector on the curated catalog plus the third-party-web long tail ({long_tail});
ties broken by service id (pipelines/catalog/prevalence.py). Recompute after a catalog change:
servicerisk refdata top-services --corpus .cache/realpages-dev --write
The facts check (servicerisk refdata dpf --check) requires a known seat for every company behind these services."""


def compute_top_services(corpus_dir: str | Path, catalog, provenance: str, top: int = CORPUS_TOP
                         ) -> tuple[list[Ranked], str]:
    """The ranking (corpus top ``top``, then the whole demo) and the text saying how it was computed."""
    found, sites = sites_per_service(corpus_pages(corpus_dir), catalog)
    rows = rank(found, len(sites), "realpages-dev", top)
    corpus_sites = len(sites)
    found, sites = sites_per_service(demo_pages(), catalog)
    rows += rank(found, len(sites), "demo")
    return rows, HOW.format(top=top, corpus_sites=corpus_sites, demo_sites=len(sites), long_tail=provenance)
