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


def test_a_crawl_where_no_site_answers_ends_with_a_warning_and_exit_4(tmp_path, local_dns, fault_server):
    """0 of 4 domains resolve: the run is sealed (its rows say why each failed), but the command does not pretend
    it went well: a warning naming the likely causes and exit code 4 (pipelines.exits.FEW_ANSWERED)."""
    from pipelines.exits import FEW_ANSWERED

    (tmp_path / "d.txt").write_text("".join(f"nowhere-{i}.de\n" for i in range(4)), encoding="utf-8")
    res = run_cli(["crawl", str(tmp_path / "d.txt"), "--out", str(tmp_path / "out"), "--nameserver",
                   local_dns.nameserver, "--no-progress"], env=fault_server.proxy_env())
    assert res.returncode == FEW_ANSWERED == 4, res.stderr[-2000:]
    message = " ".join(res.stderr.split())
    assert "only 0 of 4 site(s) answered (dns_error 4)" in message and "--nameserver" in message
    assert "sealed" in res.stdout
