"""The demo web's DNS: real public addresses from the real operators' networks, CDN chains, cloaking examples.

``demo_zone()`` answers for every host the demo web (``devweb.web.demo``) references, in both
months: third-party hosts get addresses inside networks that ``@ip-location-db/asn`` attributes to the
operator that really serves them (Google, Meta, Cloudflare, Fastly, Akamai, AWS eu-west-1/eu-central-1,
CloudFront, INFOnline, LinkedIn, Microsoft …; ``tests/pipelines/test_enrich_geoip.py`` checks each one
against the pinned ASN data); the demo sites' own names point to German, Swiss and Austrian hosting
networks (Hetzner, IONOS, Strato, netcup, Host Europe, Infomaniak, Hostpoint, Anexia), some ``www.``
names through a CDN (Akamai ``edgekey.net``, CloudFront, Fastly, Cloudflare, Bunny: never flagged as
cloaking), and ``DEMO_CLOAKED`` lists first-party subdomains CNAMEd to trackers (Adobe, INFOnline,
etracker, Criteo, AT Internet, Eulerian, Webtrekk).

These addresses are data for enrichment only: nothing connects to them, every demo fetch goes through the
local proxy. Where an operator has no network of its own in the ASN data (etracker, VG Wort, Trusted Shops,
Usercentrics, Cookiebot, Matomo Cloud), the address lies in the hosting network it plausibly uses; the
``# host:`` comments in ``_THIRD_PARTY`` say which.
"""

from __future__ import annotations

from devweb.dns.server import Zone

__all__ = ["demo_zone", "DEMO_CLOAKED", "DEMO_CDN_SITES", "DEMO_OPERATOR_ASNS", "site_addresses"]

