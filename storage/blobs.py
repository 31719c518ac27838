"""Raw evidence: response bodies stored once, compressed, content-addressed by SHA-256.

A body is identified by the SHA-256 of its uncompressed bytes and written only the first time
it is seen (later responses with the same bytes point at the same blob). Each fetch that produced
a version or a state change gets its own `responses` row (URL, final URL, status, headers in the
order received, redirects, fetch time). `iter_responses` reads them back, bodies decompressed,
for the WARC export. Hashing and compression live in `storage.codecs`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.codecs import CODECS, DEFAULT_CODEC, PackedBody, pack
from storage.model import RawResponse
from storage.schema import ArticleRow, BlobRow, ResponseRow, insert_ignore

_RESPONSES: sa.Table = ResponseRow.__table__  # type: ignore[assignment]
_INSERT_RESPONSE = sa.insert(_RESPONSES).returning(_RESPONSES.c.id)


class StoredResponse(NamedTuple):
    """A stored response as the WARC export needs it; `url` is the URL that answered (final)."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    fetched_at: datetime
    body: bytes


def put_packed(session: Session, packed: list[PackedBody]) -> None:
    """Store packed bodies whose hash is not stored yet (one statement for all of them)."""
    # INSERT .. ON CONFLICT DO NOTHING: most bodies that produce a version are new, so a lookup
    # first would cost a statement more than the occasional wasted compression.
    insert_ignore(
        session,
        BlobRow.__table__,  # type: ignore[arg-type]
        [{"sha256": p.sha256, "size": p.size, "codec": p.codec, "data": p.data} for p in packed],
    )


def put_blob(session: Session, body: bytes, *, codec: str = DEFAULT_CODEC) -> str:
    """Store a body unless a blob with its hash exists; return the hash."""
    packed = pack(body, codec=codec)
    put_packed(session, [packed])
    return packed.sha256


def get_blob(session: Session, sha: str) -> bytes | None:
    """The uncompressed bytes of a blob (None when unknown)."""
    row = session.execute(
        sa.select(BlobRow.codec, BlobRow.data).where(BlobRow.sha256 == sha)
    ).first()
    if row is None:
        return None
    return CODECS[row.codec][1](row.data)


def response_values(raw: RawResponse, article_id: int | None, sha: str) -> dict[str, object]:
    """The `responses` row of a response whose body is stored under `sha`."""
    return {
        "article_id": article_id,
        "url": raw.url,
        "final_url": raw.final_url,
        "status": raw.status,
        "headers": [[k, v] for k, v in raw.headers],
        "redirects": list(raw.redirects),
        "fetched_at": raw.fetched_at,
        "blob_sha256": sha,
    }


def store_response(
    session: Session, raw: RawResponse, article_id: int | None, packed: PackedBody | None = None
) -> tuple[int, str]:
    """Keep a response as evidence (blob + responses row); return (response id, body hash).

    `packed` is `pack(raw.body)` when the caller has it already.
    """
    if packed is None:
        packed = pack(raw.body)
    put_packed(session, [packed])
    response_id = session.execute(
        _INSERT_RESPONSE, response_values(raw, article_id, packed.sha256)
    ).scalar_one()
    return int(response_id), packed.sha256


def iter_responses(session: Session, *, source: str | None = None) -> Iterator[StoredResponse]:
    """Every stored response in fetch order, with its body decompressed (optionally one source's)."""
    query = (
        sa.select(
            ResponseRow.final_url,
            ResponseRow.status,
            ResponseRow.headers,
            ResponseRow.fetched_at,
            BlobRow.codec,
            BlobRow.data,
        )
        .join(BlobRow, BlobRow.sha256 == ResponseRow.blob_sha256)
        .order_by(ResponseRow.fetched_at, ResponseRow.id)
    )
    if source is not None:
        query = query.join(ArticleRow, ArticleRow.id == ResponseRow.article_id).where(
            ArticleRow.source == source
        )
    for row in session.execute(query.execution_options(yield_per=200)):
        yield StoredResponse(
            url=row.final_url,
            status=row.status,
            headers=[(str(k), str(v)) for k, v in row.headers],
            fetched_at=row.fetched_at,
            body=CODECS[row.codec][1](row.data),
        )
