"""HTTP validators (ETag, Last-Modified) per URL, for conditional GET."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.schema import ValidatorRow


def get_validators(session: Session, url: str) -> tuple[str | None, str | None]:
    """The (ETag, Last-Modified) last stored for `url`, or (None, None)."""
    row = session.execute(
        sa.select(ValidatorRow.etag, ValidatorRow.last_modified).where(ValidatorRow.url == url)
    ).first()
    return (row.etag, row.last_modified) if row else (None, None)


def set_validators(session: Session, url: str, etag: str | None, last_modified: str | None) -> None:
    """Remember the validators a URL sent; both None forgets them."""
    row = session.get(ValidatorRow, url)
    if etag is None and last_modified is None:
        if row is not None:
            session.delete(row)
        return
    now = datetime.now(UTC)
    if row is None:
        session.add(ValidatorRow(url=url, etag=etag, last_modified=last_modified, updated_at=now))
    elif (row.etag, row.last_modified) != (etag, last_modified):
        row.etag, row.last_modified, row.updated_at = etag, last_modified, now
    session.flush()
