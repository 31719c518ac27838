"""The review window of a digest: where it starts and ends.

`--since` and `--until` values become aware datetimes: durations back from now (`90m`, `24h`,
`2d`, `1w`) or an ISO 8601 date or date-time, or `all` (the beginning of time for `--since`, no
end for `--until`). A date means its midnight in UTC (the start of that day); a date-time without
an offset is taken as UTC.

Review cursors are named "reviewed up to" times; the next plain digest starts at its cursor.
Each reviewer (`--as NAME`) has an independent cursor; `default` is used when none is named.
Without a cursor and without `--since`, a digest covers the last 24 hours.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from digest.errors import DigestError
from storage import queries

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


class SinceError(DigestError):
    """A `--since`/`--until` value that is neither a duration nor an ISO date/date-time."""


def parse_until(text: str, *, now: datetime | None = None) -> datetime | None:
    """The end of a window, in `--since`'s syntax; None (no end: now) for `all`."""
    if text.strip().lower() == "all":
        return None
    return parse_since(text, now=now, option="--until")


def parse_since(text: str, *, now: datetime | None = None, option: str = "--since") -> datetime:
    """`24h`, `2d`, `2026-11-20` or `2026-11-20T07:00+08:00` to a tz-aware UTC datetime."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise SinceError("now must be tz-aware")
    value = text.strip()
    if value.lower() == "all":
        return EPOCH
    m = _DURATION.match(value)
    if m:
        amount = float(m.group(1)) * _SECONDS[m.group(2).lower()]
        try:
            return (now - timedelta(seconds=amount)).astimezone(UTC)
        except OverflowError:
            raise SinceError(f"{option} {text!r}: duration is too long") from None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            d = date.fromisoformat(value)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SinceError(
            f"{option} {text!r}: not a duration or ISO date "
            "(use e.g. 30m, 24h, 2d, 1w, 2026-11-20, 2026-11-20T07:00+08:00 or all)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


DEFAULT_CURSOR = "default"
DEFAULT_WINDOW = timedelta(days=1)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class CursorNameError(DigestError):
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
