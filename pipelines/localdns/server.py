"""A dnslib-based authoritative DNS server on 127.0.0.1 serving an in-memory zone over UDP and TCP.

Each name maps to records (A, AAAA, CNAME with TTLs) or to a behaviour: ``servfail``, ``refused``,
``timeout`` (never answers) or ``noanswer`` (NOERROR without records). Unknown names get NXDOMAIN.

Records may depend on the EDNS Client Subnet (RFC 7871) of the query: ``Zone.add(..., ecs="91.0.0.0/8")``
records answer only queries whose client subnet lies inside that network (the reply echoes the option with
that network's prefix as scope); other queries get the name's plain records. Zones can also be written as
text (:meth:`Zone.parse`, :meth:`Zone.load`), one record per line::

    ; comment
    www.example.de     300  CNAME  example.de.edgekey.net
    example.de.edgekey.net 60 A    23.45.67.89
    geo.example.de     60   A      203.0.113.7   ecs=91.0.0.0/8
    broken.example.de  servfail
"""

from __future__ import annotations

import heapq
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from dnslib import AAAA, CNAME, EDNS0, QTYPE, RCODE, RR, A, DNSError, DNSRecord, EDNSOption
from dnslib.server import BaseResolver, DNSHandler, DNSServer
from dnslib.server import UDPServer as _ThreadingUDPServer

BEHAVIOURS = ("servfail", "refused", "timeout", "noanswer")
RTYPES = ("A", "AAAA", "CNAME")
ECS_CODE = 8

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class Zone:
    """name → list of (rtype, value, ttl) records, or name → behaviour string. Names are lower-case, no dot.

    ``ecs_records`` holds the client-subnet-dependent records: name → list of (network, rtype, value, ttl).
    """

    records: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)
    behaviours: dict[str, str] = field(default_factory=dict)
    ecs_records: dict[str, list[tuple[Network, str, str, int]]] = field(default_factory=dict)

    def add(self, name: str, rtype: str, value: str, ttl: int = 300, *, ecs: str | None = None) -> "Zone":
        """Add one record; with ``ecs`` (a network such as ``"91.0.0.0/8"``) it only answers queries whose
        EDNS client subnet lies inside that network. Raises ValueError on an unknown type or bad network."""
        rtype = rtype.upper()
        if rtype not in RTYPES:
            raise ValueError(f"unsupported record type {rtype!r}")
        if ecs is None:
            self.records.setdefault(_norm(name), []).append((rtype, value, int(ttl)))
        else:
            net = ipaddress.ip_network(ecs, strict=False)
            self.ecs_records.setdefault(_norm(name), []).append((net, rtype, value, int(ttl)))
        return self

    def behave(self, name: str, behaviour: str) -> "Zone":
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}")
        self.behaviours[_norm(name)] = behaviour
        return self

    @classmethod
    def of_hosts(cls, hosts, address: str, ttl: int = 300) -> "Zone":
        """A zone answering every host in ``hosts`` with the A (or AAAA) record ``address``."""
        rtype = "AAAA" if ":" in address else "A"
        zone = cls()
        for host in hosts:
            zone.add(host, rtype, address, ttl)
        return zone

    def names(self) -> set[str]:
        return set(self.records) | set(self.behaviours) | set(self.ecs_records)

    def update(self, other: "Zone") -> "Zone":
        """Merge ``other`` into this zone (records are appended, behaviours replaced)."""
        for name, recs in other.records.items():
            self.records.setdefault(name, []).extend(recs)
        for name, recs in other.ecs_records.items():
            self.ecs_records.setdefault(name, []).extend(recs)
        self.behaviours.update(other.behaviours)
        return self

    @classmethod
    def parse(cls, text: str) -> "Zone":
        """A zone from text lines ``NAME TTL TYPE VALUE [ecs=NET]`` or ``NAME BEHAVIOUR`` (``;``/``#`` comments).

        Raises ValueError naming the line for anything else.
        """
        zone = cls()
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.split(";", 1)[0].split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            try:
                if len(parts) == 2:
                    zone.behave(parts[0], parts[1])
                elif len(parts) in (4, 5):
                    name, ttl, rtype, value = parts[:4]
                    ecs = None
                    if len(parts) == 5:
                        if not parts[4].startswith("ecs="):
                            raise ValueError(f"unknown option {parts[4]!r}")
                        ecs = parts[4][4:]
                    zone.add(name, rtype, value, int(ttl), ecs=ecs)
                else:
                    raise ValueError("expected 'NAME TTL TYPE VALUE [ecs=NET]' or 'NAME BEHAVIOUR'")
            except ValueError as exc:
                raise ValueError(f"zone line {n}: {exc}: {raw.strip()!r}") from None
        return zone

    @classmethod
    def load(cls, path: str | Path) -> "Zone":
        return cls.parse(Path(path).read_text(encoding="utf-8"))


