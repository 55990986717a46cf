"""Tests for crawler.domains: normalisation, validation and reading of domain lists."""

from __future__ import annotations

import csv
import hashlib
import os
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.domains import (
    Domain,
    DomainList,
    DomainListError,
    InvalidDomain,
    Rejected,
    normalise_domain,
    parse_domain_lines,
    read_domain_list,
    write_rejected_csv,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "domains"


def reasons(result: DomainList) -> list[tuple[int, str]]:
    return [(r.line_no, r.reason) for r in result.rejected]


# --------------------------------------------------------------------------- normalise_domain


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("example.com", "example.com"),
        ("  example.com  ", "example.com"),
        ("EXAMPLE.Com", "example.com"),
        ("example.com.", "example.com"),
        ("example.com..", "example.com"),
        ("http://example.com", "example.com"),
        ("https://www.example.com/path/to?q=1#frag", "www.example.com"),
        ("ftp://example.com", "example.com"),
        ("git+ssh://example.com/repo", "example.com"),
        ("//example.com/x", "example.com"),
        ("example.com/path", "example.com"),
        ("example.com?query", "example.com"),
        ("example.com#fragment", "example.com"),
        ("example.com:8080", "example.com"),
        ("example.com:", "example.com"),
        ("https://user:secret@Example.com:443/", "example.com"),
        ("user@example.com", "example.com"),
        ("Bücher.de", "xn--bcher-kva.de"),
        ("https://BÜCHER.de/kaufen", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("faß.de", "xn--fa-hia.de"),
        ("ｅｘａｍｐｌｅ.com", "example.com"),  # UTS-46 maps full-width letters
        ("a。example.de", "a.example.de"),  # ideographic full stop is a dot
        ("www.example.co.uk", "www.example.co.uk"),
        ("github.io", "github.io"),  # PRIVATE-section suffix: real Tranco entry, accepted
        ("blogspot.com", "blogspot.com"),
        ("a-b.example.com", "a-b.example.com"),
        ("123.example.com", "123.example.com"),
        ("x" * 63 + ".com", "x" * 63 + ".com"),
    ],
)
def test_normalise_ok(text: str, expected: str) -> None:
    assert normalise_domain(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.2.3.4", "ip_address"),
        ("http://1.2.3.4/", "ip_address"),
        ("1.2.3.4:80", "ip_address"),
        ("999.1.1.1", "ip_address"),
        ("[::1]", "ip_address"),
        ("::1", "ip_address"),
        ("http://[2001:db8::1]:8080/x", "ip_address"),
        ("１.２.３.４", "ip_address"),  # full-width digits map to an IPv4 literal
        ("co.uk", "no_public_suffix"),
        ("com", "no_public_suffix"),
        ("localhost", "no_public_suffix"),
        ("foo.invalidtld", "no_public_suffix"),
        ("kobe.jp", "no_public_suffix"),  # wildcard rule *.kobe.jp
        ("a..b.com", "bad_label"),
        (".example.com", "bad_label"),
        ("*.example.com", "bad_label"),
        ("-a.com", "bad_label"),
        ("a-.com", "bad_label"),
        ("ex_ample.com", "bad_label"),
        ("exa mple.com", "bad_label"),
        ("example.com other.com", "bad_label"),
        ("x" * 64 + ".com", "bad_label"),
        ("☃.com", "bad_label"),  # IDNA2008 disallows the snowman
        ("xn--zz.com", "bad_label"),  # undecodable punycode
        ("foo.123", "bad_label"),
        ("example.com:abc", "bad_label"),
        ("[not-ip]", "bad_label"),
        ("http://", "bad_label"),
        ("", "bad_label"),
        ("   ", "bad_label"),
        (".".join(["a" * 60] * 5) + ".com", "too_long"),
        (".".join(["bücher" + "a" * 45] * 5) + ".de", "too_long"),  # long only once punycoded
    ],
)
def test_normalise_rejects(text: str, reason: str) -> None:
    with pytest.raises(InvalidDomain) as info:
        normalise_domain(text)
    assert info.value.reason == reason
    assert isinstance(info.value, ValueError)
    assert info.value.detail and "\n" not in info.value.detail
    assert str(info.value) == info.value.detail


