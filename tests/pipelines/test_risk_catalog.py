"""The catalog fields the risk model adds (dated roles, own-purposes / IP / DNT / device-access flags, company
parent_status) load, lint and carry the facts legal-facts.md supports, and nothing more."""

from __future__ import annotations

import json

import pytest
import yaml

from pipelines.catalog import vocab
from pipelines.catalog.load import DatedRole, load_catalog, read_catalog
from pipelines.catalog.validate import lint

COMPANY = {
    "id": "acme", "name": "Acme GmbH", "country": "DE", "parent": None, "parent_status": "none",
    "dpf": {"participant_id": None, "status": "not_applicable", "checked_on": None, "source": "https://example.org/x",
            "confidence": "V"},
    "facts": [{"field": "seat", "value": "DE", "source": "https://example.org/x", "as_of": "2026-01-01", "confidence": "V"},
              {"field": "parent", "value": "none", "source": "https://example.org/x", "as_of": "2026-01-01", "confidence": "S"}],
    "as_of": "2026-01-01",
}
SERVICE = {
    "id": "acme-chat", "name": "Acme Chat", "category": "chat", "company": "acme", "hosts": ["acme.example"],
    "role": "processor", "as_of": "2026-11-29",
    "roles": [
        {"role": "controller", "valid_to": "2026-04-01", "source": "https://example.org/x", "as_of": "2026-01-01", "confidence": "V"},
        {"role": "processor", "valid_from": "2026-04-02", "source": "https://example.org/x", "as_of": "2026-01-01", "confidence": "V"},
    ],
    "own_purposes": {"value": "no", "note": "DPA forbids reuse"},
    "ip_anonymisation": {"value": "eu_edge", "note": "zeroed in Frankfurt"},
    "honours_dnt": {"value": "yes", "note": "documented"},
    "device_access": {"value": "no", "note": ""},
    "facts": [{"field": f, "value": "x", "source": "https://example.org/x", "as_of": "2026-01-01", "confidence": "V"}
              for f in ("own_purposes", "ip_handling", "dnt", "device_access")],
}


def write(root, service=None, company=None, extra_companies=()):
    (root / "services").mkdir(parents=True)
    (root / "companies").mkdir()
    (root / "services" / "acme-chat.yml").write_text(yaml.safe_dump(service or SERVICE), encoding="utf-8")
    for c in [company or COMPANY, *extra_companies]:
        (root / "companies" / f"{c['id']}.yml").write_text(yaml.safe_dump(c), encoding="utf-8")
    return root


def changed(base, **updates):
    out = json.loads(json.dumps(base))
    out.update(updates)
    return out


def test_new_fields_load_and_lint_clean(tmp_path):
    root = write(tmp_path)
    assert lint(root) == []
    cat = read_catalog(root)
    s = cat.by_id["acme-chat"]
    assert s.roles[1] == DatedRole("processor", "2026-04-02", None, "https://example.org/x", "2026-01-01", "V")
    assert s.role_on("2026-04-01")[0] == "controller" and s.role_on("2026-04-02")[0] == "processor"
    assert (s.own_purposes.value, s.ip_anonymisation.value, s.honours_dnt.value, s.device_access.value) == (
        "no", "eu_edge", "yes", "no")
    assert cat.companies["acme"].parent_status == "none"


@pytest.mark.parametrize("updates,needle", [
    ({"roles": [{"role": "owner", "source": "https://example.org/x", "as_of": "2026-01-01", "confidence": "V"}]}, "role 'owner'"),
    ({"roles": [{"role": "processor", "source": "", "as_of": "2026-01-01", "confidence": "V"}]},
     "role without a valid source"),
    ({"roles": [{"role": "processor", "valid_from": "April", "source": "https://example.org/x", "as_of": "2026-01-01",
                 "confidence": "V"}]}, "valid_from 'April'"),
    ({"roles": [{"role": "processor", "source": "https://example.org/x", "as_of": "2026-01-01", "confidence": "V"},
                {"role": "controller", "valid_from": "2025", "source": "https://example.org/x", "as_of": "2026-01-01",
                 "confidence": "V"}]}, "overlap"),
    ({"role": "controller"}, "disagrees with roles"),
    ({"roles": [{"role": "processor", "source": "https://example.org/x", "as_of": "2026-01-01", "confidence": "V",
                 "colour": "red"}]}, "unknown key 'colour'"),
    ({"ip_anonymisation": {"value": "sometimes"}}, "ip_anonymisation 'sometimes'"),
    ({"honours_dnt": {"value": "yes"}, "facts": []}, "honours_dnt 'yes' has no backing fact (field: dnt)"),
    ({"own_purposes": {"value": "yes"}, "facts": []}, "own_purposes 'yes' has no backing fact"),
    ({"device_access": {"value": "yes"}, "facts": []}, "device_access 'yes' has no backing fact"),
])
def test_service_field_lint(tmp_path, updates, needle):
    problems = lint(write(tmp_path, service=changed(SERVICE, **updates)))
    assert any(needle in p for p in problems), problems


