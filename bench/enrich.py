"""Enrichment benchmark: host resolution against the local DNS server and IP lookups, each beside a
same-run baseline.

- DNS: ``HostResolver.resolve_many`` (A+AAAA, CNAME chains, memo, bounded concurrency) on N unique hosts vs a
  raw dnspython loop (``dns.asyncquery.udp`` for A then AAAA, one host after the other) on the same hosts.
  The server runs in its own process (``python -m devweb.dns``), as a real resolver would.
  Target: >= 300 unique hosts/s.
- IP lookups: ``GeoIP.locate`` (country + ASN + organisation + confidence, no memo) vs a raw
  ``maxminddb`` ``get`` loop on the same country file and addresses. Target: >= 100,000 lookups/s.
  Uses the pinned ip-location-db data (fetched with npm if missing); without it, the fixture databases.

    .venv/bin/python bench/enrich.py [--hosts 3000] [--ips 200000] [--reps 3]
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dns.asyncquery  # noqa: E402
import dns.message  # noqa: E402
import maxminddb  # noqa: E402

from crawler.dnslookup import HostResolver  # noqa: E402
from pipelines.enrich.geoip import GeoIP, open_geoip  # noqa: E402

DNS_TARGET = 300.0
IP_TARGET = 100_000.0


def write_zone(path: Path, n: int) -> list[str]:
    """N hosts: a third answer directly (A+AAAA), a third through one CNAME, a third through two."""
    lines, hosts = [], []
    for i in range(n):
        host = f"h{i:05d}.bench.test"
        hosts.append(host)
        owner = host
        for depth in range(i % 3):
            target = f"c{depth}-{i:05d}.cdn.bench.test"
            lines.append(f"{owner} 300 CNAME {target}")
            owner = target
        lines.append(f"{owner} 60 A 198.18.{(i >> 8) & 255}.{i & 255}")
        lines.append(f"{owner} 60 A 198.19.{(i >> 8) & 255}.{i & 255}")
        lines.append(f"{owner} 60 AAAA 2001:db8:{i:x}::1")
    path.write_text("\n".join(lines) + "\n")
    return hosts


async def raw_loop(hosts: list[str], ip: str, port: int) -> int:
    answered = 0
    for host in hosts:
        for rdtype in ("A", "AAAA"):
            response = await dns.asyncquery.udp(dns.message.make_query(host, rdtype), ip, timeout=2.0, port=port)
            answered += bool(response.answer)
    return answered


def bench_dns(n: int, reps: int, delay_ms: float = 0.0, baseline_n: int | None = None) -> tuple[float, float]:
    """(ours, baseline) in hosts/s; the baseline loop runs on the first ``baseline_n`` hosts (all by default)."""
    with tempfile.TemporaryDirectory() as tmp:
        zone = Path(tmp) / "bench.zone"
        hosts = write_zone(zone, n)
        server = subprocess.Popen([sys.executable, "-m", "devweb.dns", "--zone", str(zone),
                                   "--delay-ms", str(delay_ms)], cwd=ROOT,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            nameserver = server.stdout.readline().strip()
            ip, port = nameserver.split(":")
            ours, base = [], []
            for _ in range(reps):
                resolver = HostResolver([nameserver], timeout=2.0, retries=1, concurrency=64)
                t = time.perf_counter()
                answers = asyncio.run(resolver.resolve_many(hosts))
                ours.append(n / (time.perf_counter() - t))
                bad = sum(a.outcome != "ok" for a in answers.values())
                assert bad == 0, f"{bad} hosts not ok"
                sample = hosts[: baseline_n or n]
                t = time.perf_counter()
                asyncio.run(raw_loop(sample, ip, int(port)))
                base.append(len(sample) / (time.perf_counter() - t))
        finally:
            server.stdin.close()
            server.wait(timeout=10)
    return statistics.median(ours), statistics.median(base)


def sample_ips(n: int, seed: int = 4) -> list[str]:
    rng = random.Random(seed)
    out = []
    v6_prefixes = [ipaddress.ip_network(p) for p in ("2a00:1450::/32", "2a03:2880::/32", "2606:4700::/32",
                                                     "2a01:4f8::/32", "2a05:d018::/32", "2001:db8::/32")]
    while len(out) < n:
        if rng.random() < 0.9:
            a = ipaddress.IPv4Address(rng.getrandbits(32))
            if a.is_global:
                out.append(str(a))
        else:
            net = rng.choice(v6_prefixes)
            out.append(str(net[rng.getrandbits(64)]))
    return out


def geo_databases() -> tuple[GeoIP, str]:
    geo, problems = open_geoip(fetch=True)
    if not problems:
        return geo, "pinned ip-location-db data"
    from tests.support import fixtures

    tmp = Path(tempfile.mkdtemp(prefix="bench-geo-"))
    rows = fixtures.read_networks_csv(ROOT / "tests" / "fixtures" / "mmdb" / "golden_networks.csv")
    geo, _ = open_geoip(fixtures.write_country_mmdb(tmp / "c.mmdb", rows),
                        fixtures.write_asn_csv(tmp / "asn-ipv4-num.csv", rows, family=4), fetch=False)
    return geo, "fixture databases (pinned data unavailable: " + "; ".join(problems) + ")"


def bench_ips(n: int, reps: int) -> tuple[float, float, float, str]:
    geo, source = geo_databases()
    ips = sample_ips(n)
    raw = maxminddb.open_database(geo.country.info.path)
    ours, base = [], []
    for _ in range(reps):
        t = time.perf_counter()
        for ip in ips:
            geo.locate(ip)
        ours.append(n / (time.perf_counter() - t))
        t = time.perf_counter()
        for ip in ips:
            raw.get(ip)
        base.append(n / (time.perf_counter() - t))
    repeated = ips[: n // 10] * 10
    geo._memo.clear()
    t = time.perf_counter()
    for ip in repeated:
        geo.lookup(ip)
    memo = len(repeated) / (time.perf_counter() - t)
    return statistics.median(ours), statistics.median(base), memo, source


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hosts", type=int, default=3000)
    ap.add_argument("--ips", type=int, default=200_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--delay-ms", type=float, default=10.0, help="also measure with this resolver latency (0: skip)")
    args = ap.parse_args()

    ours, base = bench_dns(args.hosts, args.reps)
    print(f"DNS, {args.hosts} unique hosts (A+AAAA, CNAME chains 0-2), local DNS server in its own process")
    print(f"  HostResolver.resolve_many (concurrency 64)  {ours:10,.0f} hosts/s")
    print(f"  baseline: raw dnspython query loop          {base:10,.0f} hosts/s   (x{ours / base:.1f})")
    print(f"  target >= {DNS_TARGET:,.0f} hosts/s: {'PASS' if ours >= DNS_TARGET else 'FAIL'}")
    if args.delay_ms:
        slow, slow_base = bench_dns(args.hosts, 1, args.delay_ms, baseline_n=max(20, int(2000 / args.delay_ms)))
        print(f"  same, every reply held back {args.delay_ms:g} ms (a resolver's round trip):")
        print(f"  HostResolver.resolve_many (concurrency 64)  {slow:10,.0f} hosts/s")
        print(f"  baseline: raw dnspython query loop          {slow_base:10,.0f} hosts/s   (x{slow / slow_base:.1f})")

    geo_ours, geo_base, memo, source = bench_ips(args.ips, args.reps)
    print(f"IP lookups, {args.ips:,} random addresses (90% IPv4), {source}")
    print(f"  GeoIP.locate (country+ASN+org+confidence)   {geo_ours:10,.0f} lookups/s")
    print(f"  baseline: raw maxminddb get loop (country)  {geo_base:10,.0f} lookups/s   ({geo_ours / geo_base:.0%})")
    print(f"  GeoIP.lookup with the per-run memo (10x repeats) {memo:10,.0f} lookups/s")
    print(f"  target >= {IP_TARGET:,.0f} lookups/s: {'PASS' if geo_ours >= IP_TARGET else 'FAIL'}")


if __name__ == "__main__":
    main()
