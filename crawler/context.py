"""What one crawl of a source works with and reports: the crawl context, the result, the article job.

`CrawlContext` is built once by the application (`mfawatch.bootstrap`) and shared by every
source crawled; `SourceResult` counts what one crawl of one source did, and the helpers here
update it the same way for the listing and the article steps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from crawler.config import Source
from crawler.errors import MfawatchError, SelectorMatchedNothing, SoftErrorPage
from crawler.fetch import Fetcher, Validators
from crawler.model import ListingItem
from crawler.workers.pool import ParsePool
from storage.engine import Database
from storage.versions.outcomes import Outcome, OutcomeKind
from storage.writer import BatchWriter

log = logging.getLogger(__name__)

MISSING_STATUSES = frozenset({404, 410})
ARTICLE_WORKERS = 16
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
    returned: int = 0  # back to an earlier version's content (no new version)
    moved: int = 0  # new URLs found to be known articles moved (one history, no new item)
    restored: int = 0
    rechecked: int = 0
    offsite: int = 0  # listed links to hosts outside `article_hosts`: skipped
    bad_links: int = 0  # listed links no client can fetch (`http://h:99999/`): skipped
    deferred: int = 0  # articles (new or due) left for the next run by a run bound
    browser_pages: int = 0  # pages loaded in the headless browser (`fetch: browser`)
    challenge_solves: int = 0  # JavaScript challenges the browser solved (`fetch: challenge`)
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
        return {
            k: getattr(self, k)
            for k in (*keys, "restored", "returned", "moved", "rechecked", "deferred")
        } | {
            "offsite": self.offsite,
            "bad_links": self.bad_links,
            "browser_pages": self.browser_pages,
            "challenge_solves": self.challenge_solves,
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
    node: str | None = None  # the cluster node crawling (stored with each run)


@dataclass(frozen=True)
class ArticleJob:
    """One article to fetch: new from a listing, or a known one due for its revisit."""

    url: str  # the URL to fetch (as found on the listing, or as stored)
    key: str  # the article's identity: its canonical URL (as stored, for a revisit)
    item: ListingItem | None  # a revisit: the stored listing facts (`revisit.listing_item`)
    known: bool
    anchor: datetime | None = None  # revisit plan anchor of a known article
    validators: Validators | None = None  # for a conditional GET of a known article
    raw_sha256: str | None = None  # the bytes behind its current version (live articles only)


def tick(ctx: CrawlContext, what: str, n: int = 1) -> None:
    """Report progress (`listing`, `article`) to the context's hook, if any."""
    if ctx.progress is not None:
        ctx.progress(what, n)


def record_failure(result: SourceResult, exc: MfawatchError, *, what: str) -> None:
    """Record a listing's or an article's failure in `result` (blocked, broken), and log it."""
    if isinstance(exc, SoftErrorPage) and exc.blocked or getattr(exc, "kind", "") == "blocked":
        result.blocked = True
    if isinstance(exc, SelectorMatchedNothing):
        result.broken = True
    message = f"{what} {exc}"  # the error's own text starts with the URL
    result.errors.append(message)
    log.warning("%s", message, extra={"url": getattr(exc, "url", None)})


def feed_only(source: Source) -> bool:
    """A feed source without `article:` selectors: the feed item's content is the article."""
    return source.type == "feed" and source.article is None


def count(result: SourceResult, outcome: Outcome) -> None:
    """Count a stored outcome (`new`, `changed`, ...; and a move) in `result`."""
    result.moved += outcome.moved
    kind = outcome.kind
    if kind == OutcomeKind.NEW:
        result.new += 1
    elif kind == OutcomeKind.CHANGED:
        result.changed += 1
    elif kind == OutcomeKind.REVERTED:
        result.returned += 1
    elif kind == OutcomeKind.UNCHANGED:
        result.unchanged += 1
    elif kind in (OutcomeKind.MISSING, OutcomeKind.STILL_MISSING):
        result.missing += 1
    elif kind == OutcomeKind.REMOVED:
        result.removed += 1
    elif kind == OutcomeKind.RESTORED:
        result.restored += 1
