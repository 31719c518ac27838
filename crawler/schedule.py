"""Scheduling: one APScheduler 3 job per enabled source, kept in step with the configuration.

`SourceJobs` owns the jobs of an `AsyncIOScheduler` (in-memory job store). Each source gets one
job with id `source:<key>`:

- `schedule: {every: 10m}` becomes an interval trigger; `{cron: "*/10 * * * *"}` a cron trigger
  evaluated in the source's own `timezone` (UTC by default, never the machine's zone), with crontab
  weekday numbers (0 and 7 are Sunday) — APScheduler 3 counts 0 as Monday, so they are translated.
- `jitter` delays every run by up to that long, so sources on one interval do not fire together.
  (APScheduler 3 counts an interval from the previous, jittered, run: the mean period of an
  interval source is `every` + `jitter`/2.)
- `max_instances=1`: a source still crawling when its next run comes is not started twice;
  `coalesce=True`: runs missed while the loop was busy or the machine asleep collapse into one.
- `misfire_grace_time=None`: a late run still happens (once, coalesced) however late it is; a
  skipped poll could only delay a release, never save work.
- Interval sources run once right away when scheduled (a daemon start or a newly added source),
  within their jitter; cron sources wait for their first fire time.

In cluster mode (`SourceJobs(..., aligned=True)`) every node runs the same jobs, so the fire
times must name the same *slot* on every node: an interval source fires at the multiples of
`every` since the epoch (plus its jitter, at most half of `every`), and `slot_of` gives the slot a
fire belongs to (the start of its interval, or the cron fire time it follows). The engine then
defers one poll per source and slot, whichever node fires first.

The callable run for each source is injected, so this module knows nothing of fetching or
storage. Revisits of known articles run inside each source's crawl, so there is no separate job.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.config import Schedule, Source

JOB_PREFIX = "source:"
SourceRunner = Callable[[Source], Awaitable[object]]

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def job_id(key: str) -> str:
    """The scheduler job id of a source."""
    return JOB_PREFIX + key


def _weekday_number(token: str) -> int:
    token = token.strip().lower()
    if token.isdigit():
        n = int(token)
        if not 0 <= n <= 7:
            raise ValueError(f"weekday {token!r} out of range 0-7")
        return n % 7
    if token[:3] in _WEEKDAYS:
        return _WEEKDAYS.index(token[:3])
    raise ValueError(f"unknown weekday {token!r} (use 0-7 or sun..sat)")


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field (0 or 7 = Sunday) as APScheduler 3 weekday names.

    `1-5` becomes `mon,tue,wed,thu,fri`, `*/2` becomes `sun,tue,thu,sat`; `*` stays `*`.
    """
    if field.strip() == "*":
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"weekday step {step_text!r} must be at least 1")
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            lo, hi = base.split("-", 1)
            first, last = _weekday_number(lo), _weekday_number(hi)
            if hi.strip() == "7":  # `5-7` is Friday to Sunday, not an empty range
                last = 7
        else:
            first = last = _weekday_number(base)
            if step_text:  # `1/2` in crontab means "from Monday, every second day"
                last = 6
        if last < first:
            raise ValueError(f"weekday range {base!r} runs backwards")
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(_WEEKDAYS[d] for d in sorted(days))


def build_trigger(schedule: Schedule, zone: str = "UTC") -> BaseTrigger:
    """The APScheduler trigger for a source's `schedule` (cron evaluated in `zone`)."""
    jitter = int(schedule.jitter.total_seconds()) or None
    if schedule.every is not None:
        return IntervalTrigger(seconds=schedule.every.total_seconds(), jitter=jitter, timezone=UTC)
    assert schedule.cron is not None  # Schedule's validator guarantees one of the two
    minute, hour, day, month, weekday = schedule.cron.split()
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_weekdays(weekday),
        timezone=ZoneInfo(zone),
        jitter=jitter,
    )


def next_run_after(
    schedule: Schedule, zone: str, *, last_started: datetime | None, now: datetime
) -> datetime | None:
    """When a source is next due, from its schedule and its last run (jitter not included).

    An interval source is due one interval after its last run started (None when it never ran:
    the daemon polls it as soon as it starts); a cron source at the first fire time after `now`.
    A time in the past means "due now".
    """
    if schedule.every is not None:
        return None if last_started is None else last_started + schedule.every
    trigger = build_trigger(schedule.model_copy(update={"jitter": timedelta(0)}), zone)
    fire: datetime | None = trigger.get_next_fire_time(None, now)
    return fire.astimezone(UTC) if fire is not None else None


def _cluster_jitter(schedule: Schedule) -> float:
    """The jitter of an aligned interval source: at most half its interval, so a fire stays in its slot."""
    assert schedule.every is not None
    return min(schedule.jitter.total_seconds(), schedule.every.total_seconds() / 2)


