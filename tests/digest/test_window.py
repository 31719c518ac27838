"""`--since` parsing: durations, ISO dates and date-times, and clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from digest.window import EPOCH, SinceError, parse_since

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "delta"),
    [("24h", timedelta(hours=24)), ("2d", timedelta(days=2)), ("90m", timedelta(minutes=90)),
     ("1w", timedelta(weeks=1)), (" 30s ", timedelta(seconds=30)), ("1.5h", timedelta(minutes=90))],
)  # fmt: skip
def test_durations_count_back_from_now(text: str, delta: timedelta) -> None:
    """A duration is subtracted from now."""
    assert parse_since(text, now=NOW) == NOW - delta


def test_iso_date_is_midnight_utc() -> None:
    """A bare ISO date means midnight UTC of that day."""
    assert parse_since("2026-11-20", now=NOW) == datetime(2026, 11, 20, tzinfo=UTC)


def test_iso_datetime_keeps_its_offset_and_naive_is_utc() -> None:
    """An ISO date-time with an offset is that instant; without one it is taken as UTC."""
    cst = timezone(timedelta(hours=8))
    assert parse_since("2026-11-20T07:00+08:00", now=NOW) == datetime(2026, 11, 20, 7, tzinfo=cst)
    assert parse_since("2026-11-20T07:00", now=NOW) == datetime(2026, 11, 20, 7, tzinfo=UTC)
    assert parse_since("2026-11-20T07:00:00Z", now=NOW).tzinfo is not None


def test_all_means_the_beginning() -> None:
    """`all` covers everything ever recorded."""
    assert parse_since("all", now=NOW) == EPOCH


@pytest.mark.parametrize("text", ["yesterday", "24", "2026-13-01", "", "h"])
def test_bad_values_name_the_value_and_the_valid_forms(text: str) -> None:
    """Anything else is rejected with a message quoting it and showing valid examples."""
    with pytest.raises(SinceError, match=r"--since .*24h"):
        parse_since(text, now=NOW)
