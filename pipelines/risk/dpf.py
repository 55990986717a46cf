"""EU–US Data Privacy Framework (DPF) list entries: the project's import CSV, the dated snapshot in
``data/reference/dpf/``, the status of a catalog company on a given day, and the staleness check.

The official list (dataprivacyframework.gov) has no bulk download, so users copy entries from the participant
pages into the **import CSV** (UTF-8, one row per organisation, header required, ``#`` lines are comments):

=================  ========================================================================================
``name``           legal name exactly as on the list ("Google LLC")
``participant_id`` the 18-character id in the participant-page URL (``a2z`` + 15 letters/digits)
``status``         ``active`` or ``inactive`` as the page shows it; ``unknown`` = listed, status not read
``frameworks``     ``;``-separated subset of ``EU`` (EU–US DPF), ``UK`` (UK Extension), ``CH`` (Swiss–US DPF);
                   empty = not recorded
``coverage``       ``;``-separated subset of ``HR`` and ``non-HR``; empty = not recorded
``checked_on``     ISO date the page was read (required unless the status is ``unknown``; not in the future)
``source_url``     the participant page (``https://``); a ``participant-detail?id=`` URL must carry the same
                   id, and a ``status=`` parameter in it must agree with ``status``
``note``           optional free text
=================  ========================================================================================

Companies are matched **only** by the ``dpf.participant_id`` written in ``data/companies/<id>.yml`` — never
by name. A company without a participant id keeps the status of its own ``dpf`` block. A status counts for the
risk model only when it was checked within the last 12 months and, for ``active``, when the EU framework and
non-HR coverage are recorded (German DSK, 4 Sep 2023: check that the specific recipient *and* the data
category are covered); otherwise the effective status is ``unknown``, an explicit level of its own.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from types import MappingProxyType
from urllib.parse import parse_qs, urlsplit

from common.paths import data_path
from pipelines import glossary
from pipelines.glossary import Item, item

DPF_DIR = data_path("reference", "dpf")
SNAPSHOT_RE = re.compile(r"^dpf-snapshot-(\d{4}-\d{2}-\d{2})\.csv$")
COLUMNS = ("name", "participant_id", "status", "frameworks", "coverage", "checked_on", "source_url")
OPTIONAL_COLUMNS = ("note",)
STATUSES = ("active", "inactive", "unknown")
FRAMEWORKS = ("EU", "UK", "CH")
COVERAGE = ("HR", "non-HR")
PARTICIPANT_ID_RE = re.compile(r"^a2z[0-9A-Za-z]{15}$")
MAX_AGE_MONTHS = 12
LIST_SEARCH_URL = "https://www.dataprivacyframework.gov/s/participant-search"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FRAMEWORK_SPELLINGS = {"EU": "EU", "UK": "UK", "CH": "CH", "SWISS": "CH"}
_COVERAGE_SPELLINGS = {"HR": "HR", "NON-HR": "non-HR", "NONHR": "non-HR", "NON_HR": "non-HR"}


class DpfImportError(Exception):
    """The CSV has problems; ``problems`` lists each as ``<file>: line N: what is wrong``."""

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} problem(s) in the DPF CSV:\n" + "\n".join(problems[:20]))
        self.problems = problems


@dataclass(frozen=True)
class DpfEntry:
    """One organisation on the DPF list as read from its participant page."""

    name: str
    participant_id: str
    status: str  # active | inactive | unknown
    frameworks: tuple[str, ...] = ()  # subset of EU, UK, CH; () = not recorded
    coverage: tuple[str, ...] = ()  # subset of HR, non-HR; () = not recorded
    checked_on: str | None = None
    source_url: str = ""
    note: str = ""
    line: int = 0  # line in the file it came from (0 = built in code)

    def row(self) -> dict[str, str]:
        return {"name": self.name, "participant_id": self.participant_id, "status": self.status,
                "frameworks": ";".join(self.frameworks), "coverage": ";".join(self.coverage),
                "checked_on": self.checked_on or "", "source_url": self.source_url, "note": self.note}


@dataclass(frozen=True)
class DpfSnapshot:
    """The entries of one snapshot file, by participant id; ``date`` is the snapshot's date ("" if none)."""

    date: str
    entries: Mapping[str, DpfEntry]
    path: str = ""


