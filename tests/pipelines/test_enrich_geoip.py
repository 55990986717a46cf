"""Location and network lookups: reader detection by metadata, the cached ASN table, confidence, and a golden
test over >= 200 hosts whose every reported country/ASN must equal the values the fixture wrote."""

from __future__ import annotations

import asyncio
import ipaddress
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from common import refdata
from devweb.dns import LocalDNS, Zone
from pipelines.enrich.geoip import (
    ASN_PACKAGE,
    GEO_PACKAGE,
    AsnMmdb,
    AsnTable,
    CdnNetworks,
    CountryDb,
    GeoIP,
    GeoIPError,
    open_geoip,
)
from pipelines.enrich.geoip import asn as geoip_asn
from pipelines.enrich.run import enrich_run
from tests.support import fixtures

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixtures" / "mmdb" / "golden_networks.csv"
CI = os.environ.get("CI", "").lower() == "true"
ROWS = fixtures.read_networks_csv(GOLDEN)
NETS = [(ipaddress.ip_network(r["network"]), r) for r in ROWS]


def known(ip: str) -> dict | None:
    """The golden row covering ``ip``, by plain membership (independent of every reader under test)."""
    addr = ipaddress.ip_address(ip)
    hits = [r for net, r in NETS if addr.version == net.version and addr in net]
    assert len(hits) <= 1
    return hits[0] if hits else None


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    d = tmp_path_factory.mktemp("mmdb")
    return {
        "flat": fixtures.write_country_mmdb(d / "flat-city.mmdb", ROWS, flavour="flat"),
        "geoip2": fixtures.write_country_mmdb(d / "GeoLite2-City-fixture.mmdb", ROWS, flavour="geoip2"),
        "asn_mmdb": fixtures.write_asn_mmdb(d / "GeoLite2-ASN-fixture.mmdb", ROWS),
        "asn_v4": fixtures.write_asn_csv(d / "asn-ipv4-num.csv", ROWS, family=4, numeric=True),
        "asn_v6": fixtures.write_asn_csv(d / "asn-ipv6.csv", ROWS, family=6, numeric=False),
        "dir": d,
    }


SAMPLES = ["11.1.2.3", "11.2.0.200", "11.2.1.7", "11.3.17.1", "11.5.1.1", "11.10.0.5", "11.11.0.5",
           "11.17.0.9", "2001:db8:1::5", "2001:db8:4::1", "2001:db8:5::1", "5.5.5.5", "2001:db8:ff::1"]


@pytest.mark.parametrize("flavour", ["flat", "geoip2"])
def test_country_reader_is_chosen_by_metadata(dbs, flavour):
    db = CountryDb(dbs[flavour])
    assert db.kind == flavour
    assert db.info.database_type == ("city ipvAll" if flavour == "flat" else "GeoLite2-City")
    assert db.info.build_date == "2026-06-17"
    for ip in SAMPLES:
        row = known(ip)
        country, city, network = db.lookup(ip)
        assert country == (row["country"] if row else None), ip
        assert city == (row["city"] if row and row["country"] else None), ip
        if country:
            assert ipaddress.ip_address(ip) in ipaddress.ip_network(network)


def test_asn_files_are_not_country_files_and_back(dbs):
    with pytest.raises(GeoIPError, match="--asn-db"):
        CountryDb(dbs["asn_mmdb"])
    with pytest.raises(GeoIPError, match="not an ASN"):
        AsnMmdb(dbs["flat"])
    with pytest.raises(GeoIPError):
        CountryDb(dbs["asn_v4"])  # a CSV is no mmdb


def test_asn_table_and_asn_mmdb_agree_with_the_fixture(dbs, tmp_path):
    table = AsnTable.from_csv(dbs["asn_v4"], dbs["asn_v6"], cache=tmp_path / "t.npz")
    mmdb = AsnMmdb(dbs["asn_mmdb"])
    assert mmdb.info.database_type == "GeoLite2-ASN" and mmdb.info.build_date == "2026-06-17"
    for ip in SAMPLES + ["11.4.3.255", "11.6.1.0", "11.3.31.255"]:
        row = known(ip)
        want = (int(row["asn"]), row["org"]) if row and row["asn"] else (None, None)
        assert table.lookup(ip) == want, ip
        assert mmdb.lookup(ip) == want, ip
    assert table.lookup("not an ip") == (None, None)
    assert table.organisations(64503) == {"Voorbeeld B.V."}


