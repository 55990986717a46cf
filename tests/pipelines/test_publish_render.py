"""Rendering the knowledge base: every section in both languages, crawled strings inert, no external resource."""

from __future__ import annotations

import copy
import json
import re

import pytest
from click.testing import CliRunner
from lxml import html as lxml_html
from markdown_it import MarkdownIt

from pipelines.catalog.load import load_catalog
from pipelines.publish import page_data as pd
from pipelines.publish import render
from pipelines.publish.command import kb
from pipelines.publish.texts import LABELS, label
from pipelines.risk.model import DISCLAIMER
from pipelines.warehouse import connect
from tests.pipelines.test_publish_fixture import HOSTILE_COOKIES, IMG, RUN, SCRIPT, write_publish_runs

# the seed's structure: (section id, heading label), in page order
SERVICE_SECTIONS = (("what", "what"), ("why", "why"), ("data", "data"), ("legal", "legal_basis"),
                    ("consent", "when_consent"), ("conditions", "checklist"), ("ip", "ip"), ("location", "location"),
                    ("company", "company"), ("prevalence", "prevalence"), ("privacy-policy", "policy_section"),
                    ("why-consent", "why_consent"), ("conclusion", "conclusion"), ("sources", "sources"),
                    ("scan", "scan"))


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def built(tmp_path_factory, catalog):
    out = tmp_path_factory.mktemp("publish-kb")
    warehouse = write_publish_runs(out)
    con = connect(warehouse)
    try:
        render.build_kb(con, catalog, out, "en")
        result = render.build_kb(con, catalog, out, "de")
    finally:
        con.close()
    return out, result


def _heading(lang: str, key: str) -> str:
    return label(lang, key, name="Hotjar")


def _html_files(out):
    return sorted((out / "kb").glob("*/site/**/*.html"))


def test_layout_and_atomic_swap(built):
    out, result = built
    kb_dir = out / "kb"
    assert result.index_html == kb_dir / "de" / "site" / "index.html"
    for lang in ("de", "en"):  # building de kept the earlier en build
        assert (kb_dir / lang / "site" / "index.html").is_file()
        assert (kb_dir / lang / "site" / "methodology.html").is_file()
        assert (kb_dir / lang / "site" / "companies" / "hotjar-ltd.html").is_file()
        assert sorted(p.stem for p in (kb_dir / lang / "services").glob("*.md")) == sorted(result.services)
    assert sorted(p.stem for p in (kb_dir / "json").glob("*.json")) == sorted(result.services)
    assert not [p for p in out.iterdir() if p.name.startswith(".kb-")]


@pytest.mark.parametrize("lang", ["de", "en"])
def test_service_html_has_every_section(built, lang):
    out, _ = built
    doc = lxml_html.fromstring((out / "kb" / lang / "site" / "services" / "hotjar.html").read_bytes())
    assert doc.get("lang") == lang
    for section_id, key in SERVICE_SECTIONS:
        section = doc.get_element_by_id(section_id)
        assert section.find("h2").text_content() == _heading(lang, key)
    assert [s.get("id") for s in doc.xpath("//main/section")] == [i for i, _ in SERVICE_SECTIONS]
    assert DISCLAIMER[lang] in doc.get_element_by_id("disclaimer").text_content()
    assert doc.xpath("//section[@id='prevalence']//svg")  # the inline chart
    policy = doc.get_element_by_id("policy").getnext().text_content()  # blog-b.de's policy names Hotjar
    hundred = {"de": "100,0 %", "en": "100.0 %"}[lang]  # German writes a decimal comma
    assert policy.startswith(f"{LABELS[lang]['policy_named']}: {hundred} (1/1)"), policy


@pytest.mark.parametrize("lang", ["de", "en"])
def test_service_markdown_has_front_matter_and_every_section(built, lang):
    import yaml

    out, _ = built
    text = (out / "kb" / lang / "services" / "hotjar.md").read_text(encoding="utf-8")
    _, fm, body = text.split("---\n", 2)
    meta = yaml.safe_load(fm)
    assert meta["id"] == "hotjar" and meta["lang"] == lang and meta["consent_required"] == "yes"
    headings = [line[3:] for line in body.splitlines() if line.startswith("## ")]
    expected = [render.md_escape(_heading(lang, k)) for _, k in SERVICE_SECTIONS] + [LABELS[lang]["disclaimer"]]
    assert headings == expected
    assert DISCLAIMER[lang].split(":")[0] in body


