"""Browser mode: the sites spider with every page loaded in headless Chromium (``BrowserDownloadHandler``).

Per site: the home page pre-consent (no interaction; this decides the site's outcome), then one more visit of
the final home URL per extra pass (``accept``, ``reject``, ``gpc``), and the chosen same-site pages
pre-consent. The document Chromium received is also observed statically (``method = static`` rows from the
very same bytes), so the marts can say which services only the browser saw. What to do with a visit is
``SiteCrawl.on_visit``'s business; this class only hands visits and failed visits over.
"""

from __future__ import annotations

from crawler.outcomes import classify_exception
from crawler.sitecrawl import Fetch, SiteCrawl, Step, extra_passes
from crawler.spiders.sites import SitesSpider, answer_of


class BrowserSitesSpider(SitesSpider):
    """``SitesSpider`` whose pages are browser visits. Settings: ``SR_CONSENT_STATES``, ``SR_SIGNALS``,
    ``SR_BROWSER_CONSENT_RETRIES``."""

    name = "sites_browser"
    method = "browser"

    @classmethod
    def passes_of(cls, settings) -> tuple:
        return extra_passes(settings.getlist("SR_CONSENT_STATES"), settings.getlist("SR_SIGNALS"))

    def _request(self, sc: SiteCrawl, fetch: Fetch):
        req = super()._request(sc, fetch)
        req.meta["sr_pass"] = fetch.pass_  # how BrowserDownloadHandler loads the page
        req.meta["sr_patience"] = 1 + fetch.attempt  # a retried consent pass waits longer to settle
        return req

    def _answered(self, sc: SiteCrawl, fetch: Fetch, response) -> Step:
        visit = response.meta.get("sr_visit")
        if visit is None:  # not a page visit (the handler downloads anything else over plain HTTP)
            return sc.on_answer(fetch, answer_of(response))
        return sc.on_visit(fetch, answer_of(response), visit)

    def _failed(self, sc: SiteCrawl, fetch: Fetch, failure) -> Step:
        exc = failure.value
        classified = getattr(exc, "classified", None)  # VisitFailed: the browser's own classification
        if classified is None:
            return sc.on_failure(fetch, classify_exception(exc))
        return sc.on_failure(fetch, classified, getattr(exc, "partial", None))
