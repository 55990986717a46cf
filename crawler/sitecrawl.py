"""The site state machine: from a site's responses and failures to its next fetches and the rows of every table.

Pure (no Scrapy, no I/O, no clock but the one handed in), shared by the static and the browser spider, which only
translate Scrapy's requests, responses and failures into ``Fetch``, ``Answer`` and ``Classified`` and back.

One ``SiteCrawl`` per input domain: it starts at ``https://domain/`` and falls back to ``http://`` and to the
``www.`` variant on a connection failure (DNS, connect, TLS); follows redirects itself (recording the chain,
stopping loops, letting a home page move to another site and refusing to follow a page off-site); decides the
site's outcome from the home page; then fetches up to ``max_pages - 1`` chosen same-site pages (browser mode: also
the extra consent and signal passes of the home page). A page that answered HTML is handed back to the adapter as
a ``PageJob`` to examine (in the observation pool); its findings, or the failure to examine it in time, come back
through ``on_examined``. When the last page of the site is done the step carries the site's rows (``bundle``).
Each step also lists the events to count (``counts``: stats keys without the ``sr/`` prefix).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import urljoin

from common.hosts import host_of, registrable_domain
from common.tables import TABLES
from crawler.browser.observe import page_extras, visit_rows
from crawler.browser.visit import Pass, Visit
from crawler.examine import PageFindings, PageJob
from crawler.observe import Observation, parse_set_cookie
from crawler.outcomes import ANSWERED, FALLBACK_ON, Classified, classify_proxy_response, is_html
from crawler.pagepick import pick_pages
from crawler.pagetext import POLICY_KINDS

PRE_CONSENT = Pass()


def start_urls(domain: str) -> list[str]:
    """The start URLs tried in order: https, http, then the www. variant of each."""
    urls = [f"https://{domain}/", f"http://{domain}/"]
    if not domain.startswith("www."):
        urls += [f"https://www.{domain}/", f"http://www.{domain}/"]
    return urls


def extra_passes(consent_states: Sequence[str], signals: Sequence[str]) -> tuple[Pass, ...]:
    """Browser mode: the passes after the pre-consent one, in a fixed order (accept, reject, then gpc)."""
    out = [Pass(c, "none") for c in ("accept", "reject") if c in consent_states]
    if "gpc" in signals:
        out.append(Pass("none", "gpc"))
    return tuple(out)


@dataclass(frozen=True)
class CrawlConfig:
    """What shapes every site of a run (from the ``SR_*`` settings)."""

    run_id: str
    method: str = "static"  # static | browser
    max_pages: int = 5
    max_redirects: int = 10
    policy_text_chars: int = 300_000
    headers_of_interest: tuple[str, ...] = ()  # lower-case names
    passes: tuple[Pass, ...] = ()  # browser mode: the extra passes of the home page
    consent_retries: int = 2  # browser mode: more tries of a consent pass that found no banner the CMP had shown


@dataclass(frozen=True, slots=True)
class Fetch:
    """One request to make: ``kind`` is ``home`` (a start URL or a hop of its redirects), ``subpage`` or
    ``pass`` (browser: the home page again, in another consent state or with a signal). ``chain`` holds the
    URLs already fetched for this page (earlier redirect hops); ``id`` ties the answer back to the fetch;
    ``attempt`` counts the retries of a consent pass (a retry waits ``1 + attempt`` times as long to settle)."""

    id: int
    url: str
    kind: str
    page_kind: str
    chain: tuple[str, ...] = ()
    latency: float = 0.0
    pass_: Pass = PRE_CONSENT
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer as the adapter saw it. ``headers``: lower-case name -> last value; ``header_rows``: every
    value of every header (lower-case name, value), in order; ``latency``: seconds for this hop."""

    url: str
    status: int
    headers: Mapping[str, str]
    header_rows: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    latency: float = 0.0


