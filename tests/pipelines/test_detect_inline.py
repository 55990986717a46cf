"""URL literals in running inline code: which ones configure a vendor's loader and which are page links.

A host of an ad server, measurement or consent vendor in inline code is its loader's configuration, even as a
base URL the script completes (``'https://ad.yieldlab.net/yp/' + id``); a social network's host there counts only
with a URL that looks like a fetched resource, since profile and share links sit in inline state too."""

from __future__ import annotations

import pytest

from pipelines.catalog.detect import LOADER_CATEGORIES, Detector, PageRef
from pipelines.catalog.load import load_catalog


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(load_catalog())


def _found(detector: Detector, url: str, host: str) -> set[tuple[str, str]]:
    ref = PageRef(url, host, False, "script", True, "config")
    return {(d.service_id, d.embedding) for d in detector.detect(site_host="www.site.example", references=[ref])}


def test_a_tracker_base_url_in_inline_code_configures_its_loader(detector):
    assert detector.catalog.by_id["yieldlab"].category in LOADER_CATEGORIES
    assert _found(detector, "https://ad.yieldlab.net/yp/", "ad.yieldlab.net") == {("yieldlab", "config")}
    assert _found(detector, "https://script.ioam.de/iam", "script.ioam.de") == {("infonline-ivw", "config")}


def test_a_social_link_in_inline_code_is_no_embed_but_its_sdk_is(detector):
    assert detector.catalog.by_id["facebook-social-plugins"].category not in LOADER_CATEGORIES
    assert _found(detector, "https://www.facebook.com/SomePublisher", "www.facebook.com") == set()
    assert _found(detector, "https://connect.facebook.net/de_DE/sdk.js", "connect.facebook.net") == {
        ("facebook-social-plugins", "config")}
