"""`mfawatch export`: stored articles (or every version) as JSON lines, or the raw evidence as WARC."""

from __future__ import annotations

import sys

import click

from digest.export import export_jsonl, export_warc
from digest.window import SinceError, parse_since
from mfawatch.app import App
from mfawatch.exits import handle_errors
from mfawatch.filters import check_source


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "warc"]),
    default="jsonl",
    show_default=True,
    help="jsonl: one article per line (UTF-8); warc: raw responses (article, listing and feed "
    "pages) as gzipped WARC records, one per fetch.",
)
@click.option("--source", "source_key", metavar="KEY", help="Only this source.")
@click.option(
    "--since",
    metavar="24h|2d|ISO",
    help="Only what was recorded since then: articles whose content or status changed (jsonl), "
    "versions seen (--all-versions), responses fetched (warc). Same syntax as digest --since.",
)
@click.option(
    "--all-versions",
    is_flag=True,
    help="jsonl: one line per version (number, kind, content and raw hashes, fields) instead of "
    "one per article; warc always holds every stored fetch.",
)
@click.pass_obj
@handle_errors
def export(
    app: App, fmt: str, source_key: str | None, since: str | None, all_versions: bool
) -> None:
    """Write stored articles or versions (jsonl) or raw responses (warc) to standard output."""
    try:
        start = parse_since(since) if since is not None else None
    except SinceError as exc:
        raise click.UsageError(str(exc)) from None
    out = sys.stdout.buffer
    with app.db.session(readonly=True) as session:
        check_source(app, session, source_key)
        if fmt == "jsonl":
            export_jsonl(session, out, source=source_key, since=start, all_versions=all_versions)
        else:
            export_warc(session, out, source=source_key, since=start)
    out.flush()