def test_asn_table_is_built_once_and_cached(dbs, tmp_path, monkeypatch):
    cache = tmp_path / "asn.npz"
    first = AsnTable.from_csv(dbs["asn_v4"], dbs["asn_v6"], cache=cache)
    assert cache.is_file()

    def boom(files):
        raise AssertionError("rebuilt although cached")

    monkeypatch.setattr(geoip_asn, "_build_arrays", boom)
    again = AsnTable.from_csv(dbs["asn_v4"], dbs["asn_v6"], cache=cache)
    assert len(again) == len(first) and again.lookup("11.1.0.1") == first.lookup("11.1.0.1")
    monkeypatch.undo()
    changed = tmp_path / "asn-ipv4-num.csv"
    changed.write_text(dbs["asn_v4"].read_text() + f"{int(ipaddress.ip_address('11.99.0.0'))},"
                       f"{int(ipaddress.ip_address('11.99.0.255'))},64999,New Org\n")
    rebuilt = AsnTable.from_csv(changed, dbs["asn_v6"], cache=cache)
    assert rebuilt.lookup("11.99.0.1") == (64999, "New Org")


def test_confidence_classes(dbs, tmp_path):
    g = GeoIP(CountryDb(dbs["flat"]), AsnTable.from_csv(dbs["asn_v4"], dbs["asn_v6"], cache=tmp_path / "a.npz"),
              CdnNetworks.load())
    cases = {"11.1.0.1": ("measured", None), "11.5.0.1": ("anycast_or_cdn", "Cloudflare"),
             "11.6.0.1": ("anycast_or_cdn", "Fastly"), "11.12.0.1": ("anycast_or_cdn", "Akamai"),
             "2001:db8:2::1": ("anycast_or_cdn", "Fastly"), "11.10.0.1": ("measured", None),
             "11.11.0.1": ("unknown", None), "5.5.5.5": ("unknown", None)}
    for ip, (confidence, cdn) in cases.items():
        loc = g.lookup(ip)
        assert (loc.confidence, loc.cdn) == (confidence, cdn), ip
        assert loc.geo_db == "flat-city.mmdb" and loc.geo_db_build == "2026-06-17"
        assert loc.asn_db == "asn-ipv4-num.csv"
    assert g.lookup("11.11.0.1").asn == 64507  # no country, but the network is known
    assert g.lookup("11.1.0.1") is g.lookup("11.1.0.1")  # memo
    nothing = GeoIP(None, None).lookup("11.1.0.1")
    assert (nothing.confidence, nothing.country, nothing.asn, nothing.geo_db) == ("unknown", None, None, "")


def test_cdn_table_rows_are_sourced_and_dated(tmp_path):
    table = CdnNetworks.load()
    assert len(table.rows) > 20
    assert all(r.source and r.as_of for r in table.rows)
    assert {13335, 15169, 54113, 20940, 16625, 200325, 32934} <= {r.asn for r in table.rows if not r.prefix}
    assert table.match("18.66.20.20", 16509).operator == "Amazon CloudFront"  # a CloudFront prefix
    assert table.match("52.29.10.10", 16509) is None  # ordinary EC2 in eu-central-1
    assert table.match("1.1.1.1", None) is None
    bad = tmp_path / "cdn.csv"
    bad.write_text("asn,prefix,operator,kind,source,as_of\n13335,,Cloudflare,cdn,,2026-01-01\n")
    with pytest.raises(GeoIPError, match="no source"):
        CdnNetworks.load(bad)
    bad.write_text("asn,prefix,operator,kind,source,as_of\n13335,,Cloudflare,cdn,x,yesterday\n")
    with pytest.raises(GeoIPError, match="row 2"):
        CdnNetworks.load(bad)


def test_missing_default_data_is_reported_not_fatal(tmp_path):
    lock = tmp_path / "lock.json"
    entries = refdata.read_lock()
    import json

    lock.write_text(json.dumps({"schema": 1, "packages": [
        {k: v for k, v in vars(entries[name]).items()} for name in (GEO_PACKAGE, ASN_PACKAGE)]}))
    g, problems = open_geoip(lock_path=lock, cache_dir=tmp_path / "empty-cache", fetch=False)
    assert g.country is None and g.asn is None and len(problems) == 2
    assert all("not cached" in p for p in problems)
    assert g.lookup("8.8.8.8").confidence == "unknown"


# ------------------------------------------------------------------------------------------ golden


