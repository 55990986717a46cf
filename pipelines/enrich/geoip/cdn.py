"""The dated table of anycast/CDN networks (``data/reference/cdn_asns.csv``): :class:`CdnNetworks` tells whether
an address on an ASN belongs to such a network."""

from __future__ import annotations

import csv
import ipaddress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from common.paths import data_label, data_path
from pipelines.enrich.geoip.db import GeoIPError, _ip_int

CDN_ASNS = data_path("reference", "cdn_asns.csv")


@dataclass(frozen=True)
class CdnNetwork:
    asn: int
    prefix: str  # "" for the whole ASN
    operator: str
    kind: str
    source: str
    as_of: str


class CdnNetworks:
    """The dated table of anycast/CDN networks: a row names a whole ASN, or one prefix of an ASN whose other
    addresses are ordinary hosting (e.g. CloudFront inside AS16509). ``match(ip, asn)`` → the row or None."""

    def __init__(self, rows: list[CdnNetwork], path: str = ""):
        self.rows = rows
        self.path = path
        self._whole = {r.asn: r for r in rows if not r.prefix}
        self._prefixes: dict[int, list[tuple[int, int, int, CdnNetwork]]] = {}
        for r in rows:
            if r.prefix:
                net = ipaddress.ip_network(r.prefix)
                self._prefixes.setdefault(r.asn, []).append(
                    (net.version, int(net.network_address), int(net.broadcast_address), r))

    @classmethod
    def load(cls, path: str | Path = CDN_ASNS) -> "CdnNetworks":
        """Read the CSV (columns asn, prefix, operator, kind, source, as_of). Raises GeoIPError when a row
        lacks a source or an as-of date, or has a bad ASN/prefix."""
        rows = []
        path = Path(path)
        with open(path, newline="", encoding="utf-8") as fh:
            for n, rec in enumerate(csv.DictReader(line for line in fh if not line.startswith("#")), 2):
                try:
                    row = CdnNetwork(int(rec["asn"]), (rec.get("prefix") or "").strip(), rec["operator"].strip(),
                                     rec["kind"].strip(), rec["source"].strip(), rec["as_of"].strip())
                    if row.prefix:
                        ipaddress.ip_network(row.prefix)
                    datetime.strptime(row.as_of, "%Y-%m-%d")
                except (KeyError, ValueError, AttributeError) as exc:
                    raise GeoIPError(f"{path.name} row {n}: {exc}") from None
                if not row.source:
                    raise GeoIPError(f"{path.name} row {n}: no source")
                rows.append(row)
        return cls(rows, str(path))

    def match(self, ip: str, asn: int | None, parsed: tuple[int, int] | None = None) -> CdnNetwork | None:
        if asn is None:
            return None
        hit = self._whole.get(asn)
        if hit is not None:
            return hit
        candidates = self._prefixes.get(asn)
        if not candidates:
            return None
        try:
            family, n = parsed or _ip_int(ip)
        except ValueError:
            return None
        for version, lo, hi, row in candidates:
            if version == family and lo <= n <= hi:
                return row
        return None

    def describe(self) -> dict[str, Any]:
        dates = sorted(r.as_of for r in self.rows)
        return {"path": data_label(self.path) if self.path else "", "rows": len(self.rows),
                "asns": len({r.asn for r in self.rows}), "as_of_min": dates[0] if dates else None,
                "as_of_max": dates[-1] if dates else None}
