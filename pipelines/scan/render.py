"""Render a scan's page data (``pipelines.scan.report.scan_data``) as JSON, a self-contained HTML page and a
terminal summary. Crawled strings are escaped by Jinja's autoescape (HTML) and by rich's markup escaping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2
from rich.console import Console
from rich.markup import escape

from crawler.paths import write_text_atomic as _write
from pipelines import glossary
from pipelines.catalog.coverage import NOT_MENTIONED
from pipelines.contract import scan_report_json
from pipelines.scan.report import POLICY_DIR
from pipelines.scan.texts import band_label, dpf_label, embedding_labels, pass_label, scan_label, yes_no

TEMPLATES = Path(__file__).resolve().parent / "templates"
_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
                          keep_trailing_newline=True)


def unmentioned(data: dict[str, Any]) -> int:
    return sum(1 for s in data["services"] if s["policy"]["status"] == NOT_MENTIONED)


def _helpers(lang: str) -> dict[str, Any]:
    return {"lang": lang, "L": lambda key, **kw: scan_label(lang, key, **kw), "yn": lambda v: yes_no(lang, v),
            "band": lambda b: band_label(lang, b), "dpf": lambda v: dpf_label(lang, v),
            "code": lambda kind, c, default=None: glossary.label(lang, kind, c, default),
            "country": lambda c: glossary.country(lang, c),
            "countries": lambda cs: ", ".join(glossary.country(lang, c) for c in cs or ()),
            "pass_": lambda r: pass_label(lang, r.get("method"), r.get("consent_state"), r.get("signal")),
            "emb": lambda e: embedding_labels(lang, e)}


def without_gate(data: dict[str, Any]) -> int:
    """Services the site loads without a consent gate (site_services.loads_without_gate)."""
    return sum(1 for s in data["services"] if s.get("loads_without_gate"))


def render_html(data: dict[str, Any], lang: str) -> str:
    return _ENV.get_template("scan.html").render(d=data, unmentioned=unmentioned(data), dns=dns_outcomes(data, lang),
                                                 without=without_gate(data), **_helpers(lang))


def render_evidence(finding: dict[str, Any], lang: str) -> str:
    """One finding's evidence page (``evidence/<kind>/<key>.html``)."""
    return _ENV.get_template("evidence.html").render(e=finding, **_helpers(lang))


def write_evidence_pages(pack: dict[str, Any], scan_dir: Path, lang: str) -> list[Path]:
    """The evidence pack as JSON and HTML files under ``scan_dir/evidence/``."""
    from pipelines.scan.evidence import write_evidence

    return write_evidence(pack, scan_dir, lambda finding: render_evidence(finding, lang))


def write_policy_blocks(data: dict[str, Any], scan_dir: Path) -> None:
    """Draft privacy-policy blocks (de and en) under ``scan_dir/policy/`` for the services the report links one
    for (those the site's policy does not name), with the scan's own verdicts and day."""
    from pipelines.catalog.refdata import catalog_with_long_tail
    from pipelines.policy.blocks import scan_day, scan_verdicts, write_blocks

    ids = [s["service_id"] for s in data["services"] if s["policy"].get("blocks")]
    if ids:
        catalog, _ = catalog_with_long_tail()
        write_blocks(catalog, ids, scan_dir / POLICY_DIR, day=scan_day(data), verdicts=scan_verdicts(data))


def dns_outcomes(data: dict[str, Any], lang: str) -> str:
    """``Zeitüberschreitung 3, Fehler des Nameservers 1``: how the scan's DNS lookups ended, in ``lang``."""
    return ", ".join(f"{glossary.label(lang, 'dns_outcome', o)} {n}" for o, n in data["dns"]["outcomes"].items())


def write_report(data: dict[str, Any], scan_dir: Path, lang: str) -> tuple[Path, Path]:
    """``report.json`` and ``report.html`` in ``scan_dir`` (each written under a temporary name, then renamed)."""
    json_path, html_path = scan_dir / "report.json", scan_dir / "report.html"
    _write(json_path, json.dumps(scan_report_json(data), ensure_ascii=False, indent=2, default=str) + "\n")
    _write(html_path, render_html(data, lang))
    return json_path, html_path


