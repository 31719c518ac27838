"""Pairing what was stored: the articles since the last update, or every article again.

`pair_new` reads the articles stored since its cursor (`pairing_state`), in id order and in
batches: each is read once, as its title, its body's first characters and its dates (one query
per batch, the body cut by the database), and detected (`detect`). The readouts are stored,
then each is matched (`rule`) against the stored readouts of its kind within the window (one
indexed query per readout). A release of a source with a language twin (`twins`: source key to
twin key, both ways) is matched (`twins`) against the twin source's releases of the days around
its date (one indexed query each). A crawl calls it after its sources' runs; `recompute`
forgets the undecided pairs and readouts and reads everything again (after an edit of the
officials table, or for articles stored before pairing existed), keeping every decision.

An article edited after it was paired keeps its readout as first read: a readout's kind and
names do not change in a correction, and reading every edit would cost every recheck.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.engine import Database
from storage.model import DatePrecision
from storage.readouts import store
from storage.readouts.detect import BODY_CHARS, Readout, Release, detect
from storage.readouts.officials import Officials
from storage.readouts.rule import best_matches, window_bounds
from storage.readouts.store import PairStatus, Relation
from storage.readouts.twins import DAY_SLACK, Marks, best_twin, marks
from storage.schema import ArticleRow, SourceRow, VersionRow, body_text_sql

CURSOR = "readouts"
BATCH = 2000
_TIMED = (DatePrecision.MINUTE.value, "second")
MARKS_CACHE = 50_000  # releases whose twin marks one update keeps (a few MB)


@dataclass(frozen=True, slots=True)
class PairingResult:
    """What one update read and found."""

    articles: int = 0
    readouts: int = 0
    pairs: int = 0
    twins: int = 0
    left: int = 0  # stored articles not read yet (an update with a limit)


def _releases_query() -> sa.Select[Any]:
    return (
        sa.select(
            ArticleRow.id,
            ArticleRow.source,
            SourceRow.country,
            SourceRow.timezone,
            ArticleRow.title,
            sa.func.substr(body_text_sql(), 1, BODY_CHARS),
            ArticleRow.published_at,
            ArticleRow.published_date,
            ArticleRow.date_precision,
            ArticleRow.first_seen_at,
        )
        .join(SourceRow, SourceRow.key == ArticleRow.source)
        .outerjoin(
            VersionRow,
            sa.and_(
                VersionRow.article_id == ArticleRow.id,
                VersionRow.number == ArticleRow.content_version,
            ),
        )
    )


def read_releases(session: Session, after_id: int, limit: int) -> list[Release]:
    """The articles with an id above `after_id` (at most `limit`, in id order), as releases."""
    q = _releases_query().where(ArticleRow.id > after_id).order_by(ArticleRow.id).limit(limit)
    return _releases(session, q)


def releases_dated(session: Session, source: str, first: date, last: date) -> list[Release]:
    """The articles of `source` dated from `first` to `last` (a release's twin candidates)."""
    q = _releases_query().where(
        ArticleRow.source == source,
        ArticleRow.published_date >= first,
        ArticleRow.published_date <= last,
    )
    return _releases(session, q)


def _releases(session: Session, q: sa.Select[Any]) -> list[Release]:
    return [
        Release(
            article_id=row[0],
            source=row[1],
            country=row[2] or "",
            timezone=row[3] or "UTC",
            title=row[4] or "",
            body_start=row[5] or "",
            published_at=row[6] if row[8] in _TIMED else None,
            published_date=row[7],
            first_seen_at=row[9],
        )
        for row in session.execute(q)
    ]


def pair_readouts(session: Session, readouts: Sequence[Readout], at: datetime) -> int:
    """Store `readouts` and the pairs they make with stored ones; the number of pairs found."""
    store.save_readouts(session, readouts)
    found = 0
    for readout in readouts:
        start, end = window_bounds(readout)
        for m in best_matches(readout, store.candidates(session, readout.kind, start, end)):
            if _keeps_better(
                session,
                Relation.READOUT,
                m.b.article_id,
                readout.source,
                readout.article_id,
                m.rank(),
            ):
                continue
            found += store.add_found(
                session, Relation.READOUT, m.a.article_id, m.b.article_id, m.evidence(), at
            )
    return found


def pair_twins(
    session: Session,
    releases: Sequence[Release],
    twins: Mapping[str, str],
    officials: Officials | None,
    at: datetime,
    cache: dict[int, Marks] | None = None,
) -> int:
    """Pair each release of a source with a twin with its best twin release; the number found.

    `cache` keeps each release's marks by article id across calls of one update (a release is
    a candidate of every release of its twin source dated around it)."""
    cache = {} if cache is None else cache
    if len(cache) > MARKS_CACHE:
        cache.clear()

    def marks_of(release: Release) -> Marks:
        got = cache.get(release.article_id)
        if got is None:
            got = cache[release.article_id] = marks(release, officials)
        return got

    # One query per twin source for the whole batch (its days, one day either side).
    wanted: dict[str, list[tuple[Release, Marks]]] = {}
    for release in releases:
        twin_source = twins.get(release.source)
        if twin_source is None:
            continue
        new = marks_of(release)
        if new.day is not None:
            wanted.setdefault(twin_source, []).append((release, new))
    found = 0
    for twin_source, items in wanted.items():
        days = [new.day for _, new in items if new.day is not None]
        by_day: dict[date, list[Release]] = {}
        for c in releases_dated(session, twin_source, min(days) - DAY_SLACK, max(days) + DAY_SLACK):
            if c.published_date is not None:
                by_day.setdefault(c.published_date, []).append(c)
        for release, new in items:
            assert new.day is not None
            candidates = [
                c
                for offset in (-DAY_SLACK, timedelta(0), DAY_SLACK)
                for c in by_day.get(new.day + offset, ())
            ]
            found += _pair_twin(session, release, twin_source, new, candidates, marks_of, at)
    return found


def _pair_twin(
    session: Session,
    release: Release,
    twin_source: str,
    new: Marks,
    candidates: Sequence[Release],
    marks_of: Callable[[Release], Marks],
    at: datetime,
) -> int:
    """Pair `release` with its best twin among `candidates`; 1 when a new pair was stored."""
    best = best_twin(new, (marks_of(c) for c in candidates))
    if best is None:
        return 0
    rank = best.rank()
    if _keeps_better(
        session, Relation.TWIN, best.b.article_id, release.source, release.article_id, rank
    ) or _keeps_better(
        session, Relation.TWIN, release.article_id, twin_source, best.b.article_id, rank
    ):
        return 0
    return int(
        store.add_found(
            session, Relation.TWIN, release.article_id, best.b.article_id, best.evidence(), at
        )
    )


def _keeps_better(
    session: Session,
    relation: Relation,
    other_id: int,
    source: str,
    new_id: int,
    rank: tuple[float, ...],
) -> bool:
    """Whether `other_id` keeps a pair with another article of `source` over one with `new_id`:
    one confirmed by a person, or one found that ranks at least as well. Worse ones are dropped."""
    rivals = [
        p for p in store.partners(session, relation, other_id, source) if p.other_id != new_id
    ]
    if any(p.status is PairStatus.CONFIRMED or p.rank >= rank for p in rivals):
        return True
    store.drop(session, [p.pair_id for p in rivals])
    return False


def pair_new(
    db: Database,
    officials: Officials,
    at: datetime,
    *,
    twins: Mapping[str, str] | None = None,
    batch: int = BATCH,
    limit: int | None = None,
) -> PairingResult:
    """Detect and pair the articles stored since the last update (one transaction per batch),
    at most `limit` of them (the rest waits for the next update: `left` says how many)."""
    total = PairingResult()
    cache: dict[int, Marks] = {}
    while True:
        if limit is not None and total.articles >= limit:
            with db.session(readonly=True) as session:
                after = store.cursor(session, CURSOR)
                left = session.scalar(sa.select(sa.func.count()).where(ArticleRow.id > after))
            return replace(total, left=left or 0)
        size = batch if limit is None else min(batch, limit - total.articles)
        with db.session() as session:
            after = store.cursor(session, CURSOR)
            releases = read_releases(session, after, size)
            if not releases:
                return total
            readouts = [r for r in (detect(rel, officials) for rel in releases) if r is not None]
            pairs = pair_readouts(session, readouts, at)
            twinned = pair_twins(session, releases, twins or {}, officials, at, cache)
            store.set_cursor(session, CURSOR, releases[-1].article_id, at)
        total = PairingResult(
            total.articles + len(releases),
            total.readouts + len(readouts),
            total.pairs + pairs,
            total.twins + twinned,
        )
        if len(releases) < size:
            return total


def recompute(
    db: Database,
    officials: Officials,
    at: datetime,
    *,
    twins: Mapping[str, str] | None = None,
    batch: int = BATCH,
) -> PairingResult:
    """Forget the undecided pairs and the readouts, then pair every stored article again."""
    with db.session() as session:
        store.forget_found(session, Relation.READOUT)
        store.forget_found(session, Relation.TWIN)
        store.set_cursor(session, CURSOR, 0, at)
    return pair_new(db, officials, at, twins=twins, batch=batch)
