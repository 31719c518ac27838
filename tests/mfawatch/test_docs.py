"""Docs cannot drift: every CLI command has help text and appears in README.md."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mfawatch.cli import cli

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        out.append((path, command))
        if isinstance(command, click.Group):
            out += _commands(command, path + " ")
    return out


COMMANDS = _commands(cli)


def test_the_design_commands_exist() -> None:
    """Every command of DESIGN.md's CLI contract is registered."""
    names = {path for path, _ in COMMANDS}
    assert {
        "run",
        "crawl",
        "digest",
        "history",
        "diff",
        "export",
        "status",
        "sources check",
        "serve",
    } <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_command_has_help_and_is_in_the_readme(path: str, command: click.Command) -> None:
    """`mfawatch PATH --help` works and shows a description, and README.md names the command."""
    result = CliRunner().invoke(cli, [*path.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert (command.help or "").strip(), f"{path} has no help text"
    assert f"mfawatch {path}" in README, f"README.md does not mention `mfawatch {path}`"
