"""The one place that builds what a crawl runs on: the shared fetcher, the parse workers, the
crawl context.

The daemon (`mfawatch run`), `crawl --once`, the web UI's "check now" and `sources check` /
`sources add` all get their `Fetcher` and `CrawlContext` here, from the file's `http:` and
`parse:` settings, so a setting means the same everywhere. Each builder is an async context
manager: leaving it closes the client and stops the workers. The crawler's modules are imported
when a builder runs, not when this module is imported, so a command that never crawls does not
pay for them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawler.config import HttpSettings, ParseSettings, Source
    from crawler.context import CrawlContext, ProgressHook, SourceResult
    from crawler.fetch import Fetcher, HostSlots
    from mfawatch.app import App
    from storage.engine import Database
    from storage.outage import Outage


def open_fetcher(http: HttpSettings, slots: HostSlots | None = None) -> Fetcher:
    """The shared HTTP client for `http:` settings (use it as `async with`); `slots` replaces
    its per-host politeness (cluster mode shares it between nodes: `mfawatch.host_pace`)."""
    from crawler.fetch import Fetcher

    return Fetcher(http, slots=slots)


@asynccontextmanager
async def crawl_context(
    db: Database,
    http: HttpSettings,
    parse: ParseSettings,
    *,
    clock: Callable[[], datetime] | None = None,
    progress: ProgressHook | None = None,
    shared_writer: bool = False,
    slots: HostSlots | None = None,
    outage: Outage | None = None,
) -> AsyncIterator[CrawlContext]:
    """A crawl context: one fetcher, the parse workers of `parse:`, and the database.

    With `shared_writer` every crawl made with the context writes through one writer kept open
    as long as the context (the daemon's case); without, each `crawl_sources` opens its own.
    With an `outage` the shared writer holds its writes while PostgreSQL is away (`storage.writer`).
    """
    from crawler.context import CrawlContext, utcnow
    from crawler.workers.pool import ParsePool

    async with open_fetcher(http, slots) as fetcher, ParsePool.from_settings(parse) as pool:
        ctx = CrawlContext(
            db=db, fetcher=fetcher, clock=clock or utcnow, progress=progress, parse_pool=pool
        )
        if not shared_writer:
            yield ctx
            return
        from storage.writer import BatchWriter

        async with BatchWriter(db, outage=outage) as writer:
            ctx.writer = writer
            yield ctx


async def crawl_once(
    app: App,
    selected: Sequence[Source],
    *,
    recheck: bool = False,
    progress: ProgressHook | None = None,
) -> list[SourceResult]:
    """Crawl `selected` once with a context of their own, record each source's health (as the
    daemon does after a poll), and close everything: `crawl --once` and "check now"."""
    from crawler.pipeline import crawl_sources
    from mfawatch.health import record_health
    from mfawatch.pairing import pair_stored, read_officials

    settings = app.settings
    async with crawl_context(app.db, settings.http, settings.parse, progress=progress) as ctx:
        results = await crawl_sources(ctx, selected, recheck=recheck)
    for source, result in zip(selected, results, strict=True):
        record_health(app.db, source, result, at=datetime.now(UTC))
    # What this crawl stored, and what earlier crawls left (at most PER_CRAWL articles).
    pair_stored(app.db, read_officials(app.config_path, settings), settings)
    return results
