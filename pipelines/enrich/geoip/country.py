"""The country/city reader: :class:`CountryDb` over an mmdb, read as MaxMind GeoIP2 or as ip-location-db flat
records depending on the file's metadata."""

from __future__ import annotations

from pathlib import Path

import maxminddb

from pipelines.enrich.geoip.db import DbInfo, GeoIPError, _epoch_date, _ip_int, _prefix_text


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
