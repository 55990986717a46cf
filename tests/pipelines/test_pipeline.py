"""``pipelines.pipeline``: the one pipeline raises typed errors carrying the exit code, never exits or prints.
(Whole runs through it are the ``run``, ``scan`` and ``demo`` tests.)"""

from __future__ import annotations

import pytest

from crawler.runner import CrawlOptions
from pipelines import exits
from pipelines.pipeline import CrawlNotFinished, Observer, PipelineError, build_warehouse, run_pipeline


class Heard(Observer):
    def __init__(self):
        self.stages = []

    def prepared(self, plan):
        self.stages.append(("prepared", plan.accepted, plan.rejected))


def test_a_bad_domain_list_is_a_usage_error_before_any_crawl(tmp_path, capsys):
    domains = tmp_path / "domains.txt"
    domains.write_text("not a domain\n", encoding="utf-8")
    crawled = []
    with pytest.raises(PipelineError) as err:
        run_pipeline(domains, CrawlOptions(out=tmp_path / "out"), crawl=lambda plan, opts: crawled.append(plan))
    assert err.value.code == exits.USAGE and crawled == []
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("reason,code", [("shutdown", exits.INTERRUPTED), ("closespider_timeout", exits.FAILED),
                                         (None, exits.FAILED)])
def test_a_crawl_that_does_not_seal_its_run_stops_the_pipeline(tmp_path, capsys, reason, code):
    """A crawl step that ends without sealing (here: one that stops at once) ends the pipeline with the run and
    the reason, before enrichment."""
    domains = tmp_path / "domains.txt"
    domains.write_text("example.de\nbad domain\n", encoding="utf-8")
    heard = Heard()
    with pytest.raises(CrawlNotFinished) as err:
        run_pipeline(domains, CrawlOptions(out=tmp_path / "out"), observer=heard,
                     crawl=lambda plan, opts: {"finish_reason": reason} if reason else {})
    assert err.value.code == code and err.value.reason == (reason or "stopped")
    assert heard.stages == [("prepared", 1, 1)]
    assert err.value.plan.run_dir.is_dir() and not (tmp_path / "out" / "enriched").exists()
    assert capsys.readouterr() == ("", "")


def test_building_without_a_sealed_run_is_a_usage_error(tmp_path):
    with pytest.raises(PipelineError, match="no sealed runs") as err:
        build_warehouse(tmp_path)
    assert err.value.code == exits.USAGE and not (tmp_path / "warehouse.duckdb").exists()
