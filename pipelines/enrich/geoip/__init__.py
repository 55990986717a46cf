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

Modules: :mod:`.db` (error, provenance, address parsing), :mod:`.country`, :mod:`.asn`, :mod:`.cdn` (the readers),
:mod:`.locate` (``GeoIP``, ``Location``, ``open_geoip``).
"""

from pipelines.enrich.geoip.asn import AsnMmdb, AsnTable, open_asn_db
from pipelines.enrich.geoip.cdn import CDN_ASNS, CdnNetwork, CdnNetworks
from pipelines.enrich.geoip.country import CountryDb
from pipelines.enrich.geoip.db import DbInfo, GeoIPError
from pipelines.enrich.geoip.locate import ASN_PACKAGE, CONFIDENCES, GEO_PACKAGE, GeoIP, Location, open_geoip

__all__ = [
    "ASN_PACKAGE", "CDN_ASNS", "CONFIDENCES", "GEO_PACKAGE", "AsnMmdb", "AsnTable", "CdnNetwork", "CdnNetworks",
    "CountryDb", "DbInfo", "GeoIP", "GeoIPError", "Location", "open_asn_db", "open_geoip",
]
