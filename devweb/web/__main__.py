"""Command line entry point: serve a demo, fault or bench web on loopback until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import sys

from . import build_web
from .server import serve_forever


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devweb.web",
                                     description="Serve an in-memory web through a loopback HTTP/HTTPS proxy.")
    parser.add_argument("--web", default="demo",
                        help="demo, faults or bench; several may be merged with commas (e.g. demo,faults)")
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
