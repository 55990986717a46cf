"""The local webs of tests and benchmarks by name, and a command that serves them on loopback until SIGTERM/SIGINT:

    python -m tests.support.webs --web demo|faults|bench|browser[,…] [--n 1000] [--month 1] [--port 0]
        [--ready-file PATH] [--no-uvloop]

It prints nothing, writes the bound port to the ready file (atomically) and exits 0 on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import sys

from devweb.web import build_web as build_demo_web
from devweb.web.server import serve_forever
from devweb.web.sites import Web
from tests.support.benchweb import bench_web
from tests.support.faults import fault_web


def build_web(names: str, n: int = 1000, month: int = 1, pages_per_site: int = 5) -> Web:
    """Build a web from comma-separated names (demo, faults, bench, browser), merged in order."""
    web = Web()
    for name in (part.strip() for part in names.split(",")):
        if name == "faults":
            web.merge(fault_web())
        elif name == "bench":
            web.merge(bench_web(n, pages_per_site))
        elif name in ("demo", "browser"):
            web.merge(build_demo_web(name, month))
        else:
            raise ValueError(f"unknown web {name!r}; expected demo, faults, bench or browser")
    return web


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.webs",
                                     description="Serve an in-memory web through a loopback HTTP/HTTPS proxy.")
    parser.add_argument("--web", default="demo",
                        help="demo, faults, bench or browser; several may be merged with commas (e.g. demo,faults)")
    parser.add_argument("--n", type=int, default=1000, help="number of bench sites")
    parser.add_argument("--pages-per-site", type=int, default=5, help="pages per bench site")
    parser.add_argument("--month", type=int, default=1, help="demo web month (2 = changed embeds)")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (loopback only by design)")
    parser.add_argument("--port", type=int, default=0, help="listen port (0 = any free port)")
    parser.add_argument("--ready-file", default=None, help="write the bound port here once listening")
    parser.add_argument("--no-uvloop", action="store_true", help="use the default asyncio loop")
    args = parser.parse_args(argv)
    try:
        web = build_web(args.web, n=args.n, month=args.month, pages_per_site=args.pages_per_site)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        return serve_forever(web, port=args.port, ready_file=args.ready_file, host=args.host,
                             use_uvloop=False if args.no_uvloop else None)
    except OSError as exc:
        sys.stderr.write(f"localweb: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
