"""The needle prefilter of the inline signatures never hides a match: every string a rule's regex matches
contains one of its needles and one literal of each further set, and the anchored search finds a match in it.
The strings come from the rules' own regexes (hypothesis' from_regex), so a wrong derivation fails here
whatever the corpus happens to hold."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from common.signatures import anchors_for, compile_signature, load_signatures, needles_for

SIGS = load_signatures()


def test_a_run_with_optional_characters_is_one_requirement_in_each_spelling():
    """fb_?app_?id: the needles are its spellings (fbappid, fb_appid, fbapp_id, fb_app_id), not 'app' alone,
    which occurs in most scripts."""
    assert needles_for(r"\bfb_?app_?id\s*=") == ("fb_app_id", "fb_appid", "fbapp_id", "fbappid")
    # more optional characters than spellings kept: the run is split where the spellings would exceed the cap
    assert all("app" in n or "ab" in n for n in needles_for(r"a_?b_?c_?d_?e_?f_?app"))
    assert needles_for(r"x?yz_?w") == ("yz_w", "yzw")  # an optional character before a run starts none
    assert needles_for(r"disqus_?shortname") == ("disqus_shortname", "disqusshortname")
    assert needles_for(r"\bdisqus_?[sS]hortname") == ("hortname",)  # not {disqus, disqus_}: disqus_ holds disqus
    assert anchors_for(r"report(?:SuiteIds?|_suite_id)") == (("report", 0),)
    assert anchors_for(r"reportSuiteIds?=") == (("reportSuiteId=", 0), ("reportSuiteIds=", 0))
    assert anchors_for(r"reportSuiteIds?\s*=") == (("reportSuiteId", 0),)
    # a literal after one-character items: anchored at it, that many characters in
    assert anchors_for(r"\[['\"]GoogleAnalyticsObject['\"]\]") == (("GoogleAnalyticsObject", 2),)
    assert anchors_for(r"x.ab[0-9]\d+y") == ()  # no run of three before a repeat: no anchor


@pytest.mark.parametrize("sig", SIGS, ids=[s.id for s in SIGS])
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_match_of_a_rule_passes_its_prefilter(sig, data):
    text = data.draw(st.from_regex(sig.regex))
    assume(sig.regex.search(text) is not None)
    hay = text.lower() if sig.lower else text
    if sig.needles:
        assert any(n in hay for n in sig.needles), (text, sig.needles)
        for group in sig.also:
            assert any(n in hay for n in group), (text, group)
    assert sig.findall(text), text  # needles, further literals and anchors: the search still finds a match


def test_case_insensitive_rules_get_the_spellings_of_whole_runs():
    sig = compile_signature("x", r"(?i:comscore_?c2)['\"]?\s*:")
    assert {"coms", "COMS", "ComS"} <= set(sig.needles)
    assert sig.findall("var COMSCORE_C2: 1") and sig.findall("comScoreC2':")
