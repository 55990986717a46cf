"""Browser mode end to end: headless Chromium through the local proxy over the browser fixture web.

One crawl (pre-consent, accept, reject, GPC) is shared by the module; a second, small crawl kills the browser
mid-run. Needs Debian's chromium (skipped locally without it, failing in CI).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from crawler.browser.chromium import kill_tagged, tagged_pids
from devweb.web import LocalWeb, build_web
from devweb.web.browserweb import (
    BROWSER_DOMAINS,
    BROWSER_EXPECTED,
    BROWSER_OUTCOMES,
    CMP_GATED_SITE,
    CMP_IGNORED_SITE,
    CMP_VENDOR,
    DYN_LOADER_SITE,
    GPC_HONOURED_SITE,
    NEVER_LOADS_SITE,
    POPUP_STORM_SITE,
    STALLED_CDN,
    STATIC_EXPECTED,
    TAG_SERVICES,
)
from tests.conftest import ROOT, require_binary, require_refdata, run_cli

BUDGET = 15.0
# the crawl's page budgets are wall-clock: `make test` runs this module after the parallel phase, alone (marker
# wallclock), so a loaded 2-core machine cannot push its pages past their budget (CI did: 4 failures)
pytestmark = [pytest.mark.xdist_group("chromium-heavy"), pytest.mark.wallclock]


@pytest.fixture
def autoconsent():
    """The consent-pass tests need autoconsent to click the fixture banner (without it browser mode still works,
    recording cmp = unknown, and these tests would only show that)."""
    return require_refdata("@duckduckgo/autoconsent")


@pytest.fixture(scope="module")
def browser_run(tmp_path_factory, local_dns):
    require_binary("chromium")
    out = tmp_path_factory.mktemp("browser")
    domains = out / "domains.txt"
    domains.write_text("\n".join(BROWSER_DOMAINS) + "\n", encoding="utf-8")
    with LocalWeb(build_web("browser"), log=True) as lw:
        started = time.monotonic()
        # `run` enriches too: its DNS goes to the local server, never to the machine's resolver
        res = run_cli(["run", str(domains), "--out", str(out), "--mode", "browser", "--consent", "accept,reject",
                       "--gpc", "--allow-private", "--nameserver", local_dns.nameserver, "--no-autothrottle", "--max-pages", "1", "--no-progress",
                       "-s", f"SR_BROWSER_PAGE_BUDGET={BUDGET}"], env=lw.proxy_env(), timeout=400)
        elapsed = time.monotonic() - started
        log = list(lw.request_log)
    assert res.returncode == 0, res.stderr[-3000:]
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    yield {"out": out, "con": con, "log": log, "elapsed": elapsed, "run_dir": next((out / "raw").iterdir())}
    con.close()


def _q(run, sql, params=()):
    return run["con"].execute(sql, list(params)).fetchall()


def _services(run, domain, method, consent_state="none", signal="none") -> set[str]:
    return {r[0] for r in _q(run, "SELECT DISTINCT service_id FROM stg_detections WHERE input_domain = ? AND method = ? "
                                  "AND consent_state = ? AND signal = ?", (domain, method, consent_state, signal))}


def test_outcomes_within_budget(browser_run):
    rows = _q(browser_run, "SELECT input_domain, outcome, epoch(finished_at) - epoch(started_at) FROM raw_sites")
    details = dict(_q(browser_run, "SELECT input_domain, detail FROM stg_sites"))
    assert {d: o for d, o, _ in rows} == BROWSER_OUTCOMES, details
    for domain, _, seconds in rows:
        if domain in (NEVER_LOADS_SITE, POPUP_STORM_SITE):
            # the home visit ends at the budget (+ bounded clean-up); its extra passes are not even tried
            assert seconds < BUDGET + 12, (domain, seconds)
    details = dict(_q(browser_run, "SELECT input_domain, detail FROM stg_sites"))
    assert "popups" in details[POPUP_STORM_SITE]
    assert "budget" in details[NEVER_LOADS_SITE]


def test_dynamic_services_only_in_browser(browser_run):
    for domain, expected in STATIC_EXPECTED.items():
        assert _services(browser_run, domain, "static") == expected, domain
    assert _services(browser_run, DYN_LOADER_SITE, "browser") == TAG_SERVICES
    only = {r[0] for r in _q(browser_run, "SELECT service_id FROM site_service_consent WHERE site_input = ? "
                                          "AND browser_only", (DYN_LOADER_SITE,))}
    assert only == TAG_SERVICES - STATIC_EXPECTED[DYN_LOADER_SITE]


def test_static_mode_misses_the_injected_services(tmp_path, local_dns):
    """A plain static crawl of the same sites sees the tag manager's snippet, never what its container loads."""
    domains = tmp_path / "domains.txt"
    domains.write_text("\n".join(STATIC_EXPECTED) + "\n", encoding="utf-8")
    with LocalWeb(build_web("browser")) as lw:
        res = run_cli(["crawl", str(domains), "--out", str(tmp_path), "--nameserver", local_dns.nameserver,
                       "--no-autothrottle",
                       "--max-pages", "1", "--no-progress", "--no-summary"], env=lw.proxy_env(), timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    res = run_cli(["build", "--out", str(tmp_path)])
    assert res.returncode == 0, res.stderr[-2000:]
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    found = {}
    for domain, service in con.execute("SELECT input_domain, service_id FROM stg_detections").fetchall():
        found.setdefault(domain, set()).add(service)
    con.close()
    assert found == dict(STATIC_EXPECTED)


def test_consent_states_differ_as_built(autoconsent, browser_run):
    for (domain, consent_state, signal), expected in BROWSER_EXPECTED.items():
        got = _services(browser_run, domain, "browser", consent_state, signal)
        assert got == expected, (domain, consent_state, signal, got)
    mart = {(d, s): (b, a, r) for d, s, b, a, r in _q(
        browser_run, "SELECT site_input, service_id, fires_before_consent, fires_after_accept, fires_after_reject "
                     "FROM site_service_consent WHERE site_input IN (?, ?)", (CMP_GATED_SITE, CMP_IGNORED_SITE))}
    for service in TAG_SERVICES:
        assert mart[(CMP_GATED_SITE, service)] == (False, True, False)
        assert mart[(CMP_IGNORED_SITE, service)] == (True, True, True)


def test_cmp_vendor_and_clicks(autoconsent, browser_run):
    pages = {(d, c, s): (cmp, res) for d, c, s, cmp, res in _q(
        browser_run, "SELECT input_domain, consent_state, signal, cmp, consent_result FROM stg_pages "
                     "WHERE method = 'browser'")}
    assert pages[(CMP_GATED_SITE, "none", "none")] == (CMP_VENDOR, "not_attempted")
    assert pages[(CMP_GATED_SITE, "accept", "none")] == (CMP_VENDOR, "clicked")
    assert pages[(CMP_GATED_SITE, "reject", "none")] == (CMP_VENDOR, "clicked")
    assert pages[(DYN_LOADER_SITE, "accept", "none")] == ("none", "no_banner")
    assert {r[0] for r in _q(browser_run, "SELECT DISTINCT cmp FROM site_service_consent WHERE site_input = ?",
                             (CMP_IGNORED_SITE,))} == {CMP_VENDOR}


def test_gpc_honouring_detected(browser_run):
    gpc = dict(_q(browser_run, "SELECT site_input, bool_or(fires_with_gpc) FROM site_service_consent "
                               "GROUP BY site_input"))
    assert gpc[GPC_HONOURED_SITE] is False
    assert gpc[DYN_LOADER_SITE] is True
    totals = dict(_q(browser_run, "SELECT service_id, sites_with_gpc FROM service_consent"))
    assert totals["google-tag-manager"] == 2  # dyn-loader ignores GPC; cmp-ignored loads on GPC pass too
    headers = _q(browser_run, "SELECT count(*) FROM raw_pages WHERE signal = 'gpc' AND error_class IS NULL")
    assert headers[0][0] == 4


def test_js_cookies_and_storage(browser_run):
    ga = _q(browser_run, "SELECT expires IS NOT NULL, session, third_party, domain FROM stg_cookies "
                         "WHERE input_domain = ? AND method = 'browser' AND consent_state = 'none' AND signal = 'none' "
                         "AND name = '_ga'", (DYN_LOADER_SITE,))
    assert ga == [(True, False, False, DYN_LOADER_SITE)]
    gated = _q(browser_run, "SELECT name FROM stg_cookies WHERE input_domain = ? AND method = 'browser' "
                            "AND consent_state = 'none'", (CMP_GATED_SITE,))
    assert gated == []  # nothing is set before consent on the gated site
    storage = set(_q(browser_run, "SELECT kind, key, third_party FROM stg_storage WHERE input_domain = ? "
                                  "AND consent_state = 'none' AND signal = 'none'", (DYN_LOADER_SITE,)))
    assert storage == {("local", "_ga_client", False), ("session", "_gat_session", False)}


def test_requests_recorded_with_initiator_and_through_proxy(browser_run):
    rows = _q(browser_run, "SELECT host, resource_type, initiator, remote_ip, status FROM raw_resources "
                           "WHERE input_domain = ? AND method = 'browser' AND consent_state = 'none' "
                           "AND signal = 'none'", (DYN_LOADER_SITE,))
    initiator = {(h, t): i for h, t, i, _, _ in rows}
    # the tag manager's container injected the analytics library and the pixel script
    assert initiator[("www.google-analytics.com", "script")].startswith("https://www.googletagmanager.com/gtm.js")
    assert initiator[("connect.facebook.net", "script")].startswith("https://www.googletagmanager.com/gtm.js")
    assert initiator[("www.googletagmanager.com", "script")] == f"https://{DYN_LOADER_SITE}/"
    assert {ip for _, _, _, ip, st in rows if st} == {"127.0.0.1"}  # answered by the proxy, never directly
    browser_hosts = {r[0] for r in _q(browser_run, "SELECT DISTINCT host FROM raw_resources WHERE method = 'browser'")}
    proxied = {host for _, host in browser_run["log"]}
    assert browser_hosts <= proxied


def test_old_runs_and_resume_contract(browser_run):
    info = json.loads((browser_run["run_dir"] / ".input.json").read_text(encoding="utf-8"))
    assert "storage" in info["tables"]
    manifest = json.loads((browser_run["run_dir"] / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["settings"]["mode"] == "browser"
    assert manifest["settings"]["consent_states"] == ["none", "accept", "reject"]


def test_browser_crash_is_recorded_and_recovered(tmp_path, local_dns):
    require_binary("chromium")
    tag = f"crashtest{os.getpid()}"
    domains = tmp_path / "domains.txt"
    # the never-finishing page holds the only context while the browser is killed; the rest need a new browser
    domains.write_text(f"{NEVER_LOADS_SITE}\n{DYN_LOADER_SITE}\n{CMP_GATED_SITE}\n", encoding="utf-8")
    with LocalWeb(build_web("browser")) as lw:
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
        env.update(lw.proxy_env())
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "crawl", str(domains), "--out", str(tmp_path / "out"),
             "--mode", "browser", "--nameserver", local_dns.nameserver, "--no-autothrottle", "--max-pages", "1",
             "--no-progress",
             "-s", "SR_BROWSER_CONTEXTS=1", "-s", "SR_BROWSER_PAGE_BUDGET=20", "-s", f"SR_BROWSER_TAG={tag}"],
            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while not tagged_pids(tag) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert tagged_pids(tag), "chromium never started"
            time.sleep(3.0)  # the never-finishing page is loading
            assert kill_tagged(tag)
            _, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    run_dir = next((tmp_path / "out" / "raw").iterdir())
    con = duckdb.connect()
    outcomes = dict(con.execute("SELECT input_domain, outcome FROM read_parquet(?)",
                                [str(run_dir / "sites" / "*.parquet")]).fetchall())
    assert outcomes == {NEVER_LOADS_SITE: "browser_error", DYN_LOADER_SITE: "ok", CMP_GATED_SITE: "ok"}
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["browser"]["launches"] == 2


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents.setdefault(int(stat[stat.rfind(")") + 2:].split()[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def _cmdline(pid: int) -> bytes:
    """A process's command line, or nothing when it has exited meanwhile (Chromium's helpers come and go)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_renderer_crash_is_browser_error_and_browser_lives_on():
    require_binary("chromium")
    import asyncio

    from crawler.browser.session import BrowserConfig, BrowserPool
    from crawler.browser.visit import VisitFailed

    tag = f"rendertest{os.getpid()}"

    async def scenario(lw: LocalWeb):
        pool = BrowserPool(BrowserConfig(proxy=lw.proxy_url, page_budget=30, tag=tag))
        try:
            loading = asyncio.ensure_future(pool.visit(f"https://{NEVER_LOADS_SITE}/"))
            # the page is parsing in its final renderer once it asks for the script that never arrives (a renderer
            # listed earlier may be the about:blank one that the navigation swaps out)
            for _ in range(150):
                if ("CONNECT", STALLED_CDN) in lw.request_log or loading.done():
                    break
                await asyncio.sleep(0.2)
            assert ("CONNECT", STALLED_CDN) in lw.request_log, "the never-loading page did not start loading"
            killed = 0
            while not loading.done() and killed < 50:  # every renderer there is, until the visit ends
                for pid in [p for main in tagged_pids(tag) for p in _descendants(main)
                            if b"--type=renderer" in _cmdline(p)]:
                    with contextlib.suppress(ProcessLookupError):  # a spare renderer may have exited already
                        os.kill(pid, 9)
                        killed += 1
                await asyncio.wait({loading}, timeout=0.5)
            assert killed, "no renderer found to kill"
            with pytest.raises(VisitFailed) as failed:
                await asyncio.wait_for(loading, 20)
            after = await pool.visit(f"https://{DYN_LOADER_SITE}/")
            return failed.value.classified, after.status, pool.launches
        finally:
            await pool.close()

    with LocalWeb(build_web("browser"), log=True) as lw:
        classified, status, launches = asyncio.run(scenario(lw))
    assert (classified.outcome, classified.error_class) == ("browser_error", "RendererCrashed")
    assert (status, launches) == (200, 1)  # the browser itself survived and served the next visit


def _factor(run, domain, service, code):
    rows = _q(run, "SELECT f.level, f.evidence FROM (SELECT unnest(factors) AS f FROM site_service_risk_all "
                   "WHERE site_input = ? AND service_id = ?) WHERE f.code = ?", (domain, service, code))
    return rows[0] if rows else None


def test_site_risk_reads_the_consent_passes(autoconsent, browser_run):
    """A tag that loads only after "accept" is not scored as loading before consent; one that loads despite the
    banner is, from the browser's pre-consent load; a site honouring GPC earns the tested DNT/GPC mitigation."""
    level, evidence = _factor(browser_run, CMP_GATED_SITE, "meta-pixel", "F2")
    assert level == "gated" and "after accept" in evidence
    level, evidence = _factor(browser_run, CMP_IGNORED_SITE, "meta-pixel", "F2")
    assert level == "present" and "before consent" in evidence
    assert _factor(browser_run, GPC_HONOURED_SITE, "meta-pixel", "M:dnt_honoured")[0] == "tested"
    assert _factor(browser_run, DYN_LOADER_SITE, "meta-pixel", "M:dnt_honoured") is None  # loads despite GPC
    scores = dict(_q(browser_run, "SELECT site_input, risk_score FROM site_service_risk_all "
                                  "WHERE service_id = 'meta-pixel'"))
    assert scores[CMP_GATED_SITE] < scores[CMP_IGNORED_SITE]


@pytest.mark.slow
def test_consent_notebook_draws_from_the_browser_crawl(autoconsent, browser_run, tmp_path):
    """Notebook 07 against this module's browser-mode warehouse: every figure drawn, the gated site's tags wait."""
    from tests.test_notebooks import (
        BROWSER_MISSING,
        BROWSER_NOTEBOOK,
        execute,
        figure_cells,
        has_image,
        texts,
    )

    nb = execute(BROWSER_NOTEBOOK, str(browser_run["out"] / "warehouse.duckdb"), cwd=tmp_path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    out = texts(nb)
    assert BROWSER_MISSING not in out
    assert all(has_image(c) for c in figure_cells(nb))
    assert CMP_IGNORED_SITE in out and "meta-pixel" in out
