"""Resolve hosts once per run: CNAME chain, A and AAAA answers with TTLs, and an outcome class, over asyncio.

Shared by the crawl (its private-address guard resolves every destination; a name that does not resolve is the
site's ``dns_error``, with this outcome class as the error class) and DNS enrichment.

``HostResolver`` talks to the nameservers of the one resolver setting (``--nameserver IP[:PORT]``, default:
the system's; see :mod:`crawler.resolver`) with its own queries instead of dnspython's stub resolver, so
that every failure keeps its class (SERVFAIL and REFUSED are not folded into "no nameservers") and the
answer carries the nameserver that gave it, the vantage (EDNS Client Subnet or the resolver's own) and
the time it took. Each host is resolved once per resolver however often it is asked for (memo), with at
most ``concurrency`` hosts in flight.

Outcome classes (``OUTCOMES``):

=========== =====================================================================================
ok          at least one A or AAAA address (possibly after a CNAME chain)
nxdomain    the name, or the end of its CNAME chain, does not exist (also: not a valid DNS name)
servfail    every nameserver answered SERVFAIL
timeout     no nameserver answered within ``timeout`` seconds, ``retries`` + 1 times (or none was reachable)
no_answer   the name exists but has neither A nor AAAA records
refused     every nameserver that answered refused the query
loop        the CNAME chain repeats a name, or is longer than ``max_depth``
=========== =====================================================================================
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import dns.asyncquery
import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from crawler.hosts import is_ip
from crawler.resolver import make_async_resolver

OUTCOMES = ("ok", "nxdomain", "servfail", "timeout", "no_answer", "refused", "loop")
# when neither A nor AAAA gave addresses, the host's class is the first of these that either query had
_PRECEDENCE = ("nxdomain", "loop", "servfail", "refused", "timeout", "no_answer")
STATS_PREFIX = "sr/dns"


@dataclass(frozen=True)
class Address:
    """One A or AAAA answer: the address, its family (4/6), TTL and the name that carried the record."""

    ip: str
    family: int
    ttl: int | None
    owner: str


@dataclass(frozen=True)
class HostAnswer:
    """Everything resolving one host produced. ``cname_chain`` lists the CNAME targets in order (the host
    itself is not included; empty when the host has no CNAME). ``detail`` explains a non-ok outcome or a
    partial one (e.g. ``"AAAA: timeout"``) and is empty otherwise."""

    host: str
    outcome: str
    detail: str = ""
    cname_chain: tuple[str, ...] = ()
    addresses: tuple[Address, ...] = ()
    resolver: str = ""
    vantage: str = "resolver"
    ecs_scope: int | None = None
    queries: int = 0
    elapsed_ms: float = 0.0
    resolved_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def canonical_name(self) -> str:
        return self.cname_chain[-1] if self.cname_chain else self.host

    @property
    def min_ttl(self) -> int | None:
        ttls = [a.ttl for a in self.addresses if a.ttl is not None]
        return min(ttls) if ttls else None


@dataclass
class _Query:
    """The result of one rdtype lookup (following the chain over several queries when needed)."""

    outcome: str
    chain: list[str]
    addresses: list[Address]
    detail: str = ""
    resolver: str = ""
    scope: int | None = None
    queries: int = 0


def parse_ecs(spec: str) -> dns.edns.ECSOption:
    """``"91.0.0.0/24"`` → an ECS option (the host bits are cleared). Raises ValueError on anything else."""
    try:
        net = ipaddress.ip_network(spec.strip(), strict=False)
    except ValueError:
        raise ValueError(f"bad --ecs {spec!r}: expected a network such as 91.0.0.0/24") from None
    return dns.edns.ECSOption(str(net.network_address), net.prefixlen)


def _nameserver_list(resolver) -> list[tuple[str, int]]:
    out = []
    for ns in resolver.nameservers:
        if isinstance(ns, dns.nameserver.Do53Nameserver):
            out.append((ns.address, ns.port))
        elif isinstance(ns, str):
            out.append((ns, resolver.port))
        else:  # DoH/DoT objects are not used by this project
            out.append((str(ns), 53))
    return out


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


class HostResolver:
    """Resolve hosts with the project's one resolver setting; memoised per instance (= per run).

    ``nameservers``: ``IP[:PORT]`` strings (empty: the system's). ``timeout``: seconds per attempt;
    ``retries``: extra rounds over all nameservers after the first; ``concurrency``: hosts in flight;
    ``max_depth``: longest CNAME chain followed; ``ecs``: a client subnet such as ``"91.0.0.0/24"`` sent
    with every query (EDNS Client Subnet), recorded as the answer's vantage. Never raises for DNS
    failures: they become the answer's outcome. Counts go to ``stats`` (``sr/dns/...``). ``memo_size`` bounds
    the memo (the oldest answers are forgotten first; default: unbounded).
    """

    def __init__(self, nameservers: Iterable[str] = (), *, timeout: float = 2.0, retries: int = 1,
                 concurrency: int = 64, max_depth: int = 8, ecs: str | None = None, memo_size: int | None = None):
        resolver = make_async_resolver(tuple(nameservers), timeout)
        self.nameservers = _nameserver_list(resolver)
        if not self.nameservers:
            raise ValueError("no nameservers configured (pass --nameserver IP[:PORT])")
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.concurrency = max(1, int(concurrency))
        self.max_depth = max(1, int(max_depth))
        self.ecs = ecs
        self._ecs_option = parse_ecs(ecs) if ecs else None
        self.vantage = f"ecs:{self._ecs_option.address}/{self._ecs_option.srclen}" if ecs else "resolver"
        self.stats: Counter[str] = Counter()
        self._memo: dict[str, HostAnswer | asyncio.Task] = {}
        self.memo_size = memo_size
        self._sem: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def resolver_spec(self) -> list[str]:
        """The nameservers as ``IP:PORT`` strings, for provenance."""
        return [f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}" for ip, port in self.nameservers]

    def settings(self) -> dict:
        return {"nameservers": self.resolver_spec, "timeout": self.timeout, "retries": self.retries,
                "concurrency": self.concurrency, "max_depth": self.max_depth, "ecs": self.ecs,
                "vantage": self.vantage}

    # ------------------------------------------------------------------ public API

    async def resolve(self, host: str) -> HostAnswer:
        """The answer for ``host`` (lower-cased, trailing dot dropped), resolved at most once."""
        host = host.lower().rstrip(".")
        hit = self._memo.get(host)
        if isinstance(hit, HostAnswer):
            self.stats[f"{STATS_PREFIX}/memo_hits"] += 1
            return hit
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (e.g. a second asyncio.run): pending work is not shared
            self._loop, self._sem = loop, asyncio.Semaphore(self.concurrency)
            self._memo = {h: a for h, a in self._memo.items() if isinstance(a, HostAnswer)}
            hit = None
        if hit is None:
            hit = loop.create_task(self._resolve_limited(host))
            self._memo[host] = hit
        else:
            self.stats[f"{STATS_PREFIX}/memo_hits"] += 1
        return await asyncio.shield(hit)

    async def resolve_many(self, hosts: Iterable[str],
                           on_done: Callable[[HostAnswer], None] | None = None) -> dict[str, HostAnswer]:
        """Resolve every host (duplicates once); ``on_done`` is called as each finishes (progress bars)."""
        unique = list(dict.fromkeys(h.lower().rstrip(".") for h in hosts))

        async def one(h: str) -> HostAnswer:
            answer = await self.resolve(h)
            if on_done is not None:
                on_done(answer)
            return answer

        answers = await asyncio.gather(*(one(h) for h in unique))
        return dict(zip(unique, answers, strict=True))

    # ------------------------------------------------------------------ internals

    async def _resolve_limited(self, host: str) -> HostAnswer:
        assert self._sem is not None
        async with self._sem:
            answer = await self._resolve(host)
        self._memo[host] = answer
        if self.memo_size is not None and len(self._memo) > self.memo_size:
            oldest = next(iter(self._memo))
            if isinstance(self._memo[oldest], HostAnswer):
                del self._memo[oldest]
        self.stats[f"{STATS_PREFIX}/hosts"] += 1
        self.stats[f"{STATS_PREFIX}/outcome/{answer.outcome}"] += 1
        self.stats[f"{STATS_PREFIX}/queries"] += answer.queries
        if answer.cname_chain:
            self.stats[f"{STATS_PREFIX}/with_cname"] += 1
        return answer

    async def _resolve(self, host: str) -> HostAnswer:
        started = time.perf_counter()
        now = datetime.now(timezone.utc)
        literal = host.strip("[]")
        if is_ip(literal):
            ip = ipaddress.ip_address(literal)
            return HostAnswer(host, "ok", "address literal (no DNS query)", (),
                              (Address(str(ip), ip.version, None, host),), "", self.vantage, None, 0, 0.0, now)
        try:
            qname = dns.name.from_text(host)
        except (dns.exception.DNSException, ValueError) as exc:
            return HostAnswer(host, "nxdomain", f"not a valid DNS name: {exc}", (), (), "", self.vantage,
                              None, 0, 0.0, now)
        a, aaaa = await asyncio.gather(self._lookup(qname, dns.rdatatype.A),
                                       self._lookup(qname, dns.rdatatype.AAAA))
        addresses = tuple(a.addresses + aaaa.addresses)
        chain = a.chain if len(a.chain) >= len(aaaa.chain) else aaaa.chain
        if addresses:
            outcome = "ok"
            notes = [f"{t}: {q.outcome}" + (f" ({q.detail})" if q.detail else "")
                     for t, q in (("A", a), ("AAAA", aaaa)) if q.outcome not in ("ok", "no_answer")]
            detail = "; ".join(notes)
        else:
            outcome = next((o for o in _PRECEDENCE if o in (a.outcome, aaaa.outcome)), a.outcome)
            source = a if a.outcome == outcome else aaaa
            detail = source.detail
        primary = a if a.resolver else aaaa
        scope = a.scope if a.scope is not None else aaaa.scope
        elapsed = (time.perf_counter() - started) * 1000
        return HostAnswer(host, outcome, detail, tuple(chain), addresses, primary.resolver or aaaa.resolver,
                          self.vantage, scope, a.queries + aaaa.queries, round(elapsed, 3), now)

    async def _lookup(self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> _Query:
        """Look ``qname`` up for ``rdtype``, re-querying the chain's end when a server did not follow it."""
        chain: list[str] = []
        seen = {qname}
        current = qname
        result = _Query("no_answer", chain, [])
        while True:
            response, outcome, detail, where = await self._query(current, rdtype)
            result.queries += 1
            result.resolver = where or result.resolver
            if response is None:
                result.outcome, result.detail = outcome, detail
                return result
            result.scope = _ecs_scope(response, result.scope)
            # walk the CNAMEs the server put in the answer section
            while True:
                rrset = response.get_rrset(response.answer, current, dns.rdataclass.IN, dns.rdatatype.CNAME)
                if rrset is None or len(rrset) == 0:
                    break
                target = rrset[0].target
                chain.append(_text(target))
                if target in seen:
                    result.outcome, result.detail = "loop", f"CNAME loop at {_text(target)}"
                    return result
                if len(chain) > self.max_depth:
                    result.outcome = "loop"
                    result.detail = f"CNAME chain longer than {self.max_depth}"
                    return result
                seen.add(target)
                current = target
            rrset = response.get_rrset(response.answer, current, dns.rdataclass.IN, rdtype)
            if rrset is not None and len(rrset):
                family = 4 if rdtype == dns.rdatatype.A else 6
                owner = _text(current)
                result.addresses = [Address(r.address, family, rrset.ttl, owner) for r in rrset]
                result.outcome, result.detail = "ok", ""
                return result
            rcode = response.rcode()
            if rcode == dns.rcode.NXDOMAIN:
                result.outcome = "nxdomain"
                result.detail = f"{_text(current)} does not exist" if chain else ""
                return result
            nodata = any(r.rdtype == dns.rdatatype.SOA for r in response.authority)
            if not nodata and response.question and response.question[0].name != current:
                # the server stopped at a target it does not serve: ask for the target itself
                continue
            result.outcome, result.detail = "no_answer", ""
            return result

    async def _query(self, name: dns.name.Name, rdtype) -> tuple[dns.message.Message | None, str, str, str]:
        """One question, tried on every nameserver in turn, ``retries`` + 1 rounds.

        Returns (response, outcome, detail, nameserver). A NOERROR or NXDOMAIN response ends the search;
        SERVFAIL/REFUSED/timeouts move on to the next nameserver; if none answers usefully the last
        definite failure (SERVFAIL or REFUSED) wins over a timeout.
        """
        failure, detail, where = "timeout", "", ""
        for _round in range(self.retries + 1):
            for ip, port in self.nameservers:
                ns = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
                query = dns.message.make_query(name, rdtype, use_edns=0, payload=1232,
                                               options=[self._ecs_option] if self._ecs_option else None)
                try:
                    response, _tcp = await dns.asyncquery.udp_with_fallback(
                        query, ip, timeout=self.timeout, port=port, ignore_unexpected=True)
                except dns.exception.Timeout:
                    if failure == "timeout":
                        detail, where = f"no reply from {ns} within {self.timeout:g} s", ns
                    self.stats[f"{STATS_PREFIX}/attempt/timeout"] += 1
                    continue
                except OSError as exc:  # e.g. ICMP port unreachable: nobody listens there
                    if failure == "timeout":
                        detail, where = f"{ns} unreachable ({exc.__class__.__name__})", ns
                    self.stats[f"{STATS_PREFIX}/attempt/unreachable"] += 1
                    await asyncio.sleep(min(self.timeout, 0.05))
                    continue
                except dns.exception.DNSException as exc:  # malformed reply
                    if failure == "timeout":
                        detail, where = f"bad reply from {ns}: {exc.__class__.__name__}", ns
                    self.stats[f"{STATS_PREFIX}/attempt/malformed"] += 1
                    continue
                rcode = response.rcode()
                if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                    return response, "", "", ns
                if rcode == dns.rcode.REFUSED:
                    failure, detail, where = "refused", f"{ns} refused", ns
                else:
                    failure, detail, where = "servfail", f"{ns} answered {dns.rcode.to_text(rcode)}", ns
                self.stats[f"{STATS_PREFIX}/attempt/{failure}"] += 1
        return None, failure, detail, where


def _ecs_scope(response: dns.message.Message, previous: int | None) -> int | None:
    for opt in response.options:
        if isinstance(opt, dns.edns.ECSOption):
            return opt.scopelen
    return previous


def resolve_hosts(hosts: Iterable[str], resolver: HostResolver,
                  on_done: Callable[[HostAnswer], None] | None = None) -> dict[str, HostAnswer]:
    """Synchronous helper: resolve ``hosts`` on a fresh event loop (library callers without a loop)."""
    return asyncio.run(resolver.resolve_many(hosts, on_done))
