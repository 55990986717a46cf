"""The installable product: a wheel built from this checkout, installed into a fresh virtualenv without the test
extras, runs ``servicerisk demo`` to the end outside the repository, and its warehouse counts what the editable
install's demo counts.

Offline: the wheel and its runtime dependencies come from ``.cache/wheelhouse``, which ``make wheelhouse`` (a
prerequisite of ``make test``) fills with ``pip wheel .``; the test installs with ``--no-index``. The pinned
reference data is read from the checkout's cache through ``SERVICERISK_REFDATA_CACHE``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ROOT, missing

WHEELHOUSE = ROOT / ".cache" / "wheelhouse"
REFDATA = ROOT / "data" / "cache" / "refdata"
COUNTS = "SELECT service_id, sites, share FROM services ORDER BY service_id"


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "pythonpath", "virtual_env")}
    env.update(kw.pop("env", {}))
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, **kw)
    assert res.returncode == 0, f"{' '.join(cmd[:4])} … failed:\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
    return res


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if not any(WHEELHOUSE.glob("*.whl")):
        missing("no wheelhouse: run `make wheelhouse` (make test does) to collect the runtime dependencies")
    out = tmp_path_factory.mktemp("wheel")
    # build from a copy of the source files (tracked and new, never ignored ones such as build/ or data/cache):
    # an in-tree build would leave build/ in the checkout and package whatever stale files it holds
    source = out / "source"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index", "--find-links",
          str(WHEELHOUSE), "-w", str(out), str(source)], cwd=out)
    (built,) = out.glob("servicerisk-*.whl")
    return built


def test_wheel_carries_code_data_and_no_cache(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(["git", "ls-files", "common", "crawler", "devweb", "pipelines", "data"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    expected = {("servicerisk_data/" + f.removeprefix("data/")) if f.startswith("data/") else f for f in tracked}
    assert sorted(expected - names) == []
    assert "servicerisk_data/services/_signatures/10_ids.yml" in names and "pipelines/warehouse/sql/marts/40_services.sql" in names
    assert "devweb/data/demo_sites.yml" in names and "devweb/web/templates/demo/layout.html.j2" in names
    assert not [n for n in names if n.startswith("servicerisk_data/cache/") or n.startswith("tests/")]


def test_wheel_runs_the_demo_in_a_clean_venv(wheel, demo_out, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    py = venv / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(WHEELHOUSE), str(wheel)])
    # no test extra: pytest is not there, and the product does not need it
    assert subprocess.run([str(py), "-c", "import pytest"], capture_output=True).returncode != 0
    work = tmp_path / "elsewhere"  # not the checkout: nothing may be read from the repository's folders
    work.mkdir()
    _run([str(venv / "bin" / "servicerisk"), "demo", "--out", str(work / "demo")], cwd=work, timeout=900,
         env={"SERVICERISK_REFDATA_CACHE": str(REFDATA)})
    with duckdb.connect(str(work / "demo" / "warehouse.duckdb"), read_only=True) as con:
        from_wheel = con.execute(COUNTS).fetchall()
    with duckdb.connect(str(demo_out / "warehouse.duckdb"), read_only=True) as con:
        editable = con.execute(COUNTS).fetchall()
    assert len(from_wheel) > 20 and from_wheel == editable
    assert (work / "demo" / "kb" / "de" / "site" / "index.html").is_file()
