"""Enrich one sealed raw run: resolve its hosts, locate their addresses, flag CNAME cloaking, and write
``OUT/enriched/<run_id>/`` (Parquet tables ``hosts``, ``host_addresses``, ``cloaking`` and a manifest).

The raw run is only read. The output is written under a temporary folder name, the manifest last, then
renamed into place, so an enriched run folder either is complete or does not exist.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from crawler.dnslookup import HostAnswer, HostResolver
from crawler.hosts import psl_version, registrable_domain
from crawler.manifest import counts_from_stats, package_versions, settings_digest, write_manifest
from crawler.paths import MANIFEST, Layout, check_run_id, parts
from pipelines.enrich.cloaking import CloakingDetector, CloakingHit, load_cloaking_targets
from pipelines.enrich.geoip import GeoIP, Location, open_geoip

TS = pa.timestamp("ms", tz="UTC")
STR_LIST = pa.list_(pa.string())

#: enriched table → Parquet schema. Column meanings: docs/enrichment.md (a test checks every column).
SCHEMAS: dict[str, pa.Schema] = {
    # one row per host of the raw run (every resource host and every site's final host)
    "hosts": pa.schema([
        ("run_id", pa.string()),
        ("host", pa.string()),
        ("registrable_domain", pa.string()),
        ("third_party", pa.bool_()),
        ("first_party", pa.bool_()),
        ("site_host", pa.bool_()),
        ("sites", pa.int32()),
        ("service_id", pa.string()),
        ("dns_outcome", pa.string()),
        ("dns_detail", pa.string()),
        ("cname_chain", STR_LIST),
        ("cname_depth", pa.int32()),
        ("canonical_name", pa.string()),
        ("a_count", pa.int32()),
        ("aaaa_count", pa.int32()),
        ("min_ttl", pa.int32()),
        ("resolver", pa.string()),
        ("vantage", pa.string()),
        ("ecs_scope", pa.int32()),
        ("dns_queries", pa.int32()),
        ("dns_ms", pa.float64()),
        ("resolved_at", TS),
        ("countries", STR_LIST),
        ("asns", pa.list_(pa.int64())),
        ("as_orgs", STR_LIST),
        ("location_confidence", pa.string()),
        ("location_note", pa.string()),
        ("cloaked", pa.bool_()),
    ]),
    # one row per (host, address) answer
    "host_addresses": pa.schema([
        ("run_id", pa.string()),
        ("host", pa.string()),
        ("ip", pa.string()),
        ("family", pa.int8()),
        ("ttl", pa.int32()),
        ("owner", pa.string()),
        ("vantage", pa.string()),
        ("country", pa.string()),
        ("city", pa.string()),
        ("network", pa.string()),
        ("asn", pa.int64()),
        ("as_org", pa.string()),
        ("confidence", pa.string()),
        ("cdn_operator", pa.string()),
        ("geo_db", pa.string()),
        ("geo_db_build", pa.string()),
        ("asn_db", pa.string()),
        ("asn_db_build", pa.string()),
    ]),
    # one row per first-party host whose CNAME chain reaches a tracker
    "cloaking": pa.schema([
        ("run_id", pa.string()),
        ("host", pa.string()),
        ("site", pa.string()),
        ("input_domains", STR_LIST),
        ("target", pa.string()),
        ("target_domain", pa.string()),
        ("depth", pa.int32()),
        ("cname_chain", STR_LIST),
        ("matched_by", pa.string()),
        ("pattern", pa.string()),
        ("tracker", pa.string()),
        ("service_id", pa.string()),
        ("category", pa.string()),
        ("source", pa.string()),
        ("as_of", pa.string()),
    ]),
}
TABLES = tuple(SCHEMAS)


class EnrichError(Exception):
    """The run cannot be enriched (none sealed, not sealed, already enriched, bad option)."""


@dataclass
class EnrichResult:
    run_id: str
    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, Any]:
        return self.manifest.get("counts", {})


@dataclass
class _HostInfo:
    third_party: bool = False
    first_party: bool = False
    site_host: bool = False
    input_domains: set[str] = field(default_factory=set)
    first_party_sites: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # site rd → inputs


def collect_hosts(run_dir: Path) -> dict[str, _HostInfo]:
    """Every host of a raw run with its party roles: resource hosts and each site's final host."""
    site_of: dict[str, str] = {}
    hosts: dict[str, _HostInfo] = defaultdict(_HostInfo)
    for path in parts(run_dir, "sites"):
        table = pq.read_table(path, columns=["input_domain", "site", "final_host"])
        for row in table.to_pylist():
            inp = row["input_domain"] or ""
            site = registrable_domain(row["site"] or inp)
            site_of[inp] = site
            final = (row["final_host"] or "").lower().rstrip(".")
            if final:
                info = hosts[final]
                info.site_host = True
                info.input_domains.add(inp)
                _mark(info, final, inp, site)
    for path in parts(run_dir, "resources"):
        # one row per (site, host) pair, deduplicated in Arrow: a page references the same host many times
        pairs = pq.read_table(path, columns=["input_domain", "host"]).group_by(["input_domain", "host"]).aggregate([])
        for inp, host in zip(pairs.column("input_domain").to_pylist(), pairs.column("host").to_pylist(), strict=True):
            host = (host or "").lower().rstrip(".")
            if not host:
                continue
            inp = inp or ""
            site = site_of.get(inp) or registrable_domain(inp)
            info = hosts[host]
            info.input_domains.add(inp)
            _mark(info, host, inp, site)
    return dict(hosts)


