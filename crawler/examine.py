"""Everything read from one fetched page's bytes in one pure call: the observation (references, signatures,
title, encoding), the links that pick the next pages, and a policy page's readable text.

This is the unit of work ``crawler/observepool.py`` runs in worker processes, off the reactor thread, under a
time budget. No I/O; never raises on page content.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.observe import Observation, observe
from crawler.pagetext import PageText, page_text

DOM_CONTENT_TYPE = "text/html; charset=utf-8"  # Chromium hands the rendered document over as a str


@dataclass(frozen=True, slots=True)
class PageJob:
    """One page to examine. ``links``: collect ``<a href>`` links (the home page picks the next pages from
    them); ``policy_chars`` > 0: keep at most that many characters of readable text (policy pages); ``dom``:
    browser mode's rendered document, which the links and the policy text come from (scripts write them)."""

    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    links: bool = False
    policy_chars: int = 0
    dom: bytes | None = None


@dataclass(slots=True)
class PageFindings:
    """What ``examine`` read from a page."""

    observation: Observation
    links: list[tuple[str, str]]
    policy: PageText | None = None


def examine(job: PageJob) -> PageFindings:
    """Observe the served document; links and policy text from the rendered one when there is one."""
    links_here = job.links and job.dom is None
    obs = observe(job.body, job.url, job.headers, links=links_here)
    links = obs.links
    if job.links and job.dom is not None:
        links = observe(job.dom, job.url, {"content-type": DOM_CONTENT_TYPE}, links=True).links
    policy = None
    if job.policy_chars > 0:
        if job.dom is not None:
            policy = page_text(job.dom, DOM_CONTENT_TYPE, max_chars=job.policy_chars)
        else:
            policy = page_text(job.body, job.headers.get("content-type", ""), max_chars=job.policy_chars)
    return PageFindings(obs, links, policy)
