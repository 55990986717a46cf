"""Docs are tested: every crawl-table column is described, every CLI command has help and an example."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from common.tables import SCHEMAS
from pipelines.cli import EXAMPLES, main
from pipelines.enrich.run import SCHEMAS as ENRICHED_SCHEMAS
from pipelines.warehouse import dictionary

ROOT = Path(__file__).resolve().parents[1]


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (\w+)\s*$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_every_crawl_column_is_documented():
    sections = _sections((ROOT / "docs" / "crawl-tables.md").read_text(encoding="utf-8"))
    for table, schema in SCHEMAS.items():
        assert table in sections, f"docs/crawl-tables.md has no section for {table}"
        documented = set(re.findall(r"^\| `(\w+)` \|", sections[table], flags=re.M))
        assert documented == set(schema.names), (table, set(schema.names) ^ documented)


@pytest.mark.parametrize("doc,prefix,schemas", [("crawl-tables.md", "raw_", SCHEMAS),
                                                ("enrichment.md", "enr_", ENRICHED_SCHEMAS)])
def test_run_table_docs_show_the_dictionarys_texts(doc, prefix, schemas):
    """The warehouse comments (schema/tables.yml) and the docs describe each run-table column in the same
    words: the dictionary owns them, the docs show them."""
    sections = _sections((ROOT / "docs" / doc).read_text(encoding="utf-8"))
    tables = dictionary.schema()["tables"]
    for table, schema in schemas.items():
        rows = dict(re.findall(r"^\| `(\w+)` \| (.*) \|\s*$", sections[table], flags=re.M))
        assert rows == tables[prefix + table]["columns"], f"docs/{doc} § {table} differs from schema/tables.yml"
        assert set(rows) == set(schema.names)


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_has_help_and_example(name):
    command = main.commands[name]
    assert command.help and len(command.help) > 20, name
    assert name in EXAMPLES and EXAMPLES[name].startswith(f"servicerisk {name}")
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and EXAMPLES[name] in result.output
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts} has no help"


def test_readme_quickstart_is_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quickstart", 1)[1].split("##", 1)[0]
    block = re.search(r"```\n(.*?)```", quick, flags=re.S).group(1).split("\n")
    assert [line for line in block if line.strip()] == ["make demo", "make test"]


def test_every_outcome_and_exit_code_is_documented():
    from crawler.outcomes import OUTCOMES
    from pipelines.exits import MEANINGS

    for doc in ("README.md", "docs/crawl-tables.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        missing = [o for o in OUTCOMES if f"`{o}`" not in text]
        assert not missing, (doc, missing)
        codes = {int(c) for c in re.findall(r"^\| `(\d+)` \|", text, flags=re.M)}
        assert codes == set(MEANINGS), (doc, codes ^ set(MEANINGS))


def test_help_lists_the_exit_codes():
    from pipelines.exits import MEANINGS
    from tests.conftest import run_cli

    res = run_cli(["--help"])
    assert res.returncode == 0, res.stderr
    for code, text in MEANINGS.items():
        assert f"{code:>3}  {text}" in res.stdout, (code, res.stdout)
