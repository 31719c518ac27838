"""The registry of CLI commands: each command's name, the module that defines it, and its help.

A command's module (and the packages it needs: the digest, the daemon, APScheduler, the web UI)
is imported only when that command runs or shows its own help; `mfawatch --help` lists the
commands from the one-line help kept here, which must equal the first paragraph of the command's
docstring (a test compares them). To add a command, write its module and add one entry.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import click


@dataclass(frozen=True)
class CommandSpec:
    """Where a command lives (`package.module:attribute`) and the first paragraph of its help."""

    target: str
    help: str

    def load(self) -> click.Command:
        """Import the command's module and return the command."""
        module_name, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command

    def stand_in(self, name: str) -> click.Command:
        """A command that only carries the registered help, for listing without importing."""
        return click.Command(name, help=self.help)


COMMANDS: dict[str, CommandSpec] = {
    "crawl": CommandSpec(
        "mfawatch.commands.crawl:crawl",
        "Crawl every enabled source once: listings (with pagination), new articles, due revisits.",
    ),
    "export": CommandSpec(
        "mfawatch.commands.export:export",
        "Write stored articles or versions (jsonl) or raw responses (warc) to standard output.",
    ),
    "sources": CommandSpec("mfawatch.commands.sources:sources", "Inspect the configured sources."),
    "history": CommandSpec(
        "mfawatch.commands.history:history",
        "Every version of ARTICLE (a URL, alias or id): time seen, kind, hashes, what changed.",
    ),
    "diff": CommandSpec(
        "mfawatch.commands.history:diff",
        "A word-level diff between two versions of ARTICLE, coloured on a terminal.",
    ),
    "search": CommandSpec(
        "mfawatch.commands.search:search_command",
        'Search every version of every article: words, "phrases", OR, NOT/-, prefix*.',
    ),
    "run": CommandSpec(
        "mfawatch.commands.run:run",
        "Poll every enabled source on its schedule until SIGTERM/SIGINT; SIGHUP reloads the config.",
    ),
    "status": CommandSpec(
        "mfawatch.commands.status:status",
        "Per source: health, last run and result, counts, last error, next run.",
    ),
    "digest": CommandSpec(
        "mfawatch.commands.digest:digest_command",
        "New, changed, removed and restored releases since my last review, by country and source.",
    ),
    "notify": CommandSpec(
        "mfawatch.commands.notify:notify",
        "Send a test message through each configured channel (or CHANNEL) and say which worked.",
    ),
    "pairs": CommandSpec(
        "mfawatch.commands.pairs:pairs",
        "Both sides of one event: readout pairs across ministries and language twins; review them.",
    ),
    "serve": CommandSpec(
        "mfawatch.commands.serve:serve",
        "The review web UI. Any --host other than loopback requires MFAWATCH_TOKEN.",
    ),
}
