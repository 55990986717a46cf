"""Render the knowledge base from page-data dicts into ``OUT/kb/``: Markdown with YAML front matter, a
self-contained static HTML site (no external fonts, scripts, images or CDNs) and one JSON file per service.

Layout: ``kb/<lang>/services/<id>.md``, ``kb/<lang>/site/{index,methodology}.html``,
``kb/<lang>/site/services/<id>.html``, ``kb/<lang>/site/companies/<id>.html``, ``kb/json/<id>.json``.
The tree is built in a temporary folder next to ``kb/`` and swapped in by rename; the other language's
folder of an earlier build is carried over unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml
from markupsafe import Markup

from pipelines.catalog.load import Catalog
from pipelines.publish import page_data as pd
from pipelines.publish.texts import BANDS, LABELS, LANGS, label, percent

TEMPLATES = Path(__file__).resolve().parent / "templates"

# The only script on the site: sorts the index table by the clicked column (numbers by data-value).
SORTER_JS = (
    "document.querySelectorAll('th[data-sort]').forEach(function(th,i){th.addEventListener('click',function(){"
    "var tb=th.closest('table').tBodies[0],num=th.dataset.sort==='num',asc=th.dataset.dir!=='asc';"
    "th.dataset.dir=asc?'asc':'desc';var rows=Array.prototype.slice.call(tb.rows);"
    "rows.sort(function(a,b){var x=a.cells[i],y=b.cells[i];"
    "var u=num?parseFloat(x.dataset.value):x.textContent.trim().toLowerCase(),"
    "v=num?parseFloat(y.dataset.value):y.textContent.trim().toLowerCase();"
    "return (u<v?-1:u>v?1:0)*(asc?1:-1);});rows.forEach(function(r){tb.appendChild(r);});});});"
)
SCRIPT_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(SORTER_JS.encode()).digest()).decode() + "'"

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#+|~&])")
_WEB_URL = re.compile(r"^https?://[^\s<>\"']+$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def md_escape(value: Any) -> str:
    """Escape a value for Markdown text: every character Markdown or inline HTML could act on gets a backslash
    (``<`` ``>`` ``&`` become entities, so no tag or entity survives a Markdown renderer)."""
    if value is None:
        return ""
    text = str(value).replace("\r", " ").replace("\n", " ")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("\\&", "&amp;").replace("\\<", "&lt;").replace("\\>", "&gt;")


def _yes_no(lang: str):
    def yn(v):
        if v is None:
            return label(lang, "unknown")
        return label(lang, "true" if v else "false")
    return yn


def web_url(value: Any) -> str | None:
    """``value`` if it is a plain http(s) URL (the only links the site makes to the outside), else None."""
    text = str(value or "")
    return text if _WEB_URL.match(text) else None


def _html_env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=False, lstrip_blocks=False)
    env.filters["web_url"] = web_url
    return env


def _md_env() -> jinja2.Environment:
    # finalize escapes every {{ }} output: crawled and catalog strings can never become Markdown/HTML markup
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False, finalize=md_escape,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def _globals(lang: str, root: str, disclaimer: str) -> dict[str, Any]:
    return {"lang": lang, "L": LABELS[lang], "T": lambda key, **kw: label(lang, key, **kw), "root": root,
            "bands": BANDS[lang], "disclaimer": disclaimer, "script_hash": Markup(SCRIPT_HASH), "yn": _yes_no(lang),
            "pc": lambda v: percent(v, lang)}


def safe_name(entity_id: str) -> str:
    """A file name for an id (ids are catalog slugs; anything else is refused rather than written)."""
    if not _SAFE_ID.match(entity_id or ""):
        raise ValueError(f"unsafe id for a file name: {entity_id!r}")
    return entity_id


def render_service_html(page: dict) -> str:
    return _html_env().get_template("service.html").render(p=page, **_globals(page["lang"], "../", page["disclaimer"]))


def render_company_html(page: dict) -> str:
    return _html_env().get_template("company.html").render(p=page, **_globals(page["lang"], "../", page["disclaimer"]))


def render_index_html(page: dict) -> str:
    return _html_env().get_template("index.html").render(p=page, sorter=Markup(SORTER_JS),
                                                         **_globals(page["lang"], "", page["disclaimer"]))


def render_methodology_html(page: dict) -> str:
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(page["markdown"])
    return _html_env().get_template("methodology.html").render(body=Markup(body),
                                                               **_globals(page["lang"], "", page["disclaimer"]))


def front_matter(page: dict) -> dict[str, Any]:
    """The YAML front matter of a service's Markdown page (plain values; YAML-quoted by the dumper)."""
    risk = page["consent"] or {}
    company = page["company"] or {}
    prev = page["prevalence"]
    return {"id": page["id"], "title": page["name"], "lang": page["lang"], "category": page["category"],
            "consent_required": risk.get("consent_required"), "risk_score": risk.get("score"),
            "band": risk.get("band"), "company": company.get("id"), "us_jurisdiction": company.get("us_jurisdiction"),
            "dpf_status": (company.get("dpf") or {}).get("status"), "share": prev["share"],
            "share_ci": [prev["ci_low"], prev["ci_high"]] if prev["share"] is not None else None,
            "run_id": page["as_of"]["run_id"], "run_date": page["as_of"]["run_date"]}