def test_invalid_domain_detail_is_precise() -> None:
    with pytest.raises(InvalidDomain, match="is itself a public suffix"):
        normalise_domain("co.uk")
    with pytest.raises(InvalidDomain, match="known public suffix"):
        normalise_domain("foo.invalidtld")
    with pytest.raises(InvalidDomain, match="empty label"):
        normalise_domain("a..b.com")
    with pytest.raises(InvalidDomain, match="64 characters"):
        normalise_domain("x" * 64 + ".com")


def test_exactly_253_is_ok_254_too_long() -> None:
    # 4 labels of 61 chars + ".com" = 4*61 + 3 + 4 = 251 → add a 1-char label = 253
    base = ".".join(["a" * 61] * 4) + ".com"
    assert len(base) == 251
    ok = "b." + base
    assert len(ok) == 253
    assert normalise_domain(ok) == ok
    with pytest.raises(InvalidDomain) as info:
        normalise_domain("bb." + base)
    assert info.value.reason == "too_long"


# --------------------------------------------------------------------------- parse_domain_lines: plain


def test_plain_every_reason_with_line_numbers() -> None:
    lines = [
        "example.com",  # 1 ok
        "10.0.0.1",  # 2 ip_address
        "co.uk",  # 3 no_public_suffix
        "a..b.com",  # 4 bad_label
        ".".join(["a" * 60] * 5) + ".com",  # 5 too_long
        "https://EXAMPLE.com/",  # 6 duplicate of 1
        "[::1]",  # 7 ip_address
        "localhost",  # 8 no_public_suffix
        "*.example.org",  # 9 bad_label
    ]
    result = parse_domain_lines(lines, path="seed.txt")
    assert result.format == "plain"
    assert result.path == "seed.txt"
    assert result.lines == 9
    assert [d.domain for d in result.domains] == ["example.com"]
    assert reasons(result) == [
        (2, "ip_address"),
        (3, "no_public_suffix"),
        (4, "bad_label"),
        (5, "too_long"),
        (6, "duplicate"),
        (7, "ip_address"),
        (8, "no_public_suffix"),
        (9, "bad_label"),
    ]
    dup = result.rejected[4]
    assert dup.raw == "https://EXAMPLE.com/"
    assert "line 1" in dup.detail
    assert all(r.detail and "\n" not in r.detail for r in result.rejected)


def test_comments_and_blank_lines_are_ignored_and_line_numbers_kept() -> None:
    lines = [
        "# header comment",
        "",
        "   ",
        "example.com   # trailing comment",
        "\t# indented comment",
        "example.org\t#tab comment",
        "example.net#not-a-comment-but-a-fragment",
    ]
    result = parse_domain_lines(lines)
    assert result.rejected == []
    assert [(d.line_no, d.domain) for d in result.domains] == [
        (4, "example.com"),
        (6, "example.org"),
        (7, "example.net"),
    ]
    assert result.domains[0].raw == "example.com   # trailing comment"
    assert all(d.rank is None for d in result.domains)
    assert result.lines == 7


def test_newlines_are_stripped_from_raw() -> None:
    result = parse_domain_lines(["example.com\r\n", "1.2.3.4\n"])
    assert result.domains == [Domain("example.com", None, 1, "example.com")]
    assert result.rejected[0].raw == "1.2.3.4"


def test_duplicates_keep_first_occurrence_in_order() -> None:
    lines = ["b.com", "a.com", "B.COM.", "http://a.com/x", "c.com", "b.com"]
    result = parse_domain_lines(lines)
    assert [(d.line_no, d.domain) for d in result.domains] == [(1, "b.com"), (2, "a.com"), (5, "c.com")]
    assert reasons(result) == [(3, "duplicate"), (4, "duplicate"), (6, "duplicate")]
    assert "line 1" in result.rejected[0].detail
    assert "line 2" in result.rejected[1].detail
    assert "line 1" in result.rejected[2].detail


def test_empty_input() -> None:
    result = parse_domain_lines([])
    assert result.domains == [] and result.rejected == []
    assert result.format == "plain"
    assert result.lines == 0
    assert result.sha256 == hashlib.sha256(b"").hexdigest()


