"""The sources table: what the config says each source is, kept in step on every start."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.schema import SourceRow, insert_ignore


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """A source as storage knows it (from the YAML config)."""

    key: str
    name: str | None = None
    country: str | None = None
    language: str | None = None
    timezone: str | None = None

    def __post_init__(self) -> None:
        if not self.key or not self.key.strip():
            raise ValueError("source key is empty")


def sync_sources(session: Session, sources: Iterable[SourceInfo]) -> None:
    """Insert or update each source's row; sources absent from `sources` are kept (history)."""
    now = datetime.now(UTC)
    for info in sources:
        row = session.get(SourceRow, info.key)
        if row is None:
            # Insert-or-ignore: two crawls starting together on one database both find it missing.
            insert_ignore(
                session,
                SourceRow.__table__,  # type: ignore[arg-type]
                [
                    {
                        "key": info.key,
                        "name": info.name,
                        "country": info.country,
                        "language": info.language,
                        "timezone": info.timezone,
                        "updated_at": now,
                    }
                ],
            )
        elif (row.name, row.country, row.language, row.timezone) != (
            info.name,
            info.country,
            info.language,
            info.timezone,
        ):
            row.name, row.country = info.name, info.country
            row.language, row.timezone = info.language, info.timezone
            row.updated_at = now
    session.flush()


def ensure_source(session: Session, key: str) -> None:
    """Make sure a source row exists for `key` (a bare one when the config never synced it)."""
    insert_ignore(session, SourceRow.__table__, [{"key": key}])  # type: ignore[arg-type]


def stored_sources(session: Session) -> list[SourceInfo]:
    """Every source the database knows (configured now or once), by key."""
    rows = session.execute(sa.select(SourceRow).order_by(SourceRow.key)).scalars()
    return [SourceInfo(r.key, r.name, r.country, r.language, r.timezone) for r in rows]


def list_sources(session: Session) -> list[SourceInfo]:
    """Every stored source (key, name, country), by country then key (the digest's filter list)."""
    rows = session.execute(
        sa.select(SourceRow.key, SourceRow.name, SourceRow.country).order_by(
            SourceRow.country, SourceRow.key
        )
    )
    return [SourceInfo(key, name, country) for key, name, country in rows]