# Third-party hosts of the demo web. "name TTL TYPE value" lines (see Zone.parse).
_THIRD_PARTY = """
; Google (AS15169): front ends, anycast
www.googletagmanager.com        3600 CNAME www-googletagmanager.l.google.com
www-googletagmanager.l.google.com 300 A    142.250.185.72
www-googletagmanager.l.google.com 300 AAAA 2a00:1450:4001:82b::2008
fonts.googleapis.com             300 A     142.250.186.42
fonts.googleapis.com             300 AAAA  2a00:1450:4001:80b::200a
fonts.gstatic.com               3600 CNAME gstaticadssl.l.google.com
gstaticadssl.l.google.com        300 A     142.250.185.67
gstaticadssl.l.google.com        300 AAAA  2a00:1450:4001:810::2003
www.google.com                   300 A     142.250.185.68
www.google.com                   300 AAAA  2a00:1450:4001:80b::2004
www.youtube.com                 3600 CNAME youtube-ui.l.google.com
www.youtube-nocookie.com        3600 CNAME youtube-ui.l.google.com
youtube-ui.l.google.com          300 A     142.250.185.78
youtube-ui.l.google.com          300 A     142.250.186.46
youtube-ui.l.google.com          300 A     172.217.16.206
youtube-ui.l.google.com          300 AAAA  2a00:1450:4001:80b::200e
; Meta (AS32934): edge PoPs
connect.facebook.net            3600 CNAME scontent.xx.fbcdn.net
scontent.xx.fbcdn.net             60 A     157.240.20.19
scontent.xx.fbcdn.net             60 AAAA  2a03:2880:f11c:8083:face:b00c:0:3
www.facebook.com                3600 CNAME star-mini.c10r.facebook.com
star-mini.c10r.facebook.com       60 A     157.240.20.35
star-mini.c10r.facebook.com       60 AAAA  2a03:2880:f11c:8083:face:b00c:0:25de
; Cloudflare (AS13335)
cdnjs.cloudflare.com             300 A     104.17.24.14
cdnjs.cloudflare.com             300 A     104.17.25.14
cdnjs.cloudflare.com             300 AAAA  2606:4700::6811:1818
unpkg.com                        300 A     104.16.122.175
unpkg.com                        300 A     104.16.123.175
static.cloudflareinsights.com    300 A     104.16.79.73
static.cloudflareinsights.com    300 A     104.16.80.73
cdn.cookielaw.org                300 CNAME cdn.cookielaw.org.cdn.cloudflare.net
cdn.cookielaw.org.cdn.cloudflare.net 300 A 104.18.32.137
cdn.cookielaw.org.cdn.cloudflare.net 300 A 172.64.155.119
cdn.livechatinc.com              300 CNAME cdn.livechatinc.com.cdn.cloudflare.net
cdn.livechatinc.com.cdn.cloudflare.net 300 A 104.18.20.22
www.livechat.com                 300 A     104.18.21.22
privacy-proxy.usercentrics.eu    300 CNAME privacy-proxy.usercentrics.eu.cdn.cloudflare.net
privacy-proxy.usercentrics.eu.cdn.cloudflare.net 300 A 172.67.140.10
; Fastly (AS54113)
cdn.jsdelivr.net                 300 CNAME jsdelivr.map.fastly.net
jsdelivr.map.fastly.net           30 A     151.101.1.229
jsdelivr.map.fastly.net           30 A     151.101.65.229
jsdelivr.map.fastly.net           30 AAAA  2a04:4e42::485
player.vimeo.com                 300 CNAME vimeo-player.map.fastly.net
vimeo-player.map.fastly.net       30 A     151.101.0.217
; Akamai (AS20940) behind edgekey/akamaiedge
snap.licdn.com                   300 CNAME snap.licdn.com.edgekey.net
snap.licdn.com.edgekey.net       300 CNAME e4718.dscb.akamaiedge.net
e4718.dscb.akamaiedge.net         20 A     2.16.238.10
analytics.tiktok.com             300 CNAME analytics.tiktok.com.ttdns2.com
analytics.tiktok.com.ttdns2.com  300 CNAME a1984.dscd.akamai.net
a1984.dscd.akamai.net             20 A     23.56.10.20
; LinkedIn (AS14413), Microsoft (AS8068 / AS8075), INFOnline (AS43407)
px.ads.linkedin.com              300 A     108.174.11.65
www.clarity.ms                   300 A     13.107.42.14
consent.cookiebot.com            300 A     20.79.10.10     ; host: Microsoft Azure, Germany West Central
script.ioam.de                   300 A     91.215.103.56
; AWS (AS16509): eu-west-1 (Ireland), eu-central-1 (Frankfurt), CloudFront
static.hotjar.com                 60 CNAME static-hotjar-com-1893.eu-west-1.elb.amazonaws.com
static-hotjar-com-1893.eu-west-1.elb.amazonaws.com 60 A 34.240.10.5
static-hotjar-com-1893.eu-west-1.elb.amazonaws.com 60 A 52.208.10.10
userlike-cdn-widgets.s3-eu-west-1.amazonaws.com 5 CNAME s3-r-w.eu-west-1.amazonaws.com
s3-r-w.eu-west-1.amazonaws.com     5 A     52.218.16.10
s3-r-w.eu-west-1.amazonaws.com     5 AAAA  2a05:d018::10
cdn.matomo.cloud                 300 A     3.120.10.20     ; host: AWS eu-central-1
widgets.trustedshops.com         300 A     52.29.10.10     ; host: AWS eu-central-1
widget.trustpilot.com            300 CNAME d3jp4yd4ipm8iq.cloudfront.net
d3jp4yd4ipm8iq.cloudfront.net     60 A     18.66.20.20
d3jp4yd4ipm8iq.cloudfront.net     60 AAAA  2600:9000:2000::1
; Google Cloud (AS396982), Germany
app.usercentrics.eu              300 A     34.107.20.20    ; host: Google Cloud
; German hosting for operators without a network of their own
code.etracker.com                300 A     46.22.40.10     ; host: PlusServer (assumed)
"""