def _mark(info: _HostInfo, host: str, inp: str, site: str) -> None:
    rd = registrable_domain(host)
    if rd in (site, registrable_domain(inp)):
        info.first_party = True
        info.first_party_sites[rd].add(inp)
    else:
        info.third_party = True


def _host_location(answer: HostAnswer, locs: list[Location], geo: GeoIP) -> tuple[str, str]:
    if not answer.addresses:
        return "unknown", f"no address (DNS {answer.outcome})"
    located = [loc for loc in locs if loc.country]
    if not located:
        db = geo.country.info.name if geo.country else "no geo database"
        return "unknown", f"no country for these addresses in {db}"
    cdn = sorted({loc.cdn for loc in located if loc.confidence == "anycast_or_cdn" and loc.cdn})
    if cdn:
        return "anycast_or_cdn", "served by " + ", ".join(cdn)
    return "measured", ""


def _resolve_all(resolver: HostResolver, hosts: list[str], progress: bool | str) -> dict[str, HostAnswer]:
    if progress == "lines":
        from crawler.progresslines import ProgressLines

        lines = ProgressLines("resolve", len(hosts), "hosts")
        try:
            return asyncio.run(resolver.resolve_many(hosts, lambda a: lines.advance(1, a.outcome)))
        finally:
            lines.close()
    if not progress:
        return asyncio.run(resolver.resolve_many(hosts))
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("resolving hosts", total=len(hosts))
        return asyncio.run(resolver.resolve_many(hosts, lambda _a: bar.advance(task)))


