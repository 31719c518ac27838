"""Unchanged rechecks in bulk: the common answer of a recheck (304, or the very same bytes).

`liveness.record_not_modified` costs one UPDATE .. RETURNING per article. A recheck of thousands
of articles that mostly did not change sends them here in batches instead: one SELECT finds
which of them are live articles, one executemany UPDATE touches those (check time, next check,
check count: no new rows), and the rest (missing, removed, or not stored) go through
`record_not_modified` one by one, which knows what a 304 means for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.model import ArticleStatus
from storage.schema import ArticleRow
from storage.versions.liveness import record_not_modified
from storage.versions.outcomes import Outcome, OutcomeKind
from storage.versions.rows import TOUCH_VALUES, require_aware

_TABLE: sa.Table = ArticleRow.__table__  # type: ignore[assignment]
_CHUNK = 500  # bound on IN (...) list sizes (SQLite's variable limit)
_TOUCH = sa.update(_TABLE).where(_TABLE.c.id == sa.bindparam("i")).values(TOUCH_VALUES)


@dataclass(frozen=True, slots=True)
class Unchanged:
    """One recheck whose answer was the current content (by 304 or by identical bytes)."""

    url: str  # the canonical URL
    now: datetime
    next_check_at: datetime


def record_unchanged(session: Session, entries: Sequence[Unchanged]) -> list[Outcome]:
    """`record_not_modified` for each entry, in a few statements when the articles are live."""
    for e in entries:
        require_aware(now=e.now, next_check_at=e.next_check_at)
    urls = sorted({e.url for e in entries})
    live: dict[str, tuple[int, int]] = {}
    for i in range(0, len(urls), _CHUNK):
        rows = session.execute(
            sa.select(_TABLE.c.url, _TABLE.c.id, _TABLE.c.version).where(
                _TABLE.c.url.in_(urls[i : i + _CHUNK]), _TABLE.c.status == ArticleStatus.LIVE.value
            )
        )
        live.update({r.url: (r.id, r.version) for r in rows})
    outcomes: list[Outcome | None] = [None] * len(entries)
    touch: list[dict[str, object]] = []
    seen: set[str] = set()
    for n, e in enumerate(entries):
        if e.url in live and e.url not in seen:  # a repeated URL is touched again the slow way
            seen.add(e.url)
            article_id, version = live[e.url]
            touch.append({"i": article_id, "now": e.now, "next": e.next_check_at})
            outcomes[n] = Outcome(OutcomeKind.UNCHANGED, article_id, version)
    if touch:
        session.execute(_TOUCH, touch)
    for n, e in enumerate(entries):
        if outcomes[n] is None:
            outcomes[n] = record_not_modified(
                session, e.url, now=e.now, next_check_at=e.next_check_at
            )
    return [o for o in outcomes if o is not None]
