"""The code base passes ruff with the project's configuration (pyproject.toml [tool.ruff]); `make lint` runs the same."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import CI, ROOT


def test_ruff_is_clean():
    if subprocess.run([sys.executable, "-m", "ruff", "--version"], capture_output=True).returncode != 0:
        if CI:
            pytest.fail("ruff is not installed (it is in the [test] extra)")
        pytest.skip("ruff is not installed")
    res = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "common", "crawler", "pipelines", "tests", "bench"],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
