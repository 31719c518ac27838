"""Article identity and listing facts: lookup by canonical URL or alias, aliases, sightings.

An article is identified by its canonical URL (computed by the crawler); any other URL that led
to it (a tracking-parameter variant, the URL before a redirect) is an alias. A sighting records
when a link first and last appeared on one listing page, with the title the listing gave it;
listings truncate long titles, so that title is a listing fact, never a change of the article.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


def add_aliases(session: Session, article_id: int, aliases: Iterable[str]) -> None:
    """Record several aliases of one article; already-known URLs are skipped."""
    add_alias_pairs(session, [(article_id, a) for a in aliases])


def add_alias_pairs(session: Session, pairs: Iterable[tuple[int, str]]) -> None:
    """Record (article id, alias) pairs; URLs that are a canonical URL or a known alias are skipped."""
    wanted = {alias: article_id for article_id, alias in pairs if alias}
    if not wanted:
        return
    urls = sorted(wanted)
    canonical: set[str] = set()
    for i in range(0, len(urls), _CHUNK):
        canonical.update(
            session.execute(
                sa.select(ArticleRow.url).where(ArticleRow.url.in_(urls[i : i + _CHUNK]))
            ).scalars()
        )
    rows = [{"alias": a, "article_id": wanted[a]} for a in urls if a not in canonical]
    insert_ignore(session, AliasRow.__table__, rows)  # type: ignore[arg-type]


def sightings(session: Session, article_url: str) -> list[SightingRow]:
    """Every listing sighting of an article URL, earliest first."""
    return list(
        session.execute(
            sa.select(SightingRow)
            .where(SightingRow.article_url == article_url)
            .order_by(SightingRow.first_seen_at, SightingRow.id)
        ).scalars()
    )


def record_sightings(
    session: Session,
    *,
    source: str,
    listing_url: str,
    items: Sequence[tuple[str, str]],
    seen_at: datetime,
) -> None:
    """Note each (article_url, listing_title) seen on `listing_url` at `seen_at`, in 3 statements.

    A sighting keeps when the URL was first and last seen there, how often, and the title shown.
    """
    titles = dict(items)  # one row per article URL; the last title on the page wins
    if not titles:
        return
    existing = set(
        session.execute(
            sa.select(SightingRow.article_url).where(
                SightingRow.listing_url == listing_url, SightingRow.article_url.in_(list(titles))
            )
        ).scalars()
    )
    if existing:
        table: sa.Table = SightingRow.__table__  # type: ignore[assignment]
        session.execute(
            sa.update(table)
            .where(
                table.c.listing_url == sa.bindparam("b_listing"),
                table.c.article_url == sa.bindparam("b_article"),
            )
            .values(
                last_seen_at=sa.case(
                    (
                        table.c.last_seen_at < sa.bindparam("b_seen", type_=UTCDateTime()),
                        sa.bindparam("b_seen", type_=UTCDateTime()),
                    ),
                    else_=table.c.last_seen_at,
                ),
                listing_title=sa.bindparam("b_title"),
                times_seen=table.c.times_seen + 1,
            ),
            [
                {
                    "b_listing": listing_url,
                    "b_article": url,
                    "b_title": titles[url],
                    "b_seen": seen_at,
                }
                for url in sorted(existing)  # one lock order for every writer
            ],
        )
    fresh = [url for url in titles if url not in existing]
    if fresh:
        insert_ignore(
            session,
            SightingRow.__table__,  # type: ignore[arg-type]
            [
                {
                    "source": source,
                    "listing_url": listing_url,
                    "article_url": url,
                    "listing_title": titles[url],
                    "first_seen_at": seen_at,
                    "last_seen_at": seen_at,
                    "times_seen": 1,
                }
                for url in fresh
            ],
        )
