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
from urllib.parse import quote

import jinja2
import yaml
from markupsafe import Markup

from pipelines import contract, glossary
from pipelines.catalog.load import Catalog
from pipelines.glossary import Item
from pipelines.publish import page_data as pd
from pipelines.publish.sections import company_ids, run_info, service_ids
from pipelines.publish.texts import BANDS, LABELS, LANG_NAMES, LANGS, label, percent

TEMPLATES = Path(__file__).resolve().parent / "templates"

# The only script on the site: sorts a table by a column when its header button is pressed (mouse or keyboard:
# Enter/Space on the focused button), numbers by data-value; aria-sort tells assistive technology the order.
SORTER_JS = (
    "document.querySelectorAll('th[data-sort] button').forEach(function(b){b.addEventListener('click',function(){"
    "var th=b.closest('th'),i=th.cellIndex,tb=th.closest('table').tBodies[0],num=th.dataset.sort==='num',"
    "asc=th.getAttribute('aria-sort')!=='ascending';"
    "th.closest('tr').querySelectorAll('th[aria-sort]').forEach(function(o){o.removeAttribute('aria-sort');});"
    "th.setAttribute('aria-sort',asc?'ascending':'descending');var rows=Array.prototype.slice.call(tb.rows);"
    "rows.sort(function(a,b){var x=a.cells[i],y=b.cells[i];"
    "var u=num?parseFloat(x.dataset.value):x.textContent.trim().toLowerCase(),"
    "v=num?parseFloat(y.dataset.value):y.textContent.trim().toLowerCase();"
    "return (u<v?-1:u>v?1:0)*(asc?1:-1);});rows.forEach(function(r){tb.appendChild(r);});});});"
)
SCRIPT_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(SORTER_JS.encode()).digest()).decode() + "'"

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]#+|~])")
# only what could start a tag, an autolink, an HTML comment or an entity is escaped; "->" or "a < b" stay as written
_MD_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_MD_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_WEB_URL = re.compile(r"^https?://[^\s<>\"']+$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class MdRaw(str):
    """Markdown the templates build themselves (a link target made of a slug): ``md_escape`` leaves it as is."""


def md_escape(value: Any) -> str:
    """Escape a value for Markdown text: Markdown's punctuation gets a backslash, and so do a ``<`` that could
    open a tag and an ``&`` that could form an entity, so no tag or entity survives a Markdown renderer; the
    text keeps its real characters (no HTML entities). A leading ``>`` (a quote) or list marker is escaped too."""
    if value is None:
        return ""
    if isinstance(value, MdRaw):
        return str(value)
    text = str(value).replace("\r", " ").replace("\n", " ")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _MD_ENTITY.sub(r"\\&", _MD_TAG_START.sub(r"\\<", text))
    return re.sub(r"^(\s*)([>=-])", r"\1\\\2", text)


def md_url(value: Any) -> MdRaw:
    """An outside link target for Markdown: a plain http(s) URL with the characters that would end or break a
    Markdown link (parentheses, spaces, angle brackets) percent-encoded; anything else becomes ``#``."""
    url = web_url(value)
    return MdRaw(quote(url, safe=":/?#[]@!$&'*+,;=%~-._") if url else "#")


def md_link(entity_id: str, folder: str, root: str = "../") -> MdRaw:
    """A relative Markdown link target to another KB page: ``../companies/<id>.md``."""
    return MdRaw(f"{root}{folder}/{quote(entity_id, safe='')}.md".replace("/./", "/"))


def _yes_no(lang: str):
    def yn(v):
        if v is None:
            return label(lang, "unknown")
        return glossary.label(lang, "yes_no", "true" if v else "false")
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
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False, finalize=md_escape,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["md_link"] = md_link
    env.filters["md_url"] = md_url
    return env


def _evidence(lang: str):
    def ev(items) -> str:
        return glossary.render(lang, [i if isinstance(i, Item) else Item.from_dict(i) for i in items or ()])
    return ev


def _globals(lang: str, root: str, disclaimer: str, path: str = "", description: str = "") -> dict[str, Any]:
    """What every template may use. ``path`` is the page's path inside ``site/`` (``services/x.html``): the
    other languages' versions sit at the same path under ``kb/<other>/site/`` (hreflang, language switch).
    Codes reach the reader only through ``G(kind, code)`` (the glossary's name), evidence through ``EV(items)``,
    "to check" items through ``CHK(check)``, countries through ``country(code)``, counts through ``count(n, unit)``
    ("1 Host", "3 Hosts") and catalog lifetimes through ``lifetime(text)``."""
    others = [{"lang": o, "name": LANG_NAMES[o], "href": f"{root}../../{o}/site/{path}"} for o in LANGS if o != lang]
    return {"lang": lang, "L": LABELS[lang], "T": lambda key, **kw: label(lang, key, **kw), "root": root,
            "bands": BANDS[lang], "disclaimer": disclaimer, "script_hash": Markup(SCRIPT_HASH), "yn": _yes_no(lang),
            "pc": lambda v: percent(v, lang), "description": description, "path": path, "others": others,
            "G": lambda kind, code: glossary.label(lang, kind, code), "EV": _evidence(lang),
            "GL": lambda kind, codes: ", ".join(glossary.label(lang, kind, c) for c in codes or ()) or label(lang, "none"),
            "CHK": lambda c: glossary.check_text(lang, c["code"], c.get("params")),
            "country": lambda code: glossary.country(lang, code), "count": lambda n, unit: glossary.count(lang, n, unit),
            "lifetime": lambda text: glossary.lifetime(lang, text) if text else None,
            "source_label": lambda src: glossary.source_label(lang, src),
            "num": lambda v: glossary.number(lang, v, 0)}


def description(page: dict[str, Any]) -> str:
    """The page's one-sentence description (meta description, front matter), in its language."""
    lang, kind = page["lang"], page["kind"]
    date = (page.get("as_of") or {}).get("run_date") or label(lang, "unknown")
    if kind == "service":
        risk = page["consent"] or {}
        share = page["prevalence"]["share"]
        return label(lang, "description_service", name=page["name"], date=date,
                     consent=glossary.label(lang, "consent", risk.get("consent_required")),
                     band=glossary.label(lang, "band", risk.get("band")),
                     share=percent(share, lang) if share is not None else label(lang, "not_measured"))
    if kind == "company":
        return label(lang, "description_company", name=page["name"], date=date)
    return label(lang, f"description_{kind}", date=date)


def safe_name(entity_id: str) -> str:
    """A file name for an id (ids are catalog slugs; anything else is refused rather than written)."""
    if not _SAFE_ID.match(entity_id or ""):
        raise ValueError(f"unsafe id for a file name: {entity_id!r}")
    return entity_id


def _page_globals(page: dict, root: str, path: str) -> dict[str, Any]:
    return _globals(page["lang"], root, page["disclaimer"], path, description(page))


def render_service_html(page: dict) -> str:
    return _html_env().get_template("service.html").render(
        p=page, **_page_globals(page, "../", f"services/{quote(page['id'], safe='')}.html"))


def render_company_html(page: dict) -> str:
    return _html_env().get_template("company.html").render(
        p=page, **_page_globals(page, "../", f"companies/{quote(page['id'], safe='')}.html"))


def render_index_html(page: dict) -> str:
    return _html_env().get_template("index.html").render(p=page, sorter=Markup(SORTER_JS),
                                                         **_page_globals(page, "", "index.html"))


def slug(text: str, seen: dict[str, int] | None = None) -> str:
    """A heading's anchor as GitHub, MkDocs and Hugo make it: lower case, punctuation dropped, spaces to hyphens
    (``Deviations from legal-facts.md §6`` -> ``deviations-from-legal-factsmd-6``); repeats get ``-1``, ``-2`` …"""
    base = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
    if seen is None:
        return base
    n = seen.get(base, 0)
    seen[base] = n + 1
    return base if n == 0 else f"{base}-{n}"


def methodology_html_body(markdown: str) -> str:
    """The methodology's Markdown as HTML, every heading with the id its in-page links use."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(markdown)
    seen: dict[str, int] = {}
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            tok.attrSet("id", slug(tokens[i + 1].content, seen))
        for child in tok.children or ():
            if child.type == "link_open" and web_url(child.attrGet("href")):
                child.attrSet("rel", "noopener noreferrer")  # outside sources: no referrer, like every other page
    html = md.renderer.render(tokens, md.options, {})
    return html.replace("<table>", '<div class="table-wrap" tabindex="0"><table>').replace("</table>", "</table></div>")


def methodology_markdown(page: dict) -> str:
    """The methodology page's Markdown body in its language (``templates/methodology_<lang>.md`` over the rubric's
    data from :func:`pipelines.publish.page_data.methodology_data`)."""
    return _md_env().get_template(f"methodology_{page['lang']}.md").render(
        p=page, **_globals(page["lang"], "", page["disclaimer"]))


def render_methodology_html(page: dict) -> str:
    body = methodology_html_body(methodology_markdown(page))
    return _html_env().get_template("methodology.html").render(body=Markup(body),
                                                               **_page_globals(page, "", "methodology.html"))


def _common_front_matter(page: dict, key: str, title: str, rel: str) -> dict[str, Any]:
    """Keys every Markdown page has: title, description, lang, date (the run's), the translation key that pairs
    the page with its other-language versions (Hugo's ``translationKey``) and their relative paths (``rel`` is
    the page's path under ``kb/<lang>/``)."""
    up = "../" * (rel.count("/") + 1)
    return {"title": title, "description": description(page), "lang": page["lang"],
            "date": (page.get("as_of") or {}).get("run_date"), "translationKey": key,
            "translations": {o: f"{up}{o}/{rel}" for o in LANGS if o != page["lang"]}}


def front_matter(page: dict) -> dict[str, Any]:
    """The YAML front matter of a service's Markdown page (plain values; YAML-quoted by the dumper)."""
    risk = page["consent"] or {}
    company = page["company"] or {}
    prev = page["prevalence"]
    fm = {**_common_front_matter(page, f"service-{page['id']}", page["name"], f"services/{safe_name(page['id'])}.md"),
          "id": page["id"], "category": page["category"],
          "consent_required": risk.get("consent_required"), "risk_score": risk.get("score"),
          "band": risk.get("band"), "company": company.get("id"), "us_jurisdiction": company.get("us_jurisdiction"),
          "dpf_status": (company.get("dpf") or {}).get("status"), "share": prev["share"],
          "share_ci": [prev["ci_low"], prev["ci_high"]] if prev["share"] is not None else None,
          "run_id": page["as_of"]["run_id"], "run_date": page["as_of"]["run_date"],
          "schema_version": contract.SCHEMA_VERSION}
    return contract.spell_unknown(fm, contract.FRONT_MATTER_TRI_STATES)


def _with_front_matter(fm: dict[str, Any], body: str) -> str:
    return f"---\n{yaml.safe_dump(fm, allow_unicode=True, sort_keys=False)}---\n\n{body}"


def render_service_md(page: dict) -> str:
    body = _md_env().get_template("service.md").render(p=page, **_globals(page["lang"], "../", page["disclaimer"]))
    return _with_front_matter(front_matter(page), body)


def render_company_md(page: dict) -> str:
    body = _md_env().get_template("company.md").render(p=page, **_globals(page["lang"], "../", page["disclaimer"]))
    fm = {**_common_front_matter(page, f"company-{page['id']}", page["name"], f"companies/{safe_name(page['id'])}.md"),
          "id": page["id"], "us_jurisdiction": page["us_jurisdiction"], "dpf_status": page["dpf"]["status"]}
    return _with_front_matter(contract.spell_unknown(fm, contract.FRONT_MATTER_TRI_STATES), body)


def render_index_md(page: dict) -> str:
    body = _md_env().get_template("index.md").render(p=page, **_globals(page["lang"], "", page["disclaimer"]))
    return _with_front_matter(_common_front_matter(page, "index", label(page["lang"], "index_title"), "index.md"), body)


def render_methodology_md(page: dict, run: dict) -> str:
    """The methodology as a Markdown page of the language's tree."""
    fm = _common_front_matter({**page, "as_of": run}, "methodology", label(page["lang"], "methodology"),
                              "methodology.md")
    return _with_front_matter(fm, methodology_markdown(page))


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
        run = run_info(con)
        result = BuildResult(root=final, lang=lang)
        site = tmp / lang / "site"
        linked: set[str] = set()
        for sid in service_ids(con):
            name = safe_name(sid)
            page = pd.service_page_data(con, catalog, sid, lang, run=run)
            _write(site / "services" / f"{name}.html", render_service_html(page))
            _write(tmp / lang / "services" / f"{name}.md", render_service_md(page))
            data = page if lang == "en" else pd.service_page_data(con, catalog, sid, "en", run=run)
            service = catalog.by_id.get(sid)
            data = {**data, "editorial": ({k: getattr(service.editorial, k) or None
                                           for k in ("what_de", "what_en", "why_de", "why_en")} if service else None)}
            _write(tmp / "json" / f"{name}.json",
                   json.dumps(contract.kb_service_json(data), ensure_ascii=False, indent=1, sort_keys=True,
                              default=_json_default))
            result.services.append(sid)
            linked.update(c["id"] for c in ([page["company"]] if page["company"] else []))
        # every company of the run, and every company a service page links to (self-hosted services name the
        # site operator, which no company row of the run holds)
        for cid in sorted(set(company_ids(con)) | linked):
            name = safe_name(cid)
            company = pd.company_page_data(con, catalog, cid, lang, run=run)
            _write(site / "companies" / f"{name}.html", render_company_html(company))
            _write(tmp / lang / "companies" / f"{name}.md", render_company_md(company))
            result.companies.append(cid)
        index = pd.index_data(con, catalog, lang, run=run)
        _write(site / "index.html", render_index_html(index))
        _write(tmp / lang / "index.md", render_index_md(index))
        methodology = pd.methodology_data(lang)
        _write(site / "methodology.html", render_methodology_html(methodology))
        _write(tmp / lang / "methodology.md", render_methodology_md(methodology, run))
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
