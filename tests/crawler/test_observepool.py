"""The observation pool: pages examined in worker processes, each within its budget; a stuck or dead worker is
replaced and the next page is examined as usual."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from crawler.examine import PageFindings, PageJob, examine
from crawler.observepool import ObservePool
from crawler.outcomes import Classified

PAGE = PageJob("https://a.example/", b'<title>Hallo</title><script src="https://cdn.example/x.js"></script>',
               {"content-type": "text/html; charset=utf-8"})
# a page lexbor needs about a minute for (nested div-like elements whose styles hold url(): kept at full depth)
HOSTILE = PageJob("https://b.example/", b"<body>" + b'<div style="background:url(/b.png)">' * 250_000)


class Stats:
    def __init__(self):
        self.values: dict[str, int] = {}

    def inc_value(self, key, n=1):
        self.values[key] = self.values.get(key, 0) + n


def test_pages_come_back_as_examined_in_process():
    async def scenario():
        pool = ObservePool(workers=1, budget=10, inline_bytes=0)
        try:
            return await asyncio.gather(*(pool.examine(PAGE) for _ in range(3)))
        finally:
            pool.close()

    results = asyncio.run(scenario())
    inline = examine(PAGE)
    for r in results:
        assert isinstance(r, PageFindings)
        assert r.observation.title == inline.observation.title == "Hallo"
        assert [x.url for x in r.observation.references] == [x.url for x in inline.observation.references]


@pytest.mark.wallclock  # times against a budget: run alone, after the parallel phase
def test_a_page_over_budget_is_given_up_and_the_worker_replaced():
    stats = Stats()

    async def scenario():
        pool = ObservePool(workers=1, budget=1.0, stats=stats, inline_bytes=0)
        try:
            await pool.ready()  # the budget counts from a ready worker; time the page, not the start
            started = time.monotonic()
            over = await pool.examine(HOSTILE)
            took = time.monotonic() - started
            after = await pool.examine(PAGE)
            return over, took, after
        finally:
            pool.close()

    over, took, after = asyncio.run(scenario())
    assert isinstance(over, Classified) and (over.outcome, over.error_class) == ("parse_budget_exceeded", "ParseBudget")
    assert took < 3.0
    assert isinstance(after, PageFindings) and after.observation.title == "Hallo"
    assert stats.values == {"sr/parse/pooled": 2, "sr/parse/budget_exceeded": 1, "sr/parse/workers_started": 2}


def test_a_worker_that_dies_mid_page_is_reported_and_replaced():
    async def scenario():
        pool = ObservePool(workers=1, budget=30, inline_bytes=0)
        try:
            pool.start()
            (pid,) = pool.pids
            busy = asyncio.ensure_future(pool.examine(HOSTILE))
            await asyncio.sleep(0.5)
            os.kill(pid, signal.SIGKILL)
            died = await asyncio.wait_for(busy, 10)
            return died, await pool.examine(PAGE)
        finally:
            pool.close()

    died, after = asyncio.run(scenario())
    assert isinstance(died, Classified) and died.error_class == "ParseWorkerDied"
    assert isinstance(after, PageFindings)


@pytest.mark.wallclock  # times against a budget: run alone, after the parallel phase
def test_other_pages_go_on_while_one_worker_is_stuck():
    async def scenario():
        pool = ObservePool(workers=2, budget=3.0, inline_bytes=0)
        try:
            await pool.ready()  # both workers imported: what follows times examining, not starting
            stuck = asyncio.ensure_future(pool.examine(HOSTILE))
            await asyncio.sleep(0.2)
            started = time.monotonic()
            calm = [await pool.examine(PAGE) for _ in range(5)]
            calm_took = time.monotonic() - started
            return await stuck, calm, calm_took
        finally:
            pool.close()

    stuck, calm, calm_took = asyncio.run(scenario())
    assert isinstance(stuck, Classified)
    assert all(isinstance(c, PageFindings) for c in calm)
    assert calm_took < 2.0  # the second worker examined them while the first was busy


def test_small_pages_and_no_workers_examine_in_the_calling_thread():
    for pool in (ObservePool(workers=0, inline_bytes=0), ObservePool(workers=2)):
        stats = Stats()
        pool.stats = stats
        result = asyncio.run(pool.examine(PAGE))
        assert isinstance(result, PageFindings) and result.observation.title == "Hallo"
        assert stats.values == {"sr/parse/inline": 1} and pool.pids == []
