"""A dnslib-based authoritative DNS server on 127.0.0.1 serving an in-memory zone over UDP and TCP.

Each name maps to records (A, AAAA, CNAME with TTLs) or to a behaviour: ``servfail``, ``refused``,
``timeout`` (never answers) or ``noanswer`` (NOERROR without records). Unknown names get NXDOMAIN.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSServer

BEHAVIOURS = ("servfail", "refused", "timeout", "noanswer")


@dataclass
class Zone:
    """name → list of (rtype, value, ttl) records, or name → behaviour string. Names are lower-case, no dot."""

    records: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)
    behaviours: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, rtype: str, value: str, ttl: int = 300) -> "Zone":
        self.records.setdefault(_norm(name), []).append((rtype.upper(), value, ttl))
        return self

    def behave(self, name: str, behaviour: str) -> "Zone":
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}")
        self.behaviours[_norm(name)] = behaviour
        return self


def _norm(name: str) -> str:
    return name.lower().rstrip(".")


class _ZoneResolver(BaseResolver):
    def __init__(self, zone: Zone):
        self.zone = zone
        self.queries = 0

    def resolve(self, request, handler):
        self.queries += 1
        reply = request.reply()
        qname = str(request.q.qname)
        qtype = QTYPE[request.q.qtype]
        name = _norm(qname)
        behaviour = self.zone.behaviours.get(name)
        if behaviour == "timeout":
            raise _NoReply(name)
        if behaviour == "servfail":
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if behaviour == "refused":
            reply.header.rcode = RCODE.REFUSED
            return reply
        if behaviour == "noanswer":
            return reply
        seen: set[str] = set()
        current = name
        for _ in range(16):  # follow in-zone CNAMEs like an authoritative server does
            recs = self.zone.records.get(current)
            if recs is None:
                if current == name:
                    reply.header.rcode = RCODE.NXDOMAIN
                return reply
            cname = [r for r in recs if r[0] == "CNAME"]
            if cname and qtype != "CNAME":
                _, target, ttl = cname[0]
                reply.add_answer(RR(current + ".", QTYPE.CNAME, rdata=CNAME(target), ttl=ttl))
                if current in seen:
                    return reply
                seen.add(current)
                current = _norm(target)
                if current in self.zone.behaviours:
                    return reply
                continue
            for rtype, value, ttl in recs:
                if rtype == qtype or qtype == "ANY":
                    rdata = {"A": A, "AAAA": AAAA, "CNAME": CNAME}[rtype](value)
                    reply.add_answer(RR(current + ".", getattr(QTYPE, rtype), rdata=rdata, ttl=ttl))
            return reply
        return reply


class _NoReply(Exception):
    """Raised by the resolver for names that must time out: the handler then sends nothing."""


class _Handler(DNSHandler):
    def handle(self):
        try:
            super().handle()
        except _NoReply:
            pass


class _Logger:
    def __getattr__(self, name):
        return lambda *a, **k: None


class LocalDNS:
    """Serve ``zone`` on 127.0.0.1 (UDP and TCP, same port). ``nameserver`` is the ``IP:PORT`` to pass on."""

    def __init__(self, zone: Zone, port: int = 0):
        self.zone = zone
        self.resolver = _ZoneResolver(zone)
        self.port = port or _free_port()
        self._servers: list[DNSServer] = []

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "LocalDNS":
        for tcp in (False, True):
            srv = DNSServer(self.resolver, address="127.0.0.1", port=self.port, tcp=tcp, logger=_Logger(), handler=_Handler)
            srv.start_thread()
            self._servers.append(srv)
        return self

    def stop(self) -> None:
        for srv in self._servers:
            srv.stop()
            srv.server.server_close()
        self._servers.clear()

    def __enter__(self) -> "LocalDNS":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port for the local DNS server")
