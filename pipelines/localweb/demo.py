"""Deterministic demo web of German-looking sites that embed real third-party services like real sites do."""

from __future__ import annotations

import base64
import hashlib
import random
import string
from dataclasses import dataclass, field

from .sites import Route, Site, Web, html_route, redirect, robots_route, text_route

__all__ = [
    "demo_web", "DEMO_DOMAINS", "DEMO_SITES", "DEMO_SERVICES", "MONTH2_CHANGES", "DEMO_EMBEDDINGS",
    "demo_domain_list_text", "demo_ground_truth", "DemoSite", "ServiceInfo",
]


# --------------------------------------------------------------------------- services

@dataclass(frozen=True)
class ServiceInfo:
    """A third-party (or self-hosted) service the demo sites can embed."""

    key: str
    name: str
    provider: str
    category: str
    hosts: tuple[str, ...]          # hosts referenced by the snippet ("{host}" = the site itself)
    policy_url: str = ""


_GOOGLE = "Google Ireland Limited, Gordon House, Barrow Street, Dublin 4, Irland"
_CLOUDFLARE = "Cloudflare, Inc., 101 Townsend St, San Francisco, CA 94107, USA"

DEMO_SERVICES: dict[str, ServiceInfo] = {s.key: s for s in [
    ServiceInfo("gtm", "Google Tag Manager", _GOOGLE, "tag_manager", ("www.googletagmanager.com",),
                "https://policies.google.com/privacy"),
    ServiceInfo("ga4", "Google Analytics 4", _GOOGLE, "analytics", ("www.googletagmanager.com",),
                "https://policies.google.com/privacy"),
    ServiceInfo("meta_pixel", "Meta-Pixel", "Meta Platforms Ireland Limited, Merrion Road, Dublin 4, D04 X2K5, Irland",
                "advertising", ("connect.facebook.net", "www.facebook.com"),
                "https://www.facebook.com/privacy/policy/"),
    ServiceInfo("livechat", "LiveChat", "LiveChat Software S.A., ul. Zwycięska 47, 53-033 Wrocław, Polen", "chat",
                ("cdn.livechatinc.com", "www.livechat.com"), "https://www.livechat.com/legal/privacy-policy/"),
    ServiceInfo("userlike", "Userlike", "Userlike UG (haftungsbeschränkt), Probsteigasse 44-46, 50670 Köln", "chat",
                ("userlike-cdn-widgets.s3-eu-west-1.amazonaws.com",), "https://www.userlike.com/de/terms"),
    ServiceInfo("hotjar", "Hotjar", "Hotjar Ltd., Dragonara Business Centre, 5th Floor, Dragonara Road, "
                "Paceville St Julian's STJ 3141, Malta", "analytics", ("static.hotjar.com",),
                "https://www.hotjar.com/legal/policies/privacy/"),
    ServiceInfo("matomo_self", "Matomo (selbst gehostet)", "Betrieb auf eigenem Server", "analytics",
                ("analytics.{host}",)),
    ServiceInfo("matomo_cloud", "Matomo Cloud", "InnoCraft Ltd., 7 Waterloo Quay PO625, 6140 Wellington, Neuseeland",
                "analytics", ("cdn.matomo.cloud", "{slug}.matomo.cloud"), "https://matomo.org/privacy-policy/"),
    ServiceInfo("etracker", "etracker Analytics", "etracker GmbH, Erste Brunnenstraße 1, 20459 Hamburg", "analytics",
                ("code.etracker.com",), "https://www.etracker.com/datenschutz/"),
    ServiceInfo("usercentrics", "Usercentrics Consent Management Platform",
                "Usercentrics GmbH, Sendlinger Straße 7, 80331 München", "consent",
                ("app.usercentrics.eu", "privacy-proxy.usercentrics.eu"), "https://usercentrics.com/de/datenschutzerklaerung/"),
    ServiceInfo("cookiebot", "Cookiebot", "Usercentrics A/S, Havnegade 39, 1058 Kopenhagen, Dänemark", "consent",
                ("consent.cookiebot.com",), "https://www.cookiebot.com/de/privacy-policy/"),
    ServiceInfo("onetrust", "OneTrust Cookie Consent", "OneTrust Technology Limited, Dixon House, 1 Lloyd's Avenue, "
                "London EC3N 3DQ, Vereinigtes Königreich", "consent", ("cdn.cookielaw.org",),
                "https://www.onetrust.com/de/datenschutzerklaerung/"),
    ServiceInfo("borlabs", "Borlabs Cookie", "Borlabs GmbH, Rübenkamp 32, 22305 Hamburg (lokal betrieben)", "consent", ()),
    ServiceInfo("google_fonts", "Google Fonts", _GOOGLE, "fonts", ("fonts.googleapis.com", "fonts.gstatic.com"),
                "https://policies.google.com/privacy"),
    ServiceInfo("fonts_self", "Schriftarten (lokal eingebunden)", "lokal auf unserem Server", "fonts", ()),
    ServiceInfo("youtube", "YouTube", _GOOGLE, "video", ("www.youtube.com",), "https://policies.google.com/privacy"),
    ServiceInfo("youtube_nocookie", "YouTube (erweiterter Datenschutzmodus)", _GOOGLE, "video",
                ("www.youtube-nocookie.com",), "https://policies.google.com/privacy"),
    ServiceInfo("vimeo", "Vimeo", "Vimeo.com, Inc., 330 West 34th Street, 5th Floor, New York, New York 10001, USA",
                "video", ("player.vimeo.com",), "https://vimeo.com/privacy"),
    ServiceInfo("google_maps", "Google Maps", _GOOGLE, "maps", ("www.google.com",), "https://policies.google.com/privacy"),
    ServiceInfo("recaptcha", "Google reCAPTCHA", _GOOGLE, "captcha", ("www.google.com",),
                "https://policies.google.com/privacy"),
    ServiceInfo("jsdelivr", "jsDelivr CDN", "Prospect One, Królewska 65A/1, 30-081 Krakau, Polen", "cdn",
                ("cdn.jsdelivr.net",), "https://www.jsdelivr.com/terms/privacy-policy-jsdelivr-net"),
    ServiceInfo("cdnjs", "cdnjs", _CLOUDFLARE, "cdn", ("cdnjs.cloudflare.com",), "https://www.cloudflare.com/privacypolicy/"),
    ServiceInfo("unpkg", "unpkg", _CLOUDFLARE, "cdn", ("unpkg.com",), "https://www.cloudflare.com/privacypolicy/"),
    ServiceInfo("cloudflare_insights", "Cloudflare Web Analytics", _CLOUDFLARE, "analytics",
                ("static.cloudflareinsights.com",), "https://www.cloudflare.com/privacypolicy/"),
    ServiceInfo("trustpilot", "Trustpilot TrustBox", "Trustpilot A/S, Pilestræde 58, 5. Stock, 1112 Kopenhagen, Dänemark",
                "reviews", ("widget.trustpilot.com",), "https://legal.trustpilot.com/for-reviewers/end-user-privacy-terms"),
    ServiceInfo("trusted_shops", "Trusted Shops Trustbadge", "Trusted Shops AG, Subbelrather Str. 15C, 50823 Köln",
                "reviews", ("widgets.trustedshops.com",), "https://www.trustedshops.de/impressum/#datenschutz"),
    ServiceInfo("vgwort", "VG Wort Zählpixel", "Verwertungsgesellschaft WORT, Untere Weidenstraße 5, 81543 München",
                "metering", ("{vgwort}.met.vgwort.de",), "https://tom.vgwort.de/Datenschutzerklaerung"),
    ServiceInfo("ivw", "INFOnline Reichweitenmessung (IVW)", "INFOnline GmbH, Brühler Str. 9, 53119 Bonn", "metering",
                ("script.ioam.de",), "https://www.infonline.de/datenschutz/"),
    ServiceInfo("linkedin", "LinkedIn Insight Tag", "LinkedIn Ireland Unlimited Company, Wilton Plaza, Wilton Place, "
                "Dublin 2, Irland", "advertising", ("snap.licdn.com", "px.ads.linkedin.com"),
                "https://www.linkedin.com/legal/privacy-policy"),
    ServiceInfo("clarity", "Microsoft Clarity", "Microsoft Ireland Operations Limited, One Microsoft Place, South County "
                "Business Park, Leopardstown, Dublin 18, Irland", "analytics", ("www.clarity.ms",),
                "https://privacy.microsoft.com/de-de/privacystatement"),
    ServiceInfo("tiktok", "TikTok Pixel", "TikTok Technology Limited, 10 Earlsfort Terrace, Dublin, D02 T380, Irland",
                "advertising", ("analytics.tiktok.com",), "https://www.tiktok.com/legal/privacy-policy-eea"),
]}

_CMPS = ("usercentrics", "cookiebot", "onetrust", "borlabs")
_EXCLUSIVE = (set(_CMPS), {"google_fonts", "fonts_self"}, {"youtube", "youtube_nocookie"})


# --------------------------------------------------------------------------- sites

@dataclass(frozen=True)
class DemoSite:
    """One row of the demo site table."""

    domain: str        # the input domain (registrable)
    template: str      # shop | law | local | blog | news | hotel | clinic | saas
    name: str
    city: str
    www: bool = False  # content lives on www.<domain>; the apex redirects there
    clean: bool = False  # privacy-clean: self-hosted fonts + self-hosted Matomo only


