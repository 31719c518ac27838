"""The revisit plan: when a known article is next re-fetched to catch edits and deletions.

A pure policy. Checks decay from the article's anchor (its first sighting, or its last change: a
changed article restarts the fast end of the plan): after 1 h, 6 h, 1 d, 3 d, 7 d, 30 d, then
every 30 d by default (`revisit:` per source). Each article gets a stable offset derived from its
URL, up to a tenth of the current gap, so thousands of articles first seen in one crawl are not
all due in the same minute.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from crawler.config import RevisitPlan

SPREAD_FRACTION = 0.1


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
