"""Shared fixtures: the local web (forward proxy serving virtual sites), the local DNS server, and a CLI runner.

Everything listens on 127.0.0.1 only; no test connects anywhere else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from devweb.dns import LocalDNS

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CI = os.environ.get("CI", "").lower() == "true"


def missing(why: str):
    """A test's requirement is not there: skip locally with the reason, fail in CI (which must install it)."""
    if CI:
        pytest.fail(why)
    pytest.skip(why)


def require_binary(name: str) -> str:
    """Path of a system binary; skip the test locally when it is missing, fail it in CI."""
    path = shutil.which(name)
    if path:
        return path
    missing(f"{name} is not installed (CI must install it in .ci/run)")


def require_tool(name: str) -> str:
    """Path of a command-line tool the test extras install into the virtualenv (``duckdb``, ``mkdocs``,
    ``linkchecker``), else from PATH; skip locally when missing, fail in CI (``make venv`` installs them)."""
    local = Path(sys.executable).parent / name
    if local.is_file():
        return str(local)
    return require_binary(name)


TOOLS = ROOT / "tests" / "tools" / "node_modules"


def require_node_tool(relative: str) -> Path:
    """A file of the pinned npm test tools (``tests/tools``, installed by ``make tools``: html-validate,
    axe-core); skip locally when missing, fail in CI."""
    path = TOOLS / relative
    if path.is_file():
        return path
    missing(f"{path} is missing: run `make tools` (npm ci in tests/tools)")


# root in a container, closed network: no sandbox, no background services that would phone home
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
                 "--disable-domain-reliability", "--no-pings", "--disable-features=MediaRouter,OptimizationHints"]


def closed_port() -> int:
    """A loopback port nobody listens on: the proxy every non-file request would have to use (and fail at)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def kb_browser():
    """Debian's headless Chromium for pages opened from files (the knowledge base), every other request sent to
    a closed loopback proxy."""
    executable = require_binary("chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True,
                              args=CHROMIUM_ARGS + [f"--proxy-server=http://127.0.0.1:{closed_port()}"])
        yield b
        b.close()


def require_refdata(package: str) -> Path:
    """The cached tarball of a pinned reference-data package; skip the test locally when it is not fetched
    (`servicerisk refdata` needs npm), fail it in CI (where `make test` runs `make refdata` first)."""
    from common import refdata

    path = refdata.cached_tarball(refdata.read_lock()[package])
    if path.is_file():
        return path
    missing(f"{package} is not cached ({path}); fetch it with `servicerisk refdata` (needs npm)")


@pytest.fixture(scope="session")
def demo_out(tmp_path_factory) -> Path:
    """The output folder of one ``servicerisk demo`` run (runs, warehouse, KB in both languages, a scan), built
    once per test session (~40 s on the local web and DNS at 127.0.0.1). Under pytest-xdist the first worker
    builds it under a file lock in the session's common temp folder; the others wait and reuse it. Read-only."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's temp root, common to all workers
    out = base / "demo-out"
    built = out / ".built"
    with FileLock(str(base / "demo-out.lock")):
        if not built.is_file():
            shutil.rmtree(out, ignore_errors=True)
            res = run_cli(["demo", "--out", str(out)], timeout=900)
            assert res.returncode == 0, f"servicerisk demo failed:\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
            built.write_text("ok\n", encoding="utf-8")
    return out


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli(args: list[str], env: dict[str, str] | None = None, timeout: float = 600) -> CliResult:
    """Run ``servicerisk ARGS`` in a fresh interpreter (the Twisted reactor is one-shot per process)."""
    full_env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        env=full_env, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


BENCH_SITES_IN_DNS = 1000


@pytest.fixture(scope="session")
def local_dns():
    """The tests' DNS server (the crawler looks every site up itself, proxy or not): every host of the fault and
    browser webs and the first ``BENCH_SITES_IN_DNS`` bench sites at a public address, the fault web's DNS
    faults, and one name resolving to a private address (``dns-private-site.de``)."""
    from tests.support.zones import web_zone

    with LocalDNS(web_zone("faults,browser", bench_sites=BENCH_SITES_IN_DNS)) as dns:
        yield dns


@pytest.fixture(scope="session")
def fault_server():
    from devweb.web.server import LocalWeb
    from tests.support.faults import fault_web

    with LocalWeb(fault_web()) as web:
        yield web


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_server(tmp_path_factory):
    """A throwaway ``redis-server`` on 127.0.0.1 (no persistence); yields its ``redis://`` URL."""
    import time

    import redis

    binary = require_binary("redis-server")
    workdir = tmp_path_factory.mktemp("redis")
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                                 "--appendonly", "no", "--dir", str(workdir)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url)
        for _ in range(100):
            if proc.poll() is not None:
                break
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        if proc.poll() is None:
            break
    else:
        pytest.fail("redis-server did not start")
    try:
        yield url
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


SEED_DIR = SHARED / "seed"


@pytest.fixture(scope="session")
def seed_texts() -> list[str]:
    """The seed page(s) (a third party's text that no output may repeat): skips without ../shared, fails in CI."""
    files = sorted(SEED_DIR.glob("*.txt"))
    if not files:
        missing(f"seed page not available ({SEED_DIR} absent: ../shared exists only in CI/dev)")
    return [f.read_text(encoding="utf-8") for f in files]


CORPUS_TARBALL = SHARED / "corpus" / "realpages-dev.tar.gz"
CORPUS_DIR = ROOT / ".cache" / "realpages-dev"


@pytest.fixture(scope="session")
def realpages() -> Path:
    """The real-page dev corpus, extracted into the ignored cache (skips without ../shared; fails in CI)."""
    import tarfile

    if not (CORPUS_DIR / "manifest.csv").is_file():
        if not CORPUS_TARBALL.is_file():
            if CI:
                pytest.fail(f"{CORPUS_TARBALL} is missing in CI")
            pytest.skip(f"real-page corpus not available ({CORPUS_TARBALL} absent: ../shared exists only in CI/dev)")
        CORPUS_DIR.parent.mkdir(parents=True, exist_ok=True)
        tmp = CORPUS_DIR.parent / f".extract-{os.getpid()}"
        with tarfile.open(CORPUS_TARBALL) as tar:
            tar.extractall(tmp, filter="data")
        try:
            os.replace(tmp / "realpages-dev", CORPUS_DIR)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # another worker won the race
    return CORPUS_DIR


@pytest.fixture(scope="session")
def tiny_warehouse(tmp_path_factory) -> Path:
    """The warehouse of the tiny recorded run (tests/pipelines/warehouse_fixture.py), built once per session."""
    from pipelines.warehouse.build import build
    from tests.pipelines.warehouse_fixture import write_tiny_run

    out = tmp_path_factory.mktemp("tiny-warehouse")
    write_tiny_run(out)
    build(out)
    return out / "warehouse.duckdb"
