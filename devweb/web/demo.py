"""Deterministic demo web of German-looking sites that embed real third-party services like real sites do.

The ground truth (services, sites, who embeds what and how, month-2 changes) is data, read by
``devweb.web.demo_sites``; the pages' markup is in ``templates/demo/`` and their words in ``devweb/data/demo_text.yml``.
This module gathers each page's data and serves the rendered pages as routes."""

from __future__ import annotations

import base64
import random
from pathlib import Path

import jinja2
from markupsafe import Markup

from devweb.dns.demo import DEMO_CLOAKED

from .demo_sites import (
    DEMO_DOMAINS,
    DEMO_EMBEDDINGS,
    DEMO_SERVICES,
    DEMO_SITES,
    DEMO_TEXT,
    MONTH2_CHANGES,
    DemoSite,
    ServiceInfo,
    SiteContext,
    declared_services,
    demo_domain_list_text,
    demo_ground_truth,
    seed,
    site_context,
    site_services,
)
from .sites import Route, Site, Web, html_route, redirect, robots_route, text_route

__all__ = [
    "demo_web", "DEMO_DOMAINS", "DEMO_SITES", "DEMO_SERVICES", "MONTH2_CHANGES", "DEMO_EMBEDDINGS",
    "demo_domain_list_text", "demo_ground_truth", "DemoSite", "ServiceInfo", "site_services", "declared_services",
]

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _escape(value: object) -> Markup:
    """The demo pages' HTML escaping: ``& < > "`` (apostrophes stay, as on the pages the demo imitates)."""
    if isinstance(value, Markup):
        return value
    text = str(value)
    return Markup(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;"))


# autoescape on; every value goes through _escape (finalize) first, so autoescape sees markup and leaves it as is
_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, finalize=_escape,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                          keep_trailing_newline=True)
_ENV.filters["b64"] = lambda markup: base64.b64encode(str(markup).encode("utf-8")).decode("ascii")
_ENV.filters["as_text"] = str  # embed code as text, escaped into an attribute


def _site_data(ctx: SiteContext) -> dict:
    """What every page of the site shows: the context, navigation, social links, held-back embeds, legal numbers."""
    ds, text = ctx.ds, DEMO_TEXT
    pages = text["pages"][ds.template]
    socials = []
    rng = random.Random(seed(ds.domain, "social"))
    if rng.random() < 0.8:
        socials.append((f'https://www.instagram.com/{ctx.slug.replace("-", "_")}/', "Instagram"))
    if rng.random() < 0.6 or not socials:
        socials.append((f'https://www.facebook.com/{ctx.slug.replace("-", "")}', "Facebook"))
    if ds.template in ("law", "saas") and rng.random() < 0.7:
        socials.append((f"https://www.linkedin.com/company/{ctx.slug}/", "LinkedIn"))
    rng = random.Random(seed(ds.domain, "impressum"))
    if ds.domain.endswith(".at"):
        legal_numbers = [rng.randrange(10**7, 10**8)]
    elif ds.domain.endswith(".ch"):
        legal_numbers = [rng.randrange(100, 999) for _ in range(3)]
    else:
        legal_numbers = [rng.randrange(1000, 99999), rng.randrange(10**8, 10**9)]
    # first-party subdomains CNAMEd to trackers (CNAME cloaking), as some publishers and shops run them
    cloaked_scripts = [url for host, (_zone, _tracker, url) in sorted(DEMO_CLOAKED.items())
                       if host.endswith("." + ds.domain)]
    ids = ctx.ids
    maps_pb = (f"!1m18!1m12!1m3!1d2662.{ids['maps_ts'][-6:]}!2d{ctx.lon}!3d{ctx.lat}!2m3!1f0!2f0!3f0!3m2!1i1024"
               f"!2i768!4f13.1!3m3!1m2!1s{ids['maps_hex'].replace(':', '%3A')}!2s{ctx.street.replace(' ', '%20')}"
               f"!5e0!3m2!1sde!2sde!4v{ids['maps_ts']}!5m2!1sde!2sde")
    return {
        "ctx": ctx, "ds": ds, "ids": ids, "services": ctx.services, "held": DEMO_EMBEDDINGS.get(ds.domain, {}),
        "lead": text["paragraphs"][ds.template][0], "pages": pages, "theme": ctx.slug.split("-")[0],
        "nav": [("/", "Start"), *[(p["path"], p["title"]) for p in pages], ("/kontakt", "Kontakt")],
        "socials": socials, "legal_numbers": legal_numbers, "maps_pb": maps_pb,
        "cloaked_scripts": cloaked_scripts,
        "declared": sorted((DEMO_SERVICES[k] for k in ctx.declared), key=lambda s: s.name),
        "purposes": text["policy_purposes"],
    }


def _render(template: str, site: dict, path: str, title: str, **page) -> str:
    body_class = f"page-{path.strip('/').replace('/', '-') or 'home'} template-{site['ds'].template}"
    return _ENV.get_template(f"demo/{template}").render(site, path=path, title=title, body_class=body_class, **page)


