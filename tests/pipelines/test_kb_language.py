"""Every page of the demo knowledge base (service, company, index, methodology), its scan report with the evidence
pages and the scan's privacy-policy blocks speak their reader's language:
no catalog code, snake_case/kebab-case token or English template text on a German page, no German template text
on an English page; every service page has the eight-condition checklist with a status per condition; sources are
public links (or datasets named without a link), never internal notes.

The checkers are built from the glossary itself (every code of every kind, every template sentence of the other
language) and are tested on planted leaks, so they can fail."""

from __future__ import annotations

import re
from functools import cache

import pytest
from lxml import html as lxml_html

from pipelines import glossary
from pipelines.catalog.load import load_catalog
from pipelines.risk.model import DISCLAIMER

LANGS = glossary.LANGS
OTHER = {"de": "en", "en": "de"}
# kinds whose keys are codes (the values are the reader's words)
CODE_KINDS = ("category", "purpose", "data_category", "data_subject", "role", "mitigation", "mitigation_level",
              "security", "decision_basis", "reason_state", "condition_status", "confidence", "location_confidence",
              "dpf_status", "consent_state", "embedding", "outcome", "movement", "fact_field", "ip_anonymisation",
              "eu_hosting", "rank_bucket", "jurisdiction", "cookie_lifetime_word", "legal_source", "evidence", "check",
              "page_kind", "dns_outcome")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*[A-Za-z0-9]|[A-Za-z]")


@cache
def codes() -> frozenset[str]:
    """Every code a page could leak: glossary keys of every code kind and every factor level, plus the catalog's
    service and company ids."""
    found = set()
    for kind in CODE_KINDS:
        found |= {str(k) for k in glossary.codes(kind)}
    for factor in glossary.codes("level"):
        found |= {str(k) for k in glossary.codes(f"level.{factor}")}
    catalog = load_catalog()
    found |= {s.id for s in catalog.services} | set(catalog.companies)
    return frozenset(c for c in found if not c.isdigit())


def _is_code_like(token: str) -> bool:
    return "_" in token or ("-" in token and token.lower() == token)


