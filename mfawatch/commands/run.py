"""`mfawatch run`: the daemon, until SIGTERM/SIGINT; SIGHUP (or `--watch-config`) reloads the YAML."""

from __future__ import annotations

import logging
import sys

import click

from mfawatch.app import App
from mfawatch.daemon import DaemonOptions, run_daemon
from mfawatch.exits import EXIT_OK, EXIT_USAGE, handle_errors
from mfawatch.lock import AlreadyRunning, DaemonLock, sqlite_file
from mfawatch.terminal import echo


@click.command()
@click.option(
    "--watch-config",
    is_flag=True,
    help="Also reload the config when its file changes (checked every few seconds).",
)
@click.option(
    "--config-poll",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="How often --watch-config looks at the file.",
)
@click.pass_obj
@handle_errors
def run(app: App, watch_config: bool, config_poll: float) -> None:
    """Poll every enabled source on its schedule until SIGTERM/SIGINT; SIGHUP reloads the config."""
    db_file = sqlite_file(app.db_url)
    lock = DaemonLock(db_file) if db_file is not None else None
    if lock is None:
        # Leases in the database (see mfawatch.lock.SourceClaim) are what several daemons need.
        logging.getLogger("mfawatch.daemon").warning(
            "the database is not a SQLite file, so nothing stops a second daemon on it:"
            " run only one `mfawatch run` per database"
        )
    try:
        if lock is not None:
            lock.acquire()
    except AlreadyRunning as exc:
        echo(f"mfawatch: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    try:
        settings = app.settings
        options = DaemonOptions(watch_config=watch_config, config_poll=config_poll)
        run_daemon(app.config_path, settings, app.db, options)
    finally:
        if lock is not None:
            lock.release()
    sys.exit(EXIT_OK)
