"""The revisit plan: when a known article is next re-fetched to catch edits and deletions.

A pure policy. Checks decay from the article's anchor (its first sighting, or its last change: a
changed article restarts the fast end of the plan): after 1 h, 6 h, 1 d, 3 d, 7 d, 30 d, then
every 30 d by default (`revisit:` per source). Each article gets a stable offset derived from its
URL, up to a tenth of the current gap, so thousands of articles first seen in one crawl are not
all due in the same minute.

A revisit fetches the article page alone, without its listing: `listing_item` hands the parser
what the listing said instead (the section a listing's config names, a date read on the listing
or in the feed), taken from the stored content, so a field the article page does not carry
neither vanishes from the next version nor makes an unchanged page look edited.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from crawler.config import RevisitPlan, Source
from crawler.model import ListingItem
from storage.model import ArticleDate, DateSource

SPREAD_FRACTION = 0.1
# Dates that came from the listing or the feed, not from the article page.
_LISTING_DATES = frozenset({DateSource.LISTING, DateSource.FEED})


def _spread(key: str, gap: timedelta) -> timedelta:
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=4).digest()
    fraction = int.from_bytes(digest, "big") / 2**32
    return gap * (SPREAD_FRACTION * fraction)


def next_check_at(plan: RevisitPlan, *, anchor: datetime, now: datetime, key: str) -> datetime:
    """The first planned check after `now` for an article anchored at `anchor`.

    Args:
        anchor: first sighting, or the time of the last change.
        key: a stable identity (the canonical URL) for the spread.
    """
    previous = timedelta(0)
    for offset in plan.after:
        due = anchor + offset + _spread(key, offset - previous)
        if due > now:
            return due
        previous = offset
    tail = anchor + (plan.after[-1] if plan.after else timedelta(0))
    periods = max(1, int((now - tail) / plan.then_every) + 1)
    return tail + plan.then_every * periods + _spread(key, plan.then_every)


def listing_item(
    source: Source, url: str, section: str | None, date: ArticleDate | None
) -> ListingItem | None:
    """The listing facts of a stored article, as the listing item a revisit does not have.

    `section` is kept when it is a section one of the source's listings gives (a section read on
    the article page, from a breadcrumb, is read again); `date` when the listing or the feed gave
    it. Both are used as on a first fetch: the page's own date, when it has one, comes first.
    """
    listed_section = section if section and section in _listing_sections(source) else None
    listed_date = date if date is not None and date.source in _LISTING_DATES else None
    if listed_section is None and listed_date is None:
        return None
    return ListingItem(url=url, title="", date=listed_date, section=listed_section)


def _listing_sections(source: Source) -> set[str]:
    return {listing.section for listing in source.listings if listing.section}