def _norm(name: str) -> str:
    return name.lower().rstrip(".")


def _client_subnet(request: DNSRecord) -> tuple[Network, bytes] | None:
    """The EDNS client subnet of ``request`` as (network, raw option data), or None."""
    for rr in request.ar:
        if rr.rtype != QTYPE.OPT or not isinstance(rr.rdata, list):
            continue
        for opt in rr.rdata:
            if opt.code != ECS_CODE or len(opt.data) < 4:
                continue
            data = bytes(opt.data)
            family, source = int.from_bytes(data[:2], "big"), data[2]
            size = 4 if family == 1 else 16 if family == 2 else 0
            if not size or source > size * 8:
                return None
            raw = data[4:].ljust(size, b"\0")[:size]
            try:
                addr = ipaddress.ip_address(raw)
                return ipaddress.ip_network(f"{addr}/{source}", strict=False), data
            except ValueError:
                return None
    return None


def _has_opt(request: DNSRecord) -> bool:
    return any(rr.rtype == QTYPE.OPT for rr in request.ar)


class _ZoneResolver(BaseResolver):
    def __init__(self, zone: Zone):
        self.zone = zone
        self.queries = 0

    def _records_for(self, name: str, client: Network | None, qtype: str) -> tuple[list[tuple[str, str, int]] | None, int]:
        """(records, scope prefix) for ``name``: the client-subnet records of the asked type (or CNAME) that
        match the client, else the plain ones."""
        if client is not None and name in self.zone.ecs_records:
            hits = [(net, r, v, t) for net, r, v, t in self.zone.ecs_records[name]
                    if r in (qtype, "CNAME") and net.version == client.version and client.subnet_of(net)]
            if hits:
                return [(r, v, t) for _, r, v, t in hits], max(net.prefixlen for net, *_ in hits)
        recs = self.zone.records.get(name)
        if recs is None and name in self.zone.ecs_records:
            return [], 0  # the name exists, only not for this client
        return recs, 0

    def resolve(self, request, handler):
        self.queries += 1
        reply = request.reply()
        qname = str(request.q.qname)
        qtype = QTYPE[request.q.qtype]
        name = _norm(qname)
        ecs = _client_subnet(request)
        client = ecs[0] if ecs else None
        scope = 0
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
            return self._finish(request, reply, ecs, scope)
        seen: set[str] = set()
        current = name
        for _ in range(16):  # follow in-zone CNAMEs like an authoritative server does
            recs, s = self._records_for(current, client, qtype)
            scope = max(scope, s)
            if recs is None:
                if current == name:
                    reply.header.rcode = RCODE.NXDOMAIN
                return self._finish(request, reply, ecs, scope)
            cname = [r for r in recs if r[0] == "CNAME"]
            if cname and qtype != "CNAME":
                _, target, ttl = cname[0]
                reply.add_answer(RR(current + ".", QTYPE.CNAME, rdata=CNAME(target), ttl=ttl))
                if current in seen:
                    return self._finish(request, reply, ecs, scope)
                seen.add(current)
                current = _norm(target)
                if current in self.zone.behaviours:
                    return self._finish(request, reply, ecs, scope)
                continue
            for rtype, value, ttl in recs:
                if rtype == qtype or qtype == "ANY":
                    rdata = {"A": A, "AAAA": AAAA, "CNAME": CNAME}[rtype](value)
                    reply.add_answer(RR(current + ".", getattr(QTYPE, rtype), rdata=rdata, ttl=ttl))
            return self._finish(request, reply, ecs, scope)
        return self._finish(request, reply, ecs, scope)

    @staticmethod
    def _finish(request, reply, ecs, scope: int):
        """Add an OPT record when the query had one, echoing its client subnet with the answer's scope."""
        if not _has_opt(request):
            return reply
        opts = []
        if ecs is not None:
            data = bytearray(ecs[1])
            data[3] = scope
            opts.append(EDNSOption(ECS_CODE, bytes(data)))
        reply.add_ar(EDNS0(udp_len=1232, opts=opts))
        return reply


