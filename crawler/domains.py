"""Read, normalise and validate the domain lists (plain text or Tranco-style CSV) that seed the crawler."""

from __future__ import annotations

import csv
import hashlib
import ipaddress
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

import idna
from publicsuffixlist import PublicSuffixList

__all__ = [
    "Domain",
    "DomainList",
    "DomainListError",
    "InvalidDomain",
    "Rejected",
    "normalise_domain",
    "parse_domain_lines",
    "read_domain_list",
    "write_rejected_csv",
]

# Reason codes used in Rejected.reason / InvalidDomain.reason.
IP_ADDRESS = "ip_address"
NO_PUBLIC_SUFFIX = "no_public_suffix"
BAD_LABEL = "bad_label"
TOO_LONG = "too_long"
BAD_RANK = "bad_rank"
DUPLICATE = "duplicate"

MAX_NAME_LENGTH = 253
MAX_LABEL_LENGTH = 63

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# Fast path: an already clean, lower-case ASCII host name (optionally with one trailing dot).
_FAST_NAME_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?", re.ASCII)
_LABEL_RE = re.compile(_LABEL, re.ASCII)
_SCHEME_RE = re.compile(r"^(?:[a-z][a-z0-9+.\-]*:)?//", re.ASCII)
_AUTHORITY_END_RE = re.compile(r"[/?#]")
_TRAILING_COMMENT_RE = re.compile(r"\s#")
_TRANCO_LINE_RE = re.compile(r"^\s*[0-9]+\s*,", re.ASCII)
_TRANCO_HEADER_RE = re.compile(r"^\s*rank\s*,\s*[a-z_]+\s*$", re.ASCII | re.IGNORECASE)
_RANK_RE = re.compile(r"[0-9]{1,18}", re.ASCII)
_PORT_RE = re.compile(r"[0-9]{0,5}", re.ASCII)

# The public suffix check uses only the ICANN section of the bundled list: Tranco derives its
# pay-level domains the same way, so entries such as github.io or blogspot.com (suffixes in the
# list's PRIVATE section) are real, rankable sites and must not be rejected.
_PSL_ONLY_ICANN = True
_psl: PublicSuffixList | None = None


def _get_psl() -> PublicSuffixList:
    global _psl
    if _psl is None:
        # one parsed list per process: share common.hosts' ICANN-only instance
        from common.hosts import psl

        _psl = psl() if _PSL_ONLY_ICANN else PublicSuffixList(only_icann=False)
    return _psl


@dataclass(frozen=True, slots=True)
class Domain:
    domain: str  # normalised, lower-case, punycode (ASCII), no trailing dot
    rank: int | None  # from a Tranco-style CSV, else None
    line_no: int  # 1-based line number in the input
    raw: str  # the original line, without its newline


@dataclass(frozen=True, slots=True)
class Rejected:
    line_no: int
    raw: str
    reason: str  # one of the reason codes above
    detail: str  # one human sentence


class InvalidDomain(ValueError):
    """A string that cannot be normalised to a crawlable domain name."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


class DomainListError(Exception):
    """A domain list that cannot be used at all (unreadable, empty, or nothing valid)."""


@dataclass
class DomainList:
    domains: list[Domain]
    rejected: list[Rejected]
    format: str  # "plain" or "tranco"
    path: str
    sha256: str  # of the file bytes (parse_domain_lines: of the lines, each followed by "\n")
    lines: int  # number of input lines


def _show(text: str, limit: int = 60) -> str:
    """Quote a piece of input for a one-line message."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return repr(text)


def _ip_check(name: str) -> None:
    """Reject dotted all-numeric names (IPv4 literals); reject a numeric top-level label."""
    last = name.rpartition(".")[2]
    if not last.isdigit() or not last.isascii():
        return
    if all(part.isdigit() for part in name.split(".")):
        try:
            ipaddress.IPv4Address(name)
        except ValueError:
            raise InvalidDomain(IP_ADDRESS, f"{_show(name)} looks like a numeric IP address, not a domain name") from None
        raise InvalidDomain(IP_ADDRESS, f"{_show(name)} is an IPv4 address, not a domain name")
    raise InvalidDomain(BAD_LABEL, f"top-level label {_show(last)} of {_show(name)} is all digits")


