"""The rubric data file: it loads, it matches the model, it maps to the seed's conditions and the law, the loader
rejects broken files, and docs/methodology.md documents every factor, level, mitigation, reason and source."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from pipelines.catalog import vocab
from pipelines.risk.rubric import (
    DEFAULT_RUBRIC,
    LEVELS,
    MITIGATIONS,
    REASONS,
    RubricError,
    load_rubric,
    parse_rubric,
)
from pipelines.warehouse import dictionary

ROOT = Path(__file__).resolve().parents[2]
METHODOLOGY = ROOT / "docs" / "methodology.md"
RAW = yaml.safe_load(DEFAULT_RUBRIC.read_text(encoding="utf-8"))
RUBRIC = load_rubric()


def test_rubric_matches_the_proposal():
    """legal-facts.md §6 B: the proposed points and bands."""
    assert RUBRIC.points("F1", "present") == 20
    assert RUBRIC.points("F2", "present") == 10
    assert RUBRIC.points("F3", "present") == 10
    assert [RUBRIC.points("F4", lv) for lv in ("ads_profiling_social", "analytics_replay", "functional",
                                               "necessary")] == [15, 10, 5, 0]
    assert RUBRIC.points("F5", "own_purposes") == 10
    assert [RUBRIC.points("F6", lv) for lv in ("eea", "non_eea_parent", "adequate", "us_dpf", "us_no_dpf",
                                               "third_country")] == [0, 5, 5, 10, 20, 25]
    assert [RUBRIC.points("F7", lv) for lv in ("eea", "adequate", "anycast_or_unknown", "third_country")] == [0, 0, 3, 10]
    assert RUBRIC.points("F8", "remote_with_alternative") == 5
    assert {k: m.points for k, m in RUBRIC.mitigations.items()} == {"ip_truncated": -3, "dnt_honoured": -2,
                                                                   "eu_hosting": -3}
    assert RUBRIC.mitigation_cap == -8
    assert RUBRIC.bands == (("low", 0), ("medium", 20), ("high", 40), ("very_high", 60))
    assert (RUBRIC.score_min, RUBRIC.score_max) == (0, 100)


def test_unknown_levels_are_never_the_best_case():
    for code, levels in LEVELS.items():
        if "unknown" in levels:
            best = min(RUBRIC.points(code, lv) for lv in levels)
            assert RUBRIC.points(code, "unknown") > best, code
    assert RUBRIC.points("F6", "us_dpf_unknown") > RUBRIC.points("F6", "us_dpf")
    assert RUBRIC.points("F6", "eea_parent_unknown") > RUBRIC.points("F6", "eea")
    assert RUBRIC.points("F7", "not_measured") > RUBRIC.points("F7", "eea")


def test_every_factor_maps_to_conditions_and_law():
    for code, factor in RUBRIC.factors.items():
        assert factor.conditions and factor.legal, code
        for key in factor.legal:
            src = RUBRIC.sources[key]
            assert vocab.is_valid_source(src.source) and vocab.ISO_DATE_RE.match(src.as_of), key
    # the guide's mapping: (1)->F3,F4,F5 (2)->F1,F3 (3)->F6,F7 (5),(6)->M; (4),(7),(8) to check
    c = RUBRIC.conditions
    assert {"F3", "F4", "F5"} <= set(c[1].factors) and set(c[2].factors) == {"F1", "F3"}
    assert set(c[3].factors) == {"F6", "F7"} and c[5].factors == ("M",) and c[6].factors == ("M",)
    assert c[4].factors == () and c[8].factors == () and set(c[7].factors) == {"F8"}
    # statuses from factor levels: a US recipient without DPF breaks (3), self-hosting meets (1), (5) and (6)
    assert c[3].status({"F6": "us_no_dpf", "F7": "eea"}) == ("not_met", ("F6",))
    assert c[3].status({"F6": "eea", "F7": "eea"}) == ("met", ("F6", "F7"))
    assert c[3].status({"F6": "us_dpf_unknown", "F7": "eea"}) == ("check", ())
    assert [c[n].status({"F5": "first_party"})[0] for n in (1, 5, 6)] == ["met"] * 3
    assert c[5].status({"F5": "processor", "M:ip_truncated": "eu_edge"}) == ("met", ("M:ip_truncated",))
    assert c[2].status({"F1": "present", "F3": "present"}) == ("not_met", ("F1", "F3"))
    assert c[4].status({"F1": "absent"}) == ("check", ())
    assert set(RUBRIC.reasons) == set(REASONS)
    used = {k for f in RUBRIC.factors.values() for k in f.legal} | {k for m in RUBRIC.mitigations.values() for k in
                                                                     m.legal} | {k for _t, ls in RUBRIC.reasons.values()
                                                                                 for k in ls}
    used |= {k for item in RUBRIC.security.values() for k in item.legal}
    assert used == set(RUBRIC.sources), set(RUBRIC.sources) - used


def mutate(fn):
    data = copy.deepcopy(RAW)
    fn(data)
    with pytest.raises(RubricError) as err:
        parse_rubric(data)
    return "\n".join(err.value.problems)


@pytest.mark.parametrize("fn,needle", [
    (lambda d: d["factors"].pop("F8"), "factors must be exactly"),
    (lambda d: d["factors"]["F1"]["levels"].pop("unknown"), "F1: levels must be exactly"),
    (lambda d: d["factors"]["F1"]["levels"]["present"].update(points="20"), "needs integer points"),
    (lambda d: d["factors"]["F2"]["levels"]["present"].update(points=-1), "must not be negative"),
    (lambda d: d["factors"]["F3"].update(legal=["nowhere"]), "unknown source key 'nowhere'"),
    (lambda d: d["factors"]["F4"]["buckets"].pop("social"), "buckets must map every catalog purpose"),
    (lambda d: d["factors"]["F4"]["buckets"].update(social="spam"), "unknown level 'spam'"),
    (lambda d: d["factors"]["F5"].update(conditions=[9]), "condition 9 is not 1..8"),
    (lambda d: d["mitigations"]["items"]["dnt_honoured"].update(points=2), "non-positive integer points"),
    (lambda d: d["mitigations"].update(cap=5), "mitigations.cap"),
    (lambda d: d["bands"].reverse(), "bands must be"),
    (lambda d: d["reasons"].pop("C4"), "reasons.C4"),
    (lambda d: d["verdicts"].pop("likely"), "verdicts must be exactly"),
    (lambda d: d["conditions"][3].update(not_met=["F6.nowhere"]), "unknown level of F6"),
    (lambda d: d["conditions"][5].update(met=[["M:sunshine.tested"]]), "unknown factor in rule"),
    (lambda d: d["conditions"][2].update(factors=["F1"]), "F3 names condition 2"),
    (lambda d: d["sources"]["seed"].update(source="somewhere"), "sources.seed needs cite and a valid source"),
])
def test_loader_rejects_broken_rubrics(fn, needle):
    assert needle in mutate(fn)


def test_unreadable_rubric(tmp_path):
    bad = tmp_path / "rubric.yml"
    bad.write_text("factors: [unclosed", encoding="utf-8")
    with pytest.raises(RubricError):
        load_rubric(bad)


# ------------------------------------------------------------------------------------------ docs


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^### (F\d) ", text, flags=re.M)
    out = {}
    for i in range(1, len(parts) - 1, 2):
        out[parts[i]] = parts[i + 1].split("\n## ", 1)[0]
    return out


def test_every_factor_and_level_is_documented():
    text = METHODOLOGY.read_text(encoding="utf-8")
    sections = _sections(text)
    missing = [code for code in RUBRIC.factors if code not in sections]
    assert not missing, f"docs/methodology.md has no '### <code> ...' section for {missing}"
    for code, factor in RUBRIC.factors.items():
        body = sections[code]
        for name, level in factor.levels.items():
            row = re.search(rf"^\| `{re.escape(name)}` \| (-?\d+) \|", body, flags=re.M)
            assert row, f"{code} level {name} is not documented"
            assert int(row.group(1)) == level.points, f"{code} {name}: docs say {row.group(1)}, rubric {level.points}"
        for key in factor.legal:
            assert f"`{key}`" in body, f"{code}: source {key} not named in its section"


def test_mitigations_reasons_bands_and_sources_are_documented():
    text = METHODOLOGY.read_text(encoding="utf-8")
    for name in MITIGATIONS:
        row = re.search(rf"^\| `{name}` \| (−|-)(\d+) \|", text, flags=re.M)
        assert row and -int(row.group(2)) == RUBRIC.mitigations[name].points, name
    assert f"cap of **−{-RUBRIC.mitigation_cap}**" in text
    for code in REASONS:
        assert re.search(rf"^\| {code} \|", text, flags=re.M), code
    for key in RUBRIC.sources:
        assert re.search(rf"^- `{re.escape(key)}`:", text, flags=re.M), f"source {key} missing from ## Sources"
    assert "0–19 low, 20–39 medium, 40–59 high, ≥ 60 very high" in text
    assert "not legal advice" in text.lower()


def test_confidence_means_one_thing():
    """The confidence label has one definition (the rubric's): the data dictionary and the methodology quote it."""
    schema = dictionary.schema()["marts"]
    assert RUBRIC.confidence.startswith("the weakest evidence behind the score")
    for mart in ("service_risk", "site_service_risk"):
        assert schema[mart]["columns"]["confidence"] == RUBRIC.confidence, mart
    assert RUBRIC.confidence in METHODOLOGY.read_text(encoding="utf-8").replace("\n", " ")
