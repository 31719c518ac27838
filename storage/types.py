"""Column types that behave the same on every dialect: tz-aware UTC timestamps, and offsets.

SQLite has no time-zone-aware timestamp, PostgreSQL has `timestamptz`; `UTCDateTime` stores a UTC
instant on both and always returns an aware datetime in UTC. Where the original offset matters
(an article's `published_at` in +08:00), the offset is kept in a separate integer column of
minutes and the two are joined back with `with_offset`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A tz-aware instant stored as UTC; naive datetimes are refused when bound."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to UTC (naive UTC on SQLite, which has no zones)."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} refused: pass a tz-aware datetime")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware datetime in UTC."""
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL paths on SQLite can hand back text
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def offset_minutes(value: datetime | None) -> int | None:
    """The UTC offset of an aware datetime in whole minutes (None for None)."""
    if value is None:
        return None
    off = value.utcoffset()
    if off is None:
        raise ValueError(f"naive datetime {value!r} refused: pass a tz-aware datetime")
    return int(off.total_seconds() // 60)


def with_offset(utc_value: datetime | None, minutes: int | None) -> datetime | None:
    """Re-express a stored UTC instant in its original offset (UTC when the offset is unknown)."""
    if utc_value is None:
        return None
    if minutes is None:
        return utc_value.astimezone(UTC)
    return utc_value.astimezone(timezone(timedelta(minutes=minutes)))


def iso(value: datetime | None) -> str | None:
    """ISO 8601 text of an aware datetime (None stays None)."""
    return value.isoformat() if value is not None else None


class StoredContent(Protocol):
    """The content fields of a stored article or version, as read (`queries`, `version_log`)."""

    @property
    def title(self) -> str | None: ...
    @property
    def published_at(self) -> datetime | None: ...
    @property
    def published_date(self) -> Any: ...
    @property
    def date_precision(self) -> str | None: ...
    @property
    def date_source(self) -> str | None: ...
    @property
    def section(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...
    @property
    def body_text(self) -> str | None: ...
    @property
    def body_html(self) -> str | None: ...


def content_json(c: StoredContent) -> dict[str, Any]:
    """The content fields in the article model's order, JSON-ready (times as ISO 8601)."""
    return {
        "title": c.title,
        "published_at": iso(c.published_at),
        "published_date": c.published_date.isoformat() if c.published_date else None,
        "date_precision": c.date_precision,
        "date_source": c.date_source,
        "section": c.section,
        "language": c.language,
        "body_text": c.body_text,
        "body_html": c.body_html,
    }
