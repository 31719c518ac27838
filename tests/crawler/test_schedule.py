"""Tests of the per-source scheduling: triggers, crontab weekdays, job sync, and next-run times."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.config import Schedule, Source
from crawler.schedule import (
    SourceJobs,
    build_trigger,
    crontab_weekdays,
    describe,
    job_id,
    next_run_after,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


def make_source(key: str, **schedule: object) -> Source:
    """A minimal html source with the given schedule keys."""
    return Source.model_validate(
        {
            "key": key,
            "name": f"Source {key}",
            "country": "CN",
            "schedule": schedule or {"every": "10m", "jitter": "0s"},
            "listings": [{"url": f"http://127.0.0.1:9/{key}/"}],
            "list": {"item": "li"},
        }
    )


def test_interval_trigger_uses_every_and_jitter() -> None:
    """`every: 10m, jitter: 30s` becomes a 600 s interval trigger with 30 s jitter."""
    trigger = build_trigger(Schedule.model_validate({"every": "10m", "jitter": "30s"}))
    assert isinstance(trigger, IntervalTrigger)
    assert trigger.interval == timedelta(minutes=10)
    assert trigger.jitter == 30


def test_zero_jitter_means_no_jitter() -> None:
    """`jitter: 0s` gives a trigger without jitter, so fire times are exact."""
    trigger = build_trigger(Schedule.model_validate({"every": "2s", "jitter": "0s"}))
    assert trigger.jitter is None


def test_cron_trigger_runs_in_the_source_zone() -> None:
    """A cron schedule fires at its wall-clock time in the source's own time zone."""
    schedule = Schedule.model_validate({"cron": "0 9 * * *", "jitter": "0s"})
    trigger = build_trigger(schedule, "Asia/Shanghai")
    assert isinstance(trigger, CronTrigger)
    fire = trigger.get_next_fire_time(None, NOW)
    assert fire is not None
    local = fire.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (local.hour, local.minute) == (9, 0)
    assert fire.astimezone(UTC) == datetime(2026, 3, 3, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("*", "*"),
        ("0", "sun"),
        ("7", "sun"),
        ("1", "mon"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("5-7", "sun,fri,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("1,3", "mon,wed"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
    ],
)
def test_crontab_weekdays_count_sunday_as_zero(field: str, expected: str) -> None:
    """Crontab weekday numbers (0/7 = Sunday) are translated to names APScheduler 3 reads right."""
    assert crontab_weekdays(field) == expected


def test_cron_weekday_one_is_monday() -> None:
    """`0 9 * * 1` fires on a Monday, as in crontab (APScheduler 3 alone would pick Tuesday)."""
    trigger = build_trigger(Schedule.model_validate({"cron": "0 9 * * 1", "jitter": "0s"}))
    fire = trigger.get_next_fire_time(None, NOW + timedelta(hours=1))  # after Monday 09:00
    assert fire is not None
    assert fire.weekday() == 0
    assert fire.date() == datetime(2026, 3, 9).date()


@pytest.mark.parametrize("field", ["8", "funday", "5-1"])
def test_bad_weekday_field_is_rejected(field: str) -> None:
    """A weekday outside 0-7, an unknown name or a backwards range is refused with a reason."""
    with pytest.raises(ValueError, match="weekday"):
        crontab_weekdays(field)


def test_next_run_of_an_interval_source_follows_its_last_run() -> None:
    """An interval source is next due one interval after its last run started."""
    schedule = Schedule.model_validate({"every": "15m"})
    last = NOW - timedelta(minutes=5)
    assert next_run_after(schedule, "UTC", last_started=last, now=NOW) == last + timedelta(
        minutes=15
    )
    assert next_run_after(schedule, "UTC", last_started=None, now=NOW) is None


def test_next_run_of_a_cron_source_is_its_next_fire_time() -> None:
    """A cron source is next due at the first fire time after now, whatever its last run."""
    schedule = Schedule.model_validate({"cron": "*/10 * * * *", "jitter": "5m"})
    got = next_run_after(schedule, "UTC", last_started=None, now=NOW + timedelta(minutes=1))
    assert got == NOW + timedelta(minutes=10)


def test_describe_schedules() -> None:
    """Schedules read back in words, with their jitter."""
    assert describe(Schedule.model_validate({"every": "10m", "jitter": "30s"})) == (
        "every 10m (jitter 30s)"
    )
    assert (
        describe(Schedule.model_validate({"cron": "0 7 * * *", "jitter": "0s"})) == "cron 0 7 * * *"
    )


async def _noop(source: Source) -> None:
    return None


async def test_sync_adds_one_job_per_enabled_source() -> None:
    """Each enabled source gets one job with max_instances=1, coalescing and no misfire limit."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    jobs = SourceJobs(scheduler, _noop)
    disabled = make_source("c").model_copy(update={"enabled": False})
    changes = jobs.sync([make_source("a"), make_source("b", cron="0 * * * *"), disabled])
    assert changes.added == ("a", "b")
    scheduler.start(paused=True)
    try:
        ids = sorted(job.id for job in scheduler.get_jobs())
        assert ids == [job_id("a"), job_id("b")]
        job = scheduler.get_job(job_id("a"))
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, None)
        assert job.args[0].key == "a"
    finally:
        scheduler.shutdown(wait=False)


async def test_sync_removes_reschedules_and_updates() -> None:
    """A second sync removes dropped sources, reschedules changed timing and updates other changes."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    jobs = SourceJobs(scheduler, _noop)
    jobs.sync([make_source("a"), make_source("b"), make_source("c")])
    scheduler.start(paused=True)
    try:
        b2 = make_source("b", every="1h", jitter="0s")
        c2 = make_source("c").model_copy(update={"name": "Renamed"})
        changes = jobs.sync([b2, c2, make_source("d")])
        assert changes.removed == ("a",)
        assert changes.added == ("d",)
        assert changes.rescheduled == ("b",)
        assert changes.updated == ("c",)
        assert scheduler.get_job(job_id("a")) is None
        trigger = scheduler.get_job(job_id("b")).trigger
        assert trigger.interval == timedelta(hours=1)
        assert scheduler.get_job(job_id("c")).args[0].name == "Renamed"
        assert not jobs.sync([b2, c2, make_source("d")])
    finally:
        scheduler.shutdown(wait=False)


async def test_interval_source_runs_at_once_and_then_every_interval() -> None:
    """An interval source runs right away when scheduled, then again after its interval."""
    calls: list[str] = []
    done = asyncio.Event()

    async def record(source: Source) -> None:
        calls.append(source.key)
        if len(calls) >= 2:
            done.set()

    scheduler = AsyncIOScheduler(timezone=UTC)
    jobs = SourceJobs(scheduler, record)
    jobs.sync([make_source("fast", every="1s", jitter="0s")])
    scheduler.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=10)
    finally:
        scheduler.shutdown(wait=False)
    assert calls[:2] == ["fast", "fast"]


async def test_a_slow_run_is_never_started_twice() -> None:
    """While a source's run is still going, its next fire time does not start a second one."""
    running = 0
    peak = 0
    finished = asyncio.Event()
    runs = 0

    async def slow(source: Source) -> None:
        nonlocal running, peak, runs
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(2.5)
        running -= 1
        runs += 1
        finished.set()

    scheduler = AsyncIOScheduler(timezone=UTC)
    jobs = SourceJobs(scheduler, slow)
    jobs.sync([make_source("slow", every="1s", jitter="0s")])
    scheduler.start()
    try:
        await asyncio.wait_for(finished.wait(), timeout=10)
    finally:
        scheduler.shutdown(wait=False)
    assert peak == 1
    assert runs >= 1