_T = DemoSite
DEMO_SITES: list[DemoSite] = [
    _T("baeckerei-schmidt.de", "local", "Bäckerei Schmidt", "Freiburg", www=True),
    _T("kanzlei-weber.de", "law", "Kanzlei Weber & Kollegen", "München"),
    _T("autohaus-berger.de", "local", "Autohaus Berger GmbH", "Stuttgart", www=True),
    _T("hotel-alpenblick.at", "hotel", "Hotel Alpenblick", "Innsbruck"),
    _T("zahnarzt-koenig.de", "clinic", "Zahnarztpraxis Dr. König", "Köln"),
    _T("shop-gartenwelt.de", "shop", "Gartenwelt Online-Shop", "Hannover"),
    _T("praxis-dr-lang.ch", "clinic", "Praxis Dr. med. Lang", "Zürich", clean=True),
    _T("verlag-nordlicht.de", "news", "Verlag Nordlicht", "Kiel"),
    _T("moebel-lindner.de", "shop", "Möbelhaus Lindner", "Leipzig", www=True),
    _T("weinhandel-kaiser.de", "shop", "Weinhandel Kaiser", "Mainz"),
    _T("fahrradhaus-koch.de", "shop", "Fahrradhaus Koch", "Münster"),
    _T("mode-schneider.de", "shop", "Mode Schneider", "Düsseldorf"),
    _T("buecherstube-wolf.de", "shop", "Bücherstube Wolf", "Tübingen", clean=True),
    _T("spielwaren-hartmann.de", "shop", "Spielwaren Hartmann", "Nürnberg"),
    _T("tee-kontor-hamburg.de", "shop", "Tee-Kontor Hamburg", "Hamburg"),
    _T("outdoor-bergfreunde.at", "shop", "Bergfreunde Outdoor", "Salzburg"),
    _T("kaffeeroesterei-braun.de", "shop", "Kaffeerösterei Braun", "Bremen"),
    _T("rechtsanwalt-hoffmann.de", "law", "Rechtsanwalt Thomas Hoffmann", "Frankfurt am Main"),
    _T("steuerberater-schulz.de", "law", "Steuerberatung Schulz", "Dortmund", www=True),
    _T("notariat-fischer.de", "law", "Notariat Fischer", "Dresden", clean=True),
    _T("kanzlei-meyer-partner.de", "law", "Meyer & Partner Rechtsanwälte", "Berlin"),
    _T("anwalt-zimmermann.at", "law", "Rechtsanwalt Mag. Zimmermann", "Wien"),
    _T("treuhand-keller.ch", "law", "Keller Treuhand AG", "Bern"),
    _T("friseur-schoen.de", "local", "Friseursalon Schön", "Augsburg"),
    _T("malerbetrieb-krause.de", "local", "Malerbetrieb Krause", "Kassel"),
    _T("elektro-neumann.de", "local", "Elektro Neumann", "Bielefeld"),
    _T("blumen-vogel.de", "local", "Blumen Vogel", "Heidelberg"),
    _T("metzgerei-huber.de", "local", "Metzgerei Huber", "Regensburg"),
    _T("schreinerei-roth.de", "local", "Schreinerei Roth", "Würzburg"),
    _T("fahrschule-lehmann.de", "local", "Fahrschule Lehmann", "Potsdam"),
    _T("sanitaer-frank.de", "local", "Sanitär Frank", "Bochum"),
    _T("optik-peters.de", "local", "Optik Peters", "Aachen"),
    _T("reisebuero-sonne.de", "local", "Reisebüro Sonne", "Mannheim"),
    _T("reiseblog-fernweh.de", "blog", "Fernweh – der Reiseblog", "Hamburg"),
    _T("kochen-mit-anna.de", "blog", "Kochen mit Anna", "Stuttgart"),
    _T("gartenblog-gruenzeug.de", "blog", "Grünzeug Gartenblog", "Erfurt"),
    _T("technik-notizen.de", "blog", "Technik-Notizen", "Karlsruhe", clean=True),
    _T("familienleben-blog.de", "blog", "Familienleben", "Bonn"),
    _T("laufblog-marathon.de", "blog", "Laufblog Marathon", "Frankfurt am Main"),
    _T("stadtanzeiger-ulm.de", "news", "Stadtanzeiger Ulm", "Ulm"),
    _T("tagblatt-sued.de", "news", "Tagblatt Süd", "Konstanz", www=True),
    _T("wirtschaft-aktuell.de", "news", "Wirtschaft Aktuell", "Frankfurt am Main"),
    _T("sportecho-online.de", "news", "Sportecho Online", "Gelsenkirchen"),
    _T("kulturspiegel-bremen.de", "news", "Kulturspiegel Bremen", "Bremen"),
    _T("pension-seeblick.de", "hotel", "Pension Seeblick", "Lindau"),
    _T("hotel-am-markt.de", "hotel", "Hotel am Markt", "Quedlinburg", www=True),
    _T("gasthof-zur-linde.de", "hotel", "Gasthof zur Linde", "Bamberg"),
    _T("ferienwohnung-ostsee.de", "hotel", "Ferienwohnungen Ostseeperle", "Warnemünde"),
    _T("berghotel-edelweiss.ch", "hotel", "Berghotel Edelweiss", "Grindelwald"),
    _T("physio-bewegung.de", "clinic", "Physiotherapie Bewegung", "Oldenburg"),
    _T("augenarzt-richter.de", "clinic", "Augenarztpraxis Dr. Richter", "Magdeburg"),
    _T("tierarzt-sommer.de", "clinic", "Tierarztpraxis Sommer", "Rostock"),
    _T("hausarzt-brandt.de", "clinic", "Hausarztpraxis Brandt", "Göttingen", clean=True),
    _T("kinderarzt-dr-engel.de", "clinic", "Kinderarztpraxis Dr. Engel", "Wiesbaden"),
    _T("cloudbuch-software.de", "saas", "Cloudbuch Software GmbH", "Berlin"),
    _T("terminplaner-pro.de", "saas", "Terminplaner Pro", "München"),
    _T("datenwerk-analytics.de", "saas", "Datenwerk Analytics GmbH", "Hamburg"),
    _T("rechnungsheld.de", "saas", "Rechnungsheld GmbH", "Köln", www=True),
    _T("teamhub-software.de", "saas", "TeamHub Software GmbH", "Leipzig"),
    _T("lagerlogik.de", "saas", "Lagerlogik GmbH", "Dortmund"),
    _T("personalwolke.de", "saas", "Personalwolke AG", "Nürnberg"),
]
del _T

DEMO_DOMAINS: list[str] = [s.domain for s in DEMO_SITES]
_BY_DOMAIN = {s.domain: s for s in DEMO_SITES}

#: Month-2 changes: domain -> (services removed, services added).  Month 1 is forced to
#: contain every removed service and none of the added ones, so each change is real.
MONTH2_CHANGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "shop-gartenwelt.de": (("hotjar",), ("tiktok",)),
    "reiseblog-fernweh.de": (("google_fonts",), ("fonts_self",)),
    "mode-schneider.de": ((), ("tiktok",)),
    "autohaus-berger.de": (("cookiebot",), ("usercentrics",)),
    "hotel-alpenblick.at": (("youtube",), ("youtube_nocookie",)),
    "kanzlei-meyer-partner.de": (("google_fonts",), ("fonts_self",)),
    "verlag-nordlicht.de": (("hotjar",), ("clarity",)),
    "terminplaner-pro.de": (("livechat",), ("userlike",)),
    "zahnarzt-koenig.de": (("google_fonts",), ("fonts_self",)),
    "weinhandel-kaiser.de": (("cookiebot",), ("usercentrics",)),
    "kochen-mit-anna.de": ((), ("meta_pixel",)),
    "datenwerk-analytics.de": (("ga4", "hotjar"), ("matomo_cloud",)),
}

#: How a few sites embed one of their services when not directly: held back by the consent manager until
#: consent ("gated": a text/plain script, an iframe whose URL waits in data-src / data-cmp-src) or kept as
#: encoded embed code for a click-to-load placeholder ("encoded": HTML-escaped in an attribute, base64 in a
#: Borlabs content blocker). The site still embeds the service, but nothing of it loads before consent.
DEMO_EMBEDDINGS: dict[str, dict[str, str]] = {
    "fahrradhaus-koch.de": {"meta_pixel": "gated"},
    "cloudbuch-software.de": {"hotjar": "gated"},
    "fahrschule-lehmann.de": {"google_maps": "gated"},
    "kochen-mit-anna.de": {"youtube": "encoded"},
    "ferienwohnung-ostsee.de": {"vimeo": "encoded"},
}

# template -> (CMP weights, {service: probability})
_CMP_WEIGHTS = {
    "shop": {"usercentrics": 35, "cookiebot": 30, "onetrust": 15, "borlabs": 10, None: 10},
    "news": {"usercentrics": 30, "onetrust": 40, "cookiebot": 20, None: 10},
    "blog": {"borlabs": 60, "cookiebot": 20, None: 20},
    "local": {"borlabs": 35, "cookiebot": 25, "usercentrics": 15, None: 25},
    "law": {"borlabs": 30, "usercentrics": 20, "cookiebot": 20, None: 30},
    "hotel": {"cookiebot": 30, "usercentrics": 30, "borlabs": 20, None: 20},
    "clinic": {"borlabs": 40, "usercentrics": 20, "cookiebot": 10, None: 30},
    "saas": {"usercentrics": 30, "cookiebot": 30, "onetrust": 30, None: 10},
}
_PROBS = {
    "shop": {"gtm": .85, "ga4": .6, "meta_pixel": .6, "trustpilot": .3, "trusted_shops": .5, "tiktok": .2,
             "hotjar": .3, "livechat": .2, "clarity": .15, "jsdelivr": .3, "cdnjs": .3,
             "recaptcha": .4, "youtube": .2, "cloudflare_insights": .3, "google_fonts": .6, "etracker": .1,
             "userlike": .1},
    "news": {"gtm": .9, "ga4": .5, "ivw": .95, "vgwort": .85, "youtube": .5, "meta_pixel": .4, "hotjar": .2,
             "clarity": .2, "cdnjs": .3, "cloudflare_insights": .3, "vimeo": .2, "google_fonts": .4, "etracker": .2,
             "matomo_cloud": .1},
    "blog": {"gtm": .5, "ga4": .6, "vgwort": .4, "youtube": .5, "vimeo": .3, "google_fonts": .7, "jsdelivr": .3,
             "unpkg": .1, "matomo_cloud": .15},
    "local": {"gtm": .6, "ga4": .5, "google_maps": .85, "google_fonts": .6, "youtube": .2, "recaptcha": .3,
              "meta_pixel": .2, "jsdelivr": .2, "cdnjs": .2},
    "law": {"gtm": .55, "ga4": .5, "google_maps": .6, "recaptcha": .4, "linkedin": .3, "userlike": .2,
            "google_fonts": .5, "etracker": .15, "matomo_self": .15},
    "hotel": {"gtm": .7, "ga4": .6, "google_maps": .9, "youtube": .4, "vimeo": .3, "trustpilot": .2,
              "meta_pixel": .4, "livechat": .1, "google_fonts": .6, "jsdelivr": .2},
    "clinic": {"gtm": .5, "ga4": .4, "google_maps": .7, "recaptcha": .3, "youtube": .3, "google_fonts": .5,
               "matomo_self": .2},
    "saas": {"gtm": .8, "ga4": .6, "linkedin": .6, "hotjar": .5, "clarity": .3, "livechat": .3, "userlike": .35,
             "unpkg": .3, "jsdelivr": .4, "cloudflare_insights": .5, "recaptcha": .5, "vimeo": .3, "tiktok": .1,
             "google_fonts": .5, "cdnjs": .2, "matomo_cloud": .15},
}
# Hand-picked additions so every service occurs in month 1.
_EXTRA: dict[str, tuple[str, ...]] = {
    "physio-bewegung.de": ("youtube_nocookie",),
    "kinderarzt-dr-engel.de": ("youtube_nocookie",),
    "personalwolke.de": ("onetrust", "userlike"),
    "sportecho-online.de": ("onetrust",),
    "gartenblog-gruenzeug.de": ("matomo_cloud",),
}
# At least one tracker (besides fonts/CDNs) for non-clean sites.
_TRACKERS = {"gtm", "ga4", "meta_pixel", "hotjar", "matomo_cloud", "matomo_self", "etracker", "clarity",
             "linkedin", "tiktok", "ivw", "cloudflare_insights"}


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:8], "big")


