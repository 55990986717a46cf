"""What every GeoIP reader shares: :class:`GeoIPError`, a database's provenance (:class:`DbInfo`) and fast
address parsing (address → (family, integer), network prefix text)."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from datetime import datetime, timezone


class GeoIPError(Exception):
    """A database file is missing, unreadable or of a kind this reader cannot use."""


@dataclass(frozen=True)
class DbInfo:
    """Provenance of one database: its name (package@version or file name), kind, type and build date."""

    name: str
    kind: str  # geoip2 | flat | asn-table | geoip2-asn
    database_type: str
    build_date: str  # YYYY-MM-DD
    path: str
    source: str = ""  # the pinned package spec, or "user file"
    licence: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "database_type": self.database_type,
                "build_date": self.build_date, "path": self.path, "source": self.source, "licence": self.licence}


def _epoch_date(epoch: int) -> str:
    return datetime.fromtimestamp(int(epoch), timezone.utc).date().isoformat()


def _ip_int(ip: str) -> tuple[int, int]:
    """(family, integer value) of an address string; raises ValueError when it is not one."""
    try:
        if ":" in ip:
            return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, ip), "big")
        if ip.count(".") != 3:  # inet_aton would accept "1.2.3" and "1"
            raise OSError(ip)
        return 4, struct.unpack("!I", socket.inet_aton(ip))[0]
    except OSError:
        raise ValueError(f"not an IP address: {ip!r}") from None


_V4_ALL = (1 << 32) - 1
_V6_ALL = (1 << 128) - 1


def _prefix_text(family: int, n: int, prefix: int) -> str:
    """``"base/prefix"`` of the network of length ``prefix`` containing address ``n`` (fast, no ipaddress)."""
    if family == 4:
        base = n & (_V4_ALL ^ (_V4_ALL >> prefix))
        return f"{socket.inet_ntoa(base.to_bytes(4, 'big'))}/{prefix}"
    base = n & (_V6_ALL ^ (_V6_ALL >> prefix))
    return f"{socket.inet_ntop(socket.AF_INET6, base.to_bytes(16, 'big'))}/{prefix}"