def print_report(data: dict[str, Any], console: Console, lang: str) -> None:
    """A terminal summary: the services table, cloaked subdomains and the policy coverage."""
    L = lambda key, **kw: scan_label(lang, key, **kw)  # noqa: E731
    if data["dns"]["no_resolver"]:
        console.print(f"[red]{escape(L('no_resolver', outcomes=dns_outcomes(data, lang)))}[/red]")
    if not data["reachable"]:
        f = data["failure"]
        console.print(f"[red]{escape(L('unreachable', domain=data['domain'], outcome=f['outcome'], error_class=f['error_class'] or L('unknown')))}[/red]")
        if f.get("detail"):
            console.print(escape(f["detail"]))
        for a in f.get("attempts") or []:
            console.print(f"  {escape(a)}")
        return
    console.print(f"[bold]{escape(L('title', domain=data['domain']))}[/bold] — {L('services')}: {len(data['services'])}")
    if (data.get("site") or {}).get("cross_site_redirect"):
        console.print(f"[yellow]{escape(L('redirected', url=data['site']['final_url'] or ''))}[/yellow]")
    if not data["services"]:
        console.print(L("no_services"))
    colours = {"very_high": "bold red", "high": "red", "medium": "yellow", "low": "green"}
    for s in data["services"]:
        band = s.get("band")
        verdict = (f"[{colours.get(band, 'white')}]{band_label(lang, band)}[/] · {L('consent')}: "
                   f"{yes_no(lang, s.get('consent_required'))}") if band else L("not_assessed")
        console.print(f"\n[bold]{escape(s['name'])}[/bold] ({escape(s['service_id'])}) {verdict}")
        chain = [f"{s.get('company_name') or L('unknown')} ({s.get('company_country') or '?'})"]
        chain += [f"{p['name']} ({p['country']})" for p in s.get("parents") or []]
        us = s.get("us_entity")
        us_text = (f"{L('dpf')} {us['name']}: {dpf_label(lang, us.get('dpf_status'))}" if us
                   else f"{L('us')}: {yes_no(lang, s.get('company_us_jurisdiction'))}")
        console.print(f"  {L('embedding')}: {embedding_labels(lang, s.get('embeddings'))} · {L('without_gate')}: "
                      f"{yes_no(lang, s.get('loads_without_gate'))}")
        console.print(f"  {L('countries')}: {', '.join(s['server_countries']) or L('unknown')}")
        console.print(f"  {L('company')}: {escape(' → '.join(chain))} · {escape(us_text)}")
        if data.get("mode") == "browser" and s.get("fires_before_consent") is not None:
            finding = s["service_id"] in (data.get("before_consent") or {}).get("needs_consent", [])
            flags = [f"{L('before_consent')}: {yes_no(lang, s.get('fires_before_consent'))}"
                     + (f" ({L('before_consent_finding')})" if finding else "")]
            for key, col in (("after_reject", "fires_after_reject"), ("with_gpc", "fires_with_gpc")):
                if s.get(col) is not None:
                    flags.append(f"{L(key)}: {yes_no(lang, s.get(col))}")
            if s.get("browser_only"):
                flags.append(L("browser_only"))
            console.print("  " + " · ".join(flags))
        pol = s["policy"]
        term = f" („{escape(pol['term'])}“)" if pol.get("term") else ""
        style = "bold red" if pol["status"] == NOT_MENTIONED else "white"
        console.print(f"  {L('policy')}: [{style}]{L(pol['status'])}[/]{term}")
    n = unmentioned(data)
    console.print()
    if data["services"]:
        console.print(L("summary_embedded", n=len(data["services"]), without=without_gate(data)))
    if data.get("mode") == "browser":
        console.print(f"{L('cmp')}: {escape(data.get('cmp') or L('no_cmp'))}")
        b = data.get("before_consent") or {}
        if b.get("loads"):
            console.print(f"[bold red]{L('summary_before_consent', loads=len(b['loads']), needs=len(b['needs_consent']))}"
                          "[/bold red]")
    if n:
        console.print(f"[bold red]{L('summary_unmentioned', n=n)}[/bold red]")
    if not data["policy"]["pages"]:
        console.print(f"[yellow]{L('no_policy_page')}[/yellow]")
    if data["cloaking"]:
        console.print(f"[bold]{L('cloaking')}[/bold]")
        for c in data["cloaking"]:
            console.print(f"  {escape(c['host'])} → {escape(c['cname_target'] or '')} ({escape(c['tracker'] or '')})")
