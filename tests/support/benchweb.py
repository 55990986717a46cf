"""Synthetic benchmark web: up to 100,000+ generated sites whose pages are rendered on request."""

from __future__ import annotations

import functools
import re

from devweb.web.sites import Route, Site, Web, robots_route

__all__ = ["bench_web", "bench_domains", "bench_domain_list_text", "bench_host", "BENCH_REFS_PER_PAGE"]

BENCH_REFS_PER_PAGE = 20

_ROBOTS = robots_route("User-agent: *\nAllow: /\n")  # shared: its wire bytes are encoded once
_HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Server", "nginx"), ("Cache-Control", "no-cache")]

# Pool of third-party references; %(n)d is the site number, %(h)s a per-site hex id.
_REF_POOL = [
    ("head", "<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});"
             "var f=d.getElementsByTagName(s)[0],j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;"
             "j.src='https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);"
             "})(window,document,'script','dataLayer','GTM-%(g)s');</script>\n"),
    ("head", '<script async src="https://www.googletagmanager.com/gtag/js?id=G-%(G)s"></script>\n'),
    ("head", '<link rel="preconnect" href="https://fonts.gstatic.com" crossorigin>\n'
             '<link href="https://fonts.googleapis.com/css2?family=Roboto:wght@400;700&amp;display=swap" rel="stylesheet">\n'),
    ("head", '<script id="Cookiebot" src="https://consent.cookiebot.com/uc.js" data-cbid="%(uuid)s" '
             'data-blockingmode="auto"></script>\n'),
    ("head", '<script id="usercentrics-cmp" src="https://app.usercentrics.eu/browser-ui/latest/loader.js" '
             'data-settings-id="%(g)sx" async></script>\n'),
    ("head", "<script>!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?"
             "n.callMethod.apply(n,arguments):n.queue.push(arguments)};if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;"
             "n.version='2.0';n.queue=[];t=b.createElement(e);t.async=!0;t.src=v;s=b.getElementsByTagName(e)[0];"
             "s.parentNode.insertBefore(t,s)}(window,document,'script','https://connect.facebook.net/en_US/fbevents.js');"
             "fbq('init','%(fb)d');fbq('track','PageView');</script>\n"),
    ("head", "<script>(function(h,o,t,j,a,r){h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};"
             "h._hjSettings={hjid:%(hj)d,hjsv:6};a=o.getElementsByTagName('head')[0];r=o.createElement('script');"
             "r.async=1;r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv;a.appendChild(r);"
             "})(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');</script>\n"),
    ("head", '<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/bootstrap@5.3.2/dist/css/bootstrap.min.css">\n'),
    ("end", '<script src="https://cdnjs.cloudflare.com/ajax/libs/jquery/3.7.1/jquery.min.js"></script>\n'),
    ("end", '<script src="https://unpkg.com/swiper@11/swiper-bundle.min.js"></script>\n'),
    ("end", "<script defer src='https://static.cloudflareinsights.com/beacon.min.js' "
            "data-cf-beacon='{\"token\": \"%(h)s\"}'></script>\n"),
    ("end", '<script async src="https://userlike-cdn-widgets.s3-eu-west-1.amazonaws.com/%(h)s%(h)s.js"></script>\n'),
    ("end", '<script src="https://widgets.trustedshops.com/js/X%(H)s.js" async></script>\n'),
    ("end", '<script type="text/javascript" src="https://widget.trustpilot.com/bootstrap/v5/tp.widget.bootstrap.min.js"'
            ' async></script>\n'),
    ("end", '<script>_linkedin_partner_id = "%(li)d";</script><script async '
            'src="https://snap.licdn.com/li.lms-analytics/insight.min.js"></script>\n'),
    ("end", '<script>(function(c,l,a,r,i,t,y){c[a]=c[a]||function(){(c[a].q=c[a].q||[]).push(arguments)};'
            't=l.createElement(r);t.async=1;t.src="https://www.clarity.ms/tag/"+i;y=l.getElementsByTagName(r)[0];'
            'y.parentNode.insertBefore(t,y);})(window, document, "clarity", "script", "%(c)s");</script>\n'),
    ("end", '<script src="https://www.google.com/recaptcha/api.js" async defer></script>\n'),
    ("end", '<script src="https://script.ioam.de/iam.js"></script>\n'),
    ("end", '<script>window.__lc={license:%(lc)d};</script><script async src="https://cdn.livechatinc.com/tracking.js">'
            "</script>\n"),
    ("end", '<script id="_etLoader" data-secure-code="%(g)s" src="https://code.etracker.com/code/e.js" async></script>\n'),
    ("main", '<iframe width="560" height="315" src="https://www.youtube.com/embed/%(yt)s" allowfullscreen></iframe>\n'),
    ("main", '<iframe src="https://www.youtube-nocookie.com/embed/%(yt)s" width="560" height="315"></iframe>\n'),
    ("main", '<iframe src="https://player.vimeo.com/video/%(vm)d" width="640" height="360"></iframe>\n'),
    ("main", '<iframe src="https://www.google.com/maps/embed?pb=!1m18!1m12!1m3!1d2662.%(n)d!2d11.57!3d48.13" '
             'width="600" height="450" loading="lazy"></iframe>\n'),
    ("main", '<img src="https://vg0%(v)d.met.vgwort.de/na/%(h)s" width="1" height="1" alt="">\n'),
    ("main", '<img src="https://www.facebook.com/tr?id=%(fb)d&ev=PageView&noscript=1" height="1" width="1" alt="">\n'),
]

