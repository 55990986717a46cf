"""Print a digest of every mart of a demo warehouse, to show a refactoring left behaviour unchanged.

    python bench/marts_digest.py out/demo/warehouse.duckdb            # one line per mart + an overall digest
    python bench/marts_digest.py A.duckdb B.duckdb                    # compare two warehouses, exit 1 if they differ

Marts are the documented latest-run views (services, sites, companies …). Columns that differ between two
otherwise identical runs are left out: run and scan ids, timestamps, durations and elapsed times, build times.
Values that differ between two demos of the same code are normalised: run ids inside evidence text, the local
DNS server's port (``127.0.0.1:PORT``) and cookie lifetimes in evidence (counted from each run's fetch time).
Rows are compared as a sorted multiset, so row order does not matter.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import duckdb

MARTS = ("services", "sites", "site_services", "site_hosts", "hosts", "companies", "service_slices",
         "service_locations", "service_risk", "site_service_risk", "service_consent", "site_service_consent",
         "service_policy", "site_service_policy", "cloaking", "domains")
# catalog_version is a digest of the catalog's files: moving a rule between files changes it, not the marts' content
VOLATILE = re.compile(r"(^|_)(run_id|run|runs|scan_id|catalog_version|built_at|started_at|finished_at|sealed_at|elapsed.*|"
                      r"duration.*|.*_ms|.*_seconds|as_of_run|requested_at|fetched_at|crawled_at|run_date)$")
VOLATILE_TYPES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIME")
NOISE = [(re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}"), "RUN"), (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:PORT"),
         (re.compile(r'"seconds": \d+'), '"seconds": N')]


def _normal(value) -> str:
    text = str(value)
    for pattern, stand_in in NOISE:
        text = pattern.sub(stand_in, text)
    return text


def digests(path: str | Path) -> dict[str, str]:
    out: dict[str, str] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        for mart in MARTS:
            if mart not in present:
                continue
            cols = [c for c, t in con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                             "WHERE table_name = ? ORDER BY ordinal_position", [mart]).fetchall()
                    if not VOLATILE.search(c) and t not in VOLATILE_TYPES]
            select = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in cols)
            rows = sorted(repr(tuple(map(_normal, r))) for r in con.execute(f'SELECT {select} FROM "{mart}"').fetchall())
            digest = hashlib.sha256("\n".join([",".join(cols), *rows]).encode()).hexdigest()[:16]
            out[mart] = f"{digest} ({len(rows)} rows, {len(cols)} columns)"
    return out


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2:
        sys.stderr.write(__doc__)
        return 2
    tables = [digests(p) for p in argv]
    for mart in tables[0]:
        line = f"{mart:22} {tables[0][mart]}"
        if len(tables) == 2:
            line += "  equal" if tables[1].get(mart) == tables[0][mart] else f"  DIFFERS: {tables[1].get(mart)}"
        sys.stdout.write(line + "\n")
    overall = [hashlib.sha256(repr(sorted(t.items())).encode()).hexdigest()[:16] for t in tables]
    sys.stdout.write("overall " + " vs ".join(overall) + "\n")
    return 0 if len(set(overall)) == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
