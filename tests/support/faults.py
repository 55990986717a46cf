"""Fault-injection web: one virtual site per failure mode a crawler must classify."""

from __future__ import annotations

import functools
import gzip

from devweb.web.sites import Route, Site, Web, html_route, redirect, robots_route, text_route

__all__ = [
    "fault_web", "FAULT_EXPECTED", "FAULT_DOMAINS", "huge_body",
    "OK_SITE", "TIMEOUT_SITE", "ERROR500_SITE", "REDIRECT_LOOP_SITE", "CROSS_REDIRECT_SITE",
    "REDIRECT_TARGET_SITE", "INTERNAL_REDIRECT_SITE", "INTERNAL_REDIRECT2_SITE", "HUGE_BODY_SITE",
    "HUGE_CHUNKED_SITE", "PDF_SITE", "CHARSET_SITE", "BROKEN_HTML_SITE", "ROBOTS_DENY_SITE",
    "TLS_GARBAGE_SITE", "REFUSED_SITE", "HTTP_ONLY_SITE", "WWW_ONLY_SITE", "WWW_ONLY_WWW_HOST",
    "UNKNOWN_HOST_SITE", "XSS_SITE", "HUGE_BODY_SIZE", "CHARSET_TITLE", "CHARSET_ENCODING",
    "OK_SITE_PAGES", "OK_SITE_THIRD_PARTY", "XSS_PAYLOADS", "GZIP_BOMB_SITE", "RESET_CONNECT_SITE",
    "DNS_NXDOMAIN_SITE", "DNS_SERVFAIL_SITE", "DNS_LOOP_SITE", "DNS_DANGLING_SITE", "DNS_TIMEOUT_SITE",
    "DNS_FAULTS", "FAULT_ERROR_CLASS",
]

OK_SITE = "ok-site.de"
TIMEOUT_SITE = "timeout-site.de"
ERROR500_SITE = "error500-site.de"
REDIRECT_LOOP_SITE = "redirect-loop-site.de"
CROSS_REDIRECT_SITE = "cross-redirect-site.de"
REDIRECT_TARGET_SITE = "redirect-target-site.de"
INTERNAL_REDIRECT_SITE = "internal-redirect-site.de"
INTERNAL_REDIRECT2_SITE = "internal-redirect2-site.de"
HUGE_BODY_SITE = "huge-body-site.de"
HUGE_CHUNKED_SITE = "huge-chunked-site.de"
PDF_SITE = "pdf-site.de"
CHARSET_SITE = "charset-site.de"
BROKEN_HTML_SITE = "broken-html-site.de"
ROBOTS_DENY_SITE = "robots-deny-site.de"
TLS_GARBAGE_SITE = "tls-garbage-site.de"
REFUSED_SITE = "refused-site.de"
HTTP_ONLY_SITE = "http-only-site.de"
WWW_ONLY_SITE = "www-only-site.de"          # NOT in the web; only its www. host is
WWW_ONLY_WWW_HOST = "www.www-only-site.de"
UNKNOWN_HOST_SITE = "unknown-host-site.de"  # deliberately absent -> dns_error
XSS_SITE = "xss-site.de"
GZIP_BOMB_SITE = "gzip-bomb-site.de"        # 20 KB of gzip that inflate to 40 MB
RESET_CONNECT_SITE = "reset-connect-site.de"  # the connection is reset at CONNECT (or at the request)
# served by the local web like any site, but their names fail in DNS: the crawler's own lookup decides
DNS_NXDOMAIN_SITE = "dns-nxdomain-site.de"
DNS_SERVFAIL_SITE = "dns-servfail-site.de"
DNS_LOOP_SITE = "dns-cname-loop-site.de"
DNS_DANGLING_SITE = "dns-dangling-cname-site.de"
DNS_TIMEOUT_SITE = "dns-timeout-site.de"
#: DNS failure of each name (``tests.support.zones.fault_zone`` serves them)
DNS_FAULTS: dict[str, str] = {DNS_NXDOMAIN_SITE: "nxdomain", DNS_SERVFAIL_SITE: "servfail", DNS_LOOP_SITE: "loop",
                              DNS_DANGLING_SITE: "dangling", DNS_TIMEOUT_SITE: "timeout"}

