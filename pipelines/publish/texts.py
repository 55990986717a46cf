"""The knowledge base's page labels and number formats in the reader's language, read from the glossary
(``pipelines/glossary/<lang>.yml``; no reader-facing text lives in code)."""

from __future__ import annotations

from pipelines import glossary

LANGS = glossary.LANGS
# the other language's name, in that language (the language switch)
LANG_NAMES = {"de": "Deutsch", "en": "English"}
LABELS = {lang: glossary.labels(lang) for lang in LANGS}
BANDS = {lang: {b: glossary.label(lang, "band", b) for b in glossary.codes("band", lang)} for lang in LANGS}


def label(lang: str, key: str, **kw) -> str:
    """The label or text ``key`` in ``lang`` (the key itself when the glossary lacks it), formatted with ``kw``."""
    return glossary.text(lang, key, **kw)


def percent(value: float, lang: str, digits: int = 1) -> str:
    """A share (0..1) as a percentage in ``lang``'s style: "68,2 %" in German, "68.2 %" in English."""
    return glossary.percent(lang, value, digits)
