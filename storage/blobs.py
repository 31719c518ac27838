"""Raw evidence: response bodies stored once, compressed, content-addressed by SHA-256.

A body is identified by the SHA-256 of its uncompressed bytes and written only the first time
it is seen (later responses with the same bytes point at the same blob). Each fetch that produced
a version or a state change gets one `responses` row (URL, final URL, status, headers in the
order received, redirects, fetch time), however many versions it produced: a feed document
holding ten new items is one row, which the ten versions share. Listing and feed responses are
kept too (`storage.listings`). `iter_responses` reads them back, bodies decompressed, for the
WARC export. A page loaded in a browser also keeps its rendered DOM, when it differs from the
body, as a blob of its own (`responses.rendered_sha256`). Hashing and compression live in
`storage.codecs`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from storage.codecs import CODECS, PackedBody, pack
from storage.model import RawResponse
from storage.schema import ArticleRow, BlobRow, ResponseRow, insert_ignore

_RESPONSES: sa.Table = ResponseRow.__table__  # type: ignore[assignment]
_RENDERED = aliased(BlobRow)  # the blob of a rendered DOM
_INSERT_RESPONSE = sa.insert(_RESPONSES).returning(_RESPONSES.c.id)
# The row of this very fetch, when an earlier version of the same transaction stored it.
_SAME_FETCH = (
    sa.select(_RESPONSES.c.id)
    .where(
        _RESPONSES.c.blob_sha256 == sa.bindparam("blob_sha256"),
        _RESPONSES.c.fetched_at == sa.bindparam("fetched_at", type_=_RESPONSES.c.fetched_at.type),
        _RESPONSES.c.url == sa.bindparam("url"),
        _RESPONSES.c.final_url == sa.bindparam("final_url"),
        _RESPONSES.c.status == sa.bindparam("status"),
    )
    .order_by(_RESPONSES.c.id)
    .limit(1)
)
_FETCH_KEYS = ("blob_sha256", "fetched_at", "url", "final_url", "status")


class StoredResponse(NamedTuple):
    """A stored response as the WARC export needs it; `url` is the URL that answered (final).

    `listing_url` is set for a listing page or feed document (the URL asked for).
    """

    url: str
    status: int
    headers: list[tuple[str, str]]
    fetched_at: datetime
    body: bytes
    sha256: str
    listing_url: str | None = None
    rendered: bytes | None = None  # the rendered DOM of a page loaded in a browser


def put_packed(session: Session, packed: list[PackedBody]) -> None:
    """Store packed bodies whose hash is not stored yet (one statement for all of them)."""
    # INSERT .. ON CONFLICT DO NOTHING: most bodies that produce a version are new, so a lookup
    # first would cost a statement more than the occasional wasted compression.
    insert_ignore(
        session,
        BlobRow.__table__,  # type: ignore[arg-type]
        [{"sha256": p.sha256, "size": p.size, "codec": p.codec, "data": p.data} for p in packed],
    )


def get_blob(session: Session, sha: str) -> bytes | None:
    """The uncompressed bytes of a blob (None when unknown)."""
    row = session.execute(
        sa.select(BlobRow.codec, BlobRow.data).where(BlobRow.sha256 == sha)
    ).first()
    if row is None:
        return None
    return CODECS[row.codec][1](row.data)


def rendered_packs(raws: list[RawResponse]) -> list[PackedBody]:
    """The packed rendered DOMs of the responses loaded in a browser (to store beside bodies)."""
    return [pack(raw.rendered) for raw in raws if raw.rendered is not None]


def response_values(
    raw: RawResponse,
    article_id: int | None,
    sha: str,
    *,
    source: str | None = None,
    listing_url: str | None = None,
) -> dict[str, object]:
    """The `responses` row of a response whose body is stored under `sha`."""
    return {
        "source": source,
        "listing_url": listing_url,
        "article_id": article_id,
        "url": raw.url,
        "final_url": raw.final_url,
        "status": raw.status,
        "headers": [[k, v] for k, v in raw.headers],
        "redirects": list(raw.redirects),
        "fetched_at": raw.fetched_at,
        "blob_sha256": sha,
        "rendered_sha256": (
            None if raw.rendered is None else hashlib.sha256(raw.rendered).hexdigest()
        ),
    }


def store_response(
    session: Session,
    raw: RawResponse,
    article_id: int | None,
    packed: PackedBody | None = None,
    *,
    source: str | None = None,
    listing_url: str | None = None,
) -> tuple[int, str]:
    """Keep a response as evidence (blob + responses row); return (response id, body hash).

    A fetch already stored (same URLs, status, time and body: a feed document behind several
    items, or a listing response kept before its items were recorded) is not stored again; its
    row's id is returned. `packed` is `pack(raw.body)` when the caller has it already.
    """
    if packed is None:
        packed = pack(raw.body)
    values: dict[str, Any] = response_values(
        raw, article_id, packed.sha256, source=source, listing_url=listing_url
    )
    same = session.execute(_SAME_FETCH, {k: values[k] for k in _FETCH_KEYS}).scalar()
    if same is not None:
        return int(same), packed.sha256
    put_packed(session, [packed, *rendered_packs([raw])])
    response_id = session.execute(_INSERT_RESPONSE, values).scalar_one()
    return int(response_id), packed.sha256


def iter_responses(
    session: Session, *, source: str | None = None, since: datetime | None = None
) -> Iterator[StoredResponse]:
    """Every stored fetch in fetch order, article and listing responses alike, with its body
    decompressed; optionally one source's, optionally only those fetched at or after `since`.

    A fetch stored as several identical rows (one per feed item, before migration 0003) is
    given once.
    """
    query = (
        sa.select(
            ResponseRow.final_url,
            ResponseRow.status,
            ResponseRow.headers,
            ResponseRow.fetched_at,
            ResponseRow.blob_sha256,
            ResponseRow.listing_url,
            BlobRow.codec,
            BlobRow.data,
            _RENDERED.codec.label("rendered_codec"),
            _RENDERED.data.label("rendered_data"),
        )
        .join(BlobRow, BlobRow.sha256 == ResponseRow.blob_sha256)
        .outerjoin(_RENDERED, _RENDERED.sha256 == ResponseRow.rendered_sha256)
        .order_by(ResponseRow.fetched_at, ResponseRow.id)
    )
    if source is not None:
        query = query.outerjoin(ArticleRow, ArticleRow.id == ResponseRow.article_id).where(
            sa.or_(ArticleRow.source == source, ResponseRow.source == source)
        )
    if since is not None:
        query = query.where(ResponseRow.fetched_at >= since)
    at: datetime | None = None
    given: set[tuple[str, int, str]] = set()  # the fetches given with time `at`
    for row in session.execute(query.execution_options(yield_per=200)):
        if row.fetched_at != at:
            at, given = row.fetched_at, set()
        key = (row.final_url, row.status, row.blob_sha256)
        if key in given:
            continue
        given.add(key)
        yield StoredResponse(
            url=row.final_url,
            status=row.status,
            headers=[(str(k), str(v)) for k, v in row.headers],
            fetched_at=row.fetched_at,
            body=CODECS[row.codec][1](row.data),
            sha256=row.blob_sha256,
            listing_url=row.listing_url,
            rendered=(
                None
                if row.rendered_data is None
                else CODECS[row.rendered_codec][1](row.rendered_data)
            ),
        )
