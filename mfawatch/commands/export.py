"""`mfawatch export`: every stored article as JSON lines, or the raw evidence as WARC."""

from __future__ import annotations

import sys

import click

from digest.export import export_jsonl, export_warc
from mfawatch.app import App
from mfawatch.cli import handle_errors
from mfawatch.filters import check_source


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "warc"]),
    default="jsonl",
    show_default=True,
    help="jsonl: one article per line (UTF-8); warc: raw responses as gzipped WARC records.",
)
@click.option("--source", "source_key", metavar="KEY", help="Only this source.")
@click.pass_obj
@handle_errors
def export(app: App, fmt: str, source_key: str | None) -> None:
    """Write stored articles (jsonl) or raw responses (warc) to standard output."""
    out = sys.stdout.buffer
    with app.db.session(readonly=True) as session:
        check_source(app, session, source_key)
        if fmt == "jsonl":
            export_jsonl(session, out, source=source_key)
        else:
            export_warc(session, out, source=source_key)
    out.flush()