@dataclass
class Step:
    """What the adapter does next: make ``fetches``, examine ``job`` (then call ``on_examined``), write the
    ``bundle`` (the finished site's rows by table), count ``counts``."""

    fetches: list[Fetch] = field(default_factory=list)
    job: PageJob | None = None
    bundle: dict[str, list[dict]] | None = None
    counts: Counter = field(default_factory=Counter)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SiteCrawl:
    """The state of one site's crawl. Drive it with ``start``, ``on_answer`` / ``on_visit``, ``on_examined``,
    ``on_failure`` and, for a site whose requests vanished, ``give_up``. Never raises on crawled content."""

    def __init__(self, config: CrawlConfig, domain: str, rank: int | None, line_no: int,
                 clock: Callable[[], datetime] = _utcnow):
        self.config = config
        self.domain = domain
        self.rank = rank
        self.line_no = line_no
        self.clock = clock
        self.candidates = start_urls(domain)
        self.started_at = clock()
        self.attempt = 0
        self.attempts: list[str] = []
        self.first_failure: Classified | None = None
        self.pending = 1  # pages not finished yet (the home page until it answers)
        self.outcome = ""
        self.error_class = ""
        self.detail = ""
        self.final_url = ""
        self.redirect_chain: list[str] = []
        self.cross_site = False
        self.pages_ok = 0
        self.pages_failed = 0
        self.finished = False
        self.cmps_seen: set[str] = set()  # browser mode: consent tools the site's home page loads detected
        self.rows: dict[str, list[dict]] = {t: [] for t in TABLES if t != "sites"}
        self._ids = itertools.count(1)
        self._examining: dict[int, tuple[dict, Answer | None, Visit | None]] = {}

    # --- fetches ----------------------------------------------------------------------------------------
    def _fetch(self, url: str, kind: str, page_kind: str, chain: Sequence[str] = (), latency: float = 0.0,
               pass_: Pass = PRE_CONSENT, attempt: int = 0) -> Fetch:
        return Fetch(next(self._ids), url, kind, page_kind, tuple(chain), latency, pass_, attempt)

    def start(self) -> Fetch:
        """The first request: the site's first start URL."""
        return self._fetch(self.candidates[0], "home", "home")

    # --- answers ----------------------------------------------------------------------------------------
    def on_answer(self, fetch: Fetch, answer: Answer) -> Step:
        """A plain HTTP answer (static mode): a proxy's error, a redirect to follow, or a page."""
        step = Step()
        chain = [*fetch.chain, answer.url]
        latency = fetch.latency + answer.latency
        self._record_headers(chain[0], answer.url, answer.header_rows, self.config.method)
        failure = _proxy_failure(answer)
        if failure is not None:
            return self._failed(fetch, chain, failure, step)
        location = answer.headers.get("location")
        if 300 <= answer.status < 400 and location is not None:
            target = urljoin(answer.url, location.strip())
            if target in chain or len(chain) > self.config.max_redirects:
                failure = Classified("redirect_loop", "RedirectLoop",
                                     f"redirect to {target} after {len(chain)} hops (already visited or too many)")
                return self._failed(fetch, chain, failure, step)
            if fetch.kind == "home" or registrable_domain(host_of(target)) == registrable_domain(host_of(answer.url)):
                step.counts["page/redirect_hops"] += 1
                step.fetches.append(self._fetch(target, fetch.kind, fetch.page_kind, chain, latency, fetch.pass_))
                return step
            # a same-site page that redirects off-site: record where it pointed, do not follow
        content_type = answer.headers.get("content-type", "")
        page = self._page_row(fetch.page_kind, chain, answer.status, content_type, len(answer.body), latency)
        ok = 200 <= answer.status < 300
        html = ok and is_html(content_type, answer.body[:512])
        if fetch.kind == "home":
            self._home_answered(answer.url, chain, answer.status, ok, html, content_type, step)
        if not ok:
            page["error_class"] = f"HTTP{answer.status}" if answer.status >= 400 else (
                "NotFollowed" if answer.status >= 300 else "")
        if html:
            links = fetch.kind == "home" and self.config.max_pages > 1
            policy = self.config.policy_text_chars if fetch.page_kind in POLICY_KINDS else 0
            return self._examine(fetch, page, answer, None, PageJob(answer.url, answer.body, dict(answer.headers),
                                                                    links=links, policy_chars=policy), step)
        return self._page_answered(page, ok, answer.status, step)

    def on_visit(self, fetch: Fetch, answer: Answer, visit: Visit) -> Step:
        """A browser visit that ended with a document (browser mode): Chromium followed the redirects itself."""
        step = Step()
        chain = list(visit.redirect_chain or [answer.url])
        failure = _proxy_failure(answer)
        if failure is not None:  # the proxy answered for a site it could not reach: fall back like a failed fetch
            return self._failed(fetch, chain, failure, step)
        content_type = answer.headers.get("content-type", "")
        ok = 200 <= answer.status < 300
        html = ok and is_html(content_type, answer.body[:512])
        primary = fetch.kind == "home"
        if primary:
            self._home_answered(answer.url, chain, answer.status, ok, html, content_type, step)
        if fetch.page_kind == "home":
            self.cmps_seen.add(visit.cmp)
        if not primary and self._consent_missed(fetch, visit):
            if fetch.attempt < self.config.consent_retries:  # again in a fresh context, settling longer
                step.counts["browser/consent_retry"] += 1
                step.fetches.append(self._fetch(fetch.url, fetch.kind, fetch.page_kind, pass_=fetch.pass_,
                                                attempt=fetch.attempt + 1))
                return step  # this try is not recorded: the retry stands in for it
            if visit.consent_result == "no_banner" and fetch.attempt > 0 and self._cmp_seen():
                visit.consent_result = "no_banner_after_retry"  # never "no banner" where the CMP had shown one
            step.counts[f"browser/consent_after_retry/{visit.consent_result}"] += 1
        page = self._page_row(fetch.page_kind, chain, answer.status, content_type, len(answer.body),
                              visit.duration_ms / 1000)
        page.update(page_extras(visit))
        if not ok:
            page["error_class"] = f"HTTP{answer.status}" if answer.status >= 400 else "NotFollowed"
        self._record_visit(chain[0], visit, step)
        if html and fetch.pass_ == PRE_CONSENT:
            # the static view of the same document (what a plain fetch would have seen)
            self._record_headers(chain[0], answer.url, answer.header_rows, "static")
            policy = self.config.policy_text_chars if fetch.page_kind in POLICY_KINDS else 0
            # the rendered DOM: links and policy texts that scripts write (CMP declaration scripts) are only there
            job = PageJob(answer.url, answer.body, dict(answer.headers), links=primary and self.config.max_pages > 1,
                          policy_chars=policy, dom=visit.dom.encode("utf-8") if visit.dom else None)
            return self._examine(fetch, page, answer, visit, job, step)
        return self._page_answered(page, ok, answer.status, step)

    def _cmp_seen(self) -> bool:
        """A load of the site's home page (pre-consent, or a pass) named a consent tool."""
        return bool(self.cmps_seen - {"", "none", "unknown"})

    def _consent_missed(self, fetch: Fetch, visit: Visit) -> bool:
        """A consent pass that clicked nothing (no banner found, or no click result in time) on a site where a
        consent tool was seen (its pre-consent load, or another pass, detected one), or where no load so far could
        tell (``cmp = unknown``: autoconsent never reported within the wait, a page slowed by load): the banner can
        be late, so the pass is tried again, with longer waits. A load where autoconsent ran and named no consent
        tool (``none``) is believed."""
        undecided = "unknown" in self.cmps_seen and "none" not in self.cmps_seen
        return (fetch.pass_.consent_state in ("accept", "reject")
                and visit.consent_result in ("no_banner", "pending")
                and (self._cmp_seen() or undecided))

    def _examine(self, fetch: Fetch, page: dict, answer: Answer, visit: Visit | None, job: PageJob,
                 step: Step) -> Step:
        self._examining[fetch.id] = (page, answer, visit)
        step.job = job
        return step

    def on_examined(self, fetch: Fetch, result: PageFindings | Classified) -> Step:
        """The findings of the page ``fetch`` answered (or why it could not be examined): its observation rows,
        policy text, and on the home page the next pages to fetch."""
        step = Step()
        page, answer, visit = self._examining.pop(fetch.id)
        status = answer.status
        if isinstance(result, Classified):  # the page stalled or killed its examiner: recorded, not observed
            step.counts[f"page/error/{result.outcome}"] += 1
            page["error_class"], page["detail"] = result.outcome, f"{result.error_class}: {result.detail}"
            if fetch.kind == "home":
                self.outcome, self.error_class, self.detail = result.outcome, result.error_class, result.detail
            return self._page_answered(page, False, status, step)
        browser = visit is not None
        obs = result.observation
        if not browser:
            page["title"] = obs.title
            page["encoding"] = obs.encoding
        page_url = page["url"]
        step.counts[f"observe/walk/{obs.walk}"] += 1  # native or python: the manifest says which walk ran
        self._record_observation(page_url, obs, "static")
        if result.policy is not None:
            self._record_policy_text(page_url, fetch.page_kind, result.policy, step)
        if fetch.kind == "home":
            if browser:
                for pass_ in self.config.passes:
                    self.pending += 1
                    step.fetches.append(self._fetch(answer.url, "pass", "home", pass_=pass_))
            if self.config.max_pages > 1:
                for url, kind in pick_pages(result.links, answer.url, self.config.max_pages - 1):
                    self.pending += 1
                    step.fetches.append(self._fetch(url, "subpage", kind))
        return self._page_answered(page, True, status, step)

    # --- failures ---------------------------------------------------------------------------------------
    def on_failure(self, fetch: Fetch, failure: Classified, partial: Visit | None = None) -> Step:
        """A fetch ended without a usable answer: fall back to the next start URL, or record the failure.
        ``partial``: what a browser visit that did not finish had loaded (kept as rows)."""
        step = Step()
        chain = list(partial.redirect_chain) if partial is not None and partial.redirect_chain else []
        chain = chain or [*fetch.chain, fetch.url]
        if partial is not None:
            if partial.requests:
                self._record_visit(chain[0], partial, step)  # a page that never finished still shows what it loaded
            if partial.status and fetch.kind == "home":
                self.final_url = partial.final_url or fetch.url
        pages = self.rows["pages"]
        before = len(pages)
        self._failed(fetch, chain, failure, step)
        if self.config.method == "browser" and len(pages) > before:  # which pass it was, and how far it got
            pages[-1].update({"consent_state": fetch.pass_.consent_state, "signal": fetch.pass_.signal})
            if partial is not None:
                pages[-1].update({k: v for k, v in page_extras(partial).items() if k != "title"})
        return step

    def _failed(self, fetch: Fetch, chain: list[str], c: Classified, step: Step) -> Step:
        step.counts[f"page/error/{c.outcome}"] += 1
        if fetch.kind == "home":
            self.attempts.append(f"{chain[0]} -> {c.outcome} ({c.error_class})")
            on_candidate = len(chain) == 1
            if self.first_failure is None and on_candidate:
                self.first_failure = c
            if on_candidate and c.outcome in FALLBACK_ON and self.attempt + 1 < len(self.candidates):
                self.attempt += 1
                step.counts["site/fallback"] += 1
                step.fetches.append(self._fetch(self.candidates[self.attempt], "home", "home"))
                return step
            final = self.first_failure if (on_candidate and self.first_failure) else c
            self.outcome, self.error_class, self.detail = final.outcome, final.error_class, final.detail
            self.final_url = chain[-1]
            self.redirect_chain = list(chain)
        page = self._page_row(fetch.page_kind, chain, None, "", 0, fetch.latency)
        page["error_class"], page["detail"] = c.outcome, f"{c.error_class}: {c.detail}"
        self.pages_failed += 1
        self.rows["pages"].append(page)
        return self._done(step)

    def give_up(self) -> Step:
        """Finish a site whose requests vanished without an answer or an error (the spider's safety net)."""
        step = Step()
        step.counts["site/lost"] += 1
        if not self.outcome:
            c = self.first_failure or Classified("connect_error", "Lost", "no response and no error reached the spider")
            self.outcome, self.error_class, self.detail = c.outcome, c.error_class, c.detail
        self._examining.clear()
        return self._finish(step)

    # --- site outcome and completion ----------------------------------------------------------------------
    def _home_answered(self, final_url: str, chain: list[str], status: int, ok: bool, html: bool,
                       content_type: str, step: Step) -> None:
        self.final_url = final_url
        self.redirect_chain = list(chain)
        self.cross_site = registrable_domain(host_of(final_url)) != registrable_domain(self.domain)
        if not ok:
            self.outcome, self.error_class, self.detail = "http_error", f"HTTP{status}", f"home page answered HTTP {status}"
        elif not html:
            self.outcome, self.error_class = "not_html", "NotHTML"
            self.detail = f"home page is {content_type.split(';')[0] or 'of unknown type'}"
        else:
            self.outcome = "ok"
        if self.cross_site:
            step.counts["site/cross_site_redirect"] += 1

    def _page_answered(self, page: dict, ok: bool, status: int, step: Step) -> Step:
        if ok:
            self.pages_ok += 1
        else:
            self.pages_failed += 1
        step.counts[f"page/status/{status // 100}xx"] += 1
        self.rows["pages"].append(page)
        return self._done(step)

    def _done(self, step: Step) -> Step:
        self.pending -= 1
        if self.pending > 0:
            return step
        return self._finish(step)

    def _finish(self, step: Step) -> Step:
        self.finished = True
        final_host = host_of(self.final_url) if self.final_url else ""
        step.counts[f"site/outcome/{self.outcome}"] += 1
        if self.outcome != "ok" and self.error_class:
            step.counts[f"site/error_class/{self.error_class}"] += 1
        site_row = {
            "run_id": self.config.run_id,
            "rank": self.rank,
            "line_no": self.line_no,
            "input_domain": self.domain,
            # the observed site: where the home page answered (a cross-site redirect moves it), else the input
            "site": registrable_domain(final_host if self.outcome in ANSWERED and final_host else self.domain),
            "final_host": final_host or None,
            "start_url": self.candidates[0],
            "final_url": self.final_url or None,
            "outcome": self.outcome,
            "error_class": self.error_class or None,
            "detail": self.detail or None,
            "attempts": self.attempts,
            "redirect_chain": self.redirect_chain,
            "cross_site_redirect": self.cross_site,
            "pages_ok": self.pages_ok,
            "pages_failed": self.pages_failed,
            "method": self.config.method,
            "started_at": self.started_at,
            "finished_at": self.clock(),
        }
        bundle = {"sites": [site_row], **self.rows}
        for table in TABLES:
            step.counts[f"rows/{table}"] += len(bundle.get(table, ()))
        step.bundle = bundle
        return step

    # --- rows -------------------------------------------------------------------------------------------
    def _page_row(self, page_kind: str, chain: Sequence[str], status: int | None, content_type: str, nbytes: int,
                  latency: float) -> dict[str, Any]:
        return {
            "run_id": self.config.run_id,
            "input_domain": self.domain,
            "page_kind": page_kind,
            "url": chain[0],
            "final_url": chain[-1],
            "status": status,
            "redirect_chain": list(chain),
            "content_type": content_type,
            "encoding": None,
            "bytes": nbytes,
            "fetch_ms": round(latency * 1000.0, 3),
            "title": None,
            "error_class": None,
            "detail": None,
            "method": self.config.method,
            "consent_state": "none",
            "signal": "none",
            "fetched_at": self.clock(),
        }

    def _record_headers(self, page_url: str, response_url: str, header_rows: Sequence[tuple[str, str]],
                        method: str) -> None:
        wanted = self.config.headers_of_interest
        run_id, domain = self.config.run_id, self.domain
        hdr_rows = self.rows["response_headers"]
        for name, value in header_rows:
            if name not in wanted:
                continue
            hdr_rows.append({"run_id": run_id, "input_domain": domain, "page_url": page_url,
                             "response_url": response_url, "name": name, "value": value[:8192], "method": method})
            if name != "set-cookie":
                continue
            ck = parse_set_cookie(value, response_url)
            if ck is None:
                continue
            self.rows["cookies"].append({
                "run_id": run_id, "input_domain": domain, "page_url": page_url,
                "name": ck.name, "value_length": ck.value_length, "domain": ck.domain,
                "host_only": ck.host_only, "path": ck.path, "expires": ck.expires,
                "max_age": ck.max_age, "session": ck.session, "secure": ck.secure,
                "http_only": ck.http_only, "same_site": ck.same_site,
                "set_by_host": host_of(response_url), "method": method, "consent_state": "none",
                "signal": "none",
                "third_party": registrable_domain(ck.domain.lstrip(".")) != registrable_domain(domain),
            })

    def _record_policy_text(self, page_url: str, page_kind: str, pt, step: Step) -> None:
        self.rows["policy_texts"].append({
            "run_id": self.config.run_id, "input_domain": self.domain, "page_url": page_url, "page_kind": page_kind,
            "lang": pt.lang, "chars": pt.chars, "truncated": pt.truncated, "text": pt.text,
            "method": self.config.method,
        })
        step.counts[f"policy_text/{page_kind}"] += 1

    def _record_observation(self, page_url: str, obs: Observation, method: str) -> None:
        run_id, domain = self.config.run_id, self.domain
        self.rows["resources"].extend(
            {"run_id": run_id, "input_domain": domain, "page_url": page_url, "url": r.url, "host": r.host,
             "element": r.element, "attribute": r.attribute, "rel": r.rel, "inline": r.inline,
             "declared": r.declared, "gated": r.gated, "embedding": r.embedding, "method": method,
             "consent_state": "none", "signal": "none"}
            for r in obs.references
        )
        self.rows["signatures"].extend(
            {"run_id": run_id, "input_domain": domain, "page_url": page_url, "signature_id": sid, "value": value,
             "gated": embedding == "gated", "embedding": embedding, "method": method, "consent_state": "none",
             "signal": "none"}
            for sid, value, embedding in obs.signature_evidence()
        )

    def _record_visit(self, page_url: str, visit: Visit, step: Step) -> None:
        site_host = host_of(self.final_url) if self.final_url else self.domain
        for table, rows in visit_rows(visit, run_id=self.config.run_id, input_domain=self.domain, page_url=page_url,
                                      site_host=site_host).items():
            self.rows[table].extend(rows)
        step.counts["browser/requests"] += len(visit.requests)


def _proxy_failure(answer: Answer) -> Classified | None:
    """The failure a forward proxy's own error answer stands for (RFC 9209 ``Proxy-Status``, Squid), else None."""
    if answer.status >= 500 or answer.status in (403, 407):
        outcome = classify_proxy_response(answer.status, answer.headers)
        if outcome:
            marker = answer.headers.get("proxy-status") or answer.headers.get("x-squid-error", "")
            return Classified(outcome, "ProxyError", f"proxy answered HTTP {answer.status}: {marker}")
    return None
