"""The scan report's labels (terminal and HTML) in the reader's language, read from the glossary's ``scan`` section
(``pipelines/glossary/<lang>.yml``; no reader-facing text lives in code)."""

from __future__ import annotations

from pipelines import glossary


def scan_label(lang: str, key: str, **kw: object) -> str:
    """The scan label ``key`` (``scan.<key>``, else a page label of the glossary such as ``unknown``) in ``lang``."""
    value = glossary.section(lang, "scan").get(key)
    if value is None:
        return glossary.text(lang, key, **kw)
    return value.format(**kw) if kw else value


def pass_label(lang: str, method: str | None, consent_state: str | None, signal: str | None) -> str:
    """How a page was loaded: statically, or in the browser before consent / after accept / after reject / with GPC."""
    if method != "browser":
        return scan_label(lang, "pass_static")
    return scan_label(lang, "pass_gpc" if signal == "gpc" else f"pass_{consent_state or 'none'}")


def dpf_label(lang: str, status: str | None) -> str:
    return glossary.label(lang, "dpf_status", status or "unknown")


def band_label(lang: str, band: str | None) -> str:
    return glossary.label(lang, "band", band) if band else glossary.text(lang, "unknown")


def yes_no(lang: str, value: object) -> str:
    """A tri-state (True / False / None) or a consent verdict (``yes`` / ``no`` / ``likely``) in ``lang``."""
    if isinstance(value, bool):
        return glossary.label(lang, "yes_no", "true" if value else "false")
    if value in ("yes", "no", "likely"):
        return glossary.label(lang, "consent", value)
    return glossary.text(lang, "unknown")


def embedding_labels(lang: str, embeddings: list[str] | None) -> str:
    """How the site embeds a service, in ``lang`` (the glossary's ``embedding`` codes: direct, gated, encoded, …)."""
    return ", ".join(glossary.label(lang, "embedding", e) for e in embeddings or []) or scan_label(lang, "unknown")
