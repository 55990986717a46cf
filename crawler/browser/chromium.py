"""The system's Chromium: the flags a pool launches it with, whether browser mode can run at all, and finding and
killing a pool's processes by the tag on their command line."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal

#: Flags for a headless Chromium that talks to nothing but the pages it is sent to (and the proxy).
CHROMIUM_ARGS = (
    "--no-sandbox",  # runs as root in containers and CI
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--metrics-recording-only",
    "--disable-breakpad",
    "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,"
    "CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions,PrivacySandboxSettings4",
    "--proxy-bypass-list=<-loopback>",  # loopback goes through the proxy too (Chromium bypasses it by default)
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",  # WebRTC may not go around the proxy over UDP
)


def browser_unavailable(executable: str | None = None, option: str = "-s SR_BROWSER_EXECUTABLE=PATH") -> str | None:
    """Why browser mode cannot run with ``executable`` (a path, or a name on PATH; default the
    ``SR_BROWSER_EXECUTABLE`` setting's default; one line), or None when it can: checked before a crawl starts,
    so a missing Chromium is one clear error instead of a browser_error on every site. ``option`` is how the
    calling command takes another path."""
    if executable is None:
        from crawler.settings import SR_BROWSER_EXECUTABLE as executable
    if shutil.which(executable) is None:
        return (f"browser mode needs Chromium at {executable} (Debian: apt-get install chromium; "
                f"another path: {option})")
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "browser mode needs the Python package playwright (pip install 'playwright>=1.50,<2')"
    return None


TAG_SWITCH = "--sr-browser-tag="  # Chromium ignores unknown switches; this one names a pool's processes


def tagged_pids(tag: str) -> list[int]:
    """Ids of processes whose command line carries ``--sr-browser-tag=TAG`` (Linux /proc)."""
    needle = (TAG_SWITCH + tag).encode()
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    out.append(int(entry))
        except OSError:
            continue
    return out


def kill_tagged(tag: str) -> list[int]:
    """SIGKILL every process ``tagged_pids`` finds; returns their ids."""
    pids = tagged_pids(tag)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return pids
