"""The `mfawatch` command line (click): global options, error mapping, and the command registry.

Exit codes: 0 when everything worked, 1 when some source or item failed (each failure named),
2 for bad usage or an invalid configuration. Library errors become messages only here.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from crawler.errors import ConfigError, MfawatchError
from mfawatch import __version__
from mfawatch.app import App, resolve_config_path
from mfawatch.logs import setup_logging
from storage.errors import StorageError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def handle_errors(func: F) -> F:
    """Turn mfawatch errors into a clear message and the documented exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"mfawatch: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        except KeyError as exc:  # an unknown source key or article id
            click.echo(f"mfawatch: {exc.args[0] if exc.args else exc}", err=True)
            sys.exit(EXIT_USAGE)
        except (MfawatchError, StorageError) as exc:
            click.echo(f"mfawatch: {exc}", err=True)
            sys.exit(EXIT_FAILED)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config",
    metavar="PATH",
    help="Sources YAML [env MFAWATCH_CONFIG; default config/sources.yaml].",
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
    app = App(resolve_config_path(config), db_option=db, log_format=log_format)
    ctx.obj = app
    ctx.call_on_close(app.close)


def _register() -> None:
    from mfawatch.commands import COMMANDS

    for command in COMMANDS:
        cli.add_command(command)


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mfawatch")