def enrich_run(out: str | Path, run_id: str | None = None, nameservers: tuple[str, ...] | list[str] = (),
               ecs: str | None = None, *, timeout: float = 2.0, retries: int = 1, concurrency: int = 64,
               max_depth: int = 8, geoip_db: str | Path | None = None, asn_db: str | Path | None = None,
               geoip: GeoIP | None = None, catalog: Any = None, detector: CloakingDetector | None = None,
               fetch_refdata: bool = True, cache_dir: str | Path | None = None, force: bool = False,
               progress: bool | str = False) -> EnrichResult:
    """Enrich the sealed raw run ``run_id`` (default: the newest) of output folder ``out``.

    ``nameservers`` (``IP[:PORT]``, default the system's), ``timeout``/``retries``/``concurrency``/``max_depth``
    and ``ecs`` (client subnet such as ``"91.0.0.0/24"``) configure DNS; ``geoip_db``/``asn_db`` name the
    user's MaxMind (or ip-location-db) files, else the pinned defaults are used (fetched with npm when
    ``fetch_refdata`` and not cached; without them locations are ``unknown`` and the manifest says why).
    ``geoip``, ``catalog`` and ``detector`` may be injected. DNS failures never fail the run; they are
    recorded per host. Raises EnrichError when there is no sealed run, the run is not sealed, or it was
    already enriched (unless ``force``: the old output is replaced only after the new one is complete).
    """
    started = datetime.now(timezone.utc)
    layout = Layout(Path(out))
    if run_id is None:
        run_id = layout.latest_run()
        if run_id is None:
            raise EnrichError(f"no sealed run under {layout.raw}")
    try:
        raw_dir = layout.run_dir(check_run_id(run_id))
    except ValueError as exc:
        raise EnrichError(str(exc)) from None
    if not (raw_dir / MANIFEST).is_file():
        raise EnrichError(f"run {run_id} is not sealed (no {MANIFEST} in {raw_dir})")
    final = layout.run_dir(run_id, layout.enriched)
    if final.exists() and not force:
        raise EnrichError(f"run {run_id} is already enriched ({final}); pass --force to redo it")
    try:
        resolver = HostResolver(nameservers, timeout=timeout, retries=retries, concurrency=concurrency,
                                max_depth=max_depth, ecs=ecs)
    except ValueError as exc:
        raise EnrichError(str(exc)) from None
    raw_manifest = layout.read_manifest(run_id)

    problems: list[str] = []
    if catalog is None and detector is None:
        from pipelines.catalog.load import CatalogError, load_catalog

        try:
            catalog = load_catalog()
        except CatalogError as exc:
            problems.append(f"catalog not loaded, cloaking uses the target list only: {exc}")
    if detector is None:
        detector = CloakingDetector(catalog, load_cloaking_targets())
    catalog = catalog if catalog is not None else detector.catalog
    own_geoip = geoip is None
    if geoip is None:
        geoip, geo_problems = open_geoip(geoip_db, asn_db, cache_dir=cache_dir, fetch=fetch_refdata)
        problems.extend(geo_problems)

    stats: Counter[str] = Counter()
    try:
        hosts = collect_hosts(raw_dir)
        names = sorted(hosts)
        answers = _resolve_all(resolver, names, progress)
        stats.update(resolver.stats)

        host_rows, addr_rows, cloak_rows = [], [], []
        for host in names:
            info, answer = hosts[host], answers[host]
            locs = [geoip.lookup(a.ip) for a in answer.addresses]
            for a, loc in zip(answer.addresses, locs, strict=True):
                stats[f"sr/geoip/confidence/{loc.confidence}"] += 1
                addr_rows.append({
                    "run_id": run_id, "host": host, "ip": a.ip, "family": a.family, "ttl": a.ttl, "owner": a.owner,
                    "vantage": answer.vantage, "country": loc.country, "city": loc.city, "network": loc.network,
                    "asn": loc.asn, "as_org": loc.as_org, "confidence": loc.confidence, "cdn_operator": loc.cdn,
                    "geo_db": loc.geo_db or None, "geo_db_build": loc.geo_db_build or None,
                    "asn_db": loc.asn_db or None, "asn_db_build": loc.asn_db_build or None,
                })
            confidence, note = _host_location(answer, locs, geoip)
            stats[f"sr/location/host/{confidence}"] += 1
            cloaked = False
            if info.first_party and answer.cname_chain:
                for site, inputs in sorted(info.first_party_sites.items()):
                    hit = detector.check(host, site, answer.cname_chain)
                    if hit is not None:
                        cloaked = True
                        cloak_rows.append(_cloak_row(run_id, hit, sorted(inputs), answer))
                        stats[f"sr/cloaking/matched_by/{hit.matched_by}"] += 1
            if info.first_party:
                stats["sr/cloaking/first_party_hosts"] += 1
            stats["sr/cloaking/flagged"] += int(cloaked)
            service = catalog.matcher.match_host(host) if catalog is not None else None
            host_rows.append({
                "run_id": run_id, "host": host, "registrable_domain": registrable_domain(host),
                "third_party": info.third_party, "first_party": info.first_party, "site_host": info.site_host,
                "sites": len(info.input_domains), "service_id": service.id if service else None,
                "dns_outcome": answer.outcome, "dns_detail": answer.detail or None,
                "cname_chain": list(answer.cname_chain), "cname_depth": len(answer.cname_chain),
                "canonical_name": answer.canonical_name,
                "a_count": sum(a.family == 4 for a in answer.addresses),
                "aaaa_count": sum(a.family == 6 for a in answer.addresses),
                "min_ttl": answer.min_ttl, "resolver": answer.resolver or None, "vantage": answer.vantage,
                "ecs_scope": answer.ecs_scope, "dns_queries": answer.queries, "dns_ms": answer.elapsed_ms,
                "resolved_at": answer.resolved_at,
                "countries": sorted({loc.country for loc in locs if loc.country}),
                "asns": sorted({loc.asn for loc in locs if loc.asn is not None}),
                "as_orgs": sorted({loc.as_org for loc in locs if loc.as_org}),
                "location_confidence": confidence, "location_note": note or None, "cloaked": cloaked,
            })
        tables = {"hosts": host_rows, "host_addresses": addr_rows, "cloaking": cloak_rows}
        geo_desc = geoip.describe()
    finally:
        if own_geoip:
            geoip.close()

    settings = {**resolver.settings(), "geoip_db": str(geoip_db) if geoip_db else None,
                "asn_db": str(asn_db) if asn_db else None}
    outcomes = {o: v for k, v in sorted(stats.items()) if k.startswith("sr/dns/outcome/")
                for o in [k.rsplit("/", 1)[1]]}
    manifest = {
        "run_id": run_id,
        "kind": "enrich",
        "raw_run": {"run_id": run_id, "path": str(raw_dir), "settings_digest": raw_manifest.get("settings_digest"),
                    "ended_at": raw_manifest.get("ended_at")},
        "started_at": started.isoformat(timespec="seconds"),
        "ended_at": None,  # filled below
        "settings_digest": settings_digest(settings),
        "settings": settings,
        "resolver": {"nameservers": resolver.resolver_spec, "vantage": resolver.vantage, "ecs": ecs},
        "versions": {**package_versions(), **_extra_versions()},
        "reference_data": {"public_suffix_list": psl_version(), **geo_desc, "cloaking_targets": detector.describe(),
                           "pinned": _pinned_versions()},
        "problems": problems,
        "counts": {
            "hosts": len(host_rows),
            "third_party_hosts": sum(r["third_party"] for r in host_rows),
            "first_party_hosts": sum(r["first_party"] for r in host_rows),
            "hosts_by_dns_outcome": outcomes,
            "addresses": len(addr_rows),
            "unique_ips": len({r["ip"] for r in addr_rows}),
            "addresses_by_confidence": {k.rsplit("/", 1)[1]: v for k, v in sorted(stats.items())
                                        if k.startswith("sr/geoip/confidence/")},
            "hosts_by_location_confidence": {k.rsplit("/", 1)[1]: v for k, v in sorted(stats.items())
                                             if k.startswith("sr/location/host/")},
            "cloaked_hosts": stats["sr/cloaking/flagged"],
            "rows": {t: len(rows) for t, rows in tables.items()},
            "stats": counts_from_stats(stats),
        },
        "tables": {t: {"parts": ["part-00000.parquet"], "rows": len(rows)} for t, rows in tables.items()},
    }
    _write_atomically(layout, run_id, final, tables, manifest, force)
    return EnrichResult(run_id, final, manifest)


