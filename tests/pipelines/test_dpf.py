"""The DPF import CSV (validation with line numbers), snapshots, the status of a company on a day, the
12-month check, and the ``dpf`` click command."""

from __future__ import annotations

from datetime import date
from types import MappingProxyType

import pytest
import yaml
from click.testing import CliRunner

from pipelines.catalog.load import Company, Dpf, Fact, load_catalog
from pipelines.risk import dpf as d
from pipelines.risk.command import EXAMPLES
from pipelines.risk.command import dpf as dpf_command

DAY = date(2026, 11, 29)
URL = "https://www.dataprivacyframework.gov/s/participant-search/participant-detail?id="
HEADER = "name,participant_id,status,frameworks,coverage,checked_on,source_url,note\n"
ID1, ID2 = "a2zt0000000AAAAAA1", "a2zt0000000BBBBBB2"


def row(name="Acme Corp.", pid=ID1, status="active", frameworks="EU;UK;CH", coverage="non-HR",
        checked="2026-11-01", url=None, note=""):
    url = URL + pid if url is None else url
    return f"{name},{pid},{status},{frameworks},{coverage},{checked},{url},{note}\n"


def problems_of(text: str) -> list[str]:
    with pytest.raises(d.DpfImportError) as err:
        d.parse_dpf_csv(text, today=DAY, where="in.csv")
    return err.value.problems


# ------------------------------------------------------------------------------------------ import CSV


def test_valid_csv_is_parsed():
    entries = d.parse_dpf_csv(HEADER + row() + row("Other, Inc.".join('""'), ID2, "inactive", "EU", "HR;non-HR"),
                              today=DAY)
    assert [(e.participant_id, e.status, e.frameworks, e.coverage, e.line) for e in entries] == [
        (ID1, "active", ("EU", "UK", "CH"), ("non-HR",), 2), (ID2, "inactive", ("EU",), ("HR", "non-HR"), 3)]
    assert entries[1].name == "Other, Inc."


def test_spellings_are_normalised_and_unknown_needs_no_date():
    entries = d.parse_dpf_csv(HEADER + row(frameworks='"swiss, eu"', coverage="NON-HR;hr", status="Active")
                              + row(pid=ID2, status="unknown", checked=""), today=DAY)
    assert entries[0].frameworks == ("EU", "CH") and entries[0].coverage == ("HR", "non-HR")
    assert entries[0].status == "active" and entries[1].checked_on is None


def test_template_is_a_valid_import_csv():
    entries = d.parse_dpf_csv(d.template(), today=DAY)
    assert len(entries) == 1 and entries[0].line == 4  # comment lines keep the physical numbering


def test_bom_and_comments_and_blank_lines():
    text = "\ufeff# exported by hand\n" + HEADER + "\n" + "# a comment\n" + row()
    assert d.parse_dpf_csv(text, today=DAY)[0].line == 5


@pytest.mark.parametrize("bad_row,needle", [
    (row(pid="12345"), "line 2: participant_id '12345' is not an 18-character id"),
    (row(status="certified"), "line 2: status 'certified' not in"),
    (row(checked=""), "line 2: checked_on is required for status 'active'"),
    (row(checked="2027-01-01"), "line 2: checked_on 2027-01-01 is in the future"),
    (row(checked="29.11.2026"), "line 2: checked_on '29.11.2026' is not an ISO date"),
    (row(frameworks="EU;APEC"), "line 2: framework 'APEC' not in"),
    (row(coverage="staff"), "line 2: coverage 'staff' not in"),
    (row(url=URL + ID2), f"line 2: source_url id '{ID2}' differs from participant_id '{ID1}'"),
    (row(url=URL + ID1 + "&status=Inactive"), "line 2: source_url says status=inactive but status is 'active'"),
    (row(url="http://example.org/x"), "must be an https:// URL"),
    (row(url=""), "line 2: source_url is empty"),
    (row(name=""), "line 2: name is empty"),
    (row(note="a,b"), "line 2: more fields than columns"),
])
def test_row_problems_carry_line_numbers(bad_row, needle):
    problems = problems_of(HEADER + bad_row)
    assert any(needle in p for p in problems), problems
    assert all(p.startswith("in.csv: line ") for p in problems)


