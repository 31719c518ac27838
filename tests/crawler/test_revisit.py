"""The revisit plan: decaying checks from the first sighting, spread, restarted by a change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crawler.config import RevisitPlan
from crawler.revisit import next_check_at

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PLAN = RevisitPlan()


def test_checks_follow_the_decaying_plan() -> None:
    """After the first sighting the next checks fall near 1 h, 6 h, 1 d, 3 d, 7 d, 30 d, then monthly."""
    expected = [
        timedelta(hours=1),
        timedelta(hours=6),
        timedelta(days=1),
        timedelta(days=3),
        timedelta(days=7),
        timedelta(days=30),
        timedelta(days=60),
        timedelta(days=90),
    ]
    now = T0
    for step in expected:
        due = next_check_at(PLAN, anchor=T0, now=now, key="https://a.example/1")
        assert T0 + step <= due <= T0 + step + (step * 0.1 + timedelta(days=3)), (step, due - T0)
        now = due


def test_checks_are_spread_across_articles() -> None:
    """Articles first seen together are not all due at the same instant."""
    dues = {
        next_check_at(PLAN, anchor=T0, now=T0, key=f"https://a.example/{i}") for i in range(200)
    }
    assert len(dues) > 150
    assert max(dues) - min(dues) > timedelta(minutes=3)
    assert all(T0 + timedelta(hours=1) <= d <= T0 + timedelta(hours=1, minutes=6) for d in dues)


def test_a_change_restarts_the_fast_end() -> None:
    """Anchoring at the time of a change brings the next check back to about an hour."""
    late = T0 + timedelta(days=45)
    assert next_check_at(PLAN, anchor=T0, now=late, key="k") - late > timedelta(days=10)
    assert next_check_at(PLAN, anchor=late, now=late, key="k") - late <= timedelta(
        hours=1, minutes=6
    )


def test_custom_plan() -> None:
    """A source's own `revisit:` plan is honoured."""
    plan = RevisitPlan.model_validate({"after": ["10m", "2h"], "then_every": "1d"})
    assert next_check_at(plan, anchor=T0, now=T0, key="k") < T0 + timedelta(minutes=11)
    assert (
        T0 + timedelta(days=1)
        < next_check_at(plan, anchor=T0, now=T0 + timedelta(hours=3), key="k")
        < T0 + timedelta(days=1, hours=5)
    )