def test_json_per_service(built, catalog):
    out, _ = built
    data = json.loads((out / "kb" / "json" / "hotjar.json").read_text(encoding="utf-8"))
    assert data["id"] == "hotjar" and data["consent"]["consent_required"] == "yes"
    assert set(data["editorial"]) == {"what_de", "what_en", "why_de", "why_en"}


@pytest.mark.parametrize("lang", ["de", "en"])
def test_index_and_company_pages(built, lang):
    out, _ = built
    site = out / "kb" / lang / "site"
    doc = lxml_html.fromstring((site / "index.html").read_bytes())
    headers = [th.text_content() for th in doc.xpath("//table[@id='services-table']//th[@data-sort]")]
    assert headers == [LABELS[lang][k] for k in ("service", "category", "company_name", "recipient_jurisdiction",
                                                 "main_server_country", "share", "consent_short", "band")]
    assert "hotjar-ltd" in " ".join(doc.xpath("//tbody//a/@href"))  # company pages are linked
    assert p_run_id_only_in_footer(doc)
    assert "Hotjar" in [a.text_content() for a in doc.xpath("//tbody//a")]
    company = lxml_html.fromstring((site / "companies" / "hotjar-ltd.html").read_bytes())
    assert company.get_element_by_id("company").find("h2").text_content() == LABELS[lang]["company"]
    method = lxml_html.fromstring((site / "methodology.html").read_bytes())
    assert method.xpath("//article[@id='methodology']/h1")


def p_run_id_only_in_footer(doc) -> bool:
    """The internal run id is shown in the footer, never in the visible header or main content."""
    main, footer = doc.xpath("//main")[0].text_content(), doc.xpath("//footer")[0].text_content()
    return RUN not in main and RUN in footer


def _assert_inert(doc, allow_scripts: int) -> None:
    scripts = doc.xpath("//script")
    assert len(scripts) == allow_scripts
    for s in scripts:
        assert s.text == render.SORTER_JS
    assert not doc.xpath("//img")
    assert not doc.xpath("//*[@*[starts-with(name(), 'on')]]")


def test_crawled_strings_are_inert_in_html(built):
    out, _ = built
    for path in _html_files(out):
        doc = lxml_html.fromstring(path.read_bytes())
        _assert_inert(doc, 1 if path.name == "index.html" else 0)
    page = (out / "kb" / "en" / "site" / "services" / "hotjar.html").read_bytes()
    seen = lxml_html.fromstring(page).xpath("//section[@id='data']//code/text()")
    assert set(HOSTILE_COOKIES) <= set(seen)  # shown as text, verbatim


def _inert_markdown(text: str) -> None:
    rendered = MarkdownIt("commonmark", {"html": True}).render(text)
    doc = lxml_html.fromstring(f"<div>{rendered}</div>")
    assert not doc.xpath("//script | //img | //*[@*[starts-with(name(), 'on')]]")


def test_crawled_strings_are_inert_in_markdown(built):
    out, _ = built
    text = (out / "kb" / "en" / "services" / "hotjar.md").read_text(encoding="utf-8")
    assert "_hjSession" in text
    _inert_markdown(text.split("---\n", 2)[2])