def test_every_problem_is_reported_and_duplicates_name_both_lines():
    problems = problems_of(HEADER + row() + row(status="nope") + row(name="Again"))
    assert any("line 3: status 'nope'" in p for p in problems)
    assert any(f"line 4: participant_id {ID1} already on line 2" in p for p in problems)


@pytest.mark.parametrize("text,needle", [
    ("", "the file is empty"),
    ("name,participant_id,status\n", "missing column(s) frameworks, coverage, checked_on, source_url"),
    (HEADER.replace(",note", ",note,colour"), "unknown column(s) colour"),
])
def test_header_problems(text, needle):
    assert any(needle in p for p in problems_of(text))


def test_read_rejects_non_utf8(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + row(name="Müller Corp.")).encode("latin-1"))
    with pytest.raises(d.DpfImportError) as err:
        d.read_dpf_csv(path, today=DAY)
    assert "not UTF-8" in err.value.problems[0]
    with pytest.raises(d.DpfImportError):
        d.read_dpf_csv(tmp_path / "missing.csv")


# ------------------------------------------------------------------------------------------ snapshots


def entry(pid=ID1, status="active", checked="2026-11-01", frameworks=("EU",), coverage=("non-HR",), name="Acme"):
    return d.DpfEntry(name, pid, status, frameworks, coverage, checked, URL + pid)


def test_write_load_roundtrip_picks_the_newest(tmp_path):
    assert d.load_snapshot(tmp_path) == d.EMPTY_SNAPSHOT
    d.write_snapshot([entry()], date(2026, 1, 1), tmp_path)
    d.write_snapshot([entry(), entry(ID2, name="Beta")], date(2026, 11, 1), tmp_path)
    snap = d.load_snapshot(tmp_path)
    assert snap.date == "2026-11-01" and set(snap.entries) == {ID1, ID2}
    assert snap.entries[ID1].frameworks == ("EU",)
    assert not list(tmp_path.glob("*.tmp"))


def test_merge_replaces_by_id_but_keeps_newer_checks():
    snap = d.DpfSnapshot("2026-11-01", MappingProxyType({ID1: entry(checked="2026-11-01")}))
    older = entry(status="inactive", checked="2026-01-01")
    assert d.merge(snap, [older])[0].status == "active"
    newer = entry(status="inactive", checked="2026-11-20")
    merged = d.merge(snap, [newer, entry(ID2, name="Aardvark")])
    assert [(e.name, e.status) for e in merged] == [("Aardvark", "active"), ("Acme", "inactive")]


def test_real_snapshot_only_holds_the_sourced_ids():
    snap = d.load_snapshot()
    assert snap.date == "2026-12-06"
    assert set(snap.entries) == {"a2zt000000001L5AAI", "a2zt0000000GnZKAA0"}
    for entry in snap.entries.values():  # each status with the day it was read and the statement behind it
        assert entry.status == "active" and entry.checked_on == "2026-12-06" and "EU" in entry.frameworks
        assert entry.participant_id in entry.source_url and entry.note


# ------------------------------------------------------------------------------------------ status on a day


def company(cid="acme-inc", country="US", pid=None, status="unknown", checked=None, confidence="M"):
    return Company(id=cid, name=cid, country=country,
                   dpf=Dpf(participant_id=pid, status=status, checked_on=checked, source=URL + "x", confidence=confidence))


SNAP = d.DpfSnapshot("2026-11-29", MappingProxyType({ID1: entry()}))


