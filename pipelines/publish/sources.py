"""The public sources behind a knowledge-base page: the catalog facts of a service and its companies, their DPF
statements and the rubric's legal sources, one entry per page with its newest as-of date."""

from __future__ import annotations

import re
from typing import Any

from pipelines import glossary
from pipelines.catalog import vocab
from pipelines.catalog.load import Service
from pipelines.publish.explain import rubric

# the rubric sources the explanatory texts of every service page rest on (legal basis, consent, IP address,
# location, company seat): listed under "Quellen" beside the catalog's sources
PAGE_LEGAL_SOURCES = ("tdddg25", "gdpr", "breyer", "adequacy", "dpf-decision", "dsk-dpf")



def _url_key(url: str) -> str:
    """A URL without scheme, ``www.``, query-less trailing slash and case of the host: two spellings of one page
    are one source."""
    m = re.match(r"^https?://(?:www\.)?([^/?#]+)(.*)$", url.strip())
    if not m:
        return url.strip()
    return m.group(1).lower() + (m.group(2).rstrip("/") or "")


def _package_key(source: str) -> str:
    """A pinned package reference without the record inside it (``pkg@1.0#db/123`` -> ``pkg@1.0#db``)."""
    head, _, part = source.partition("#")
    return f"{head}#{part.split('/')[0]}" if part else head


def collect_sources(service: Service | None, companies: list, legal: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every public source behind a page: the catalog facts of the service and its companies (with the fields
    they back), their DPF statements and the rubric's legal sources ``legal``. One entry per page (URLs that differ
    only in ``www.``, scheme or a trailing slash are one), each with its newest as-of date. ``url`` is set for web
    addresses only; pinned packages are datasets, named without a link (``dataset`` True). Internal notes never
    appear: the catalog admits only public URLs and package references."""
    found: dict[str, dict[str, Any]] = {}

    def add(src: str, as_of: str | None, field: str | None = None, legal_key: str | None = None) -> None:
        if not src or not (glossary.is_link(src) or vocab.PACKAGE_SOURCE_RE.match(src)):
            return  # only public web addresses and pinned public packages are sources a reader can check
        link = glossary.is_link(src)
        key = _url_key(src) if link else _package_key(src)
        entry = found.setdefault(key, {"url": src if link else None, "source": src if link else _package_key(src),
                                       "dataset": not link, "as_of": None, "fields": [], "legal": legal_key})
        if as_of and (entry["as_of"] is None or str(as_of) > entry["as_of"]):
            entry["as_of"] = str(as_of)
        if field and field not in entry["fields"]:
            entry["fields"].append(field)
        if legal_key and not entry["legal"]:
            entry["legal"] = legal_key

    for entity in ([service] if service else []) + companies:
        for f in entity.facts:
            add(f.source, f.as_of, f.field)
        for src in entity.sources:
            add(src, entity.as_of)
        dpf = getattr(entity, "dpf", None)
        if dpf and dpf.source:
            add(dpf.source, dpf.checked_on, "dpf")
        transfer = getattr(entity, "transfers_to", None)
        if transfer and transfer.source:
            add(transfer.source, transfer.as_of, "transfers_to")
    if service:
        for c in service.cookies:  # cookie rows carry no date of their own: the entry's review date stands
            add(c.source, service.as_of, "cookies")
        if service.consent.source:
            add(service.consent.source, service.consent.as_of, "consent")
    sources = rubric().sources
    for key in legal:
        if key in sources:
            add(sources[key].source, sources[key].as_of, None, key)
    for entry in found.values():
        entry["text"] = entry["url"] or entry["source"]
    return sorted(found.values(), key=lambda e: (e["legal"] is None, e["dataset"], e["text"]))
