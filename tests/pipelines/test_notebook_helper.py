"""pipelines/notebook.py, the notebooks' setup helper, against a warehouse built from the tiny recorded run: where a
WAREHOUSE parameter is looked up, the read-only connection, bound parameters, intervals from the warehouse macros
(checked against a formula written independently of them), figures with alt text."""

from __future__ import annotations

import base64
import math

import duckdb
import matplotlib
import numpy as np
import pytest

from pipelines.notebook import error_bars, figure_bundle, resolve_warehouse, setup, short, show
from pipelines.warehouse.build import build
from tests.pipelines.warehouse_fixture import wilson, write_tiny_run

RUN = "20261101T120000Z-aaaaaa"

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def tiny_warehouse(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    write_tiny_run(out, RUN, month=1)
    report = build(out)
    assert report.loaded == [RUN] and not report.failed_assertions, report
    return out / "warehouse.duckdb"


@pytest.fixture()
def nb(tiny_warehouse):
    notebook = setup(tiny_warehouse)
    yield notebook
    notebook.con.close()


# --- where the WAREHOUSE parameter points -------------------------------------------------------------------------

def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_relative_path_is_found_in_the_current_folder_first(tmp_path):
    here, checkout = tmp_path / "here", tmp_path / "checkout"
    _touch(here / "out" / "w.duckdb")
    _touch(checkout / "out" / "w.duckdb")
    assert resolve_warehouse("out/w.duckdb", cwd=here, checkout=checkout) == here / "out" / "w.duckdb"


def test_relative_path_falls_back_to_the_checkout(tmp_path):
    here, checkout = tmp_path / "here", tmp_path / "checkout"
    here.mkdir()
    _touch(checkout / "out" / "w.duckdb")
    assert resolve_warehouse("out/w.duckdb", cwd=here, checkout=checkout) == checkout / "out" / "w.duckdb"


def test_absolute_path_is_taken_as_it_is(tmp_path):
    target = _touch(tmp_path / "elsewhere" / "w.duckdb")
    assert resolve_warehouse(str(target), cwd=tmp_path / "nowhere", checkout=tmp_path / "none") == target


def test_missing_warehouse_names_every_place_looked_in(tmp_path):
    here, checkout = tmp_path / "here", tmp_path / "checkout"
    with pytest.raises(FileNotFoundError) as err:
        resolve_warehouse("out/w.duckdb", cwd=here, checkout=checkout)
    message = str(err.value)
    assert str(here / "out" / "w.duckdb") in message and str(checkout / "out" / "w.duckdb") in message
    assert "servicerisk build" in message


def test_installed_package_looks_in_the_current_folder_only(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        resolve_warehouse("w.duckdb", cwd=tmp_path, checkout=None)
    assert " nor " not in str(err.value)


def test_setup_resolves_against_the_current_folder(tiny_warehouse, monkeypatch):
    monkeypatch.chdir(tiny_warehouse.parent)
    notebook = setup("warehouse.duckdb")
    try:
        assert notebook.path == tiny_warehouse.parent / "warehouse.duckdb"
    finally:
        notebook.con.close()


# --- the connection -----------------------------------------------------------------------------------------------

def test_setup_reads_the_newest_run_and_its_site_counts(nb, tiny_warehouse):
    assert (nb.run_id, nb.sites_n, nb.sites_ok) == (RUN, 4, 3)  # dead-d.de failed at DNS
    assert nb.path == tiny_warehouse
    assert f"newest run `{RUN}`" in nb.summary() and "3 of 4 sites" in nb.summary()


def test_connection_is_read_only(nb):
    with pytest.raises(duckdb.Error):
        nb.con.execute("CREATE TABLE scratch (x INTEGER)")


def test_queries_bind_their_parameters(nb):
    frame = nb.q("SELECT site_input FROM sites WHERE outcome = ? ORDER BY site_input", ["ok"])
    assert frame["site_input"].tolist() == ["blog-b.de", "clean-c.at", "shop-a.de"]
    assert nb.q("SELECT ? AS v", ["it's; DROP TABLE sites"])["v"].tolist() == ["it's; DROP TABLE sites"]
    assert nb.value("SELECT count(*) FROM sites WHERE cctld = ?", ["at"]) == 1
    assert nb.value("SELECT site_input FROM sites WHERE false") is None


# --- intervals from the warehouse's macros ------------------------------------------------------------------------

def test_wilson_matches_the_formula_element_wise(nb):
    low, high = nb.wilson([0, 1, 3, 7], [3, 3, 3, 20])
    for i, (k, n) in enumerate([(0, 3), (1, 3), (3, 3), (7, 20)]):
        lo, hi = wilson(k, n)
        assert low[i] == pytest.approx(lo, abs=1e-12) and high[i] == pytest.approx(hi, abs=1e-12)


def test_wilson_broadcasts_a_scalar_total_and_keeps_the_shape(nb):
    low, high = nb.wilson(np.array([[1, 2], [0, 3]]), 3)
    assert low.shape == high.shape == (2, 2)
    assert high[0, 1] == pytest.approx(wilson(2, 3)[1], abs=1e-12)
    low, high = nb.wilson(1, 3)
    assert low.shape == () and float(low) == pytest.approx(wilson(1, 3)[0], abs=1e-12)


def test_wilson_is_nan_without_a_total(nb):
    low, high = nb.wilson([1, 1, float("nan"), 2], [0, float("nan"), 5, 4])
    assert [math.isnan(v) for v in low] == [True, True, True, False]
    assert [math.isnan(v) for v in high] == [True, True, True, False]


def test_wilson_agrees_with_the_services_mart(nb):
    mart = nb.q("SELECT sites, sites_total, share_ci_low, share_ci_high FROM services ORDER BY service_id")
    low, high = nb.wilson(mart["sites"], mart["sites_total"])
    assert np.allclose(low, mart["share_ci_low"]) and np.allclose(high, mart["share_ci_high"])


def test_share_text(nb):
    lo, hi = wilson(1, 3)
    assert nb.share_text(1, 3) == f"33%, Wilson 95% interval {lo:.0%}–{hi:.0%}"
    assert nb.share_text(1, 3, digits=1) == f"33.3%, Wilson 95% interval {lo:.1%}–{hi:.1%}"
    assert nb.share_text(0, 0) == "no share: 0 sites"


# --- figures and labels -------------------------------------------------------------------------------------------

def test_figure_bundle_embeds_a_png_with_the_titles_as_escaped_alt_text():
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    axes[0].set_title("Share <A & B>")
    axes[1].set_title("Count")
    bundle = figure_bundle(fig)
    plt.close(fig)
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert 'alt="Share &lt;A &amp; B&gt;; Count"' in bundle["text/html"]
    assert bundle["text/plain"] == "<figure: Share <A & B>; Count>"


def test_figure_without_titles_is_called_figure():
    import matplotlib.pyplot as plt

    fig, _ax = plt.subplots()
    bundle = figure_bundle(fig)
    plt.close(fig)
    assert bundle["text/plain"] == "<figure: figure>"


def test_show_closes_the_figure(capsys):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.set_title("t")
    show(fig)
    assert not plt.fignum_exists(fig.number)


def test_short_cuts_long_labels_with_an_ellipsis():
    assert short("google-analytics-4") == "google-analytics-4"
    assert short("x" * 40) == "x" * 40
    assert short("x" * 41) == "x" * 39 + "…"
    assert short(12345, 4) == "123…"


def test_error_bars_are_the_distances_to_the_bounds():
    down, up = error_bars([0.5, 0.2], [0.4, 0.0], [0.7, 0.3])
    assert np.allclose(down, [0.1, 0.2]) and np.allclose(up, [0.2, 0.1])


def test_error_bars_at_the_bounds_are_never_negative(nb):
    """0 of n and n of n: the macros' bounds may sit a rounding error beyond the share; matplotlib needs >= 0."""
    k, n = np.array([0, 0, 1, 2, 12]), np.array([1, 2, 1, 2, 12])
    low, high = nb.wilson(k, n)
    down, up = error_bars(k / n, low, high)
    assert (down >= 0).all() and (up >= 0).all()
    assert np.allclose(down[:2], 0) and np.allclose(up[2:], 0)