def _poison(value):
    """Replace every string in a page dict by a payload (keeps the structure and non-string values)."""
    if isinstance(value, str):
        return f"{SCRIPT}{IMG}[x](javascript:alert(1))"
    if isinstance(value, dict):
        return {k: (v if k in ("lang", "kind") else _poison(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_poison(v) for v in value]
    return value


def test_every_field_is_escaped(tmp_path, catalog):
    warehouse = write_publish_runs(tmp_path)
    con = connect(warehouse)
    try:
        service = _poison(pd.service_page_data(con, catalog, "hotjar", "en"))
        company = _poison(pd.company_page_data(con, catalog, "hotjar-ltd", "en"))
        index = _poison(pd.index_data(con, catalog, "en"))
    finally:
        con.close()
    service["id"] = "hotjar"
    for key in ("share", "ci_low", "ci_high"):
        assert isinstance(service["prevalence"][key], float)
    _assert_inert(lxml_html.fromstring(render.render_service_html(copy.deepcopy(service))), 0)
    _assert_inert(lxml_html.fromstring(render.render_company_html(company)), 0)
    _assert_inert(lxml_html.fromstring(render.render_index_html(index)), 1)
    md = render.render_service_md(service)
    _inert_markdown(md.split("---\n", 2)[2])
    hrefs = lxml_html.fromstring(render.render_service_html(service)).xpath("//a/@href")
    assert not [h for h in hrefs if h.strip().lower().startswith("javascript:")]
    assert not [h for h in hrefs if "<" in h or '"' in h]  # internal links are URL-encoded


@pytest.mark.parametrize("lang", ["de", "en"])
def test_self_hosted_service_has_no_share_to_miss(built, lang):
    out, _ = built
    doc = lxml_html.fromstring((out / "kb" / lang / "site" / "services" / "matomo-self-hosted.html").read_bytes())
    text = doc.get_element_by_id("policy").getnext().text_content()
    assert text == label(lang, "policy_self_hosted_service", named="0", n="1")  # blog-b.de's policy omits it
    assert label(lang, "policy_self_hosted_service", named="0", n="1") in (
        out / "kb" / lang / "services" / "matomo-self-hosted.md").read_text(encoding="utf-8")


def test_percent_follows_the_language():
    from pipelines.publish.texts import percent

    assert (percent(0.682, "de"), percent(0.682, "en")) == ("68,2 %", "68.2 %")
    assert (percent(1 / 3, "de"), percent(0.0, "en"), percent(1.0, "de", 0)) == ("33,3 %", "0.0 %", "100 %")


def test_german_pages_write_decimal_commas(built):
    out, _ = built
    doc_text = (out / "kb" / "de" / "site" / "services" / "hotjar.html").read_text(encoding="utf-8")
    assert "33,3 %" in doc_text and "33.3 %" not in doc_text  # hotjar on 1 of 3 ok sites
    assert "33.3 %" in (out / "kb" / "en" / "site" / "services" / "hotjar.html").read_text(encoding="utf-8")
    assert "33,3 %" in (out / "kb" / "de" / "services" / "hotjar.md").read_text(encoding="utf-8")


def test_web_url_filter():
    assert render.web_url("https://help.hotjar.com/") == "https://help.hotjar.com/"
    assert render.web_url("javascript:alert(1)") is None
    assert render.web_url('https://x.de/"><script>') is None


_URL = re.compile(r"^\s*(https?:)?//", re.I)


def test_no_external_resources(built):
    out, _ = built
    for path in _html_files(out):
        raw = path.read_text(encoding="utf-8")
        doc = lxml_html.fromstring(raw.encode())
        assert not doc.xpath("//link[not(@rel='alternate')] | //iframe | //object | //embed | //img | //script[@src]"), path
        for alt in doc.xpath("//link[@rel='alternate']/@href"):  # hreflang: the page in the other language, a file
            assert not _URL.match(alt) and alt.endswith(".html"), (path, alt)
        for el in doc.iter():
            for attr in ("src", "srcset", "data", "poster", "action", "formaction", "background"):
                assert not el.get(attr), (path, el.tag, attr)
            href = el.get("href") or el.get("{http://www.w3.org/1999/xlink}href")
            if href and _URL.match(href):
                assert el.tag == "a", (path, el.tag, href)
                assert el.xpath("ancestor::section[@id='sources' or @id='facts'] | ancestor::article[@id='methodology']"), (path, href)
                assert "noreferrer" in (el.get("rel") or "")
        for style in doc.xpath("//style/text()") + doc.xpath("//@style"):
            assert "url(" not in style and "@import" not in style
        assert "Content-Security-Policy" in raw


def test_sources_are_plain_links(built):
    out, _ = built
    doc = lxml_html.fromstring((out / "kb" / "en" / "site" / "services" / "hotjar.html").read_bytes())
    links = doc.xpath("//section[@id='sources']//a/@href")
    assert "https://help.hotjar.com/" in links


def test_unsafe_id_is_refused():
    with pytest.raises(ValueError):
        render.safe_name("../etc/passwd")


def test_unknown_lang_is_refused(tmp_path, catalog):
    with pytest.raises(ValueError):
        render.build_kb(None, catalog, tmp_path, "fr")


def test_command(tmp_path):
    write_publish_runs(tmp_path)
    runner = CliRunner()
    result = runner.invoke(kb, ["--out", str(tmp_path), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(str(tmp_path / "kb" / "en" / "site" / "index.html"))
    changes = runner.invoke(kb, ["--out", str(tmp_path), "--changes"])
    assert changes.exit_code == 0
    assert "hotjar: share new" in changes.output and "new cookies" in changes.output
    assert json.loads(runner.invoke(kb, ["--out", str(tmp_path), "--changes", "--json"]).output)["changes"]
    missing = runner.invoke(kb, ["--out", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no warehouse" in missing.output


def test_command_help():
    result = CliRunner().invoke(kb, ["--help"])
    assert result.exit_code == 0
    assert re.search(r"Example:\n\s+servicerisk kb --out out/demo", result.output)
    assert kb.epilog == "\b\nExample:\n  servicerisk kb --out out/demo"