def test_sha256_of_lines_matches_lf_file_bytes() -> None:
    result = parse_domain_lines(["example.com", "example.org"])
    assert result.sha256 == hashlib.sha256(b"example.com\nexample.org\n").hexdigest()


# --------------------------------------------------------------------------- parse_domain_lines: tranco


def test_tranco_detection_and_rank_kept() -> None:
    lines = ["1,google.com", "2, Example.ORG ", "3,github.io"]
    result = parse_domain_lines(lines)
    assert result.format == "tranco"
    assert [(d.rank, d.domain, d.line_no) for d in result.domains] == [
        (1, "google.com", 1),
        (2, "example.org", 2),
        (3, "github.io", 3),
    ]
    assert result.domains[1].raw == "2, Example.ORG "


def test_tranco_detected_after_leading_comments_and_header_skipped() -> None:
    lines = ["# tranco list", "", "rank,domain", "  7 ,example.com", "8,example.org"]
    result = parse_domain_lines(lines)
    assert result.format == "tranco"
    assert result.rejected == []
    assert [(d.rank, d.domain, d.line_no) for d in result.domains] == [(7, "example.com", 4), (8, "example.org", 5)]


def test_tranco_bad_rank_and_other_reasons() -> None:
    lines = [
        "1,google.com",  # 1 ok
        "0,zero.com",  # 2 bad_rank
        "-3,neg.com",  # 3 bad_rank
        "x,letters.com",  # 4 bad_rank
        "2.5,frac.com",  # 5 bad_rank
        "nocomma.com",  # 6 bad_rank
        "9" * 40 + ",huge.com",  # 7 bad_rank (absurd rank)
        "5,1.2.3.4",  # 8 ip_address
        "6,GOOGLE.com",  # 9 duplicate
        "7,co.uk",  # 10 no_public_suffix
        "8,",  # 11 bad_label (empty domain)
        "rank,domain",  # 12 header only skipped as the first line → bad_rank here
        "10,example.org",  # 13 ok
    ]
    result = parse_domain_lines(lines)
    assert result.format == "tranco"
    assert [(d.line_no, d.rank, d.domain) for d in result.domains] == [(1, 1, "google.com"), (13, 10, "example.org")]
    assert reasons(result) == [
        (2, "bad_rank"),
        (3, "bad_rank"),
        (4, "bad_rank"),
        (5, "bad_rank"),
        (6, "bad_rank"),
        (7, "bad_rank"),
        (8, "ip_address"),
        (9, "duplicate"),
        (10, "no_public_suffix"),
        (11, "bad_label"),
        (12, "bad_rank"),
    ]
    assert "'0'" in result.rejected[0].detail


def test_plain_file_with_comma_line_later_is_not_tranco() -> None:
    result = parse_domain_lines(["example.com", "1,example.org"])
    assert result.format == "plain"
    assert reasons(result) == [(2, "bad_label")]


# --------------------------------------------------------------------------- read_domain_list


def test_read_plain_fixture() -> None:
    path = FIXTURES / "plain_mixed.txt"
    result = read_domain_list(path)
    assert result.format == "plain"
    assert result.path == str(path)
    assert result.lines == 10
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [(d.line_no, d.domain) for d in result.domains] == [
        (3, "example.com"),
        (4, "www.example.net"),
        (6, "xn--bcher-kva.de"),
    ]
    assert reasons(result) == [
        (7, "no_public_suffix"),
        (8, "ip_address"),
        (9, "duplicate"),
        (10, "no_public_suffix"),
    ]


def test_read_tranco_fixture() -> None:
    result = read_domain_list(str(FIXTURES / "tranco_small.csv"))
    assert result.format == "tranco"
    assert [(d.rank, d.domain) for d in result.domains] == [(1, "google.com"), (2, "example.org"), (3, "github.io")]
    assert reasons(result) == [(6, "bad_rank"), (7, "bad_rank"), (8, "duplicate"), (9, "ip_address")]


def test_read_handles_bom_crlf_and_missing_final_newline(tmp_path: Path) -> None:
    data = "\ufeff1,example.com\r\n2,example.org\r\n3,example.net".encode()
    path = tmp_path / "list.csv"
    path.write_bytes(data)
    result = read_domain_list(path)
    assert result.format == "tranco"
    assert [(d.line_no, d.rank, d.domain, d.raw) for d in result.domains] == [
        (1, 1, "example.com", "1,example.com"),
        (2, 2, "example.org", "2,example.org"),
        (3, 3, "example.net", "3,example.net"),
    ]
    assert result.lines == 3
    assert result.sha256 == hashlib.sha256(data).hexdigest()


