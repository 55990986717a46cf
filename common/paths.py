"""Where the packaged data lives and where downloaded reference data is cached.

The curated data (``data/`` in the repository: services, companies, reference tables, the rubric) is installed as
the package ``servicerisk_data`` and read through :mod:`importlib.resources`, so a wheel works as a checkout
does. Pinned reference packages fetched with ``npm pack`` are not part of the wheel: they are cached in
``data/cache/refdata`` in a checkout, in ``$XDG_CACHE_HOME/servicerisk/refdata`` (``~/.cache/…``) when
installed, or wherever ``SERVICERISK_REFDATA_CACHE`` points.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

CACHE_ENV = "SERVICERISK_REFDATA_CACHE"


def _package_dir(name: str) -> Path:
    root = resources.files(name)
    path = Path(os.fspath(root))  # installed unpacked (pip) or editable: a real folder, never a zip
    if not path.is_dir():
        raise RuntimeError(f"the package {name} is not installed as a folder ({root}); reinstall servicerisk")
    return path


DATA_DIR = _package_dir("servicerisk_data")
# in a checkout (editable install) the data folder sits beside pyproject.toml
CHECKOUT = DATA_DIR.parent if (DATA_DIR.parent / "pyproject.toml").is_file() else None


def data_path(*parts: str) -> Path:
    """A file or folder of the curated data, e.g. ``data_path("reference", "cdn_asns.csv")``."""
    return DATA_DIR.joinpath(*parts)


def refdata_cache() -> Path:
    """The folder of cached reference-data packages (see the module docstring for the order)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    if CHECKOUT is not None:
        return CHECKOUT / "data" / "cache" / "refdata"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "servicerisk" / "refdata"


def data_label(path: str | Path) -> str:
    """How manifests name a data file: ``data/…`` for the curated data (wherever it is installed), else the path."""
    path = Path(path)
    try:
        return (Path("data") / path.resolve().relative_to(DATA_DIR.resolve())).as_posix()
    except ValueError:
        return str(path)