# The demo hosts that the ASN data must attribute to a given AS (checked by the geoip tests).
DEMO_OPERATOR_ASNS: dict[str, int] = {
    "www.googletagmanager.com": 15169, "fonts.googleapis.com": 15169, "fonts.gstatic.com": 15169,
    "www.google.com": 15169, "www.youtube.com": 15169, "www.youtube-nocookie.com": 15169,
    "connect.facebook.net": 32934, "www.facebook.com": 32934,
    "cdnjs.cloudflare.com": 13335, "unpkg.com": 13335, "static.cloudflareinsights.com": 13335,
    "cdn.cookielaw.org": 13335, "cdn.livechatinc.com": 13335, "www.livechat.com": 13335,
    "privacy-proxy.usercentrics.eu": 13335,
    "cdn.jsdelivr.net": 54113, "player.vimeo.com": 54113,
    "snap.licdn.com": 20940, "analytics.tiktok.com": 20940,
    "px.ads.linkedin.com": 14413, "www.clarity.ms": 8068, "consent.cookiebot.com": 8075,
    "script.ioam.de": 43407,
    "static.hotjar.com": 16509, "userlike-cdn-widgets.s3-eu-west-1.amazonaws.com": 16509,
    "cdn.matomo.cloud": 16509, "widgets.trustedshops.com": 16509, "widget.trustpilot.com": 16509,
    "app.usercentrics.eu": 396982, "code.etracker.com": 61157,
}

# Hosting networks for the demo sites' own names: (IPv4 base, IPv6 base or None), cycled per TLD.
_HOSTING = {
    "de": [("78.46.10.", "2a01:4f8:c17:1a2::"),   # Hetzner Online (AS24940)
           ("217.160.0.", None),                  # IONOS (AS8560)
           ("81.169.145.", "2a01:238:20a:202:1000::"),  # Strato (AS6724)
           ("5.45.100.", None),                   # netcup (AS197540)
           ("116.203.10.", "2a01:4f8:c17:1b3::"),  # Hetzner Online (AS24940)
           ("5.35.230.", None)],                  # Host Europe (AS20773)
    "ch": [("83.166.138.", None),                 # Infomaniak (AS29222)
           ("217.26.52.", None)],                 # Hostpoint (AS29097)
    "at": [("37.235.1.", None)],                  # ANEXIA (AS51453)
}

#: www.<site> names served through a CDN: site → zone lines (CNAME chain to the CDN's addresses).
DEMO_CDN_SITES: dict[str, str] = {
    "autohaus-berger.de": """
www.autohaus-berger.de 300 CNAME www.autohaus-berger.de.edgekey.net
www.autohaus-berger.de.edgekey.net 300 CNAME e8123.b.akamaiedge.net
e8123.b.akamaiedge.net 20 A 2.16.238.20
""",
    "moebel-lindner.de": """
www.moebel-lindner.de 300 CNAME d2k8ux1n2c5v7q.cloudfront.net
d2k8ux1n2c5v7q.cloudfront.net 60 A 18.66.20.21
d2k8ux1n2c5v7q.cloudfront.net 60 A 18.66.20.22
""",
    "tagblatt-sued.de": """
www.tagblatt-sued.de 300 CNAME tagblatt-sued.global.ssl.fastly.net
tagblatt-sued.global.ssl.fastly.net 30 CNAME dualstack.j.sni.global.fastly.net
dualstack.j.sni.global.fastly.net 30 A 151.101.2.10
dualstack.j.sni.global.fastly.net 30 AAAA 2a04:4e42:200::485
""",
    "hotel-am-markt.de": """
www.hotel-am-markt.de 300 CNAME www.hotel-am-markt.de.cdn.cloudflare.net
www.hotel-am-markt.de.cdn.cloudflare.net 300 A 104.21.40.10
www.hotel-am-markt.de.cdn.cloudflare.net 300 A 172.67.140.11
""",
    "rechnungsheld.de": """
www.rechnungsheld.de 300 CNAME rechnungsheld.b-cdn.net
rechnungsheld.b-cdn.net 300 A 109.104.146.10
""",
}