def _assert_one_line(err: pytest.ExceptionInfo[DomainListError]) -> str:
    message = str(err.value)
    assert message and "\n" not in message and "\r" not in message
    return message


@pytest.mark.parametrize("name", ["empty.txt", "comments_only.txt"])
def test_empty_and_comment_only_files_raise(name: str) -> None:
    path = FIXTURES / name
    with pytest.raises(DomainListError) as err:
        read_domain_list(path)
    assert _assert_one_line(err) == f"empty domain list: {path}"


def test_header_only_tranco_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("rank,domain\n")
    with pytest.raises(DomainListError, match="^empty domain list: "):
        read_domain_list(path)


def test_missing_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "does-not-exist.txt"
    with pytest.raises(DomainListError) as err:
        read_domain_list(path)
    message = _assert_one_line(err)
    assert str(path) in message
    assert "No such file" in message


def test_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(DomainListError) as err:
        read_domain_list(tmp_path)
    assert str(tmp_path) in _assert_one_line(err)


def test_non_utf8_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("example.com\nbücher.de\n".encode("latin-1"))
    with pytest.raises(DomainListError) as err:
        read_domain_list(path)
    message = _assert_one_line(err)
    assert str(path) in message and "UTF-8" in message


def test_all_invalid_file_raises() -> None:
    path = FIXTURES / "all_invalid.txt"
    with pytest.raises(DomainListError) as err:
        read_domain_list(path)
    assert _assert_one_line(err) == f"no valid domains in {path}: 4 lines rejected (first: line 1 no_public_suffix)"


def test_all_invalid_message_names_first_rejected_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("# comment\n\n1.2.3.4\nco.uk\n")
    with pytest.raises(DomainListError) as err:
        read_domain_list(path)
    assert _assert_one_line(err) == f"no valid domains in {path}: 2 lines rejected (first: line 3 ip_address)"


# --------------------------------------------------------------------------- write_rejected_csv


def test_write_rejected_csv_round_trip(tmp_path: Path) -> None:
    rejected = [
        Rejected(2, "10.0.0.1", "ip_address", "'10.0.0.1' is an IPv4 address, not a domain name"),
        Rejected(5, 'weird, "quoted" line', "bad_label", "label contains ','"),
        Rejected(9, "Bücher..de", "bad_label", "empty label"),
    ]
    out = tmp_path / "rejected.csv"
    assert write_rejected_csv(iter(rejected), out) == 3
    assert not (tmp_path / "rejected.csv.tmp").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rejected.csv"]
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["line_no", "reason", "detail", "raw"]
    assert [Rejected(int(r[0]), r[3], r[1], r[2]) for r in rows[1:]] == rejected


def test_write_rejected_csv_replaces_existing_file_atomically(tmp_path: Path) -> None:
    out = tmp_path / "rejected.csv"
    out.write_text("old content\n")
    result = parse_domain_lines(["example.com", "localhost", "1.2.3.4"])
    assert write_rejected_csv(result.rejected, str(out)) == 2
    assert not Path(str(out) + ".tmp").exists()
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["line_no"], r["reason"], r["raw"]) for r in rows] == [
        ("2", "no_public_suffix", "localhost"),
        ("3", "ip_address", "1.2.3.4"),
    ]


def test_write_rejected_csv_empty(tmp_path: Path) -> None:
    out = tmp_path / "none.csv"
    assert write_rejected_csv([], out) == 0
    assert out.read_text(encoding="utf-8").splitlines() == ["line_no,reason,detail,raw"]


def test_write_rejected_csv_failure_leaves_no_tmp(tmp_path: Path) -> None:
    out = tmp_path / "rejected.csv"

    def broken():
        yield Rejected(1, "x", "bad_label", "d")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_rejected_csv(broken(), out)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- dataclasses