def _cookies(ctx: SiteContext) -> list[tuple[str, str]]:
    """First-party Set-Cookie headers for the home page."""
    out: list[tuple[str, str]] = []
    i = ctx.ids
    rng = random.Random(seed(ctx.ds.domain, "cookies"))
    if ctx.server == "cloudflare":
        out.append(("Set-Cookie", f"__cf_bm={i['cf_bm']}; path=/; expires=Fri, 31-Dec-2037 23:59:59 GMT; "
                                  f"domain=.{ctx.ds.domain}; HttpOnly; Secure; SameSite=None"))
    if ctx.ds.template == "shop":
        out.append(("Set-Cookie", f"shop_session={i['session']}; path=/; secure; HttpOnly; SameSite=Lax"))
        if rng.random() < 0.5:
            out.append(("Set-Cookie", "cart_currency=EUR; Max-Age=31536000; path=/; SameSite=Lax"))
    elif ctx.ds.template == "saas":
        out.append(("Set-Cookie", f"XSRF-TOKEN={i['session']}{i['cf_token'][:10]}; expires=Fri, 31 Dec 2037 "
                                  "23:59:59 GMT; Max-Age=7200; path=/; secure; samesite=lax"))
        out.append(("Set-Cookie", f"app_session={i['cf_token']}; expires=Fri, 31 Dec 2037 23:59:59 GMT; "
                                  "Max-Age=7200; path=/; secure; httponly; samesite=lax"))
    elif not ctx.wordpress and rng.random() < 0.35:
        out.append(("Set-Cookie", f"PHPSESSID={i['session']}; path=/; HttpOnly"))
    return out


def _robots(ctx: SiteContext) -> str:
    robots = "User-agent: *\n"
    if ctx.wordpress:
        robots += "Disallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n"
    if ctx.ds.template == "shop":
        robots += "Disallow: /warenkorb\nDisallow: /checkout/\n"
    if ctx.ds.template == "saas":
        robots += "Disallow: /app/\n"
    return robots + f"\nSitemap: https://{ctx.host}/sitemap.xml\n"


def _build_site(ds: DemoSite, month: int) -> list[Site]:
    ctx = site_context(ds, month)
    data = _site_data(ctx)
    paragraphs = DEMO_TEXT["paragraphs"][ds.template]
    rng = random.Random(seed(ds.domain, "content"))
    server = [("Server", ctx.server)]
    if ctx.server == "cloudflare":
        server.append(("CF-Cache-Status", "DYNAMIC"))
    if ctx.wordpress:
        server.append(("Link", f'<https://{ctx.host}/wp-json/>; rel="https://api.w.org/"'))
    site = Site(ctx.host, http=True, http_redirect=True,
                meta={"domain": ds.domain, "template": ds.template, "month": month,
                      "services": sorted(ctx.services), "declared": sorted(ctx.declared)})
    site.fallback = Route(status=404, headers=[("Content-Type", "text/html; charset=utf-8"), *server],
                          body=_render("not_found.html.j2", data, "/404", "Seite nicht gefunden").encode())

    def page(path: str, title: str, template: str, headers=(), **extra) -> None:
        site.add(path, html_route(_render(template, data, path, title, **extra), headers=[*server, *headers]))

    page("/", "Startseite", "page.html.j2", headers=_cookies(ctx), heading=f"Willkommen bei {ds.name}",
         paragraphs=rng.sample(paragraphs, k=3), placement="home")
    for p in data["pages"]:
        page(p["path"], p["title"], "page.html.j2", heading=p["title"], paragraphs=rng.sample(paragraphs, k=3),
             placement=p["embeds"])
    page("/kontakt", "Kontakt", "kontakt.html.j2")
    page("/impressum", "Impressum", "impressum.html.j2")
    page("/datenschutz", "Datenschutzerklärung", "datenschutz.html.j2")

    paths = ["/", *[p["path"] for p in data["pages"]], "/kontakt", "/impressum", "/datenschutz"]
    site.add("/robots.txt", robots_route(_robots(ctx)))
    site.add("/sitemap.xml", text_route(_ENV.get_template("demo/sitemap.xml.j2").render(ctx=ctx, paths=paths),
                                        content_type="application/xml"))
    site.add("/assets/css/main.css", text_route("body{font-family:Roboto,Arial,sans-serif;margin:0}\n",
                                                content_type="text/css"))
    site.add("/assets/js/app.js", text_route("document.documentElement.classList.add('js');\n",
                                             content_type="application/javascript"))
    site.add("/favicon.ico", Route(headers=[("Content-Type", "image/x-icon")], body=b"\x00\x00\x01\x00" + b"\x00" * 18))
    sites = [site]
    if ds.www:
        apex = Site(ds.domain, http=True, http_redirect=True,
                    route_fn=lambda path, _h=ctx.host: redirect(f"https://{_h}{path}", 301, headers=server))
        sites.append(apex)
    return sites


def demo_web(month: int = 1) -> Web:
    """The demo web for ``month`` (1 = baseline; >= 2 applies MONTH2_CHANGES)."""
    web = Web()
    for ds in DEMO_SITES:
        for site in _build_site(ds, month):
            web.add(site)
    return web
