"""`mfawatch crawl --once`: one pass over listings and due revisits, then exit."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from crawler.config import Source
    from crawler.context import SourceResult

from mfawatch.app import App
from mfawatch.bootstrap import crawl_once
from mfawatch.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE, handle_errors
from mfawatch.gc_tuning import tune_for_crawling
from mfawatch.terminal import echo, one_line


def summary_line(results: Sequence[SourceResult]) -> str:
    """The one-line summary printed at the end of a crawl."""
    total = {k: sum(r.counts()[k] for r in results) for k in results[0].counts()} if results else {}
    failed = sum(1 for r in results if not r.ok)
    parts = [
        f"{len(results)} source(s)",
        f"{total.get('listings', 0)} listing page(s)",
        f"{total.get('new', 0)} new",
        f"{total.get('changed', 0)} changed",
        f"{total.get('returned', 0)} returned",
        f"{total.get('missing', 0)} missing",
        f"{total.get('removed', 0)} removed",
        f"{total.get('moved', 0)} moved",
        f"{total.get('rechecked', 0)} rechecked",
    ]
    skipped = total.get("offsite", 0) + total.get("bad_links", 0)
    if skipped:  # listed links that are not the sources' articles (fetch layer)
        parts.append(f"{skipped} link(s) skipped ({total.get('offsite', 0)} off-site)")
    partial = sum(1 for r in results if r.partial)
    if partial:  # a run bound (deadline, caps) left work: the next run does it
        parts.append(
            f"{partial} source(s) cut short by run bounds "
            f"({total.get('deferred', 0)} article(s) left for the next run)"
        )
    parts.append(
        f"{total.get('errors', 0)} error(s)" + (f" in {failed} source(s)" if failed else "")
    )
    return "crawl: " + ", ".join(parts)


async def run_crawl(
    app: App, selected: list[Source], *, recheck: bool, show_progress: bool
) -> list[SourceResult]:
    """Crawl once (`mfawatch.bootstrap.crawl_once`), with a progress display on a terminal."""
    if not show_progress:
        return await crawl_once(app, selected, recheck=recheck)
    from rich.console import Console  # only on a terminal
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        tasks = {
            "listing": progress.add_task("listing pages", total=None),
            "article": progress.add_task("articles", total=None),
        }
        return await crawl_once(
            app,
            selected,
            recheck=recheck,
            progress=lambda what, n: progress.advance(tasks[what], n),
        )


@click.command(options_metavar="--once [OPTIONS]")
@click.option(
    "--once",
    is_flag=True,
    help="Required: crawl once and exit (to poll on a schedule, use `mfawatch run`).",
)
@click.option(
    "--source", "source_keys", multiple=True, metavar="KEY", help="Only this source (repeatable)."
)
@click.option(
    "--recheck",
    is_flag=True,
    help="Refetch every known article now, regardless of the revisit plan.",
)
@click.pass_obj
@handle_errors
def crawl(app: App, once: bool, source_keys: tuple[str, ...], recheck: bool) -> None:
    """Crawl every enabled source once: listings (with pagination), new articles, due revisits."""
    if not once:
        raise click.UsageError("crawl needs --once (to poll on a schedule, use `mfawatch run`)")
    selected = app.select_sources(source_keys)
    if not selected:
        echo(f"mfawatch: no enabled sources in {app.config_path}", err=True)
        sys.exit(EXIT_USAGE)
    show_progress = sys.stderr.isatty()
    tune_for_crawling()
    results = asyncio.run(run_crawl(app, selected, recheck=recheck, show_progress=show_progress))
    for r in results:
        for error in r.errors:
            echo(f"error: {r.source}: {one_line(str(error))}", err=True)
    echo(summary_line(results))
    sys.exit(EXIT_OK if all(r.ok for r in results) else EXIT_FAILED)