def test_domain_and_rejected_are_frozen() -> None:
    d = Domain("example.com", None, 1, "example.com")
    with pytest.raises(AttributeError):
        d.domain = "x"  # type: ignore[misc]
    r = Rejected(1, "x", "bad_label", "d")
    with pytest.raises(AttributeError):
        r.reason = "y"  # type: ignore[misc]


# --------------------------------------------------------------------------- performance


def test_large_list_parses_quickly() -> None:
    n = 100_000
    lines = [f"{i},site{i}.example{i % 97}.com" for i in range(1, n + 1)]
    start = time.perf_counter()
    result = parse_domain_lines(lines)
    elapsed = time.perf_counter() - start
    assert len(result.domains) == n and not result.rejected
    # ~0.5 s on a laptop; 1,000,000 lines take ~5 s. Generous bound against slow CI.
    assert elapsed < 8.0


# --------------------------------------------------------------------------- properties

_HEADER_RE = re.compile(r"\s*rank\s*,\s*[a-z_]+\s*", re.IGNORECASE | re.ASCII)

_tricky = st.sampled_from(
    [
        "example.com",
        "EXAMPLE.com.",
        "1,example.com",
        "rank,domain",
        "# comment",
        "  #x",
        "",
        "   ",
        "http://[::1]:80/",
        "Bücher.de",
        "co.uk",
        "a..b",
        "*.x.com",
        "0,x.com",
        "x.com # c",
        "xn--zz.com",
        "\ufeffexample.com",
        "\u3002",
        "ß.de",
        "１.２.３.４",
    ]
)
_alphabet = st.sampled_from(list("abcxyz019.-:/@[]#, \t_*%?") + ["ü", "ß", "\u3002", "\u00ad", "☃", "İ", "\u200d"])
_line = st.one_of(_tricky, st.text(_alphabet, max_size=40), st.text(max_size=40))


def _expected_content_lines(lines: list[str]) -> list[int]:
    expected: list[int] = []
    first_content = True
    for i, line in enumerate(lines, start=1):
        raw = line.rstrip("\r\n")
        if raw.lstrip().startswith("#"):
            continue
        m = re.search(r"\s#", raw)
        content = (raw[: m.start()] if m else raw).strip()
        if not content:
            continue
        if first_content and _HEADER_RE.fullmatch(content):
            first_content = False
            continue
        first_content = False
        expected.append(i)
    return expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_line, max_size=25))
def test_property_every_content_line_accounted_for_exactly_once(lines: list[str]) -> None:
    result = parse_domain_lines(lines)
    assert result.lines == len(lines)
    assert result.format in ("plain", "tranco")
    seen = Counter([d.line_no for d in result.domains] + [r.line_no for r in result.rejected])
    assert all(count == 1 for count in seen.values())
    assert sorted(seen) == _expected_content_lines(lines)
    # input order kept
    assert [d.line_no for d in result.domains] == sorted(d.line_no for d in result.domains)
    assert [r.line_no for r in result.rejected] == sorted(r.line_no for r in result.rejected)
    # kept domains are normalised, unique and stable under re-normalisation
    names = [d.domain for d in result.domains]
    assert len(names) == len(set(names))
    for d in result.domains:
        assert d.domain.isascii() and d.domain == d.domain.lower() and not d.domain.endswith(".")
        assert normalise_domain(d.domain) == d.domain
        assert d.raw == lines[d.line_no - 1].rstrip("\r\n")
        assert (d.rank is None) == (result.format == "plain")
    for r in result.rejected:
        assert r.reason in {"ip_address", "no_public_suffix", "bad_label", "too_long", "bad_rank", "duplicate"}
        assert r.detail and "\n" not in r.detail and "\r" not in r.detail


@settings(max_examples=300, deadline=None)
@given(_line)
def test_property_normalise_is_idempotent_or_rejects(text: str) -> None:
    try:
        name = normalise_domain(text)
    except InvalidDomain as err:
        assert err.reason in {"ip_address", "no_public_suffix", "bad_label", "too_long"}
        return
    assert normalise_domain(name) == name
    assert len(name) <= 253
    assert all(0 < len(label) <= 63 for label in name.split("."))


def test_read_domain_list_accepts_pathlike(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("example.com\n")
    assert read_domain_list(os.fspath(path)).domains == read_domain_list(path).domains
