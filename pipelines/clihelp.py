"""The helpers every command module shares: the one-line error exit, the example epilog, the exit-code table,
``--nameserver`` and ``--out`` handling, and the consoles commands print to."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console

from pipelines import exits

err = Console(stderr=True)
out = Console()


def fail(message: str, code: int = exits.USAGE) -> NoReturn:
    """One line on stderr (never wrapped), then exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def epilog(*examples: str) -> str:
    """A command's help epilog: its examples, one per line, kept unwrapped."""
    return "\b\nExample:\n" + "\n".join(f"  {e}" for e in examples)


def exit_codes() -> str:
    """The exit-code table of ``servicerisk --help`` (``pipelines.exits.MEANINGS``)."""
    return "\b\nExit codes:\n" + "\n".join(f"  {code:>3}  {text}" for code, text in exits.MEANINGS.items())


def check_nameservers(nameservers) -> tuple[str, ...]:
    """``--nameserver`` values, each checked (a usage error naming the flag otherwise)."""
    from crawler.resolver import parse_nameserver

    for ns in nameservers:
        try:
            parse_nameserver(ns)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--nameserver") from None
    return tuple(nameservers)


def nameserver_option(help: str = "Resolver for everything servicerisk resolves itself (repeatable; "
                                  "default: the system's)."):
    """The ``--nameserver IP[:PORT]`` option (repeatable), checked as it is parsed."""
    return click.option("--nameserver", "nameservers", multiple=True, metavar="IP[:PORT]", help=help,
                        callback=lambda ctx, param, value: check_nameservers(value))


def out_option(help: str = "Output folder holding raw/<run_id>/ and warehouse.duckdb.", **kwargs):
    """The ``--out`` folder option (required unless ``default`` is given)."""
    kwargs.setdefault("required", "default" not in kwargs)
    return click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help=help, **kwargs)


def self_command() -> str:
    """How the user invoked us (e.g. ``.venv/bin/servicerisk`` from ``make demo``), for pasteable examples."""
    return sys.argv[0] if sys.argv and sys.argv[0].endswith("servicerisk") else "servicerisk"
