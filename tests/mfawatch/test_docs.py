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


def test_the_typical_morning_url_is_in_a_shipped_listing() -> None:
    """README's `mfawatch history URL` example names an article that a shipped source's listing
    links to (a captured listing, in tests/fixtures/real-pages, of a listing URL in
    config/sources.yaml, from the same folder of the site)."""
    import json
    import re

    repo = Path(__file__).parents[2]
    morning = README.split("A typical morning:", 1)[1]
    found = re.search(r"mfawatch history (\S+)", morning)
    assert found is not None
    folder, _, slug = found.group(1).rpartition("/")
    config = (repo / "config" / "sources.yaml").read_text(encoding="utf-8")
    pages = repo / "tests" / "fixtures" / "real-pages"
    linked = []
    for meta_file in pages.glob("*.json"):
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or meta.get("page_type") != "listing":
            continue
        listing_url = meta.get("source_url", "")
        html = (pages / meta["file"]).read_text(encoding="utf-8", errors="replace")
        if listing_url in config and listing_url.startswith(folder + "/") and slug in html:
            linked.append(meta["file"])
    assert linked, f"{found.group(1)} is in no captured listing of a shipped source"