class _NoReply(Exception):
    """Raised by the resolver for names that must time out: the handler then sends nothing."""


class _DelayedSender:
    """Sends UDP replies ``delay`` seconds after they were computed, from one thread (a resolver's RTT)."""

    def __init__(self, delay: float):
        self.delay = delay
        self._heap: list[tuple[float, int, socket.socket, bytes, tuple]] = []
        self._cv = threading.Condition()
        self._n = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="localdns-delay", daemon=True)
        self._thread.start()

    def send(self, sock: socket.socket, data: bytes, addr: tuple) -> None:
        with self._cv:
            self._n += 1
            heapq.heappush(self._heap, (time.monotonic() + self.delay, self._n, sock, data, addr))
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cv.wait(timeout=(self._heap[0][0] - time.monotonic()) if self._heap else None)
                if self._stopped:
                    return
                _, _, sock, data, addr = heapq.heappop(self._heap)
            try:
                sock.sendto(data, addr)
            except OSError:
                pass

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify()


class _Handler(DNSHandler):
    def handle(self):
        sender = getattr(self.server, "delayed_sender", None)
        if sender is not None and self.server.socket_type == socket.SOCK_DGRAM:
            data, connection = self.request
            self.protocol = "udp"  # read by DNSHandler.get_reply (truncation)
            try:
                reply = self.get_reply(data)
            except (_NoReply, DNSError):
                return
            sender.send(connection, reply, self.client_address)
            return
        try:
            super().handle()
        except _NoReply:
            pass


class _UDPServer(_ThreadingUDPServer):
    """UDP requests answered one after another in the server thread: no thread per query (the threaded
    server drops queries under bursts of a few hundred, while answering takes ~0.1 ms)."""

    def process_request(self, request, client_address):
        self.finish_request(request, client_address)
        self.shutdown_request(request)


class _Logger:
    def __getattr__(self, name):
        return lambda *a, **k: None


class LocalDNS:
    """Serve ``zone`` on 127.0.0.1 (UDP and TCP, same port). ``nameserver`` is the ``IP:PORT`` to pass on.

    ``delay`` (seconds) holds every UDP reply back that long, like a resolver some milliseconds away
    (benchmarks); replies are still computed one after another as queries arrive.
    """

    def __init__(self, zone: Zone, port: int = 0, delay: float = 0.0):
        self.zone = zone
        self.resolver = _ZoneResolver(zone)
        self.port = port or _free_port()
        self.delay = delay
        self._servers: list[DNSServer] = []
        self._sender: _DelayedSender | None = None

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "LocalDNS":
        if self.delay > 0:
            self._sender = _DelayedSender(self.delay)
        for tcp in (False, True):
            srv = DNSServer(self.resolver, address="127.0.0.1", port=self.port, tcp=tcp, logger=_Logger(),
                            handler=_Handler, server=None if tcp else _UDPServer)
            if not tcp and self._sender is not None:
                srv.server.delayed_sender = self._sender
            srv.start_thread()
            self._servers.append(srv)
        return self

    def stop(self) -> None:
        for srv in self._servers:
            srv.stop()
            srv.server.server_close()
        self._servers.clear()
        if self._sender is not None:
            self._sender.stop()
            self._sender = None

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
