"""Lazy command loading: the registry's help matches the commands, and start-up imports only what it uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from mfawatch.cli import LazyCommands, LazyGroup
from mfawatch.commands import COMMANDS
from tests.site import Site

# Packages that only some commands need; `mfawatch --help` must import none of them.
HEAVY = (
    "digest",
    "apscheduler",
    "apprise",
    "starlette",
    "uvicorn",
    "jinja2",
    "sqlalchemy",
    "pydantic",
)
# What `crawl` needs does not include the digest, the daemon or the web UI.
NOT_FOR_CRAWL = (
    "digest",
    "apscheduler",
    "apprise",
    "starlette",
    "uvicorn",
    "jinja2",
    "mfawatch.daemon",
)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_registered_help_is_the_commands_own(name: str) -> None:
    """Each registry entry names a real command whose help starts with the registered paragraph."""
    command = COMMANDS[name].load()
    assert command.short_help is None, f"{name}: set short_help in the registry instead"
    assert (command.help or "").partition("\n\n")[0] == COMMANDS[name].help


@pytest.mark.parametrize("width", [40, 80, 100])
def test_listing_without_imports_matches_the_loaded_commands(width: int) -> None:
    """The command list built from the registry reads exactly as the one built from the commands."""
    lazy = LazyGroup("mfawatch", commands=LazyCommands(COMMANDS))
    loaded = click.Group("mfawatch", commands={n: s.load() for n, s in COMMANDS.items()})
    helps = []
    for group in (lazy, loaded):
        ctx = click.Context(group, terminal_width=width, max_content_width=100)
        helps.append(group.get_help(ctx))
    assert helps[0] == helps[1]
    assert all(f"  {name} " in helps[0] for name in COMMANDS)


# Nor what a crawl of a source with nothing new needs (issue 17: <= 0.7 CPU-s): httpx's own
# command-line client and its rich/pygments, the progress display (terminal only), the digest,
# notification and web packages, and the extractors used only for some pages.
NOT_FOR_A_PLAIN_CRAWL = (
    *NOT_FOR_CRAWL,
    "httpx._main",
    "rich",
    "pygments",
    # the browser path (issue 22): only a `fetch: browser` / `challenge` source that needs it
    "playwright",
    "greenlet",
    "crawler.fetch.browser",
    "socksio",
)


def _modules_after(*args: str) -> set[str]:
    """The modules imported by running `mfawatch ARGS` in a fresh interpreter."""
    code = (
        "import json, sys\n"
        "from mfawatch.cli import cli\n"
        f"try:\n    cli({list(args)!r}, prog_name='mfawatch')\n"
        "except SystemExit:\n    pass\n"
        # a None entry marks a module as absent (crawler.fetch does so for httpx._main)
        "sys.stderr.write(json.dumps(sorted(k for k, v in sys.modules.items() if v is not None)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MFAWATCH_")}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    return set(json.loads(proc.stderr.splitlines()[-1]))


def _loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(p for p in packages if any(m == p or m.startswith(p + ".") for m in modules))


def test_top_level_help_imports_no_command() -> None:
    """`mfawatch --help` lists every command without importing any command module or heavy package."""
    modules = _modules_after("--help")
    assert not [m for m in modules if m.startswith("mfawatch.commands.")]
    assert _loaded(modules, HEAVY) == []


def test_crawl_imports_only_the_crawl_path() -> None:
    """`mfawatch crawl --help` imports the crawl command but not the digest, daemon or web UI."""
    modules = _modules_after("crawl", "--help")
    assert "mfawatch.commands.crawl" in modules
    assert [m for m in modules if m.startswith("mfawatch.commands.")] == ["mfawatch.commands.crawl"]
    assert _loaded(modules, NOT_FOR_CRAWL) == []


def test_a_crawl_with_nothing_new_imports_only_what_it_uses(site: Site, tmp_path: Path) -> None:
    """A real `crawl --once` of one loopback source (run twice: the second finds nothing new)
    imports neither httpx's command-line client nor the progress display nor the other commands."""
    fixture = Path(__file__).parents[1] / "fixtures" / "sites" / "two-sources"
    text = (fixture / "sources.yaml.tmpl").read_text().split("  - key: fixture-zh")[0]
    config = tmp_path / "sources.yaml"
    config.write_text(text.replace("{base}", site.url("/sites/two-sources").rstrip("/")))
    args = ("--config", str(config), "--db", str(tmp_path / "db.sqlite3"), "crawl", "--once")
    _modules_after(*args)
    modules = _modules_after(*args)
    assert "crawler.pipeline" in modules  # the crawl did run
    assert _loaded(modules, NOT_FOR_A_PLAIN_CRAWL) == []
    assert [m for m in modules if m.startswith("mfawatch.commands.")] == ["mfawatch.commands.crawl"]