def _apply(services: set[str], add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> set[str]:
    out = set(services) - set(remove)
    for key in add:
        for group in _EXCLUSIVE:
            if key in group:
                out -= group
        out.add(key)
    return out


def _base_services(ds: DemoSite) -> set[str]:
    if ds.clean:
        return {"fonts_self", "matomo_self"}
    rng = random.Random(_seed(ds.domain, "services"))
    weights = _CMP_WEIGHTS[ds.template]
    keys = list(weights)
    cmp_ = rng.choices(keys, [weights[k] for k in keys])[0]
    out: set[str] = {cmp_} if cmp_ else set()
    for key, prob in _PROBS[ds.template].items():
        if rng.random() < prob:
            out = _apply(out, (key,))
    if "google_fonts" not in out:
        out.add("fonts_self")
    if not out & _TRACKERS:
        out.add(rng.choice(["gtm", "ga4", "matomo_self", "etracker"]))
    return _apply(out, _EXTRA.get(ds.domain, ()))


def site_services(domain: str, month: int = 1) -> set[str]:
    """Service keys embedded by a demo site in ``month``."""
    ds = _BY_DOMAIN[domain]
    services = _base_services(ds)
    removed, added = MONTH2_CHANGES.get(domain, ((), ()))
    services = _apply(services, removed, added)      # month 1: has removed, lacks added
    if month >= 2:
        services = _apply(services, added, removed)
    return services


def declared_services(domain: str) -> set[str]:
    """Services named in the privacy policy (written in month 1 and never updated)."""
    ds = _BY_DOMAIN[domain]
    embedded = site_services(domain, 1)
    if ds.clean:
        return set(embedded)
    rng = random.Random(_seed(domain, "policy"))
    named = sorted(embedded)
    omit = rng.sample(named, k=min(len(named) - 1, rng.choice([1, 1, 2, 3]))) if len(named) > 1 else []
    declared = set(named) - set(omit)
    if rng.random() < 0.3:  # stale entry for a service the site no longer uses
        stale = sorted(set(DEMO_SERVICES) - embedded - set(_CMPS) - {"fonts_self", "matomo_self"})
        declared.add(rng.choice(stale))
    return declared


# --------------------------------------------------------------------------- ids

_UP = string.ascii_uppercase + string.digits
_LOW = string.ascii_lowercase + string.digits
_YT = string.ascii_letters + string.digits + "-_"


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _uuid(rng: random.Random) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{rng.choice('89ab')}{h[17:20]}-{h[20:]}"


_CITY_COORDS = {
    "Berlin": (52.5200, 13.4050), "Hamburg": (53.5511, 9.9937), "München": (48.1351, 11.5820),
    "Köln": (50.9375, 6.9603), "Frankfurt am Main": (50.1109, 8.6821), "Stuttgart": (48.7758, 9.1829),
    "Leipzig": (51.3397, 12.3731), "Dresden": (51.0504, 13.7373), "Zürich": (47.3769, 8.5417),
    "Wien": (48.2082, 16.3738), "Innsbruck": (47.2692, 11.4041), "Bern": (46.9480, 7.4474),
}

_STREETS = ["Hauptstraße", "Bahnhofstraße", "Lindenallee", "Marktplatz", "Schillerstraße", "Goethestraße",
            "Kirchgasse", "Am Rathaus", "Gartenweg", "Mühlenweg", "Bergstraße", "Schulstraße", "Dorfstraße",
            "Friedrichstraße", "Rosenweg", "Industriestraße", "Hafenstraße", "Königstraße"]
_SURNAMES = {n.lower().replace("ö", "oe").replace("ü", "ue"): n for n in [
    "Schmidt", "Weber", "Berger", "König", "Lang", "Lindner", "Kaiser", "Koch", "Schneider", "Wolf", "Hartmann",
    "Braun", "Hoffmann", "Schulz", "Fischer", "Meyer", "Zimmermann", "Keller", "Schön", "Krause", "Neumann", "Vogel",
    "Huber", "Roth", "Lehmann", "Frank", "Peters", "Richter", "Sommer", "Brandt", "Engel", "Becker", "Müller"]}
_FIRST = ["Anna", "Thomas", "Julia", "Michael", "Katharina", "Stefan", "Sabine", "Andreas", "Laura", "Markus",
          "Claudia", "Jan", "Petra", "Tobias", "Miriam", "Florian"]


@dataclass
class _Ctx:
    """Everything needed to render one demo site for one month."""

    ds: DemoSite
    host: str
    month: int
    services: set[str]
    declared: set[str]
    ids: dict[str, str] = field(default_factory=dict)
    street: str = ""
    zip: str = ""
    owner: str = ""
    phone: str = ""
    lat: float = 0.0
    lon: float = 0.0
    wordpress: bool = False
    server: str = "nginx"
    slug: str = ""


def _make_ctx(ds: DemoSite, month: int) -> _Ctx:
    host = f"www.{ds.domain}" if ds.www else ds.domain
    services = site_services(ds.domain, month)
    ctx = _Ctx(ds, host, month, services, declared_services(ds.domain))
    rng = random.Random(_seed(ds.domain, "ids"))
    slug = ds.domain.rsplit(".", 1)[0]
    ctx.slug = slug
    ctx.ids = {
        "gtm": "GTM-" + _rand(rng, _UP, rng.choice([6, 7, 7, 8])),
        "ga4": "G-" + _rand(rng, _UP, 10),
        "fb": str(rng.randrange(10 ** 14, 10 ** 16)),
        "livechat": str(rng.randrange(10 ** 7, 10 ** 8)),
        "userlike": _hex(rng, 64),
        "hotjar": str(rng.randrange(1_000_000, 5_999_999)),
        "matomo_site": str(rng.randrange(1, 40)),
        "etracker": _rand(rng, string.ascii_letters + string.digits, 6),
        "usercentrics": _rand(rng, string.ascii_letters + string.digits + "_-", 9),
        "cookiebot": _uuid(rng),
        "onetrust": _uuid(rng),
        "yt1": _rand(rng, _YT, 11),
        "yt2": _rand(rng, _YT, 11),
        "vimeo": str(rng.randrange(100_000_000, 999_999_999)),
        "vimeo_h": _hex(rng, 10),
        "recaptcha": "6L" + _rand(rng, string.ascii_letters + string.digits + "_-", 38),
        "cf_token": _hex(rng, 32),
        "tp_bu": _hex(rng, 24),
        "tp_tpl": rng.choice(["5419b6a8b0d04a076446a9ad", "53aa8807dec7e10d38f59f36", "5406e65db0d04a09e042d5fc"]),
        "ts": "X" + _hex(rng, 32).upper(),
        "vgwort_sub": f"vg{rng.randrange(1, 10):02d}",
        "ivw_st": slug.replace("-", "")[:8],
        "linkedin": str(rng.randrange(1_000_000, 6_999_999)),
        "clarity": _rand(rng, string.ascii_lowercase + string.digits, 10),
        "tiktok": "C" + _rand(rng, _UP, 19),
        "borlabs_ver": rng.choice(["2.2.67", "2.2.68", "3.0.4", "3.1.2"]),
        "maps_hex": f"0x{_hex(rng, 16)}:0x{_hex(rng, 16)}",
        "maps_ts": str(rng.randrange(1_650_000_000_000, 1_720_000_000_000)),
        "session": _hex(rng, 26),
        "cf_bm": _rand(rng, string.ascii_letters + string.digits + "._-", 43),
    }
    ctx.ids["vgwort_ids"] = ",".join(_hex(rng, 32) for _ in range(4))
    ctx.street = f"{rng.choice(_STREETS)} {rng.randrange(1, 120)}"
    if ds.domain.endswith(".de"):
        ctx.zip = f"{rng.randrange(10000, 99999):05d}"
        ctx.phone = f"+49 {rng.randrange(30, 999)} {rng.randrange(100000, 9999999)}"
    else:
        ctx.zip = f"{rng.randrange(1000, 9999)}"
        prefix = "+43" if ds.domain.endswith(".at") else "+41"
        ctx.phone = f"{prefix} {rng.randrange(1, 99)} {rng.randrange(100000, 9999999)}"
    surname = next((_SURNAMES[t] for t in slug.split("-") if t in _SURNAMES), None)
    ctx.owner = f"{rng.choice(_FIRST)} {surname or rng.choice(list(_SURNAMES.values()))}"
    lat, lon = _CITY_COORDS.get(ds.city, (48.0 + rng.random() * 6, 7.0 + rng.random() * 7))
    ctx.lat, ctx.lon = round(lat + rng.uniform(-0.02, 0.02), 6), round(lon + rng.uniform(-0.02, 0.02), 6)
    ctx.wordpress = "borlabs" in services or (ds.template in ("blog", "local") and rng.random() < 0.5)
    if "cloudflare_insights" in services or "cdnjs" in services and rng.random() < 0.5:
        ctx.server = "cloudflare"
    else:
        ctx.server = rng.choice(["nginx", "Apache", "nginx", "LiteSpeed"] if ctx.wordpress else
                                ["nginx", "nginx/1.24.0", "Apache", "openresty"])
    return ctx


# --------------------------------------------------------------------------- snippets

def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _snippets(ctx: _Ctx) -> tuple[list[str], list[str], list[str]]:
    """(head, body start, body end) snippets present on every page."""
    i, s = ctx.ids, ctx.services
    head: list[str] = []
    start: list[str] = []
    end: list[str] = []
    # Consent managers go first, as their vendors require.
    if "usercentrics" in s:
        head.append(
            '<link rel="preconnect" href="//privacy-proxy.usercentrics.eu">\n'
            '<link rel="preload" href="//privacy-proxy.usercentrics.eu/latest/uc-block.bundle.js" as="script">\n'
            f'<script id="usercentrics-cmp" src="https://app.usercentrics.eu/browser-ui/latest/loader.js" '
            f'data-settings-id="{i["usercentrics"]}" async></script>\n'
            '<script type="application/javascript" src="https://privacy-proxy.usercentrics.eu/latest/uc-block.bundle.js">'
            '</script>\n')
    if "cookiebot" in s:
        head.append(f'<script id="Cookiebot" src="https://consent.cookiebot.com/uc.js" data-cbid="{i["cookiebot"]}" '
                    'data-blockingmode="auto" type="text/javascript"></script>\n')
    if "onetrust" in s:
        head.append('<!-- OneTrust Cookies Consent Notice start -->\n'
                    '<script src="https://cdn.cookielaw.org/scripttemplates/otSDKStub.js" type="text/javascript" '
                    f'charset="UTF-8" data-domain-script="{i["onetrust"]}"></script>\n'
                    '<script type="text/javascript">\nfunction OptanonWrapper() { }\n</script>\n'
                    '<!-- OneTrust Cookies Consent Notice end -->\n')
    if "borlabs" in s:
        v = i["borlabs_ver"]
        head.append(f"<link rel='stylesheet' id='borlabs-cookie-css' href='https://{ctx.host}/wp-content/cache/"
                    f"borlabs-cookie/borlabs-cookie_1_de.css?ver={v}-21' type='text/css' media='all' />\n"
                    f"<script id='borlabs-cookie-prioritize-js-extra'>\nvar borlabsCookiePrioritized = "
                    f'{{"domain":"{ctx.host}","path":"\\/","version":"1","bots":true,"optInJS":[]}};\n</script>\n')
        end.append(f'<script type="text/javascript" id="borlabs-cookie-js" src="/wp-content/plugins/borlabs-cookie/'
                   f'assets/javascript/borlabs-cookie.min.js?ver={v}"></script>\n'
                   '<div data-nosnippet><script id="BorlabsCookieBoxWrap" type="text/template">'
                   '<div id="BorlabsCookieBox" class="BorlabsCookie" role="dialog" aria-labelledby="CookieBoxTextHeadline">'
                   '<p id="CookieBoxTextHeadline">Datenschutzeinstellungen</p><p>Wir nutzen Cookies auf unserer Website. '
                   'Einige von ihnen sind essenziell, während andere uns helfen, diese Website und Ihre Erfahrung zu '
                   'verbessern.</p></div></script></div>\n')
    if "gtm" in s:
        head.append("<!-- Google Tag Manager -->\n<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':\n"
                    "new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],\n"
                    "j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src=\n"
                    "'https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);\n"
                    f"}})(window,document,'script','dataLayer','{i['gtm']}');</script>\n<!-- End Google Tag Manager -->\n")
        start.append('<!-- Google Tag Manager (noscript) -->\n<noscript><iframe src="https://www.googletagmanager.com/'
                     f'ns.html?id={i["gtm"]}"\nheight="0" width="0" style="display:none;visibility:hidden"></iframe>'
                     '</noscript>\n<!-- End Google Tag Manager (noscript) -->\n')
    if "ga4" in s:
        ctype = ' type="text/plain" data-cookieconsent="statistics"' if "cookiebot" in s else ""
        head.append(f'<!-- Google tag (gtag.js) -->\n<script async src="https://www.googletagmanager.com/gtag/js?id='
                    f'{i["ga4"]}"></script>\n<script{ctype}>\n  window.dataLayer = window.dataLayer || [];\n'
                    "  function gtag(){dataLayer.push(arguments);}\n  gtag('js', new Date());\n\n"
                    f"  gtag('config', '{i['ga4']}', {{ 'anonymize_ip': true }});\n</script>\n")
    if "google_fonts" in s:
        head.append('<link rel="preconnect" href="https://fonts.googleapis.com">\n'
                    '<link rel="preconnect" href="https://fonts.gstatic.com" crossorigin>\n'
                    '<link href="https://fonts.googleapis.com/css2?family=Roboto:wght@400;500;700&amp;'
                    'family=Merriweather:ital@0;1&amp;display=swap" rel="stylesheet">\n')
    if "fonts_self" in s:
        head.append("<style>\n@font-face{font-family:'Roboto';font-style:normal;font-weight:400;font-display:swap;"
                    "src:url('/fonts/roboto.woff2') format('woff2');}\n@font-face{font-family:'Roboto';"
                    "font-style:normal;font-weight:700;font-display:swap;src:url('/fonts/roboto-700.woff2') "
                    "format('woff2');}\n</style>\n")
    if "jsdelivr" in s:
        head.append('<link href="https://cdn.jsdelivr.net/npm/bootstrap@5.3.2/dist/css/bootstrap.min.css" '
                    'rel="stylesheet" integrity="sha384-T3c6CoIi6uLrA9TneNEoa7RxnatzjcDSCmG1MXxSR1GAsXEV/Dwwykc2MPK8M2HN"'
                    ' crossorigin="anonymous">\n')
        end.append('<script src="https://cdn.jsdelivr.net/npm/bootstrap@5.3.2/dist/js/bootstrap.bundle.min.js" '
                   'integrity="sha384-C6RzsynM9kWDrMNeT87bh95OGNyZPhcTNXj1NW7RuBCsyN/o0jlpcV8Qyq46cDfL" '
                   'crossorigin="anonymous"></script>\n')
    if "cdnjs" in s:
        end.append('<script src="https://cdnjs.cloudflare.com/ajax/libs/jquery/3.7.1/jquery.min.js" '
                   'integrity="sha512-v2CJ7UaYy4JwqLDIrZUI/4hqeoQieOmAZNXBeQyjo21dadnwR+8ZaIJVT8EE2iyI61OV8e6M8PP2/'
                   '4hpQINQ/g==" crossorigin="anonymous" referrerpolicy="no-referrer"></script>\n'
                   '<link rel="stylesheet" href="https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.5.1/css/'
                   'all.min.css" crossorigin="anonymous" referrerpolicy="no-referrer" />\n')
    if "unpkg" in s:
        head.append('<link rel="stylesheet" href="https://unpkg.com/swiper@11/swiper-bundle.min.css" />\n')
        end.append('<script src="https://unpkg.com/swiper@11/swiper-bundle.min.js"></script>\n'
                   '<script src="https://unpkg.com/alpinejs@3.13.3/dist/cdn.min.js" defer></script>\n')
    held = DEMO_EMBEDDINGS.get(ctx.ds.domain, {})
    if "meta_pixel" in s and held.get("meta_pixel") == "gated":
        head.append('<!-- Meta Pixel Code (released by Usercentrics after consent) -->\n<script type="text/plain" '
                    'data-usercentrics="Facebook Pixel">\n!function(f,b,e,v,n,t,s)\n{if(f.fbq)return;n=f.fbq='
                    "function(){n.callMethod?\nn.callMethod.apply(n,arguments):n.queue.push(arguments)};\nif(!f._fbq)"
                    "f._fbq=n;n.push=n;n.loaded=!0;n.version='2.0';\nn.queue=[];t=b.createElement(e);t.async=!0;\n"
                    "t.src=v;s=b.getElementsByTagName(e)[0];\ns.parentNode.insertBefore(t,s)}(window, document,"
                    f"'script',\n'https://connect.facebook.net/en_US/fbevents.js');\nfbq('init', '{i['fb']}');\n"
                    "fbq('track', 'PageView');\n</script>\n<!-- End Meta Pixel Code -->\n")
    elif "meta_pixel" in s:
        head.append("<!-- Meta Pixel Code -->\n<script>\n!function(f,b,e,v,n,t,s)\n{if(f.fbq)return;n=f.fbq=function()"
                    "{n.callMethod?\nn.callMethod.apply(n,arguments):n.queue.push(arguments)};\nif(!f._fbq)f._fbq=n;"
                    "n.push=n;n.loaded=!0;n.version='2.0';\nn.queue=[];t=b.createElement(e);t.async=!0;\nt.src=v;"
                    "s=b.getElementsByTagName(e)[0];\ns.parentNode.insertBefore(t,s)}(window, document,'script',\n"
                    f"'https://connect.facebook.net/en_US/fbevents.js');\nfbq('init', '{i['fb']}');\n"
                    "fbq('track', 'PageView');\n</script>\n<noscript><img height=\"1\" width=\"1\" style=\"display:none\"\n"
                    f'src="https://www.facebook.com/tr?id={i["fb"]}&ev=PageView&noscript=1"\n/></noscript>\n'
                    "<!-- End Meta Pixel Code -->\n")
    if "hotjar" in s:
        gate = ' type="text/plain" data-cookieconsent="statistics"' if held.get("hotjar") == "gated" else ""
        head.append(f"<!-- Hotjar Tracking Code -->\n<script{gate}>\n    (function(h,o,t,j,a,r){{\n"
                    "        h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};\n"
                    f"        h._hjSettings={{hjid:{i['hotjar']},hjsv:6}};\n"
                    "        a=o.getElementsByTagName('head')[0];\n        r=o.createElement('script');r.async=1;\n"
                    "        r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv;\n        a.appendChild(r);\n"
                    "    })(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');\n</script>\n")
    if "clarity" in s:
        head.append('<script type="text/javascript">\n    (function(c,l,a,r,i,t,y){\n'
                    "        c[a]=c[a]||function(){(c[a].q=c[a].q||[]).push(arguments)};\n"
                    '        t=l.createElement(r);t.async=1;t.src="https://www.clarity.ms/tag/"+i;\n'
                    "        y=l.getElementsByTagName(r)[0];y.parentNode.insertBefore(t,y);\n"
                    f'    }})(window, document, "clarity", "script", "{i["clarity"]}");\n</script>\n')
    if "tiktok" in s:
        head.append("<script>\n!function (w, d, t) {\n  w.TiktokAnalyticsObject=t;var ttq=w[t]=w[t]||[];ttq.methods="
                    '["page","track","identify","instances","debug","on","off","once","ready","alias","group",'
                    '"enableCookie","disableCookie"],ttq.setAndDefer=function(t,e){t[e]=function(){t.push([e].concat('
                    "Array.prototype.slice.call(arguments,0)))}};for(var i=0;i<ttq.methods.length;i++)ttq.setAndDefer("
                    "ttq,ttq.methods[i]);ttq.instance=function(t){for(var e=ttq._i[t]||[],n=0;n<ttq.methods.length;n++)"
                    'ttq.setAndDefer(e,ttq.methods[n]);return e},ttq.load=function(e,n){var i="https://analytics.tiktok'
                    '.com/i18n/pixel/events.js";ttq._i=ttq._i||{},ttq._i[e]=[],ttq._i[e]._u=i,ttq._t=ttq._t||{},'
                    "ttq._t[e]=+new Date,ttq._o=ttq._o||{},ttq._o[e]=n||{};var o=document.createElement(\"script\");"
                    'o.type="text/javascript",o.async=!0,o.src=i+"?sdkid="+e+"&lib="+t;var a=document.'
                    'getElementsByTagName("script")[0];a.parentNode.insertBefore(o,a)};\n\n'
                    f"  ttq.load('{i['tiktok']}');\n  ttq.page();\n}}(window, document, 'ttq');\n</script>\n")
    if "linkedin" in s:
        end.append(f'<script type="text/javascript">\n_linkedin_partner_id = "{i["linkedin"]}";\n'
                   "window._linkedin_data_partner_ids = window._linkedin_data_partner_ids || [];\n"
                   "window._linkedin_data_partner_ids.push(_linkedin_partner_id);\n</script><script type=\"text/"
                   'javascript">\n(function(l) {\nif (!l){window.lintrk = function(a,b){window.lintrk.q.push([a,b])};\n'
                   'window.lintrk.q=[]}\nvar s = document.getElementsByTagName("script")[0];\nvar b = document.'
                   'createElement("script");\nb.type = "text/javascript";b.async = true;\nb.src = "https://snap.licdn'
                   '.com/li.lms-analytics/insight.min.js";\ns.parentNode.insertBefore(b, s);})(window.lintrk);\n'
                   '</script>\n<noscript>\n<img height="1" width="1" style="display:none;" alt="" '
                   f'src="https://px.ads.linkedin.com/collect/?pid={i["linkedin"]}&fmt=gif" />\n</noscript>\n')
    if "matomo_self" in s:
        end.append("<!-- Matomo -->\n<script>\n  var _paq = window._paq = window._paq || [];\n"
                   "  _paq.push(['disableCookies']);\n  _paq.push(['trackPageView']);\n  _paq.push(['enableLinkTracking']);\n"
                   f'  (function() {{\n    var u="https://analytics.{ctx.ds.domain}/";\n'
                   "    _paq.push(['setTrackerUrl', u+'matomo.php']);\n"
                   f"    _paq.push(['setSiteId', '{i['matomo_site']}']);\n"
                   "    var d=document, g=d.createElement('script'), s=d.getElementsByTagName('script')[0];\n"
                   "    g.async=true; g.src=u+'matomo.js'; s.parentNode.insertBefore(g,s);\n  })();\n</script>\n"
                   f'<noscript><p><img referrerpolicy="no-referrer-when-downgrade" src="https://analytics.'
                   f'{ctx.ds.domain}/matomo.php?idsite={i["matomo_site"]}&amp;rec=1" style="border:0;" alt="" />'
                   "</p></noscript>\n<!-- End Matomo Code -->\n")
    if "matomo_cloud" in s:
        end.append("<!-- Matomo -->\n<script>\n  var _paq = window._paq = window._paq || [];\n"
                   "  _paq.push(['trackPageView']);\n  _paq.push(['enableLinkTracking']);\n  (function() {\n"
                   f'    var u="https://{ctx.slug}.matomo.cloud/";\n'
                   "    _paq.push(['setTrackerUrl', u+'matomo.php']);\n    _paq.push(['setSiteId', '1']);\n"
                   "    var d=document, g=d.createElement('script'), s=d.getElementsByTagName('script')[0];\n"
                   f"    g.async=true; g.src='https://cdn.matomo.cloud/{ctx.slug}.matomo.cloud/matomo.js'; "
                   "s.parentNode.insertBefore(g,s);\n  })();\n</script>\n<!-- End Matomo Code -->\n")
    if "etracker" in s:
        head.append("<!-- Copyright (c) 2000-2024 etracker GmbH. All rights reserved. -->\n"
                    "<!-- This material may not be reproduced, displayed, modified or distributed -->\n"
                    "<!-- without the express prior written permission of the copyright holder. -->\n"
                    "<!-- etracker tracklet 5.0 -->\n<script type=\"text/javascript\">\n"
                    "// var et_pagename = \"\";\n</script>\n<script id=\"_etLoader\" type=\"text/javascript\" "
                    'charset="UTF-8" data-block-cookies="true" data-respect-dnt="true" '
                    f'data-secure-code="{i["etracker"]}" src="https://code.etracker.com/code/e.js" async></script>\n'
                    "<!-- etracker tracklet 5.0 end -->\n")
    if "cloudflare_insights" in s:
        end.append("<!-- Cloudflare Web Analytics --><script defer src='https://static.cloudflareinsights.com/"
                   f"beacon.min.js' data-cf-beacon='{{\"token\": \"{i['cf_token']}\"}}'></script>"
                   "<!-- End Cloudflare Web Analytics -->\n")
    if "ivw" in s:
        head.append('<script type="text/javascript" src="https://script.ioam.de/iam.js"></script>\n')
        start.append('<!-- SZM VERSION="2.0" -->\n<script type="text/javascript">\nvar iam_data = {\n'
                     f'"st":"{i["ivw_st"]}", // site/domain\n"cp":"{ctx.slug[:12]}_home", // code\n'
                     '"sv":"ke", // Es wird keine Befragungseinladung ausgeliefert.\n"co":"kommentar" // comment\n};\n'
                     "iom.c(iam_data,1);\n</script>\n<!--/SZM -->\n")
    if "livechat" in s:
        end.append("<!-- Start of LiveChat (www.livechat.com) code -->\n<script>\n    window.__lc = window.__lc || {};\n"
                   f"    window.__lc.license = {i['livechat']};\n"
                   '    window.__lc.integration_name = "manual_channels";\n    window.__lc.product_name = "livechat";\n'
                   "    ;(function(n,t,c){function i(n){return e._h?e._h.apply(null,n):e._q.push(n)}var e={_q:[],_h:null,"
                   '_v:"2.0",on:function(){i(["on",c.call(arguments)])},once:function(){i(["once",c.call(arguments)])},'
                   'off:function(){i(["off",c.call(arguments)])},get:function(){if(!e._h)throw new Error("[LiveChatWidget] '
                   "You can't use getters before load.\");return i([\"get\",c.call(arguments)])},call:function(){i([\"call\","
                   'c.call(arguments)])},init:function(){var n=t.createElement("script");n.async=!0,n.type="text/javascript",'
                   'n.src="https://cdn.livechatinc.com/tracking.js",t.head.appendChild(n)}};!n.__lc.asyncInit&&e.init(),'
                   "n.LiveChatWidget=n.LiveChatWidget||e}(window,document,[].slice))\n</script>\n"
                   f'<noscript><a href="https://www.livechat.com/chat-with/{i["livechat"]}/" rel="nofollow">Chat with us'
                   '</a>, powered by <a href="https://www.livechat.com/?welcome" rel="noopener nofollow" target="_blank">'
                   "LiveChat</a></noscript>\n<!-- End of LiveChat code -->\n")
    if "userlike" in s:
        end.append('<script async type="text/javascript" src="https://userlike-cdn-widgets.s3-eu-west-1.amazonaws.com/'
                   f'{i["userlike"]}.js"></script>\n')
    if "trusted_shops" in s:
        end.append(f'<script async data-desktop-y-offset="0" data-mobile-y-offset="0" data-desktop-disable-reviews="false" '
                   'data-desktop-enable-custom="false" data-desktop-position="right" data-desktop-custom-width="156" '
                   'data-desktop-enable-fadeout="false" data-disable-mobile="false" data-disable-trustbadge="false" '
                   'data-mobile-custom-width="156" data-mobile-disable-reviews="false" data-mobile-enable-custom="false" '
                   'data-mobile-position="left" charset="UTF-8" '
                   f'src="https://widgets.trustedshops.com/js/{i["ts"]}.js"></script>\n')
    # first-party subdomains CNAMEd to trackers (CNAME cloaking), as some publishers and shops run them
    from pipelines.localdns.demo import DEMO_CLOAKED

    for host, (_zone, _tracker, url) in sorted(DEMO_CLOAKED.items()):
        if host.endswith("." + ctx.ds.domain):
            end.append(f'<script async src="{url}"></script>\n')
    return head, start, end


def _borlabs_blocker(service: str, embed: str) -> str:
    """A Borlabs Cookie content blocker: the embed code waits base64-encoded until the visitor agrees."""
    code = base64.b64encode(embed.encode("utf-8")).decode("ascii")
    return (f'<div class="BorlabsCookie _brlbs-content-blocker" data-borlabs-cookie-type="content-blocker" '
            f'data-borlabs-cookie-id="{service}"><div class="_brlbs-embed"><p>Dieser Inhalt kommt erst nach Ihrer '
            'Zustimmung vom Server des Anbieters.</p><a class="_brlbs-btn" href="#" '
            f'data-borlabs-cookie-unblock role="button">Inhalt laden</a></div><script type="text/template">{code}'
            "</script></div>\n")


def _click_to_load(embed: str) -> str:
    """A click-to-load placeholder holding the embed code HTML-escaped in an attribute."""
    return (f'<div class="video-consent" data-embed-code="{_esc(embed)}"><button type="button">Video laden '
            "(Daten werden an den Anbieter übertragen)</button></div>\n")


def _page_embeds(ctx: _Ctx, page: str) -> str:
    """Service embeds placed on specific pages only (maps, videos, captcha, review widgets, pixels)."""
    i, s = ctx.ids, ctx.services
    held = DEMO_EMBEDDINGS.get(ctx.ds.domain, {})
    out: list[str] = []
    if page in ("home", "video"):
        vid = i["yt1"] if page == "home" else i["yt2"]
        if "youtube" in s:
            embed = (f'<iframe width="560" height="315" src="https://www.youtube.com/embed/{vid}" '
                     'title="YouTube video player" frameborder="0" allow="accelerometer; autoplay; clipboard-write; '
                     'encrypted-media; gyroscope; picture-in-picture; web-share" referrerpolicy="strict-origin-when-'
                     'cross-origin" allowfullscreen></iframe>')
            out.append(_borlabs_blocker("youtube", embed) if held.get("youtube") == "encoded"
                       else f'<div class="video">{embed}</div>\n')
        if "youtube_nocookie" in s:
            out.append(f'<div class="video"><iframe width="560" height="315" src="https://www.youtube-nocookie.com/'
                       f'embed/{vid}?rel=0" title="YouTube video player" frameborder="0" allow="accelerometer; '
                       'autoplay; encrypted-media; picture-in-picture" allowfullscreen></iframe></div>\n')
        if "vimeo" in s and page == "video":
            embed = (f'<div style="padding:56.25% 0 0 0;position:relative;"><iframe src="https://player.vimeo.com/'
                     f'video/{i["vimeo"]}?h={i["vimeo_h"]}&amp;badge=0&amp;autopause=0&amp;player_id=0&amp;app_id=58479" '
                     'frameborder="0" allow="autoplay; fullscreen; picture-in-picture; clipboard-write" '
                     'style="position:absolute;top:0;left:0;width:100%;height:100%;" title="Imagefilm"></iframe></div>'
                     '<script src="https://player.vimeo.com/api/player.js"></script>')
            out.append(_click_to_load(embed) if held.get("vimeo") == "encoded" else embed + "\n")
    if page == "home" and "trustpilot" in s:
        out.append('<!-- TrustBox script -->\n<script type="text/javascript" src="https://widget.trustpilot.com/'
                   'bootstrap/v5/tp.widget.bootstrap.min.js" async></script>\n<!-- End TrustBox script -->\n'
                   f'<div class="trustpilot-widget" data-locale="de-DE" data-template-id="{i["tp_tpl"]}" '
                   f'data-businessunit-id="{i["tp_bu"]}" data-style-height="24px" data-style-width="100%" '
                   f'data-theme="light">\n  <a href="https://de.trustpilot.com/review/{ctx.ds.domain}" target="_blank" '
                   'rel="noopener">Trustpilot</a>\n</div>\n')
    if page == "map" and "google_maps" in s:
        pb = (f"!1m18!1m12!1m3!1d2662.{ctx.ids['maps_ts'][-6:]}!2d{ctx.lon}!3d{ctx.lat}!2m3!1f0!2f0!3f0!3m2!1i1024"
              f"!2i768!4f13.1!3m3!1m2!1s{ctx.ids['maps_hex'].replace(':', '%3A')}!2s{ctx.street.replace(' ', '%20')}"
              f"!5e0!3m2!1sde!2sde!4v{ctx.ids['maps_ts']}!5m2!1sde!2sde")
        src = ('src="about:blank" data-src' if held.get("google_maps") == "gated" else "src")
        consent = ' data-usercentrics="Google Maps"' if held.get("google_maps") == "gated" else ""
        out.append(f'<iframe {src}="https://www.google.com/maps/embed?pb={pb}"{consent} width="600" height="450" '
                   'style="border:0;" allowfullscreen="" loading="lazy" referrerpolicy="no-referrer-when-downgrade">'
                   "</iframe>\n")
    if page == "form" and "recaptcha" in s:
        out.append('<script src="https://www.google.com/recaptcha/api.js" async defer></script>\n')
    if page == "article" and "vgwort" in s:
        pix = i["vgwort_ids"].split(",")[0]
        out.append(f'<img src="https://{i["vgwort_sub"]}.met.vgwort.de/na/{pix}" width="1" height="1" alt="" '
                   'loading="eager">\n')
    return "".join(out)


# --------------------------------------------------------------------------- page content

_TEXT = {
    "shop": ["Entdecken Sie unser Sortiment mit über 2.000 Artikeln – versandkostenfrei ab 49 €.",
             "Bestellen Sie bis 14 Uhr, und Ihre Lieferung verlässt noch am selben Tag unser Lager.",
             "Alle Preise inkl. gesetzl. MwSt., zzgl. Versandkosten. 30 Tage Rückgaberecht.",
             "Sicher bezahlen mit PayPal, Klarna, Kreditkarte oder auf Rechnung.",
             "Unser Kundenservice ist Montag bis Freitag von 8 bis 18 Uhr für Sie erreichbar."],
    "law": ["Wir beraten und vertreten Mandantinnen und Mandanten im Arbeitsrecht, Mietrecht und Familienrecht.",
            "Unsere Kanzlei steht seit über 25 Jahren für persönliche und kompetente Rechtsberatung.",
            "Vereinbaren Sie einen Termin für ein unverbindliches Erstgespräch.",
            "Fachanwalt für Arbeitsrecht und Fachanwältin für Familienrecht unter einem Dach.",
            "Wir sind bundesweit tätig und bieten auch Online-Beratung per Video an."],
    "local": ["Ihr Meisterbetrieb aus der Region – zuverlässig, pünktlich und sauber.",
              "Seit drei Generationen sind wir für unsere Kundinnen und Kunden da.",
              "Besuchen Sie uns in unserem Geschäft oder rufen Sie uns einfach an.",
              "Wir bilden aus! Bewerben Sie sich jetzt für einen Ausbildungsplatz.",
              "Qualität aus Meisterhand – fragen Sie nach unserem aktuellen Angebot."],
    "blog": ["Hier schreibe ich über meine Erfahrungen, Tipps und Lieblingsrezepte.",
             "Neuer Beitrag: Zehn Dinge, die ich gern früher gewusst hätte.",
             "Abonniere meinen Newsletter und verpasse keinen Artikel mehr.",
             "Vielen Dank für eure lieben Kommentare zum letzten Beitrag!",
             "Dieser Beitrag enthält Affiliate-Links. Für euch entstehen keine Mehrkosten."],
    "news": ["Stadtrat beschließt Sanierung der Innenstadt – Baubeginn im Frühjahr.",
             "Regionale Wirtschaft: Mittelstand blickt verhalten optimistisch ins neue Jahr.",
             "Kultur: Theater feiert Premiere mit ausverkauftem Haus.",
             "Sport: Heimmannschaft gewinnt Derby in letzter Minute.",
             "Wetter: Ab Mittwoch wird es deutlich kühler, Regen in der Nacht."],
    "hotel": ["Genießen Sie erholsame Tage in unserem familiengeführten Haus mit Blick auf die Berge.",
              "Alle Zimmer mit Dusche/WC, kostenlosem WLAN und reichhaltigem Frühstücksbuffet.",
              "Buchen Sie direkt bei uns zum besten Preis – ohne Buchungsgebühren.",
              "Unser Wellnessbereich mit Sauna und Dampfbad lädt zum Entspannen ein.",
              "Hunde sind nach Absprache herzlich willkommen."],
    "clinic": ["Wir nehmen uns Zeit für Sie – vereinbaren Sie Ihren Termin telefonisch oder online.",
               "Alle Kassen und Privatpatienten. Barrierefreier Zugang vorhanden.",
               "Unsere Sprechzeiten: Mo–Fr 8–12 Uhr, Mo, Di, Do 14–18 Uhr.",
               "Bitte bringen Sie zu Ihrem Termin Ihre Versichertenkarte mit.",
               "In dringenden Fällen erreichen Sie außerhalb der Sprechzeiten den ärztlichen Bereitschaftsdienst 116 117."],
    "saas": ["Die All-in-One-Lösung für Ihr Team – DSGVO-konform und in Deutschland gehostet.",
             "Jetzt 30 Tage kostenlos testen. Keine Kreditkarte erforderlich.",
             "Über 5.000 Unternehmen vertrauen bereits auf unsere Software.",
             "Nahtlose Integration mit DATEV, lexoffice, Slack und Microsoft Teams.",
             "ISO 27001-zertifizierte Rechenzentren in Frankfurt am Main."],
}

# template -> list of (path, title, placement)
_PAGES = {
    "shop": [("/produkte", "Produkte", "video"), ("/produkte/bestseller", "Bestseller", "article"),
             ("/versand", "Versand & Zahlung", ""), ("/warenkorb", "Warenkorb", "")],
    "law": [("/rechtsgebiete", "Rechtsgebiete", "article"), ("/team", "Team", "video"), ("/karriere", "Karriere", "")],
    "local": [("/leistungen", "Leistungen", "video"), ("/ueber-uns", "Über uns", "article"),
              ("/oeffnungszeiten", "Öffnungszeiten", "map")],
    "blog": [("/blog/erster-beitrag", "Mein erster Beitrag", "video"), ("/blog/tipps-fuer-anfaenger",
             "Tipps für Anfänger", "article"), ("/blog/jahresrueckblick", "Jahresrückblick", "article"),
             ("/ueber-mich", "Über mich", "")],
    "news": [("/artikel/stadtrat-beschliesst-sanierung", "Stadtrat beschließt Sanierung", "article"),
             ("/artikel/derby-in-letzter-minute", "Derby in letzter Minute", "video"),
             ("/artikel/theaterpremiere", "Theaterpremiere ausverkauft", "article"), ("/ressort/lokales", "Lokales", "")],
    "hotel": [("/zimmer", "Zimmer & Preise", "video"), ("/anfahrt", "Anfahrt", "map"),
              ("/angebote", "Angebote", ""), ("/anfrage", "Anfrage", "form")],
    "clinic": [("/team", "Unser Team", "video"), ("/leistungen", "Leistungen", "article"),
               ("/termin", "Online-Termin", "form")],
    "saas": [("/funktionen", "Funktionen", "video"), ("/preise", "Preise", ""), ("/login", "Anmelden", "form"),
             ("/blog/release-notes", "Release Notes", "article")],
}


def _layout(ctx: _Ctx, path: str, title: str, main: str, head_snips, start_snips, end_snips) -> str:
    ds = ctx.ds
    nav_pages = [("/", "Start"), *[(p, t) for p, t, _ in _PAGES[ds.template]], ("/kontakt", "Kontakt")]
    nav = "".join(f'<li class="nav-item"><a class="nav-link" href="{p}">{_esc(t)}</a></li>' for p, t in nav_pages)
    if ctx.wordpress:
        theme = ctx.slug.split("-")[0]
        assets = (f'<meta name="generator" content="WordPress 6.5.{len(ctx.slug) % 5}" />\n'
                  f"<link rel='stylesheet' id='{theme}-style-css' href='https://{ctx.host}/wp-content/themes/{theme}/"
                  "style.css?ver=1.4.2' type='text/css' media='all' />\n"
                  f'<link rel="https://api.w.org/" href="https://{ctx.host}/wp-json/" />\n'
                  f"<script src='https://{ctx.host}/wp-includes/js/jquery/jquery.min.js?ver=3.7.1' id='jquery-core-js'>"
                  "</script>\n")
    else:
        assets = '<link rel="stylesheet" href="/assets/css/main.css?v=3">\n<script src="/assets/js/app.js" defer></script>\n'
    socials = []
    rng = random.Random(_seed(ds.domain, "social"))
    if rng.random() < 0.8:
        socials.append(f'<a href="https://www.instagram.com/{ctx.slug.replace("-", "_")}/" rel="noopener" '
                       'target="_blank">Instagram</a>')
    if rng.random() < 0.6 or not socials:
        socials.append(f'<a href="https://www.facebook.com/{ctx.slug.replace("-", "")}" rel="noopener" '
                       'target="_blank">Facebook</a>')
    if ds.template in ("law", "saas") and rng.random() < 0.7:
        socials.append(f'<a href="https://www.linkedin.com/company/{ctx.slug}/" rel="noopener" target="_blank">LinkedIn</a>')
    footer = (f'<footer class="site-footer">\n<address>{_esc(ds.name)} · {_esc(ctx.street)} · {ctx.zip} {_esc(ds.city)}'
              f' · Tel. {ctx.phone}</address>\n<p class="social">{" | ".join(socials)}</p>\n'
              '<p><a href="/impressum">Impressum</a> · <a href="/datenschutz">Datenschutz</a> · '
              '<a href="/kontakt">Kontakt</a> · <a href="#" onclick="return false" class="cookie-settings">'
              "Cookie-Einstellungen</a></p>\n"
              f"<p>&copy; 2024 {_esc(ds.name)}</p>\n</footer>\n")
    body_class = f"page-{path.strip('/').replace('/', '-') or 'home'} template-{ds.template}"
    return (
        '<!DOCTYPE html>\n<html lang="de">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)} | {_esc(ds.name)}</title>\n"
        f'<meta name="description" content="{_esc(ds.name)} in {_esc(ds.city)} – {_esc(_TEXT[ds.template][0])}">\n'
        f'<link rel="canonical" href="https://{ctx.host}{path}">\n'
        '<link rel="icon" href="/favicon.ico">\n'
        + "".join(head_snips) + assets +
        f'</head>\n<body class="{body_class}">\n' + "".join(start_snips) +
        f'<header class="site-header">\n<a class="logo" href="/"><img src="/assets/img/logo.svg" alt="{_esc(ds.name)}" '
        f'width="180" height="48"></a>\n<nav><ul class="nav">{nav}</ul></nav>\n</header>\n'
        f'<main id="content">\n{main}</main>\n' + footer + "".join(end_snips) + "</body>\n</html>\n"
    )


def _content(ctx: _Ctx, page_key: str, title: str, rng: random.Random) -> str:
    paras = _TEXT[ctx.ds.template]
    picked = rng.sample(paras, k=3)
    return f"<h1>{_esc(title)}</h1>\n" + "".join(f"<p>{_esc(p)}</p>\n" for p in picked)


def _impressum(ctx: _Ctx) -> str:
    ds = ctx.ds
    rng = random.Random(_seed(ds.domain, "impressum"))
    if ds.domain.endswith(".at"):
        legal = f"<h2>Offenlegung gemäß § 25 MedienG</h2>\n<p>UID-Nr.: ATU{rng.randrange(10**7, 10**8)}</p>\n"
    elif ds.domain.endswith(".ch"):
        legal = f"<p>UID: CHE-{rng.randrange(100, 999)}.{rng.randrange(100, 999)}.{rng.randrange(100, 999)}</p>\n"
    else:
        legal = (f"<h2>Registereintrag</h2>\n<p>Registergericht: Amtsgericht {_esc(ds.city)}<br>"
                 f"Registernummer: HRB {rng.randrange(1000, 99999)}</p>\n"
                 f"<h2>Umsatzsteuer-ID</h2>\n<p>Umsatzsteuer-Identifikationsnummer gemäß § 27 a UStG: "
                 f"DE{rng.randrange(10**8, 10**9)}</p>\n")
    extra = ""
    if ds.template == "law":
        extra = ("<h2>Berufsrechtliche Angaben</h2>\n<p>Berufsbezeichnung: Rechtsanwalt (verliehen in der "
                 "Bundesrepublik Deutschland). Zuständige Kammer: Rechtsanwaltskammer. Es gelten die BRAO, BORA, "
                 "FAO und das RVG.</p>\n")
    elif ds.template == "clinic":
        extra = ("<h2>Berufsrechtliche Angaben</h2>\n<p>Zuständige Kammer: Landesärztekammer. Zuständige "
                 "Aufsichtsbehörde: Kassenärztliche Vereinigung.</p>\n")
    elif ds.template == "news":
        extra = (f"<h2>Verantwortlich für den Inhalt nach § 18 Abs. 2 MStV</h2>\n<p>{_esc(ctx.owner)}, "
                 f"{_esc(ctx.street)}, {ctx.zip} {_esc(ds.city)}</p>\n")
    return ("<h1>Impressum</h1>\n<h2>Angaben gemäß § 5 DDG</h2>\n"
            f"<p>{_esc(ds.name)}<br>{_esc(ctx.street)}<br>{ctx.zip} {_esc(ds.city)}</p>\n"
            f"<p>Vertreten durch: {_esc(ctx.owner)}</p>\n<h2>Kontakt</h2>\n"
            f'<p>Telefon: {ctx.phone}<br>E-Mail: <a href="mailto:info@{ds.domain}">info@{ds.domain}</a></p>\n'
            + legal + extra +
            "<h2>Verbraucherstreitbeilegung</h2>\n<p>Wir sind nicht bereit oder verpflichtet, an "
            "Streitbeilegungsverfahren vor einer Verbraucherschlichtungsstelle teilzunehmen.</p>\n")


_POLICY_PURPOSE = {
    "tag_manager": "Mit dem Tag Manager verwalten wir Website-Tags; das Tool selbst erhebt keine personenbezogenen "
                   "Daten, löst aber andere Tags aus, die ggf. Daten erfassen.",
    "analytics": "Der Dienst ermöglicht uns die Analyse des Nutzerverhaltens, um unser Angebot zu verbessern. "
                 "Dabei werden u. a. IP-Adresse (gekürzt), Geräteinformationen und besuchte Seiten verarbeitet.",
    "advertising": "Der Dienst dient der Messung der Wirksamkeit unserer Werbeanzeigen und der Bildung von "
                   "Zielgruppen für Werbung in sozialen Netzwerken.",
    "chat": "Über den Chat-Dienst können Sie mit unserem Kundenservice in Kontakt treten. Dabei werden Ihre "
            "Chatnachrichten und technische Verbindungsdaten verarbeitet.",
    "consent": "Wir nutzen eine Consent-Management-Plattform, um Ihre Einwilligungen nach § 25 Abs. 1 TDDDG und "
               "Art. 6 Abs. 1 lit. a DSGVO einzuholen und zu dokumentieren.",
    "fonts": "Zur einheitlichen Darstellung von Schriftarten binden wir Web Fonts ein.",
    "video": "Wir binden Videos ein. Beim Abspielen wird eine Verbindung zu den Servern des Anbieters hergestellt.",
    "maps": "Zur Darstellung einer Anfahrtskarte binden wir einen Kartendienst ein. Dabei wird Ihre IP-Adresse an "
            "den Anbieter übertragen.",
    "captcha": "Zum Schutz unserer Formulare vor Spam prüfen wir, ob die Eingabe durch einen Menschen erfolgt.",
    "cdn": "Zur schnellen Auslieferung von Programmbibliotheken nutzen wir ein Content Delivery Network (CDN).",
    "reviews": "Zur Anzeige von Kundenbewertungen und Gütesiegeln binden wir ein Bewertungs-Widget ein.",
    "metering": "Zur Ermittlung der Zugriffszahlen (Reichweitenmessung bzw. Vergütung von Texten) setzen wir ein "
                "Zählverfahren ein.",
}


def _datenschutz(ctx: _Ctx) -> str:
    ds = ctx.ds
    parts = ["<h1>Datenschutzerklärung</h1>\n<h2>1. Datenschutz auf einen Blick</h2>\n",
             "<p>Die folgenden Hinweise geben einen einfachen Überblick darüber, was mit Ihren personenbezogenen "
             "Daten passiert, wenn Sie diese Website besuchen.</p>\n",
             "<h2>2. Verantwortliche Stelle</h2>\n",
             f"<p>{_esc(ds.name)}, {_esc(ctx.street)}, {ctx.zip} {_esc(ds.city)}. E-Mail: datenschutz@{ds.domain}</p>\n",
             "<h2>3. Hosting und Server-Logfiles</h2>\n<p>Der Provider der Seiten erhebt und speichert automatisch "
             "Informationen in Server-Log-Dateien (Browsertyp, Betriebssystem, Referrer-URL, Uhrzeit, IP-Adresse). "
             "Rechtsgrundlage ist Art. 6 Abs. 1 lit. f DSGVO.</p>\n",
             "<h2>4. Eingebundene Dienste</h2>\n"]
    n = 1
    for key in sorted(ctx.declared, key=lambda k: DEMO_SERVICES[k].name):
        svc = DEMO_SERVICES[key]
        link = (f' Weitere Informationen: <a href="{svc.policy_url}" target="_blank" rel="noopener">'
                f"{_esc(svc.policy_url)}</a>.") if svc.policy_url else ""
        parts.append(f"<h3>4.{n} {_esc(svc.name)}</h3>\n<p>{_POLICY_PURPOSE[svc.category]} Anbieter ist "
                     f"{_esc(svc.provider)}. Die Verarbeitung erfolgt auf Grundlage Ihrer Einwilligung "
                     f"(Art. 6 Abs. 1 lit. a DSGVO, § 25 Abs. 1 TDDDG); die Einwilligung ist jederzeit widerrufbar."
                     f"{link}</p>\n")
        n += 1
    parts.append("<h2>5. Ihre Rechte</h2>\n<p>Sie haben jederzeit das Recht auf unentgeltliche Auskunft über "
                 "Herkunft, Empfänger und Zweck Ihrer gespeicherten personenbezogenen Daten sowie ein Recht auf "
                 "Berichtigung oder Löschung dieser Daten und ein Beschwerderecht bei der zuständigen "
                 "Aufsichtsbehörde.</p>\n<p>Stand: Januar 2024</p>\n")
    return "".join(parts)


def _kontakt(ctx: _Ctx) -> str:
    sitekey = (f'<div class="g-recaptcha" data-sitekey="{ctx.ids["recaptcha"]}"></div>\n'
               if "recaptcha" in ctx.services else "")
    return ("<h1>Kontakt</h1>\n"
            f"<p>{_esc(ctx.ds.name)}<br>{_esc(ctx.street)}<br>{ctx.zip} {_esc(ctx.ds.city)}<br>Tel. {ctx.phone}</p>\n"
            '<form method="post" action="/kontakt" class="contact-form">\n'
            '<label>Name <input type="text" name="name" required></label>\n'
            '<label>E-Mail <input type="email" name="email" required></label>\n'
            '<label>Nachricht <textarea name="message" rows="6"></textarea></label>\n'
            '<label><input type="checkbox" name="privacy" required> Ich habe die <a href="/datenschutz">'
            "Datenschutzerklärung</a> gelesen.</label>\n" + sitekey +
            '<button type="submit">Absenden</button>\n</form>\n')


def _cookies(ctx: _Ctx) -> list[tuple[str, str]]:
    """First-party Set-Cookie headers for the home page."""
    out: list[tuple[str, str]] = []
    i = ctx.ids
    rng = random.Random(_seed(ctx.ds.domain, "cookies"))
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


def _build_site(ds: DemoSite, month: int) -> list[Site]:
    ctx = _make_ctx(ds, month)
    head, start, end = _snippets(ctx)
    rng = random.Random(_seed(ds.domain, "content"))
    server = [("Server", ctx.server)]
    if ctx.server == "cloudflare":
        server.append(("CF-Cache-Status", "DYNAMIC"))
    if ctx.wordpress:
        server.append(("Link", f'<https://{ctx.host}/wp-json/>; rel="https://api.w.org/"'))
    site = Site(ctx.host, http=True, http_redirect=True,
                meta={"domain": ds.domain, "template": ds.template, "month": month,
                      "services": sorted(ctx.services), "declared": sorted(ctx.declared)})
    site.fallback = Route(status=404, headers=[("Content-Type", "text/html; charset=utf-8"), *server],
                          body=_layout(ctx, "/404", "Seite nicht gefunden",
                                       "<h1>Seite nicht gefunden</h1>\n<p>Fehler 404.</p>\n", head, start, end).encode())

    def page(path: str, title: str, main: str, headers=()) -> None:
        body = _layout(ctx, path, title, main, head, start, end)
        site.add(path, html_route(body, headers=[*server, *headers]))

    # home
    teaser = "".join(f'<article class="teaser"><h2><a href="{p}">{_esc(t)}</a></h2></article>\n'
                     for p, t, _ in _PAGES[ds.template])
    home_main = (_content(ctx, "home", f"Willkommen bei {ds.name}", rng) + _page_embeds(ctx, "home") + teaser +
                 '<p><a href="/kontakt">Jetzt Kontakt aufnehmen</a></p>\n')
    page("/", "Startseite", home_main, headers=_cookies(ctx))
    for path, title, placement in _PAGES[ds.template]:
        main = _content(ctx, path, title, rng) + _page_embeds(ctx, placement)
        if placement == "form":
            main += _kontakt(ctx).replace("<h1>Kontakt</h1>\n", "") + _page_embeds(ctx, "form")
        page(path, title, main)
    kontakt_main = _kontakt(ctx) + _page_embeds(ctx, "form")
    if ds.template not in ("local", "hotel"):
        kontakt_main += _page_embeds(ctx, "map")
    page("/kontakt", "Kontakt", kontakt_main)
    page("/impressum", "Impressum", _impressum(ctx))
    page("/datenschutz", "Datenschutzerklärung", _datenschutz(ctx))

    paths = ["/", *[p for p, _, _ in _PAGES[ds.template]], "/kontakt", "/impressum", "/datenschutz"]
    robots = "User-agent: *\n"
    if ctx.wordpress:
        robots += "Disallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n"
    if ds.template == "shop":
        robots += "Disallow: /warenkorb\nDisallow: /checkout/\n"
    if ds.template == "saas":
        robots += "Disallow: /app/\n"
    robots += f"\nSitemap: https://{ctx.host}/sitemap.xml\n"
    site.add("/robots.txt", robots_route(robots))
    urls = "".join(f"<url><loc>https://{ctx.host}{p}</loc></url>" for p in paths)
    site.add("/sitemap.xml", text_route(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{urls}</urlset>\n", content_type="application/xml"))
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


def demo_ground_truth(month: int = 1) -> dict[str, dict]:
    """Input domain -> {"host", "template", "services", "embeddings" (service -> direct / gated / encoded),
    "loads_without_gate", "declared", "third_party_hosts", "server"} for ``month``."""
    out: dict[str, dict] = {}
    for ds in DEMO_SITES:
        services = site_services(ds.domain, month)
        slug = ds.domain.rsplit(".", 1)[0]
        ctx = _make_ctx(ds, month)
        ids = ctx.ids
        hosts: set[str] = set()
        for key in services:
            for h in DEMO_SERVICES[key].hosts:
                h = h.replace("{host}", ds.domain).replace("{slug}", slug).replace("{vgwort}", ids["vgwort_sub"])
                if not h.endswith("." + ds.domain):
                    hosts.add(h)
        held = {k: e for k, e in DEMO_EMBEDDINGS.get(ds.domain, {}).items() if k in services}
        out[ds.domain] = {
            "host": f"www.{ds.domain}" if ds.www else ds.domain,
            "template": ds.template,
            "services": sorted(services),
            "embeddings": {k: held.get(k, "direct") for k in sorted(services)},
            # every service but those held back or encoded loads on page load, without a consent gate
            "loads_without_gate": sorted(set(services) - set(held)),
            "declared": sorted(declared_services(ds.domain)),
            "third_party_hosts": sorted(hosts),
            "server": ctx.server,  # "cloudflare": the site sits behind Cloudflare (sets __cf_bm)
        }
    return out


def demo_domain_list_text() -> str:
    """The demo input list: a comment header, one domain per line, 2 malformed lines and 1 duplicate."""
    lines = ["# servicerisk demo domain list",
             f"# {len(DEMO_DOMAINS)} German-speaking sites served by the local web (pipelines.localweb.demo).",
             "# One registrable domain per line; lines starting with # are comments.",
             ""]
    for n, domain in enumerate(DEMO_DOMAINS):
        lines.append(domain)
        if n == 9:
            lines.append("http://1.2.3.4/")
        if n == 24:
            lines.append("not a domain")
        if n == 39:
            lines.append(DEMO_DOMAINS[1])  # duplicate
    return "\n".join(lines) + "\n"
