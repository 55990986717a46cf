"""Render privacy-policy blocks (:func:`pipelines.policy.compose.compose`) as Markdown and as a self-contained
HTML page, and write them to ``<folder>/<lang>/<service_id>.md`` and ``.html``."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from crawler.paths import write_text_atomic as _write
from pipelines.publish.render import md_escape

TEMPLATES = Path(__file__).resolve().parent / "templates"
_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html"]),
                          undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
# links are public http(s) sources only; anything else is printed escaped, never as a link target
_ENV.filters["md"] = md_escape
_ENV.filters["url"] = lambda v: quote(str(v), safe=":/?#[]@!$&'()*+,;=%~-._")


def to_markdown(block: dict[str, Any]) -> str:
    return _ENV.get_template("block.md").render(b=block)


def to_html(block: dict[str, Any]) -> str:
    return _ENV.get_template("block.html").render(b=block)


def block_path(lang: str, service_id: str, ext: str) -> str:
    """A block's path below the blocks folder: ``<lang>/<service_id>.<ext>`` (ids are kebab-case slugs)."""
    return f"{lang}/{service_id}.{ext}"


def write_block(block: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """``folder/<lang>/<service_id>.md`` and ``.html`` (each written under a temporary name, then renamed)."""
    (folder / block["lang"]).mkdir(parents=True, exist_ok=True)
    md = folder / block_path(block["lang"], block["service_id"], "md")
    html = folder / block_path(block["lang"], block["service_id"], "html")
    _write(md, to_markdown(block))
    _write(html, to_html(block))
    return md, html
