"""Listing and feed responses as evidence, and which of them showed each listed item.

A listing page or feed document is kept (a `responses` row with `listing_url` and `source`, its
body a content-addressed blob as for articles) only when its bytes differ from the last response
kept for the same listing URL: an unchanged poll, like a 304, stores nothing. Each sighting points
at the kept responses that showed the item first and last, so "the item left the listing" reads
as: shown by response A, absent from the next response kept for that listing URL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.blobs import store_response
from storage.model import RawResponse
from storage.schema import ResponseRow, SightingRow
from storage.types import UTCDateTime

_SIGHTINGS: sa.Table = SightingRow.__table__  # type: ignore[assignment]
_CHUNK = 500  # bound on IN (...) list sizes (SQLite's variable limit)
_LAST_KEPT = (
    sa.select(ResponseRow.id, ResponseRow.blob_sha256)
    .where(ResponseRow.listing_url == sa.bindparam("u"))
    .order_by(ResponseRow.id.desc())
    .limit(1)
)


def keep_listing_response(session: Session, source: str, raw: RawResponse) -> tuple[int, bool]:
    """Keep a listing/feed response unless its bytes equal the last one kept for its URL.

    Returns (id of the kept response holding these bytes, whether it was stored now).
    """
    last = session.execute(_LAST_KEPT, {"u": raw.url}).first()
    if last is not None and last.blob_sha256 == hashlib.sha256(raw.body).hexdigest():
        return int(last.id), False
    response_id, _ = store_response(session, raw, None, source=source, listing_url=raw.url)
    return response_id, True


def link_sightings(
    session: Session,
    *,
    listing_url: str,
    article_urls: Iterable[str],
    response_id: int,
    seen_at: datetime,
) -> None:
    """Point the sightings of `article_urls` on `listing_url` (recorded at `seen_at`) at the kept
    response that showed them: always as the last one, as the first one when first seen now."""
    urls = sorted(set(article_urls))
    seen = sa.bindparam("seen", type_=UTCDateTime())
    for i in range(0, len(urls), _CHUNK):
        session.execute(
            sa.update(_SIGHTINGS)
            .where(
                _SIGHTINGS.c.listing_url == listing_url,
                _SIGHTINGS.c.article_url.in_(urls[i : i + _CHUNK]),
            )
            .values(
                last_response_id=response_id,
                first_response_id=sa.case(
                    (
                        sa.and_(
                            _SIGHTINGS.c.first_response_id.is_(None),
                            _SIGHTINGS.c.first_seen_at == seen,
                        ),
                        response_id,
                    ),
                    else_=_SIGHTINGS.c.first_response_id,
                ),
            ),
            {"seen": seen_at},
        )


def listing_responses(session: Session, listing_url: str) -> list[ResponseRow]:
    """The responses kept for a listing URL, oldest first."""
    return list(
        session.execute(
            sa.select(ResponseRow)
            .where(ResponseRow.listing_url == listing_url)
            .order_by(ResponseRow.id)
        ).scalars()
    )