class SlotTrigger(BaseTrigger):
    """An interval trigger aligned on the epoch: fires at each multiple of `every` plus a jitter.

    Unlike APScheduler's interval trigger, the next fire follows the previous *slot*, not the
    previous jittered fire, so every node of a cluster agrees on the slots.
    """

    def __init__(self, every: float, jitter: float = 0.0) -> None:
        self.every = every
        self.jitter = jitter

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """The start of the next slot after the previous fire (or after now), plus jitter."""
        after = (previous_fire_time or now).timestamp()
        slot = (int(after // self.every) + 1) * self.every
        spread = random.uniform(0, self.jitter) if self.jitter else 0.0
        return datetime.fromtimestamp(slot + spread, UTC)

    def __str__(self) -> str:
        return f"slot[every {self.every:g}s, jitter {self.jitter:g}s]"


def slot_of(schedule: Schedule, zone: str, now: datetime) -> int:
    """The slot a fire at `now` belongs to, as epoch seconds (the same on every node).

    Interval: the start of the interval holding `now`; cron: the latest fire time not after `now`
    (jitter is smaller than the gap between two fires).
    """
    if schedule.every is not None:
        every = schedule.every.total_seconds()
        return int(now.timestamp() // every * every)
    trigger = build_trigger(schedule.model_copy(update={"jitter": timedelta(0)}), zone)
    lookback = timedelta(minutes=1)
    while True:  # find a fire at or before `now` (doubling the look back), then walk forward
        fire = trigger.get_next_fire_time(None, now - lookback)
        if fire is not None and fire <= now:
            break
        if lookback > timedelta(days=800):  # a cron that never fired (e.g. Feb 30)
            return int(now.timestamp())
        lookback *= 2
    while True:
        later = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if later is None or later > now:
            return int(fire.timestamp())
        fire = later


def describe(schedule: Schedule) -> str:
    """A schedule in words: `every 10m` or `cron */10 * * * *`, plus its jitter."""
    if schedule.every is not None:
        what = f"every {_span(schedule.every)}"
    else:
        what = f"cron {schedule.cron}"
    return what + (f" (jitter {_span(schedule.jitter)})" if schedule.jitter else "")


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class JobChanges:
    """What a `sync` did to the jobs, by source key."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    rescheduled: tuple[str, ...] = ()  # the schedule itself changed
    updated: tuple[str, ...] = ()  # other settings changed; the timing is kept

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.rescheduled or self.updated)


class SourceJobs:
    """The per-source jobs of one scheduler, kept equal to a list of sources by `sync`."""

    def __init__(
        self,
        scheduler: BaseScheduler,
        run: SourceRunner,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        aligned: bool = False,
    ) -> None:
        self._scheduler = scheduler
        self._aligned = aligned
        self._run = run
        self._clock = clock
        self._sources: dict[str, Source] = {}

    @property
    def sources(self) -> dict[str, Source]:
        """The scheduled sources by key (a copy)."""
        return dict(self._sources)

    def sync(self, sources: Iterable[Source]) -> JobChanges:
        """Add, remove, reschedule or update jobs so that exactly the enabled `sources` are scheduled."""
        wanted = {s.key: s for s in sources if s.enabled}
        added, removed, rescheduled, updated = [], [], [], []
        for key in list(self._sources):
            if key not in wanted:
                self._scheduler.remove_job(job_id(key))
                del self._sources[key]
                removed.append(key)
        for key, source in wanted.items():
            old = self._sources.get(key)
            if old is None:
                self._add(source)
                added.append(key)
            elif old != source:
                timing_changed = (old.schedule, old.timezone) != (source.schedule, source.timezone)
                self._scheduler.modify_job(job_id(key), args=(source,), name=_name(source))
                if timing_changed:
                    self._scheduler.reschedule_job(job_id(key), trigger=self._trigger(source))
                    rescheduled.append(key)
                else:
                    updated.append(key)
            self._sources[key] = source
        return JobChanges(tuple(added), tuple(removed), tuple(rescheduled), tuple(updated))

    def _trigger(self, source: Source) -> BaseTrigger:
        if self._aligned and source.schedule.every is not None:
            return SlotTrigger(
                source.schedule.every.total_seconds(), _cluster_jitter(source.schedule)
            )
        return build_trigger(source.schedule, source.timezone)

    def _add(self, source: Source) -> None:
        trigger = self._trigger(source)
        first: datetime | None = None
        if source.schedule.every is not None:
            jitter = source.schedule.jitter.total_seconds()
            spread = random.uniform(
                0, _cluster_jitter(source.schedule) if self._aligned else jitter
            )
            first = self._clock() + timedelta(seconds=spread)
        self._scheduler.add_job(
            self._run,
            trigger,
            args=(source,),
            id=job_id(source.key),
            name=_name(source),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            replace_existing=True,
            # APScheduler computes the first fire time from the trigger when none is given.
            **({"next_run_time": first} if first is not None else {}),
        )


def _name(source: Source) -> str:
    return f"crawl {source.key}"
