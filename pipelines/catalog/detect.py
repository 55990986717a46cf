"""Turn observations (references, inline signatures, cookies) into service detections with evidence.

"Site S embeds service X, evidence E": every detection records what matched (``host``, ``url_pattern``,
``path``, ``signature``, ``cookie``, ``cname``), the evidence itself, where it was seen (``html``, ``header``,
``cookie``, or ``browser``) and how the page embeds it (``direct``, ``gated``, ``encoded``, ``config``,
``hint``; see ``crawler.observe.embedding_of``). Matching is memoised per host (and per URL only for hosts
with path rules), so a whole run can be matched over its distinct hosts and URLs. Third-party hosts no
catalog entry claims are handed back too (the long tail the ``domains`` mart lists).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from crawler.hosts import registrable_domain
from pipelines.catalog.load import Catalog, Service


@dataclass(frozen=True, slots=True)
class Detection:
    """One piece of evidence that a page/site embeds a service."""

    service_id: str
    kind: str  # host | url_pattern | path | signature | cookie | cname
    evidence: str  # the host, URL, "signature-id:value" or cookie name
    seen_in: str  # html | header | cookie | browser
    host: str = ""  # the host the page contacts for this evidence ("" for signatures and cookies)
    embedding: str = "direct"  # direct | gated | encoded | config | hint
    # the evidence shows the service loading on page load without a consent gate: a direct reference, or a
    # script that runs on load and holds the vendor's loadable URL or its loader snippet (Signature.loader)
    loads_without_gate: bool = False


@dataclass(frozen=True, slots=True)
class Unclaimed:
    """A third-party host a page embeds that no catalog entry claims (nor the site's own group owns)."""

    host: str
    embedding: str


_LOADABLE = re.compile(r"\.(?:m?js|css|gif|png|jpe?g|webp|svg|ico|woff2?|ttf|otf|json|swf|mp4|mp3)"
                       r"(?:$|[?#])|/(?:js|css|tag|pixel|collect|beacon|script|sdk|embed|widget)s?(?:/|$|\?)", re.I)


#: categories of services whose hosts serve tags, beacons and ad calls, never pages people link to: a URL
#: literal naming such a host in running inline code configures the vendor's loader (``'https://tags.crwdcntrl.net/c/'
#: + id``, an ad server's base URL), even when it does not look like a file; a social network's or video site's
#: host in inline code is as often a share or profile link, so those still need a loadable-looking URL. Curated
#: services only: a long-tail (third-party-web) entity may lump a company's whole web presence under one ad
#: product (apple.com, microsoft.com), whose pages are linked
LOADER_CATEGORIES = frozenset({"advertising", "analytics", "audience-measurement", "tag-manager", "consent",
                               "ab-testing", "session-replay", "marketing-automation", "security", "captcha", "fonts"})


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
    from crawler.signatures import needles_for

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
    """Matches observations against a catalog (curated entries, plus the long tail if the catalog has it).

    ``owners`` (a ``pipelines.catalog.parties.OwnerIndex``) tells which third-party hosts the site's own
    group runs, so they are not reported as unclaimed; without it none is."""

    def __init__(self, catalog: Catalog, owners=None):
        self.catalog = catalog
        self.owners = owners
        self.matcher = catalog.matcher
        self.by_signature: dict[str, list[str]] = {}
        self._loaders = frozenset(sid for sid, sig in catalog.signatures.items() if sig.loader)
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
        self._detections: dict[tuple[str, str, str, str, str, str, bool], Detection] = {}
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

    def _detection(self, service_id: str, kind: str, evidence: str, seen_in: str, host: str,
                   embedding: str, loads: bool) -> Detection:
        """A Detection, shared between pages (it is immutable) to spare building the same one again."""
        key = (service_id, kind, evidence, seen_in, host, embedding, loads)
        det = self._detections.get(key)
        if det is None:
            if len(self._detections) >= 100_000:
                self._detections.clear()
            det = self._detections[key] = Detection(service_id, kind, evidence, seen_in, host, embedding, loads)
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
        signatures: Iterable[tuple[str, str, str]] = (),
        cookies: Iterable[str] = (),
        seen_in: str = "html",
        shortcuts: bool = True,
        cnames: Mapping[str, str] | None = None,
        unclaimed: list[Unclaimed] | None = None,
    ) -> list[Detection]:
        """Detections for one page: ``references`` have ``url``/``host``/``declared``/``embedding`` (CSP-declared
        hosts are skipped: allowed is not loaded); ``signatures`` are (signature id, value, embedding);
        ``cookies`` are names. ``cnames`` maps first-party hosts whose CNAME chain reaches a service (cloaking,
        from enrichment) to that service. Third-party references no entry claims are appended to
        ``unclaimed`` when it is given (hosts of the site's own group left out).

        ``shortcuts=False`` matches every reference on its own (the reference behaviour the per-page host
        shortcuts must reproduce; tests compare both)."""
        site = registrable_domain(site_host)
        out: dict[tuple[str, str, str, str], Detection] = {}
        hints: list[tuple[Service, str, str]] = []
        specific_hosts: set[str] = set()
        by_host: dict[str, tuple[bool, object]] = {}  # host -> (first party?, its match or _PER_URL)
        done: set = set()  # hosts (direct) or (host, embedding) whose host detection is recorded
        unclaimed_seen: set[tuple[str, str]] = set()
        memo_fp, memo_tp = self._url_memo[True], self._url_memo[False]
        for ref in references:
            host = ref.host
            if ref.declared or not host:
                continue  # CSP-allowed: not loaded
            embedding = ref.embedding
            done_key = host if embedding == "direct" else (host, embedding)
            if done_key in done:
                continue
            known = by_host.get(host)
            if known is None:
                first_party = registrable_domain(host) == site
                known = (first_party, self._match_host_level(host, first_party) if shortcuts else _PER_URL)
                if shortcuts:
                    by_host[host] = known
            first_party, hit = known
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
                if first_party:
                    service_id = cnames.get(host) if cnames else None
                    if service_id is not None:  # a first-party name CNAMEd to a tracker (cloaking)
                        key = (service_id, "cname", host, embedding)
                        if key not in out:
                            out[key] = self._detection(service_id, "cname", host, seen_in, host, embedding,
                                                       _loads(embedding, ref.url))
                elif unclaimed is not None and (host, embedding) not in unclaimed_seen:
                    unclaimed_seen.add((host, embedding))
                    if not (ref.inline and ref.element == "script" and not _looks_loadable(ref.url)) \
                            and not (self.owners is not None and self.owners.same_owner(host, site)):
                        unclaimed.append(Unclaimed(host, embedding))
                continue
            service, rule = hit
            if rule == "host" and ref.inline and ref.element == "script" and not _looks_loadable(ref.url) \
                    and (service.category not in LOADER_CATEGORIES or service.id.startswith("tpw-")):
                # a URL literal in inline code that is no loadable resource (share links, profile URLs in
                # JSON state): a page link, not an embed; path rules and signatures still count
                continue
            if first_party and rule == "host" and service.company != "site-operator":
                # the site's own domain listed in the catalog (e.g. crawling google.com itself)
                continue
            if rule == "url_pattern":
                specific_hosts.add(host)
            if rule == "host" and embedding == "hint":
                hints.append((service, host, seen_in))
                continue
            evidence = host if rule == "host" else ref.url[:300]
            key = (service.id, rule, evidence, embedding)
            if key not in out:
                out[key] = self._detection(service.id, rule, evidence, seen_in, host, embedding,
                                           _loads(embedding, ref.url))
            if rule == "host" and known[1] is not _PER_URL and known[1] is not _STAR_ONLY:  # (only with shortcuts)
                # the host's detection is recorded and no path rule applies to it: any further reference to
                # it with this embedding adds nothing
                done.add(done_key)
        for service, host, where in hints:
            # a bare connection hint is weak evidence: a specific script reference to the same host on the
            # page (e.g. gtag.js for GA4 on googletagmanager.com) says which product the hint was for
            if host not in specific_hosts:
                out.setdefault((service.id, "host", host, "hint"),
                               Detection(service.id, "host", host, where, host, "hint"))
        url_found = {k[0] for k in out}
        for sid, value, embedding in signatures:
            loads = embedding == "config" and sid in self._loaders  # the vendor's loader snippet runs on load
            for service_id in self._signature_owners(sid, url_found):
                ev = f"{sid}:{value}"
                out.setdefault((service_id, "signature", ev, embedding),
                               Detection(service_id, "signature", ev, seen_in, "", embedding, loads))
        for name in cookies:
            service_id = self.match_cookie(name)
            if service_id:
                out.setdefault((service_id, "cookie", name, "direct"),
                               Detection(service_id, "cookie", name, "cookie", "", "direct", True))
        return list(out.values())


def _loads(embedding: str, url: str) -> bool:
    """Does a reference with this embedding show its service loading without a consent gate? Direct ones do;
    in inline code (config), a loadable URL (a script, pixel or widget endpoint, not a link) does."""
    return embedding == "direct" or (embedding == "config" and _looks_loadable(url))


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
    embedding: str = "direct"
