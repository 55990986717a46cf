"""Data files split into section files: a folder whose ``*.yml`` files each hold some top-level sections of one
mapping (the glossary of a language, the warehouse data dictionary). Read through :mod:`importlib.resources`
handles, so an installed wheel works as a checkout does."""

from __future__ import annotations

from importlib.resources.abc import Traversable
from typing import Any

import yaml


def merge_sections(folder: Traversable, label: str, error: type[Exception] = ValueError) -> dict[str, Any]:
    """The top-level sections of ``folder``'s ``*.yml`` files, merged in file-name order. Raises ``error`` (with
    ``label`` naming the folder) when a file cannot be read or is not a mapping, or a section is in two files."""
    data: dict[str, Any] = {}
    owner: dict[str, str] = {}
    try:
        files = sorted((f for f in folder.iterdir() if f.name.endswith(".yml")), key=lambda f: f.name)
    except OSError as exc:
        raise error(f"{label}: cannot read: {exc}".splitlines()[0]) from None
    for file in files:
        where = f"{label}/{file.name}"
        try:
            part = yaml.load(file.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise error(f"{where}: cannot read: {exc}".splitlines()[0]) from None
        if not isinstance(part, dict):
            raise error(f"{where}: top level must be a mapping of sections")
        for key, value in part.items():
            if key in owner:
                raise error(f"{label}: section {key!r} is defined in both {owner[key]} and {where}")
            owner[key] = where
            data[key] = value
    return data