EMPTY_SNAPSHOT = DpfSnapshot("", MappingProxyType({}))


# --------------------------------------------------------------------------------------------------
# reading and validating the CSV


def _split(value: str, spellings: dict[str, str], what: str, at: str, problems: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for token in (t.strip() for t in value.replace(",", ";").split(";")):
        if not token:
            continue
        canon = spellings.get(token.upper())
        if canon is None:
            allowed = sorted(set(spellings.values()))
            problems.append(f"{at}: {what} '{token}' not in {allowed}")
        elif canon not in out:
            out.append(canon)
    order = list(dict.fromkeys(spellings.values()))
    return tuple(sorted(out, key=order.index))


def _check_url(url: str, pid: str, status: str, at: str, problems: list[str]) -> None:
    if not url:
        problems.append(f"{at}: source_url is empty (the participant page you read)")
        return
    try:
        parts = urlsplit(url)
    except ValueError:
        problems.append(f"{at}: source_url '{url}' is not a URL")
        return
    if parts.scheme != "https" or not parts.netloc or " " in url:
        problems.append(f"{at}: source_url '{url}' must be an https:// URL")
        return
    if "participant-detail" in parts.path:
        query = {k.lower(): v for k, v in parse_qs(parts.query).items()}
        if pid and query.get("id", [""])[0] != pid:
            problems.append(f"{at}: source_url id '{query.get('id', [''])[0]}' differs from participant_id '{pid}'")
        url_status = query.get("status", [""])[0].lower()
        if url_status and status in ("active", "inactive") and url_status != status:
            problems.append(f"{at}: source_url says status={url_status} but status is '{status}'")


def parse_dpf_csv(text: str, *, today: date | None = None, where: str = "<csv>") -> list[DpfEntry]:
    """Parse and validate import-CSV ``text``; returns the entries in file order.

    Raises :class:`DpfImportError` with every problem and its line number: missing or unknown columns,
    malformed participant ids, unknown status/framework/coverage values, missing or future checked-on dates,
    bad source URLs, duplicate participant ids.
    """
    today = today or date.today()
    problems: list[str] = []
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    # keep physical line numbers: comment lines become empty lines, which csv skips
    cleaned = "\n".join("" if ln.lstrip().startswith("#") else ln for ln in lines)
    reader = csv.reader(io.StringIO(cleaned))
    header: list[str] = []
    header_line = 1
    for record in reader:
        if any(cell.strip() for cell in record):
            header, header_line = [h.strip() for h in record], reader.line_num
            break
    if not header:
        raise DpfImportError([f"{where}: the file is empty (expected a header: {','.join(COLUMNS)})"])
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        msg = []
        if missing:
            msg.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            msg.append(f"unknown column(s) {', '.join(unknown)}")
        raise DpfImportError([f"{where}: line {header_line}: header: {'; '.join(msg)} "
                              f"(expected {','.join(COLUMNS)}[,note])"])
    entries: list[DpfEntry] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        at = f"{where}: line {line}"
        if not any(cell.strip() for cell in record):
            continue
        if len(record) > len(header):
            problems.append(f"{at}: more fields than columns (quote values that contain commas)")
            continue
        raw = dict(zip(header, record + [""] * (len(header) - len(record)), strict=True))
        row = {k: (v or "").strip() for k, v in raw.items()}
        if not any(row.values()):
            continue
        name, pid, status = row["name"], row["participant_id"], row["status"].lower()
        if not name:
            problems.append(f"{at}: name is empty")
        if not PARTICIPANT_ID_RE.match(pid):
            problems.append(f"{at}: participant_id '{pid}' is not an 18-character id starting with a2z "
                            "(copy it from the participant page URL, ?id=...)")
        elif pid in seen:
            problems.append(f"{at}: participant_id {pid} already on line {seen[pid]}")
        else:
            seen[pid] = line
        if status not in STATUSES:
            problems.append(f"{at}: status '{row['status']}' not in {list(STATUSES)}")
        frameworks = _split(row["frameworks"], _FRAMEWORK_SPELLINGS, "framework", at, problems)
        coverage = _split(row["coverage"], _COVERAGE_SPELLINGS, "coverage", at, problems)
        checked = row["checked_on"] or None
        if checked is not None:
            try:
                if not _DATE_RE.match(checked):
                    raise ValueError
                day = date.fromisoformat(checked)
            except ValueError:
                problems.append(f"{at}: checked_on '{checked}' is not an ISO date (YYYY-MM-DD)")
            else:
                if day > today:
                    problems.append(f"{at}: checked_on {checked} is in the future")
        elif status in ("active", "inactive"):
            problems.append(f"{at}: checked_on is required for status '{status}' (the day you read the page)")
        _check_url(row["source_url"], pid if PARTICIPANT_ID_RE.match(pid) else "", status, at, problems)
        entries.append(DpfEntry(name=name, participant_id=pid, status=status, frameworks=frameworks,
                                coverage=coverage, checked_on=checked, source_url=row["source_url"],
                                note=row.get("note", ""), line=line))
    if problems:
        raise DpfImportError(problems)
    return entries


def read_dpf_csv(path: str | Path, *, today: date | None = None) -> list[DpfEntry]:
    """Read and validate an import CSV file (see :func:`parse_dpf_csv`); unreadable files raise
    :class:`DpfImportError` too."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DpfImportError([f"{path.name}: not UTF-8 ({exc.reason} at byte {exc.start}); save the CSV as UTF-8"]) \
            from None
    except OSError as exc:
        raise DpfImportError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    return parse_dpf_csv(text, today=today, where=path.name)


def template() -> str:
    """An import CSV with the header, a comment per column and one example row."""
    return (
        "# servicerisk DPF import CSV: one row per organisation, copied from its page on " + LIST_SEARCH_URL + "\n"
        "# status: active|inactive (unknown = listed, status not read); frameworks: EU;UK;CH; "
        "coverage: HR;non-HR; checked_on: YYYY-MM-DD\n"
        + ",".join(COLUMNS + OPTIONAL_COLUMNS) + "\n"
        "Example Corp.,a2zt0000000ExAmPLE,active,EU;UK;CH,non-HR,2026-11-29,"
        "https://www.dataprivacyframework.gov/s/participant-search/participant-detail?id=a2zt0000000ExAmPLE"
        "&status=Active,replace this example row\n"
    )


# --------------------------------------------------------------------------------------------------
# snapshots


def snapshot_files(folder: str | Path = DPF_DIR) -> list[tuple[str, Path]]:
    """(date, path) of the snapshot files in ``folder``, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(m.group(1), p) for p in folder.iterdir() if (m := SNAPSHOT_RE.match(p.name))]
    return sorted(found)


