"""The fault web without a proxy: every site served by its own origin server on loopback and resolved only by the
local DNS server (in a network namespace of its own, so the crawl can connect to ports 80 and 443 and nowhere
else). Each fault ends in the same outcome as behind the proxy (``test_crawl_faults.py``): DNS failures come from
the crawler's own lookup, and connections go to the addresses that lookup gave (the system's resolver knows none
of these names)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.faults import FAULT_ERROR_CLASS, RESET_CONNECT_SITE
from tests.support.netns import run_in_netns

SCENARIO = Path(__file__).parents[1] / "support" / "faults_direct_scenario.py"


@pytest.fixture(scope="module")
def direct(tmp_path_factory):
    return run_in_netns(SCENARIO, str(tmp_path_factory.mktemp("direct")))


def test_every_fault_ends_in_its_outcome_without_a_proxy(direct):
    sites = {r["input_domain"]: r for r in direct["sites"]}
    assert set(sites) == set(direct["expected"])
    wrong = {d: (sites[d]["outcome"], sites[d]["error_class"], sites[d]["detail"])
             for d, expected in direct["expected"].items() if sites[d]["outcome"] != expected}
    assert not wrong, wrong
    for domain, error_class in FAULT_ERROR_CLASS.items():
        if domain in sites:
            assert sites[domain]["error_class"] == error_class, sites[domain]


def test_a_reset_connection_is_a_connect_error_at_once(direct):
    row = next(r for r in direct["sites"] if r["input_domain"] == RESET_CONNECT_SITE)
    assert row["attempts"][0].startswith(f"https://{RESET_CONNECT_SITE}/ -> connect_error")
