"""Turn observations (references, inline signatures, cookies) into service detections with evidence.

"Site S embeds service X, evidence E": every detection records what matched (``host``, ``url_pattern``,
``path``, ``signature``, ``cookie``), the evidence itself, and where it was seen (``html``, ``header``,
``cookie``, or ``browser``). Matching is memoised per host (and per URL only for hosts with path rules), so
a whole run can be matched over its distinct hosts and URLs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from common.hosts import registrable_domain
from pipelines.catalog.load import Catalog, Service


@dataclass(frozen=True, slots=True)
class Detection:
    """One piece of evidence that a page/site embeds a service."""

    service_id: str
    kind: str  # host | url_pattern | path | signature | cookie
    evidence: str  # the host, URL, "signature-id:value" or cookie name
    seen_in: str  # html | header | cookie | browser
    host: str = ""  # the host the page contacts for this evidence ("" for signatures and cookies)


_LOADABLE = re.compile(r"\.(?:m?js|css|gif|png|jpe?g|webp|svg|ico|woff2?|ttf|otf|json|swf|mp4|mp3)"
                       r"(?:$|[?#])|/(?:js|css|tag|pixel|collect|beacon|script|sdk|embed|widget)s?(?:/|$|\?)", re.I)


_HINTS = frozenset({"preconnect", "dns-prefetch"})
_PER_URL = object()  # a host whose match depends on the URL's path
_STAR_ONLY = object()  # a first-party host only host-"*" path rules can match
_DONE = object()  # a host whose detection this page has recorded already


def _looks_loadable(url: str) -> bool:
    """True when a URL found as a literal in inline code looks like a fetched resource (script, style,
    image, pixel, widget endpoint) rather than a page link."""
    return bool(_LOADABLE.search(_path_of(url)))


_PLAIN_URL = re.compile(r"https?://[^/?#@\[\]\\\x00-\x20\x7f]*")  # scheme and a plain netloc
_URL_TAIL_OK = re.compile(r"[^\\\x00-\x20\x7f]*")


def _star_needles(star_paths) -> tuple[tuple[str, bool], ...] | None:
    """(literal, lower-case?) pairs one of which the URL of any request a host-"*" path rule matches
    contains; None when some rule has no such literal. Sound on the whole URL as long as no literal holds
    "/?" or is "/" (the only text path+query has and the URL lacks is the "/" of an empty path).
    Case-insensitive rules are looked up in the lower-cased URL."""
    from common.signatures import needles_for

    out: list[tuple[str, bool]] = []
    for regex, _service in star_paths:
        lower = bool(regex.flags & re.IGNORECASE)
        needles = needles_for(regex.pattern, lower)
        if not needles or any("/?" in n or n == "/" for n in needles):
            return None
        if lower and any(c in n for n in needles for c in "iks"):
            return None  # re.I matches "ſ", "K", "ı" there, which lower() does not turn into s, k, i
        out += [(n, lower) for n in needles]
    return tuple(out)


def _path_of(url: str) -> str:
    """``path?query`` of ``url`` as urlsplit gives them (path "/" when empty, no "?" when no query)."""
    m = _PLAIN_URL.match(url)
    end = m.end() if m is not None else -1
    if end > 0 and (end == len(url) or url[end] in "/?#") and _URL_TAIL_OK.fullmatch(url, end):
        path, _, query = url[end:].split("#", 1)[0].partition("?")
        return (path or "/") + ("?" + query if query else "")
    try:
        parts = urlsplit(url)
    except ValueError:
        return "/"
    return (parts.path or "/") + (("?" + parts.query) if parts.query else "")


class Detector:
    """Matches observations against a catalog (curated entries, plus the long tail if the catalog has it)."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.matcher = catalog.matcher
        self.by_signature: dict[str, list[str]] = {}
        for service in catalog.services:
            for sid in service.signatures:
                self.by_signature.setdefault(sid, []).append(service.id)
        self._cookie_exact: dict[str, str] = {}
        self._cookie_prefix: list[tuple[str, str]] = []
        self._cookie_regex: list[tuple[re.Pattern[str], str]] = []
        for service in catalog.services:
            for ck in service.cookies:
                if ck.match == "exact":
                    self._cookie_exact.setdefault(ck.name, service.id)
                elif ck.match == "prefix":
                    self._cookie_prefix.append((ck.name, service.id))
                else:
                    try:
                        self._cookie_regex.append((re.compile(ck.name), service.id))
                    except re.error:
                        continue
        self._cookie_prefix.sort(key=lambda p: -len(p[0]))  # longest prefix wins
        self._host_memo: dict[tuple[str, bool], tuple[Service, str] | None] = {}
        # per first_party flag: url -> match, for hosts whose match depends on the path
        self._url_memo: dict[bool, dict[str, tuple[Service, str] | None]] = {True: {}, False: {}}
        self._path_memo: dict[str, bool] = {}
        self._detections: dict[tuple[str, str, str, str, str], Detection] = {}
        self._star_needles = _star_needles(self.matcher._star_paths)
        self._star_lower = any(low for _, low in self._star_needles or ())

    # --- single observations ---------------------------------------------------------------------------
    def match_url(self, url: str, host: str, *, first_party: bool) -> tuple[Service, str] | None:
        """(service, rule) for a referenced URL; memoised per host, or per URL for hosts with path rules."""
        hit = self._match_host_level(host, first_party)
        if hit is not _PER_URL and hit is not _STAR_ONLY:
            return hit
        memo = self._url_memo[first_party]
        hit = memo.get(url, False)
        if hit is False:
            hit = self.matcher.match_rule(host, _path_of(url), first_party=first_party)
            if len(memo) < 250_000:
                memo[url] = hit
        return hit

    def _match_host_level(self, host: str, first_party: bool) -> tuple[Service, str] | None | object:
        """``match_url`` for any URL on ``host``, or ``_PER_URL`` when the answer depends on the URL
        (``_STAR_ONLY`` when only host-"*" path rules can match it)."""
        key = (host, first_party)
        hit = self._host_memo.get(key, False)
        if hit is not False:
            return hit
        path_rules = self._path_memo.get(host)
        if path_rules is None:
            path_rules = self._path_memo[host] = self.matcher.has_path_rules(host)
        if path_rules:
            return _PER_URL
        # host rules win over host-"*" path rules, so a host match does not depend on the path
        hit = self.matcher.match_rule(host, "/", first_party=False)
        if hit is None and first_party and self.matcher._star_paths:
            return _STAR_ONLY if self._star_needles is not None else _PER_URL
        self._host_memo[key] = hit
        return hit

    def _detection(self, service_id: str, kind: str, evidence: str, seen_in: str, host: str) -> Detection:
        """A Detection, shared between pages (it is immutable) to spare building the same one again."""
        key = (service_id, kind, evidence, seen_in, host)
        det = self._detections.get(key)
        if det is None:
            if len(self._detections) >= 100_000:
                self._detections.clear()
            det = self._detections[key] = Detection(service_id, kind, evidence, seen_in, host)
        return det

    def _may_match_star(self, url: str) -> bool:
        """False when no host-"*" path rule can match ``url`` (it lacks all of their literals)."""
        lowered = url.lower() if self._star_lower else url
        return any(n in (lowered if low else url) for n, low in self._star_needles)

    def match_cookie(self, name: str) -> str | None:
        """Service id owning a cookie name (exact, then longest prefix, then regex), or None."""
        if name in self._cookie_exact:
            return self._cookie_exact[name]
        for prefix, sid in self._cookie_prefix:
            if name.startswith(prefix):
                return sid
        for rx, sid in self._cookie_regex:
            if rx.fullmatch(name):
                return sid
        return None

    def _signature_owners(self, sid: str, url_found: set[str]) -> list[str]:
        """Services a signature stands for on this page. A signature shared by several services (Matomo's
        ``_paq`` queue: Cloud or self-hosted) goes to the one the page's URLs already show, else to the
        self-hosted one (company ``site-operator``), else to all of them."""
        owners = self.by_signature.get(sid, [])
        if len(owners) <= 1:
            return owners
        shown = [o for o in owners if o in url_found]
        if shown:
            return shown
        own = [o for o in owners if self.catalog.by_id[o].company == "site-operator"]
        return own or owners

    # --- a page ---------------------------------------------------------------------------------------------
    def detect(
        self,
        *,
        site_host: str,
        references: Iterable = (),
        signatures: Iterable[tuple[str, str]] = (),
        cookies: Iterable[str] = (),
        seen_in: str = "html",
        shortcuts: bool = True,
    ) -> list[Detection]:
        """Detections for one page: ``references`` have ``url``/``host``/``declared`` (CSP-declared hosts are
        skipped: allowed is not loaded); ``signatures`` are (signature id, value); ``cookies`` are names.

        ``shortcuts=False`` matches every reference on its own (the reference behaviour the per-page host
        shortcuts must reproduce; tests compare both)."""
        site = registrable_domain(site_host)
        out: dict[tuple[str, str, str], Detection] = {}
        hints: list[tuple[Service, str, str]] = []
        specific_hosts: set[str] = set()
        by_host: dict[str, tuple[bool, object]] = {}  # host -> (first party?, its match or _PER_URL)
        memo_fp, memo_tp = self._url_memo[True], self._url_memo[False]
        for ref in references:
            host = ref.host
            if ref.declared or not host or getattr(ref, "gated", False):
                continue  # CSP-allowed or held back by a consent manager: not loaded on page load
            known = by_host.get(host)
            if known is None:
                first_party = registrable_domain(host) == site
                known = (first_party, self._match_host_level(host, first_party) if shortcuts else _PER_URL)
                if shortcuts:
                    by_host[host] = known
            first_party, hit = known
            if hit is _DONE:
                continue
            if hit is _PER_URL or hit is _STAR_ONLY:
                memo = memo_fp if first_party else memo_tp
                url = ref.url
                star_only = hit is _STAR_ONLY
                hit = memo.get(url, False)
                if hit is False:
                    if star_only and not self._may_match_star(url):
                        hit = None  # only host-"*" path rules could apply, and the URL lacks their literals
                        if len(memo) < 250_000:
                            memo[url] = None
                    else:
                        hit = self.match_url(url, host, first_party=first_party)
            if hit is None:
                continue
            service, rule = hit
            if rule == "host" and getattr(ref, "inline", False) and getattr(ref, "element", "") == "script" \
                    and not _looks_loadable(ref.url):
                # a URL literal in inline code that is no loadable resource (share links, profile URLs in
                # JSON state): a page link, not an embed; path rules and signatures still count
                continue
            if first_party and rule == "host" and service.company != "site-operator":
                # the site's own domain listed in the catalog (e.g. crawling google.com itself)
                continue
            if rule == "url_pattern":
                specific_hosts.add(ref.host)
            if rule == "host" and getattr(ref, "element", "") == "link" and getattr(ref, "rel", "") in _HINTS:
                hints.append((service, ref.host, seen_in))
                continue
            evidence = ref.host if rule == "host" else ref.url[:300]
            key = (service.id, rule, evidence)
            if key not in out:
                out[key] = self._detection(service.id, rule, evidence, seen_in, ref.host)
            if rule == "host" and known[1] is not _PER_URL and known[1] is not _STAR_ONLY:  # (only with shortcuts)
                # the host's detection is recorded and no path rule applies to it: any further reference to
                # it adds nothing (a hint for it would only set the same key again)
                by_host[host] = (first_party, _DONE)
        for service, host, where in hints:
            # a bare connection hint is weak evidence: a specific script reference to the same host on the
            # page (e.g. gtag.js for GA4 on googletagmanager.com) says which product the hint was for
            if host not in specific_hosts:
                out.setdefault((service.id, "host", host), Detection(service.id, "host", host, where, host))
        url_found = {k[0] for k in out}
        for sid, value in signatures:
            for service_id in self._signature_owners(sid, url_found):
                ev = f"{sid}:{value}"
                out.setdefault((service_id, "signature", ev), Detection(service_id, "signature", ev, seen_in))
        for name in cookies:
            service_id = self.match_cookie(name)
            if service_id:
                out.setdefault((service_id, "cookie", name), Detection(service_id, "cookie", name, "cookie"))
        return list(out.values())


def services_of(detections: Iterable[Detection]) -> set[str]:
    return {d.service_id for d in detections}


@dataclass(frozen=True, slots=True)
class PageRef:
    """A stored reference as the detector needs it (built from ``resources`` rows)."""

    url: str
    host: str
    declared: bool
    element: str = ""
    inline: bool = False
    gated: bool = False
    rel: str = ""
