"""Article identity and listing facts: lookup by canonical URL or alias, aliases, sightings.

An article is identified by its canonical URL (computed by the crawler); any other URL that led
to it (a tracking-parameter variant, the URL before a redirect) is an alias. A sighting records
when a link first and last appeared on one listing page, with the title the listing gave it;
listings truncate long titles, so that title is a listing fact, never a change of the article.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.schema import AliasRow, ArticleRow, SightingRow, insert_ignore
from storage.types import UTCDateTime

_CHUNK = 500  # bound on IN (...) list sizes (SQLite's variable limit)


def find_article_id(session: Session, url: str) -> int | None:
    """The id of the article whose canonical URL or alias is `url` (None when unknown)."""
    found = session.execute(sa.select(ArticleRow.id).where(ArticleRow.url == url)).scalar()
    if found is None:
        found = session.execute(
            sa.select(AliasRow.article_id).where(AliasRow.alias == url)
        ).scalar()
    return int(found) if found is not None else None


def known_urls(session: Session, urls: Iterable[str]) -> set[str]:
    """Which of `urls` are already stored, as a canonical URL or as an alias."""
    wanted = sorted(set(urls))
    known: set[str] = set()
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        known.update(
            session.execute(sa.select(ArticleRow.url).where(ArticleRow.url.in_(chunk))).scalars()
        )
        known.update(
            session.execute(sa.select(AliasRow.alias).where(AliasRow.alias.in_(chunk))).scalars()
        )
    return known


def add_alias(session: Session, article_id: int, alias: str) -> None:
    """Record another URL of an article (a no-op when it is known, or is a canonical URL)."""
    add_aliases(session, article_id, [alias])


def add_aliases(session: Session, article_id: int, aliases: Iterable[str]) -> None:
    """Record several aliases of one article; already-known URLs are skipped."""
    wanted = {a for a in aliases if a}
    if not wanted:
        return
    canonical = set(
        session.execute(sa.select(ArticleRow.url).where(ArticleRow.url.in_(wanted))).scalars()
    )
    rows = [{"alias": a, "article_id": article_id} for a in sorted(wanted - canonical)]
    insert_ignore(session, AliasRow.__table__, rows)  # type: ignore[arg-type]


def record_sighting(
    session: Session,
    *,
    source: str,
    listing_url: str,
    article_url: str,
    listing_title: str,
    seen_at: datetime,
) -> None:
    """Note that `article_url` appeared on `listing_url` at `seen_at` (first/last seen, title)."""
    seen = sa.literal(seen_at, UTCDateTime())
    updated = session.execute(
        sa.update(SightingRow)
        .where(SightingRow.listing_url == listing_url, SightingRow.article_url == article_url)
        .values(
            last_seen_at=sa.case(
                (SightingRow.last_seen_at < seen, seen), else_=SightingRow.last_seen_at
            ),
            listing_title=listing_title,
            times_seen=SightingRow.times_seen + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if updated.rowcount:  # type: ignore[attr-defined]
        return
    insert_ignore(
        session,
        SightingRow.__table__,  # type: ignore[arg-type]
        [
            {
                "source": source,
                "listing_url": listing_url,
                "article_url": article_url,
                "listing_title": listing_title,
                "first_seen_at": seen_at,
                "last_seen_at": seen_at,
                "times_seen": 1,
            }
        ],
    )


def sightings(session: Session, article_url: str) -> list[SightingRow]:
    """Every listing sighting of an article URL, earliest first."""
    return list(
        session.execute(
            sa.select(SightingRow)
            .where(SightingRow.article_url == article_url)
            .order_by(SightingRow.first_seen_at, SightingRow.id)
        ).scalars()
    )
