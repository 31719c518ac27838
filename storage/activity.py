"""A source's publication history as stored, and the `quiet` verdict of `storage.rhythm` on it.

Which time stands for an item (its place in the rhythm):
- its publication time, when the page gave one to the minute and it is not later than when the
  crawler first saw the item (a feed's `pubDate`, a page's time);
- else the time the crawler first saw it (`first_seen_at`: within one poll of its publication),
  when its publication date (if any) is that local day or the day before;
- else nothing: a date-only item first seen days after its date was found late (a listing's
  backlog, or the catch-up after an outage), and its hour is unknown. It still counts as a new
  item for the silence, just not for the hours of the rhythm.
The source's first crawl (items first seen within `BACKFILL` of its first item) stores the
backlog of its listings: those items are never part of the rhythm, and the history starts then.
The silence is measured from the last item first seen, whatever its date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.rhythm import WEEKS, Verdict, judge
from storage.schema import ArticleRow

BACKFILL = timedelta(hours=1)  # items first seen this soon after the first one are the backlog
_LATE = timedelta(days=1)  # a date-only item seen more than a day after its date was found late
_WINDOW = (WEEKS + 1) * timedelta(days=7)  # read back this far from the last new item
MAX_ROWS = 20_000  # at most this many of a source's newest articles are read (300 a day)


@dataclass(frozen=True, slots=True)
class History:
    """A source's publication history: item times, first and last sighting (None: no item)."""

    items: tuple[datetime, ...]
    observed_since: datetime | None
    last_new: datetime | None


def publication_history(session: Session, source: str, zone: tzinfo) -> History:
    """The item times of `source`'s last `WEEKS` weeks before its last new item.

    Reads the oldest article and then the newest ones, newest first, until they are older than
    the rhythm's window: its cost follows the window, not the years of history (two queries on
    the `source` index; ids follow first sightings, as a source's crawls are written in turn).
    """
    first = session.execute(
        sa.select(ArticleRow.first_seen_at)
        .where(ArticleRow.source == source)
        .order_by(ArticleRow.id)
        .limit(1)
    ).scalar()
    if first is None:
        return History((), None, None)
    newest = session.execute(
        sa.select(
            ArticleRow.first_seen_at,
            ArticleRow.published_at,
            ArticleRow.published_date,
            ArticleRow.date_precision,
        )
        .where(ArticleRow.source == source)
        .order_by(ArticleRow.id.desc())
        .limit(MAX_ROWS)
        .execution_options(yield_per=256)
    )
    backlog_until = first + BACKFILL
    items = []
    last: datetime | None = None
    try:
        for seen, published_at, published_date, precision in newest:
            if last is None:
                last = seen
            elif seen < last - _WINDOW:
                break
            last = max(last, seen)
            if seen < backlog_until:
                continue
            if precision == "minute" and published_at is not None and published_at <= seen:
                items.append(published_at)
            elif published_date is None or published_date >= (seen - _LATE).astimezone(zone).date():
                items.append(seen)
    finally:
        newest.close()
    return History(tuple(items), first, last)


def quiet_verdict(session: Session, source: str, zone: tzinfo, now: datetime) -> Verdict:
    """Whether `source` is quiet at `now`: `storage.rhythm.judge` over its stored history."""
    history = publication_history(session, source, zone)
    if history.last_new is None or history.observed_since is None:
        return Verdict(False, False, "not judged: no item stored yet")
    return judge(
        history.items,
        observed_since=history.observed_since,
        last_new=history.last_new,
        now=now,
        zone=zone,
    )
