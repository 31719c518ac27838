"""Review cursors: named "reviewed up to" times; the next plain digest starts at its cursor.

Each reviewer (`--as NAME`) has an independent cursor; `default` is used when none is named.
Without a cursor and without `--since`, a digest covers the last 24 hours.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from digest.since import parse_since
from storage import queries

DEFAULT_CURSOR = "default"
DEFAULT_WINDOW = timedelta(days=1)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class CursorNameError(ValueError):
    """A cursor name that is empty, too long or has characters other than letters, digits . _ -."""


def check_name(name: str) -> str:
    """The name, or CursorNameError saying what a valid name looks like."""
    if not _NAME.match(name):
        raise CursorNameError(
            f"invalid reviewer name {name!r}: use 1-100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def get_cursor(session: Session, name: str = DEFAULT_CURSOR) -> datetime | None:
    """When reviewer `name` last marked the digest reviewed (None if never)."""
    return queries.get_cursor(session, check_name(name))


def set_cursor(session: Session, at: datetime, name: str = DEFAULT_CURSOR) -> None:
    """Move reviewer `name`'s cursor to `at` (tz-aware)."""
    queries.set_cursor(session, check_name(name), at)


def resolve_since(
    session: Session,
    since: str | datetime | None = None,
    *,
    cursor: str = DEFAULT_CURSOR,
    now: datetime | None = None,
) -> datetime:
    """The start of the window: `since` if given (text or datetime), else the cursor, else 24h ago."""
    now = now or datetime.now(UTC)
    if isinstance(since, datetime):
        if since.tzinfo is None:
            raise ValueError("since must be tz-aware")
        return since
    if since:
        return parse_since(since, now=now)
    return get_cursor(session, cursor) or now - DEFAULT_WINDOW
