"""The registry of CLI commands: one module per command (or command group)."""

from __future__ import annotations

import click

from mfawatch.commands.crawl import crawl
from mfawatch.commands.digest import digest_command, serve
from mfawatch.commands.export import export
from mfawatch.commands.history import diff, history
from mfawatch.commands.run import run
from mfawatch.commands.sources import sources
from mfawatch.commands.status import status

COMMANDS: list[click.Command] = [
    crawl,
    export,
    sources,
    history,
    diff,
    run,
    status,
    digest_command,
    serve,
]
