"""End-to-end: `servicerisk crawl` over the fault web (through the local proxy and local DNS) ends every
site in the right outcome, keeps every input domain exactly once, and seals the run.

The same faults without a proxy (the sites served by their own origin server on loopback, in a network
namespace of their own): ``tests/crawler/test_faults_direct.py``."""

from __future__ import annotations

import csv
import json

import pyarrow.parquet as pq
import pytest

from common.runfolder import Layout, parts
from common.tables import SCHEMAS, TABLES
from tests.conftest import run_cli
from tests.support.faults import (
    DNS_DANGLING_SITE,
    DNS_FAULTS,
    DNS_TIMEOUT_SITE,
    FAULT_ERROR_CLASS,
    FAULT_EXPECTED,
    RESET_CONNECT_SITE,
)

MALFORMED = ["http://192.168.1.1/", "not a domain", "co.uk", "-bad-.de", "ok-site.de", "x" * 64 + ".de"]


@pytest.fixture(scope="module")
def crawl_run(tmp_path_factory, fault_server, local_dns):
    tmp = tmp_path_factory.mktemp("faults")
    lines = ["# fault web", *FAULT_EXPECTED, "dns-private-site.de", *MALFORMED]
    (tmp / "domains.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp / "out"
    res = run_cli(
        ["crawl", str(tmp / "domains.txt"), "--out", str(out), "--nameserver", local_dns.nameserver,
         "--timeout", "3", "--max-pages", "5", "--no-progress", "--panel", "fault-web"],
        env=fault_server.proxy_env(),
    )
    assert res.returncode == 0, res.stderr[-3000:]
    layout = Layout(out)
    run_id = layout.latest_run()
    assert run_id, "no sealed run"
    run_dir = layout.run_dir(run_id)
    tables = {t: pq.read_table([str(p) for p in parts(run_dir, t)]).to_pylist() for t in TABLES}
    return {"dir": run_dir, "tables": tables, "stdout": res.stdout, "lines": lines}


def _by_domain(run):
    return {r["input_domain"]: r for r in run["tables"]["sites"]}


@pytest.mark.parametrize("domain,expected", sorted(FAULT_EXPECTED.items()))
def test_fault_outcome(crawl_run, domain, expected):
    row = _by_domain(crawl_run)[domain]
    assert row["outcome"] == expected, row
    if domain in FAULT_ERROR_CLASS:
        assert row["error_class"] == FAULT_ERROR_CLASS[domain], row


def test_dns_faults_come_from_the_crawlers_own_lookup(crawl_run, fault_server):
    """The proxy would serve every DNS-fault site (they are in the local web): the run's resolver decides, for
    every start URL (the www. variants do not resolve either)."""
    sites = _by_domain(crawl_run)
    for domain in DNS_FAULTS:
        assert fault_server.web.lookup(domain) is not None
        attempts = sites[domain]["attempts"]
        assert len(attempts) == 4 and all(" -> dns_error (dns_" in a for a in attempts), attempts
    assert "gone." + DNS_DANGLING_SITE in sites[DNS_DANGLING_SITE]["detail"]
    assert "no reply" in sites[DNS_TIMEOUT_SITE]["detail"]


def test_a_reset_at_connect_fails_fast(crawl_run):
    """The tunnel fails when the proxy resets it, not when the download timeout (3 s here) runs out: before,
    this site ended as ``timeout`` after waiting the full timeout on each start URL."""
    row = _by_domain(crawl_run)[RESET_CONNECT_SITE]
    assert row["error_class"] == "TunnelError" and "closed the connection before answering" in row["detail"]
    assert row["attempts"][0] == f"https://{RESET_CONNECT_SITE}/ -> connect_error (TunnelError)"


def test_private_by_dns_is_refused(crawl_run):
    row = _by_domain(crawl_run)["dns-private-site.de"]
    assert row["outcome"] == "refused_private"
    assert "10.20.30.40" in row["detail"]


def test_every_input_domain_exactly_once(crawl_run):
    names = [r["input_domain"] for r in crawl_run["tables"]["sites"]]
    assert sorted(names) == sorted(set(FAULT_EXPECTED) | {"dns-private-site.de"})
    assert len(names) == len(set(names))


def test_rejected_lines_recorded_with_line_numbers(crawl_run):
    with open(crawl_run["dir"] / "rejected.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_raw = {r["raw"]: r for r in rows}
    lines = crawl_run["lines"]
    assert by_raw["http://192.168.1.1/"]["reason"] == "ip_address"
    assert by_raw["not a domain"]["reason"] == "bad_label"
    assert by_raw["co.uk"]["reason"] == "no_public_suffix"
    assert by_raw["-bad-.de"]["reason"] == "bad_label"
    assert by_raw["x" * 64 + ".de"]["reason"] == "bad_label"
    dup = [r for r in rows if r["reason"] == "duplicate"]
    assert len(dup) == 1 and dup[0]["raw"] == "ok-site.de"
    for r in rows:
        assert lines[int(r["line_no"]) - 1] == r["raw"]


def test_manifest_seals_run_with_counts(crawl_run):
    manifest = json.loads((crawl_run["dir"] / "manifest.json").read_text())
    assert manifest["kind"] == "crawl" and manifest["close_reason"] == "finished"
    assert manifest["panel"] == "fault-web"
    assert manifest["counts"]["sites"] == len(FAULT_EXPECTED) + 1
    expected_counts: dict[str, int] = {}
    for outcome in list(FAULT_EXPECTED.values()) + ["refused_private"]:
        expected_counts[outcome] = expected_counts.get(outcome, 0) + 1
    assert manifest["counts"]["sites_by_outcome"] == expected_counts
    assert manifest["input"]["rejected"] == len(MALFORMED)
    assert manifest["reference_data"]["public_suffix_list"]
    assert manifest["settings_digest"].startswith("sha256:")
    for table in TABLES:
        assert manifest["tables"][table]["rows"] == len(crawl_run["tables"][table])


def test_parts_are_named_and_typed(crawl_run):
    for table in TABLES:
        files = parts(crawl_run["dir"], table)
        assert files, table
        for f in files:
            assert f.name.startswith("part-w") and f.suffix == ".parquet"
            assert pq.read_schema(f).equals(SCHEMAS[table], check_metadata=False)
    assert not list(crawl_run["dir"].rglob("*.tmp"))


def test_cross_site_redirect_is_recorded(crawl_run):
    row = _by_domain(crawl_run)["cross-redirect-site.de"]
    assert row["cross_site_redirect"] is True
    assert row["site"] == "redirect-target-site.de"
    assert row["redirect_chain"][0] == "https://cross-redirect-site.de/"
    assert row["redirect_chain"][-1] == "https://redirect-target-site.de/welcome"


def test_fallbacks_recorded(crawl_run):
    sites = _by_domain(crawl_run)
    http_only = sites["http-only-site.de"]
    assert http_only["final_url"].startswith("http://http-only-site.de")
    assert http_only["attempts"][0].startswith("https://http-only-site.de/ -> connect_error")
    www = sites["www-only-site.de"]
    assert www["final_host"] == "www.www-only-site.de"
    tls = sites["tls-garbage-site.de"]
    assert len(tls["attempts"]) == 4 and "tls_error" in tls["attempts"][0]


def test_ok_site_pages_prefer_policy_pages(crawl_run):
    pages = [p for p in crawl_run["tables"]["pages"] if p["input_domain"] == "ok-site.de"]
    assert len(pages) == 5
    kinds = {p["page_kind"] for p in pages}
    assert {"home", "privacy", "imprint", "contact"} <= kinds
    assert all(p["method"] == "static" for p in pages)


def test_ok_site_observations(crawl_run):
    t = crawl_run["tables"]
    res = [r for r in t["resources"] if r["input_domain"] == "ok-site.de"]
    hosts = {r["host"] for r in res}
    assert "www.googletagmanager.com" in hosts and "fonts.googleapis.com" in hosts
    assert any(r["url"].endswith("gtm.js?id=GTM-ABC1234") and r["element"] == "script" for r in res)
    declared = {r["host"] for r in res if r["declared"]}
    assert "www.googletagmanager.com" in declared  # from the CSP header, kept apart
    cookies = [c for c in t["cookies"] if c["input_domain"] == "ok-site.de"]
    assert cookies and all(c["set_by_host"] == "ok-site.de" for c in cookies)
    assert any(c["secure"] and c["http_only"] and c["expires"] is not None for c in cookies)
    names = {h["name"] for h in t["response_headers"] if h["input_domain"] == "ok-site.de"}
    assert {"set-cookie", "content-security-policy", "server"} <= names


def test_charset_pages_decode(crawl_run):
    titles = {p["url"].rsplit("/", 1)[-1]: p["title"] for p in crawl_run["tables"]["pages"]
              if p["input_domain"] == "charset-site.de"}
    for key in ("", "wrong", "meta"):
        assert "Über uns" in titles[key] and "Müller" in titles[key], titles


def test_failed_sites_keep_error_detail(crawl_run):
    sites = _by_domain(crawl_run)
    assert sites["huge-body-site.de"]["error_class"] == "DownloadCancelledError"
    assert "HTTP 500" in sites["error500-site.de"]["detail"]
    assert sites["timeout-site.de"]["error_class"] == "DownloadTimeoutError"
    for row in sites.values():
        if row["outcome"] != "ok":
            assert row["detail"], row


def test_summary_printed(crawl_run):
    assert "third-party hosts" in crawl_run["stdout"]
