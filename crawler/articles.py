"""The article step: fetching, parsing and storing each article job, and missing articles.

`ArticleRunner` runs the jobs handed over by the listing step (and the revisits due, from
`due_revisits`) as they come, a few at once. A job is fetched undecoded, recognized as unchanged
by a 304 or by the very bytes of its current version, refetched when it came back cut
(`crawler.incomplete`), parsed (in a parse worker when there is a pool), and stored through the
crawl's one writer: new articles in bulk with their batch, known ones compared version by
version. A 404/410, a redirect to the front page or a soft error page marks a known article
missing (re-checked sooner, so a deletion is confirmed or refuted in a day).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from crawler.config import Source
from crawler.context import (
    MISSING_STATUSES,
    ArticleJob,
    CrawlContext,
    SourceResult,
    count,
    feed_only,
    record_failure,
    tick,
)
from crawler.errors import FetchError, ParseError, SoftErrorPage
from crawler.fetch import Validators
from crawler.incomplete import RETRIES as INCOMPLETE_RETRIES
from crawler.incomplete import has_end, is_cut
from crawler.limits import DeadlineReached, RunBudget, warn_capped
from crawler.model import ListingItem, Page
from crawler.parse.charset import with_text
from crawler.revisit import listing_item, next_check_at
from crawler.workers.prepare import Prepared, prepare_article
from storage import blobs, http_validators, queries, versions
from storage.model import ArticleStatus
from storage.versions.changes import Refetch, record_refetches
from storage.versions.new_articles import FirstFetch, record_new
from storage.versions.outcomes import OutcomeKind
from storage.versions.unchanged import Unchanged, record_unchanged
from storage.writer import BatchWriter

log = logging.getLogger(__name__)

MISSING_RECHECK = timedelta(hours=8)


def due_revisits(
    ctx: CrawlContext, source: Source, *, recheck: bool, exclude: set[str]
) -> list[ArticleJob]:
    if feed_only(source):
        return []
    now = ctx.clock()
    with ctx.db.session(readonly=True) as s:
        due = queries.due_for_revisit(
            s, now=now + timedelta(days=36500) if recheck else now, sources=[source.key], limit=None
        )
        due = [d for d in due if d.url not in exclude]
        known = http_validators.get_many(s, [d.url for d in due])
        raw_hashes = queries.current_raw_hashes(
            s, [d.id for d in due if d.status == ArticleStatus.LIVE]
        )
    return [
        ArticleJob(
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


class ArticleRunner:
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
        self._queue: asyncio.Queue[ArticleJob | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> ArticleRunner:
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

    def put(self, job: ArticleJob) -> None:
        """Queue a job; it starts as soon as a worker is free."""
        if self.ctx.parse_pool is not None:
            self.ctx.parse_pool.warm()  # its workers start while the article is fetched
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
                record_failure(self.result, exc, what="article")
            tick(self.ctx, "article")


def _is_redirect_home(page: Page) -> bool:
    """A redirect that lands on the site's front page or its error page is a deletion signal."""
    if not page.raw.redirects:
        return False
    final = urlsplit(page.raw.final_url)
    path = final.path.rstrip("/").lower()
    return path in ("", "/index.html", "/index.shtml", "/index.htm") or path.endswith("/error.htm")


def _missing_reason(job: ArticleJob, page: Page) -> str | None:
    """Why a fetched page means the article is gone (404/410, redirect home), if its status says so.

    Soft error pages (HTTP 200) are recognized by the parse step, which raises `SoftErrorPage`.
    """
    if page.status in MISSING_STATUSES:
        return f"HTTP {page.status}"
    if page.status >= 400:
        raise FetchError(job.url, f"HTTP {page.status}")
    if _is_redirect_home(page):
        return f"redirected to {page.raw.final_url}"
    return None


async def _prepare(
    ctx: CrawlContext, page: Page, source: Source, item: ListingItem | None, key: str
) -> Prepared:
    if ctx.parse_pool is not None:
        # A worker makes the SQLite search index input too (PostgreSQL's differs: storage's).
        fts = ctx.db.dialect == "sqlite"
        return await ctx.parse_pool.prepare(page, source, item, key, fts=fts)
    return prepare_article(with_text(page), source, item, key, pack_body=False)  # storage packs


async def _process(
    ctx: CrawlContext,
    source: Source,
    job: ArticleJob,
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
    # (A page rendered by a browser may change with the same document bytes: always parsed.)
    if page.not_modified or (
        job.raw_sha256 is not None
        and page.raw.rendered is None
        and page.status == 200
        and hashlib.sha256(page.raw.body).hexdigest() == job.raw_sha256
    ):
        outcome = await writer.submit_grouped(record_unchanged, Unchanged(key, now, next_check))
        count(result, outcome)
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
    warn_capped(key, prepared.capped)

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
                prepared.fts,
                prepared.version_body,
            ),
            (etag, modified) if etag or modified else None,
        )
        count(result, await writer.submit_grouped(_store_first_fetches, first))
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
            prepared.fts,
            prepared.version_body,
        ),
        # Revisits fetch the canonical URL: its validators are kept when they changed.
        (key, etag, modified) if (etag or modified) and (etag, modified) != sent else None,
    )
    count(result, await writer.submit_grouped(_store_refetches, refetch))


async def _whole_page(
    ctx: CrawlContext, source: Source, job: ArticleJob, page: Page, budget: RunBudget
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
    job: ArticleJob,
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
    count(result, outcome)
    if outcome.kind in (OutcomeKind.MISSING, OutcomeKind.REMOVED):
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
                version_body=e.version_body,
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


def _plan(source: Source, anchor: datetime, now: datetime, key: str) -> datetime:
    return next_check_at(source.revisit, anchor=anchor, now=now, key=key)
