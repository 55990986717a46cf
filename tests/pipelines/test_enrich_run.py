"""enrich_run and ``servicerisk enrich``: output tables and manifest, the raw run untouched, DNS unreachable,
run selection, re-enrichment, documentation of every column."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import click
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from devweb.dns import LocalDNS, Zone
from devweb.dns.server import _free_port
from pipelines.enrich.command import EXAMPLE, enrich
from pipelines.enrich.geoip import AsnTable, CdnNetworks, CountryDb, GeoIP
from pipelines.enrich.run import SCHEMAS, EnrichError, collect_hosts, enrich_run
from pipelines.enrich.summary import summarise
from tests.support import fixtures

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixtures" / "mmdb" / "golden_networks.csv"
RUN = "20261129T100000Z-abc123"
OLDER = "20261128T100000Z-000001"

SITES = [
    {"input_domain": "kanzlei-test.de", "final_host": "www.kanzlei-test.de"},
    {"input_domain": "shop-test.de", "final_host": "shop-test.de"},
    {"input_domain": "umzug-test.de", "site": "neu-test.de", "final_host": "www.neu-test.de"},  # cross-site redirect
    {"input_domain": "kaputt-test.de", "final_host": "kaputt-test.de"},
]
RESOURCES = [
    {"input_domain": "kanzlei-test.de", "host": "cdn.tracker-test.com"},
    {"input_domain": "kanzlei-test.de", "host": "fonts.fonts-test.com"},
    {"input_domain": "kanzlei-test.de", "host": "smetrics.kanzlei-test.de"},  # cloaked (Adobe)
    {"input_domain": "kanzlei-test.de", "host": "static.kanzlei-test.de"},  # CDN, not cloaked
    {"input_domain": "shop-test.de", "host": "cdn.tracker-test.com"},
    {"input_domain": "shop-test.de", "host": "xyzabc.shop-test.de"},  # cloaked (Criteo)
    {"input_domain": "shop-test.de", "host": "11.1.0.77"},  # an address literal
    {"input_domain": "umzug-test.de", "host": "stats.neu-test.de"},  # cloaked, first-party of the observed site
    {"input_domain": "kaputt-test.de", "host": "broken.kaputt-test.de"},
    {"input_domain": "kaputt-test.de", "host": "gone.kaputt-test.de"},
]
ZONE = """
www.kanzlei-test.de      300 A     11.1.0.10
shop-test.de             300 A     11.2.0.10
shop-test.de             300 AAAA  2001:db8:1::10
www.neu-test.de          300 A     11.7.0.10
kaputt-test.de           300 A     11.8.0.10
cdn.tracker-test.com     300 CNAME tracker-test.map.fastly.net
tracker-test.map.fastly.net 30 A   11.6.0.5
fonts.fonts-test.com     300 A     11.17.0.5
smetrics.kanzlei-test.de 300 CNAME kanzlei-test.de.ssl.sc.omtrdc.net
kanzlei-test.de.ssl.sc.omtrdc.net 60 A 11.4.0.5
static.kanzlei-test.de   300 CNAME static.kanzlei-test.de.edgekey.net
static.kanzlei-test.de.edgekey.net 300 CNAME e99.a.akamaiedge.net
e99.a.akamaiedge.net      20 A     11.12.0.5
xyzabc.shop-test.de      300 CNAME b.dnsdelegation.io
b.dnsdelegation.io       300 A     11.13.0.5
stats.neu-test.de        300 CNAME neu-relay.iocnt.net
neu-relay.iocnt.net      300 A     11.1.0.99
broken.kaputt-test.de    servfail
"""


@pytest.fixture(scope="module")
def geo(tmp_path_factory):
    d = tmp_path_factory.mktemp("geo")
    rows = fixtures.read_networks_csv(GOLDEN)
    return {"country": fixtures.write_country_mmdb(d / "country.mmdb", rows),
            "asn": fixtures.write_asn_csv(d / "asn-ipv4-num.csv", rows, family=4)}


def make_geo(geo) -> GeoIP:
    return GeoIP(CountryDb(geo["country"]), AsnTable.from_csv(geo["asn"], cache=geo["asn"].with_suffix(".npz")),
                 CdnNetworks.load())


def tree_digest(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture()
def out(tmp_path):
    out = tmp_path / "out"
    fixtures.write_raw_run(out, OLDER, SITES[:1], RESOURCES[:1])
    fixtures.write_raw_run(out, RUN, SITES, RESOURCES)
    fixtures.write_raw_run(out, "20261130T100000Z-ffffff", SITES, RESOURCES, sealed=False)  # newer, unsealed
    return out


def test_collect_hosts_roles(out):
    hosts = collect_hosts(out / "raw" / RUN)
    assert hosts["cdn.tracker-test.com"].third_party and hosts["cdn.tracker-test.com"].input_domains == {
        "kanzlei-test.de", "shop-test.de"}
    assert hosts["www.kanzlei-test.de"].site_host and hosts["www.kanzlei-test.de"].first_party
    assert hosts["stats.neu-test.de"].first_party and not hosts["stats.neu-test.de"].third_party
    assert hosts["11.1.0.77"].third_party


def test_enrich_run_writes_tables_and_manifest(out, geo):
    raw_before = tree_digest(out / "raw")
    with LocalDNS(Zone.parse(ZONE)) as server:
        result = enrich_run(out, nameservers=[server.nameserver], geoip=make_geo(geo), timeout=0.5, retries=0)
    assert result.run_id == RUN  # the newest *sealed* run
    assert tree_digest(out / "raw") == raw_before  # the raw run is only read
    assert sorted(p.name for p in result.path.iterdir()) == ["cloaking", "host_addresses", "hosts", "manifest.json"]
    assert not [p for p in (out / "enriched").iterdir() if p.name.startswith(".")]  # no temporary folder left
    tables = {t: pq.read_table(result.path / t) for t in SCHEMAS}
    for name, table in tables.items():
        assert table.schema.equals(SCHEMAS[name], check_metadata=False), name
    hosts = {r["host"]: r for r in tables["hosts"].to_pylist()}
    assert set(hosts) == {r["host"] for r in RESOURCES} | {s["final_host"] for s in SITES}
    assert hosts["broken.kaputt-test.de"]["dns_outcome"] == "servfail"
    assert hosts["gone.kaputt-test.de"]["dns_outcome"] == "nxdomain"
    assert hosts["gone.kaputt-test.de"]["location_confidence"] == "unknown"
    assert hosts["gone.kaputt-test.de"]["countries"] == [] and hosts["gone.kaputt-test.de"]["location_note"]
    tracker = hosts["cdn.tracker-test.com"]
    assert tracker["cname_chain"] == ["tracker-test.map.fastly.net"] and tracker["sites"] == 2
    assert (tracker["countries"], tracker["asns"], tracker["location_confidence"]) == (["US"], [54113], "anycast_or_cdn")
    assert tracker["resolver"] == server.nameserver and tracker["vantage"] == "resolver"
    assert hosts["shop-test.de"]["a_count"] == 1 and hosts["shop-test.de"]["aaaa_count"] == 1
    assert hosts["shop-test.de"]["countries"] == ["DE", "FR"] and hosts["shop-test.de"]["location_confidence"] == "measured"
    assert hosts["11.1.0.77"]["dns_outcome"] == "ok" and hosts["11.1.0.77"]["countries"] == ["DE"]
    cloaked = {r["host"]: r for r in tables["cloaking"].to_pylist()}
    assert set(cloaked) == {"smetrics.kanzlei-test.de", "xyzabc.shop-test.de", "stats.neu-test.de"}
    assert cloaked["stats.neu-test.de"]["site"] == "neu-test.de" and cloaked["stats.neu-test.de"]["input_domains"] == ["umzug-test.de"]
    assert cloaked["xyzabc.shop-test.de"]["service_id"] == "criteo"
    assert not hosts["static.kanzlei-test.de"]["cloaked"]
    addr = [r for r in tables["host_addresses"].to_pylist() if r["host"] == "smetrics.kanzlei-test.de"]
    assert [(a["ip"], a["owner"], a["ttl"], a["asn"]) for a in addr] == [("11.4.0.5", "kanzlei-test.de.ssl.sc.omtrdc.net", 60, 16509)]

    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["kind"] == "enrich" and manifest["raw_run"]["run_id"] == RUN
    assert manifest["resolver"] == {"nameservers": [server.nameserver], "vantage": "resolver", "ecs": None}
    assert manifest["counts"]["hosts_by_dns_outcome"] == {"nxdomain": 1, "ok": 11, "servfail": 1}
    assert manifest["counts"]["hosts"] == len(hosts) and manifest["counts"]["cloaked_hosts"] == 3
    assert manifest["counts"]["rows"] == {t: tables[t].num_rows for t in SCHEMAS}
    ref = manifest["reference_data"]
    assert ref["geo_db"]["build_date"] == "2026-06-17" and ref["asn_db"]["name"] == "asn-ipv4-num.csv"
    assert ref["cloaking_targets"]["patterns"] >= 20 and ref["cdn_networks"]["rows"] > 20
    assert manifest["settings_digest"].startswith("sha256:") and manifest["versions"]["dnspython"]


def test_dns_unreachable_run_completes_with_timeouts_and_loses_nothing(out, geo):
    dead = f"127.0.0.1:{_free_port()}"
    result = enrich_run(out, RUN, nameservers=[dead], geoip=make_geo(geo), timeout=0.1, retries=0)
    hosts = pq.read_table(result.path / "hosts").to_pylist()
    expected = {r["host"] for r in RESOURCES} | {s["final_host"] for s in SITES}
    assert {h["host"] for h in hosts} == expected
    for h in hosts:
        if h["host"] == "11.1.0.77":  # an address literal needs no DNS
            continue
        assert h["dns_outcome"] == "timeout" and h["location_confidence"] == "unknown", h
        assert h["resolver"] == dead and "no reply" in h["dns_detail"]
    assert result.counts["hosts_by_dns_outcome"]["timeout"] == len(expected) - 1


def test_ecs_vantage_is_recorded(out, geo):
    with LocalDNS(Zone.parse(ZONE)) as server:
        result = enrich_run(out, RUN, nameservers=[server.nameserver], ecs="91.0.0.0/24", geoip=make_geo(geo),
                            timeout=0.5, retries=0)
    hosts = pq.read_table(result.path / "hosts").to_pylist()
    assert {h["vantage"] for h in hosts} == {"ecs:91.0.0.0/24"}
    assert result.manifest["resolver"]["vantage"] == "ecs:91.0.0.0/24"
    assert {r["vantage"] for r in pq.read_table(result.path / "host_addresses").to_pylist()} == {"ecs:91.0.0.0/24"}


def test_run_selection_and_refusals(out, geo, tmp_path):
    dead = f"127.0.0.1:{_free_port()}"
    kwargs = {"nameservers": [dead], "geoip": make_geo(geo), "timeout": 0.05, "retries": 0}
    with pytest.raises(EnrichError, match="not sealed"):
        enrich_run(out, "20261130T100000Z-ffffff", **kwargs)
    with pytest.raises(EnrichError, match="invalid run id"):
        enrich_run(out, "../etc", **kwargs)
    with pytest.raises(EnrichError, match="no sealed run"):
        enrich_run(tmp_path / "empty", **kwargs)
    first = enrich_run(out, OLDER, **kwargs)
    with pytest.raises(EnrichError, match="already enriched"):
        enrich_run(out, OLDER, **kwargs)
    (first.path / "marker").write_text("from the first enrichment")
    again = enrich_run(out, OLDER, force=True, **kwargs)
    assert again.path == first.path and not (again.path / "marker").exists()
    assert sorted(p.name for p in (out / "enriched").iterdir()) == [OLDER]


def test_progress_bar_path(out, geo):
    dead = f"127.0.0.1:{_free_port()}"
    result = enrich_run(out, RUN, nameservers=[dead], geoip=make_geo(geo), timeout=0.05, retries=0, progress=True)
    assert result.counts["hosts"] == 13


def test_every_enriched_column_is_documented():
    text = (ROOT / "docs" / "enrichment.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## `?(\w+)`?\s*\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S))
    for table, schema in SCHEMAS.items():
        assert table in sections, f"docs/enrichment.md has no section for {table}"
        documented = set(re.findall(r"^\| `(\w+)` \|", sections[table], flags=re.M))
        assert documented == set(schema.names), (table, set(schema.names) ^ documented)


def test_cli_help_has_an_example_and_every_option_help():
    result = CliRunner().invoke(enrich, ["--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and EXAMPLE in result.output and EXAMPLE.startswith("servicerisk enrich")
    assert enrich.help and len(enrich.help) > 20
    for param in enrich.params:
        if isinstance(param, click.Option):
            assert param.help, param.opts


def test_cli_runs_and_prints_the_summary(out, geo):
    with LocalDNS(Zone.parse(ZONE)) as server:
        result = CliRunner().invoke(enrich, ["--out", str(out), "--nameserver", server.nameserver, "--geoip-db",
                                             str(geo["country"]), "--asn-db", str(geo["asn"]), "--timeout", "0.5",
                                             "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "third-party hosts by server country" in result.output and "smetrics.kanzlei-test.de" in result.output
    assert f"enriched run {RUN}" in result.output
    s = summarise(out / "enriched" / RUN)
    assert ("US", "anycast_or_cdn", 2) in s["countries"]  # cdn.tracker-test.com (Fastly), fonts (Google)
    again = CliRunner().invoke(enrich, ["--out", str(out), "--nameserver", server.nameserver])
    assert again.exit_code == 2 and "already enriched" in again.output


def test_cli_rejects_bad_options(out):
    bad_ns = CliRunner().invoke(enrich, ["--out", str(out), "--nameserver", "dns.example"])
    assert bad_ns.exit_code == 2 and "--nameserver" in bad_ns.output
    bad_ecs = CliRunner().invoke(enrich, ["--out", str(out), "--ecs", "europe", "--nameserver", "127.0.0.1:9"])
    assert bad_ecs.exit_code == 2 and "--ecs" in bad_ecs.output