_PARAGRAPHS = [
    "Wir freuen uns, Sie auf unserer Website begrüßen zu dürfen. Unser Team steht Ihnen mit Rat und Tat zur Seite.",
    "Qualität, Zuverlässigkeit und Service stehen bei uns seit der Gründung im Mittelpunkt unserer Arbeit.",
    "Alle Preise verstehen sich inklusive der gesetzlichen Mehrwertsteuer und zuzüglich Versandkosten.",
    "Bitte vereinbaren Sie vorab telefonisch oder per E-Mail einen Termin, damit wir uns Zeit für Sie nehmen können.",
    "Unsere Öffnungszeiten: Montag bis Freitag von 9 bis 18 Uhr, Samstag von 10 bis 14 Uhr.",
    "Nachhaltigkeit ist uns wichtig: Wir setzen auf regionale Partner und kurze Lieferwege.",
    "Aktuelle Informationen finden Sie regelmäßig in unserem Blog sowie in unserem Newsletter.",
    "Für Fragen zu Ihrer Bestellung erreichen Sie unseren Kundenservice unter der angegebenen Telefonnummer.",
]
_FILLER = "".join(f'<section class="block-{k}"><h2>Abschnitt {k}</h2><p>{_PARAGRAPHS[k % 8]} '
                  f'{_PARAGRAPHS[(k * 3 + 1) % 8]} {_PARAGRAPHS[(k * 5 + 2) % 8]}</p></section>\n'
                  for k in range(120))
_HOST_RE = re.compile(r"site-(\d{5,})\.de")


def bench_host(k: int) -> str:
    """Host name of synthetic site number ``k`` (1-based)."""
    return f"site-{k:05d}.de"


def bench_domains(n: int) -> list[str]:
    """The n synthetic input domains in order."""
    return [bench_host(k) for k in range(1, n + 1)]


def bench_domain_list_text(n: int) -> str:
    """Input list text for the benchmark (comment header, one domain per line)."""
    return f"# servicerisk benchmark: {n} synthetic sites\n" + "\n".join(bench_domains(n)) + "\n"


def _ids(k: int) -> dict:
    h = f"{(k * 2654435761) & 0xFFFFFFFF:08x}{(k * 40503) & 0xFFFF:04x}{k & 0xFFFFF:05x}abc"
    return {
        "n": k, "h": h, "H": (h + h)[:32].upper(), "g": f"{k:07X}"[-7:], "G": f"B{k:09X}"[-10:],
        "uuid": f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{(h * 2)[:12]}",
        "fb": 100000000000000 + k * 7919, "hj": 1000000 + k, "li": 2000000 + k, "c": f"c{h[:9]}",
        "lc": 10000000 + k, "yt": f"Y{k:010d}"[-11:], "vm": 100000000 + k, "v": 1 + k % 9,
    }


class _BenchSite:
    """Per-site strings shared by all pages of one synthetic site."""

    __slots__ = ("k", "host", "head", "end", "main", "pages")

    def __init__(self, k: int, pages: int) -> None:
        self.k = k
        self.host = bench_host(k)
        self.pages = pages
        ids = _ids(k)
        pool = len(_REF_POOL)
        start = (k * 7) % pool
        chosen = [_REF_POOL[(start + j) % pool] for j in range(BENCH_REFS_PER_PAGE)]
        self.head = "".join(t % ids for place, t in chosen if place == "head")
        self.end = "".join(t % ids for place, t in chosen if place == "end")
        self.main = "".join(t % ids for place, t in chosen if place == "main")

    def page(self, path: str) -> Route | None:
        if path == "/" or path == "/index.html":
            idx = 0
        elif path.startswith("/page/"):
            try:
                idx = int(path[6:])
            except ValueError:
                return None
            if not 1 <= idx < self.pages:
                return None
        else:
            return None
        k = self.k
        links = "".join(f'<li><a href="/page/{j}">Unterseite {j}</a></li>' for j in range(1, self.pages))
        # 15-30 KB per page: slice the shared filler at a deterministic length.
        target = 12000 + ((k * 7919 + idx * 104729) % 15000)
        cut = _FILLER.find("</section>\n", target)
        filler = _FILLER[:cut + 11] if cut >= 0 else _FILLER
        title = "Startseite" if idx == 0 else f"Unterseite {idx}"
        html = (f'<!DOCTYPE html>\n<html lang="de">\n<head>\n<meta charset="utf-8">\n<title>{title} | Firma {k}</title>\n'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                f'<link rel="canonical" href="https://{self.host}{path}">\n{self.head}</head>\n<body>\n'
                f'<header><a href="/">Firma {k}</a><nav><ul><li><a href="/">Start</a></li>{links}'
                f'<li><a href="/impressum">Impressum</a></li></ul></nav></header>\n<main>\n<h1>{title}</h1>\n'
                f"{self.main}{filler}</main>\n<footer>Firma {k} · Musterstraße {k % 200 + 1} · "
                f'<a href="https://www.instagram.com/firma{k}/">Instagram</a></footer>\n{self.end}</body>\n</html>\n')
        return Route(headers=_HEADERS, body=html.encode("utf-8"))


def bench_web(n: int, pages_per_site: int = 5) -> Web:
    """A Web of ``n`` synthetic sites site-00001.de … rendered on request (nothing stored per site)."""
    if n < 0 or pages_per_site < 1:
        raise ValueError("n must be >= 0 and pages_per_site >= 1")

    @functools.lru_cache(maxsize=4096)
    def make(k: int) -> Site:
        bs = _BenchSite(k, pages_per_site)
        return Site(bs.host, routes={"/robots.txt": _ROBOTS}, route_fn=bs.page)

    def resolve(host: str) -> Site | None:
        m = _HOST_RE.fullmatch(host)
        if m is None:
            return None
        k = int(m.group(1))
        if not 1 <= k <= n or host != bench_host(k):
            return None
        return make(k)

    return Web(resolvers=[resolve])
