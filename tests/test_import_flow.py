"""The documented flow of imports (docs/architecture.md): every package imports only from its own layer or the
layers below it, and the packages have no import cycle.

    common, pipelines.glossary      shared infrastructure: data paths, run-folder contract, hosts, signatures,
                                    reference-data cache; the glossary (every reader-facing word, per language)
    crawler                         Scrapy crawl → raw run folders (browser/ and distributed/ modes)
    pipelines.enrich                DNS and GeoIP of the crawled hosts
    pipelines.catalog, .risk        services and companies; facts, DPF, risk rubric and verdicts
    pipelines.warehouse             DuckDB marts
    pipelines.publish, .scan, …     knowledge-base pages, the scan report, policy blocks, screenshots, contracts
    pipelines.cli, *.command        command-line glue; the only place that may use devweb (the offline demo)
    devweb                          demo web and DNS: imports common and crawler only

Every import counts, at module level or inside a function; only ``if TYPE_CHECKING:`` blocks are skipped
(annotations, never executed).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("common", "crawler", "devweb", "pipelines")
LAYERS = {
    "common": 0, "pipelines.glossary": 0,
    "crawler": 1,
    "pipelines.enrich": 2,
    "pipelines.catalog": 3, "pipelines.risk": 3,
    "pipelines.warehouse": 4,
    "pipelines.publish": 5, "pipelines.scan": 5, "pipelines.policy": 5, "pipelines.contract": 5,
    "pipelines.schemas": 5, "pipelines.screenshots": 5,
    "pipelines.cli": 6, "pipelines.summary": 6, "pipelines.exits": 6, "pipelines.notebook": 6, "pipelines": 6,
    "pipelines.clihelp": 6, "pipelines.pipeline": 6,
}
DEVWEB_MAY_IMPORT = ("common", "crawler", "devweb")


def _unit(module: str) -> str:
    """The flow unit of a module: its package in LAYERS (longest prefix), command modules are CLI glue."""
    if module.split(".")[-1] == "command":
        return "pipelines.cli"
    if module.startswith("devweb"):
        return "devweb"
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return ".".join(parts[:n])
    raise AssertionError(f"{module} is in no layer of the documented flow (add it to docs/architecture.md)")


def _imports(path: Path, roots: tuple[str, ...] = PACKAGES) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:  # `from pipelines import contract` imports the module pipelines.contract
                sub = f"{node.module}.{alias.name}"
                is_module = (ROOT / (sub.replace(".", "/") + ".py")).is_file() or (ROOT / sub.replace(".", "/")).is_dir()
                found.append((sub if is_module else node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
    return sorted({(m, line) for m, line in found if m.split(".")[0] in roots}, key=lambda x: (x[1], x[0]))


def _graph() -> dict[str, list[tuple[str, str, int]]]:
    edges: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            for target, line in _imports(path):
                edges[module].append((target, f"{path.relative_to(ROOT)}:{line}", line))
    return edges


def test_imports_follow_the_documented_flow():
    wrong = []
    for module, targets in _graph().items():
        source = _unit(module)
        for target, where, _ in targets:
            dest = _unit(target)
            if source == "devweb":
                ok = dest.split(".")[0] in DEVWEB_MAY_IMPORT
            elif dest == "devweb":
                ok = source == "pipelines.cli"
            else:
                ok = LAYERS[dest] <= LAYERS[source]
            if not ok:
                wrong.append(f"{where}: {source} imports {target} ({dest})")
    assert wrong == [], "imports against the flow:\n" + "\n".join(wrong)


def test_no_package_imports_the_tests():
    """The wheel carries no tests/: the fixtures in tests/support are for tests and bench/ only."""
    found = [f"{path.relative_to(ROOT)}:{line}: {target}" for package in PACKAGES
             for path in sorted((ROOT / package).rglob("*.py")) for target, line in _imports(path, ("tests",))]
    assert found == [], "package modules importing tests/:\n" + "\n".join(found)


def test_no_import_cycle_between_packages():
    graph: dict[str, set[str]] = defaultdict(set)
    for module, targets in _graph().items():
        for target, _, _ in targets:
            a, b = _unit(module), _unit(target)
            if a != b:
                graph[a].add(b)
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" → ".join(stack[stack.index(nxt):] + [node, nxt]) if nxt in stack else f"{node} → {nxt}")
            elif nxt not in state:
                visit(nxt, stack + [node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert cycles == [], "import cycles:\n" + "\n".join(cycles)


def test_the_check_sees_a_wrong_import(tmp_path):
    """The walker finds an import inside a function and skips TYPE_CHECKING blocks."""
    probe = tmp_path / "probe.py"
    probe.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pipelines.cli import main\n"
                     "def f():\n    from pipelines.warehouse import build\n", encoding="utf-8")
    assert _imports(probe) == [("pipelines.warehouse.build", 5)]
    probe.write_text("def f():\n    from tests.support.faults import fault_web\n", encoding="utf-8")
    assert _imports(probe, ("tests",)) == [("tests.support.faults", 2)]
    assert _unit("pipelines.risk.command") == "pipelines.cli" and _unit("crawler.browser.session") == "crawler"