def render_service_md(page: dict) -> str:
    body = _md_env().get_template("service.md").render(p=page, **_globals(page["lang"], "", page["disclaimer"]))
    fm = yaml.safe_dump(front_matter(page), allow_unicode=True, sort_keys=False)
    return f"---\n{fm}---\n\n{body}"


def _json_default(value: Any) -> str:
    return str(value)


@dataclass
class BuildResult:
    root: Path
    lang: str
    services: list[str] = field(default_factory=list)
    companies: list[str] = field(default_factory=list)

    @property
    def index_html(self) -> Path:
        return self.root / self.lang / "site" / "index.html"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def build_kb(con, catalog: Catalog, out: Path, lang: str = "de") -> BuildResult:
    """Render every service and company of the newest run, the index and the methodology into ``out/kb/``.

    Writes into a temporary sibling folder and swaps it in with renames, so readers never see a half-built
    tree; a failure leaves the previous ``kb/`` untouched. Raises ``ValueError`` for an unknown ``lang``.
    """
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r} (choose from {', '.join(LANGS)})")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    final = out / "kb"
    tmp = Path(tempfile.mkdtemp(prefix=".kb-tmp-", dir=out))
    try:
        run = pd.run_info(con)
        result = BuildResult(root=final, lang=lang)
        site = tmp / lang / "site"
        for sid in pd.service_ids(con):
            name = safe_name(sid)
            page = pd.service_page_data(con, catalog, sid, lang, run=run)
            _write(site / "services" / f"{name}.html", render_service_html(page))
            _write(tmp / lang / "services" / f"{name}.md", render_service_md(page))
            data = page if lang == "en" else pd.service_page_data(con, catalog, sid, "en", run=run)
            service = catalog.by_id.get(sid)
            data = {**data, "editorial": ({k: getattr(service.editorial, k) or None
                                           for k in ("what_de", "what_en", "why_de", "why_en")} if service else None)}
            _write(tmp / "json" / f"{name}.json",
                   json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True, default=_json_default))
            result.services.append(sid)
        for cid in pd.company_ids(con):
            name = safe_name(cid)
            _write(site / "companies" / f"{name}.html",
                   render_company_html(pd.company_page_data(con, catalog, cid, lang, run=run)))
            result.companies.append(cid)
        _write(site / "index.html", render_index_html(pd.index_data(con, catalog, lang, run=run)))
        _write(site / "methodology.html", render_methodology_html(pd.methodology_data(lang)))
        # carry the other language over from the previous build
        for other in LANGS:
            if other != lang and (final / other).is_dir():
                shutil.copytree(final / other, tmp / other)
        old = None
        if final.exists():
            old = out / f".kb-old-{tmp.name[8:]}"
            final.rename(old)
        tmp.rename(final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return result
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
