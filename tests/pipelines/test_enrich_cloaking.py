"""CNAME cloaking: recall 100% on the target list and the catalog's trackers, no flags on CDN chains, and the
demo zone's cloaked and CDN-fronted subdomains end to end through the real local DNS server."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from devweb.dns import LocalDNS
from devweb.dns.demo import DEMO_CDN_SITES, DEMO_CLOAKED, demo_zone
from pipelines.catalog.load import load_catalog
from pipelines.enrich.cloaking import (
    TRACKER_CATEGORIES,
    CloakingDetector,
    CloakingError,
    load_cloaking_targets,
)
from pipelines.enrich.geoip import GeoIP
from pipelines.enrich.run import enrich_run
from tests.support import fixtures

SITE = "beispiel-shop.de"

# CNAME targets of CDN, hosting and load-balancing services seen in front of ordinary first-party names
CDN_CHAINS = [
    ("www.beispiel-shop.de.edgekey.net", "e1234.a.akamaiedge.net"),
    ("www.beispiel-shop.de.edgesuite.net", "a1234.g.akamai.net"),
    ("beispiel.akamaized.net",),
    ("d1a2b3c4d5e6f7.cloudfront.net",),
    ("beispiel-shop.global.ssl.fastly.net", "dualstack.j.sni.global.fastly.net"),
    ("beispiel.map.fastly.net",),
    ("www.beispiel-shop.de.cdn.cloudflare.net",),
    ("beispiel.azureedge.net", "beispiel.afd.azureedge.net", "star-azureedge-prod.trafficmanager.net"),
    ("beispiel-fd.azurefd.net",),
    ("beispiel.b-cdn.net",),
    ("1234567890.rsc.cdn77.org",),
    ("beispiel.netlify.app",),
    ("cname.vercel-dns.com",),
    ("beispiel.github.io",),
    ("shops.myshopify.com",),
    ("beispiel-lb-123456.eu-central-1.elb.amazonaws.com",),
    ("beispiel-bucket.s3.eu-central-1.amazonaws.com",),
    ("ghs.googlehosted.com",),
    ("beispiel.wpengine.com",),
    ("x1y2z3.x.incapdns.net",),
    ("beispiel.hosted-by.hetzner.de",),
    ("origin.beispiel-shop.de",),  # stays inside the site
]


@pytest.fixture(scope="module")
def detector():
    return CloakingDetector(load_catalog(), load_cloaking_targets())


def test_target_table_is_sourced_and_dated():
    targets = load_cloaking_targets()
    assert len(targets) >= 20
    assert all(t.source.startswith("https://") and t.as_of for t in targets)
    patterns = {t.pattern for t in targets}
    for must in ("omtrdc.net", "eulerian.net", "at-o.net", "tagcommander.com", "dnsdelegation.io",
                 "keyade.com", "wizaly.com"):
        assert must in patterns
    assert any(t.tracker == "TraceDock" for t in targets)


def test_every_listed_target_is_flagged(detector):
    for t in load_cloaking_targets():
        target = t.pattern if t.pattern.count(".") >= 3 else f"beispiel-shop-de.{t.pattern}"
        hit = detector.check(f"metrics.{SITE}", SITE, (target,))
        assert hit is not None, t.pattern
        assert hit.matched_by == "cloaking_list" and hit.pattern == t.pattern and hit.tracker == t.tracker
        assert hit.depth == 1 and hit.source == t.source and hit.as_of == t.as_of


def test_every_catalog_tracker_is_flagged(detector):
    catalog = detector.catalog
    checked = 0
    for service in catalog.services:
        if service.category not in TRACKER_CATEGORIES:
            continue
        for pattern in service.hosts:
            name = pattern[1:] if pattern.startswith("=") else f"cname-target.{pattern}"
            if catalog.matcher.match_host(name).id != service.id:
                continue  # another service owns this name more specifically
            hit = detector.check(f"t.{SITE}", SITE, (name,))
            assert hit is not None, (service.id, name)
            assert hit.service_id == service.id or hit.matched_by == "cloaking_list", (service.id, name)
            checked += 1
    assert checked > 100


def test_cdn_chains_are_not_flagged(detector):
    for chain in CDN_CHAINS:
        assert detector.check(f"www.{SITE}", SITE, chain) is None, chain
        assert detector.check(f"static.{SITE}", SITE, chain) is None, chain


def test_tracker_behind_a_cdn_hop_is_flagged_at_its_depth(detector):
    hit = detector.check(f"smetrics.{SITE}", SITE, ("beispiel.edgekey.net", "beispiel-shop.de.ssl.sc.omtrdc.net"))
    assert hit and hit.depth == 2 and hit.pattern == "omtrdc.net" and hit.target_domain == "omtrdc.net"


def test_only_first_party_names_are_checked(detector):
    assert detector.check("cdn.other-site.de", SITE, ("x.sc.omtrdc.net",)) is None
    assert detector.check(f"m.{SITE}", SITE, ()) is None  # no CNAME, no cloaking
    assert detector.check(f"m.{SITE}", SITE, (f"m2.{SITE}", "x.eulerian.net")).depth == 2


def test_catalog_hosting_and_cdn_services_are_not_trackers(detector):
    # the catalog knows amazonaws.com/cloudfront.net (hosting) and akamai (cdn): not tracker categories
    assert detector.check(f"img.{SITE}", SITE, ("d111.cloudfront.net",)) is None
    assert detector.check(f"img.{SITE}", SITE, ("a1.akamaihd.net",)) is None
    assert CloakingDetector(None, []).check(f"t.{SITE}", SITE, ("x.omtrdc.net",)) is None


def test_malformed_target_rows_are_refused(tmp_path):
    bad = tmp_path / "targets.csv"
    bad.write_text("pattern,tracker,service_id,category,source,as_of\nomtrdc.net,Adobe,,analytics,,2026-01-01\n")
    with pytest.raises(CloakingError, match="source"):
        load_cloaking_targets(bad)
    bad.write_text("pattern,tracker,service_id,category,source,as_of\nomtrdc.net,Adobe,,analytics,https://x,soon\n")
    with pytest.raises(CloakingError, match="row 2"):
        load_cloaking_targets(bad)


def test_demo_zone_end_to_end_recall_and_no_cdn_false_positives(tmp_path):
    """The demo zone through the real local DNS server and enrich_run: every DEMO_CLOAKED host flagged with
    its tracker, no www. CDN chain and no self-hosted analytics subdomain flagged."""
    sites = sorted({host.split(".", 1)[1] for host in DEMO_CLOAKED} | set(DEMO_CDN_SITES))
    resources = [{"input_domain": host.split(".", 1)[1], "host": host} for host in DEMO_CLOAKED]
    resources += [{"input_domain": s, "host": f"analytics.{s}"} for s in sites]
    resources += [{"input_domain": s, "host": "www.googletagmanager.com"} for s in sites]
    site_rows = [{"input_domain": s, "final_host": f"www.{s}"} for s in sites]
    out = tmp_path / "out"
    fixtures.write_raw_run(out, "20261129T130000Z-c10a4e", site_rows, resources)
    with LocalDNS(demo_zone()) as server:
        result = enrich_run(out, nameservers=[server.nameserver], geoip=GeoIP(None, None), timeout=1.0)
    rows = {r["host"]: r for r in pq.read_table(result.path / "cloaking").to_pylist()}
    assert set(rows) == set(DEMO_CLOAKED)  # recall 100%, nothing else flagged
    for host, (_lines, pattern, _url) in DEMO_CLOAKED.items():
        assert rows[host]["pattern"] == pattern
        assert rows[host]["input_domains"] == [host.split(".", 1)[1]]
        assert rows[host]["cname_chain"] and rows[host]["target"] in rows[host]["cname_chain"]
    hosts = {h["host"]: h for h in pq.read_table(result.path / "hosts").to_pylist()}
    for site in DEMO_CDN_SITES:
        www = hosts[f"www.{site}"]
        assert www["site_host"] and www["first_party"] and www["cname_depth"] >= 1 and not www["cloaked"]
    assert all(hosts[h]["cloaked"] for h in DEMO_CLOAKED)
    assert not hosts["www.googletagmanager.com"]["cloaked"]  # third-party: never a cloaking case
    assert result.counts["cloaked_hosts"] == len(DEMO_CLOAKED)