def load_snapshot(folder: str | Path = DPF_DIR, *, today: date | None = None) -> DpfSnapshot:
    """The newest ``dpf-snapshot-YYYY-MM-DD.csv`` in ``folder`` (validated like an import CSV), or an empty
    snapshot when there is none. Raises :class:`DpfImportError` if the file is invalid."""
    files = snapshot_files(folder)
    if not files:
        return EMPTY_SNAPSHOT
    day, path = files[-1]
    entries = read_dpf_csv(path, today=today or date.max)
    return DpfSnapshot(day, MappingProxyType({e.participant_id: e for e in entries}), str(path))


def merge(snapshot: DpfSnapshot, entries: Iterable[DpfEntry]) -> list[DpfEntry]:
    """The snapshot's entries with ``entries`` replacing those of the same participant id (new ones added),
    sorted by name. An entry checked earlier than the one it would replace is kept out (older news)."""
    merged = dict(snapshot.entries)
    for entry in entries:
        old = merged.get(entry.participant_id)
        if old and old.checked_on and entry.checked_on and entry.checked_on < old.checked_on:
            continue
        merged[entry.participant_id] = replace(entry, line=0)
    return sorted(merged.values(), key=lambda e: (e.name.lower(), e.participant_id))


@dataclass(frozen=True)
class ImportDiff:
    """What an import would change in a snapshot: ``added`` (participant ids it lacks), ``changed`` (other
    values), ``unchanged``, and ``unused`` (entries no company file names by participant id)."""

    added: tuple[DpfEntry, ...]
    changed: tuple[DpfEntry, ...]
    unchanged: tuple[DpfEntry, ...]
    unused: tuple[DpfEntry, ...]


