"""The crawl pipeline: fetch -> parse -> dedupe -> store, for one source at a time.

`crawl_source` reads a source's listings (following pagination while every item on a page is new,
so a burst of releases between two polls is never missed), fetches the articles not yet known (each
as soon as its listing page is read, while the later pages are read) plus the known ones whose
revisit is due, and records each result through the crawl's one writer. It is the only
crawler module that imports `storage`. Failures are collected per source and never stop the others.

Each run is bounded (`crawler.limits`): a deadline, a cap of items per listing page and of new
articles per run. What a run leaves undone is counted (`deferred`), the run ends `partial`, and
the next run picks the rest up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from crawler.config import Listing, Source, host_matches
from crawler.dedupe.urls import canonical_url
from crawler.errors import (
    CrawlerError,
    FetchError,
    MfawatchError,
    ParseError,
    SelectorMatchedNothing,
    SoftErrorPage,
)
from crawler.fetch import Fetcher, Validators, with_text
from crawler.incomplete import RETRIES as INCOMPLETE_RETRIES
from crawler.incomplete import has_end, is_cut
from crawler.limits import (
    MAX_SECTION_CHARS,
    MAX_TITLE_CHARS,
    TRUNCATED_MARK,
    DeadlineReached,
    RunBudget,
    cap_fields,
    cap_text,
)
from crawler.model import ListingItem, Page
from crawler.parse import soft_errors
from crawler.parse.feed import article_from_feed_item, parse_feed
from crawler.parse.links import link_problem
from crawler.parse.listing import page_count, page_urls, parse_listing
from crawler.prepare import Prepared, prepare_article
from crawler.revisit import listing_item, next_check_at
from crawler.workers import ParsePool
from storage import articles, blobs, http_validators, listings, queries, runs, sources, versions
from storage.engine import Database
from storage.errors import DiskFull
from storage.model import RawResponse
from storage.versions.changes import Refetch, record_refetches
from storage.versions.new_articles import FirstFetch, record_new
from storage.versions.unchanged import Unchanged, record_unchanged
from storage.writer import BatchWriter

log = logging.getLogger(__name__)

MISSING_STATUSES = frozenset({404, 410})
MISSING_RECHECK = timedelta(hours=8)
ARTICLE_WORKERS = 16
MAX_SIGHTING_TITLE = 1000  # characters of a listing item's title kept with its sighting
ProgressHook = Callable[[str, int], None]


def utcnow() -> datetime:
    """The current time, tz-aware in UTC."""
    return datetime.now(UTC)


@dataclass
class SourceResult:
    """What one crawl of one source did."""

    source: str
    listings: int = 0
    items: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    missing: int = 0
    removed: int = 0
    restored: int = 0
    rechecked: int = 0
    offsite: int = 0  # listed links to hosts outside `article_hosts`: skipped
    bad_links: int = 0  # listed links no client can fetch (`http://h:99999/`): skipped
    deferred: int = 0  # articles (new or due) left for the next run by a run bound
    errors: list[str] = field(default_factory=list)
    blocked: bool = False
    broken: bool = False
    deadline_reached: bool = False  # the run's deadline passed before its work was done

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def partial(self) -> bool:
        """True when a run bound left work for the next run."""
        return self.deadline_reached or self.deferred > 0

    @property
    def status(self) -> str:
        if self.blocked:
            return "blocked"
        if self.broken:
            return "broken"
        if not self.ok:
            return "failed"
        return "partial" if self.partial else "ok"

    def counts(self) -> dict[str, int]:
        """The numeric counters, for the runs table and the summary line."""
        keys = ("listings", "items", "new", "changed", "unchanged", "missing", "removed")
        return {k: getattr(self, k) for k in (*keys, "restored", "rechecked", "deferred")} | {
            "offsite": self.offsite,
            "bad_links": self.bad_links,
            "errors": len(self.errors),
        }


@dataclass
class CrawlContext:
    """What a crawl needs: the database, the shared fetcher, a clock and an optional progress hook.

    With a `parse_pool`, article pages are parsed in its worker processes; without, in this one.
    With a `writer`, every source crawled with this context writes through it (one writer per
    database keeps SQLite's single write lock in one thread and makes bigger batches); without,
    `crawl_sources` opens one for its sources and `crawl_source` one for its source.
    """

    db: Database
    fetcher: Fetcher
    clock: Callable[[], datetime] = utcnow
    progress: ProgressHook | None = None
    article_workers: int = ARTICLE_WORKERS
    parse_pool: ParsePool | None = None
    writer: BatchWriter | None = None


@dataclass(frozen=True)
class _Job:
    url: str  # the URL to fetch (as found on the listing, or as stored)
    key: str  # the article's identity: its canonical URL (as stored, for a revisit)
    item: ListingItem | None  # a revisit: the stored listing facts (`revisit.listing_item`)
    known: bool
    anchor: datetime | None = None  # revisit plan anchor of a known article
    validators: Validators | None = None  # for a conditional GET of a known article
    raw_sha256: str | None = None  # the bytes behind its current version (live articles only)


def _tick(ctx: CrawlContext, what: str, n: int = 1) -> None:
    if ctx.progress is not None:
        ctx.progress(what, n)


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
        run_id = runs.start_run(s, source.key, started)
    listing_validators: list[_ListingValidators] = []
    try:
        # Articles are fetched as soon as their listing page is read, while later pages are read.
        async with _ArticleRunner(ctx, source, result, budget) as runner:
            listed = await _read_listings(
                ctx,
                source,
                result,
                listing_validators,
                runner.put,
                budget,
                full_walk=full_walk,
                known=first_pages,
            )
            for job in _due_revisits(ctx, source, recheck=recheck, exclude=listed):
                runner.put(job)
        if not result.errors and not result.partial:  # else a 304 could hide what is left
            _save_listing_validators(ctx, listing_validators)
    except CrawlerError as exc:  # a failure of the source as a whole (e.g. every listing down)
        result.errors.append(str(exc))
    except asyncio.CancelledError:  # the daemon is stopping: close the run as such, then go
        with ctx.db.session() as s:
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
    except Exception as exc:  # a bug must not take the other sources down; keep the traceback
        log.exception("unexpected error crawling %s", source.key)
        result.errors.append(f"internal error: {exc!r}")
    _report_bounds(source, result, budget)
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


# -- listings -------------------------------------------------------------------------------------


# A listing's ETag/Last-Modified, kept only once every article it listed was stored: saved at
# fetch time, a crawl killed (or an article failing) half-way would leave the rest of the page
# behind a 304 on the next poll, and those releases would be missed.
_ListingValidators = tuple[str, str | None, str | None]


def _save_listing_validators(ctx: CrawlContext, pending: list[_ListingValidators]) -> None:
    if not pending:
        return
    with ctx.db.session() as s:
        for url, etag, modified in pending:
            http_validators.set_validators(s, url, etag, modified)


async def _read_listings(
    ctx: CrawlContext,
    source: Source,
    result: SourceResult,
    pending: list[_ListingValidators],
    found: Callable[[_Job], None],
    budget: RunBudget,
    *,
    full_walk: bool = False,
    known: Mapping[str, tuple[str | None, str | None]] | None = None,
) -> set[str]:
    """Read every listing of `source`, handing each unknown article to `found` as it is seen;
    returns the URLs of those articles, as listed and canonical (they may be stored by now)."""
    jobs: dict[str, _Job] = {}
    for listing in source.listings:
        try:
            await _read_listing(
                ctx,
                source,
                listing,
                jobs,
                found,
                result,
                pending,
                budget,
                full_walk=full_walk,
                known=known,
            )
        except (FetchError, ParseError) as exc:  # logged there; the other listings still run
            _record_failure(result, exc, what="listing")
        except DeadlineReached:  # the listings not read yet wait for the next run
            result.deadline_reached = True
            break
    return {job.url for job in jobs.values()} | jobs.keys()


def _record_failure(result: SourceResult, exc: MfawatchError, *, what: str) -> None:
    if isinstance(exc, SoftErrorPage) and exc.blocked or getattr(exc, "kind", "") == "blocked":
        result.blocked = True
    if isinstance(exc, SelectorMatchedNothing):
        result.broken = True
    message = f"{what} {exc}"  # the error's own text starts with the URL
    result.errors.append(message)
    log.warning("%s", message, extra={"url": getattr(exc, "url", None)})


async def _read_listing(
    ctx: CrawlContext,
    source: Source,
    listing: Listing,
    jobs: dict[str, _Job],
    found: Callable[[_Job], None],
    result: SourceResult,
    pending: list[_ListingValidators],
    budget: RunBudget,
    *,
    full_walk: bool = False,
    known: Mapping[str, tuple[str | None, str | None]] | None = None,
) -> None:
    """Read one listing, page after page while every item is new (bounded by max_pages).

    With `full_walk` every page is read (no conditional GET, no stop at known items).

    Template pagination stops at the page count a page announces (fmprc's `countPage`), and a
    404 on a later page is the end of the listing, not an error.
    """
    templated = bool(listing.paginate and listing.paginate.template)
    max_pages = listing.paginate.max_pages if listing.paginate else 1
    template_urls: list[str] = []
    url: str | None = str(listing.url)
    pages_read = 0
    while url is not None and pages_read < max_pages:
        page = await budget.within(
            _fetch_listing_page(
                ctx,
                source,
                url,
                pending,
                first=pages_read == 0,
                conditional=not full_walk,
                known=known,
            )
        )
        pages_read += 1
        result.listings += 1
        _tick(ctx, "listing")
        if page is None:  # 304 (nothing new here, so nothing new behind it) or past the end
            return
        parsed = (
            parse_feed(page, source, listing)
            if source.type == "feed"
            else parse_listing(page, source, listing)
        )
        parsed = replace(parsed, items=_admissible(source, url, parsed.items, result))
        result.items += len(parsed.items)
        all_new, taken = await _note_items(
            ctx, source, listing, parsed.items, jobs, found, result, budget, page.raw
        )
        if _feed_only(source):
            _record_feed_items(ctx, source, page, taken, result)
        if not parsed.items or not (all_new or full_walk):
            return
        if templated:
            if pages_read == 1:
                template_urls = page_urls(listing, page_count(page))
            url = template_urls.pop(0) if template_urls else None
        else:
            url = parsed.next_url
            refusal = None if url is None else _link_refusal(source.effective_article_hosts, url)
            if refusal is not None:
                log.warning(
                    "listing %s: next page %s not followed: %s",
                    page.url,
                    url,
                    refusal[1],
                    extra={"url": url, "source": source.key},
                )
                url = None


def _link_refusal(hosts: tuple[str, ...], url: str) -> tuple[str, str] | None:
    """Why a listed link is not one of the source's articles, as (count, reason); None if it is.

    `bad_links`: no client can fetch it (`http://h:99999/`, `http://[::1/`); `offsite`: its host
    is not one of `hosts`, the source's `article_hosts`.
    """
    problem = link_problem(url)
    if problem is not None:
        return "bad_links", problem
    host = urlsplit(url).hostname or ""
    if not host_matches(host, hosts):
        return "offsite", f"off-site host {host} (not in article_hosts)"
    return None


def _admissible(
    source: Source, page_url: str, items: Sequence[ListingItem], result: SourceResult
) -> tuple[ListingItem, ...]:
    """The items whose link is one of the source's articles; the others are skipped (neither
    fetched nor stored) and counted in `result`."""
    keep: list[ListingItem] = []
    hosts = source.effective_article_hosts
    for item in items:
        refusal = _link_refusal(hosts, item.url)
        if refusal is None:
            keep.append(item)
            continue
        count, reason = refusal
        setattr(result, count, getattr(result, count) + 1)
        log.log(
            logging.DEBUG if count == "offsite" else logging.WARNING,
            "listing %s: link %s skipped: %s",
            page_url,
            item.url,
            reason,
            extra={"url": item.url, "source": source.key},
        )
    return tuple(keep)


async def _fetch_listing_page(
    ctx: CrawlContext,
    source: Source,
    url: str,
    pending: list[_ListingValidators],
    *,
    first: bool,
    conditional: bool = True,
    known: Mapping[str, tuple[str | None, str | None]] | None = None,
) -> Page | None:
    """A listing page, or None for a 304 or for a later page that does not exist (404/410)."""
    etag = modified = None
    if conditional and known is not None and (first or url in known):
        etag, modified = known.get(url, (None, None))  # prefetched with the source's first pages
    elif conditional:
        with ctx.db.session(readonly=True) as s:
            etag, modified = http_validators.get_validators(s, url)
    page = await ctx.fetcher.fetch(
        url, source, validators=Validators(etag, modified) if etag or modified else None
    )
    if page.not_modified or (not first and page.status in MISSING_STATUSES):
        return None
    if page.status >= 400:
        raise FetchError(url, f"HTTP {page.status} on a listing page")
    soft_errors.check(page)
    etag, modified = page.raw.header("etag"), page.raw.header("last-modified")
    if etag or modified:
        pending.append((url, etag, modified))
    return page


async def _note_items(
    ctx: CrawlContext,
    source: Source,
    listing: Listing,
    items: Iterable[ListingItem],
    jobs: dict[str, _Job],
    found: Callable[[_Job], None],
    result: SourceResult,
    budget: RunBudget,
    raw: RawResponse | None = None,
) -> tuple[bool, list[ListingItem]]:
    """Record sightings, hand unknown articles to `found`; returns whether every item on the page
    was new, and the items taken.

    The listing response `raw` is kept as evidence when its bytes changed, and the sightings
    point at the kept response that showed them (`storage.listings`), in the same transaction.

    An article first seen earlier in this crawl counts as new even when it is stored by now (its
    job may have run meanwhile): a listing that shifted between two of its pages must not end
    the pagination early.

    At most `budget.max_items_per_page` items of the page are taken, the unknown ones first (so
    a page of 100,000 links is worked through over several runs), and at most the run's new-article
    allowance becomes jobs; the unknown items left are counted as deferred, and the pagination
    stops (the run is partial, so the next one walks every page again).
    """
    now = ctx.clock()
    items = list(items)
    canon = {item.url: canonical_url(item.url) for item in items}
    cap = budget.max_items_per_page

    def note(s: Session) -> tuple[set[str], list[ListingItem]]:
        kept = listings.keep_listing_response(s, source.key, raw)[0] if raw else None
        known = articles.known_urls(s, set(canon.values()))
        taken = items
        if len(items) > cap:
            unknown = [i for i in items if canon[i.url] not in known or canon[i.url] in jobs]
            taken = unknown[:cap]
            taken += [i for i in items if canon[i.url] in known][: cap - len(taken)]
        by_listing: dict[str, list[tuple[str, str]]] = {}
        for item in taken:
            by_listing.setdefault(item.listing_url or str(listing.url), []).append(
                (canon[item.url], cap_text(item.title, MAX_SIGHTING_TITLE))
            )
        for listing_url, seen in by_listing.items():
            articles.record_sightings(
                s, source=source.key, listing_url=listing_url, items=seen, seen_at=now
            )
            if kept is not None:
                listings.link_sightings(
                    s,
                    listing_url=listing_url,
                    article_urls=[url for url, _ in seen],
                    response_id=kept,
                    seen_at=now,
                )
        return known, taken

    assert ctx.writer is not None
    known, taken = await ctx.writer.submit(note)
    all_new = len(taken) == len(items)
    if not all_new:
        left = {canon[i.url] for i in items if canon[i.url] not in known} - {
            canon[i.url] for i in taken
        }
        budget.over_page_cap += len(items) - len(taken)
        result.deferred += len(left - jobs.keys())
    for item in taken:
        key = canon[item.url]
        if key in jobs:
            continue
        if key in known:
            all_new = False
        elif not _feed_only(source):
            if not budget.take_new():  # the rest of the new articles wait for the next run
                result.deferred += 1
                all_new = False
                continue
            job = jobs[key] = _Job(url=item.url, key=key, item=item, known=False)
            found(job)
    return all_new, taken


def _feed_only(source: Source) -> bool:
    """A feed source without `article:` selectors: the feed item's content is the article."""
    return source.type == "feed" and source.article is None


def _record_feed_items(
    ctx: CrawlContext,
    source: Source,
    page: Page,
    items: Sequence[ListingItem],
    result: SourceResult,
) -> None:
    """Store each feed item as an article, with the feed response as its evidence.

    Every item in the window is compared on every poll, so an edit shows as a new version; an item
    leaving the window is not a deletion (feeds move on by themselves).
    """
    now = ctx.clock()
    for item in items:
        key = canonical_url(item.url)
        article, capped = cap_fields(replace(article_from_feed_item(item, source), url=key))
        _warn_capped(key, capped)
        with ctx.db.session() as s:
            outcome = versions.record_fetch(
                s,
                article,
                page.raw,
                now=now,
                next_check_at=now + timedelta(days=36500),  # never revisited on its own
                aliases=sorted({item.url} - {key}),
            )
        _count(result, outcome.kind)


# -- revisits -------------------------------------------------------------------------------------


def _due_revisits(
    ctx: CrawlContext, source: Source, *, recheck: bool, exclude: set[str]
) -> list[_Job]:
    if _feed_only(source):
        return []
    now = ctx.clock()
    with ctx.db.session(readonly=True) as s:
        due = queries.due_for_revisit(
            s, now=now + timedelta(days=36500) if recheck else now, sources=[source.key], limit=None
        )
        due = [d for d in due if d.url not in exclude]
        known = http_validators.get_many(s, [d.url for d in due])
        raw_hashes = queries.current_raw_hashes(s, [d.id for d in due if d.status == "live"])
    return [
        _Job(
            url=d.url,
            key=d.url,
            item=listing_item(source, d.url, d.section, d.date),  # what its listing said
            known=True,
            anchor=d.anchor,
            validators=Validators(*known[d.url]) if d.url in known else None,
            raw_sha256=raw_hashes.get(d.id),
        )
        for d in due
    ]


# -- articles -------------------------------------------------------------------------------------


class _ArticleRunner:
    """Runs a source's article jobs as they are handed over, `ctx.article_workers` at most at once.

    `async with` waits for every job put to finish, also when the block raised (the articles
    already found are still stored; the block's exception goes on afterwards). A job's fetch or
    parse failure is recorded in the result; anything else (a bug) is raised once every other job
    has finished. A cancellation cancels the jobs running and drops the others.
    """

    def __init__(
        self, ctx: CrawlContext, source: Source, result: SourceResult, budget: RunBudget
    ) -> None:
        assert ctx.writer is not None
        self.ctx, self.source, self.result, self.writer = ctx, source, result, ctx.writer
        self.budget = budget
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> _ArticleRunner:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is not None and not issubclass(exc_type, Exception):  # cancelled, exiting
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            return
        for _ in self._tasks:  # after every job: each worker stops at one of these
            self._queue.put_nowait(None)
        try:
            outcomes = await asyncio.gather(*self._tasks, return_exceptions=True)
        except asyncio.CancelledError:
            for task in self._tasks:
                task.cancel()
            raise
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and exc_type is None:
                raise outcome

    def put(self, job: _Job) -> None:
        """Queue a job; it starts as soon as a worker is free."""
        self._queue.put_nowait(job)
        if len(self._tasks) < self.ctx.article_workers:
            self._tasks.append(asyncio.create_task(self._work()))

    async def _work(self) -> None:
        while (job := await self._queue.get()) is not None:
            try:
                await _process(self.ctx, self.source, job, self.result, self.writer, self.budget)
            except DeadlineReached:  # not stored: a new one is listed again, a due one stays due
                self.result.deadline_reached = True
                self.result.deferred += 1
            except (FetchError, ParseError) as exc:
                _record_failure(self.result, exc, what="article")
            _tick(self.ctx, "article")


def _is_redirect_home(job_url: str, page: Page) -> bool:
    """A redirect that lands on the site's front page or its error page is a deletion signal."""
    if not page.raw.redirects:
        return False
    final = urlsplit(page.raw.final_url)
    path = final.path.rstrip("/").lower()
    return path in ("", "/index.html", "/index.shtml", "/index.htm") or path.endswith("/error.htm")


def _missing_reason(job: _Job, page: Page) -> str | None:
    """Why a fetched page means the article is gone (404/410, redirect home), if its status says so.

    Soft error pages (HTTP 200) are recognized by the parse step, which raises `SoftErrorPage`.
    """
    if page.status in MISSING_STATUSES:
        return f"HTTP {page.status}"
    if page.status >= 400:
        raise FetchError(job.url, f"HTTP {page.status}")
    if _is_redirect_home(job.url, page):
        return f"redirected to {page.raw.final_url}"
    return None


async def _prepare(
    ctx: CrawlContext, page: Page, source: Source, item: ListingItem | None, key: str
) -> Prepared:
    if ctx.parse_pool is not None:
        return await ctx.parse_pool.prepare(page, source, item, key)
    return prepare_article(with_text(page), source, item, key, pack_body=False)  # storage packs


async def _process(
    ctx: CrawlContext,
    source: Source,
    job: _Job,
    result: SourceResult,
    writer: BatchWriter,
    budget: RunBudget,
) -> None:
    key = job.key
    # Undecoded: a parse worker decodes the bytes itself (`_prepare` decodes them otherwise).
    page = await budget.within(
        ctx.fetcher.fetch(job.url, source, validators=job.validators, decode_text=False)
    )
    now = ctx.clock()
    if job.known:
        result.rechecked += 1
    next_check = _plan(source, job.anchor or now, now, key)

    # A 304, or the very bytes that produced the current version: unchanged, nothing to parse.
    if page.not_modified or (
        job.raw_sha256 is not None
        and page.status == 200
        and hashlib.sha256(page.raw.body).hexdigest() == job.raw_sha256
    ):
        outcome = await writer.submit_grouped(record_unchanged, Unchanged(key, now, next_check))
        _count(result, outcome.kind)
        return

    if page.status == 200:
        page = await _whole_page(ctx, source, job, page, budget)

    prepared: Prepared | None = None
    missing_reason = _missing_reason(job, page)
    if missing_reason is None:
        try:
            prepared = await _prepare(ctx, page, source, job.item, key)
        except SoftErrorPage as exc:
            if exc.blocked:
                raise
            missing_reason = f"soft error page: {exc.reason}"
    if prepared is None:
        assert missing_reason is not None
        await _record_missing(job, key, page, missing_reason, now, result, writer)
        return
    _warn_capped(key, prepared.capped)

    aliases = tuple(sorted({job.url, page.raw.final_url} - {key}))
    etag, modified = page.raw.header("etag"), page.raw.header("last-modified")
    if not job.known:  # the common case of a first crawl: written in bulk with its batch
        first = _FirstFetch(
            FirstFetch(
                prepared.article,
                page.raw,
                prepared.digest,
                prepared.packed,
                now,
                next_check,
                aliases,
            ),
            (etag, modified) if etag or modified else None,
        )
        _count(result, (await writer.submit_grouped(_store_first_fetches, first)).kind)
        return

    sent = (job.validators.etag, job.validators.last_modified) if job.validators else (None, None)
    refetch = _Refetch(
        Refetch(
            prepared.article,
            page.raw,
            prepared.digest,
            prepared.packed,
            now,
            next_check,
            _plan(source, now, now, key),  # a change restarts the plan
            aliases,
        ),
        # Revisits fetch the canonical URL: its validators are kept when they changed.
        (key, etag, modified) if (etag or modified) and (etag, modified) != sent else None,
    )
    _count(result, (await writer.submit_grouped(_store_refetches, refetch)).kind)


async def _whole_page(
    ctx: CrawlContext, source: Source, job: _Job, page: Page, budget: RunBudget
) -> Page:
    """`page`, or a refetch of it when it lost its end (`crawler.incomplete`); FetchError when
    every try came back cut, so that no version is made of a truncated page."""
    previous: bytes | None = None

    def cut(candidate: Page) -> bool:
        nonlocal previous
        body = candidate.raw.body
        if job.raw_sha256 is not None and previous is None and not has_end(body):
            with ctx.db.session(readonly=True) as s:
                previous = blobs.get_blob(s, job.raw_sha256)
        return is_cut(
            body, content_length=candidate.raw.header("content-length"), previous=previous
        )

    if not cut(page):
        return page
    for _ in range(INCOMPLETE_RETRIES):
        log.info(
            "article %s: the response ended before the end of the document; fetching it again",
            job.url,
            extra={"url": job.url},
        )
        again = await budget.within(
            ctx.fetcher.fetch(job.url, source, validators=None, decode_text=False)
        )
        if again.status != 200 or not cut(again):
            return again
        if previous is None and again.raw.body == page.raw.body:
            return again  # a first fetch, the same bytes twice: a page without end tags
        page = again
    raise FetchError(
        job.url,
        f"incomplete page: the response ended before the end of the document "
        f"({len(page.raw.body):,} bytes, no </body> or </html>) in {INCOMPLETE_RETRIES + 1} tries; "
        "nothing stored, the next run tries again",
    )


async def _record_missing(
    job: _Job,
    key: str,
    page: Page,
    reason: str,
    now: datetime,
    result: SourceResult,
    writer: BatchWriter,
) -> None:
    if not job.known:
        raise FetchError(job.url, f"listed but not available ({reason})")
    # Missing articles are re-checked sooner, so a deletion is confirmed (or refuted) in a day.
    retry_at = now + MISSING_RECHECK
    outcome = await writer.submit(
        lambda s: versions.record_missing(s, key, page.raw, reason, now=now, next_check_at=retry_at)
    )
    _count(result, outcome.kind)
    if outcome.kind in ("missing", "removed"):
        log.warning("article %s is %s: %s", key, outcome.kind, reason, extra={"url": key})


@dataclass(frozen=True, slots=True)
class _FirstFetch:
    entry: FirstFetch
    validators: tuple[str | None, str | None] | None  # (ETag, Last-Modified) it was sent with


def _store_first_fetches(s: Session, firsts: list[_FirstFetch]) -> list[versions.Outcome]:
    """Articles not stored when their listing was read: bulk-inserted, or compared if they are now."""
    outcomes = record_new(s, [f.entry for f in firsts])
    done: list[versions.Outcome] = []
    for first, outcome in zip(firsts, outcomes, strict=True):
        if outcome is None:  # stored meanwhile (an alias of another article, another daemon)
            e = first.entry
            outcome = versions.record_fetch(
                s,
                e.article,
                e.raw,
                now=e.now,
                next_check_at=e.next_check_at,
                aliases=e.aliases,
                digest=e.digest,
                packed=e.packed,
            )
        done.append(outcome)
    http_validators.set_many(
        s, [(f.entry.article.url, *f.validators) for f in firsts if f.validators]
    )
    return done


@dataclass(frozen=True, slots=True)
class _Refetch:
    entry: Refetch
    validators: tuple[str, str | None, str | None] | None  # (URL, ETag, Last-Modified) to keep


def _store_refetches(s: Session, refetches: list[_Refetch]) -> list[versions.Outcome]:
    """Known articles fetched again: changes stored in bulk, the rest compared one by one."""
    outcomes = record_refetches(s, [r.entry for r in refetches])
    http_validators.set_many(s, [r.validators for r in refetches if r.validators])
    return outcomes


def _warn_capped(url: str, capped: Sequence[str]) -> None:
    """Log that a field was cut to its length cap, naming the article."""
    if capped:
        caps = {"title": MAX_TITLE_CHARS, "section": MAX_SECTION_CHARS}
        cut = ", ".join(f"{name} to {caps.get(name, 0):,} characters" for name in capped)
        log.warning(
            "article %s: %s cut (stored ending in %r)",
            url,
            cut,
            TRUNCATED_MARK.strip(),
            extra={"url": url},
        )


def _count(result: SourceResult, kind: str) -> None:
    if kind == "new":
        result.new += 1
    elif kind in ("changed", "reverted"):
        result.changed += 1
    elif kind == "unchanged":
        result.unchanged += 1
    elif kind in ("missing", "still_missing"):
        result.missing += 1
    elif kind == "removed":
        result.removed += 1
    elif kind == "restored":
        result.restored += 1


def _plan(source: Source, anchor: datetime, now: datetime, key: str) -> datetime:
    return next_check_at(source.revisit, anchor=anchor, now=now, key=key)
