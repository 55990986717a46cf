"""The one resolver setting (``--nameserver IP[:PORT]``, repeatable) shared by every stage that resolves names."""

from __future__ import annotations

import ipaddress

import dns.asyncresolver
import dns.nameserver


def parse_nameserver(spec: str) -> tuple[str, int]:
    """``"127.0.0.1:5353"`` → ``("127.0.0.1", 5353)``; ``"[::1]:53"`` and bare IPs work too.

    Raises ``ValueError`` with a readable message for anything that is not an IP with an optional port.
    """
    s = spec.strip()
    host, port = s, 53
    if s.startswith("["):
        end = s.find("]")
        if end < 0:
            raise ValueError(f"bad nameserver {spec!r}: missing ']'")
        host, rest = s[1:end], s[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"bad nameserver {spec!r}")
            port = _port(rest[1:], spec)
    elif s.count(":") == 1:
        host, p = s.split(":")
        port = _port(p, spec)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"bad nameserver {spec!r}: not an IP address") from None
    return host, port


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"bad nameserver {spec!r}: bad port {text!r}")
    return int(text)


def make_async_resolver(nameservers: list[str] | tuple[str, ...] = (), timeout: float = 2.0):
    """A dnspython asyncio resolver on the given nameservers (default: the system's), with a total
    per-lookup lifetime of ``timeout`` seconds."""
    if nameservers:
        res = dns.asyncresolver.Resolver(configure=False)
        res.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in map(parse_nameserver, nameservers)]
    else:
        res = dns.asyncresolver.Resolver()
    res.lifetime = timeout
    res.timeout = timeout
    return res
