"""`servicerisk scan DOMAIN`: one site through the whole pipeline (crawl, enrich, warehouse, report) on the local
web, into OUT/scans/<run_id>/ and never into the dataset."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lxml import html as lxml_html

from devweb.dns import LocalDNS
from devweb.dns.demo import demo_zone
from devweb.web.browserweb import CMP_GATED_SITE, CMP_IGNORED_SITE, CMP_VENDOR, TAG_SERVICES
from devweb.web.demo import declared_services, demo_web, site_services
from devweb.web.server import LocalWeb
from pipelines.catalog.coverage import COMPANY_ONLY, NAMED, NOT_MENTIONED, SELF_HOSTED
from tests.conftest import free_port, run_cli
from tests.pipelines.test_detect_demo import DEMO_TO_CATALOG
from tests.support.faults import XSS_PAYLOADS, XSS_SITE

pytestmark = pytest.mark.slow
# a site leaving a Google tool out of its policy, and one leaving out its self-hosted tools (Borlabs, fonts, Matomo)
DEMO_SITES = ["baeckerei-schmidt.de", "zahnarzt-koenig.de"]


def _scan_dir(out: Path) -> Path:
    dirs = sorted((out / "scans").iterdir())
    assert len(dirs) == 1
    return dirs[0]


@pytest.fixture(scope="module")
def demo_scans(tmp_path_factory):
    out = tmp_path_factory.mktemp("scan-demo")
    results = {}
    with LocalDNS(demo_zone()) as dns, LocalWeb(demo_web(month=2)) as web:
        for domain in DEMO_SITES:
            target = out / domain
            res = run_cli(["scan", domain, "--out", str(target), "--nameserver", dns.nameserver, "--timeout", "10",
                           "--lang", "en"], env=web.proxy_env())
            assert res.returncode == 0, res.stderr[-3000:]
            results[domain] = (target, res)
    return results


def test_scan_finds_the_sites_services_with_verdicts(demo_scans):
    for domain, (out, res) in demo_scans.items():
        report = json.loads((_scan_dir(out) / "report.json").read_text("utf-8"))
        assert report["reachable"] and report["domain"] == domain
        found = {s["service_id"] for s in report["services"]}
        expected = {DEMO_TO_CATALOG[k] for k in site_services(domain, 2)}
        assert found == expected
        for s in report["services"]:
            assert s["consent_required"] in ("yes", "no", "likely")  # every demo service is curated
            assert s["band"] in ("low", "medium", "high", "very_high")
            assert s["company_name"]
        google = [s for s in report["services"] if s["company_id"] == "google-ireland"]
        assert google and all(s["us_entity"]["id"] == "google-llc" for s in google)
        assert all(s["server_countries"] for s in google)  # located from the demo zone's addresses
        assert report["provenance"]["crawled_at"] and report["provenance"]["geoip"]
        for s in report["services"]:  # the terminal summary lists every service
            assert f"{s['name']} ({s['service_id']})" in res.stdout


def test_scan_checks_the_privacy_policy(demo_scans):
    for domain, (out, _) in demo_scans.items():
        report = json.loads((_scan_dir(out) / "report.json").read_text("utf-8"))
        assert [p["page_kind"] for p in report["policy"]["pages"]] == ["privacy"]
        declared = {DEMO_TO_CATALOG[k] for k in declared_services(domain)}
        for s in report["services"]:
            status = s["policy"]["status"]
            if s["service_id"] in declared:
                assert status == NAMED, s["service_id"]
            else:
                assert status != NAMED, s["service_id"]
        undeclared = [s for s in report["services"] if s["service_id"] not in declared]
        assert undeclared  # the chosen demo sites leave something out of their policies
        for s in undeclared:  # the site's own servers: nothing to name; a third party: a missing disclosure
            expected = {SELF_HOSTED} if s["company_id"] == "site-operator" else {COMPANY_ONLY, NOT_MENTIONED}
            assert s["policy"]["status"] in expected, (domain, s["service_id"], s["policy"])
    statuses = {s["policy"]["status"] for _, (out, _) in demo_scans.items()
                for s in json.loads((_scan_dir(out) / "report.json").read_text("utf-8"))["services"]}
    assert {NAMED, COMPANY_ONLY, SELF_HOSTED} <= statuses


def test_scan_stays_out_of_the_dataset(demo_scans):
    for _, (out, _) in demo_scans.items():
        scan = _scan_dir(out)
        assert not (out / "raw").exists() and not (out / "warehouse.duckdb").exists()
        assert (scan / "warehouse.duckdb").is_file() and (scan / "report.html").is_file()
        manifest = json.loads(next((scan / "raw").glob("*/manifest.json")).read_text("utf-8"))
        assert manifest["kind"] == "scan"


def test_scan_html_report_lists_every_service(demo_scans):
    for _, (out, _) in demo_scans.items():
        scan = _scan_dir(out)
        report = json.loads((scan / "report.json").read_text("utf-8"))
        doc = lxml_html.fromstring((scan / "report.html").read_bytes())
        assert doc.get("lang") == "en"
        shown = {c.text for c in doc.xpath("//tbody/tr/td[1]//code")}
        assert shown >= {s["service_id"] for s in report["services"]}
        assert not doc.xpath("//script | //link | //img | //iframe")  # self-contained, nothing to load


@pytest.fixture(scope="module")
def fault_scans(tmp_path_factory, fault_server, local_dns):
    out = tmp_path_factory.mktemp("scan-faults")
    runs = {}
    for name, domain in (("xss", XSS_SITE), ("dead", "nxdomain-site.de")):
        res = run_cli(["scan", domain, "--out", str(out / name), "--nameserver", local_dns.nameserver,
                       "--timeout", "5"], env=fault_server.proxy_env())
        runs[name] = (out / name, res)
    # a resolver that never answers: a port on loopback where nothing listens
    res = run_cli(["scan", XSS_SITE, "--out", str(out / "no-resolver"), "--nameserver", f"127.0.0.1:{free_port()}",
                   "--timeout", "5"], env=fault_server.proxy_env())
    runs["no-resolver"] = (out / "no-resolver", res)
    return runs


def test_a_scan_without_a_working_resolver_says_so_and_exits_5(fault_scans):
    from pipelines.exits import NO_DNS

    out, res = fault_scans["no-resolver"]
    assert res.returncode == NO_DNS == 5, res.stderr[-2000:]
    assert "Keine DNS-Abfrage wurde beantwortet (Zeitüberschreitung" in " ".join(res.stdout.split())
    report = json.loads((_scan_dir(out) / "report.json").read_text("utf-8"))
    assert report["dns"]["no_resolver"] is True and set(report["dns"]["outcomes"]) == {"timeout"}
    doc = lxml_html.fromstring((_scan_dir(out) / "report.html").read_bytes())
    assert "Keine DNS-Abfrage wurde beantwortet" in doc.xpath("string(//p[@class='fail'][1])")
    # a name that does not exist is an answer: that scan is unreachable (exit 3), its resolver works
    dead = json.loads((_scan_dir(fault_scans["dead"][0]) / "report.json").read_text("utf-8"))
    assert dead["dns"]["no_resolver"] is False and dead["dns"]["outcomes"] == {"nxdomain": 1}


def test_unreachable_site_is_reported_clearly(fault_scans):
    out, res = fault_scans["dead"]
    assert res.returncode == 3, res.stderr[-2000:]
    assert "nxdomain-site.de war nicht erreichbar: dns_error" in res.stdout
    report = json.loads((_scan_dir(out) / "report.json").read_text("utf-8"))
    assert report["reachable"] is False and report["failure"]["outcome"] == "dns_error"
    assert len(report["failure"]["attempts"]) == 4  # https, http, www https, www http
    doc = lxml_html.fromstring((_scan_dir(out) / "report.html").read_bytes())
    assert "dns_error" in doc.xpath("string(//p[@class='fail'])")


def test_crawled_payloads_are_inert_in_the_scan_report(fault_scans):
    out, res = fault_scans["xss"]
    assert res.returncode == 0, res.stderr[-2000:]
    scan = _scan_dir(out)
    text = (scan / "report.html").read_text("utf-8")
    doc = lxml_html.fromstring(text)
    assert not doc.xpath("//script | //img | //*[@*[starts-with(name(), 'on')]]")
    report = json.loads((scan / "report.json").read_text("utf-8"))
    titles = [p["title"] for p in report["pages"] if p["title"]]
    assert any(XSS_PAYLOADS[0] in t for t in titles)  # the payload is data in the report…
    assert XSS_PAYLOADS[0] in doc.text_content()  # …and shown as text, verbatim
    assert report["policy"]["pages"]  # the payload-laden policy page was read
    jsdelivr = next(s for s in report["services"] if s["service_id"] == "jsdelivr")
    assert jsdelivr["policy"]["status"] == NAMED


def test_bad_domain_is_rejected():
    res = run_cli(["scan", "not a domain", "--out", "/nonexistent/never-written"])
    assert res.returncode == 2
    assert res.stderr.startswith("error: 'not a domain' is not a domain")


@pytest.fixture(scope="module")
def browser_scans(tmp_path_factory, local_dns):
    from tests.conftest import require_binary, require_refdata

    require_binary("chromium")
    require_refdata("@duckduckgo/autoconsent")  # clicks the fixture banner
    from devweb.web import build_web

    out = tmp_path_factory.mktemp("scan-browser")
    reports = {}
    with LocalWeb(build_web("browser")) as web:
        for domain in (CMP_GATED_SITE, CMP_IGNORED_SITE):
            res = run_cli(["scan", domain, "--out", str(out / domain), "--mode", "browser", "--max-pages", "2",
                           "--nameserver", local_dns.nameserver, "--timeout", "10"], env=web.proxy_env())
            assert res.returncode == 0, res.stderr[-3000:]
            reports[domain] = (json.loads((_scan_dir(out / domain) / "report.json").read_text("utf-8")), res)
    return reports


# browser-mode scans have wall-clock page budgets: `make test` runs these tests after the parallel phase, alone
@pytest.mark.wallclock
def test_browser_scan_answers_the_consent_question(browser_scans):
    """The banner gates the tags on one site and is ignored by the other: the scan tells them apart."""
    gated, _ = browser_scans[CMP_GATED_SITE]
    ignored, res = browser_scans[CMP_IGNORED_SITE]
    for report in (gated, ignored):
        assert report["mode"] == "browser" and report["cmp"] == CMP_VENDOR
        assert {s["service_id"] for s in report["services"]} == set(TAG_SERVICES)
        results = {(p["consent_state"], p["signal"]): p["consent_result"] for p in report["consent_passes"]}
        assert results[("accept", "none")] == "clicked" and results[("reject", "none")] == "clicked"
    for s in gated["services"]:
        assert (s["fires_before_consent"], s["fires_after_accept"], s["fires_after_reject"]) == (False, True, False)
    for s in ignored["services"]:
        assert (s["fires_before_consent"], s["fires_after_accept"], s["fires_after_reject"]) == (True, True, True)
    assert any(s["browser_only"] for s in ignored["services"])  # the loader's tags are invisible to static HTML
    assert f"{len(TAG_SERVICES)} Dienst(e) laden vor jeder Einwilligung" in res.stdout


# --- the evidence pack, the policy blocks and the layout (issue 16) ------------------------------------------------

def _report_rows(scan: Path) -> tuple[dict, list[dict]]:
    report = json.loads((scan / "report.json").read_text("utf-8"))
    return report, report["services"] + report["third_party_hosts"] + report["cloaking"]


def _linked_evidence(scan: Path) -> list[tuple[dict, dict]]:
    """Every row of the report (services, other hosts, cloaked subdomains) with its evidence (the JSON), after
    checking that each table row of report.html links exactly one evidence page and that page exists."""
    _, rows = _report_rows(scan)
    doc = lxml_html.fromstring((scan / "report.html").read_bytes())
    linked = set(doc.xpath("//tbody/tr/td[@class='evidence']/a/@href"))
    assert rows and len(doc.xpath("//tbody/tr")) == len(rows) == len(linked)  # one evidence link per table row
    out = []
    for row in rows:
        assert row["evidence"]["html"] in linked and (scan / row["evidence"]["html"]).is_file()
        ev = json.loads((scan / row["evidence"]["json"]).read_text("utf-8"))
        assert ev["requests"] or ev["detections"] or ev["cookies"] or ev["cloaking"], ev["key"]
        out.append((row, ev))
    return out


def test_every_report_row_links_its_evidence(demo_scans):
    for domain, (out, _) in demo_scans.items():
        scan = _scan_dir(out)
        report, _ = _report_rows(scan)
        for _row, ev in _linked_evidence(scan):
            assert ev["requests"] or ev["detections"], (domain, ev["key"])
            for r in ev["requests"]:  # static mode: the reference, the page it was on and when that page was fetched
                assert r["url"] and r["page_url"] and r["time"] and r["initiator"]
                assert r["time_kind"] == "page_fetched" and r["method"] == "static"
        google = [s for s in report["services"] if s["company_id"] == "google-ireland"]
        answers = []
        for s in google:  # the DNS answers of Google's hosts: addresses, and CNAMEs into Google's network
            ev = json.loads((scan / s["evidence"]["json"]).read_text("utf-8"))
            assert ev["dns"] and all(h["addresses"] for h in ev["dns"]), s["service_id"]
            answers += ev["dns"]
        if domain == "baeckerei-schmidt.de":  # its tag manager's host is a CNAME into Google's network
            assert any(n.endswith(".google.com") for h in answers for n in h["cname_chain"]), domain
        index = json.loads((scan / "evidence" / "index.json").read_text("utf-8"))
        assert set(index["findings"]["services"]) == {s["service_id"] for s in report["services"]}


def test_scan_links_policy_blocks_for_services_the_policy_does_not_name(demo_scans):
    for domain, (out, _) in demo_scans.items():
        scan = _scan_dir(out)
        report, _ = _report_rows(scan)
        doc = lxml_html.fromstring((scan / "report.html").read_bytes())
        hrefs = set(doc.xpath("//a/@href"))
        for s in report["services"]:
            if s["policy"]["status"] in (NOT_MENTIONED, COMPANY_ONLY):
                blocks = s["policy"]["blocks"]
                assert blocks["en"] in hrefs  # the English report links the English block
                for path in blocks.values():
                    text = (scan / path).read_text("utf-8")
                    assert s["name"] in text and (scan / path).with_suffix(".md").is_file()
            else:
                assert s["policy"]["blocks"] is None, (domain, s["service_id"])


@pytest.fixture(scope="module")
def browser_demo_scan(tmp_path_factory):
    """A browser-mode scan of a demo site: its tag manager loads more than the HTML shows, its consent tool and
    self-hosted fonts load too."""
    from tests.conftest import require_binary, require_refdata

    require_binary("chromium")
    require_refdata("@duckduckgo/autoconsent")
    from devweb.web import build_web

    out = tmp_path_factory.mktemp("scan-browser-demo")
    with LocalDNS(demo_zone()) as dns, LocalWeb(build_web("demo,browser")) as web:
        res = run_cli(["scan", DEMO_SITES[0], "--out", str(out), "--mode", "browser", "--max-pages", "2",
                       "--nameserver", dns.nameserver, "--timeout", "10"], env=web.proxy_env())
    assert res.returncode == 0, res.stderr[-3000:]
    return _scan_dir(out), res


@pytest.mark.wallclock
def test_browser_scan_writes_a_har_per_visit_without_cookie_values(browser_demo_scan):
    from haralyzer import HarParser

    scan, _ = browser_demo_scan
    index = json.loads((scan / "evidence" / "index.json").read_text("utf-8"))
    visits = index["visits"]
    assert len(visits) >= 5  # home before consent, after accept, after reject, with GPC; the privacy page
    hars = sorted((scan / "evidence" / "har").glob("*.har"))
    assert len(hars) == len(visits) and all(v["har"] for v in visits)
    for path in hars:
        har = json.loads(path.read_text("utf-8"))
        parser = HarParser(har)  # a HAR reader accepts it
        assert parser.pages and sum(len(p.entries) for p in parser.pages) == len(har["log"]["entries"]) > 0
        for entry in har["log"]["entries"]:
            for side in ("request", "response"):
                assert all(c["value"] == "" for c in entry[side]["cookies"])
                for h in entry[side]["headers"]:
                    if h["name"].lower() == "cookie":
                        assert all(p.strip().endswith("=") for p in h["value"].split(";") if p.strip())
                    if h["name"].lower() == "set-cookie":
                        assert all(line.split(";")[0].endswith("=") for line in h["value"].split("\n"))
    assert any("set-cookie" in path.read_text("utf-8").lower() for path in hars)  # there were cookies to strip


@pytest.mark.wallclock
def test_browser_scan_rows_link_evidence_with_request_times_and_hars(browser_demo_scan):
    scan, _ = browser_demo_scan
    answered = []
    for row, ev in _linked_evidence(scan):  # every row of the browser-mode report links its evidence too
        browser = [r for r in ev["requests"] if r["method"] == "browser"]
        answered += [r for r in browser if r["status"] and r["remote_ip"]]
        if row.get("browser_only") is True or row.get("fires_before_consent") is True:  # a service row
            cookies = [c for c in ev["cookies"] if c["method"] == "browser"]
            assert browser or cookies, row["service_id"]  # a request to it, or its cookie (_fbp: the social plugins)
            assert all(r["time_kind"] == "requested" and r["time"] for r in browser)
            assert all(c["seen_at"] and c["domain"] and "value" not in c for c in cookies)
            assert ev["visits"] and all((scan / v["har"]).is_file() for v in ev["visits"])
    assert answered  # requests that got an answer carry its status and the address that answered


@pytest.mark.wallclock
def test_browser_headline_counts_the_tables_rows(browser_demo_scan):
    scan, res = browser_demo_scan
    report = json.loads((scan / "report.json").read_text("utf-8"))
    doc = lxml_html.fromstring((scan / "report.html").read_bytes())
    head = re.search(r"(\d+) Dienst\(e\) laden vor jeder Einwilligung, davon (\d+) einwilligungspflichtig",
                     doc.text_content())
    assert head, doc.text_content()[:2000]
    cells = doc.xpath("//tbody/tr/td[@data-label='Lädt vor Einwilligung']")
    loads = [c for c in cells if c.text_content().strip().startswith("ja")]
    flagged = [c for c in loads if "ohne Einwilligung" in c.text_content()]
    assert (int(head.group(1)), int(head.group(2))) == (len(loads), len(flagged))
    # the consent tool and the self-hosted fonts load before consent too, and need none: the two figures differ
    assert len(loads) > len(flagged) > 0
    free = {s["service_id"] for s in report["services"] if s["service_id"] in report["before_consent"]["loads"]
            and s["service_id"] not in report["before_consent"]["needs_consent"]}
    assert {"cookiebot", "fonts-self-hosted"} <= free
    assert head.group(0) in res.stdout.replace("\n", " ")


@pytest.mark.wallclock
@pytest.mark.xdist_group("chromium-heavy")
def test_scan_report_and_evidence_fit_screens_and_a4(kb_browser, browser_demo_scan):
    """No horizontal overflow at 1280 and 390 px, nor in print at A4 width (the evidence column and long URLs
    wrap instead of running off), for the widest report (browser mode) and its evidence pages."""
    scan, _ = browser_demo_scan
    pages = [scan / "report.html"] + sorted((scan / "evidence").rglob("*.html"))
    ctx = kb_browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    overflow = []
    probe = ("() => [document.documentElement.scrollWidth, [...document.querySelectorAll('.table-wrap, td, th')]"
             ".filter(e => e.scrollWidth > e.clientWidth + 1).length]")
    try:
        for path in pages:
            page.goto(path.resolve().as_uri())
            for media, width in (("screen", 1280), ("screen", 390), ("print", 718)):  # A4 less margins at 96 dpi
                page.emulate_media(media=media)
                page.set_viewport_size({"width": width, "height": 900})
                scroll, inner = page.evaluate(probe)
                if scroll > width or inner:
                    overflow.append((path.name, media, width, scroll, inner))
    finally:
        ctx.close()
    assert not overflow, overflow