def import_diff(snapshot: DpfSnapshot, entries: Iterable[DpfEntry], catalog) -> ImportDiff:
    """Compare imported ``entries`` with ``snapshot`` (line numbers aside) and with the participant ids of the
    ``catalog``'s companies."""
    entries = list(entries)
    added: list[DpfEntry] = []
    changed: list[DpfEntry] = []
    unchanged: list[DpfEntry] = []
    for e in entries:
        was = snapshot.entries.get(e.participant_id)
        (added if was is None else unchanged if replace(was, line=0) == replace(e, line=0) else changed).append(e)
    known_ids = {c.dpf.participant_id for c in catalog.companies.values() if c.dpf.participant_id}
    unused = tuple(e for e in entries if e.participant_id not in known_ids)
    return ImportDiff(tuple(added), tuple(changed), tuple(unchanged), unused)


def render(entries: Iterable[DpfEntry]) -> str:
    """Entries as import-CSV text (the snapshot format)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS + OPTIONAL_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        writer.writerow(entry.row())
    return buf.getvalue()


def write_snapshot(entries: Iterable[DpfEntry], snapshot_date: date, folder: str | Path = DPF_DIR) -> Path:
    """Write ``dpf-snapshot-<date>.csv`` in ``folder`` (replacing a file of the same date) and return it.
    Written to a temporary name first, then renamed, so readers never see half a file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"dpf-snapshot-{snapshot_date.isoformat()}.csv"
    tmp = path.with_suffix(".csv.tmp")
    tmp.write_text(render(entries), encoding="utf-8")
    tmp.replace(path)
    return path


# --------------------------------------------------------------------------------------------------
# status of a company on a day


@dataclass(frozen=True)
class DpfStatus:
    """What the risk model may rely on for one company on one day.

    ``recorded`` is the status as written (snapshot row or company file); ``effective`` is what counts:
    ``active`` (checked within 12 months, EU framework and non-HR coverage recorded), ``inactive``,
    ``not_listed``, ``not_covered`` (listed, but not for the EU framework or only for HR data),
    ``not_applicable`` (not a US organisation) or ``unknown`` (not checked, stale, or scope not recorded).
    ``origin`` is ``snapshot``, ``company file`` or ``none``; ``why`` explains a downgrade (structured items,
    rendered per language by :mod:`pipelines.glossary`; ``reason`` is its English line).
    """

    company_id: str
    name: str
    recorded: str
    effective: str
    origin: str
    participant_id: str | None = None
    checked_on: str | None = None
    frameworks: tuple[str, ...] = ()
    coverage: tuple[str, ...] = ()
    source: str = ""
    confidence: str = "M"
    snapshot_date: str = ""
    why: tuple[Item, ...] = ()

    @property
    def reason(self) -> str:
        """Why the effective status differs from the recorded one, in English ("" when it does not)."""
        return glossary.render("en", self.why)

    def items(self) -> tuple[Item, ...]:
        """The status as evidence items: entity, id, recorded status, check date, where it came from, and why it
        counts as another status."""
        out = [item("dpf_recorded", name=self.name, participant_id=self.participant_id, status=self.recorded),
               item("dpf_checked", on=self.checked_on) if self.checked_on else item("dpf_never_checked"),
               item("dpf_origin_snapshot", date=self.snapshot_date, source=self.source or None)
               if self.origin == "snapshot" else item("dpf_origin_company_file", source=self.source or None)
               if self.origin == "company file" else item("dpf_origin_none")]
        if self.effective != self.recorded:
            out += [item("dpf_counts_as", status=self.effective), *self.why]
        return tuple(out)

    def evidence(self) -> str:
        """The status in one English line (see :meth:`items`)."""
        return glossary.render("en", self.items())