def _cloak_row(run_id: str, hit: CloakingHit, inputs: list[str], answer: HostAnswer) -> dict[str, Any]:
    return {"run_id": run_id, "host": hit.host, "site": hit.site, "input_domains": inputs, "target": hit.target,
            "target_domain": hit.target_domain, "depth": hit.depth, "cname_chain": list(answer.cname_chain),
            "matched_by": hit.matched_by, "pattern": hit.pattern, "tracker": hit.tracker,
            "service_id": hit.service_id, "category": hit.category, "source": hit.source, "as_of": hit.as_of}


def _pinned_versions() -> dict[str, Any]:
    """Version, data date and tarball SHA-256 of every pinned reference package (the lock file)."""
    from pipelines.catalog import refdata

    try:
        return {name: {"version": e.version, "data_date": e.data_date, "sha256": e.sha256, "licence": e.data_licence
                       or e.licence} for name, e in refdata.read_lock().items()}
    except refdata.RefdataError as exc:
        return {"error": str(exc)}


def _extra_versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in ("geoip2", "maxminddb", "numpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _write_atomically(layout: Layout, run_id: str, final: Path, tables: dict[str, list[dict]],
                      manifest: dict[str, Any], force: bool) -> None:
    layout.enriched.mkdir(parents=True, exist_ok=True)
    tmp = layout.enriched / f".{run_id}.tmp-{secrets.token_hex(3)}"
    tmp.mkdir()
    try:
        for table, rows in tables.items():
            (tmp / table).mkdir()
            arrow = pa.Table.from_pylist(rows, schema=SCHEMAS[table])
            pq.write_table(arrow, tmp / table / "part-00000.parquet", compression="zstd")
        manifest["ended_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        write_manifest(tmp, manifest)  # last: a folder with a manifest is complete
        old = None
        if final.exists():
            if not force:
                raise EnrichError(f"run {run_id} was enriched meanwhile ({final})")
            old = layout.enriched / f".{run_id}.old-{secrets.token_hex(3)}"
            os.rename(final, old)
        os.rename(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def sealed_enriched_runs(out: str | Path) -> list[str]:
    """Ids of enriched runs (folders with a manifest) under ``OUT/enriched``, oldest first."""
    layout = Layout(Path(out))
    return layout.sealed_runs(layout.enriched)
