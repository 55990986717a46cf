"""Pure functions from a browser visit to crawl-table rows (resources, cookies, storage); no I/O."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from common.hosts import host_of, registrable_domain
from crawler.browser.visit import Visit
from crawler.observe import embedding_of

_LIMIT = 4096  # URLs are untrusted and can be huge (data: excluded below)


def _third(host: str, site_rd: str) -> bool:
    host = (host or "").lstrip(".").lower()
    return bool(host) and registrable_domain(host) != site_rd


def visit_rows(visit: Visit, *, run_id: str, input_domain: str, page_url: str, site_host: str) -> dict[str, list[dict]]:
    """Rows for ``resources`` (every request, redirect hops included), ``cookies`` (the context's jar after the
    visit, JavaScript-set included) and ``storage`` (keys per frame origin), tagged ``method = browser``."""
    site_rd = registrable_domain(site_host) or site_host
    tags = {"run_id": run_id, "input_domain": input_domain, "page_url": page_url, "method": "browser",
            "consent_state": visit.pass_.consent_state, "signal": visit.pass_.signal}
    resources = []
    for r in visit.requests:
        if not r.url.startswith(("http://", "https://")):
            continue
        resources.append({**tags, "url": r.url[:_LIMIT], "host": host_of(r.url), "element": r.resource_type,
                          "attribute": None, "rel": None, "inline": False, "declared": False, "gated": False,
                          "embedding": embedding_of(r.resource_type, "", None, False),  # a request made: direct
                          "resource_type": r.resource_type, "frame_url": (r.frame_url or "")[:_LIMIT] or None,
                          "initiator": (r.initiator or "")[:_LIMIT] or None,
                          "redirected_from": (r.redirected_from or "")[:_LIMIT] or None, "status": r.status,
                          "remote_ip": r.remote_ip, "failure": r.failure, "requested_at": r.requested_at})
    cookies = []
    for c in visit.cookies:
        expires = c.get("expires", -1)
        session = expires is None or expires < 0
        domain = str(c.get("domain", ""))
        cookies.append({**tags, "name": str(c.get("name", ""))[:256], "value_length": len(str(c.get("value", ""))),
                        "domain": domain, "host_only": not domain.startswith("."), "path": c.get("path"),
                        "expires": None if session else datetime.fromtimestamp(min(expires, 253402300799), timezone.utc),
                        "max_age": None, "session": session, "secure": bool(c.get("secure")),
                        "http_only": bool(c.get("httpOnly")), "same_site": c.get("sameSite"),
                        "set_by_host": domain.lstrip(".") or None, "third_party": _third(domain, site_rd)})
    storage = []
    seen: set[tuple[str, str, str]] = set()
    for origin, kind, key, n in visit.storage:
        if (origin, kind, key) in seen:
            continue
        seen.add((origin, kind, key))
        storage.append({**tags, "origin": origin[:_LIMIT], "kind": kind, "key": key[:512], "value_length": n,
                        "third_party": _third(host_of(origin), site_rd)})
    return {"resources": resources, "cookies": cookies, "storage": storage}


def page_extras(visit: Visit) -> dict[str, Any]:
    """The browser-only columns of a ``pages`` row."""
    return {"method": "browser", "consent_state": visit.pass_.consent_state, "signal": visit.pass_.signal,
            "cmp": visit.cmp, "consent_result": visit.consent_result, "load_state": visit.load_state,
            "popups": visit.popups, "title": visit.title or None}
