"""What an assessment reads: the crawl's observations of a service (:class:`SiteServiceObservation`,
:class:`ObservedCookie`) and the data behind the rubric (:class:`RiskContext`, loaded by :func:`load_context`
and versioned by :func:`catalog_version`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipelines.catalog.load import DEFAULT_DATA_DIR
from pipelines.catalog.records import Catalog
from pipelines.risk.countries import CountryTables
from pipelines.risk.dpf import DpfSnapshot
from pipelines.risk.rubric import Rubric
from pipelines.risk.transfer import HostLocation

CONSENT_STATES = ("none", "before_consent", "after_accept", "after_reject")
METHODS = ("static", "browser")
_PRE_CONSENT = frozenset({"none", "before_consent", "after_reject"})


@dataclass(frozen=True)
class ObservedCookie:
    """A cookie the crawl saw. ``lifetime_seconds`` None = session cookie; ``purpose`` is the catalog purpose
    of the matching cookie entry, or None when the name matches none (treated as non-essential)."""

    name: str
    domain: str = ""
    lifetime_seconds: int | None = None
    third_party: bool = False
    purpose: str | None = None
    evidence: str = ""  # page URL / response that set it


@dataclass(frozen=True)
class SiteServiceObservation:
    """What one crawl saw of one service on one site (the warehouse builds these from its marts).

    ``consent_state``: ``none`` (static crawl, banner untouched), ``before_consent``, ``after_accept``,
    ``after_reject``. ``method``: ``static`` (HTML only: storage written by scripts, pixels fired by scripts
    and fingerprinting are invisible, so the catalog prior stands in) or ``browser``. ``gated``: every reference
    is held back until consent (e.g. ``type="text/plain"`` with a CMP attribute). ``loaded_on_page_view``: a
    reference loads without interaction (script/img/iframe src), as opposed to a mere link.
    ``locations``: per host, the enrichment's countries + confidence. ``dnt_honoured``: result of a DNT/GPC
    diff crawl, None = not tested.
    """

    site: str
    service_id: str
    consent_state: str = "none"
    method: str = "static"
    gated: bool = False
    loaded_on_page_view: bool = True
    requests: tuple[str, ...] = ()
    cookies: tuple[ObservedCookie, ...] = ()
    storage: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    pixels: tuple[str, ...] = ()
    fingerprinting: tuple[str, ...] = ()
    locations: tuple[HostLocation, ...] = ()
    dnt_honoured: bool | None = None
    run_id: str = ""

    def __post_init__(self):
        if self.consent_state not in CONSENT_STATES:
            raise ValueError(f"consent_state {self.consent_state!r} not in {CONSENT_STATES}")
        if self.method not in METHODS:
            raise ValueError(f"method {self.method!r} not in {METHODS}")

    @property
    def pre_consent(self) -> bool:
        """Observed without (or against) consent: what happens here happens before consent."""
        return self.consent_state in _PRE_CONSENT


@dataclass(frozen=True)
class RiskContext:
    """Everything the rubric functions read, loaded once by :func:`load_context` (or built in tests)."""

    catalog: Catalog
    countries: CountryTables
    rubric: Rubric
    dpf: DpfSnapshot
    as_of: date
    version: str = ""  # catalog version: digest of every data file the model reads (see catalog_version)

    @property
    def day(self) -> str:
        return self.as_of.isoformat()


MODEL_VERSION = 2  # bump when the assessment code changes on purpose: stored runs are then re-assessed
# what the assessment reads (load_context): catalog, cookie overrides, country tables, DPF snapshots, rubric
VERSIONED_DATA = ("services", "companies", "reference/cookie_purposes.csv", "reference/countries", "reference/dpf",
                  "risk")


def catalog_version(data_dir: str | Path = DEFAULT_DATA_DIR) -> str:
    """The catalog version a run's assessment is recorded with: a digest of the model version and every file of
    ``VERSIONED_DATA`` under ``data_dir``. It moves only when those files (or the model) change, not when data
    the assessment does not read changes (e.g. the prevalence ranking)."""
    import hashlib

    data_dir = Path(data_dir)
    digest = hashlib.sha256(f"model {MODEL_VERSION}".encode())
    for entry in VERSIONED_DATA:
        top = data_dir / entry
        for path in ([top] if top.is_file() else sorted(top.rglob("*"))):
            if path.is_file():
                digest.update(str(path.relative_to(data_dir)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def load_context(data_dir: str | Path = DEFAULT_DATA_DIR, *, as_of: date | None = None) -> RiskContext:
    """Load catalog, country tables, rubric and the newest DPF snapshot from ``data_dir`` (default ``data/``).

    Raises the loaders' errors (CatalogError, CountryDataError, RubricError, DpfImportError).
    """
    from pipelines.catalog.load import load_catalog
    from pipelines.risk.countries import load_countries
    from pipelines.risk.dpf import load_snapshot
    from pipelines.risk.rubric import load_rubric

    data_dir = Path(data_dir)
    return RiskContext(
        catalog=load_catalog(data_dir),
        countries=load_countries(data_dir / "reference" / "countries"),
        rubric=load_rubric(data_dir / "risk" / "rubric.yml"),
        dpf=load_snapshot(data_dir / "reference" / "dpf"),
        as_of=as_of or date.today(),
        version=catalog_version(data_dir),
    )


def lifetime_seconds(text: str) -> int | None:
    """Parse a catalog lifetime ("2 years", "13 months", "30 minutes", "session") into seconds (None = session
    or not parseable). Helper for adapters that turn catalog cookies into observations."""
    m = re.match(r"^\s*(\d+)\s*(year|month|week|day|hour|minute)s?\b", text.lower())
    if not m:
        return None
    size = {"year": 365 * 86400, "month": 30 * 86400, "week": 7 * 86400, "day": 86400, "hour": 3600, "minute": 60}
    return int(m.group(1)) * size[m.group(2)]
