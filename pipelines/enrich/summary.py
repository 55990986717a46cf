"""The figures of an enriched run's summary: hosts by DNS outcome, server country and network, and the
CNAME-cloaked subdomains (``servicerisk enrich`` and the pipeline commands print them)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq


def summarise(enriched_dir: Path, top: int = 12) -> dict[str, list[tuple]]:
    """Rows for the summary tables of one enriched run folder:

    ``dns``: (outcome, hosts); ``countries``: (country or "unknown", confidence, third-party hosts);
    ``networks``: (AS organisation, ASN, third-party hosts); ``cloaked``: (host, tracker, CNAME target).
    A host with addresses in several countries/networks counts once in each.
    """
    hosts = pq.read_table(enriched_dir / "hosts").to_pylist()
    addrs = pq.read_table(enriched_dir / "host_addresses").to_pylist()
    cloak = pq.read_table(enriched_dir / "cloaking").to_pylist()
    third = {h["host"] for h in hosts if h["third_party"]}
    dns = Counter(h["dns_outcome"] for h in hosts)
    by_country: Counter[tuple[str, str]] = Counter()
    for h in hosts:
        if not h["third_party"]:
            continue
        if not h["countries"]:
            by_country[("unknown", h["location_confidence"])] += 1
        for c in h["countries"]:
            by_country[(c, h["location_confidence"])] += 1
    by_net: Counter[tuple[str, int]] = Counter()
    for _host, asn, org in sorted({(a["host"], a["asn"], a["as_org"]) for a in addrs if a["host"] in third}):
        by_net[(org or "unknown", asn or 0)] += 1
    return {
        "dns": sorted(dns.items(), key=lambda kv: (-kv[1], kv[0])),
        "countries": [(c, conf, n) for (c, conf), n in sorted(by_country.items(), key=lambda kv: (-kv[1], kv[0]))],
        "networks": [(org, asn, n) for (org, asn), n in by_net.most_common(top)],
        "cloaked": sorted((c["host"], c["tracker"], c["target"]) for c in cloak),
    }