def months_before(day: date, months: int) -> date:
    """``day`` moved back by whole calendar months (clamped to the month's last day)."""
    y, m = divmod(day.month - 1 - months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def resolve_status(company, snapshot: DpfSnapshot, on: date, *, max_age_months: int = MAX_AGE_MONTHS) -> DpfStatus:
    """The DPF status of catalog ``company`` (a :class:`pipelines.catalog.load.Company`) on day ``on``.

    The snapshot row with the company's explicit ``dpf.participant_id`` wins over the company file's own
    ``dpf`` block. Pure: no I/O.
    """
    dpf = company.dpf
    pid = dpf.participant_id
    entry = snapshot.entries.get(pid) if pid else None
    if entry is not None:
        base = DpfStatus(company.id, company.name, entry.status, entry.status, "snapshot", pid, entry.checked_on,
                         entry.frameworks, entry.coverage, entry.source_url, "V" if entry.checked_on else "M",
                         snapshot.date)
    else:
        origin = "company file" if (dpf.status != "unknown" or pid or dpf.source) else "none"
        base = DpfStatus(company.id, company.name, dpf.status, dpf.status, origin, pid, dpf.checked_on,
                         tuple(dpf.frameworks), tuple(dpf.coverage), source=dpf.source, confidence=dpf.confidence,
                         snapshot_date=snapshot.date)
        if pid and snapshot.date:
            base = replace(base, why=(item("dpf_not_in_snapshot", date=snapshot.date),))
    if base.recorded == "not_applicable":
        return base
    if company.country not in ("US", "unknown") and not pid:
        return replace(base, effective="not_applicable", why=(item("dpf_not_us"),))

    def downgrade(effective: str, why: Item) -> DpfStatus:
        return replace(base, effective=effective, why=(*base.why, why))

    if base.recorded == "unknown":
        return downgrade("unknown", item("dpf_not_checked"))
    if not base.checked_on:
        return downgrade("unknown", item("dpf_no_check_date", status=base.recorded))
    if base.checked_on < months_before(on, max_age_months).isoformat():
        return downgrade("unknown", item("dpf_stale", checked_on=base.checked_on, months=max_age_months,
                                         on=on.isoformat()))
    if base.recorded == "active":
        if base.frameworks and "EU" not in base.frameworks:
            return downgrade("not_covered", item("dpf_not_eu"))
        if base.coverage and "non-HR" not in base.coverage:
            return downgrade("not_covered", item("dpf_hr_only"))
        if not base.frameworks or not base.coverage:
            return downgrade("unknown", item("dpf_scope_unrecorded"))
    return base


# --------------------------------------------------------------------------------------------------
# the --check report


@dataclass(frozen=True)
class CheckRow:
    """One line of the ``--check`` report. ``problem`` is ``ok``, ``missing`` (no status or never checked),
    ``stale`` (checked more than 12 months ago), ``scope`` (framework/coverage not recorded),
    ``no id`` (US company without a participant id) or ``orphan`` (snapshot row no company refers to)."""

    company_id: str
    name: str
    country: str
    participant_id: str | None
    recorded: str
    effective: str
    checked_on: str | None
    age_days: int | None
    origin: str
    problem: str
    detail: str = ""


def check(catalog, snapshot: DpfSnapshot, on: date, *, max_age_months: int = MAX_AGE_MONTHS) -> list[CheckRow]:
    """Report, for every US company in ``catalog`` (and every company with a participant id), whether its DPF
    status is current on ``on``; then snapshot rows no company refers to. Sorted: problems first."""
    rows: list[CheckRow] = []
    referenced: set[str] = set()
    for company in catalog.companies.values():
        pid = company.dpf.participant_id
        if company.country != "US" and not pid:
            continue
        if pid:
            referenced.add(pid)
        status = resolve_status(company, snapshot, on, max_age_months=max_age_months)
        age = (on - date.fromisoformat(status.checked_on)).days if status.checked_on else None
        if status.effective == "unknown" and status.checked_on and age is not None and \
                status.checked_on < months_before(on, max_age_months).isoformat():
            problem = "stale"
        elif status.effective == "unknown" and status.checked_on and status.recorded != "unknown":
            problem = "scope"  # a status was read, but the framework / data coverage is not recorded
        elif status.effective == "unknown":
            problem = "missing"
        elif not pid:
            problem = "no id"
        else:
            problem = "ok"
        rows.append(CheckRow(company.id, company.name, company.country, pid, status.recorded, status.effective,
                             status.checked_on, age, status.origin, problem, status.reason))
    for pid, entry in snapshot.entries.items():
        if pid not in referenced:
            rows.append(CheckRow("", entry.name, "", pid, entry.status, "", entry.checked_on, None, "snapshot",
                                 "orphan", "no company file names this participant id"))
    order = {"missing": 0, "stale": 1, "scope": 2, "no id": 3, "orphan": 4, "ok": 5}
    return sorted(rows, key=lambda r: (order[r.problem], r.company_id or r.name))
