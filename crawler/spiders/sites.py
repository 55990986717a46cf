"""One spider: a list of sites, each fetched from its home page plus up to N preferred same-site pages.

Thin glue: URL choice, observation and classification live in pure modules; this class only moves
responses through them and emits one ``SiteBundle`` item (every table's rows) when a site is finished.
"""

from __future__ import annotations

import asyncio
import csv
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urljoin

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider

from crawler.hosts import host_of, registrable_domain
from crawler.items import TABLES, SiteBundle
from crawler.observe import observe, parse_set_cookie
from crawler.outcomes import FALLBACK_ON, Classified, classify_exception, classify_proxy_response, is_html
from crawler.pagepick import pick_pages
from crawler.pagetext import POLICY_KINDS, page_text

_ANSWERED = frozenset({"ok", "not_html", "http_error"})


def start_urls(domain: str) -> list[str]:
    """The start URLs tried in order: https, http, then the www. variant of each."""
    urls = [f"https://{domain}/", f"http://{domain}/"]
    if not domain.startswith("www."):
        urls += [f"https://www.{domain}/", f"http://www.{domain}/"]
    return urls


@dataclass(slots=True)
class SiteState:
    domain: str
    rank: int | None
    line_no: int
    candidates: list[str]
    started_at: datetime
    attempt: int = 0
    attempts: list[str] = field(default_factory=list)
    first_failure: Classified | None = None
    pending: int = 1
    outcome: str = ""
    error_class: str = ""
    detail: str = ""
    final_url: str = ""
    redirect_chain: list[str] = field(default_factory=list)
    cross_site: bool = False
    pages_ok: int = 0
    pages_failed: int = 0
    rows: dict[str, list[dict]] = field(default_factory=dict)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class SitesSpider(scrapy.Spider):
    """Crawls the sites listed in ``SR_DOMAINS_PATH`` (``line_no,rank,domain`` CSV) for run ``SR_RUN_ID``."""

    name = "sites"

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        s = crawler.settings
        spider.run_id = s.get("SR_RUN_ID")
        spider.domains_path = s.get("SR_DOMAINS_PATH")
        spider.max_pages = max(1, s.getint("SR_MAX_PAGES", 5))
        spider.max_redirects = s.getint("SR_MAX_REDIRECTS", 10)
        spider.policy_text_chars = s.getint("SR_POLICY_TEXT_CHARS", 300_000)
        spider.headers_of_interest = [h.lower().encode() for h in s.getlist("SR_HEADERS_OF_INTEREST")]
        spider.method = "static"
        spider.sites = {}
        spider.sites_in_flight = max(1, s.getint("SR_SITES_IN_FLIGHT", 0) or 4 * s.getint("CONCURRENT_REQUESTS", 32))
        spider._room = asyncio.Event()
        spider._flush_scheduled = False
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        return spider

    # --- start ------------------------------------------------------------------------------------------
    async def start(self):
        """Start sites lazily: at most ``SR_SITES_IN_FLIGHT`` at a time, so the scheduler, the downloader's
        per-site slots and the per-site buffers stay small however long the list is."""
        with open(self.domains_path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row["domain"] in self.sites:
                    continue
                async for item in self._wait_for_room():
                    yield item
                yield self._open_site(row["domain"], int(row["rank"]) if row.get("rank") else None,
                                      int(row["line_no"]))

    async def _wait_for_room(self):
        """Wait until fewer than ``SR_SITES_IN_FLIGHT`` sites are open; yields the rows of sites found lost."""
        while len(self.sites) >= self.sites_in_flight:
            self._room.clear()
            try:
                await asyncio.wait_for(self._room.wait(), timeout=5.0)
            except asyncio.TimeoutError:
                if self._engine_idle():
                    for item in self._flush_lost_rows():
                        yield item

    def _open_site(self, domain: str, rank: int | None, line_no: int) -> scrapy.Request:
        """Register a site as open and return the request for its first start URL."""
        st = SiteState(
            domain=domain,
            rank=rank,
            line_no=line_no,
            candidates=start_urls(domain),
            started_at=_now(),
            rows={t: [] for t in TABLES if t != "sites"},
        )
        self.sites[domain] = st
        return self._request(st, st.candidates[0], kind="home", page_kind="home", chain=[])

    def _request(self, st: SiteState, url: str, *, kind: str, page_kind: str, chain: list[str], latency=0.0):
        return scrapy.Request(
            url,
            callback=self.on_response,
            errback=self.on_error,
            dont_filter=True,
            meta={
                "sr_site": st.domain,
                "sr_kind": kind,
                "sr_page_kind": page_kind,
                "sr_chain": chain,
                "sr_latency": latency,
                "dont_redirect": True,
                "handle_httpstatus_all": True,
            },
        )

    # --- responses --------------------------------------------------------------------------------------
    # Callbacks return lists, not generators: Scrapy re-parses the source of generator callbacks on every
    # call (its check for ``return`` values misses its cache for bound methods), a measurable CPU cost.
    def on_response(self, response):
        return list(self._on_response(response))

    def on_error(self, failure):
        return list(self._on_error(failure))

    def _on_response(self, response):
        meta = response.meta
        st = self.sites.get(meta["sr_site"])
        if st is None:
            return
        chain = meta["sr_chain"] + [response.url]
        latency = meta["sr_latency"] + meta.get("download_latency", 0.0)
        kind = meta["sr_kind"]
        status = response.status
        headers = {k.decode("latin-1").lower(): v[-1].decode("latin-1") for k, v in response.headers.items() if v}
        page_url = chain[0]
        self._record_headers(st, page_url, response)

        if status >= 500 or status in (403, 407):
            proxy_outcome = classify_proxy_response(status, headers)
            if proxy_outcome:
                failure = Classified(proxy_outcome, "ProxyError", f"proxy answered HTTP {status}: "
                                     f"{headers.get('proxy-status') or headers.get('x-squid-error', '')}")
                yield from self._failed(st, response.request, chain, failure, kind, meta["sr_page_kind"])
                return

        if 300 <= status < 400 and b"Location" in response.headers:
            location = response.headers.get(b"Location").decode("latin-1").strip()
            target = urljoin(response.url, location)
            if target in chain or len(chain) > self.max_redirects:
                failure = Classified("redirect_loop", "RedirectLoop",
                                     f"redirect to {target} after {len(chain)} hops (already visited or too many)")
                yield from self._failed(st, response.request, chain, failure, kind, meta["sr_page_kind"])
                return
            if kind == "home" or registrable_domain(host_of(target)) == registrable_domain(host_of(response.url)):
                self.crawler.stats.inc_value("sr/page/redirect_hops")
                yield self._request(st, target, kind=kind, page_kind=meta["sr_page_kind"], chain=chain,
                                    latency=latency)
                return
            # a same-site page that redirects off-site: record where it pointed, do not follow

        content_type = headers.get("content-type", "")
        page = self._page_row(st, meta["sr_page_kind"], chain, status, content_type, len(response.body), latency)
        ok = 200 <= status < 300
        html = ok and is_html(content_type, response.body[:512])
        if kind == "home":
            self._home_answered(st, response.url, chain, status, ok, html, content_type)
        if html:
            obs = observe(response.body, response.url, headers, links=kind == "home" and self.max_pages > 1)
            page["title"] = obs.title
            page["encoding"] = obs.encoding
            self._record_observation(st, page_url, obs)
            if meta["sr_page_kind"] in POLICY_KINDS and self.policy_text_chars > 0:
                self._record_policy_text(st, page_url, meta["sr_page_kind"], response.body, content_type)
            if kind == "home" and self.max_pages > 1:
                for url, pkind in pick_pages(obs.links, response.url, self.max_pages - 1):
                    st.pending += 1
                    yield self._request(st, url, kind="subpage", page_kind=pkind, chain=[])
        if not ok:
            page["error_class"] = f"HTTP{status}" if status >= 400 else ("NotFollowed" if status >= 300 else "")
        yield from self._page_answered(st, page, status, ok)

    def _home_answered(self, st: SiteState, final_url: str, chain: list, status: int, ok: bool, html: bool,
                       content_type: str) -> None:
        """The site's outcome from its home page's answer (static and browser spiders alike)."""
        st.final_url = final_url
        st.redirect_chain = chain
        st.cross_site = registrable_domain(host_of(final_url)) != registrable_domain(st.domain)
        if not ok:
            st.outcome, st.error_class, st.detail = "http_error", f"HTTP{status}", f"home page answered HTTP {status}"
        elif not html:
            st.outcome, st.error_class = "not_html", "NotHTML"
            st.detail = f"home page is {content_type.split(';')[0] or 'of unknown type'}"
        else:
            st.outcome = "ok"
        if st.cross_site:
            self.crawler.stats.inc_value("sr/site/cross_site_redirect")

    def _page_answered(self, st: SiteState, page: dict, status: int, ok: bool):
        """Count a page that got an HTTP answer, keep its row, and finish the site if it was the last page."""
        if ok:
            st.pages_ok += 1
        else:
            st.pages_failed += 1
        self.crawler.stats.inc_value(f"sr/page/status/{status // 100}xx")
        st.rows["pages"].append(page)
        yield from self._done(st)

    def _on_error(self, failure):
        request = failure.request
        meta = request.meta
        st = self.sites.get(meta["sr_site"])
        if st is None:
            return
        c = classify_exception(failure.value)
        chain = meta["sr_chain"] + [request.url]
        yield from self._failed(st, request, chain, c, meta["sr_kind"], meta["sr_page_kind"])

    def _failed(self, st: SiteState, request, chain: list[str], c: Classified, kind: str, page_kind: str):
        """A fetch ended without a usable response: fall back, or record the failure and finish."""
        self.crawler.stats.inc_value(f"sr/page/error/{c.outcome}")
        if kind == "home":
            st.attempts.append(f"{chain[0]} -> {c.outcome} ({c.error_class})")
            on_candidate = len(chain) == 1
            if st.first_failure is None and on_candidate:
                st.first_failure = c
            if on_candidate and c.outcome in FALLBACK_ON and st.attempt + 1 < len(st.candidates):
                st.attempt += 1
                self.crawler.stats.inc_value("sr/site/fallback")
                yield self._request(st, st.candidates[st.attempt], kind="home", page_kind="home", chain=[])
                return
            final = st.first_failure if (on_candidate and st.first_failure) else c
            st.outcome, st.error_class, st.detail = final.outcome, final.error_class, final.detail
            st.final_url = chain[-1]
            st.redirect_chain = chain
        page = self._page_row(st, page_kind, chain, None, "", 0, request.meta.get("sr_latency", 0.0))
        page["error_class"], page["detail"] = c.outcome, f"{c.error_class}: {c.detail}"
        st.pages_failed += 1
        st.rows["pages"].append(page)
        yield from self._done(st)

    # --- rows -------------------------------------------------------------------------------------------
    def _page_row(self, st, page_kind, chain, status, content_type, nbytes, latency) -> dict:
        return {
            "run_id": self.run_id,
            "input_domain": st.domain,
            "page_kind": page_kind,
            "url": chain[0],
            "final_url": chain[-1],
            "status": status,
            "redirect_chain": chain,
            "content_type": content_type,
            "encoding": None,
            "bytes": nbytes,
            "fetch_ms": round(latency * 1000.0, 3),
            "title": None,
            "error_class": None,
            "detail": None,
            "method": self.method,
            "consent_state": "none",
            "signal": "none",
            "fetched_at": _now(),
        }

    def _record_headers(self, st: SiteState, page_url: str, response, method: str | None = None) -> None:
        method = method or self.method
        hdr_rows = st.rows["response_headers"]
        for name in self.headers_of_interest:
            values = response.headers.getlist(name)
            for raw in values:
                value = raw.decode("latin-1")
                hdr_rows.append({"run_id": self.run_id, "input_domain": st.domain, "page_url": page_url,
                                 "response_url": response.url, "name": name.decode(), "value": value[:8192],
                                 "method": method})
                if name == b"set-cookie":
                    ck = parse_set_cookie(value, response.url)
                    if ck is not None:
                        st.rows["cookies"].append({
                            "run_id": self.run_id, "input_domain": st.domain, "page_url": page_url,
                            "name": ck.name, "value_length": ck.value_length, "domain": ck.domain,
                            "host_only": ck.host_only, "path": ck.path, "expires": ck.expires,
                            "max_age": ck.max_age, "session": ck.session, "secure": ck.secure,
                            "http_only": ck.http_only, "same_site": ck.same_site,
                            "set_by_host": host_of(response.url), "method": method, "consent_state": "none",
                            "signal": "none",
                            "third_party": registrable_domain(ck.domain.lstrip(".")) != registrable_domain(st.domain),
                        })

    def _record_policy_text(self, st: SiteState, page_url: str, page_kind: str, body: bytes, content_type: str):
        pt = page_text(body, content_type, max_chars=self.policy_text_chars)
        st.rows["policy_texts"].append({
            "run_id": self.run_id, "input_domain": st.domain, "page_url": page_url, "page_kind": page_kind,
            "lang": pt.lang, "chars": pt.chars, "truncated": pt.truncated, "text": pt.text, "method": self.method,
        })
        self.crawler.stats.inc_value(f"sr/policy_text/{page_kind}")

    def _record_observation(self, st: SiteState, page_url: str, obs, method: str | None = None) -> None:
        run_id, domain, method = self.run_id, st.domain, method or self.method
        self.crawler.stats.inc_value(f"sr/observe/walk/{obs.walk}")
        st.rows["resources"].extend(
            {"run_id": run_id, "input_domain": domain, "page_url": page_url, "url": r.url, "host": r.host,
             "element": r.element, "attribute": r.attribute, "rel": r.rel, "inline": r.inline,
             "declared": r.declared, "gated": r.gated, "embedding": r.embedding, "method": method,
             "consent_state": "none", "signal": "none"}
            for r in obs.references
        )
        st.rows["signatures"].extend(
            {"run_id": run_id, "input_domain": domain, "page_url": page_url, "signature_id": sid, "value": value,
             "gated": embedding == "gated", "embedding": embedding, "method": method, "consent_state": "none",
             "signal": "none"}
            for sid, value, embedding in obs.signature_evidence()
        )

    def _done(self, st: SiteState):
        st.pending -= 1
        if st.pending > 0:
            return
        yield from self._finish(st)

    def _finish(self, st: SiteState):
        del self.sites[st.domain]
        self._room.set()
        final_host = host_of(st.final_url) if st.final_url else ""
        stats = self.crawler.stats
        stats.inc_value(f"sr/site/outcome/{st.outcome}")
        if st.outcome != "ok" and st.error_class:
            stats.inc_value(f"sr/site/error_class/{st.error_class}")
        site_row = {
            "run_id": self.run_id,
            "rank": st.rank,
            "line_no": st.line_no,
            "input_domain": st.domain,
            # the observed site: where the home page answered (a cross-site redirect moves it), else the input
            "site": registrable_domain(final_host if st.outcome in _ANSWERED and final_host else st.domain),
            "final_host": final_host or None,
            "start_url": st.candidates[0],
            "final_url": st.final_url or None,
            "outcome": st.outcome,
            "error_class": st.error_class or None,
            "detail": st.detail or None,
            "attempts": st.attempts,
            "redirect_chain": st.redirect_chain,
            "cross_site_redirect": st.cross_site,
            "pages_ok": st.pages_ok,
            "pages_failed": st.pages_failed,
            "method": self.method,
            "started_at": st.started_at,
            "finished_at": _now(),
        }
        st.rows["sites"] = [site_row]
        for table in TABLES:
            stats.inc_value(f"sr/rows/{table}", len(st.rows[table]))
        yield SiteBundle(st.rows)

    # --- safety net ---------------------------------------------------------------------------------------
    def _on_idle(self):
        """If a request vanished without callback or errback, still emit its site exactly once."""
        if self.sites and not self._flush_scheduled:
            self._flush_scheduled = True
            self.crawler.engine.crawl(scrapy.Request("data:,", callback=self._flush_lost, dont_filter=True))
            raise DontCloseSpider

    def _engine_idle(self) -> bool:
        """No request queued, downloading or being processed: sites still open can only be lost."""
        engine = self.crawler.engine
        slot = getattr(engine, "_slot", None)
        return (
            slot is not None
            and not engine.downloader.active
            and not slot.scheduler.has_pending_requests()
            and engine.scraper.slot.is_idle()
        )

    def _flush_lost(self, response):
        return list(self._flush_lost_rows())

    def _flush_lost_rows(self):
        self._flush_scheduled = False
        for st in list(self.sites.values()):
            self.crawler.stats.inc_value("sr/site/lost")
            if not st.outcome:
                c = st.first_failure or Classified("connect_error", "Lost", "no response and no error reached the spider")
                st.outcome, st.error_class, st.detail = c.outcome, c.error_class, c.detail
            yield from self._finish(st)