def _check_labels(name: str) -> None:
    for index, label in enumerate(name.split("."), start=1):
        if not label:
            raise InvalidDomain(BAD_LABEL, f"{_show(name)} has an empty label (label {index})")
        if len(label) > MAX_LABEL_LENGTH:
            raise InvalidDomain(
                BAD_LABEL, f"label {index} of {_show(name)} is {len(label)} characters long (max {MAX_LABEL_LENGTH})"
            )
        if _LABEL_RE.fullmatch(label):
            continue
        if label[0] == "-" or label[-1] == "-":
            raise InvalidDomain(BAD_LABEL, f"label {_show(label)} of {_show(name)} starts or ends with '-'")
        bad = next(c for c in label if not ("a" <= c <= "z" or "0" <= c <= "9" or c == "-"))
        raise InvalidDomain(BAD_LABEL, f"label {_show(label)} of {_show(name)} contains the character {bad!r}")


def _check_punycode(name: str) -> None:
    for label in name.split("."):
        if label.startswith("xn--"):
            try:
                label[4:].encode("ascii").decode("punycode")
            except (UnicodeError, ValueError):
                raise InvalidDomain(BAD_LABEL, f"label {_show(label)} is not valid punycode") from None


def _extract_host(s: str) -> str:
    """Slow path: strip scheme, userinfo, path/query/fragment and port from a lower-cased string."""
    original = s
    s = _SCHEME_RE.sub("", s, count=1)
    m = _AUTHORITY_END_RE.search(s)
    host = s[: m.start()] if m else s
    if "@" in host:
        host = host.rpartition("@")[2]
    if host.startswith("["):
        inner, closed, rest = host[1:].partition("]")
        if closed and (not rest or (rest[0] == ":" and _PORT_RE.fullmatch(rest[1:]))):
            try:
                ipaddress.IPv6Address(inner)
            except ValueError:
                pass
            else:
                raise InvalidDomain(IP_ADDRESS, f"{_show(inner)} is an IPv6 address, not a domain name")
        raise InvalidDomain(BAD_LABEL, f"bracketed host {_show(host)} is not a valid IPv6 address")
    colons = host.count(":")
    if colons >= 2:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise InvalidDomain(BAD_LABEL, f"host {_show(host)} contains ':' more than once") from None
        raise InvalidDomain(IP_ADDRESS, f"{_show(host)} is an IPv6 address, not a domain name")
    if colons == 1:
        host, _, port = host.partition(":")
        if not _PORT_RE.fullmatch(port):
            raise InvalidDomain(BAD_LABEL, f"{_show(port)} after ':' is not a port number")
    host = host.rstrip(".")
    if not host:
        raise InvalidDomain(BAD_LABEL, f"no host name in {_show(original)}")
    if host == "*" or host.startswith("*."):
        raise InvalidDomain(BAD_LABEL, f"{_show(host)} is a wildcard, not a domain name")
    if any(c.isspace() for c in host):
        raise InvalidDomain(BAD_LABEL, f"host {_show(host)} contains whitespace")
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True, std3_rules=True).decode("ascii")
        except (UnicodeError, ValueError) as err:
            code = getattr(err, "code", None)
            if code in ("domain_too_long", "input_too_long"):
                raise InvalidDomain(TOO_LONG, f"{_show(host)} is longer than {MAX_NAME_LENGTH} characters once encoded") from None
            message = " ".join(str(err).split()) or type(err).__name__
            raise InvalidDomain(BAD_LABEL, f"{_show(host)} is not a valid internationalised name: {message}") from None
        host = host.rstrip(".")
    _check_labels(host)
    return host


def normalise_domain(text: str) -> str:
    """Return the lower-case ASCII (punycode) host name of *text*, or raise InvalidDomain.

    Accepts bare names and URL-ish input: the scheme, userinfo, path, query, fragment, port and
    trailing dots are removed and IDNs are converted with UTS-46 mapping.
    """
    s = text.strip().lower()
    if not s:
        raise InvalidDomain(BAD_LABEL, "the domain name is empty")
    if _FAST_NAME_RE.fullmatch(s):
        name = s[:-1] if s[-1] == "." else s
    else:
        name = _extract_host(s)
    _ip_check(name)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidDomain(TOO_LONG, f"{_show(name)} is {len(name)} characters long (max {MAX_NAME_LENGTH})")
    if "xn--" in name:
        _check_punycode(name)
    psl = _get_psl()
    if psl.privatesuffix(name, accept_unknown=False) is None:
        if psl.publicsuffix(name, accept_unknown=False) is None:
            raise InvalidDomain(NO_PUBLIC_SUFFIX, f"{_show(name)} does not end in a known public suffix")
        raise InvalidDomain(NO_PUBLIC_SUFFIX, f"{_show(name)} is itself a public suffix, not a registrable domain")
    return name


