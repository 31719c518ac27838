"""The rhythm model (pure): a weekday publisher's weekends and nights are not quiet, three silent
weekdays are, a short history is never judged, and holidays in the history change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from storage.rhythm import HOURS, Verdict, expected_items, hourly_rates, judge
from tests.storage.rhythm_history import SHANGHAI, START, china_weekdays

WEEKS_OF_HISTORY = 8 * 7


def verdict_at(items: list[datetime], now: datetime, observed_since: datetime = START) -> Verdict:
    last = max(items)
    return judge(items, observed_since=observed_since, last_new=last, now=now, zone=SHANGHAI)


def test_a_weekday_publisher_silent_over_the_weekend_is_not_quiet() -> None:
    """Last release Friday 18:20 in Beijing; on Monday 08:00 (no release since) it is not quiet."""
    items = china_weekdays(WEEKS_OF_HISTORY - 2)  # ends on a Friday
    last = max(items)
    assert last.astimezone(SHANGHAI).weekday() == 4
    monday_morning = (last + timedelta(days=3)).replace(hour=8, minute=0)
    verdict = verdict_at(items, monday_morning)
    assert verdict.judged and not verdict.quiet, verdict.reason
    assert verdict.probability > 0.2


def test_a_weekday_night_is_not_quiet() -> None:
    """From the last release of a Tuesday to 09:00 on Wednesday nothing is expected."""
    items = [t for t in china_weekdays(WEEKS_OF_HISTORY) if t < START + timedelta(days=51)]
    last = max(items)  # Tuesday 18:2x
    assert last.astimezone(SHANGHAI).weekday() == 1
    verdict = verdict_at(items, (last + timedelta(days=1)).replace(hour=9, minute=0))
    assert verdict.judged and not verdict.quiet, verdict.reason


def test_three_silent_weekdays_are_quiet() -> None:
    """Last release on a Monday evening; by Thursday evening three weekdays' releases are missing."""
    items = [t for t in china_weekdays(WEEKS_OF_HISTORY) if t < START + timedelta(days=50)]
    last = max(items)
    assert last.astimezone(SHANGHAI).weekday() == 0
    verdict = verdict_at(items, last + timedelta(days=3, minutes=30))
    assert verdict.judged and verdict.quiet, verdict.reason
    assert verdict.probability < 0.01
    assert "no new item for 3d 0h" in verdict.reason


def test_a_short_history_is_never_judged() -> None:
    """Ten days of history: not judged, however long the silence."""
    items = china_weekdays(10)
    verdict = verdict_at(items, max(items) + timedelta(days=30))
    assert not verdict.judged and not verdict.quiet
    assert "10 days of history (needs 21)" in verdict.reason


def test_too_few_items_are_never_judged() -> None:
    """Four weeks with one release a week: fewer than 20 items, not judged."""
    items = [START + timedelta(days=7 * w, hours=10) for w in range(5)]
    verdict = verdict_at(items, max(items) + timedelta(days=40))
    assert not verdict.judged and "5 items" in verdict.reason


def test_a_holiday_week_and_a_burst_week_change_nothing() -> None:
    """A week without releases (Golden Week) and a week of many are left out of the rates."""
    plain = china_weekdays(WEEKS_OF_HISTORY)
    holiday = china_weekdays(WEEKS_OF_HISTORY, skip=range(21, 28))
    burst = sorted(holiday + [t + timedelta(minutes=30) for t in plain if t < START + timedelta(7)])
    end = START + timedelta(days=WEEKS_OF_HISTORY)
    base, _, _ = hourly_rates(plain, start=START, end=end, zone=SHANGHAI)
    robust, weeks, _ = hourly_rates(burst, start=START, end=end, zone=SHANGHAI)
    assert weeks == 8
    assert sum(robust) == pytest.approx(sum(base), rel=0.05)
    # The plain mean would have moved by a sixth of a week's releases.
    assert sum(robust[5 * 24 :]) == 0  # still nothing on weekends


def test_the_rates_follow_the_sources_timezone() -> None:
    """Buckets are local hours: Beijing 16:40 is bucket 16, not UTC's 8."""
    items = china_weekdays(WEEKS_OF_HISTORY)
    end = START + timedelta(days=WEEKS_OF_HISTORY)
    rates, _, used = hourly_rates(items, start=START, end=end, zone=SHANGHAI)
    assert len(rates) == HOURS and used == len(items)
    assert rates[16] > rates[8] and rates[16] > 0.3
    assert rates[3] < 0.1  # a weekday night keeps only the shrinkage's small rate
    utc_rates, _, _ = hourly_rates(items, start=START, end=end, zone=UTC)
    assert utc_rates[8] > utc_rates[16]


def test_expected_items_prorates_hours_in_any_offset() -> None:
    """A full week sums every rate; a half hour in a +05:30 zone counts half of its bucket."""
    rates = [float(b % 24 == 10) for b in range(HOURS)]  # one item at 10h every day
    india = ZoneInfo("Asia/Kolkata")
    monday = datetime(2026, 9, 7, 10, 0, tzinfo=india)
    assert expected_items(rates, monday, monday + timedelta(days=7), india) == pytest.approx(7)
    assert expected_items(rates, monday, monday + timedelta(minutes=30), india) == pytest.approx(
        0.5
    )
    plus8 = timezone(timedelta(hours=8))
    assert expected_items(rates, monday, monday, plus8) == 0.0


def test_a_busy_source_silent_for_an_afternoon_is_not_quiet() -> None:
    """Twenty releases a weekday (a State Department pace): six silent working hours are unlikely
    under a Poisson process, but releases come in bursts, so nothing is reported before a day."""
    new_york = ZoneInfo("America/New_York")
    start = datetime(2026, 9, 7, tzinfo=new_york)
    items = [
        start + timedelta(days=d, hours=9, minutes=24 * i)
        for d in range(56)
        if (start + timedelta(days=d)).weekday() < 5
        for i in range(20)
    ]
    last = max(item for item in items if item < start + timedelta(days=51, hours=10))
    history = [item for item in items if item <= last]
    afternoon = judge(
        history, observed_since=start, last_new=last, now=last + timedelta(hours=6), zone=new_york
    )
    assert afternoon.judged and afternoon.probability < 0.01 and not afternoon.quiet
    next_day = judge(
        history, observed_since=start, last_new=last, now=last + timedelta(hours=25), zone=new_york
    )
    assert next_day.quiet, next_day.reason
