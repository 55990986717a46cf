"""The site state machine without Scrapy: every transition from answers and failures to fetches and rows."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from common.tables import SCHEMAS, TABLES
from crawler.browser.visit import Pass, RequestRecord, Visit
from crawler.examine import examine
from crawler.outcomes import Classified
from crawler.sitecrawl import PRE_CONSENT, Answer, CrawlConfig, SiteCrawl, Step, extra_passes, start_urls

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
HTML = {"content-type": "text/html; charset=utf-8"}
HOME = (b'<html><head><title>Start</title><script src="https://www.googletagmanager.com/gtm.js?id=GTM-AB12CD3">'
        b"</script><script>fbq('init', '123456789012345');</script></head><body>"
        b'<a href="/impressum">Impressum</a> <a href="/datenschutz">Datenschutz</a> '
        b'<a href="/kontakt">Kontakt</a> <a href="https://other.example/x">weg</a></body></html>')
PAGE = b"<html><head><title>Unterseite</title></head><body><p>Text</p></body></html>"
POLICY = (b"<html lang='de'><head><title>Datenschutz</title></head><body><h1>Datenschutz</h1>"
          b"<p>Wir nutzen Google Tag Manager.</p></body></html>")
DNS = Classified("dns_error", "DNSLookupError", "no such name")
REFUSED = Classified("connect_error", "ConnectionRefusedError", "refused")
TIMEOUT = Classified("timeout", "DownloadTimeoutError", "took longer than 20 s")


def crawl(domain="a-site.de", **config) -> SiteCrawl:
    cfg = CrawlConfig(run_id="20260301T120000Z-abcdef", **{"max_pages": 5, "headers_of_interest": ("set-cookie", "server"),
                                                          **config})
    return SiteCrawl(cfg, domain, 7, 3, clock=lambda: T0)


def html(url, body=HOME, status=200, headers=None, rows=()) -> Answer:
    return Answer(url, status, {**HTML, **(headers or {})}, rows, body, 0.01)


def run_job(sc: SiteCrawl, fetch, step: Step) -> Step:
    """What the spider does with a step that hands over a page: examine it (the real pure function)."""
    assert step.job is not None
    return sc.on_examined(fetch, examine(step.job))


def finish_subpages(sc: SiteCrawl, step: Step, body=PAGE) -> Step:
    """Answer every fetched subpage with an HTML page; returns the last step (the one with the bundle)."""
    fetches = list(step.fetches)
    last = step
    for f in fetches:
        s = sc.on_answer(f, html(f.url, POLICY if f.page_kind == "privacy" else body))
        last = run_job(sc, f, s) if s.job else s
    return last


def site_row(step: Step) -> dict:
    assert step.bundle is not None
    return step.bundle["sites"][0]


def test_start_urls_and_first_fetch():
    assert start_urls("a.de") == ["https://a.de/", "http://a.de/", "https://www.a.de/", "http://www.a.de/"]
    assert start_urls("www.a.de") == ["https://www.a.de/", "http://www.a.de/"]
    f = crawl().start()
    assert (f.url, f.kind, f.page_kind, f.chain, f.pass_) == ("https://a-site.de/", "home", "home", (), PRE_CONSENT)


def test_home_page_then_chosen_subpages_then_the_bundle():
    sc = crawl()
    home = sc.start()
    step = sc.on_answer(home, html(home.url, rows=[("server", "nginx"), ("x-other", "1"),
                                                   ("set-cookie", "sid=abc; Path=/; HttpOnly")]))
    assert step.job is not None and step.job.links and not step.fetches and step.bundle is None
    step = run_job(sc, home, step)
    kinds = {f.page_kind for f in step.fetches}
    assert kinds == {"imprint", "privacy", "contact"} and all(f.kind == "subpage" for f in step.fetches)
    assert step.bundle is None  # three pages to go
    last = finish_subpages(sc, step)
    row = site_row(last)
    assert (row["outcome"], row["pages_ok"], row["pages_failed"], row["site"]) == ("ok", 4, 0, "a-site.de")
    assert (row["rank"], row["line_no"], row["started_at"], row["cross_site_redirect"]) == (7, 3, T0, False)
    bundle = last.bundle
    assert set(bundle) == set(TABLES)
    for table, rows in bundle.items():  # every row fits its table's schema
        for r in rows:
            assert set(r) <= set(SCHEMAS[table].names), (table, set(r) - set(SCHEMAS[table].names))
    home_row = next(p for p in bundle["pages"] if p["page_kind"] == "home")
    assert home_row["title"] == "Start" and home_row["status"] == 200
    assert {h["name"] for h in bundle["response_headers"]} == {"server", "set-cookie"}
    assert [c["name"] for c in bundle["cookies"]] == ["sid"]
    assert any(r["host"] == "www.googletagmanager.com" for r in bundle["resources"])
    assert [(s["signature_id"], s["value"]) for s in bundle["signatures"]] == [("meta-pixel-init", "123456789012345")]
    assert [(p["page_kind"], p["lang"]) for p in bundle["policy_texts"]] == [("privacy", "de")]
    assert "Google Tag Manager" in bundle["policy_texts"][0]["text"]
    assert last.counts["site/outcome/ok"] == 1 and last.counts["rows/pages"] == 4


def test_one_page_per_site_needs_no_links():
    sc = crawl(max_pages=1)
    home = sc.start()
    step = sc.on_answer(home, html(home.url))
    assert step.job is not None and not step.job.links
    step = run_job(sc, home, step)
    assert not step.fetches and site_row(step)["outcome"] == "ok"


def test_connection_failures_fall_back_through_every_start_url():
    sc = crawl()
    f = sc.start()
    seen = [f.url]
    for failure in (DNS, REFUSED, REFUSED):
        step = sc.on_failure(f, failure)
        assert step.counts["site/fallback"] == 1 and step.bundle is None
        (f,) = step.fetches
        seen.append(f.url)
    assert seen == start_urls("a-site.de")
    step = sc.on_failure(f, REFUSED)
    row = site_row(step)
    # the primary attempt's failure is the outcome; every attempt is listed
    assert (row["outcome"], row["error_class"]) == ("dns_error", "DNSLookupError")
    assert [a.split(" -> ")[1] for a in row["attempts"]] == ["dns_error (DNSLookupError)"] + [
        "connect_error (ConnectionRefusedError)"] * 3
    assert row["pages_failed"] == 1 and row["site"] == "a-site.de"


def test_a_fallback_that_answers_decides_the_outcome():
    sc = crawl(max_pages=1)
    f = sc.start()
    (f,) = sc.on_failure(f, REFUSED).fetches
    assert f.url == "http://a-site.de/"
    step = run_job(sc, f, sc.on_answer(f, html(f.url)))
    row = site_row(step)
    assert row["outcome"] == "ok" and row["final_url"] == "http://a-site.de/"
    assert row["attempts"] == ["https://a-site.de/ -> connect_error (ConnectionRefusedError)"]


@pytest.mark.parametrize("failure", [TIMEOUT, Classified("robots_denied", "IgnoreRequest", "robots.txt"),
                                     Classified("too_large", "DownloadCancelledError", "too big"),
                                     Classified("refused_private", "PrivateAddressRefused", "10.0.0.1")])
def test_failures_that_are_no_connection_failure_do_not_fall_back(failure):
    sc = crawl()
    step = sc.on_failure(sc.start(), failure)
    assert not step.fetches
    assert site_row(step)["outcome"] == failure.outcome


def test_home_redirects_are_followed_and_may_move_the_site():
    sc = crawl(max_pages=1)
    f = sc.start()
    step = sc.on_answer(f, Answer(f.url, 301, {"location": "https://b-site.de/welcome"}, (), b"", 0.02))
    (hop,) = step.fetches
    assert (hop.url, hop.kind, hop.chain) == ("https://b-site.de/welcome", "home", ("https://a-site.de/",))
    assert step.counts["page/redirect_hops"] == 1
    answered = sc.on_answer(hop, html(hop.url))
    assert answered.counts["site/cross_site_redirect"] == 1
    step = run_job(sc, hop, answered)
    row = site_row(step)
    assert row["cross_site_redirect"] is True and row["site"] == "b-site.de" and row["final_host"] == "b-site.de"
    assert row["redirect_chain"] == ["https://a-site.de/", "https://b-site.de/welcome"]
    page = step.bundle["pages"][0]
    assert page["url"] == "https://a-site.de/" and page["final_url"] == "https://b-site.de/welcome"
    assert page["fetch_ms"] == pytest.approx(30.0)


def test_redirect_loops_and_too_many_hops():
    sc = crawl()
    f = sc.start()
    (f,) = sc.on_answer(f, Answer(f.url, 302, {"location": "/a"}, (), b"")).fetches
    step = sc.on_answer(f, Answer(f.url, 302, {"location": "/"}, (), b""))
    row = site_row(step)
    assert (row["outcome"], row["error_class"]) == ("redirect_loop", "RedirectLoop")
    sc = crawl(max_redirects=2)
    f = sc.start()
    for i in range(3):
        step = sc.on_answer(f, Answer(f.url, 302, {"location": f"/{i}"}, (), b""))
        if step.bundle:
            break
        (f,) = step.fetches
    assert site_row(step)["outcome"] == "redirect_loop"


def test_a_failure_on_a_redirect_hop_is_the_outcome_without_fallback():
    sc = crawl()
    f = sc.start()
    (hop,) = sc.on_answer(f, Answer(f.url, 302, {"location": "http://10.0.0.7/"}, (), b"")).fetches
    step = sc.on_failure(hop, Classified("refused_private", "PrivateAddressRefused", "refused 10.0.0.7"))
    assert not step.fetches
    row = site_row(step)
    assert row["outcome"] == "refused_private" and row["final_url"] == "http://10.0.0.7/"


def test_subpage_redirects_stay_on_the_site():
    sc = crawl(max_pages=3)
    home = sc.start()
    step = run_job(sc, home, sc.on_answer(home, html(home.url)))
    same, other = step.fetches[:2]
    step = sc.on_answer(same, Answer(same.url, 301, {"location": "/neu"}, (), b""))
    assert [f.url for f in step.fetches] == ["https://a-site.de/neu"]  # same site: followed
    hop = step.fetches[0]
    run_job(sc, hop, sc.on_answer(hop, html(hop.url, PAGE)))
    step = sc.on_answer(other, Answer(other.url, 302, {"location": "https://elsewhere.example/"}, (), b""))
    assert not step.fetches  # off-site: recorded, not followed
    page = step.bundle["pages"][-1]
    assert (page["status"], page["error_class"]) == (302, "NotFollowed")
    assert site_row(step)["outcome"] == "ok" and site_row(step)["pages_failed"] == 1


def test_proxy_errors_are_failures_and_plain_errors_are_answers():
    sc = crawl()
    f = sc.start()
    step = sc.on_answer(f, Answer(f.url, 502, {"proxy-status": "localweb; error=dns_error"}, (), b""))
    assert step.counts["page/error/dns_error"] == 1 and [x.url for x in step.fetches] == ["http://a-site.de/"]
    sc = crawl()
    f = sc.start()
    step = sc.on_answer(f, html(f.url, b"<h1>Fehler</h1>", status=500))
    assert step.job is None
    row = site_row(step)
    assert (row["outcome"], row["error_class"], row["detail"]) == ("http_error", "HTTP500", "home page answered HTTP 500")
    assert step.bundle["pages"][0]["error_class"] == "HTTP500"


def test_a_home_page_that_is_no_html():
    sc = crawl()
    f = sc.start()
    step = sc.on_answer(f, Answer(f.url, 200, {"content-type": "application/pdf"}, (), b"%PDF-1.4"))
    assert step.job is None
    row = site_row(step)
    assert (row["outcome"], row["detail"]) == ("not_html", "home page is application/pdf")


def test_a_page_that_exceeds_the_parse_budget():
    budget = Classified("parse_budget_exceeded", "ParseBudget", "not examined within 4 s")
    sc = crawl()
    f = sc.start()
    sc.on_answer(f, html(f.url))
    step = sc.on_examined(f, budget)
    assert not step.fetches  # no links were read: no subpages
    row = site_row(step)
    assert (row["outcome"], row["error_class"], row["pages_failed"]) == ("parse_budget_exceeded", "ParseBudget", 1)
    page = step.bundle["pages"][0]
    assert page["status"] == 200 and page["error_class"] == "parse_budget_exceeded"
    # a subpage over budget is the page's failure, not the site's
    sc = crawl(max_pages=2)
    home = sc.start()
    (sub,) = run_job(sc, home, sc.on_answer(home, html(home.url))).fetches
    sc.on_answer(sub, html(sub.url, PAGE))
    row = site_row(sc.on_examined(sub, budget))
    assert (row["outcome"], row["pages_ok"], row["pages_failed"]) == ("ok", 1, 1)


def test_a_failed_subpage_does_not_change_the_outcome():
    sc = crawl(max_pages=2)
    home = sc.start()
    (sub,) = run_job(sc, home, sc.on_answer(home, html(home.url))).fetches
    step = sc.on_failure(sub, TIMEOUT)
    assert not step.fetches  # subpages never fall back
    row = site_row(step)
    assert (row["outcome"], row["pages_ok"], row["pages_failed"]) == ("ok", 1, 1)
    assert step.bundle["pages"][-1]["error_class"] == "timeout"


def test_give_up_a_lost_site():
    sc = crawl()
    f = sc.start()
    (f,) = sc.on_failure(f, DNS).fetches
    row = site_row(sc.give_up())
    assert row["outcome"] == "dns_error"  # what it knew: the primary attempt's failure
    sc = crawl()
    sc.start()
    step = sc.give_up()
    assert (site_row(step)["outcome"], site_row(step)["error_class"]) == ("connect_error", "Lost")
    assert step.counts["site/lost"] == 1 and sc.finished


# --------------------------------------------------------------------------- browser mode

def visit(url, pass_=PRE_CONSENT, dom="", status=200, **kw) -> Visit:
    v = Visit(url=url, pass_=pass_, final_url=url, status=status, redirect_chain=[url], dom=dom,
              cmp="acris", consent_result="not_attempted" if pass_ == PRE_CONSENT else "clicked",
              load_state="networkidle", duration_ms=1500.0, title="Gerendert", **kw)
    v.requests = [RequestRecord(url, "document", url, navigation=True, status=status),
                  RequestRecord("https://www.googletagmanager.com/gtm.js?id=GTM-AB12CD3", "script", url, status=200)]
    v.cookies = [{"name": "_ga", "value": "GA1.2.3", "domain": ".b-site.de", "path": "/", "expires": 2e9}]
    return v


def test_browser_home_visit_then_passes_then_subpages():
    passes = extra_passes(["accept", "reject"], ["gpc"])
    sc = crawl("b-site.de", method="browser", max_pages=2, passes=passes)
    home = sc.start()
    dom = '<html><body><a href="/datenschutz-erst-per-script">Datenschutz</a></body></html>'
    step = sc.on_visit(home, html(home.url, HOME.replace(b"/datenschutz", b"/nur-im-rohtext")), visit(home.url, dom=dom))
    assert step.job is not None and step.job.dom is not None and step.job.links
    step = run_job(sc, home, step)
    assert [f.pass_ for f in step.fetches if f.kind == "pass"] == list(passes)
    (sub,) = [f for f in step.fetches if f.kind == "subpage"]
    assert sub.url == "https://b-site.de/datenschutz-erst-per-script"  # a link only the rendered DOM has
    last = None
    for f in step.fetches:
        if f.kind == "pass":
            s = sc.on_visit(f, html(f.url), visit(f.url, f.pass_))
            assert s.job is None  # passes are not examined statically again
        else:
            s = sc.on_visit(f, html(f.url, POLICY), visit(f.url, dom=POLICY.decode()))
            s = run_job(sc, f, s)
        last = s
    row = site_row(last)
    assert (row["outcome"], row["method"], row["pages_ok"]) == ("ok", "browser", 5)
    pages = last.bundle["pages"]
    assert {(p["consent_state"], p["signal"]) for p in pages} == {("none", "none"), ("accept", "none"),
                                                                    ("reject", "none"), ("none", "gpc")}
    assert all(p["method"] == "browser" and p["title"] == "Gerendert" for p in pages)
    resources = last.bundle["resources"]
    assert {r["method"] for r in resources} == {"browser", "static"}
    assert sum(1 for r in resources if r["method"] == "browser") == 2 * 5  # two requests per visit
    assert last.bundle["policy_texts"][0]["method"] == "browser"


def test_browser_failed_visit_keeps_what_it_loaded():
    sc = crawl("b-site.de", method="browser", passes=extra_passes(["accept"], []))
    home = sc.start()
    partial = visit(home.url)
    partial.load_state = "domcontentloaded"
    step = sc.on_failure(home, Classified("page_budget_exceeded", "PageBudget", "not finished in 30 s"), partial)
    row = site_row(step)
    assert (row["outcome"], row["final_url"]) == ("page_budget_exceeded", "https://b-site.de/")
    page = step.bundle["pages"][0]
    assert (page["error_class"], page["load_state"], page["cmp"]) == ("page_budget_exceeded", "domcontentloaded", "acris")
    assert len(step.bundle["resources"]) == 2 and step.bundle["cookies"][0]["name"] == "_ga"


def test_browser_failed_pass_is_tagged_with_its_pass():
    sc = crawl("b-site.de", method="browser", max_pages=1, passes=(Pass("accept"),))
    home = sc.start()
    (acc,) = run_job(sc, home, sc.on_visit(home, html(home.url), visit(home.url, dom=HOME.decode()))).fetches
    step = sc.on_failure(acc, Classified("browser_error", "BrowserGone", "browser died"))
    assert not step.fetches  # passes never fall back
    failed = step.bundle["pages"][-1]
    assert (failed["consent_state"], failed["error_class"]) == ("accept", "browser_error")
    assert site_row(step)["outcome"] == "ok"


def _pass_visit(url, pass_, result):
    v = visit(url, pass_)
    v.consent_result = result
    v.cmp = "acris" if result in ("clicked", "pending") else "none"  # what autoconsent names when it saw no banner
    return v


def test_a_consent_pass_that_misses_the_banner_the_site_showed_is_retried_then_named_so():
    sc = crawl("b-site.de", method="browser", max_pages=1, passes=(Pass("accept"),))
    home = sc.start()
    (acc,) = run_job(sc, home, sc.on_visit(home, html(home.url), visit(home.url, dom=HOME.decode()))).fetches
    tries = [acc]
    for attempt in (1, 2):
        step = sc.on_visit(tries[-1], html(acc.url), _pass_visit(acc.url, acc.pass_, "no_banner"))
        (retry,) = step.fetches
        assert (retry.kind, retry.pass_, retry.attempt) == ("pass", Pass("accept"), attempt)
        assert step.counts["browser/consent_retry"] == 1 and step.bundle is None
        tries.append(retry)
    step = sc.on_visit(tries[-1], html(acc.url), _pass_visit(acc.url, acc.pass_, "no_banner"))
    assert not step.fetches and step.counts["browser/consent_after_retry/no_banner_after_retry"] == 1
    pages = step.bundle["pages"]
    assert [p["consent_result"] for p in pages if p["consent_state"] == "accept"] == ["no_banner_after_retry"]
    assert len(pages) == 2  # the tries in vain are not rows: the last one stands for the pass
    assert site_row(step)["pages_ok"] == 2


def test_a_retried_pass_that_clicks_is_clicked():
    sc = crawl("b-site.de", method="browser", max_pages=1, passes=(Pass("reject"),))
    home = sc.start()
    (rej,) = run_job(sc, home, sc.on_visit(home, html(home.url), visit(home.url, dom=HOME.decode()))).fetches
    (retry,) = sc.on_visit(rej, html(rej.url), _pass_visit(rej.url, rej.pass_, "pending")).fetches
    step = sc.on_visit(retry, html(rej.url), _pass_visit(rej.url, rej.pass_, "clicked"))
    assert [p["consent_result"] for p in step.bundle["pages"] if p["consent_state"] == "reject"] == ["clicked"]


@pytest.mark.parametrize("home_cmp", ["none", "unknown"])
def test_no_banner_is_believed_where_the_site_showed_none(home_cmp):
    """No load named a consent tool, and the pass's own detection finished without a banner (``cmp = none``),
    whether or not the pre-consent load could tell: no retry."""
    sc = crawl("b-site.de", method="browser", max_pages=1, passes=(Pass("accept"),))
    home = sc.start()
    shown = visit(home.url, dom=HOME.decode())
    shown.cmp = home_cmp
    (acc,) = run_job(sc, home, sc.on_visit(home, html(home.url), shown)).fetches
    step = sc.on_visit(acc, html(acc.url), _pass_visit(acc.url, acc.pass_, "no_banner"))
    assert not step.fetches
    assert [p["consent_result"] for p in step.bundle["pages"] if p["consent_state"] == "accept"] == ["no_banner"]


def test_another_pass_that_saw_the_banner_is_evidence_enough():
    """The pre-consent load missed the banner (a slow page), the accept pass clicked it: a reject pass that then
    finds no banner is retried."""
    sc = crawl("b-site.de", method="browser", max_pages=1, passes=(Pass("accept"), Pass("reject")))
    home = sc.start()
    missed = visit(home.url, dom=HOME.decode())
    missed.cmp = "none"
    acc, rej = run_job(sc, home, sc.on_visit(home, html(home.url), missed)).fetches
    sc.on_visit(acc, html(acc.url), _pass_visit(acc.url, acc.pass_, "clicked"))
    (retry,) = sc.on_visit(rej, html(rej.url), _pass_visit(rej.url, rej.pass_, "no_banner")).fetches
    assert (retry.pass_, retry.attempt) == (Pass("reject"), 1)


def _undecided_pass(url, pass_, result):
    v = _pass_visit(url, pass_, result)
    if result == "no_banner":
        v.cmp = "unknown"  # autoconsent never reported within the wait
    return v


def test_loads_that_could_not_tell_let_a_pass_retry():
    """Under load autoconsent may not report at all (``cmp = unknown``): where no load of the site could
    tell, a pass that finds no banner is tried again; one that clicks on a retry is clicked. If no try ever sees a
    banner, the pass stays ``no_banner`` (no load of the site named a consent tool)."""
    for results, final in ((["no_banner", "clicked"], "clicked"), (["no_banner"] * 3, "no_banner")):
        sc = crawl("b-site.de", method="browser", max_pages=1, passes=(Pass("accept"),))
        home = sc.start()
        undecided = visit(home.url, dom=HOME.decode())
        undecided.cmp = "unknown"
        (acc,) = run_job(sc, home, sc.on_visit(home, html(home.url), undecided)).fetches
        tries = [acc]
        for result in results[:-1]:
            (retry,) = sc.on_visit(tries[-1], html(acc.url), _undecided_pass(acc.url, acc.pass_, result)).fetches
            assert retry.attempt == len(tries)
            tries.append(retry)
        step = sc.on_visit(tries[-1], html(acc.url), _undecided_pass(acc.url, acc.pass_, results[-1]))
        assert not step.fetches
        assert [p["consent_result"] for p in step.bundle["pages"] if p["consent_state"] == "accept"] == [final]


def test_without_retries_no_banner_stays_no_banner():
    sc = crawl("b-site.de", method="browser", max_pages=1, passes=(Pass("accept"),), consent_retries=0)
    home = sc.start()
    (acc,) = run_job(sc, home, sc.on_visit(home, html(home.url), visit(home.url, dom=HOME.decode()))).fetches
    step = sc.on_visit(acc, html(acc.url), _pass_visit(acc.url, acc.pass_, "no_banner"))
    assert [p["consent_result"] for p in step.bundle["pages"] if p["consent_state"] == "accept"] == ["no_banner"]