@pytest.mark.parametrize("the_company,snap,on,effective", [
    (company(pid=ID1), SNAP, DAY, "active"),
    (company(pid=ID1), SNAP, date(2027, 11, 1), "active"),  # exactly 12 months later
    (company(pid=ID1), SNAP, date(2027, 11, 2), "unknown"),  # older than 12 months: stale
    (company(pid=ID1), d.DpfSnapshot("x", MappingProxyType({ID1: entry(frameworks=())})), DAY, "unknown"),
    (company(pid=ID1), d.DpfSnapshot("x", MappingProxyType({ID1: entry(coverage=())})), DAY, "unknown"),
    (company(pid=ID1), d.DpfSnapshot("x", MappingProxyType({ID1: entry(frameworks=("UK",))})), DAY, "not_covered"),
    (company(pid=ID1), d.DpfSnapshot("x", MappingProxyType({ID1: entry(coverage=("HR",))})), DAY, "not_covered"),
    (company(pid=ID1), d.DpfSnapshot("x", MappingProxyType({ID1: entry(status="inactive")})), DAY, "inactive"),
    (company(pid=ID1), d.DpfSnapshot("x", MappingProxyType({ID1: entry(status="unknown", checked=None)})), DAY,
     "unknown"),
    (company(status="active", confidence="V"), SNAP, DAY, "unknown"),  # company file, never checked
    (company(status="not_listed", checked="2026-06-01"), SNAP, DAY, "not_listed"),
    (company(status="active", checked="2024-01-01"), SNAP, DAY, "unknown"),
    (company(country="DE", status="not_applicable"), SNAP, DAY, "not_applicable"),
    (company(country="DE", status="unknown"), SNAP, DAY, "not_applicable"),
    (company(country="unknown"), SNAP, DAY, "unknown"),
])
def test_effective_status(the_company, snap, on, effective):
    assert d.resolve_status(the_company, snap, on).effective == effective


def test_match_is_by_participant_id_only():
    # same name as the snapshot row, but no participant id in the company file: no match
    by_name = d.resolve_status(company(cid="Acme"), SNAP, DAY)
    assert by_name.origin != "snapshot" and by_name.effective == "unknown"
    missing = d.resolve_status(company(pid=ID2, status="active", checked="2026-11-01"), SNAP, DAY)
    assert missing.origin == "company file" and "not in the DPF snapshot" in missing.reason


def test_evidence_line_names_snapshot_date_and_check():
    status = d.resolve_status(company(pid=ID1), SNAP, DAY)
    assert "DPF snapshot 2026-11-29" in status.evidence() and "checked 2026-11-01" in status.evidence()


def test_months_before():
    assert d.months_before(date(2024, 2, 29), 12) == date(2023, 2, 28)
    assert d.months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert d.months_before(date(2026, 1, 15), 13) == date(2024, 12, 15)


# ------------------------------------------------------------------------------------------ --check


class _Cat:
    def __init__(self, *companies):
        self.companies = {c.id: c for c in companies}


def test_check_report_classes():
    cat = _Cat(company("fresh", pid=ID1), company("stale", status="active", checked="2025-01-01"),
               company("never"), company("noid", status="inactive", checked="2026-10-01"),
               company("eu-co", country="DE", status="not_applicable"))
    snap = d.DpfSnapshot("2026-11-29", MappingProxyType({ID1: entry(), ID2: entry(ID2, name="Orphan")}))
    rows = {r.company_id or r.name: r for r in d.check(cat, snap, DAY)}
    assert {k: r.problem for k, r in rows.items()} == {
        "fresh": "ok", "stale": "stale", "never": "missing", "noid": "no id", "Orphan": "orphan"}
    assert rows["stale"].age_days == (DAY - date(2025, 1, 1)).days
    assert list(rows)[0] == "never"  # problems first


def test_import_diff_sorts_rows_into_new_changed_unchanged_and_unused():
    """An import against a snapshot holding ID1 (checked 2026-11-01) and ID2, with one company naming ID1: a row
    differing only in its line number is unchanged, a later check of ID2 is a change, ID3 is new; ID2 and ID3
    are named by no company file."""
    id3 = "a2zt0000000CCCCCC3"
    snap = d.DpfSnapshot("2026-11-01", MappingProxyType({ID1: entry(), ID2: entry(ID2, name="Beta")}))
    same = d.DpfEntry("Acme", ID1, "active", ("EU",), ("non-HR",), "2026-11-01", URL + ID1, line=7)
    later = entry(ID2, name="Beta", checked="2026-11-20")
    new = entry(id3, name="Gamma")
    diff = d.import_diff(snap, [new, same, later], _Cat(company("acme-inc", pid=ID1)))
    assert diff.added == (new,) and diff.changed == (later,) and diff.unchanged == (same,)
    assert [e.participant_id for e in diff.unused] == [id3, ID2]


