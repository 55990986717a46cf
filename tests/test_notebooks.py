"""The analysis notebooks in ``notebooks/``: committed without outputs, parameterised by a papermill ``parameters``
cell, every figure followed by its caption, and each one executing end to end (nbclient) against the demo warehouse
that ``servicerisk demo`` builds once per test session (fixture ``demo_out`` in tests/conftest.py).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import duckdb
import nbformat
import pytest
from nbclient import NotebookClient

from pipelines.warehouse import quote_ident
from tests.conftest import ROOT

NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]-*.ipynb"))
TOPICS = ["01-prevalence", "02-server-geography", "03-companies", "04-risk-and-consent", "05-cloaking-and-dns",
          "06-change-over-time", "07-browser-consent", "08-privacy-policies"]
DEFAULT_WAREHOUSE = 'WAREHOUSE = "out/demo/warehouse.duckdb"'
RISK_NOTEBOOK = NOTEBOOK_DIR / "04-risk-and-consent.ipynb"
RISK_MISSING = "risk marts not built yet"
BROWSER_NOTEBOOK = NOTEBOOK_DIR / "07-browser-consent.ipynb"
BROWSER_MISSING = "no browser-mode crawl in this warehouse"  # the demo crawls statically; see test_browser_mode
SHOW = re.compile(r"^\s*show\(fig\)", re.MULTILINE)
# the columns notebook 04 is written against (the risk marts may carry more)
RISK_COLUMNS = {
    "service_risk": "run_id VARCHAR, service_id VARCHAR, name VARCHAR, consent_required VARCHAR, "
                    "risk_score INTEGER, band VARCHAR, confidence VARCHAR, reasons VARCHAR[]",
    "site_service_risk": "run_id VARCHAR, site_input VARCHAR, service_id VARCHAR, consent_required VARCHAR, "
                         "risk_score INTEGER, band VARCHAR, reasons VARCHAR[]",
}


def parameters_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, "exactly one cell must be tagged 'parameters'"
    return cells[0]


def execute(path: Path, warehouse: str, cwd: Path) -> nbformat.NotebookNode:
    """Run the notebook with WAREHOUSE rewritten in memory; raises CellExecutionError on the first failing cell."""
    nb = nbformat.read(path, as_version=4)
    parameters_cell(nb).source = f"WAREHOUSE = {warehouse!r}"
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def outputs(cell) -> list:
    return cell.get("outputs", []) if cell.cell_type == "code" else []


def texts(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in outputs(cell):
            parts.append(out.get("text", ""))
            parts.extend(str(v) for k, v in out.get("data", {}).items() if k.startswith("text/"))
    return "\n".join(parts)


def figure_cells(nb: nbformat.NotebookNode) -> list:
    """Code cells that draw a figure (call ``show(fig)``, the notebooks' one way to display one)."""
    return [c for c in nb.cells if c.cell_type == "code" and SHOW.search(c.source)]


def has_image(cell) -> bool:
    return any("image/png" in out.get("data", {}) for out in outputs(cell))


@pytest.fixture(scope="session")
def demo_warehouse(demo_out) -> Path:
    """The demo warehouse (tests/conftest.py builds the demo once per session)."""
    warehouse = demo_out / "warehouse.duckdb"
    assert warehouse.is_file()
    return warehouse


def test_every_topic_has_its_notebook():
    assert [p.stem for p in NOTEBOOKS] == TOPICS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [c.get("id") or i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: cells with outputs or an execution count: {dirty} (clear outputs before committing)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_parameterised_by_the_warehouse_path(path):
    nb = nbformat.read(path, as_version=4)
    cell = parameters_cell(nb)
    assert cell.cell_type == "code"
    assert DEFAULT_WAREHOUSE in cell.source
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "nb = setup(WAREHOUSE)" in code, "the setup cell opens the warehouse with pipelines.notebook.setup"
    # setup, queries, intervals and figure display live in pipelines/notebook.py, not in each notebook
    redefined = re.findall(r"^(?:def (?:q|show|short|wilson)\(|(?:con|warehouse_path) = )", code, re.MULTILINE)
    assert not redefined, f"{path.name} redefines what pipelines.notebook provides: {redefined}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_is_followed_by_a_caption(path):
    nb = nbformat.read(path, as_version=4)
    figures = figure_cells(nb)
    assert figures, f"{path.name} draws no figure"
    for cell in figures:
        i = nb.cells.index(cell)
        nxt = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
        assert nxt is not None and nxt.cell_type == "markdown" and nxt.source.lstrip().startswith("*Figure"), \
            f"{path.name}: the figure in cell {cell.get('id')} needs a one-line caption cell right after it"
        assert len(nxt.source.strip().splitlines()) == 1
        for call in ("set_title(", "set_xlabel(", "set_ylabel("):
            assert call in cell.source, f"{path.name}: the figure in cell {cell.get('id')} lacks {call}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes_against_the_demo_warehouse(path, demo_warehouse, tmp_path):
    # a path relative to the repository root, run from elsewhere: the notebook must resolve it against the root
    relative = os.path.relpath(demo_warehouse, ROOT)
    nb = execute(path, relative, cwd=tmp_path)
    errors = [o for c in nb.cells for o in outputs(c) if o.get("output_type") == "error"]
    assert not errors, errors
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        have_risk = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name IN "
                                "('service_risk', 'site_service_risk')").fetchone()[0] == 2
    finally:
        con.close()
    if path == RISK_NOTEBOOK and not have_risk:
        assert RISK_MISSING in texts(nb)
        assert not any(has_image(c) for c in figure_cells(nb))
        return
    if path == BROWSER_NOTEBOOK:  # executed with figures against a browser crawl in tests/crawler/test_browser_mode.py
        assert BROWSER_MISSING in texts(nb)
        assert not any(has_image(c) for c in figure_cells(nb))
        return
    assert RISK_MISSING not in texts(nb)
    missing = [c.get("id") for c in figure_cells(nb) if not has_image(c)]
    assert not missing, f"{path.name}: figure cells without a figure on the demo data: {missing}"


@pytest.mark.slow
def test_risk_notebook_needs_only_the_contracted_columns(demo_warehouse, tmp_path):
    """Notebook 04 against risk marts reduced to exactly the documented columns (rows made up here, in a copy of the
    demo warehouse, only to exercise the notebook's code path; the notebook itself never invents data)."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo_warehouse, warehouse)
    con = duckdb.connect(str(warehouse))
    try:
        for table, columns in RISK_COLUMNS.items():
            for name, kind in con.execute("SELECT table_name, table_type FROM information_schema.tables "
                                          "WHERE table_name = ?", [table]).fetchall():
                con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {quote_ident(name)}")
            con.execute(f"CREATE TABLE {quote_ident(table)} ({columns})")
        run_id = con.execute("SELECT max(run_id) FROM sites").fetchone()[0]
        services = con.execute("SELECT service_id, name FROM services ORDER BY service_id").fetchall()
        levels = [(5, "low"), (25, "medium"), (45, "high"), (65, "very high"), (85, "very high")]
        reasons = [["C1", "C2"], ["C4"], [], ["C1", "C3"], ["F4"]]
        verdicts = ["yes", "likely", "no"]
        index = {sid: i for i, (sid, _) in enumerate(services)}
        con.executemany("INSERT INTO service_risk VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
            [run_id, sid, name, verdicts[i % 3], levels[i % 5][0], levels[i % 5][1], "measured", reasons[i % 5]]
            for i, (sid, name) in enumerate(services)])
        pairs = con.execute("SELECT site_input, service_id FROM site_services ORDER BY 1, 2").fetchall()
        con.executemany("INSERT INTO site_service_risk VALUES (?, ?, ?, ?, ?, ?, ?)", [
            [run_id, site, sid, verdicts[(index[sid] + j) % 3], levels[(index[sid] + j) % 5][0],
             levels[(index[sid] + j) % 5][1], reasons[(index[sid] + j) % 5]]
            for j, (site, sid) in enumerate(pairs) if sid in index])
        con.execute("CHECKPOINT")
    finally:
        con.close()
    nb = execute(RISK_NOTEBOOK, str(warehouse), cwd=tmp_path)
    out = texts(nb)
    assert RISK_MISSING not in out
    assert "very high" in out and "C4" in out
    assert all(has_image(c) for c in figure_cells(nb))