#: First-party subdomains CNAMEd to trackers: host → (zone lines, tracker it must be attributed to,
#: a URL the demo web could embed to make the crawl see it). Expected pattern in the cloaking table.
DEMO_CLOAKED: dict[str, tuple[str, str, str]] = {
    "smetrics.verlag-nordlicht.de": ("""
smetrics.verlag-nordlicht.de 300 CNAME verlag-nordlicht.de.ssl.sc.omtrdc.net
verlag-nordlicht.de.ssl.sc.omtrdc.net 60 A 63.140.42.10
""", "omtrdc.net", "https://smetrics.verlag-nordlicht.de/b/ss/nordlichtprod/1/JS-2.22.0/s1234"),
    "stats.tagblatt-sued.de": ("""
stats.tagblatt-sued.de 300 CNAME tagblatt-relay.iocnt.net
tagblatt-relay.iocnt.net 60 A 91.215.101.20
""", "iocnt.net", "https://stats.tagblatt-sued.de/iomm/latest/bootstrap/loader.js"),
    "et.shop-gartenwelt.de": ("""
et.shop-gartenwelt.de 300 CNAME customer.etracker.com
customer.etracker.com 300 A 46.22.40.11
""", "customer.etracker.com", "https://et.shop-gartenwelt.de/t.js"),
    "xzkqvd.mode-schneider.de": ("""
xzkqvd.mode-schneider.de 300 CNAME x.dnsdelegation.io
x.dnsdelegation.io 300 A 74.119.117.10
""", "dnsdelegation.io", "https://xzkqvd.mode-schneider.de/js/ld/publishertag.js"),
    "at.stadtanzeiger-ulm.de": ("""
at.stadtanzeiger-ulm.de 300 CNAME at-stadtanzeiger-ulm-de-cddc.at-o.net
at-stadtanzeiger-ulm-de-cddc.at-o.net 300 A 45.10.120.10
""", "at-o.net", "https://at.stadtanzeiger-ulm.de/hit.xiti?s=612345"),
    "data.wirtschaft-aktuell.de": ("""
data.wirtschaft-aktuell.de 300 CNAME wirtschaft-aktuell.eulerian.net
wirtschaft-aktuell.eulerian.net 300 CNAME et5.eulerian.net
et5.eulerian.net 300 A 109.232.194.10
""", "eulerian.net", "https://data.wirtschaft-aktuell.de/ea.js"),
    "wt.kulturspiegel-bremen.de": ("""
wt.kulturspiegel-bremen.de 300 CNAME kulturspiegel.wt-eu02.net
kulturspiegel.wt-eu02.net 300 A 46.22.40.12
""", "wt-eu02.net", "https://wt.kulturspiegel-bremen.de/resp/api/get/123456789012345"),
}


def site_addresses(domain: str, index: int) -> tuple[str, str | None]:
    """(IPv4, IPv6 or None) of a demo site's server: the ``index``-th slot of its TLD's hosting networks."""
    tld = domain.rsplit(".", 1)[-1]
    choices = _HOSTING.get(tld, _HOSTING["de"])
    v4, v6 = choices[index % len(choices)]
    host_part = 10 + index
    return f"{v4}{host_part}", (f"{v6}{host_part:x}" if v6 else None)


def demo_zone() -> Zone:
    """A fresh Zone for the demo web: every demo site (apex, ``www.``, ``analytics.``), every third-party host
    of both months (``{slug}.matomo.cloud`` for every site), the CDN ``www.`` chains and ``DEMO_CLOAKED``."""
    from devweb.web.demo_sites import DEMO_SITES

    zone = Zone.parse(_THIRD_PARTY)
    for index, ds in enumerate(DEMO_SITES):
        v4, v6 = site_addresses(ds.domain, index)
        for name in (ds.domain, f"analytics.{ds.domain}"):
            zone.add(name, "A", v4, 3600)
            if v6:
                zone.add(name, "AAAA", v6, 3600)
        if ds.domain in DEMO_CDN_SITES:
            zone.update(Zone.parse(DEMO_CDN_SITES[ds.domain]))
        else:
            zone.add(f"www.{ds.domain}", "CNAME", ds.domain, 3600)
        slug = ds.domain.rsplit(".", 1)[0]
        zone.add(f"{slug}.matomo.cloud", "A", "18.184.20.20", 300)  # Matomo Cloud on AWS eu-central-1
    for n in range(1, 10):  # VG Wort counting pixels vg01 … vg09
        zone.add(f"vg{n:02d}.met.vgwort.de", "A", "46.22.40.20", 300)  # assumed German hosting (PlusServer)
    for lines, _pattern, _url in DEMO_CLOAKED.values():
        zone.update(Zone.parse(lines))
    return zone