def _content(raw: str) -> str:
    """The line without comments and surrounding whitespace ('' for blank and comment lines)."""
    if "#" in raw:
        stripped = raw.lstrip()
        if stripped.startswith("#"):
            return ""
        m = _TRAILING_COMMENT_RE.search(raw)
        if m:
            raw = raw[: m.start()]
    return raw.strip()


def _parse(lines: Iterable[str], path: str, sha256: str | None) -> DomainList:
    domains: list[Domain] = []
    rejected: list[Rejected] = []
    first_seen: dict[str, int] = {}
    raws: list[str] | None = [] if sha256 is None else None
    fmt: str | None = None
    count = 0
    normalise = normalise_domain

    for line_no, line in enumerate(lines, start=1):
        count = line_no
        raw = line.rstrip("\r\n")
        if raws is not None:
            raws.append(raw)
        content = _content(raw)
        if not content:
            continue
        if fmt is None:
            if _TRANCO_HEADER_RE.match(content):
                fmt = "tranco"
                continue
            fmt = "tranco" if _TRANCO_LINE_RE.match(content) else "plain"

        rank: int | None = None
        text = content
        if fmt == "tranco":
            rank_text, comma, text = content.partition(",")
            rank_text = rank_text.strip()
            if not comma:
                rejected.append(Rejected(line_no, raw, BAD_RANK, f"expected 'rank,domain' but found no comma in {_show(content)}"))
                continue
            if not _RANK_RE.fullmatch(rank_text) or int(rank_text) == 0:
                rejected.append(Rejected(line_no, raw, BAD_RANK, f"rank {_show(rank_text)} is not a positive integer"))
                continue
            rank = int(rank_text)

        try:
            name = normalise(text)
        except InvalidDomain as err:
            rejected.append(Rejected(line_no, raw, err.reason, err.detail))
            continue
        first = first_seen.get(name)
        if first is not None:
            rejected.append(Rejected(line_no, raw, DUPLICATE, f"{_show(name)} already appeared on line {first}"))
            continue
        first_seen[name] = line_no
        domains.append(Domain(name, rank, line_no, raw))

    if raws is not None:
        data = "".join(r + "\n" for r in raws).encode("utf-8", "surrogatepass")
        sha256 = hashlib.sha256(data).hexdigest()
    assert sha256 is not None
    return DomainList(domains=domains, rejected=rejected, format=fmt or "plain", path=path, sha256=sha256, lines=count)


def parse_domain_lines(lines: Iterable[str], path: str = "<input>") -> DomainList:
    """Parse lines of a domain list; bad lines become Rejected entries, never exceptions.

    ``sha256`` is computed over the lines, each followed by a "\\n" (equal to the file hash
    for an LF-terminated UTF-8 file without BOM).
    """
    return _parse(lines, path, None)


def _split_lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def read_domain_list(path: str | os.PathLike) -> DomainList:
    """Read and validate a domain list file; raise DomainListError if it is unusable."""
    shown = os.fspath(path)
    if isinstance(shown, bytes):
        shown = os.fsdecode(shown)
    shown_one_line = " ".join(shown.splitlines()) if ("\n" in shown or "\r" in shown) else shown
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise DomainListError(f"cannot read domain list {shown_one_line}: {reason}") from err
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DomainListError(f"domain list {shown_one_line} is not valid UTF-8 (byte offset {err.start})") from err

    result = _parse(_split_lines(text), shown, hashlib.sha256(data).hexdigest())
    if not result.domains and not result.rejected:
        raise DomainListError(f"empty domain list: {shown_one_line}")
    if not result.domains:
        first = result.rejected[0]
        raise DomainListError(
            f"no valid domains in {shown_one_line}: {len(result.rejected)} lines rejected "
            f"(first: line {first.line_no} {first.reason})"
        )
    return result


def write_rejected_csv(rejected: Iterable[Rejected], path: str | os.PathLike) -> int:
    """Write rejected lines as CSV (line_no,reason,detail,raw) atomically; return the number of rows."""
    target = os.fspath(path)
    tmp = target + (b".tmp" if isinstance(target, bytes) else ".tmp")
    rows = 0
    try:
        with open(tmp, "w", encoding="utf-8", errors="backslashreplace", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["line_no", "reason", "detail", "raw"])
            for item in rejected:
                writer.writerow([item.line_no, item.reason, item.detail, item.raw])
                rows += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return rows