@pytest.mark.parametrize("updates,needle", [
    ({"parent_status": "maybe"}, "parent_status 'maybe'"),
    ({"parent_status": "known"}, "does not fit parent"),
    ({"parent_status": "none", "facts": COMPANY["facts"][:1]}, "parent_status 'none' has no backing fact"),
])
def test_company_parent_status_lint(tmp_path, updates, needle):
    problems = lint(write(tmp_path, company=changed(COMPANY, **updates)))
    assert any(needle in p for p in problems), problems


def test_parent_with_none_status_is_rejected(tmp_path):
    parent = changed(COMPANY, id="holding")
    child = changed(COMPANY, parent="holding", parent_status="none")
    problems = lint(write(tmp_path, company=child, extra_companies=[parent]))
    assert any("does not fit parent" in p for p in problems), problems


def test_parent_status_defaults(tmp_path):
    plain = {k: v for k, v in COMPANY.items() if k != "parent_status"}
    cat = read_catalog(write(tmp_path, company=plain))
    assert cat.companies["acme"].parent_status == "unknown"  # parent: null alone means "not recorded"


# ------------------------------------------------------------------------------------------ the real catalog


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_recaptcha_role_is_dated(catalog):
    s = catalog.by_id["google-recaptcha"]
    assert s.role_on("2026-04-01")[0] == "controller" and s.role_on("2026-04-02")[0] == "processor"
    assert all(r.confidence == "V" for r in s.roles)
    assert s.device_access.value == "yes"


def test_flags_only_where_legal_facts_support_them(catalog):
    flagged = {(s.id, k): getattr(s, k).value for s in catalog.services
               for k in ("own_purposes", "ip_anonymisation", "honours_dnt", "device_access")
               if getattr(s, k).value != "unknown"}
    assert flagged == {
        ("google-analytics-4", "own_purposes"): "yes",  # GA terms allow reuse [S conductatlas]
        ("google-analytics-4", "ip_anonymisation"): "eu_edge",  # EU IP lookup before forwarding [V]
        ("hotjar", "ip_anonymisation"): "eu_edge",  # last octet zeroed, AWS Ireland [V]
        ("hotjar", "honours_dnt"): "yes",  # [V hotjar.com/privacy]
        ("cookiebot", "ip_anonymisation"): "eu_edge",  # consent log zeroes the last digits [V]
        ("linkedin-insight", "ip_anonymisation"): "after_receipt",  # truncated/hashed by LinkedIn [V]
        ("google-recaptcha", "device_access"): "yes",  # hardware and software information [V]
        ("vg-wort", "device_access"): "no",  # signature from what the browser transmits anyway [S]
        ("vg-wort", "ip_anonymisation"): "eu_edge",  # IP processed only anonymised (SZM, Germany) [S]
    }
    # GA4: only the IP lookup is documented to run in the EU, so EU-only hosting is not established
    assert catalog.by_id["google-analytics-4"].eu_hosting.value == "unknown"


def test_embeds_under_fashion_id_are_joint_controllers(catalog):
    for sid in ("youtube", "youtube-nocookie", "google-maps", "vimeo", "meta-pixel"):
        s = catalog.by_id[sid]
        assert s.role == "joint_controller", sid
        assert any(f.field == "role" and f.confidence == "V" for f in s.facts), sid


def test_ultimate_parents_and_unknown_parents(catalog):
    none = {c.id for c in catalog.companies.values() if c.parent_status == "none"}
    assert {"alphabet", "meta-platforms-inc", "microsoft", "contentsquare", "text-sa", "trustpilot-group",
            "bytedance-ltd", "bending-spoons", "prospect-one", "innocraft", "etracker-gmbh"} <= none
    for cid in ("usercentrics-gmbh", "usercentrics-as", "userlike-ug", "trusted-shops-se"):
        assert catalog.companies[cid].parent_status == "unknown", cid  # [M] in legal-facts.md: unknown stays unknown
    for cid in none:
        facts = [f for f in catalog.companies[cid].facts if f.field == "parent"]
        assert facts and all(vocab.is_public_url(f.source) for f in facts), cid
    # [M] statements stay M
    assert [f.confidence for f in catalog.companies["alphabet"].facts if f.field == "parent"] == ["M"]
    assert [f.confidence for f in catalog.companies["bytedance-ltd"].facts if f.field == "parent"] == ["M"]


def test_vimeo_acquisition_dates_the_parent(catalog):
    vimeo = catalog.companies["vimeo-inc"]
    assert vimeo.parent_on("2024-12-31") is None and vimeo.parent_status_on("2024-12-31") == "unknown"
    assert vimeo.parent_on("2025-10-01") == "bending-spoons"
