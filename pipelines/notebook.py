"""Setup for the analysis notebooks in ``notebooks/``: the warehouse opened read-only, queries with bound
parameters, Wilson intervals from the warehouse's own SQL macros, figures embedded with alt text, shared colours.

A notebook's setup cell is ``nb = setup(WAREHOUSE)``; the rest reads ``nb.q(sql, params)``, ``nb.wilson(k, n)``,
``nb.run_id`` and ``nb.sites_ok``. Drawing needs matplotlib and displaying needs IPython (both come with the
``test`` extra, as papermill does); they are imported where a figure is shown, so the module itself imports
with the runtime dependencies only.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from common.paths import CHECKOUT
from pipelines.warehouse import connect

# the colours the figures share (seaborn's "deep" palette and greys); a notebook's own mappings build on them
BLUE, ORANGE, GREEN, RED, PURPLE = "#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B2"
BROWN, SAND, GREY, LIGHT_GREY, INK = "#937860", "#CCB974", "#8C8C8C", "#BBBBBB", "#333333"

_WILSON_SQL = """
    SELECT wilson_low(k, n), wilson_high(k, n)
    FROM (SELECT unnest(?::DOUBLE[]) AS k, unnest(?::DOUBLE[]) AS n, generate_subscripts(?::DOUBLE[], 1) AS i)
    ORDER BY i"""
_SITES_SQL = "SELECT max(run_id), count(*), count(*) FILTER (WHERE outcome = 'ok') FROM sites"


def resolve_warehouse(warehouse: str | Path, cwd: Path | None = None, checkout: Path | None = CHECKOUT) -> Path:
    """The warehouse file a notebook parameter names. An absolute path is taken as it is; a relative one is looked
    up in ``cwd`` (default: the current folder) first, then in the repository ``checkout`` (None when installed
    from a wheel). Raises ``FileNotFoundError`` naming every place looked in when no file is there."""
    path = Path(warehouse).expanduser()
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [(cwd or Path.cwd()) / path] + ([checkout / path] if checkout is not None else [])
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = " nor ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"no warehouse at {looked}: build one with `servicerisk demo --out out/demo` "
                            "or `servicerisk build --out DIR`, or set WAREHOUSE to its path")


@dataclass(frozen=True)
class Notebook:
    """A read-only warehouse for one notebook, with the newest run and its site counts."""

    path: Path
    con: duckdb.DuckDBPyConnection
    run_id: str | None
    sites_n: int
    sites_ok: int

    def q(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """Run read-only SQL (values as bound parameters, never formatted in) and return a DataFrame."""
        return self.con.execute(sql, params or []).df()

    def value(self, sql: str, params: list | None = None):
        """The first column of the first row of a query (None when it returns no row)."""
        row = self.con.execute(sql, params or []).fetchone()
        return row[0] if row else None

    def wilson(self, k, n) -> tuple[np.ndarray, np.ndarray]:
        """The Wilson 95 % interval of ``k`` of ``n`` (scalars or array-likes, broadcast element-wise) from the
        warehouse's ``wilson_low`` / ``wilson_high`` macros, the formula the marts use. Returns two float arrays
        of the broadcast shape; NaN where ``k`` or ``n`` is missing or ``n`` is 0."""
        k_arr, n_arr = np.broadcast_arrays(np.asarray(k, dtype=float), np.asarray(n, dtype=float))
        pairs = [(None, None) if np.isnan(kv) or np.isnan(nv) else (float(kv), float(nv))
                 for kv, nv in zip(k_arr.ravel(), n_arr.ravel(), strict=True)]
        ks, ns = [p[0] for p in pairs], [p[1] for p in pairs]
        rows = self.con.execute(_WILSON_SQL, [ks, ns, ks]).fetchall()
        low, high = (np.array([np.nan if r[i] is None else r[i] for r in rows], dtype=float).reshape(k_arr.shape)
                     for i in (0, 1))
        return low, high

    def share_text(self, k: int, n: int, digits: int = 0) -> str:
        """``k ÷ n`` as a percentage with its interval, e.g. ``"12%, Wilson 95% interval 8%–17%"``."""
        if not n:
            return "no share: 0 sites"
        low, high = self.wilson(k, n)
        return f"{k / n:.{digits}%}, Wilson 95% interval {float(low):.{digits}%}–{float(high):.{digits}%}"

    def summary(self) -> str:
        """One Markdown line: which warehouse, which run, how many of its sites were crawled successfully."""
        return (f"Warehouse `{self.path}` · newest run `{self.run_id}` · "
                f"{self.sites_ok} of {self.sites_n} sites crawled successfully (`outcome = 'ok'`)")


def setup(warehouse: str | Path) -> Notebook:
    """Open the warehouse a notebook's ``WAREHOUSE`` parameter names (see :func:`resolve_warehouse`) read-only and
    read the newest run's site counts; switch matplotlib to the off-screen Agg backend (figures appear through
    :func:`show` only) and widen pandas' column display. Raises ``FileNotFoundError`` without a warehouse."""
    import matplotlib

    matplotlib.use("Agg")
    pd.set_option("display.max_colwidth", 70)
    path = resolve_warehouse(warehouse)
    con = connect(path, read_only=True)
    run_id, sites_n, sites_ok = con.execute(_SITES_SQL).fetchone()
    return Notebook(path=path, con=con, run_id=run_id, sites_n=sites_n, sites_ok=sites_ok)


def alt_text(fig) -> str:
    """A figure's alt text: the titles of its axes, else ``"figure"``."""
    return "; ".join(ax.get_title() for ax in fig.axes if ax.get_title()) or "figure"


def figure_bundle(fig) -> dict[str, str]:
    """``fig`` rendered to PNG as a display bundle: the image, an ``<img>`` with alt text, a plain-text stand-in."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    title = alt_text(fig)
    return {"image/png": png, "text/plain": f"<figure: {title}>",
            "text/html": f'<img alt="{html.escape(title)}" src="data:image/png;base64,{png}"/>'}


def show(fig) -> None:
    """Display ``fig`` as an embedded PNG with its axes titles as alt text, then close it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    bundle = figure_bundle(fig)
    plt.close(fig)
    display(bundle, raw=True)


def short(label, width: int = 40) -> str:
    """A label cut to ``width`` characters (the last one an ellipsis) for axis ticks."""
    label = str(label)
    return label if len(label) <= width else label[: width - 1] + "…"


def error_bars(value, low, high) -> list:
    """Matplotlib's ``xerr``/``yerr`` for an interval around ``value``: the distances down and up, never below 0
    (at a share of 0 or 1 the macros' floating-point bound can lie a rounding error beyond the share, e.g. 4.6e-17
    for 0 of 1, which matplotlib rejects as a negative error)."""
    value = np.asarray(value, dtype=float)
    return [np.maximum(value - np.asarray(low, dtype=float), 0.0),
            np.maximum(np.asarray(high, dtype=float) - value, 0.0)]


def percent_axis(axis) -> None:
    """Label a share axis (``ax.xaxis`` / ``ax.yaxis``, values 0–1) in percent."""
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1))
