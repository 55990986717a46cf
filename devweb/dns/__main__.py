"""Serve a zone on 127.0.0.1 until stdin closes or the process is terminated.

    python -m devweb.dns --zone tests/fixtures/dns/outcomes.zone [--port 5353]
    python -m devweb.dns --demo

The first line on stdout is the nameserver (``127.0.0.1:PORT``) to pass as ``--nameserver``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from devweb.dns.server import LocalDNS, Zone


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m devweb.dns", description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--zone", help="zone text file (NAME TTL TYPE VALUE [ecs=NET] / NAME BEHAVIOUR)")
    src.add_argument("--demo", action="store_true", help="the demo web's zone (devweb.dns.demo)")
    ap.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    ap.add_argument("--delay-ms", type=float, default=0.0, help="hold every UDP reply back this long (resolver RTT)")
    args = ap.parse_args(argv)
    if args.demo:
        from devweb.dns.demo import demo_zone

        zone = demo_zone()
    else:
        zone = Zone.load(args.zone)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalDNS(zone, port=args.port, delay=args.delay_ms / 1000) as server:
        sys.stdout.write(server.nameserver + "\n")
        sys.stdout.flush()
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
