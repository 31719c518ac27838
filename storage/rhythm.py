"""A source's publication rhythm, and whether its silence is unlikely under it (pure, no I/O).

The model: new items arrive as a Poisson process whose rate depends on the hour of the week
(weekday x hour, 168 buckets) in the source's own timezone.

- History: the items of the last `WEEKS` whole weeks (7-day blocks counted back from the last new
  item, never before the source was first crawled). Counting back from the last item, and not
  from now, keeps the silence being judged out of the estimate: a source cannot talk itself out
  of `quiet` by staying silent longer.
- Robust to holidays and bursts: the weeks are ranked by their number of items and the `trim`
  fullest and emptiest are left out (`trim = max(1, weeks // 5)`: of 3 weeks the middle one, of
  8 weeks the middle 6), so a holiday week, or a crisis week of many statements, changes nothing.
- Smoothing and shrinkage: each bucket's mean over the kept weeks is smoothed with its neighbour
  hours (1/4, 1/2, 1/4: a release at 15:05 one day and 14:55 the next is one habit), then shrunk
  toward its weekday's mean hourly rate with `PRIOR_WEEKS` pseudo-weeks. A weekday night keeps a
  small rate; a day of the week on which the source never published keeps none (its mean is 0).
- The test: with E the sum of the expected rates over the hours elapsed since the last new item
  (partial hours prorated), the probability of seeing nothing is P = exp(-E). The source is
  `quiet` when P < `THRESHOLD` (1 %, i.e. E > 4.6 items expected and none came).
- Never quiet before `MIN_SILENCE` (a day) without a new item: releases come in bursts (a
  summit, a crisis), more bunched than a Poisson process, so over a few hours the model would be
  too sure. A busy source silent for an afternoon is not reported; one silent for a working day is.
- Never judged: less than `MIN_DAYS` (21) of history, or fewer than `MIN_ITEMS` (20) items in it.

A weekday publisher silent over a weekend has E near 0 for Saturday and Sunday, so it is not
quiet; silent for three weekdays it has missed about three days of releases, P is tiny, it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

WEEKS = 8  # whole weeks of history the rates are learned from
MIN_DAYS = 21  # a source observed for less is never judged
MIN_ITEMS = 20  # ... nor one with fewer items in its history
THRESHOLD = 0.01  # quiet when P(no item since the last one) is below this
MIN_SILENCE = timedelta(hours=24)  # never quiet after less time than this without a new item
PRIOR_WEEKS = 2.0  # weight of the weekday mean in each bucket's estimate, in weeks
HOURS = 168
_WEEK = timedelta(days=7)
_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the rhythm says of a source's silence at `now`.

    `judged` is False when the history is too short (then `quiet` is False and `reason` says
    why); otherwise `expected` is the number of items the rhythm expected since the last one and
    `probability` that of seeing none.
    """

    judged: bool
    quiet: bool
    reason: str
    expected: float = 0.0
    probability: float = 1.0
    silent_for: timedelta = timedelta(0)

    def describe(self) -> str:
        """One line for logs, `status` and the digest, e.g. `no new item for 3d 2h; ...`."""
        return self.reason


def _bucket(at: datetime, zone: tzinfo) -> int:
    local = at.astimezone(zone)
    return local.weekday() * 24 + local.hour


def _span(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if days else f"{hours}h"


def hourly_rates(
    items: Sequence[datetime], *, start: datetime, end: datetime, zone: tzinfo
) -> tuple[list[float], int, int]:
    """Items expected per hour of the week (168 values, Monday 00h first, in `zone`).

    Learned from the items in the whole weeks counted back from `end` (at most `WEEKS`, none
    starting before `start`). Returns (rates, weeks used, items in them).
    """
    weeks = min(WEEKS, int((end - start) / _WEEK))
    if weeks <= 0:
        return [0.0] * HOURS, 0, 0
    first = end - weeks * _WEEK
    counts = [[0] * HOURS for _ in range(weeks)]
    used = 0
    for at in items:
        if first <= at <= end:  # the last item (at `end`) belongs to the last week
            counts[min(int((at - first) / _WEEK), weeks - 1)][_bucket(at, zone)] += 1
            used += 1
    ranked = sorted(counts, key=sum)
    trim = max(1, weeks // 5) if weeks >= 3 else 0
    kept = ranked[trim : weeks - trim]
    n = len(kept)
    mean = [sum(column) / n for column in zip(*kept, strict=True)]
    smooth = [
        0.25 * mean[(b - 1) % HOURS] + 0.5 * mean[b] + 0.25 * mean[(b + 1) % HOURS]
        for b in range(HOURS)
    ]
    rates = []
    for day in range(7):
        hours = smooth[day * 24 : day * 24 + 24]
        day_mean = sum(hours) / 24
        rates += [(n * r + PRIOR_WEEKS * day_mean) / (n + PRIOR_WEEKS) for r in hours]
    return rates, weeks, used


def expected_items(rates: Sequence[float], since: datetime, until: datetime, zone: tzinfo) -> float:
    """The sum of `rates` over (since, until], hour by hour in `zone` (partial hours prorated)."""
    if until <= since:
        return 0.0
    total_hours = (until - since) / _HOUR
    whole_weeks = int(total_hours // HOURS)
    total = whole_weeks * sum(rates)
    at = since + whole_weeks * _WEEK
    while at < until:
        local = at.astimezone(zone)
        into = timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
        step = min(at + _HOUR - into, until) - at
        total += rates[local.weekday() * 24 + local.hour] * (step / _HOUR)
        at += step
    return total


def judge(
    items: Sequence[datetime],
    *,
    observed_since: datetime,
    last_new: datetime,
    now: datetime,
    zone: tzinfo,
) -> Verdict:
    """Whether a source whose last new item came at `last_new` is quiet at `now`.

    `items` are the publication times of its history (see the module docstring), and
    `observed_since` when it was first crawled.
    """
    silent = max(now - last_new, timedelta(0))
    if last_new - observed_since < timedelta(days=MIN_DAYS):
        days = (last_new - observed_since) / timedelta(days=1)
        return Verdict(False, False, f"not judged: {days:.0f} days of history (needs {MIN_DAYS})")
    rates, weeks, used = hourly_rates(items, start=observed_since, end=last_new, zone=zone)
    if used < MIN_ITEMS:
        return Verdict(
            False, False, f"not judged: {used} items in {weeks} weeks (needs {MIN_ITEMS})"
        )
    expected = expected_items(rates, last_new, now, zone)
    probability = math.exp(-expected)
    quiet = probability < THRESHOLD and silent >= MIN_SILENCE
    reason = (
        f"no new item for {_span(silent)}; its rhythm ({weeks} weeks, {used} items) expected "
        f"{expected:.1f}, P(none) = {probability:.2%}"
    )
    return Verdict(True, quiet, reason, expected, probability, silent)
