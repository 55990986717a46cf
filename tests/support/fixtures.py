"""Small deterministic inputs for the enrichment tests and benchmark: sealed raw runs and tiny mmdb/CSV files.

``write_raw_run`` writes a sealed raw run (``sites`` and ``resources`` parts with the crawl schemas, the
other tables empty, a manifest); ``write_country_mmdb``, ``write_asn_mmdb`` and ``write_asn_csv`` write
databases with known contents (``mmdb-writer``, a test dependency) so that answers can be checked against
the values the test put in, not against the project's reader.
"""

from __future__ import annotations

import csv
import ipaddress
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from common.manifest import write_manifest
from common.runfolder import Layout
from common.tables import SCHEMAS as RAW_SCHEMAS

FIXED_EPOCH = 1_781_726_006  # 2026-06-17, the build date of the pinned ip-location-db files


def write_raw_run(out: str | Path, run_id: str, sites: Iterable[Mapping[str, Any]],
                  resources: Iterable[Mapping[str, Any]], *, sealed: bool = True) -> Path:
    """A raw run folder under ``out``: ``sites`` rows need ``input_domain`` (``site``/``final_host``
    optional), ``resources`` rows ``input_domain`` and ``host`` (``url`` optional). Returns the folder."""
    run_dir = Layout(Path(out)).run_dir(run_id)
    run_dir.mkdir(parents=True, exist_ok=False)
    now = datetime.now(timezone.utc)
    rows = {
        "sites": [{"run_id": run_id, "outcome": "ok", "started_at": now, "finished_at": now,
                   "site": r.get("site") or r["input_domain"], "final_host": r.get("final_host") or r["input_domain"],
                   **dict(r)} for r in sites],
        "resources": [{"run_id": run_id, "page_url": f"https://{r['input_domain']}/", "element": "script",
                       "attribute": "src", "inline": False, "declared": False, "method": "static",
                       "consent_state": "none", "url": f"https://{r['host']}/x.js", **dict(r)} for r in resources],
    }
    for table, schema in RAW_SCHEMAS.items():
        data = rows.get(table, [])
        (run_dir / table).mkdir()
        full = [{name: row.get(name) for name in schema.names} for row in data]
        pq.write_table(pa.Table.from_pylist(full, schema=schema), run_dir / table / "part-wfixture-00001.parquet")
    if sealed:
        write_manifest(run_dir, {"run_id": run_id, "kind": "crawl", "started_at": now.isoformat(),
                                 "ended_at": now.isoformat(), "settings_digest": "sha256:fixture",
                                 "counts": {"sites": len(rows["sites"])}})
    return run_dir


def _writer(database_type: str, ip_version: int = 6):
    from mmdb_writer import MMDBWriter

    class _Fixed(MMDBWriter):
        def _build_meta(self) -> dict[str, Any]:
            meta = super()._build_meta()
            meta["build_epoch"] = FIXED_EPOCH
            return meta

    return _Fixed(ip_version=ip_version, ipv4_compatible=ip_version == 6, database_type=database_type,
                  languages=["en"], description={"en": "servicerisk test fixture"})


def _ipset(network: str):
    from netaddr import IPSet

    return IPSet([network])


def write_country_mmdb(path: str | Path, rows: Iterable[Mapping[str, Any]], *, flavour: str = "flat") -> Path:
    """An mmdb of ``rows`` (``network``, ``country``, optional ``city``; rows without country are left out).

    ``flavour="flat"``: ip-location-db style (type ``city ipvAll``, records ``{"country_code", "city"}``);
    ``"geoip2"``: MaxMind style (type ``GeoLite2-City``, nested ``country.iso_code``/``city.names.en``).
    """
    flat = flavour == "flat"
    writer = _writer("city ipvAll" if flat else "GeoLite2-City")
    for row in rows:
        if not row.get("country"):
            continue
        if flat:
            record: dict[str, Any] = {"country_code": row["country"], "city": row.get("city") or ""}
        else:
            record = {"country": {"iso_code": row["country"], "names": {"en": row["country"]}}}
            if row.get("city"):
                record["city"] = {"names": {"en": row["city"]}}
        writer.insert_network(_ipset(row["network"]), record)
    path = Path(path)
    writer.to_db_file(str(path))
    return path


def write_asn_mmdb(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """A GeoLite2-ASN-shaped mmdb of ``rows`` (``network``, ``asn``, ``org``; rows without asn left out)."""
    from mmdb_writer import MmdbU32

    writer = _writer("GeoLite2-ASN")
    for row in rows:
        if row.get("asn") in (None, ""):
            continue
        writer.insert_network(_ipset(row["network"]), {"autonomous_system_number": MmdbU32(int(row["asn"])),
                                                       "autonomous_system_organization": row["org"]})
    path = Path(path)
    writer.to_db_file(str(path))
    return path


def write_asn_csv(path: str | Path, rows: Iterable[Mapping[str, Any]], *, family: int, numeric: bool = True) -> Path:
    """An ip-location-db ASN CSV (``start,end,asn,org``) of the ``family`` rows of ``rows``."""
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        for row in rows:
            net = ipaddress.ip_network(row["network"])
            if net.version != family or row.get("asn") in (None, ""):
                continue
            lo, hi = net[0], net[-1]
            start, end = (int(lo), int(hi)) if numeric else (str(lo), str(hi))
            w.writerow([start, end, int(row["asn"]), row["org"]])
    return path


def read_networks_csv(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a ``network,country,city,asn,org`` CSV (``#`` comments allowed); empty cells become None."""
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: (v.strip() or None) for k, v in row.items()}
                for row in csv.DictReader(line for line in fh if not line.startswith("#"))]