#: Input domain -> site outcome a crawler should report.
FAULT_EXPECTED: dict[str, str] = {
    OK_SITE: "ok",
    TIMEOUT_SITE: "timeout",
    ERROR500_SITE: "http_error",
    REDIRECT_LOOP_SITE: "redirect_loop",
    CROSS_REDIRECT_SITE: "ok",
    INTERNAL_REDIRECT_SITE: "refused_private",
    INTERNAL_REDIRECT2_SITE: "refused_private",
    HUGE_BODY_SITE: "too_large",
    HUGE_CHUNKED_SITE: "too_large",
    PDF_SITE: "not_html",
    CHARSET_SITE: "ok",
    BROKEN_HTML_SITE: "ok",
    ROBOTS_DENY_SITE: "robots_denied",
    TLS_GARBAGE_SITE: "tls_error",
    REFUSED_SITE: "connect_error",
    HTTP_ONLY_SITE: "ok",
    WWW_ONLY_SITE: "ok",
    UNKNOWN_HOST_SITE: "dns_error",
    XSS_SITE: "ok",
    GZIP_BOMB_SITE: "too_large",
    RESET_CONNECT_SITE: "connect_error",
    **{domain: "dns_error" for domain in DNS_FAULTS},
}
#: Input domain -> the site's ``error_class`` where it names the fault more closely than the outcome
FAULT_ERROR_CLASS: dict[str, str] = {
    UNKNOWN_HOST_SITE: "dns_nxdomain",
    DNS_NXDOMAIN_SITE: "dns_nxdomain",
    DNS_SERVFAIL_SITE: "dns_servfail",
    DNS_LOOP_SITE: "dns_loop",
    DNS_DANGLING_SITE: "dns_nxdomain",  # the CNAME's target does not exist (the detail names it)
    DNS_TIMEOUT_SITE: "dns_timeout",
    GZIP_BOMB_SITE: "DecompressionTooLarge",
}
FAULT_DOMAINS: list[str] = list(FAULT_EXPECTED)

HUGE_BODY_SIZE = 20 * 1024 * 1024
CHARSET_TITLE = "Über uns – Müller & Söhne"
CHARSET_ENCODING = "windows-1252"

OK_SITE_PAGES = ["/impressum", "/datenschutz", "/kontakt", *[f"/blog/{i}" for i in range(1, 9)], "/about"]
OK_SITE_THIRD_PARTY = ["www.googletagmanager.com", "upload.wikimedia.org", "fonts.googleapis.com"]

XSS_PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']

_ALLOW_ALL = "User-agent: *\nAllow: /\n"


