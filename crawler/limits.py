"""Bounds on one run of one source: a deadline, caps on listing items and new articles, and
caps on the length of stored text fields.

A run that reaches a bound stops taking work and leaves the rest for the next run: the articles
it did not fetch are not stored, so the next run's listings still show them as new; the run ends
`partial`, which makes the next run walk every listing page (catch-up pagination does not stop at
the first known item then) and keeps the listings' ETags unsaved (no 304 hides them).

    run_deadline          per source per run (default 10m): after it no listing page or article
                          fetch starts, and a fetch in flight is abandoned
    max_items_per_page    listing items taken from one page (default 1000); the unknown items are
                          taken first, so the rest of a huge page is reached on later runs
    max_new_per_run       new articles fetched per source per run (default 1000)

Field caps (not configurable): a title over `MAX_TITLE_CHARS`, a section over `MAX_SECTION_CHARS`
is cut and ends with `TRUNCATED_MARK`; `warn_capped` logs a warning naming the URL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TypeVar

from storage.model import Article

T = TypeVar("T")
log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 1000
MAX_SECTION_CHARS = 200
TRUNCATED_MARK = " […]"


class DeadlineReached(Exception):
    """The run's deadline passed before (or while) this piece of work ran."""


def cap_text(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending with `TRUNCATED_MARK` when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATED_MARK)].rstrip() + TRUNCATED_MARK


def cap_fields(article: Article) -> tuple[Article, tuple[str, ...]]:
    """The article with title and section cut to their caps, and the names of the fields cut."""
    cut: list[str] = []
    title, section = article.title, article.section
    if len(title) > MAX_TITLE_CHARS:
        title = cap_text(title, MAX_TITLE_CHARS)
        cut.append("title")
    if section is not None and len(section) > MAX_SECTION_CHARS:
        section = cap_text(section, MAX_SECTION_CHARS)
        cut.append("section")
    if not cut:
        return article, ()
    return replace(article, title=title, section=section), tuple(cut)


@dataclass
class RunBudget:
    """The deadline and the new-article allowance of one source's run.

    `clock` is monotonic seconds (injectable for tests); `deadline` is seconds from the start.
    """

    deadline: timedelta
    max_new: int
    max_items_per_page: int
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    new_taken: int = 0
    over_page_cap: int = 0  # listing items not taken because their page was over the cap

    def __post_init__(self) -> None:
        self.started = self.clock()

    @property
    def remaining(self) -> float:
        """Seconds left before the deadline (0 when it has passed)."""
        return max(0.0, self.started + self.deadline.total_seconds() - self.clock())

    @property
    def expired(self) -> bool:
        return self.remaining <= 0

    def take_new(self) -> bool:
        """Count one more new article for this run; False when the cap is reached."""
        if self.new_taken >= self.max_new:
            return False
        self.new_taken += 1
        return True

    async def within(self, work: Awaitable[T]) -> T:
        """Await `work`, abandoning it (DeadlineReached) when the deadline passes first."""
        if self.expired:
            if asyncio.iscoroutine(work):
                work.close()  # never started: no "was never awaited" warning
            raise DeadlineReached
        scope = asyncio.timeout(self.remaining)  # no extra task, unlike wait_for
        try:
            async with scope:
                return await work
        except TimeoutError:
            if scope.expired():  # our deadline, not a timeout of the work itself
                raise DeadlineReached from None
            raise


def warn_capped(url: str, capped: Sequence[str]) -> None:
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