def golden_zone() -> tuple[Zone, dict[str, set[str]]]:
    """>= 200 hosts, each with 1-3 addresses drawn from the golden networks (a few outside them), some
    behind CNAME chains. Returns the zone and host -> expected addresses."""
    zone, want = Zone(), {}
    nets = [net for net, _ in NETS] + [ipaddress.ip_network("5.5.5.0/24")]  # one network no file knows
    for i in range(240):
        host = f"h{i:03d}.golden.test"
        picks = [nets[i % len(nets)]] + ([nets[(i * 7 + 3) % len(nets)]] if i % 3 == 0 else [])
        picks += [nets[(i * 11 + 5) % len(nets)]] if i % 10 == 0 else []
        addresses = {str(net[(i // len(nets)) + 1 + k]) for k, net in enumerate(picks)}
        owner = host
        for depth in range(i % 4):  # chains of length 0-3
            target = f"c{depth}.{host}"
            zone.add(owner, "CNAME", target, 60)
            owner = target
        for ip in sorted(addresses):
            zone.add(owner, "AAAA" if ":" in ip else "A", ip, 60)
        want[host] = addresses
    return zone, want


@pytest.mark.parametrize("flavour", ["flat+csv", "geoip2+mmdb"])
def test_golden_every_reported_country_and_asn_equals_the_fixture(dbs, tmp_path, flavour):
    zone, want = golden_zone()
    assert len(want) >= 200
    out = tmp_path / "out"
    run_id = "20261129T120000Z-90000d"
    fixtures.write_raw_run(out, run_id, [{"input_domain": "golden-site.de"}],
                           [{"input_domain": "golden-site.de", "host": h} for h in want])
    if flavour == "flat+csv":
        geo = GeoIP(CountryDb(dbs["flat"]), AsnTable.from_csv(dbs["asn_v4"], dbs["asn_v6"], cache=tmp_path / "a.npz"),
                    CdnNetworks.load())
    else:
        geo = GeoIP(CountryDb(dbs["geoip2"]), AsnMmdb(dbs["asn_mmdb"]), CdnNetworks.load())
    with LocalDNS(zone) as server:
        result = enrich_run(out, nameservers=[server.nameserver], geoip=geo, timeout=1.0)
    rows = pq.read_table(result.path / "host_addresses").to_pylist()
    got: dict[str, set[str]] = {}
    for row in rows:
        if row["host"] not in want:
            continue
        got.setdefault(row["host"], set()).add(row["ip"])
        k = known(row["ip"])
        assert row["country"] == (k["country"] if k else None), row
        assert row["asn"] == (int(k["asn"]) if k and k["asn"] else None), row
        assert row["as_org"] == (k["org"] if k and k["asn"] else None), row
        assert row["city"] == (k["city"] if k and k["country"] else None), row
        assert row["geo_db_build"] == "2026-06-17"
        if k is None or not k["country"]:
            assert row["confidence"] == "unknown"
    assert got == want  # every address of every host, none invented
    hosts = {h["host"]: h for h in pq.read_table(result.path / "hosts").to_pylist()}
    for host, addresses in want.items():
        countries = {known(ip)["country"] for ip in addresses if known(ip) and known(ip)["country"]}
        assert set(hosts[host]["countries"]) == countries
        if not countries:
            assert hosts[host]["location_confidence"] == "unknown" and hosts[host]["location_note"]


# ------------------------------------------------------------------------------------------ pinned data


def _pinned_or_skip() -> GeoIP:
    lock = refdata.read_lock()
    missing = [lock[n].tarball for n in (GEO_PACKAGE, ASN_PACKAGE) if not refdata.cached_tarball(lock[n]).is_file()]
    if missing:
        msg = "ip-location-db reference data not cached; fetch it with `servicerisk refdata` (needs npm): " + ", ".join(missing)
        if CI:
            pytest.fail(msg + " (CI must fetch it: .ci/run -> make test -> make refdata)")
        pytest.skip(msg)
    g, problems = open_geoip(fetch=False)
    assert problems == []
    return g


def test_pinned_defaults_answer_known_addresses():
    g = _pinned_or_skip()
    lock = refdata.read_lock()
    google = g.lookup("8.8.8.8")
    assert (google.asn, google.as_org, google.country, google.confidence) == (15169, "Google LLC", "US", "anycast_or_cdn")
    assert google.geo_db == lock[GEO_PACKAGE].spec and google.geo_db_build == "2026-06-17"
    assert google.asn_db == lock[ASN_PACKAGE].spec and google.asn_db_build == "2026-06-17"
    hetzner = g.lookup("88.198.1.1")
    assert (hetzner.asn, hetzner.country, hetzner.confidence) == (24940, "DE", "measured")
    fb6 = g.lookup("2a03:2880:f12f:83:face:b00c:0:25de")
    assert fb6.asn == 32934 and fb6.confidence == "anycast_or_cdn"


def test_cdn_table_org_names_match_the_asn_data():
    g = _pinned_or_skip()
    for row in g.cdn.rows:
        orgs = g.asn.organisations(row.asn)
        assert orgs, f"AS{row.asn} not in the ASN data"
        assert any(f'"{org}"' in row.source for org in orgs), (row.asn, orgs)


def test_demo_zone_addresses_belong_to_their_operators():
    from crawler.dnslookup import HostResolver
    from devweb.dns.demo import DEMO_OPERATOR_ASNS, demo_zone

    g = _pinned_or_skip()
    with LocalDNS(demo_zone()) as server:
        answers = asyncio.run(HostResolver([server.nameserver], timeout=1.0).resolve_many(DEMO_OPERATOR_ASNS))
    for host, asn in DEMO_OPERATOR_ASNS.items():
        assert answers[host].outcome == "ok", host
        assert {g.lookup(a.ip).asn for a in answers[host].addresses} == {asn}, host
