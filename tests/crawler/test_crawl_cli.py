"""`servicerisk crawl` input errors: clear one-line messages and exit code 2, nothing crawled."""

from __future__ import annotations

from tests.conftest import run_cli


def test_empty_list_exits_2_with_one_line(tmp_path):
    (tmp_path / "empty.txt").write_text("# only a comment\n\n", encoding="utf-8")
    res = run_cli(["crawl", str(tmp_path / "empty.txt"), "--out", str(tmp_path / "out")])
    assert res.returncode == 2
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "empty domain list" in lines[0]
    assert not (tmp_path / "out" / "raw").exists()


def test_missing_list_exits_2(tmp_path):
    res = run_cli(["crawl", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "out")])
    assert res.returncode == 2
    assert "cannot read domain list" in res.stderr


def test_all_invalid_list_exits_2(tmp_path):
    (tmp_path / "bad.txt").write_text("1.2.3.4\nco.uk\nnot a domain\n", encoding="utf-8")
    res = run_cli(["crawl", str(tmp_path / "bad.txt"), "--out", str(tmp_path / "out")])
    assert res.returncode == 2
    assert "no valid domains" in res.stderr and "line 1 ip_address" in res.stderr


def test_bad_nameserver_is_a_usage_error(tmp_path):
    (tmp_path / "d.txt").write_text("example.de\n", encoding="utf-8")
    res = run_cli(["crawl", str(tmp_path / "d.txt"), "--out", str(tmp_path / "out"), "--nameserver", "dns.example"])
    assert res.returncode == 2
    assert "not an IP address" in res.stderr
