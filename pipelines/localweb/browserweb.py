"""Browser web: sites whose third parties only a real browser sees, consent banners, GPC, and pages that break
browsers (never finishing, endless popups).

The consent banner copies the markup of Acris Cookie Consent (a Shopware plugin common on German shops) so the
pinned autoconsent recognises it with its own ``acris`` rule: ``[data-acris-cookie-consent]``, a visible
``.acris-cookie-consent.is--modal``, accept ``#ccConsentAcceptAllButton``, reject ``#ccAcceptOnlyFunctional``.
"""

from __future__ import annotations

from .sites import Route, Site, Web, html_route, robots_route, text_route

__all__ = [
    "browser_web", "BROWSER_DOMAINS", "BROWSER_EXPECTED", "BROWSER_OUTCOMES", "STATIC_EXPECTED", "TAG_SERVICES",
    "DYN_LOADER_SITE", "CMP_GATED_SITE", "CMP_IGNORED_SITE", "GPC_HONOURED_SITE", "NEVER_LOADS_SITE",
    "POPUP_STORM_SITE", "STALLED_CDN", "CMP_VENDOR", "banner_domains", "banner_web",
]

DYN_LOADER_SITE = "dyn-loader.de"  # a tag manager snippet that injects analytics and a pixel; no banner
CMP_GATED_SITE = "cmp-gated.de"  # the same tags, loaded only after "accept all"
CMP_IGNORED_SITE = "cmp-ignored.de"  # shows the banner but loads the tags anyway
GPC_HONOURED_SITE = "gpc-honoured.de"  # loads the tags unless navigator.globalPrivacyControl
NEVER_LOADS_SITE = "never-loads.de"  # a parser-blocking script that never arrives: no load event, ever
POPUP_STORM_SITE = "popup-storm.de"  # opens a popup every 50 ms
STALLED_CDN = "stalled-cdn.de"  # accepts connections, never answers
CMP_VENDOR = "acris"

#: what the tag manager brings along (catalog service ids): the ``_ga`` cookie is claimed by Universal Analytics
#: and GA4 alike, www.facebook.com by the social plugins as well as the pixel
TAG_SERVICES = frozenset({"google-tag-manager", "google-universal-analytics", "google-analytics-4", "meta-pixel",
                          "facebook-social-plugins"})

#: (domain, consent_state, signal) -> services the browser must find (and no other tracker)
BROWSER_EXPECTED: dict[tuple[str, str, str], frozenset[str]] = {
    (DYN_LOADER_SITE, "none", "none"): TAG_SERVICES,
    (DYN_LOADER_SITE, "none", "gpc"): TAG_SERVICES,
    (CMP_GATED_SITE, "none", "none"): frozenset(),
    (CMP_GATED_SITE, "accept", "none"): TAG_SERVICES,
    (CMP_GATED_SITE, "reject", "none"): frozenset(),
    (CMP_IGNORED_SITE, "none", "none"): TAG_SERVICES,
    (CMP_IGNORED_SITE, "accept", "none"): TAG_SERVICES,
    (CMP_IGNORED_SITE, "reject", "none"): TAG_SERVICES,
    (GPC_HONOURED_SITE, "none", "none"): TAG_SERVICES,
    (GPC_HONOURED_SITE, "none", "gpc"): frozenset(),
}
#: domain -> services static HTML shows (the tag manager's URL is in the inline snippet; what it loads is not)
STATIC_EXPECTED: dict[str, frozenset[str]] = {
    DYN_LOADER_SITE: frozenset({"google-tag-manager"}),
    CMP_GATED_SITE: frozenset({"google-tag-manager"}),
    CMP_IGNORED_SITE: frozenset({"google-tag-manager"}),
    GPC_HONOURED_SITE: frozenset({"google-tag-manager"}),
}
#: input domain -> site outcome in browser mode
BROWSER_OUTCOMES: dict[str, str] = {
    DYN_LOADER_SITE: "ok",
    CMP_GATED_SITE: "ok",
    CMP_IGNORED_SITE: "ok",
    GPC_HONOURED_SITE: "ok",
    NEVER_LOADS_SITE: "page_budget_exceeded",
    POPUP_STORM_SITE: "page_budget_exceeded",
}
BROWSER_DOMAINS: list[str] = list(BROWSER_OUTCOMES)

