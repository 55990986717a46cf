"""Closed vocabularies and id/host/date formats that the service and company catalog may use."""

from __future__ import annotations

import re

CATEGORIES = frozenset({
    "analytics", "tag-manager", "advertising", "social", "chat", "consent", "fonts", "video", "maps",
    "captcha", "cdn", "hosting", "reviews", "payment", "ab-testing", "session-replay",
    "marketing-automation", "customer-support", "comments", "search", "security",
    "audience-measurement", "embed", "other",
})

DATA_CATEGORIES = frozenset({
    "contact_data", "chat_content", "ip_address", "device_browser", "location", "usage_behaviour",
    "identifiers", "payment", "content_ugc",
    "staff_data",  # about the site operator's staff who use the service (e.g. chat agents), not about visitors
})
STAFF_DATA_CATEGORIES = frozenset({"staff_data"})

PURPOSES = frozenset({
    "necessary", "functional", "analytics", "advertising", "profiling", "session_replay", "social",
    "security", "consent_management", "content_delivery", "communication",
})

CONSENT_BASELINES = frozenset({"required", "not_required", "likely", "unknown"})
ROLES = frozenset({"processor", "controller", "joint_controller", "unknown"})
EU_HOSTING = frozenset({"yes", "no", "optional", "unknown"})
SETS_COOKIES = frozenset({"yes", "no", "unknown"})
COOKIE_MATCH = frozenset({"exact", "prefix", "regex"})
CONFIDENCE = frozenset({"V", "S", "M"})
DPF_STATUS = frozenset({"active", "inactive", "not_listed", "not_applicable", "unknown"})
PARENT_STATUS = frozenset({"known", "none", "unknown"})
YES_NO_UNKNOWN = frozenset({"yes", "no", "unknown"})
# where the IP address is shortened or dropped: in the browser, at the provider's EU edge before any onward
# transfer, only after the provider received it (location not established), not at all, or unknown
IP_ANONYMISATION = frozenset({"browser", "eu_edge", "after_receipt", "none", "unknown"})
# structured service properties and the fact field that must back a value other than "unknown"
SERVICE_FLAGS = {
    "own_purposes": (YES_NO_UNKNOWN, "own_purposes"),
    "ip_anonymisation": (IP_ANONYMISATION, "ip_handling"),
    "honours_dnt": (YES_NO_UNKNOWN, "dnt"),
    "device_access": (YES_NO_UNKNOWN, "device_access"),
}

# What a fact is about. Legal facts are the ones a risk score may rely on; they need a dated source.
FACT_FIELDS = frozenset({
    "role", "contracting_entity", "seat", "parent", "ownership", "eu_hosting", "data_location",
    "cookies", "ip_handling", "dpf", "enforcement", "consent", "retention", "company", "category",
    "status", "note", "own_purposes", "dnt", "device_access",
})
LEGAL_FACT_FIELDS = frozenset({
    "role", "contracting_entity", "seat", "parent", "ownership", "eu_hosting", "data_location",
    "cookies", "ip_handling", "dpf", "enforcement", "consent", "retention", "own_purposes", "dnt",
    "device_access",
})

# consent.basis: what the baseline rests on; a court ruling or an authority decision makes reason C5 hold
CONSENT_BASES = frozenset({"catalog", "court_ruling", "authority_decision"})
SECURITY_FINDINGS = frozenset({"compromised_domain"})
# cookie-purpose override table (data/reference/cookie_purposes.csv): active rows set the purpose; retired rows
# drop a cookie the vendor no longer sets, vendor_site rows one it sets only on its own website (not by the
# embedded product, e.g. the analytics cookies of trustpilot.com itself)
COOKIE_OVERRIDE_STATUS = frozenset({"active", "retired", "vendor_site"})

SITE_OPERATOR = "site-operator"  # company id meaning "the website itself" (self-hosted services)

ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PARTIAL_DATE_RE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
DPF_ID_RE = re.compile(r"^a2z[0-9A-Za-z]{15}$")
LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

# A source is a public web address or a pinned public package reference (name@version[#part]). References to
# internal notes (``doc:...``) are rejected: every fact must be checkable by a reader from a public source.
URL_SOURCE_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
PACKAGE_SOURCE_RE = re.compile(r"^(?:@[a-z0-9._-]+/)?[a-z0-9._-]+@\d[0-9A-Za-z.+-]*(?:#\S+)?$")


def is_valid_source(source: object) -> bool:
    """True if ``source`` is an http(s) URL or a pinned ``name@version`` package reference (both public)."""
    if not isinstance(source, str) or not source.strip():
        return False
    return bool(URL_SOURCE_RE.match(source) or PACKAGE_SOURCE_RE.match(source))


def is_public_url(source: object) -> bool:
    """True if ``source`` is an http(s) URL (legal facts other than imported cookie data need one)."""
    return isinstance(source, str) and bool(URL_SOURCE_RE.match(source))


def is_valid_host_pattern(pattern: object, *, allow_any: bool = False) -> bool:
    """Check a host pattern: ``example.com`` (domain and subdomains) or ``=cdn.example.com`` (exact).

    ``allow_any`` additionally accepts ``*`` (any host), which only url_patterns may use.
    """
    if not isinstance(pattern, str):
        return False
    if allow_any and pattern == "*":
        return True
    host = pattern[1:] if pattern.startswith("=") else pattern
    labels = host.split(".")
    if len(labels) < 2 or host != host.lower():
        return False
    if labels[-1].isdigit():  # no IP addresses
        return False
    return all(LABEL_RE.match(label) for label in labels)
