"""Scenario for ``test_faults_direct.py``, run by ``tests.support.netns.run_in_netns`` in a network namespace of its own:
the fault web served by its own origin servers on loopback (no proxy), its DNS on loopback, one crawl.

Addresses: the sites at 127.0.0.1 (origin servers on ports 80 and 443), ``refused-site.de`` at 127.0.0.2 (nothing
listens: the connection is refused), ``reset-connect-site.de`` at 127.0.0.3 (every connection is reset as it is
accepted), ``tls-garbage-site.de`` at 127.0.0.4 (answers anything with bytes that are no TLS). Prints the run's
``sites`` rows as JSON.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from common.runfolder import Layout, parts  # noqa: E402
from devweb.dns import LocalDNS  # noqa: E402
from devweb.web.server import LocalWeb  # noqa: E402
from tests.support.faults import (  # noqa: E402
    FAULT_EXPECTED,
    INTERNAL_REDIRECT2_SITE,
    INTERNAL_REDIRECT_SITE,
    REFUSED_SITE,
    RESET_CONNECT_SITE,
    TLS_GARBAGE_SITE,
    fault_web,
)
from tests.support.netns import loopback_up  # noqa: E402
from tests.support.zones import fault_zone  # noqa: E402

#: redirects to loopback/private addresses test the private-address guard, which this loopback-only web must allow
DIRECT_EXPECTED = {d: o for d, o in FAULT_EXPECTED.items() if d not in (INTERNAL_REDIRECT_SITE, INTERNAL_REDIRECT2_SITE)}


def _serve(ip: str, handle) -> None:
    """Accept connections on ``ip`` ports 80 and 443 and hand each to ``handle`` (daemon threads)."""
    for port in (80, 443):
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((ip, port))
        srv.listen(64)

        def loop(srv=srv):
            while True:
                conn, _ = srv.accept()
                handle(conn)

        threading.Thread(target=loop, daemon=True).start()


def _reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def _garbage(conn: socket.socket) -> None:
    conn.sendall(b"\x8f\x00garbage\x00" * 20)
    threading.Timer(5.0, conn.close).start()


def main() -> None:
    loopback_up()
    out = Path(sys.argv[1])
    zone = fault_zone("127.0.0.1", {REFUSED_SITE: "127.0.0.2", RESET_CONNECT_SITE: "127.0.0.3",
                                    TLS_GARBAGE_SITE: "127.0.0.4"})
    _serve("127.0.0.3", _reset)
    _serve("127.0.0.4", _garbage)
    domains = out / "domains.txt"
    domains.write_text("\n".join(DIRECT_EXPECTED) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    with LocalDNS(zone) as dns, LocalWeb(fault_web(), origin_ports={"http": 80, "https": 443}):
        proc = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "crawl", str(domains), "--out", str(out / "out"),
             "--nameserver", dns.nameserver, "--allow-private", "--timeout", "3", "--no-progress", "--no-summary"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=500)
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed ({proc.returncode}): {proc.stderr[-3000:]}")
    layout = Layout(out / "out")
    run_dir = layout.run_dir(layout.latest_run())
    import pyarrow.parquet as pq

    rows = pq.read_table([str(p) for p in parts(run_dir, "sites")],
                         columns=["input_domain", "outcome", "error_class", "detail", "attempts"]).to_pylist()
    print(json.dumps({"expected": DIRECT_EXPECTED, "sites": rows}))


if __name__ == "__main__":
    main()
