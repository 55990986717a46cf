"""The knowledge base's files have a contract: every demo kb/json file and scan report.json validates against its
JSON Schema (with ``schema_version``; tri-states true/false/"unknown", never null); the Markdown has front matter
with title, description, lang, date and translation keys, real characters instead of HTML entities, links to
company and methodology pages, and builds with MkDocs in strict mode (every link and anchor resolves)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import jsonschema
import pytest
import yaml

from pipelines import contract
from pipelines.publish.texts import LANGS
from tests.conftest import require_tool


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = contract.schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("name,pattern", [("kb-service", "kb/json/*.json"), ("scan-report", "scans/*/report.json")])
def test_every_demo_json_output_validates_against_its_schema(demo_out, name, pattern):
    validator = _validator(name)
    files = sorted(demo_out.glob(pattern))
    assert files
    for path in files:
        doc = json.loads(path.read_text(encoding="utf-8"))
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
        assert not errors, (path.name, errors[:5])
        assert doc["schema_version"] == (contract.SCAN_REPORT_SCHEMA_VERSION if name == "scan-report"
                                         else contract.SCHEMA_VERSION)


def test_a_null_tri_state_fails_the_schema(demo_out):
    """The schema is no rubber stamp: the pre-contract spelling (null for unknown) is refused."""
    doc = json.loads(next((demo_out / "kb" / "json").glob("*.json")).read_text(encoding="utf-8"))
    assert doc["company"]["us_jurisdiction"] in (True, False, "unknown")
    doc["company"]["us_jurisdiction"] = None
    assert list(_validator("kb-service").iter_errors(doc))


def test_unknown_is_spelled_out_for_tri_states():
    page = {"company": {"us_jurisdiction": None, "dpf": {"status": None, "checked_on": None}},
            "data": {"tracking": {"sets_cookies": None, "honours_dnt": "no"}}, "share": None}
    out = contract.kb_service_json(page)
    assert out["company"]["us_jurisdiction"] == "unknown" and out["company"]["dpf"]["status"] == "unknown"
    assert out["data"]["tracking"] == {"sets_cookies": "unknown", "honours_dnt": "no"}
    assert out["share"] is None and out["company"]["dpf"]["checked_on"] is None  # numbers and dates stay null
    assert page["company"]["us_jurisdiction"] is None  # the page data itself is not changed


def _front_matter(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), path
    fm, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(fm), body


@pytest.mark.parametrize("lang", LANGS)
def test_markdown_front_matter_characters_and_links(demo_out, lang):
    root = demo_out / "kb" / lang
    pages = sorted(p for p in root.rglob("*.md"))
    assert {"index.md", "methodology.md"} <= {p.name for p in pages}
    assert any(p.parent.name == "companies" for p in pages)
    keys = set()
    for path in pages:
        fm, body = _front_matter(path)
        assert fm["lang"] == lang and fm["title"] and len(fm["description"]) > 40, path
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(fm["date"])), path
        assert fm["translationKey"] not in keys
        keys.add(fm["translationKey"])
        for other, rel in fm["translations"].items():
            assert other != lang and (path.parent / rel).resolve().is_file(), (path, rel)
        assert not re.search(r"&(?:[a-z]+|#\d+);", body), (path, re.search(r".{30}&(?:[a-z]+|#\d+);.{10}", body))
    for path in (root / "services").glob("*.md"):
        fm, body = _front_matter(path)
        for key in ("us_jurisdiction", "consent_required", "band", "dpf_status"):
            assert fm[key] is not None, (path.name, key)  # "unknown", never null
        assert "](../methodology.md)" in body, path.name
        if fm["company"] != "unknown":
            assert f"](../companies/{fm['company']}.md)" in body, path.name
    text = (root / "services" / "google-tag-manager.md").read_text(encoding="utf-8")
    assert "→" in text or "–" in text  # real characters


@pytest.mark.parametrize("lang", LANGS)
def test_markdown_builds_with_mkdocs_in_strict_mode(demo_out, tmp_path, lang):
    exe = require_tool("mkdocs")
    docs = tmp_path / "docs"
    shutil.copytree(demo_out / "kb" / lang, docs, ignore=shutil.ignore_patterns("site"))
    config = tmp_path / "mkdocs.yml"
    config.write_text(yaml.safe_dump({
        "site_name": f"servicerisk ({lang})", "docs_dir": str(docs), "site_dir": str(tmp_path / "built"),
        "strict": True, "use_directory_urls": False, "theme": {"name": "mkdocs", "locale": lang},
        "validation": {"omitted_files": "warn", "absolute_links": "warn", "unrecognized_links": "warn",
                       "anchors": "warn", "nav": {"not_found": "warn"}, "links": {"not_found": "warn"}},
    }), encoding="utf-8")
    proc = subprocess.run([exe, "build", "--strict", "-f", str(config)], capture_output=True, text=True, timeout=600,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-5000:]
    built = tmp_path / "built"
    assert (built / "services" / "google-tag-manager.html").is_file()
    assert (built / "methodology.html").is_file() and (built / "index.html").is_file()
