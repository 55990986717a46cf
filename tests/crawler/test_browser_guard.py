"""Browser mode behind its own guard: a page's scripts, images and frames asking for a loopback port and the cloud
metadata address get nowhere. Listeners on exactly those addresses (in a network namespace of its own, where
169.254.169.254 sits on loopback) count zero connections, the user's proxy never hears of them, and the page's
rows record each refused request."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.support.netns import run_in_netns

SCENARIO = Path(__file__).parents[1] / "support" / "browser_guard_scenario.py"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    require_binary("chromium")
    return run_in_netns(SCENARIO, str(tmp_path_factory.mktemp("guard")))


def test_no_packet_reaches_the_refused_addresses(guarded):
    assert guarded["sites"]["guard-probe.de"]["outcome"] == "ok", guarded["sites"]
    assert guarded["loopback_connections"] == 0
    assert guarded["metadata_connections"] == 0
    proxied = {host for _, host in guarded["proxy_log"]}
    assert "127.0.0.1" not in proxied and "169.254.169.254" not in proxied
    assert "cdn.guard-probe-cdn.de" in proxied  # the page's other requests went through, via the user's proxy


def test_a_redirect_to_a_private_address_is_refused(guarded):
    site = guarded["sites"]["guard-redirect.de"]
    assert site["outcome"] == "refused_private" and "browser guard" in site["detail"], site


def test_the_refused_requests_are_recorded(guarded):
    rows = [r for r in guarded["browser_rows"] if r["input_domain"] == "guard-probe.de"]
    port = guarded["loopback_port"]
    refused = {r["url"] for r in rows if (r["failure"] or "").startswith("refused_private (browser guard)")}
    assert {f"http://127.0.0.1:{port}/steal", f"http://127.0.0.1:{port}/frame",
            "http://169.254.169.254/latest/meta-data/", "http://169.254.169.254/latest/meta-data/iam"} <= refused
    ok = [r for r in rows if r["host"] == "cdn.guard-probe-cdn.de"]
    assert ok and ok[0]["status"] == 200 and not ok[0]["failure"]
    assert guarded["stats"].get("sr/browser/guard/refused", 0) >= 2
