"""Country tables and the two transfer classes (server side F7, jurisdiction side F6), incl. the edge cases:
EU entity with a US parent, US entity with an inactive DPF listing, anycast-only host, unknown company."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.catalog import vocab
from pipelines.catalog.load import load_catalog
from pipelines.enrich.dpf import EMPTY_SNAPSHOT, DpfStatus, load_snapshot
from pipelines.risk.countries import CountryDataError, load_countries
from pipelines.risk.transfer import (
    CompanyChain,
    Entity,
    HostLocation,
    build_chain,
    jurisdiction_class,
    server_class,
)

DAY = date(2026, 11, 29)
COUNTRIES = load_countries()


def dpf(effective: str, name: str = "US Corp") -> DpfStatus:
    return DpfStatus("us-corp", name, effective, effective, "snapshot", "a2zt0000000TESTAAA", "2026-10-01",
                     ("EU",), ("non-HR",), "https://example.org/p", "V", "2026-11-29")


def chain(*entities: tuple[str, str] | Entity, complete: bool = True, company_id: str = "x") -> CompanyChain:
    built = []
    for i, e in enumerate(entities):
        if isinstance(e, Entity):
            built.append(e)
        else:
            built.append(Entity(f"e{i}", e[0], e[1], "V", "V" if i else ""))
    return CompanyChain(company_id, tuple(built), complete, "V")


US_ACTIVE = Entity("us-corp", "US Corp", "US", "V", "", dpf("active"))
US_INACTIVE = Entity("us-corp", "US Corp", "US", "V", "", dpf("inactive"))
US_NOT_LISTED = Entity("us-corp", "US Corp", "US", "V", "", dpf("not_listed"))
US_NOT_COVERED = Entity("us-corp", "US Corp", "US", "V", "", dpf("not_covered"))
US_UNKNOWN = Entity("us-corp", "US Corp", "US", "V", "", dpf("unknown"))


# ------------------------------------------------------------------------------------------ country tables


@pytest.mark.parametrize("code", ["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
                                  "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
                                  "IS", "LI", "NO"])
def test_eea_members(code):
    assert COUNTRIES.region(code, DAY) == "eea"


def test_eea_has_exactly_30_members_and_every_row_is_sourced():
    assert len(COUNTRIES.members) == 30
    assert {m.code for m in COUNTRIES.members.values() if m.membership == "eea_efta"} == {"IS", "LI", "NO"}
    for m in COUNTRIES.members.values():
        assert m.source and m.as_of and m.confidence in "VSM"


@pytest.mark.parametrize("code,region", [
    ("el", "eea"), ("EL", "eea"), ("uk", "adequate"),  # EU spelling of Greece, UK for GB
    ("RE", "eea"), ("GP", "eea"), ("MQ", "eea"), ("GF", "eea"), ("YT", "eea"), ("MF", "eea"),  # outermost regions
    ("GL", "third_country"), ("AW", "third_country"), ("CW", "third_country"), ("NC", "third_country"),
    ("GI", "third_country"),  # not covered by the UK decision
    ("CH", "adequate"), ("GB", "adequate"), ("NZ", "adequate"), ("JP", "adequate"), ("KR", "adequate"),
    ("CA", "adequate"), ("IL", "adequate"), ("BR", "adequate"),
    ("US", "us"), ("CN", "third_country"), ("IN", "third_country"), ("SG", "third_country"), ("KY", "third_country"),
    ("", "unknown"), (None, "unknown"), ("unknown", "unknown"), ("XYZ", "unknown"),
])
def test_regions(code, region):
    assert COUNTRIES.region(code, DAY) == region


def test_adequacy_decisions_have_ids_dates_and_scope_limits():
    rows = {(d.code, d.decision_date): d for d in COUNTRIES.decisions}
    assert rows[("US", "2023-07-10")].decision == "(EU) 2023/1795"
    assert "Data Privacy Framework List" in rows[("US", "2023-07-10")].scope_limit
    assert "PIPEDA" in rows[("CA", "2001-12-20")].scope_limit
    assert "private sector" in rows[("JP", "2019-01-23")].scope_limit
    assert "Financial Services Commission" in rows[("KR", "2021-12-17")].scope_limit
    assert rows[("BR", "2026-01-26")].decision == "(EU) 2026/179"
    assert rows[("EPO", "2025-07-15")].kind == "international_organisation"
    renewal = rows[("GB", "2025-12-19")]
    assert renewal.valid_to == "2031-12-27" and renewal.scope == "full"
    for d in COUNTRIES.decisions:
        assert vocab.is_public_url(d.source) and d.as_of == "2026-11-29" and d.confidence in "VSM", d
        assert d.scope in ("full", "partial") and (d.scope == "full" or d.scope_limit), d
    # 15 on the Commission page (US and UK included) + Brazil = the 16 third countries of legal-facts.md §1.2
    assert len({d.code for d in COUNTRIES.decisions if d.kind == "country"}) == 16


def test_adequacy_depends_on_the_day():
    assert COUNTRIES.region("BR", date(2026, 1, 25)) == "third_country"
    assert COUNTRIES.region("BR", date(2026, 1, 26)) == "adequate"
    assert COUNTRIES.adequacy("GB", date(2025, 6, 1)).scope == "partial"  # 2021 decision, immigration data excluded
    assert COUNTRIES.adequacy("GB", date(2025, 12, 20)).valid_to == "2031-12-27"  # renewal wins once adopted
    assert COUNTRIES.region("GB", date(2032, 1, 1)) == "third_country"
    assert COUNTRIES.region("KR", date(2021, 1, 1)) == "third_country"


def test_country_table_errors_name_file_and_line(tmp_path):
    for name in ("eea.csv", "territories.csv", "adequacy.csv"):
        (tmp_path / name).write_text((COUNTRIES_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    path = tmp_path / "adequacy.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace(",partial,", ",sometimes,")
    lines.append("DE,Germany,country,x,2020-01-01,V,,full,,V,https://example.org/x,2026-01-01,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CountryDataError) as err:
        load_countries(tmp_path)
    assert any("adequacy.csv: line 3: scope 'sometimes'" in p for p in err.value.problems), err.value.problems
    assert any("line 20: DE is in the EEA" in p for p in err.value.problems), err.value.problems


COUNTRIES_DIR = load_countries.__defaults__[0]


# ------------------------------------------------------------------------------------------ jurisdiction side


@pytest.mark.parametrize("entities,complete,expected", [
    ([("Acme GmbH", "DE")], True, "eea"),
    ([("Acme GmbH", "DE"), ("Acme Holding SE", "FR")], True, "eea"),
    ([("Acme GmbH", "DE")], False, "eea_parent_unknown"),
    ([("Acme GmbH", "DE"), ("Holding", "unknown")], True, "eea_parent_unknown"),
    ([("Acme Ltd", "NZ")], True, "adequate"),
    ([("Acme Ltd", "NZ")], False, "adequate"),
    ([("Acme A/S", "DK"), ("Acme plc", "GB")], True, "non_eea_parent"),  # EEA entity, adequate parent
    ([("Acme Ltd", "IE"), ("Acme Inc.", "US")], True, "non_eea_parent"),  # EU entity with US parent
    ([("Acme Ltd", "IE"), ("Acme Ltd", "KY")], True, "third_country"),  # CN/KY-linked parent
    ([("Acme Ltd", "CN")], True, "third_country"),
    ([("Acme Ltd", "BR")], True, "adequate"),
])
def test_jurisdiction_classes(entities, complete, expected):
    assert jurisdiction_class(chain(*entities, complete=complete), COUNTRIES, DAY).cls == expected


@pytest.mark.parametrize("entity,expected", [
    (US_ACTIVE, "us_dpf"), (US_INACTIVE, "us_no_dpf"), (US_NOT_LISTED, "us_no_dpf"), (US_NOT_COVERED, "us_no_dpf"),
    (US_UNKNOWN, "us_dpf_unknown"), (Entity("u", "US Corp", "US"), "us_dpf_unknown"),  # no status at all
])
def test_us_entity_by_dpf_status(entity, expected):
    result = jurisdiction_class(chain(entity), COUNTRIES, DAY)
    assert result.cls == expected
    assert result.us_jurisdiction is True and result.non_eea_controlled is True


def test_us_entity_with_eea_parent_is_still_a_us_entity():
    result = jurisdiction_class(chain(US_INACTIVE, ("Text S.A.", "PL")), COUNTRIES, DAY)
    assert result.cls == "us_no_dpf"


def test_us_entity_with_third_country_parent():
    assert jurisdiction_class(chain(US_ACTIVE, ("Parent", "CN")), COUNTRIES, DAY).cls == "third_country"


def test_eu_entity_with_us_parent_keeps_us_jurisdiction():
    result = jurisdiction_class(chain(("Acme Ireland", "IE"), US_ACTIVE), COUNTRIES, DAY)
    assert result.cls == "non_eea_parent"
    assert result.us_jurisdiction is True and result.non_eea_controlled is True
    assert "DPF" in result.evidence and result.dpf.effective == "active"


def test_unknown_company_and_unknown_seat():
    unknown = jurisdiction_class(CompanyChain("ghost"), COUNTRIES, DAY)
    assert unknown.cls == "unknown" and unknown.us_jurisdiction is None and unknown.non_eea_controlled is None
    assert "not in the catalog" in unknown.evidence
    assert jurisdiction_class(chain(("Somebody", "unknown")), COUNTRIES, DAY).cls == "unknown"


def test_site_operator():
    result = jurisdiction_class(CompanyChain("site-operator", site_operator=True, complete=True), COUNTRIES, DAY)
    assert result.cls == "site_operator" and result.us_jurisdiction is False and result.non_eea_controlled is False


def test_partial_adequacy_scope_is_noted():
    result = jurisdiction_class(chain(("Acme KK", "JP")), COUNTRIES, DAY)
    assert result.cls == "adequate" and any("private sector" in n.scope_limit for n in result.notes)


def test_us_jurisdiction_is_derived_and_unknown_stays_unknown():
    assert chain(("A", "DE"), ("B", "US")).us_jurisdiction is True
    assert chain(("A", "DE"), ("B", "FR")).us_jurisdiction is False
    assert chain(("A", "DE"), complete=False).us_jurisdiction is None
    assert chain(("A", "DE"), ("B", "unknown")).us_jurisdiction is None
    assert CompanyChain("ghost").us_jurisdiction is None


# ------------------------------------------------------------------------------------------ server side


def loc(host, *countries, confidence="measured"):
    return HostLocation(host, frozenset(countries), confidence)


EEA_CHAIN = chain(("Acme GmbH", "DE"))


@pytest.mark.parametrize("locations,the_chain,expected", [
    ([loc("a.example", "DE")], EEA_CHAIN, "eea"),
    ([loc("a.example", "DE", "NL")], EEA_CHAIN, "eea"),
    ([loc("a.example", "RE")], EEA_CHAIN, "eea"),
    ([loc("a.example", "CH")], EEA_CHAIN, "adequate"),
    ([loc("a.example", "DE"), loc("b.example", "GB")], EEA_CHAIN, "adequate"),
    ([loc("a.example", "US")], chain(US_ACTIVE), "us_dpf"),
    ([loc("a.example", "US")], chain(("Acme Ireland", "IE"), US_ACTIVE), "us_dpf"),  # recipient = the US parent
    ([loc("a.example", "US")], chain(US_INACTIVE), "third_country"),
    ([loc("a.example", "US")], chain(US_UNKNOWN), "us_dpf_unknown"),
    ([loc("a.example", "US")], EEA_CHAIN, "us_dpf_unknown"),  # US server, no US entity in the chain
    ([loc("a.example", "CN")], EEA_CHAIN, "third_country"),
    ([loc("a.example", "DE", "SG")], EEA_CHAIN, "third_country"),  # worst country decides
    ([loc("a.example", "US", confidence="anycast_or_cdn")], chain(US_ACTIVE), "anycast_or_unknown"),  # anycast-only
    ([loc("a.example", confidence="unknown")], EEA_CHAIN, "anycast_or_unknown"),
    ([loc("a.example")], EEA_CHAIN, "anycast_or_unknown"),  # "measured" but no country
    ([loc("a.example", "DE"), loc("cdn.example", "US", confidence="anycast_or_cdn")], EEA_CHAIN,
     "anycast_or_unknown"),
    ([loc("a.example", "CN"), loc("cdn.example", confidence="anycast_or_cdn")], EEA_CHAIN, "third_country"),
    ([], EEA_CHAIN, "not_measured"),
])
def test_server_classes(locations, the_chain, expected):
    result = server_class(locations, the_chain, COUNTRIES, DAY)
    assert result.cls == expected
    assert result.measured is bool(locations)


def test_server_side_and_jurisdiction_side_stay_separate():
    # an EU server run by a US-controlled company: EEA on the server side, non-EEA parent on the other
    the_chain = chain(("Acme Ireland", "IE"), US_UNKNOWN)
    assert server_class([loc("a.example", "IE")], the_chain, COUNTRIES, DAY).cls == "eea"
    assert jurisdiction_class(the_chain, COUNTRIES, DAY).cls == "non_eea_parent"


def test_first_party_and_per_host_detail():
    site = CompanyChain("site-operator", site_operator=True, complete=True)
    assert server_class([loc("a.example", "CN")], site, COUNTRIES, DAY).cls == "first_party"
    result = server_class([loc("b.example", "DE"), loc("a.example", "SG")], EEA_CHAIN, COUNTRIES, DAY)
    assert [(h.host, h.cls) for h in result.hosts] == [("a.example", "third_country"), ("b.example", "eea")]
    assert "a.example: Singapore" in result.evidence  # the English evidence line names the country


def test_host_location_validates_confidence():
    with pytest.raises(ValueError):
        HostLocation("a.example", frozenset({"DE"}), "geoip")
    assert HostLocation("a.example", frozenset({"de"}), "measured").countries == {"DE"}


# ------------------------------------------------------------------------------------------ real catalog chains


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_real_chains(catalog):
    snap = load_snapshot()

    def cls(company):
        return jurisdiction_class(build_chain(catalog, company, snap, DAY), COUNTRIES, DAY).cls

    # recipient rule (DSK application notes on the DPF): Google Ireland passes the data to Google LLC, whose DPF
    # status (snapshot 2026-12-06, Google's framework statement) is scored, not the Irish contracting entity's seat
    assert cls("google-ireland") == "us_dpf"
    assert cls("google-llc") == "us_dpf"
    assert cls("hotjar-ltd") == "eea"  # MT -> Content Square SAS (FR), ultimate parent [S]
    assert cls("usercentrics-gmbh") == "eea_parent_unknown"  # parent [M]: unknown stays unknown
    assert cls("innocraft") == "adequate"  # NZ
    assert cls("trustpilot-as") == "non_eea_parent"  # DK -> GB plc
    assert cls("tiktok-technology-ltd") == "third_country"  # IE -> ByteDance (KY)
    assert cls("text-inc") == "us_dpf_unknown"  # LiveChat's contracting entity is US
    assert cls("site-operator") == "site_operator"
    assert cls("no-such-company") == "unknown"


def test_dated_acquisition_changes_the_chain(catalog):
    before = build_chain(catalog, "vimeo-inc", EMPTY_SNAPSHOT, date(2024, 6, 1))
    after = build_chain(catalog, "vimeo-inc", EMPTY_SNAPSHOT, DAY)
    assert [e.id for e in before.entities] == ["vimeo-inc"] and not before.complete
    assert [e.id for e in after.entities] == ["vimeo-inc", "bending-spoons"] and after.complete
    assert catalog.parent_chain("vimeo-inc", "2024-06-01")[-1].id == "vimeo-inc"


def test_catalog_us_jurisdiction(catalog):
    assert catalog.us_jurisdiction("google-ireland") is True
    assert catalog.us_jurisdiction("hotjar-ltd") is False
    assert catalog.us_jurisdiction("usercentrics-gmbh") is None
    assert catalog.us_jurisdiction("trustpilot-as") is False
    assert catalog.us_jurisdiction("no-such-company") is None
    assert catalog.chain_complete("google-ireland") and not catalog.chain_complete("userlike-ug")
