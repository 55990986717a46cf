"""The ASN readers: :class:`AsnTable` (ip-location-db ASN CSVs as sorted range arrays, cached as ``.npz``) and
:class:`AsnMmdb` (a MaxMind ASN/ISP file); :func:`open_asn_db` picks one for a user's file."""

from __future__ import annotations

import csv
import ipaddress
import os
from bisect import bisect_right
from pathlib import Path

import maxminddb
import numpy as np

from pipelines.enrich.geoip.db import DbInfo, GeoIPError, _epoch_date, _ip_int

TABLE_VERSION = 1


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