def _page(title: str, body: str, head: str = "", lang: str = "de") -> str:
    return (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n{head}</head>\n<body>\n{body}\n</body>\n</html>\n")


def _nav(links: list[str]) -> str:
    items = "".join(f'<li><a href="{href}">{href.strip("/").replace("/", " ").title() or "Start"}</a></li>'
                    for href in links)
    return f"<nav><ul>{items}</ul></nav>"


@functools.lru_cache(maxsize=1)
def gzip_bomb() -> bytes:
    """An HTML document of 40 MB gzipped to a few dozen KB (decompressed, it exceeds the 10 MB body limit)."""
    return gzip.compress(b"<!DOCTYPE html><html><body>" + b" " * (40 * 1024 * 1024) + b"</body></html>", 9)


@functools.lru_cache(maxsize=1)
def huge_body() -> bytes:
    """A valid HTML document of exactly HUGE_BODY_SIZE bytes (built once per process)."""
    head = b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Riesige Seite</title></head><body>\n"
    tail = b"</body></html>\n"
    para = (b"<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
            b"incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam.</p>\n")
    room = HUGE_BODY_SIZE - len(head) - len(tail)
    count, extra = divmod(room, len(para))
    return head + para * count + b" " * extra + tail


def _ok_site() -> Site:
    site = Site(OK_SITE, https=True, http=True)
    server = [("Server", "nginx")]
    nav = _nav(["/", *OK_SITE_PAGES])
    home_head = (
        '<link rel="preconnect" href="https://fonts.googleapis.com">\n'
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Open+Sans:wght@400;700&amp;display=swap">\n'
        '<link rel="stylesheet" href="/assets/site.css">\n'
        '<script async src="https://www.googletagmanager.com/gtm.js?id=GTM-ABC1234"></script>\n'
    )
    home_body = (
        f"<header><h1>OK Site GmbH</h1>{nav}</header>\n<main>\n"
        "<p>Willkommen bei der OK Site GmbH – Ihr Partner für einwandfreie Testseiten.</p>\n"
        '<img src="https://upload.wikimedia.org/wikipedia/commons/4/47/PNG_transparency_demonstration_1.png" '
        'alt="Logo" width="120" height="80">\n'
        + "".join(f'<article><h2><a href="/blog/{i}">Blogbeitrag {i}</a></h2><p>Kurzfassung {i}.</p></article>\n'
                  for i in range(1, 9))
        + '</main>\n<footer><a href="/impressum">Impressum</a> | <a href="/datenschutz">Datenschutz</a> | '
        '<a href="/kontakt">Kontakt</a> | <a href="/about">Über uns</a></footer>'
    )
    home_headers = server + [
        ("Content-Security-Policy",
         "default-src 'self'; script-src 'self' https://www.googletagmanager.com; "
         "style-src 'self' https://fonts.googleapis.com; font-src https://fonts.gstatic.com; "
         "img-src 'self' https://upload.wikimedia.org"),
        ("Set-Cookie", "sessionid=3f9a1c2e7b; Path=/; HttpOnly"),
        ("Set-Cookie", "site_prefs=lang%3Dde; Expires=Thu, 31 Dec 2037 23:59:59 GMT; Max-Age=31536000; "
                       "Domain=.ok-site.de; Path=/; Secure; HttpOnly; SameSite=Lax"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    site.add("/", html_route(_page("OK Site GmbH – Startseite", home_body, home_head), headers=home_headers))
    titles = {
        "/impressum": ("Impressum", "<p>OK Site GmbH, Musterstraße 1, 10115 Berlin. Geschäftsführer: Max Mustermann. "
                                    "Handelsregister: HRB 12345 B, Amtsgericht Charlottenburg.</p>"),
        "/datenschutz": ("Datenschutzerklärung", "<p>Wir verwenden den Google Tag Manager (Google Ireland Limited) "
                                                 "und Google Fonts.</p>"),
        "/kontakt": ("Kontakt", '<form method="post" action="/kontakt"><input name="email"><button>Senden</button></form>'),
        "/about": ("Über uns", "<p>Seit 1999 testen wir Crawler.</p>"),
    }
    for i in range(1, 9):
        titles[f"/blog/{i}"] = (f"Blogbeitrag {i}", f"<p>Inhalt des Beitrags {i}. " + "Text. " * 40 + "</p>")
    for path, (title, content) in titles.items():
        site.add(path, html_route(_page(f"{title} – OK Site GmbH", f"<header>{nav}</header><main><h1>{title}</h1>"
                                        f"{content}</main>"), headers=server))
    site.add("/assets/site.css", text_route("body{font-family:'Open Sans',sans-serif}\n", content_type="text/css"))
    site.add("/robots.txt", robots_route(_ALLOW_ALL + f"Sitemap: https://{OK_SITE}/sitemap.xml\n"))
    return site


def _simple_site(host: str, title: str, extra: str = "", links: list[str] | None = None, **kw) -> Site:
    site = Site(host, **kw)
    links = links or ["/impressum"]
    site.add("/", html_route(_page(title, f"<h1>{title}</h1>{_nav(links)}{extra}"), headers=[("Server", "Apache")]))
    for link in links:
        if link.startswith("/"):
            site.add(link, html_route(_page(f"{link.strip('/').title()} – {title}", f"<h1>{link}</h1>")))
    site.add("/robots.txt", robots_route(_ALLOW_ALL))
    return site


def _charset_site() -> Site:
    site = Site(CHARSET_SITE)
    esc_title = CHARSET_TITLE.replace("&", "&amp;")
    body = (f"<h1>{esc_title}</h1>\n<p>Grüße aus Köln! Öffnungszeiten: Mo–Fr 9–18 Uhr, "
            f"Straße der Einheit 5. Preise ab 9,99 € – „gut & günstig“.</p>\n"
            '<ul><li><a href="/wrong">Falscher Zeichensatz</a></li><li><a href="/meta">Meta-Zeichensatz</a></li>'
            '<li><a href="/impressum">Impressum</a></li></ul>\n')
    doc = ("<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<title>" + esc_title + "</title>\n</head>\n<body>\n"
           + body + "</body>\n</html>\n")
    raw = doc.encode(CHARSET_ENCODING)
    meta_doc = doc.replace("<head>\n", '<head>\n<meta charset="windows-1252">\n', 1).encode(CHARSET_ENCODING)
    site.add("/", Route(headers=[("Content-Type", "text/html")], body=raw))
    site.add("/wrong", Route(headers=[("Content-Type", "text/html; charset=utf-8")], body=raw))
    site.add("/meta", Route(headers=[("Content-Type", "text/html")], body=meta_doc))
    site.add("/impressum", Route(headers=[("Content-Type", "text/html")],
                                 body=_page("Impressum", "<p>Müller &amp; Söhne OHG</p>").replace(
                                     '<meta charset="utf-8">\n', "").encode(CHARSET_ENCODING)))
    site.add("/robots.txt", robots_route(_ALLOW_ALL))
    return site


_BROKEN_HTML = (
    b"<!DOCTYPE html>\n<html><head><title>Kaputte Seite<title>\n"
    b"<meta name=description content=Kaputt und trotzdem online>\n"
    b"<link rel=stylesheet href=//fonts.googleapis.com/css?family=Lato>\n"
    b"<script src=//cdn.jsdelivr.net/npm/foo@1/x.js>\n"
    b"</head><body class=home id=top>\n"
    b"<div class=wrapper><div class=content>\n"
    b"<p>Absatz ohne Ende<p>Noch einer <b>fett <i>kursiv</b></i>\n"
    b"</div></div></div></span>\n"
    b"<a href=/impressum>Impressum</a> <a href=/datenschutz title=Daten schutz>Datenschutz</a>\n"
    b"<img src=https://www.facebook.com/tr?id=998877665544332&ev=PageView width=1 height=1>\n"
    b"<table><tr><td>Zelle<td>Zelle 2<tr><td>\x00NUL\x00-Bytes\x00</table>\n"
    b"<!-- Kommentar ohne Ende <div>\n"
    b"<iframe src=https://www.youtube.com/embed/dQw4w9WgXcQ width=560></iframe>\n"
    b"--><p>Letzter Absatz mit <a href=\"/blog/1"
)


def _xss_site() -> Site:
    site = Site(XSS_SITE)
    s, img = XSS_PAYLOADS
    img_attr = img.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    s_attr = s.replace("<", "&lt;").replace(">", "&gt;")
    title = f"Shop {s} Angebote"
    body = (
        f"<h1>XSS-Testseite</h1>\n"
        f'<a href="/suche?q={s_attr}">Suche</a>\n'
        f'<a href="/produkt?name={img_attr}">Produkt</a>\n'
        f'<a href="https://tracker.example.org/c?u={img_attr}">Extern</a>\n'
        f'<a href="/p/{img}">Roh eingebettet</a>\n'
        f'<script src="https://cdn.jsdelivr.net/npm/xss@1/{s_attr}.js"></script>\n'
        f'<img src="https://www.googletagmanager.com/ns.html?id=GTM-{img_attr}">\n'
        f'<a href="/impressum">Impressum</a>\n'
        f'<a href="/datenschutz">Datenschutz</a>\n'
    )
    headers = [
        ("Server", "nginx"),
        ("Set-Cookie", f"{s}=1; Path=/"),
        ("Set-Cookie", f"{img}=2; Path=/; HttpOnly"),
        ("Set-Cookie", "safe_cookie=ok; Path=/; Secure"),
    ]
    site.add("/", html_route(_page(title, body, '<meta name="description" content="' + img_attr + '">\n'),
                             headers=headers))
    site.add("/impressum", html_route(_page("Impressum", f"<p>{s_attr}</p>")))
    # policy text carrying the payloads as text (escaped in the HTML) and a service name next to them
    site.add("/datenschutz", html_route(_page(f"Datenschutz {s_attr}",
                                              f"<p>Wir nutzen jsDelivr {s_attr} und {img_attr}.</p>")))
    site.add("/robots.txt", robots_route(_ALLOW_ALL))
    return site


def fault_web() -> Web:
    """The fault-injection web (see FAULT_EXPECTED for the outcome each input domain should yield)."""
    web = Web()
    web.add(_ok_site())

    web.add(Site(TIMEOUT_SITE, kind="slow"))

    err = Site(ERROR500_SITE, fallback=html_route(
        _page("500 Internal Server Error", "<h1>Internal Server Error</h1><p>Bitte später erneut versuchen.</p>"),
        status=500, headers=[("Server", "Apache/2.4.57 (Debian)")]))
    web.add(err)

    loop = Site(REDIRECT_LOOP_SITE)
    loop.add("/", redirect("/a", 302))
    loop.add("/a", redirect("/b", 302))
    loop.add("/b", redirect("/", 302))
    web.add(loop)

    cross = Site(CROSS_REDIRECT_SITE)
    cross.add("/", redirect(f"https://{REDIRECT_TARGET_SITE}/welcome", 301))
    cross.add("/robots.txt", robots_route(_ALLOW_ALL))
    web.add(cross)
    target = _simple_site(
        REDIRECT_TARGET_SITE, "Willkommen beim Weiterleitungsziel",
        extra='<script src="https://cdn.jsdelivr.net/npm/jquery@3.7.1/dist/jquery.min.js"></script>',
        links=["/impressum"])
    target.add("/welcome", target.routes["/"])
    target.routes["/"] = redirect("/welcome", 302)
    web.add(target)

    web.add(Site(INTERNAL_REDIRECT_SITE, routes={"/": redirect("http://127.0.0.1:9/admin", 302)}))
    web.add(Site(INTERNAL_REDIRECT2_SITE, routes={"/": redirect("http://10.0.0.7/", 302)}))

    web.add(Site(HUGE_BODY_SITE, routes={
        "/": Route(headers=[("Content-Type", "text/html; charset=utf-8")], body=huge_body)}))
    web.add(Site(HUGE_CHUNKED_SITE, routes={
        "/": Route(headers=[("Content-Type", "text/html; charset=utf-8")], body=huge_body, chunked=True)}))

    pdf = (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
           b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
           b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n"
           b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
    web.add(Site(PDF_SITE, routes={"/": Route(headers=[("Content-Type", "application/pdf")], body=pdf)}))

    web.add(_charset_site())

    web.add(Site(BROKEN_HTML_SITE, routes={
        "/": Route(headers=[("Content-Type", "text/html")], body=_BROKEN_HTML),
        "/robots.txt": robots_route(_ALLOW_ALL)}))

    deny = _simple_site(ROBOTS_DENY_SITE, "Roboter unerwünscht",
                        extra='<script src="https://www.googletagmanager.com/gtag/js?id=G-DENY12345"></script>')
    deny.add("/robots.txt", robots_route("User-agent: *\nDisallow: /\n"))
    web.add(deny)

    web.add(Site(TLS_GARBAGE_SITE, kind="tls_garbage"))
    web.add(Site(REFUSED_SITE, kind="refuse"))

    web.add(_simple_site(HTTP_ONLY_SITE, "Nur HTTP – Pension Sonnenschein", https=False, http=True,
                         extra='<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Lato">'))

    web.add(_simple_site(WWW_ONLY_WWW_HOST, "Nur mit www – Tischlerei Holzmann", http_redirect=True,
                         extra='<script src="https://consent.cookiebot.com/uc.js" '
                               'data-cbid="0f6b9a4e-2c31-4d8e-9a57-3b1f2e4c5d6a"></script>'))

    web.add(_xss_site())
    web.add(Site(GZIP_BOMB_SITE, routes={"/": Route(headers=[("Content-Type", "text/html; charset=utf-8"),
                                                             ("Content-Encoding", "gzip")], body=gzip_bomb),
                                        "/robots.txt": robots_route(_ALLOW_ALL)}))
    web.add(Site(RESET_CONNECT_SITE, kind="reset"))
    for domain in DNS_FAULTS:
        web.add(_simple_site(domain, "Nur per Proxy erreichbar"))
    return web
