"""HTTP validators (ETag, Last-Modified) per URL, for conditional GET."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.schema import ValidatorRow, insert_ignore


def get_validators(session: Session, url: str) -> tuple[str | None, str | None]:
    """The (ETag, Last-Modified) last stored for `url`, or (None, None)."""
    row = session.execute(
        sa.select(ValidatorRow.etag, ValidatorRow.last_modified).where(ValidatorRow.url == url)
    ).first()
    return (row.etag, row.last_modified) if row else (None, None)


def set_validators(session: Session, url: str, etag: str | None, last_modified: str | None) -> None:
    """Remember the validators a URL sent; both None forgets them."""
    set_many(session, [(url, etag, last_modified)])


def set_many(session: Session, entries: Iterable[tuple[str, str | None, str | None]]) -> None:
    """Remember the validators each (url, etag, last_modified) sent, in a few statements.

    Rows are updated only when different (an unchanged recheck writes nothing) and inserted when
    new; the insert ignores a concurrent writer's row, so two workers never collide on the key.
    A URL given (None, None) is forgotten.
    """
    latest = {url: (etag, modified) for url, etag, modified in entries}
    if not latest:
        return
    stored = get_many(session, latest)
    now = datetime.now(UTC)
    forget = [u for u, v in latest.items() if v == (None, None) and u in stored]
    changed = [u for u, v in latest.items() if v != (None, None) and u in stored and stored[u] != v]
    new = [u for u, v in latest.items() if v != (None, None) and u not in stored]
    for url in forget:
        session.execute(sa.delete(ValidatorRow).where(ValidatorRow.url == url))
    for url in changed:
        etag, modified = latest[url]
        session.execute(
            sa.update(ValidatorRow)
            .where(ValidatorRow.url == url)
            .values(etag=etag, last_modified=modified, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    insert_ignore(
        session,
        ValidatorRow.__table__,  # type: ignore[arg-type]
        [
            {"url": u, "etag": latest[u][0], "last_modified": latest[u][1], "updated_at": now}
            for u in new
        ],
    )


def get_many(session: Session, urls: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
    """(ETag, Last-Modified) for each of `urls` that has any, in a few queries (for rechecks)."""
    wanted = list(dict.fromkeys(urls))
    found: dict[str, tuple[str | None, str | None]] = {}
    for start in range(0, len(wanted), 500):  # stay under every dialect's parameter limit
        chunk = wanted[start : start + 500]
        rows = session.execute(
            sa.select(ValidatorRow.url, ValidatorRow.etag, ValidatorRow.last_modified).where(
                ValidatorRow.url.in_(chunk)
            )
        )
        found.update({r.url: (r.etag, r.last_modified) for r in rows})
    return found
