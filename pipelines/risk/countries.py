"""The dated country tables (EEA members, special territories, Art. 45 adequacy decisions) and the one
question the risk model asks of them: on a given day, is a country EEA, adequate, the US, or a third country?

Files (``data/reference/countries/``, one row per entry, each with ``source``, ``as_of`` and a V/S/M
``confidence``): ``eea.csv`` (EU27 + IS/LI/NO), ``territories.csv`` (ISO codes GeoIP uses for parts of member
states or for territories outside the EU: EU outermost regions count as EU, overseas countries and
territories and Gibraltar do not), ``adequacy.csv`` (decision id, date, ``valid_to``, ``scope`` full/partial
with the scope limit). :func:`load_countries` reads and checks them and raises :class:`CountryDataError`
listing every problem with file and line number.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType

from common.paths import data_path
from pipelines.problems import ProblemsError

DEFAULT_DIR = data_path("reference", "countries")

# what a country is for a transfer on a given day
EEA, ADEQUATE, US, THIRD_COUNTRY, UNKNOWN = "eea", "adequate", "us", "third_country", "unknown"
# spellings that are not ISO 3166-1 but turn up in data: the EU's "EL" for Greece, "UK" for GB
ALIASES = {"EL": "GR", "UK": "GB"}
_CODE = re.compile(r"^[A-Z]{2}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CONFIDENCE = frozenset({"V", "S", "M"})


class CountryDataError(ProblemsError):
    """The country tables have problems; ``problems`` lists each with file and line."""

    what = "country-table"


@dataclass(frozen=True)
class Member:
    """An EEA state: ``membership`` is ``eu`` or ``eea_efta``."""

    code: str
    name: str
    membership: str
    source: str
    as_of: str
    confidence: str
    note: str = ""


@dataclass(frozen=True)
class Territory:
    """An ISO code GeoIP may return for a territory: ``treat_as`` is ``eu`` or ``third_country``."""

    code: str
    name: str
    treat_as: str
    parent_code: str
    source: str
    as_of: str
    confidence: str
    note: str = ""


@dataclass(frozen=True)
class Adequacy:
    """One Art. 45 adequacy decision. ``scope`` is ``full`` or ``partial`` (``scope_limit`` says what it covers);
    ``valid_to`` is empty when the decision has no end date."""

    code: str
    name: str
    kind: str  # country | international_organisation
    decision: str
    decision_date: str
    date_confidence: str
    valid_to: str
    scope: str
    scope_limit: str
    confidence: str
    source: str
    as_of: str
    note: str = ""

    def valid_on(self, day: date) -> bool:
        iso = day.isoformat()
        return self.decision_date <= iso and (not self.valid_to or iso <= self.valid_to)

    def label(self) -> str:
        limit = f"; scope: {self.scope_limit}" if self.scope == "partial" else ""
        return f"{self.name}: {self.decision} of {self.decision_date}{limit}"


@dataclass(frozen=True)
class CountryTables:
    """The loaded tables. Every method takes ISO 3166-1 alpha-2 codes (case-insensitive, ``EL``/``UK`` accepted)."""

    members: Mapping[str, Member]
    territories: Mapping[str, Territory]
    decisions: tuple[Adequacy, ...]

    @staticmethod
    def normalise(code: str | None) -> str:
        """Upper-case ISO code with the aliases mapped; "" for None/empty."""
        value = (code or "").strip().upper()
        return ALIASES.get(value, value)

    def is_eea(self, code: str | None) -> bool:
        """EEA state, or an EU outermost region that GeoIP reports under its own code."""
        c = self.normalise(code)
        if c in self.members:
            return True
        territory = self.territories.get(c)
        return territory is not None and territory.treat_as == "eu"

    def adequacy(self, code: str | None, on: date) -> Adequacy | None:
        """The adequacy decision in force for ``code`` on ``on`` (the newest if two overlap), else None.

        A territory outside the EU (e.g. GI) does not inherit its parent's decision.
        """
        c = self.normalise(code)
        found = [d for d in self.decisions if d.code == c and d.valid_on(on)]
        return max(found, key=lambda d: d.decision_date) if found else None

    def region(self, code: str | None, on: date) -> str:
        """``eea``, ``adequate`` (a decision in force, US excluded), ``us``, ``third_country`` or ``unknown``.

        The US is returned as ``us`` because its decision covers only DPF participants: the caller decides
        with the recipient's DPF status.
        """
        c = self.normalise(code)
        if not c or c == "UNKNOWN" or not _CODE.match(c):
            return UNKNOWN
        if self.is_eea(c):
            return EEA
        if c == "US":
            return US
        return ADEQUATE if self.adequacy(c, on) is not None else THIRD_COUNTRY


def _rows(path: Path, columns: tuple[str, ...], problems: list[str]) -> list[tuple[int, dict[str, str]]]:
    where = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{where}: cannot read: {exc}")
        return []
    reader = csv.DictReader(text.splitlines())
    header = tuple(reader.fieldnames or ())
    if header != columns:
        problems.append(f"{where}: line 1: header must be {','.join(columns)} (got {','.join(header)})")
        return []
    out = []
    for row in reader:
        line = reader.line_num
        if None in row or any(v is None for v in row.values()):
            problems.append(f"{where}: line {line}: expected {len(columns)} fields")
            continue
        out.append((line, {k: v.strip() for k, v in row.items()}))
    return out


def _common(where: str, line: int, row: dict[str, str], problems: list[str], *, code_re=_CODE) -> None:
    at = f"{where}: line {line}"
    if not code_re.match(row["code"]):
        problems.append(f"{at}: code '{row['code']}' is not an upper-case ISO 3166-1 alpha-2 code")
    if not row["name"]:
        problems.append(f"{at}: name is empty")
    if not row["source"]:
        problems.append(f"{at}: source is empty")
    if not _DATE.match(row["as_of"]):
        problems.append(f"{at}: as_of '{row['as_of']}' is not YYYY-MM-DD")
    if row["confidence"] not in _CONFIDENCE:
        problems.append(f"{at}: confidence '{row['confidence']}' not in V/S/M")


def load_countries(folder: str | Path = DEFAULT_DIR) -> CountryTables:
    """Read and check ``eea.csv``, ``territories.csv`` and ``adequacy.csv`` in ``folder``.

    Raises :class:`CountryDataError` listing every problem (file: line N: what is wrong).
    """
    folder = Path(folder)
    problems: list[str] = []
    members: dict[str, Member] = {}
    for line, row in _rows(folder / "eea.csv", ("code", "name", "membership", "source", "as_of", "confidence",
                                                  "note"), problems):
        _common("eea.csv", line, row, problems)
        if row["membership"] not in ("eu", "eea_efta"):
            problems.append(f"eea.csv: line {line}: membership '{row['membership']}' not in eu/eea_efta")
        if row["code"] in members:
            problems.append(f"eea.csv: line {line}: duplicate code {row['code']}")
        members[row["code"]] = Member(**row)
    territories: dict[str, Territory] = {}
    for line, row in _rows(folder / "territories.csv", ("code", "name", "treat_as", "parent_code", "source",
                                                          "as_of", "confidence", "note"), problems):
        _common("territories.csv", line, row, problems)
        if row["treat_as"] not in ("eu", "third_country"):
            problems.append(f"territories.csv: line {line}: treat_as '{row['treat_as']}' not in eu/third_country")
        if row["code"] in territories or row["code"] in members:
            problems.append(f"territories.csv: line {line}: code {row['code']} already listed")
        territories[row["code"]] = Territory(**row)
    decisions: list[Adequacy] = []
    for line, row in _rows(folder / "adequacy.csv", ("code", "name", "kind", "decision", "decision_date",
                                                       "date_confidence", "valid_to", "scope", "scope_limit",
                                                       "confidence", "source", "as_of", "note"), problems):
        at = f"adequacy.csv: line {line}"
        org = row["kind"] == "international_organisation"
        _common("adequacy.csv", line, row, problems, code_re=re.compile(r"^[A-Z]{2,5}$") if org else _CODE)
        if row["kind"] not in ("country", "international_organisation"):
            problems.append(f"{at}: kind '{row['kind']}' not in country/international_organisation")
        if not row["decision"]:
            problems.append(f"{at}: decision is empty")
        for name in ("decision_date", "valid_to"):
            if row[name] and not _DATE.match(row[name]):
                problems.append(f"{at}: {name} '{row[name]}' is not YYYY-MM-DD")
        if not row["decision_date"]:
            problems.append(f"{at}: decision_date is empty")
        if row["date_confidence"] not in _CONFIDENCE:
            problems.append(f"{at}: date_confidence '{row['date_confidence']}' not in V/S/M")
        if row["scope"] not in ("full", "partial"):
            problems.append(f"{at}: scope '{row['scope']}' not in full/partial")
        elif row["scope"] == "partial" and not row["scope_limit"]:
            problems.append(f"{at}: a partial scope needs scope_limit")
        if row["code"] in members:
            problems.append(f"{at}: {row['code']} is in the EEA and needs no adequacy decision")
        decisions.append(Adequacy(**row))
    if problems:
        raise CountryDataError(problems)
    return CountryTables(MappingProxyType(members), MappingProxyType(territories), tuple(decisions))
