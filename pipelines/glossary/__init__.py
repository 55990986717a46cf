"""The glossary: every code and fixed text that reaches a reader, in German and English, and the functions that
render them. The words live in data files beside this module, one folder per language (``de/``, ``en/``: sections
such as ``labels.yml``, ``codes.yml``, ``policy.yml``), with the same keys; code never holds reader-facing sentences.

Public API (used by the knowledge base, the risk model's English evidence lines, the scan report and the
privacy-policy blocks):

- :func:`label` ``(lang, kind, code)``: the name of a code of a kind (``category``, ``purpose``, ``data_category``,
  ``role``, ``factor``, ``level.F6``, ``confidence``, ``dpf_status``, ``outcome``, ``band``, ``embedding`` … see
  :data:`KINDS`); an unknown code comes back unchanged (the page tests then find it).
- :func:`text` ``(lang, key, **params)``: a page label or an explanatory paragraph, formatted.
- :func:`render` ``(lang, items)``: an evidence line from structured :class:`Item` s (code + parameters).
- :func:`count` ``(lang, n, unit)``: "1 Host", "3 Hosts", "1 Website", "2 Websites" (no "1 Hosts").
- :func:`lifetime` / :func:`duration`: a cookie lifetime from the catalog's text or from seconds.
- :func:`country`: an ISO 3166-1 code's name; :func:`source_label`: a source as a reader sees it.
- :func:`section` ``(lang, key)``: a whole section, e.g. ``policy`` (sentences of ``servicerisk policy``'s blocks)
  or ``scan`` (labels of the scan report).

Raises :class:`GlossaryError` when a data file is missing or malformed.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from common.yamlsections import merge_sections

LANGS = ("de", "en")
# the kinds of codes a page can show; each is a mapping code -> name in both files (tests check completeness)
KINDS = ("category", "purpose", "data_category", "data_subject", "role", "factor", "mitigation", "security",
         "reason", "condition", "condition_status", "confidence", "location_confidence", "dpf_status", "consent",
         "band", "consent_state", "embedding", "outcome", "page_kind", "dns_outcome", "movement", "fact_field",
         "mark", "ip_anonymisation", "eu_hosting", "yes_no", "rank_bucket", "jurisdiction", "cookie_lifetime_word",
         "country")


class GlossaryError(ValueError):
    """A glossary file is missing, malformed, or lacks a key the other language has."""


@dataclass(frozen=True)
class Item:
    """One piece of an evidence line: a template ``code`` (``evidence.<code>`` in the glossary) and its parameters
    (JSON-ready values). A factor's evidence is a sequence of items joined by "; " (after a template ending in ":"
    by a space)."""

    code: str
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "params": self.params}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Item:
        return cls(str(d["code"]), dict(d.get("params") or {}))


def item(code: str, **params: Any) -> Item:
    """Shorthand for ``Item(code, params)``."""
    return Item(code, params)


@cache
def glossary(lang: str) -> Mapping[str, Any]:
    """The parsed glossary of ``lang`` (cached): the top-level sections of every ``<lang>/*.yml`` file beside this
    module, merged in file-name order; a section defined in two files is an error."""
    if lang not in LANGS:
        raise GlossaryError(f"unknown language {lang!r} (choose from {', '.join(LANGS)})")
    return read_folder(lang, resources.files("pipelines.glossary").joinpath(lang))


def read_folder(lang: str, folder: Traversable) -> dict[str, Any]:
    """The sections of the ``*.yml`` files in ``folder`` merged (a glossary's language folder)."""
    data = merge_sections(folder, f"glossary/{lang}", GlossaryError)
    if data.get("lang") != lang:
        raise GlossaryError(f"glossary/{lang}: the files must hold lang: {lang} (in one of them)")
    return data


def _section(lang: str, kind: str) -> Mapping[str, Any]:
    node: Any = glossary(lang)
    for part in kind.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def section(lang: str, key: str) -> Mapping[str, Any]:
    """The glossary section ``key`` of ``lang`` (dotted for nested ones; empty when absent), e.g. ``policy`` (the
    privacy-policy blocks' sentences) or ``scan`` (the scan report's labels)."""
    return _section(lang, key)


def codes(kind: str, lang: str = "en") -> tuple[str, ...]:
    """Every code of ``kind`` the glossary names (in ``lang``'s file)."""
    return tuple(str(k) for k in _section(lang, kind))


def has(lang: str, kind: str, code: Any) -> bool:
    return _key(_section(lang, kind), code) is not None


def _key(section: Mapping[str, Any], code: Any):
    if code in section:
        return code
    if isinstance(code, str) and code.isdigit() and int(code) in section:
        return int(code)
    if isinstance(code, int) and str(code) in section:
        return str(code)
    return None


def label(lang: str, kind: str, code: Any, default: str | None = None) -> str:
    """The reader's name for ``code`` of ``kind`` in ``lang``; ``default`` (or the code itself) when the glossary
    lacks it. ``None`` codes give the glossary's "unknown"."""
    if code is None:
        return text(lang, "unknown")
    section = _section(lang, kind)
    key = _key(section, code)
    if key is None:
        return default if default is not None else str(code)
    value = section[key]
    return value if isinstance(value, str) else str(value.get("name", code))


def text(lang: str, key: str, **params: Any) -> str:
    """Label or paragraph ``key`` (``labels.<key>``, else ``texts.<key>``) formatted with ``params``; the key itself
    when neither has it."""
    for section in ("labels", "texts"):
        value = _section(lang, section).get(key)
        if value is not None:
            return _fmt(lang, str(value), params) if params else str(value)
    return key


def labels(lang: str) -> Mapping[str, str]:
    """Every page label of ``lang`` (for templates: ``L.key``)."""
    return _section(lang, "labels")


def texts(lang: str) -> Mapping[str, str]:
    """Every explanatory paragraph of ``lang``."""
    return _section(lang, "texts")


# --------------------------------------------------------------------------------------------------
# numbers, units, durations, countries, sources


def number(lang: str, value: float, digits: int = 1) -> str:
    text_ = f"{value:.{digits}f}"
    return text_.replace(".", ",") if lang == "de" else text_


def percent(lang: str, value: float, digits: int = 1) -> str:
    """A share (0..1) as a percentage: "68,2 %" in German, "68.2 %" in English."""
    return number(lang, value * 100, digits) + " %"


def count(lang: str, n: int, unit: str) -> str:
    """``n`` with ``unit`` in the right number: ``units.<unit>`` is ``[singular, plural]``."""
    forms = _section(lang, "units").get(unit)
    if not forms:
        return f"{n} {unit}"
    return f"{n} {forms[0] if n == 1 else forms[1]}"


_DURATION_UNITS = (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60))


def duration(lang: str, seconds: int | None) -> str:
    """A lifetime in seconds, rounded to its largest unit ("2 Jahre", "1 day"); ``None`` is a session cookie."""
    if seconds is None:
        return label(lang, "cookie_lifetime_word", "session")
    for unit, size in _DURATION_UNITS:
        if seconds >= size:
            return count(lang, round(seconds / size), unit)
    return count(lang, int(seconds), "second")


_LIFETIME = re.compile(r"^\s*(\d+)\s*(year|month|week|day|hour|minute|second)s?\b\s*(.*?)\s*$", re.I)
_WORDS = {"session": "session", "session cookie": "session", "end of session (browser)": "session",
          "seesion": "session", "forever": "persistent", "persistent": "persistent", "various": "various",
          "unknown": "unknown", "": "unknown"}


def lifetime(lang: str, raw: str | None) -> str | None:
    """A catalog cookie lifetime ("2 years", "Session", "13 months by default, modifiable") in ``lang``; None when
    the text is none of the shapes the glossary knows (the page then says it is not recorded in this language)."""
    value = (raw or "").strip()
    word = _WORDS.get(value.lower())
    if word is not None:
        return label(lang, "cookie_lifetime_word", word)
    m = _LIFETIME.match(value)
    if not m:
        return None
    n, unit, rest = int(m.group(1)), m.group(2).lower(), m.group(3).lower().strip(" ,")
    base = count(lang, n, unit)
    if not rest:
        return base
    suffix = _section(lang, "lifetime_suffix").get(rest)
    return f"{base} {suffix}" if suffix else None


@cache
def _countries(lang: str) -> Mapping[str, str]:
    return _section(lang, "country")


def country(lang: str, code: str | None) -> str:
    """The country name of an ISO 3166-1 alpha-2 code (``unknown`` -> the glossary's word); the code when unknown."""
    if code in (None, "", "unknown"):
        return text(lang, "unknown")
    return _countries(lang).get(str(code).upper(), str(code))


_PACKAGE = re.compile(r"^(?P<name>(?:@[a-z0-9._-]+/)?[a-z0-9._-]+)@(?P<version>\d[0-9A-Za-z.+-]*)(?:#(?P<part>\S+))?$")
_URL = re.compile(r"^https?://\S+$")


def source_label(lang: str, source: str) -> str:
    """How a reader sees a source: a URL as is; a pinned package as the dataset it carries, named without a
    registry address ("Open Cookie Database (über das npm-Paket @slashgear/gdpr-cookie-scanner 3.8.2)")."""
    m = _PACKAGE.match(source or "")
    if not m:
        return source
    datasets = _section(lang, "datasets")
    part = (m.group("part") or "").split("/")[0]
    dataset = datasets.get(part) or datasets.get(m.group("name"))
    via = text(lang, "via_package", package=m.group("name"), version=m.group("version"))
    return f"{dataset} ({via})" if dataset else via


def is_link(source: str) -> bool:
    """True when ``source`` is a public web address a page may link to."""
    return bool(_URL.match(source or ""))


# --------------------------------------------------------------------------------------------------
# evidence lines


class _Formatter(string.Formatter):
    """``str.format`` with typed fields: ``{cookies:cookies}``, ``{purposes:purposes}``, ``{x:items}`` …"""

    def __init__(self, lang: str):
        super().__init__()
        self.lang = lang

    def format_field(self, value: Any, spec: str) -> str:
        lang = self.lang
        if not spec:
            return "" if value is None else str(value)
        kind = _SPECS.get(spec)
        try:
            return kind(lang, value) if kind is not None else format(value, spec)
        except (TypeError, ValueError, KeyError, AttributeError):
            return str(value)  # a malformed parameter is shown as it is, never crashes a page


def _join(lang: str, parts: Sequence[str]) -> str:
    return ", ".join(p for p in parts if p)


def _codes(kind: str):
    def fmt(lang: str, values) -> str:
        if isinstance(values, str):
            return label(lang, kind, values)
        return _join(lang, [label(lang, kind, v) for v in values or ()]) or text(lang, "none")
    return fmt


def _more(lang: str, n) -> str:
    return text(lang, "more", n=n) if n else ""


def _cookie(lang: str, c: Mapping[str, Any]) -> str:
    name = f"{c['name']}{'*' if c.get('prefix') else ''}"
    bits = []
    if "purpose" in c:
        bits.append(label(lang, "purpose", c["purpose"]) if c["purpose"] else text(lang, "purpose_unknown"))
    if "lifetime" in c:
        bits.append(lifetime(lang, c["lifetime"]) or text(lang, "lifetime_unparsed"))
    if "seconds" in c:
        bits.append(duration(lang, c["seconds"]))
    if c.get("third_party"):
        bits.append(text(lang, "third_party"))
    return f"{name} ({', '.join(bits)})" if bits else name


def _cookies(lang: str, value) -> str:
    cookies = value.get("cookies", []) if isinstance(value, Mapping) else value
    more = value.get("more", 0) if isinstance(value, Mapping) else 0
    return ", ".join(_cookie(lang, c) for c in cookies) + _more(lang, more)


def _listed(lang: str, value) -> str:
    if isinstance(value, Mapping):
        return ", ".join(str(v) for v in value.get("items", [])) + _more(lang, value.get("more", 0))
    return ", ".join(str(v) for v in value or ())


def _countries_fmt(lang: str, values) -> str:
    return ", ".join(country(lang, c) for c in values or ()) or "–"


def _entities(lang: str, values) -> str:
    return " → ".join(f"{e['name']} ({country(lang, e.get('country'))})" for e in values or ())


def _cite(lang: str, c) -> str:
    """`` [source, as of date, mark]`` (what is known of it)."""
    if not c:
        return ""
    bits = [source_label(lang, c["source"])] if c.get("source") else []
    if c.get("as_of"):
        bits.append(text(lang, "cite_as_of", date=c["as_of"]))
    if c.get("mark"):
        bits.append(label(lang, "mark", c["mark"]))
    return f" [{', '.join(bits)}]" if bits else ""


def _items_fmt(lang: str, value) -> str:
    return render(lang, [Item.from_dict(v) if isinstance(v, Mapping) else v for v in value or ()])


def _date(lang: str, value) -> str:
    return str(value) if value else text(lang, "unknown")


def _parties(lang: str, values) -> str:
    return ", ".join(f"{e['name']} ({country(lang, e.get('country'))})" for e in values or ())


def _valid(lang: str, span) -> str:
    if not span:
        return ""
    return text(lang, "valid_span", start=span.get("from") or "…", end=span.get("to") or "…")


_SPECS = {
    "purposes": _codes("purpose"), "categories": _codes("data_category"), "role": _codes("role"),
    "state": _codes("consent_state"), "dpf": _codes("dpf_status"), "mark": _codes("mark"),
    "yes_no": _codes("yes_no"), "ip": _codes("ip_anonymisation"), "security": _codes("security"),
    "basis": _codes("decision_basis"),
    "cookies": _cookies, "list": _listed, "countries": _countries_fmt, "entities": _entities, "parties": _parties,
    "cite": _cite, "items": _items_fmt, "more": _more, "date": _date, "country": lambda lang, c: country(lang, c),
    "seconds": duration, "source": source_label, "valid": _valid,
    "n_sites": lambda lang, n: count(lang, int(n or 0), "site"),
    "run": lambda lang, r: text(lang, "run_paren", run=r) if r else "",
    "paren": lambda lang, s: f" ({source_label(lang, s)})" if s else "",
    "participant": lambda lang, p: text(lang, "participant", id=p) if p else text(lang, "no_participant"),
}


def _fmt(lang: str, template: str, params: Mapping[str, Any]) -> str:
    try:
        return _Formatter(lang).vformat(template, (), _Defaults(params))
    except (KeyError, IndexError, ValueError) as exc:
        raise GlossaryError(f"glossary {lang}: cannot format {template!r} with {dict(params)}: {exc}") from None


class _Defaults(dict):
    """Format parameters; a parameter a template does not get is empty (optional parts render as nothing)."""

    def __missing__(self, key):
        return None


def render_item(lang: str, it: Item) -> str:
    template = _section(lang, "evidence").get(it.code)
    if template is None:
        return it.code  # the page tests find untranslated codes
    return _fmt(lang, str(template), it.params)


def render(lang: str, items: Iterable[Item]) -> str:
    """An evidence line from its items in ``lang``: "; " between items, a space after one ending in ":"."""
    out = ""
    for it in items:
        part = render_item(lang, it)
        if not part:
            continue
        out += (" " if out.endswith(":") else "; ") + part if out else part
    return out


def check_text(lang: str, code: str, params: Mapping[str, Any] | None = None) -> str:
    """A "to check" item (``check.<code>``) in ``lang``."""
    template = _section(lang, "check").get(code)
    return code if template is None else _fmt(lang, str(template), params or {})
