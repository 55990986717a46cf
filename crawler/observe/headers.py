"""What the response headers tell: hosts a Content-Security-Policy allows, and parsed Set-Cookie headers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from crawler.observe.rules import _CSP_KEYWORDS
from crawler.observe.urls import _host


def csp_hosts(policy: str) -> list[tuple[str, str]]:
    """(directive, source) pairs for host sources named in a Content-Security-Policy header."""
    out: list[tuple[str, str]] = []
    for directive in policy.split(";"):
        bits = directive.split()
        if len(bits) < 2:
            continue
        name = bits[0].lower()
        for src in bits[1:]:
            s = src.strip()
            low = s.lower()
            if low in _CSP_KEYWORDS or low.startswith(("'nonce-", "'sha256-", "'sha384-", "'sha512-")):
                continue
            if "." not in s and not low.startswith("localhost"):
                continue
            if "://" not in s:
                s = "https://" + s.lstrip("*.") if s.startswith("*.") else "https://" + s
            out.append((name, s))
    return out


_MAX_AGE_CAP = 2**62  # keeps Max-Age inside the int64 column


@dataclass(slots=True)
class CookieObs:
    """A parsed Set-Cookie header (the value itself is not kept, only its length)."""

    name: str
    value_length: int
    domain: str
    host_only: bool
    path: str
    expires: datetime | None
    max_age: int | None
    session: bool
    secure: bool
    http_only: bool
    same_site: str


def parse_set_cookie(header: str, request_url: str, now: datetime | None = None) -> CookieObs | None:
    """Parse one Set-Cookie header value as RFC 6265 does, leniently; None when it has no name=value."""
    parts = header.split(";")
    first = parts[0]
    if "=" not in first:
        return None
    name, _, value = first.partition("=")
    name = name.strip()
    if not name:
        return None
    now = now or datetime.now(timezone.utc)
    host = _host(request_url)
    domain, path, expires, max_age = "", "", None, None
    secure = http_only = False
    same_site = ""
    for attr in parts[1:]:
        key, _, val = attr.partition("=")
        key = key.strip().lower()
        val = val.strip()
        if key == "domain" and val:
            domain = val.lstrip(".").lower()
        elif key == "path":
            path = val
        elif key == "expires" and val:
            try:
                expires = parsedate_to_datetime(val)
                if expires.tzinfo is None:
                    expires = expires.replace(tzinfo=timezone.utc)
            except (TypeError, ValueError, IndexError, OverflowError):
                expires = None
        elif key == "max-age":
            try:
                max_age = max(-_MAX_AGE_CAP, min(_MAX_AGE_CAP, int(val)))
            except ValueError:
                pass
        elif key == "secure":
            secure = True
        elif key == "httponly":
            http_only = True
        elif key == "samesite":
            same_site = val.lower()
    if max_age is not None:  # Max-Age wins over Expires; <= 0 means already expired (RFC 6265 5.2.2)
        if max_age <= 0:
            expires = datetime(1970, 1, 1, tzinfo=timezone.utc)
        else:
            try:
                expires = now + timedelta(seconds=max_age)
            except OverflowError:
                expires = datetime(9998, 12, 31, tzinfo=timezone.utc)
    if expires is not None and expires.year > 9999 - 1:
        expires = datetime(9998, 12, 31, tzinfo=timezone.utc)
    return CookieObs(
        name=name[:256],
        value_length=len(value.strip()),
        domain=domain or host,
        host_only=not domain,
        path=path or "/",
        expires=expires,
        max_age=max_age,
        session=expires is None,
        secure=secure,
        http_only=http_only,
        same_site=same_site,
    )
