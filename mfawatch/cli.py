"""The `mfawatch` command line (click): global options and lazy command loading.

Exit codes and the mapping of library errors to them: `mfawatch.exits`.

Commands are registered in `mfawatch.commands.COMMANDS` and their modules are imported only when
a command runs or shows its help, so start-up pays only for the command at hand.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, MutableMapping

import click

from mfawatch import __version__
from mfawatch.app import App, default_config_paths, resolve_config_path
from mfawatch.commands import COMMANDS, CommandSpec
from mfawatch.logs import setup_logging


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's commands by name: a registered command's module is imported on first lookup."""

    def __init__(self, specs: Mapping[str, CommandSpec]) -> None:
        self._specs = dict(specs)
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            self._loaded[name] = self._specs[name].load()
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._specs.pop(name, None)
        self._loaded.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._specs or name in self._loaded

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._specs, *self._loaded]))

    def __len__(self) -> int:
        return len(self._specs.keys() | self._loaded.keys())

    def peek(self, name: str) -> click.Command:
        """The command if it is loaded, else a stand-in with its registered help (no import)."""
        if name in self._loaded:
            return self._loaded[name]
        return self._specs[name].stand_in(name)


class LazyGroup(click.Group):
    """A click group over `LazyCommands` whose help lists the commands without importing them."""

    commands: LazyCommands

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        listing = {name: self.commands.peek(name) for name in self.list_commands(ctx)}
        # click's own formatting over the stand-ins, so the listing looks exactly as before.
        click.Group(commands=listing).format_commands(ctx, formatter)


@click.group(
    cls=LazyGroup,
    commands=LazyCommands(COMMANDS),
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--config",
    "config",
    metavar="PATH",
    help="Sources YAML [env MFAWATCH_CONFIG; default: config/sources.yaml, else sources.yaml in the user config directory].",
)
@click.option(
    "--db",
    "db",
    metavar="URL",
    help="Database URL or SQLite file path [env MFAWATCH_DB; default: a SQLite file in the user data directory].",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as plain text or JSON (one event per line).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
@click.version_option(__version__, prog_name="mfawatch")
@click.pass_context
def cli(
    ctx: click.Context, config: str | None, db: str | None, log_format: str, verbose: bool
) -> None:
    """Watch foreign-ministry news pages; keep every version of every release."""
    setup_logging(log_format, logging.DEBUG if verbose else logging.INFO)
    named = config or os.environ.get("MFAWATCH_CONFIG")
    app = App(
        resolve_config_path(config),
        db_option=db,
        log_format=log_format,
        config_searched=() if named else default_config_paths(),
    )
    ctx.obj = app
    ctx.call_on_close(app.close)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mfawatch")