@cache
def names(lang: str) -> re.Pattern:
    """Proper names a page in ``lang`` may show (services, aliases, companies, cookie names), as one pattern
    matching whole words, longest first. A service the glossary names in ``lang`` has only that name."""
    catalog = load_catalog()
    translated = glossary.glossary(lang)["service_name"]
    found = {n for s in catalog.services for n in (translated.get(s.id) or s.name, *s.aliases)} | {
        n for c in catalog.companies.values() for n in (c.name, *c.aliases)}
    found |= {c.name for s in catalog.services for c in s.cookies if len(c.name) >= 3}  # cookie names are data
    alternatives = "|".join(re.escape(n) for n in sorted((n for n in found if n), key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


def _fragments(lang: str) -> set[str]:
    """The literal text of ``lang``'s templates and names (split at their fields), as normalised fragments of at
    least two words that the other language's glossary never uses."""
    data = glossary.glossary(lang)
    other = _normal(" ¦ ".join(_strings(glossary.glossary(OTHER[lang]))))
    out = set()
    for value in _strings({k: v for k, v in data.items() if k not in ("country", "datasets", "lang")}):
        for part in re.split(r"\{[^}]*\}", value):
            frag = _normal(part)
            if len(frag.split()) >= 2 and len(frag) >= 10 and frag not in other:
                out.add(frag)
    return out


def _strings(node) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


def _normal(text: str) -> str:
    text = text.replace("\u00a0", " ").replace("„", '"').replace("“", '"').replace("”", '"').replace("’", "'")
    return re.sub(r"\s+", " ", text).strip()


def visible_text(doc, lang: str) -> str:
    """A page's text as a reader sees it, without code/pre blocks (cookie names, hosts, commands) and with URLs,
    host names and the catalog's proper names removed."""
    doc = lxml_html.fromstring(lxml_html.tostring(doc))  # a copy
    for el in doc.xpath("//script | //style | //code | //pre | //head"):
        el.drop_tree()
    text = _normal(" ".join(doc.itertext()))
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"\b[\w-]+(?:\.[\w-]+)+\b", " ", text)  # host names and file names
    return names(lang).sub(" ", text)


def leaks(text: str, lang: str) -> list[str]:
    """Codes and other-language template text in a page's visible text (empty when clean)."""
    found = []
    tokens = set(_WORD.findall(text))
    found += sorted(t for t in tokens if t in codes() and (lang == "de" or _is_code_like(t)))
    found += sorted(t for t in tokens if _is_code_like(t) and re.fullmatch(r"[a-z0-9]+(?:_[a-z0-9]+)+", t))
    normal = _normal(text)
    found += sorted(f for f in _fragments(OTHER[lang]) if f in normal)
    found += [DISCLAIMER[OTHER[lang]][:40]] if _normal(DISCLAIMER[OTHER[lang]]) in normal else []
    return found


def _pages(demo_out, lang):
    return sorted((demo_out / "kb" / lang / "site").rglob("*.html"))


# ------------------------------------------------------------------------------------------ the checkers can fail


def test_the_checker_finds_planted_leaks():
    clean = "Der Anbieter erhält die IP-Adresse. Risikostufe: hoch."
    assert leaks(clean, "de") == []
    assert "us_dpf_unknown" in leaks(clean + " Stufe us_dpf_unknown", "de")
    assert "tag-manager" in leaks(clean + " Kategorie: tag-manager", "de")
    assert "catalog-unverified" in leaks(clean + " (catalog-unverified)", "de")
    assert "present" in leaks(clean + " F1 present", "de")  # an English code word on a German page
    assert leaks(clean + " the provider receives identifiers; lasting cookies", "de")  # English template text
    assert leaks("The provider receives the IP address. " + "Zwecke laut Katalog: Analyse", "en")  # German on en
    assert "some_code" in leaks("The value some_code is shown.", "en")  # any snake_case token
    assert leaks("Hinweis: " + DISCLAIMER["en"], "de")


# ------------------------------------------------------------------------------------------ the demo pages


@pytest.mark.parametrize("lang", LANGS)
def test_no_code_and_no_other_language_on_any_page(demo_out, lang):
    pages = _pages(demo_out, lang)
    kinds = {p.parent.name for p in pages} | {p.stem for p in pages if p.parent.name == "site"}
    assert {"services", "companies", "index", "methodology"} <= kinds
    problems = {}
    for path in pages:
        doc = lxml_html.fromstring(path.read_bytes())
        # text quoted in English from the catalog (company facts) is marked as such, and only there
        quoted = doc.xpath("//*[@lang='en' and not(self::html) and not(ancestor::nav)]")
        if lang != "en":
            assert all(el.xpath("ancestor::section[@id='facts']") for el in quoted), path
        for el in quoted:
            el.drop_tree()
        found = leaks(visible_text(doc, lang), lang)
        if found:
            problems[str(path.relative_to(demo_out / "kb"))] = found[:8]
    assert not problems, problems


@pytest.mark.parametrize("lang", LANGS)
def test_scan_report_evidence_and_policy_blocks_carry_no_codes(demo_out, lang):
    """The demo scan's report and evidence pages (in the scan's language) and its policy blocks (both languages)."""
    scan = sorted((demo_out / "scans").glob("*/report.html"))[-1].parent
    pages = sorted((scan / "policy" / lang).glob("*.html"))
    assert pages
    if lxml_html.fromstring((scan / "report.html").read_bytes()).get("lang") == lang:
        pages += [scan / "report.html", *sorted((scan / "evidence").rglob("*.html"))]
    problems = {}
    for path in pages:
        doc = lxml_html.fromstring(path.read_bytes())
        assert doc.get("lang") == lang, path
        found = leaks(visible_text(doc, lang), lang)
        if found:
            problems[str(path.relative_to(scan))] = found[:8]
    assert not problems, problems


@pytest.mark.parametrize("lang", LANGS)
def test_markdown_pages_carry_no_codes(demo_out, lang):
    """The Markdown pages (what a static-site generator publishes) say the same without codes."""
    problems = {}
    for path in sorted((demo_out / "kb" / lang).rglob("*.md")):
        body = path.read_text(encoding="utf-8").split("\n---\n", 1)[1]
        if lang != "en":  # company facts are quoted from the English sources, under a heading that says so
            body = re.sub(r"^## " + re.escape(glossary.text(lang, "facts")) + r"\n.*?(?=^## )", "", body,
                          flags=re.M | re.S)
        body = re.sub(r"^ {4}.*$", " ", body, flags=re.M)  # command examples
        body = re.sub(r"\]\([^)]*\)", "]", body).replace("\\", "")  # link targets, Markdown escapes
        found = leaks(visible_text(lxml_html.fromstring(f"<div>{body}</div>"), lang), lang)
        if found:
            problems[path.name] = found[:8]
    assert not problems, problems


@pytest.mark.parametrize("lang", LANGS)
def test_every_service_page_has_the_eight_conditions_with_a_status(demo_out, lang):
    statuses = {glossary.label(lang, "condition_status", s) for s in ("met", "not_met", "check")}
    pages = sorted((demo_out / "kb" / lang / "site" / "services").glob("*.html"))
    assert len(pages) >= 30
    seen = set()
    for path in pages:
        doc = lxml_html.fromstring(path.read_bytes())
        section = doc.get_element_by_id("conditions")
        assert section.find("h2").text_content() == glossary.text(lang, "checklist"), path
        items = section.xpath("./ol/li")
        assert len(items) == 8, (path.name, len(items))
        for number, li in enumerate(items, 1):
            assert li.xpath("strong")[0].text_content() == glossary.label(lang, "condition", number), path.name
            status = li.xpath(".//span[contains(@class, 'status')]")[0].text_content().split(": ", 1)[1]
            assert status in statuses, (path.name, number, status)
            seen.add(status)
            if status != glossary.label(lang, "condition_status", "met") or number in (1, 2, 3):
                assert len(li.text_content()) > len(li.xpath("strong")[0].text_content()) + 20  # with a reason
    assert seen == statuses  # the demo shows all three


@pytest.mark.parametrize("lang", LANGS)
def test_sources_are_public_links_or_named_datasets(demo_out, lang):
    for path in _pages(demo_out, lang):
        raw = path.read_text(encoding="utf-8")
        assert "doc:" not in raw and "legal-facts" not in raw and "/work/shared" not in raw, path
        assert not re.search(r"npmjs\.(com|org)|registry\.npmjs|pypi\.org", raw), path
        doc = lxml_html.fromstring(path.read_bytes())
        for section in doc.xpath("//section[@id='sources']"):
            entries = section.xpath(".//ul[@class='sources']/li")
            assert entries, path
            for li in entries:
                links = li.xpath("a/@href")
                text = li.text_content()
                if links:
                    assert links[0].startswith(("https://", "http://")), (path, links)
                else:  # a dataset shipped with the software: named, versioned, no link
                    assert glossary.text(lang, "dataset") in text and re.search(r"\d+\.\d+", text), (path, text)
                assert glossary.text(lang, "stand", date="")[:5] in text or not li.xpath("small"), (path, text)
            urls = [re.sub(r"^https?://(www\.)?", "", u).rstrip("/") for u in section.xpath(".//a/@href")]
            assert len(urls) == len(set(urls)), (path, sorted(u for u in urls if urls.count(u) > 1))


def test_german_livechat_page_reads_as_the_seed_structure(demo_out):
    """The LiveChat page (the seed's example) has the seed's sections in its order, filled from data."""
    doc = lxml_html.fromstring((demo_out / "kb" / "de" / "site" / "services" / "livechat.html").read_bytes())
    headings = [h.text_content() for h in doc.xpath("//main/section/h2")]
    assert headings == ["Was ist LiveChat?", "Wofür wird LiveChat eingesetzt?", "Welche Daten verarbeitet LiveChat?",
                        "Rechtsgrundlage", "Wann ist eine Einwilligung nötig?",
                        "Die acht Bedingungen für einen einwilligungsfreien Einsatz", "IP-Adresse", "Server-Standort",
                        "Firmensitz", "Verbreitung", "In der Datenschutzerklärung nennen",
                        "Warum ist LiveChat einwilligungspflichtig?", "Fazit zu LiveChat", "Quellen",
                        "Die eigene Website prüfen"]
    data = doc.get_element_by_id("data").text_content()
    assert "Chat-Nachrichten" in data and "Daten Ihrer Beschäftigten" in data and "3 Jahre" in data
    company = doc.get_element_by_id("company").text_content()
    assert "Text, Inc." in company and "USA" in company and "Data Privacy Framework" in company
    assert "servicerisk scan" in doc.get_element_by_id("scan").text_content()
    prevalence = doc.get_element_by_id("prevalence").text_content()
    assert re.search(r"\d+ von \d+ Websites", prevalence)  # the sample size beside the share
    assert not re.search(r"\b1 Hosts\b|\b1 Websites\b", doc.text_content())