def test_real_check_flags_every_us_company():
    rows = d.check(load_catalog(), d.load_snapshot(), DAY)
    by = {r.company_id: r.problem for r in rows}
    assert by["google-llc"] == "ok" and by["cloudflare-inc"] == "ok"  # snapshot rows, read 2026-12-06
    assert by["meta-platforms-inc"] == "no id"  # Meta's own statement, no participant id recorded
    assert by["text-inc"] == "missing"  # LiveChat's contracting entity: no DPF statement found
    assert "google-ireland" not in by  # not a US organisation


# ------------------------------------------------------------------------------------------ the command


def write_catalog(root):
    (root / "services").mkdir(parents=True)
    (root / "companies").mkdir()
    seat = {"field": "seat", "value": "US", "source": "https://example.org/imprint", "as_of": "2026-01-01",
            "confidence": "V"}
    for cid, pid in (("acme-inc", ID1), ("beta-inc", None)):
        data = {"id": cid, "name": cid, "country": "US", "parent": None, "facts": [seat], "as_of": "2026-01-01",
                "dpf": {"participant_id": pid, "status": "unknown", "checked_on": None,
                        "source": URL + pid if pid else "", "confidence": "M"}}
        (root / "companies" / f"{cid}.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return root


def test_command_import_check_and_show(tmp_path):
    root = write_catalog(tmp_path / "data")
    csv_path = tmp_path / "in.csv"
    csv_path.write_text(HEADER + row(), encoding="utf-8")
    runner = CliRunner()
    dry = runner.invoke(dpf_command, ["--data-dir", str(root), "--import", str(csv_path), "--dry-run",
                                      "--as-of", "2026-11-29"])
    assert dry.exit_code == 0, dry.output
    assert "1 new" in dry.output and not (root / "reference" / "dpf").exists()
    res = runner.invoke(dpf_command, ["--data-dir", str(root), "--import", str(csv_path), "--as-of", "2026-11-29"])
    assert res.exit_code == 0, res.output
    assert (root / "reference" / "dpf" / "dpf-snapshot-2026-11-29.csv").is_file()
    check = runner.invoke(dpf_command, ["--data-dir", str(root), "--check", "--as-of", "2026-11-29", "--strict"])
    assert check.exit_code == 1  # beta-inc has no status
    assert "missing" in check.output and "beta-inc" in check.output
    ok = runner.invoke(dpf_command, ["--data-dir", str(root), "--check", "--as-of", "2026-11-29"])
    assert ok.exit_code == 0
    show = runner.invoke(dpf_command, ["--data-dir", str(root)])
    assert show.exit_code == 0 and "acme-inc" in show.output and "active" in show.output


def test_command_rejects_a_bad_csv_with_line_numbers(tmp_path):
    root = write_catalog(tmp_path / "data")
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + row() + row(pid="nope"), encoding="utf-8")
    res = CliRunner().invoke(dpf_command, ["--data-dir", str(root), "--import", str(bad), "--as-of", "2026-11-29"])
    assert res.exit_code == 2
    assert "bad.csv: line 3: participant_id 'nope'" in res.output
    assert not (root / "reference" / "dpf").exists()


def test_command_template_and_help():
    res = CliRunner().invoke(dpf_command, ["--template"])
    assert res.exit_code == 0 and d.parse_dpf_csv(res.output, today=DAY)
    help_text = CliRunner().invoke(dpf_command, ["--help"]).output
    assert "Example:" in help_text and EXAMPLES["dpf"] in help_text and EXAMPLES["refdata dpf"] in help_text
    for param in dpf_command.params:
        assert param.help, param.name


def test_company_file_facts_back_the_dpf_ids():
    catalog = load_catalog()
    for c in catalog.companies.values():
        if c.dpf.participant_id:
            assert c.dpf.participant_id in c.dpf.source  # the id is taken from a participant-page URL
    assert isinstance(catalog.companies["google-llc"].facts[0], Fact)