_GTM_ID = "GTM-SRB1234"
# Google's published container snippet, shape kept: the tag manager's URL is a literal a static scan finds
_GTM_SNIPPET = ("(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});"
                "var f=d.getElementsByTagName(s)[0],j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;"
                "j.src='https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);})"
                f"(window,document,'script','dataLayer','{_GTM_ID}');")

# the container: injects the analytics library and the pixel (hosts built at run time, as real containers do)
_GTM_JS = """(function(){
  var d = document, h = ['www', 'google-analytics', 'com'].join('.'), f = ['connect', 'facebook', 'net'].join('.');
  var a = d.createElement('script'); a.async = true; a.src = 'https://' + h + '/analytics.js'; d.head.appendChild(a);
  var p = d.createElement('script'); p.async = true; p.src = 'https://' + f + '/en_US/fbevents.js'; d.head.appendChild(p);
})();
"""
_ANALYTICS_JS = """(function(){
  document.cookie = '_ga=GA1.2.' + Math.floor(Math.random() * 1e9) + '.1700000000; max-age=63072000; path=/; SameSite=Lax';
  try { localStorage.setItem('_ga_client', 'GA1.2.1234.5678'); sessionStorage.setItem('_gat_session', '1'); } catch (e) {}
  var i = new Image(); i.src = 'https://www.google-analytics.com/collect?v=1&t=pageview&tid=UA-123456-1';
})();
"""
_FBEVENTS_JS = """(function(){
  document.cookie = '_fbp=fb.1.1700000000000.' + Math.floor(Math.random() * 1e9) + '; max-age=7776000; path=/; SameSite=Lax';
  var i = new Image(); i.src = 'https://www.facebook.com/tr?id=1234567890&ev=PageView&noscript=1';
})();
"""
_GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
        b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

_BANNER = """<div class="acris-cookie-consent is--modal" data-acris-cookie-consent="true" id="ccBanner"
 style="position:fixed;bottom:0;left:0;right:0;padding:1em;background:#fff;border-top:1px solid #333">
 <p>Wir verwenden Cookies und Dienste Dritter (Google Tag Manager, Google Analytics, Meta Pixel).</p>
 <button type="button" id="ccAcceptOnlyFunctional">Nur funktionale Cookies</button>
 <button type="button" id="ccConsentAcceptAllButton">Alle akzeptieren</button>
</div>
"""
# the banner's logic: a first-party consent cookie; the tags run on "accept all" (or always, if ignore=true)
_BANNER_JS = """(function(ignore){
  function tags(){ if (window.__srTags) return; window.__srTags = true; %s }
  function close(v){ document.cookie = 'acris_cookie_acc=' + v + '; max-age=31536000; path=/; SameSite=Lax';
    var b = document.getElementById('ccBanner'); if (b) b.classList.remove('is--modal'), b.style.display = 'none'; }
  var given = document.cookie.indexOf('acris_cookie_acc=all') >= 0;
  if (ignore || given) tags();
  document.getElementById('ccConsentAcceptAllButton').addEventListener('click', function(){ close('all'); tags(); });
  document.getElementById('ccAcceptOnlyFunctional').addEventListener('click', function(){ close('functional'); });
})(%s);
"""
_GPC_JS = "if (!navigator.globalPrivacyControl) { %s }" % _GTM_SNIPPET
_POPUP_JS = "var n = 0; setInterval(function(){ window.open('/popup?n=' + (n++), '_blank'); }, 50);"


