"""Run a test scenario in a network namespace of its own (``unshare -n``): only a loopback interface, nothing
outside the machine reachable, and the scenario free to bind the ports of its sites' origin servers (80, 443)
and to put addresses such as 169.254.169.254 on loopback to prove nothing connects to them.

The scenario is a Python script printing one JSON object as its last line of output.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import CI, ROOT

_SIOCGIFFLAGS, _SIOCSIFFLAGS, _SIOCSIFADDR, _IFF_UP = 0x8913, 0x8914, 0x8916, 0x1


def _ioctl(request: int, ifname: str, payload: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        return fcntl.ioctl(s, request, struct.pack("16s", ifname.encode()) + payload)


def loopback_up() -> None:
    """Bring ``lo`` up (a new namespace starts with it down)."""
    flags = struct.unpack("16sh", _ioctl(_SIOCGIFFLAGS, "lo", b"\0" * 16)[:18])[1]
    _ioctl(_SIOCSIFFLAGS, "lo", struct.pack("h", flags | _IFF_UP) + b"\0" * 14)


def add_loopback_address(ip: str, label: int) -> None:
    """Give ``lo`` the IPv4 address ``ip`` too (as alias ``lo:<label>``), so listeners can bind it."""
    sockaddr = struct.pack("HH4s8x", socket.AF_INET, 0, socket.inet_aton(ip))
    _ioctl(_SIOCSIFADDR, f"lo:{label}", sockaddr)
    loopback_up()


def run_in_netns(script: Path, *args: str, timeout: float = 600) -> dict:
    """Run ``script`` in a new network namespace; its last output line (JSON) as a dict. Skips the test when this
    machine cannot create namespaces (CAP_SYS_ADMIN), failing it in CI."""
    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare, "-n", "true"], capture_output=True) if unshare else None
    if probe is None or probe.returncode != 0:
        why = "unshare is not installed" if probe is None else f"unshare -n failed: {probe.stderr.decode()[-200:]}"
        if CI:
            pytest.fail(f"network namespaces are needed in CI ({why})")
        pytest.skip(why)
    proc = subprocess.run([unshare, "-n", sys.executable, str(script), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-5000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


class CountingListener:
    """A TCP listener on (``ip``, ``port``; 0: any free port) that counts the connections it accepts and answers
    each with ``answer`` (nothing when None) before closing it."""

    def __init__(self, ip: str = "127.0.0.1", port: int = 0, answer: bytes | None = None):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.answer = answer
        self.connections = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            if self.answer is not None:
                conn.recv(4096)
                conn.sendall(self.answer)
            conn.close()
