"""Choose which same-site pages to fetch after the home page: policy, imprint and contact pages first."""

from __future__ import annotations

from urllib.parse import urlsplit

from common.hosts import registrable_domain

# (kind, words found in the link's URL path or text); earlier kinds win.
KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("privacy", ("datenschutz", "privacy", "data-protection", "dataprotection", "protection-des-donnees",
                 "confidentialite", "privacidad", "privacybeleid", "dsgvo", "gdpr")),
    ("imprint", ("impressum", "imprint", "legal-notice", "legal notice", "mentions-legales", "colofon", "anbieterkennzeichnung")),
    ("contact", ("kontakt", "contact", "kontaktformular")),
    ("cookies", ("cookie",)),
    ("legal", ("agb", "terms", "nutzungsbedingungen", "legal", "rechtliches")),
    ("about", ("ueber-uns", "uber-uns", "über-uns", "about", "unternehmen", "team")),
)
_SKIP_EXT = (".pdf", ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".zip", ".mp4", ".mp3", ".doc", ".docx",
             ".xls", ".xlsx", ".ppt", ".pptx", ".css", ".js", ".xml", ".ico", ".woff", ".woff2", ".rss", ".exe", ".dmg")


def page_kind(url: str, text: str = "") -> str:
    """``privacy`` / ``imprint`` / ``contact`` / ``cookies`` / ``legal`` / ``about`` or ``other``."""
    hay = (urlsplit(url).path + " " + text).lower()
    for kind, words in KINDS:
        if any(w in hay for w in words):
            return kind
    return "other"


def pick_pages(links: list[tuple[str, str]], home_url: str, budget: int) -> list[tuple[str, str]]:
    """Up to ``budget`` (url, kind) pairs from ``links``: same site as ``home_url``, http(s), not the home
    page itself, not an obvious download; preferred kinds first, then document order."""
    if budget <= 0:
        return []
    home_host = urlsplit(home_url).hostname or ""
    site = registrable_domain(home_host)
    home_key = _key(home_url)
    seen = {home_key}
    ranked: list[tuple[int, int, str, str]] = []
    order = {kind: i for i, (kind, _) in enumerate(KINDS)}
    for i, (url, text) in enumerate(links):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            continue
        if registrable_domain(parts.hostname) != site:
            continue
        if parts.path.lower().endswith(_SKIP_EXT):
            continue
        key = _key(url)
        if key in seen:
            continue
        seen.add(key)
        kind = page_kind(url, text)
        ranked.append((order.get(kind, len(order)), i, url, kind))
    ranked.sort()
    return [(url, kind) for _, _, url, kind in ranked[:budget]]


def _key(url: str) -> str:
    p = urlsplit(url)
    return f"{(p.hostname or '').removeprefix('www.')}{p.path.rstrip('/') or '/'}?{p.query}"