def _page(title: str, body: str, head: str = "") -> str:
    return (f'<!DOCTYPE html>\n<html lang="de">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n{head}'
            f"</head>\n<body>\n<h1>{title}</h1>\n<nav><a href=\"/impressum\">Impressum</a> "
            f"<a href=\"/datenschutz\">Datenschutz</a></nav>\n{body}\n</body>\n</html>\n")


def _site(host: str, title: str, body: str, head: str = "") -> Site:
    site = Site(host, http_redirect=True)
    site.add("/", html_route(_page(title, body, head), headers=[("Server", "nginx")]))
    for path, name in (("/impressum", "Impressum"), ("/datenschutz", "Datenschutz")):
        site.add(path, html_route(_page(f"{name} – {title}", "<p>Text.</p>")))
    site.add("/robots.txt", robots_route("User-agent: *\nAllow: /\n"))
    return site


def _js(body: str) -> Route:
    return text_route(body, content_type="application/javascript; charset=utf-8")


def _third_parties() -> list[Site]:
    gtm = Site("www.googletagmanager.com")
    gtm.add("/gtm.js", _js(_GTM_JS))
    ga = Site("www.google-analytics.com")
    ga.add("/analytics.js", _js(_ANALYTICS_JS))
    ga.add("/collect", Route(200, [("Content-Type", "image/gif")], _GIF))
    fbn = Site("connect.facebook.net")
    fbn.add("/en_US/fbevents.js", _js(_FBEVENTS_JS))
    fb = Site("www.facebook.com")
    fb.add("/tr", Route(200, [("Content-Type", "image/gif"),
                              ("Set-Cookie", "fr=0abc.1700000000; Max-Age=7776000; Domain=.facebook.com; Path=/; "
                                             "Secure; HttpOnly; SameSite=None")], _GIF))
    return [gtm, ga, fbn, fb]


def browser_web() -> Web:
    """The browser fixture sites plus the third parties their tags load."""
    web = Web(_third_parties())
    web.add(_site(DYN_LOADER_SITE, "Dyn Loader GmbH", "<p>Tags per Tag Manager.</p>",
                  f"<script>{_GTM_SNIPPET}</script>\n"))
    web.add(_site(CMP_GATED_SITE, "Consent Gated GmbH", _BANNER + f"<script>{_BANNER_JS % (_GTM_SNIPPET, 'false')}</script>"))
    web.add(_site(CMP_IGNORED_SITE, "Consent Ignored GmbH",
                  _BANNER + f"<script>{_BANNER_JS % (_GTM_SNIPPET, 'true')}</script>"))
    web.add(_site(GPC_HONOURED_SITE, "GPC Honoured GmbH", "<p>Wir respektieren GPC.</p>", f"<script>{_GPC_JS}</script>\n"))
    web.add(_site(NEVER_LOADS_SITE, "Never Loads GmbH", "<p>Lädt ewig.</p>",
                  f'<script src="https://{STALLED_CDN}/app.js"></script>\n'))
    popup = _site(POPUP_STORM_SITE, "Popup Storm GmbH", f"<script>{_POPUP_JS}</script>")
    popup.add("/popup", html_route(_page("Popup", "<p>Popup.</p>")))
    web.add(popup)
    web.add(Site(STALLED_CDN, kind="slow", delay=60.0))
    return web


def banner_domains(n: int) -> list[str]:
    """The input domains of ``banner_web(n)``."""
    return [f"banner-{i:02d}.de" for i in range(1, n + 1)]


def banner_web(n: int) -> Web:
    """``n`` sites with the consent banner (every other one gating its tags, the rest loading them anyway) plus the
    third parties their tags load: the panel of consent-pass runs (``bench/consent.py``)."""
    web = Web(_third_parties())
    for i, domain in enumerate(banner_domains(n)):
        ignore = "true" if i % 2 else "false"
        web.add(_site(domain, f"Banner {i + 1:02d} GmbH", _BANNER + f"<script>{_BANNER_JS % (_GTM_SNIPPET, ignore)}</script>"))
    return web
