"""`servicerisk scan DOMAIN`: one site through the whole pipeline (crawl, enrich, warehouse, report) on the local
web, into OUT/scans/<run_id>/ and never into the dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import html as lxml_html

from pipelines.catalog.coverage import COMPANY_ONLY, NAMED, NOT_MENTIONED, SELF_HOSTED
from pipelines.localdns import LocalDNS
from pipelines.localdns.demo import demo_zone
from pipelines.localweb.browserweb import CMP_GATED_SITE, CMP_IGNORED_SITE, CMP_VENDOR, TAG_SERVICES
from pipelines.localweb.demo import declared_services, demo_web, site_services
from pipelines.localweb.faults import XSS_PAYLOADS, XSS_SITE
from pipelines.localweb.server import LocalWeb
from tests.conftest import free_port, run_cli
from tests.pipelines.test_detect_demo import DEMO_TO_CATALOG

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
    assert "Keine DNS-Abfrage wurde beantwortet (timeout" in " ".join(res.stdout.split())
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
    from pipelines.localweb import build_web

    out = tmp_path_factory.mktemp("scan-browser")
    reports = {}
    with LocalWeb(build_web("browser")) as web:
        for domain in (CMP_GATED_SITE, CMP_IGNORED_SITE):
            res = run_cli(["scan", domain, "--out", str(out / domain), "--mode", "browser", "--max-pages", "2",
                           "--nameserver", local_dns.nameserver, "--timeout", "10"], env=web.proxy_env())
            assert res.returncode == 0, res.stderr[-3000:]
            reports[domain] = (json.loads((_scan_dir(out / domain) / "report.json").read_text("utf-8")), res)
    return reports


@pytest.mark.wallclock  # Chromium's page budgets are wall-clock: in the parallel phase under load the consent
# passes missed the tags (services {google-tag-manager} only); `make test` runs it afterwards, alone
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
