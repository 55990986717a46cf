"""Browser mode: the sites spider with every page loaded in headless Chromium (``BrowserDownloadHandler``).

Per site: the home page pre-consent (no interaction; this decides the site's outcome), then one more visit of
the final home URL per extra pass (``accept``, ``reject``, ``gpc``), and the chosen same-site pages
pre-consent. The document Chromium received is also observed statically (``method = static`` rows from the
very same bytes), so the marts can say which services only the browser saw.
"""

from __future__ import annotations

from crawler.browser import Pass
from crawler.browserobs import page_extras, visit_rows
from crawler.hosts import host_of
from crawler.observe import observe
from crawler.outcomes import Classified, classify_proxy_response, is_html
from crawler.pagepick import pick_pages
from crawler.pagetext import POLICY_KINDS
from crawler.spiders.sites import SitesSpider, SiteState

PRE_CONSENT = Pass()


def extra_passes(consent_states, signals) -> list[Pass]:
    """The passes after the pre-consent one, in a fixed order (accept, reject, then gpc)."""
    out = [Pass(c, "none") for c in ("accept", "reject") if c in consent_states]
    if "gpc" in signals:
        out.append(Pass("none", "gpc"))
    return out


class BrowserSitesSpider(SitesSpider):
    """``SitesSpider`` whose pages are browser visits. Settings: ``SR_CONSENT_STATES``, ``SR_SIGNALS``."""

    name = "sites_browser"

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.method = "browser"
        spider.passes = extra_passes(crawler.settings.getlist("SR_CONSENT_STATES"),
                                     crawler.settings.getlist("SR_SIGNALS"))
        return spider

    def _request(self, st: SiteState, url: str, *, kind: str, page_kind: str, chain: list[str], latency=0.0,
                 pass_: Pass | None = None):
        req = super()._request(st, url, kind=kind, page_kind=page_kind, chain=chain, latency=latency)
        req.meta["sr_pass"] = pass_ or PRE_CONSENT
        return req

    def _on_response(self, response):
        meta = response.meta
        st = self.sites.get(meta["sr_site"])
        visit = meta.get("sr_visit")
        if st is None or visit is None:
            return
        kind, page_kind = meta["sr_kind"], meta["sr_page_kind"]
        chain = visit.redirect_chain or [response.url]
        page_url = chain[0]
        status = response.status
        headers = {k.decode("latin-1").lower(): v[-1].decode("latin-1") for k, v in response.headers.items() if v}
        if status >= 500 or status in (403, 407):
            proxy_outcome = classify_proxy_response(status, headers)
            if proxy_outcome:  # the proxy answered for a site it could not reach: fall back like a failed fetch
                failure = Classified(proxy_outcome, "ProxyError", f"proxy answered HTTP {status}: "
                                     f"{headers.get('proxy-status') or headers.get('x-squid-error', '')}")
                yield from self._failed(st, response.request, chain, failure, kind, page_kind)
                return
        content_type = headers.get("content-type", "")
        ok = 200 <= status < 300
        html = ok and is_html(content_type, response.body[:512])
        primary = kind == "home"
        if primary:
            self._home_answered(st, response.url, chain, status, ok, html, content_type)
        page = self._page_row(st, page_kind, chain, status, content_type, len(response.body), visit.duration_ms / 1000)
        page.update(page_extras(visit))
        if not ok:
            page["error_class"] = f"HTTP{status}" if status >= 400 else "NotFollowed"
        self._record_visit(st, page_url, visit)
        if html and visit.pass_ == PRE_CONSENT:
            # the static view of the same document (what a plain fetch would have seen)
            self._record_headers(st, page_url, response, method="static")
            self._record_observation(st, page_url, observe(response.body, response.url, headers, links=False),
                                     method="static")
            if page_kind in POLICY_KINDS and self.policy_text_chars > 0:
                # the rendered DOM: policies and cookie declarations that scripts write (CMP declaration
                # scripts) are text only there
                dom = visit.dom.encode("utf-8") if visit.dom else response.body
                self._record_policy_text(st, page_url, page_kind, dom,
                                         "text/html; charset=utf-8" if visit.dom else content_type)
            if primary:
                dom_obs = observe(visit.dom.encode("utf-8"), response.url, {"content-type": "text/html; charset=utf-8"},
                                  links=self.max_pages > 1)
                for pass_ in self.passes:
                    st.pending += 1
                    yield self._request(st, response.url, kind="pass", page_kind="home", chain=[], pass_=pass_)
                if self.max_pages > 1:
                    for url, pkind in pick_pages(dom_obs.links, response.url, self.max_pages - 1):
                        st.pending += 1
                        yield self._request(st, url, kind="subpage", page_kind=pkind, chain=[])
        yield from self._page_answered(st, page, status, ok)

    def _on_error(self, failure):
        request = failure.request
        meta = request.meta
        st = self.sites.get(meta["sr_site"])
        if st is None:
            return
        exc = failure.value
        c = getattr(exc, "classified", None)
        if c is None:
            yield from super()._on_error(failure)
            return
        partial = getattr(exc, "partial", None)
        chain = (partial.redirect_chain if partial and partial.redirect_chain else []) or [request.url]
        if partial is not None and partial.requests:
            self._record_visit(st, chain[0], partial)  # a page that never finished still shows what it loaded
        if partial is not None and partial.status and meta["sr_kind"] == "home":
            st.final_url = partial.final_url or request.url
        pages = st.rows["pages"]
        before = len(pages)
        yield from self._failed(st, request, chain, c, meta["sr_kind"], meta["sr_page_kind"])
        if len(pages) > before:  # the failed page's row: which pass it was, and how far it got
            pass_ = meta.get("sr_pass") or PRE_CONSENT
            pages[-1].update({"consent_state": pass_.consent_state, "signal": pass_.signal})
            if partial is not None:
                pages[-1].update({k: v for k, v in page_extras(partial).items() if k != "title"})

    def _record_visit(self, st: SiteState, page_url: str, visit) -> None:
        site_host = host_of(st.final_url) if st.final_url else st.domain
        for table, rows in visit_rows(visit, run_id=self.run_id, input_domain=st.domain, page_url=page_url,
                                      site_host=site_host).items():
            st.rows[table].extend(rows)
        self.crawler.stats.inc_value("sr/browser/requests", len(visit.requests))

