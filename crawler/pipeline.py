"""The crawl pipeline: the order of the steps, for one source at a time.

`crawl_source` opens a run, reads the source's listings (`crawler.listings`), fetching the articles
not yet known as soon as their listing page is read, while the later pages are read, then the known
ones whose revisit is due (`crawler.articles`), and closes the run with its counts. Sightings and
articles are stored through the crawl's one writer (`storage.writer`). Failures are collected per
source and never stop the others. The steps read and write `storage` themselves (the listing step
its sightings and ETags, the article step the versions); this module registers the sources, opens
and closes each run, and reads the first listing pages' ETags in one query.

Each run is bounded (`crawler.limits`): a deadline, a cap of items per listing page and of new
articles per run. What a run leaves undone is counted (`deferred`), the run ends `partial`, and
the next run picks the rest up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from sqlalchemy.exc import OperationalError

from crawler.articles import ArticleRunner, due_revisits
from crawler.config import Source
from crawler.context import CrawlContext, SourceResult
from crawler.errors import CrawlerError
from crawler.limits import RunBudget
from crawler.listings import ListingValidators, read_listings, save_listing_validators
from storage import http_validators, runs, sources
from storage.errors import DiskFull
from storage.writer import BatchWriter

log = logging.getLogger(__name__)


async def crawl_sources(
    ctx: CrawlContext, selected: Sequence[Source], *, recheck: bool = False
) -> list[SourceResult]:
    """Crawl several sources concurrently; one failing source never stops the others."""
    with ctx.db.session() as s:
        sources.sync_sources(
            s,
            [
                sources.SourceInfo(src.key, src.name, src.country, src.language, src.timezone)
                for src in selected
            ],
        )
    if ctx.writer is None:
        async with BatchWriter(ctx.db) as writer:
            return await crawl_sources(replace(ctx, writer=writer), selected, recheck=recheck)
    tasks = [asyncio.create_task(crawl_source(ctx, src, recheck=recheck)) for src in selected]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:  # e.g. DiskFull: the other sources cannot store anything either
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def crawl_source(ctx: CrawlContext, source: Source, *, recheck: bool = False) -> SourceResult:
    """One pass over a source: its listings, new articles, and due (or, with recheck, all) revisits."""
    if ctx.writer is None:
        async with BatchWriter(ctx.db) as writer:
            return await crawl_source(replace(ctx, writer=writer), source, recheck=recheck)
    result = SourceResult(source.key)
    started = ctx.clock()
    budget = RunBudget(
        source.limits.run_deadline,
        source.limits.max_new_per_run,
        source.limits.max_items_per_page,
    )
    with ctx.db.session() as s:
        # A run that did not end well (killed, cancelled, an article failed) may have left
        # releases behind pages whose first items are now known: walk every page this time.
        full_walk = runs.last_run_status(s, source.key) not in (None, "ok")
        # The first page of each listing is fetched on every poll: read their ETags in one query.
        first_pages = http_validators.get_many(s, [str(listing.url) for listing in source.listings])
        run_id = runs.start_run(s, source.key, started, ctx.node)
    listing_validators: list[ListingValidators] = []
    try:
        # Articles are fetched as soon as their listing page is read, while later pages are read.
        async with ArticleRunner(ctx, source, result, budget) as runner:
            listed = await read_listings(
                ctx,
                source,
                result,
                listing_validators,
                runner.put,
                budget,
                full_walk=full_walk,
                known=first_pages,
            )
            for job in due_revisits(ctx, source, recheck=recheck, exclude=listed):
                runner.put(job)
        if not result.errors and not result.partial:  # else a 304 could hide what is left
            save_listing_validators(ctx, listing_validators)
    except CrawlerError as exc:  # a failure of the source as a whole (e.g. every listing down)
        result.errors.append(str(exc))
    except asyncio.CancelledError:  # the daemon is stopping: close the run as such, then go
        # (unless the database is away: then the run stays open, and is closed as lost later)
        with contextlib.suppress(OperationalError), ctx.db.session() as s:
            runs.finish_run(
                s,
                run_id,
                finished_at=ctx.clock(),
                status="cancelled",
                counts=result.counts(),
                error="cancelled: the crawler was stopping",
            )
        raise
    except DiskFull:  # no source can store anything more: end the run and stop the crawl
        with contextlib.suppress(DiskFull):
            with ctx.db.session() as s:
                runs.finish_run(
                    s,
                    run_id,
                    finished_at=ctx.clock(),
                    status="failed",
                    counts=result.counts(),
                    error="the disk holding the database is full",
                )
        raise
    except OperationalError:  # the database went away: nothing more can be stored; say it above
        raise
    except Exception as exc:  # a bug must not take the other sources down; keep the traceback
        log.exception("unexpected error crawling %s", source.key)
        result.errors.append(f"internal error: {exc!r}")
    _report_bounds(source, result, budget)
    use = ctx.fetcher.take_browser_use(source.key)
    result.browser_pages, result.challenge_solves = use.pages, sum(use.solves.values())
    finished = ctx.clock()
    with ctx.db.session() as s:
        runs.finish_run(
            s,
            run_id,
            finished_at=finished,
            status=result.status,
            counts=result.counts(),
            error="; ".join(result.errors[:5]) or None,
        )
    log.info(
        "source %s done: %s",
        source.key,
        ", ".join(f"{k}={v}" for k, v in result.counts().items() if v),
        extra={"source": source.key, "status": result.status},
    )
    return result


def _report_bounds(source: Source, result: SourceResult, budget: RunBudget) -> None:
    """Say (once per run) that a run bound left work for the next run."""
    if not result.partial:
        return
    why = []
    if result.deadline_reached:
        why.append(f"its run deadline ({_span(source.limits.run_deadline)}) passed")
    if budget.new_taken >= budget.max_new and result.deferred:
        why.append(f"its cap of {budget.max_new} new articles per run was reached")
    if budget.over_page_cap:
        why.append(f"{budget.over_page_cap} listing item(s) were over the page cap")
    log.warning(
        "source %s: %s; what is left (%d article(s) counted) waits for the next run",
        source.key,
        " and ".join(why) or "a run bound was reached",
        result.deferred,
        extra={"source": source.key, "status": "partial"},
    )


def _span(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
