"""The crawl defaults are stated once (``crawler.defaults``): the Scrapy settings, ``CrawlOptions``, the click
flags of crawl/run/seed and the scan's flags (with its explicit overrides) all agree with that table."""

from __future__ import annotations

from dataclasses import asdict, fields

import pytest

from crawler import settings
from crawler.defaults import CRAWL, SCAN, CrawlDefaults
from crawler.runner import CrawlOptions, RunPlan, crawl_settings
from pipelines.cli import main

#: each table field and the Scrapy/SR_* setting that carries it (the inverted ones as such)
SETTING = {"max_pages": ("SR_MAX_PAGES", False), "concurrency": ("CONCURRENT_REQUESTS", False),
           "per_site_concurrency": ("CONCURRENT_REQUESTS_PER_DOMAIN", False), "timeout": ("DOWNLOAD_TIMEOUT", False),
           "ignore_robots": ("ROBOTSTXT_OBEY", True), "allow_private": ("SR_ALLOW_PRIVATE", False),
           "autothrottle": ("AUTOTHROTTLE_ENABLED", False), "mode": ("SR_MODE", False)}
#: each table field and the click parameter that sets it (an on/off flag is off by default: the table's value)
PARAM = {"max_pages": "max_pages", "concurrency": "concurrency", "per_site_concurrency": "per_site_concurrency",
         "timeout": "timeout", "ignore_robots": "ignore_robots", "allow_private": "allow_private",
         "autothrottle": "no_autothrottle", "mode": "mode"}


def _setting_value(values: dict, field: str):
    name, inverted = SETTING[field]
    return (not values[name]) if inverted else values[name]


#: the least each command needs on its command line
ARGS = {"crawl": ["d.txt", "--out", "o"], "run": ["d.txt", "--out", "o"], "seed": ["d.txt", "--out", "o", "--redis", "r"],
        "scan": ["example.de", "--out", "o"]}


def _click_values(name: str) -> dict:
    """The parameters of command ``name`` given only what it needs: every flag at its default."""
    with main.commands[name].make_context(name, list(ARGS[name])) as ctx:
        return dict(ctx.params)


def _click_value(values: dict, field: str):
    value = values[PARAM[field]]
    return (not value) if field == "autothrottle" else value


def test_every_field_is_mapped():
    assert set(SETTING) == set(PARAM) == {f.name for f in fields(CrawlDefaults)}


@pytest.mark.parametrize("field", sorted(SETTING))
def test_settings_options_and_crawl_flags_agree_with_the_table(field, tmp_path):
    want = getattr(CRAWL, field)
    assert _setting_value(settings.module_settings(), field) == want
    assert getattr(CrawlOptions(out=tmp_path), field) == want
    plan = RunPlan("20261207T000000Z-000000", tmp_path / "raw" / "r", tmp_path / "d.txt", {}, 1, 0)
    assert _setting_value(crawl_settings(plan, CrawlOptions(out=tmp_path)), field) == want
    for name in ("crawl", "run", "seed"):
        values = _click_values(name)
        if PARAM[field] in values:
            assert _click_value(values, field) == want, (name, field)


def test_the_scan_is_the_table_with_its_overrides():
    overrides = {k: v for k, v in asdict(SCAN).items() if asdict(CRAWL)[k] != v}
    assert overrides == {"max_pages": 10, "concurrency": 4, "autothrottle": False}
    values = _click_values("scan")
    for field in ("max_pages", "timeout", "mode", "allow_private", "ignore_robots"):
        assert _click_value(values, field) == getattr(SCAN, field), field
