"""No sentence of the seed page (a third party's text, used as a model of structure and topics only) appears in
any output or in the texts the outputs are made from: every seed sentence of at least eight words and every run of
eight consecutive seed words is searched, after normalising case, punctuation, quotes and dashes, in the demo's
knowledge base (HTML, Markdown, JSON), its scan report, any privacy-policy blocks, the glossary, the templates and
the catalog's editorial texts."""

from __future__ import annotations

import json
import re
from pathlib import Path

from lxml import html as lxml_html

from tests.conftest import ROOT

SHINGLE = 8
_SPLIT = re.compile(r"[.!?:;•\n]+")


def normalise(text: str) -> list[str]:
    """Lower-case words (letters and digits, umlauts kept); everything else separates words."""
    return re.findall(r"[0-9a-zäöüß]+", text.lower())


def seed_sentences(seed: str) -> list[str]:
    return [" ".join(words) for part in _SPLIT.split(seed) if len(words := normalise(part)) >= SHINGLE]


def shingles(words: list[str]) -> set[str]:
    return {" ".join(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def seed_shingles(seed: str) -> set[str]:
    return {s for line in seed.splitlines() for s in shingles(normalise(line))}


def copied(text: str, seed: str) -> list[str]:
    """Seed sentences and eight-word runs found in ``text`` (empty when none is)."""
    words = normalise(text)
    joined = f" {' '.join(words)} "
    found = [s for s in seed_sentences(seed) if f" {s} " in joined]
    found += sorted(shingles(words) & seed_shingles(seed))
    return found


def _text(path: Path) -> str:
    if path.suffix == ".html":
        return " ".join(lxml_html.fromstring(path.read_bytes()).itertext())
    if path.suffix == ".json":
        def strings(node):
            if isinstance(node, dict):
                return [s for v in node.values() for s in strings(v)]
            if isinstance(node, list):
                return [s for v in node for s in strings(v)]
            return [node] if isinstance(node, str) else []
        return "\n".join(strings(json.loads(path.read_text(encoding="utf-8"))))
    return path.read_text(encoding="utf-8")


def test_the_check_finds_a_copied_sentence_and_a_copied_run(seed_texts):
    seed = seed_texts[0]
    sentence = max(seed_sentences(seed), key=len)
    assert copied(f"Vorwort. {sentence.upper()}! Nachwort.", seed)  # case and punctuation do not hide it
    line = next(line for line in seed.splitlines() if len(normalise(line)) > 12)
    run = " ".join(line.split()[2:2 + SHINGLE + 1])
    assert copied(f"Eigener Text, dann: {run} – und weiter.", seed)
    assert not copied("Ein Browser übermittelt seine IP-Adresse an jeden Server, von dem er etwas lädt.", seed)


def test_no_output_repeats_the_seed(demo_out, seed_texts):
    outputs = [p for pattern in ("kb/**/*.html", "kb/**/*.md", "kb/**/*.json", "scans/**/report.*", "**/policy/**/*")
               for p in demo_out.glob(pattern) if p.is_file() and p.suffix in (".html", ".md", ".json", ".txt")]
    assert len(outputs) > 150
    problems = {}
    for path in outputs:
        text = _text(path)
        for seed in seed_texts:
            if found := copied(text, seed):
                problems[str(path.relative_to(demo_out))] = found[:3]
    assert not problems, problems


def test_no_source_text_repeats_the_seed(seed_texts):
    """The words outputs are made from: the glossary, the templates, the rubric and the catalog's editorial texts."""
    sources = [*ROOT.glob("pipelines/glossary/*/*.yml"), *ROOT.glob("pipelines/*/templates/*"),
               *ROOT.glob("pipelines/*/texts.py"), *ROOT.glob("pipelines/policy/**/*"),
               ROOT / "data" / "risk" / "rubric.yml", *ROOT.glob("data/services/**/*.yml"),
               ROOT / "docs" / "methodology.md"]
    assert len(sources) > 200
    problems = {}
    for path in sources:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            for seed in seed_texts:
                if found := copied(text, seed):
                    problems[str(path.relative_to(ROOT))] = found[:3]
    assert not problems, problems
