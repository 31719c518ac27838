"""What the daemon delivers: the scheduled digest and the immediate watchlist alerts.

- Digest: when `digest.channels` is non-empty, one scheduler job `digest` fires on `digest.cron`
  (evaluated in `digest.timezone`, UTC by default) or every `digest.every`, with max_instances=1
  and coalesce=True (a late fire still runs, once). It runs `digest.delivery.send_scheduled_digest`
  in a thread. A reload adds, removes or reschedules the job; other changes (channels,
  send_empty, alert rules) apply from the next fire.
- Alerts: after a crawl that stored new, changed or restored items, if any alert rule has
  channels, `digest.delivery.send_alerts` runs in a thread, one call at a time (it keeps its own
  cursor, so nothing is sent twice). It also runs once when the daemon starts, before the first
  crawl, and when a reload gives the first rule a channel: on a fresh database that starts the
  alerts cursor, so the articles of the first crawl are alerted; otherwise it sends the matches
  stored while the daemon was not running (e.g. by `mfawatch crawl`).
- A delivery window never ends after the start of a crawl still in flight: that crawl stamps its
  articles from its start but commits them later, and a window closed over them would skip them
  for good. What a window leaves out that way goes with the next delivery (for alerts, the next
  crawl's end checks again until a window was not cut short).
- Cluster mode (several nodes on one PostgreSQL, `mfawatch.cluster_node`): the digest's fire
  and the alerts after a crawl do not deliver here but ask the cluster for it (`ClusterDispatch`):
  the digest once per schedule slot, the alerts one run at a time for the whole cluster; the node
  that takes the job runs `send_digest` / `send_alerts`, and the window waits for crawls in
  flight on every live node.
- A failed delivery (channel down, storage error, anything) is one warning naming the channels
  with their credentials masked, never a traceback, and never stops the daemon; the cursor stays
  where it was, so the next delivery covers the missed items.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger

from crawler.config import Schedule
from crawler.context import SourceResult
from crawler.schedule import SlotTrigger, build_trigger, describe, slot_of
from digest.alerts import AlertRule, AlertRuleError, rules_from
from digest.delivery import send_alerts, send_scheduled_digest
from digest.notify import NotifyError, mask
from mfawatch.settings.models import DigestSettings, Settings
from storage.engine import Database

log = logging.getLogger("mfawatch.daemon")

DIGEST_JOB = "digest"


def _schedule(digest: DigestSettings) -> Schedule:
    return Schedule(cron=digest.cron, every=digest.every, jitter=timedelta(0))


def digest_trigger(digest: DigestSettings) -> BaseTrigger:
    """The APScheduler trigger of the scheduled digest (cron in `digest.timezone`, or interval)."""
    return build_trigger(_schedule(digest), digest.timezone)


def _when(digest: DigestSettings) -> str:
    zone = f" ({digest.timezone})" if digest.cron is not None else ""
    return describe(_schedule(digest)) + zone


def _timing(digest: DigestSettings | None) -> tuple[object, ...] | None:
    return None if digest is None else (digest.cron, digest.every, digest.timezone)


def _failed(what: str, channels: Iterable[str], exc: BaseException) -> None:
    if isinstance(exc, NotifyError):  # its message names the failing channels, masked
        log.warning("%s failed: %s; the next delivery covers its items", what, exc)
        return
    # Anything else may quote a channel URL: mask its message too.
    log.warning(
        "%s to %s failed (%s: %s); the next delivery covers its items",
        what,
        ", ".join(mask(c) for c in channels) or "-",
        type(exc).__name__,
        mask(str(exc)),
    )


class ClusterDispatch(Protocol):
    """What a cluster node offers the deliveries: deferring them to one node of the cluster."""

    async def defer_digest(self, slot: int) -> bool:
        """Queue the digest delivery of `slot` unless a node already did."""
        ...

    async def defer_alerts(self) -> None:
        """Queue one run of the watchlist alerts."""
        ...


class Deliveries:
    """The digest job and the watchlist alerts of one daemon, kept in step with its config."""

    def __init__(
        self,
        db: Database,
        scheduler: BaseScheduler,
        *,
        in_flight: Callable[[], Iterable[datetime]],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cluster: ClusterDispatch | None = None,
    ) -> None:
        self._db = db
        self._cluster = cluster
        self._scheduler = scheduler
        self._in_flight = in_flight
        self._clock = clock
        self._digest: DigestSettings | None = None  # the scheduled one: it has channels
        self._rules: tuple[AlertRule, ...] = ()
        self._alerts_lock = asyncio.Lock()
        self._alerts_due = False

    @property
    def alerting(self) -> bool:
        """Whether any watchlist rule has a channel to send to."""
        return any(rule.channels for rule in self._rules)

    async def apply(self, settings: Settings) -> None:
        """Match the digest job and the alert rules to `settings` (at start and on every reload)."""
        was_alerting = self.alerting
        try:
            self._rules = rules_from(settings.alerts)
        except AlertRuleError as exc:  # the config check should have caught it; keep running
            log.error("watchlist alerts off: %s", exc)
            self._rules = ()
        self._sync_digest(settings.digest)
        if self.alerting and not was_alerting:
            names = ", ".join(r.name for r in self._rules if r.channels)
            log.info("watchlist alerts on: %s", names)
            await self._alerts_now_or_queued()
        elif was_alerting and not self.alerting:
            log.info("watchlist alerts off: no alert rule has channels")

    def _sync_digest(self, digest: DigestSettings | None) -> None:
        wanted = digest if digest is not None and digest.channels else None
        old, self._digest = self._digest, wanted
        if wanted == old:
            return
        if wanted is None:
            self._scheduler.remove_job(DIGEST_JOB)
            log.info("digest delivery removed (no `digest.channels`)")
        elif old is None:
            self._scheduler.add_job(
                self._fire_digest,
                self._trigger(wanted),
                id=DIGEST_JOB,
                name="deliver the digest",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
                replace_existing=True,
            )
            log.info(
                "digest delivery scheduled: %s to %d channel(s)",
                _when(wanted),
                len(wanted.channels),
            )
        elif _timing(wanted) != _timing(old):
            self._scheduler.reschedule_job(DIGEST_JOB, trigger=self._trigger(wanted))
            log.info("digest delivery rescheduled: %s", _when(wanted))

    def _trigger(self, digest: DigestSettings) -> BaseTrigger:
        # In a cluster every node fires on the same slots (the first defers, the others find it).
        if self._cluster is not None and digest.every is not None:
            return SlotTrigger(digest.every.total_seconds())
        return digest_trigger(digest)

    def _window_end(self) -> tuple[datetime, bool]:
        """Now, or the start of the earliest crawl in flight; and whether it was cut short."""
        now = self._clock()
        earliest = min(self._in_flight(), default=now)
        return (earliest, True) if earliest < now else (now, False)

    async def _fire_digest(self) -> None:
        if self._cluster is None:
            await self.send_digest()
            return
        digest = self._digest
        if digest is not None:
            slot = slot_of(_schedule(digest), digest.timezone, self._clock())
            await self._cluster.defer_digest(slot)

    async def _alerts_now_or_queued(self, source: str | None = None) -> None:
        if self._cluster is None:
            await self.send_alerts(source)
        else:
            self._alerts_due = False
            await self._cluster.defer_alerts()

    async def send_digest(self) -> None:
        """Deliver the scheduled digest now (the body of the digest job, in both modes)."""
        digest, rules = self._digest, self._rules
        if digest is None:
            return
        until, _ = self._window_end()
        try:
            result = await asyncio.to_thread(
                send_scheduled_digest,
                self._db,
                digest.channels,
                send_empty=digest.send_empty,
                alerts=rules,
                now=until,
            )
        except asyncio.CancelledError:  # the daemon stops; the next run covers this window
            return
        except Exception as exc:
            _failed("digest delivery", digest.channels, exc)
            return
        if result.sent:
            log.info("digest sent to %d channel(s)", result.channels)
        else:
            log.info("digest not sent: %s", result.reason)

    async def after_crawl(self, source: str, result: SourceResult) -> None:
        """Send the watchlist alerts when the crawl stored anything (or earlier ones are pending)."""
        stored = bool(result.new or result.changed or result.restored)
        self._alerts_due = self._alerts_due or stored
        if self._alerts_due and self.alerting:
            await self._alerts_now_or_queued(source if stored else None)

    async def send_alerts(self, source: str | None = None) -> None:
        """Run `send_alerts` once (one call at a time); log what it sent, warn when it failed."""
        async with self._alerts_lock:
            rules = self._rules
            until, cut_short = self._window_end()
            try:
                results = await asyncio.to_thread(send_alerts, self._db, rules, now=until)
            except asyncio.CancelledError:
                return
            except Exception as exc:
                self._alerts_due = True
                _failed("watchlist alerts", _channels(rules), exc)
                return
            self._alerts_due = cut_short
        sent = [f"{name} ({d.channels} channel(s))" for name, d in results.items() if d.sent]
        extra = {"source": source} if source else {}
        if sent:
            log.info("watchlist alerts sent: %s", ", ".join(sent), extra=extra)
        elif source is not None:
            log.info("watchlist alerts after source %s: nothing to send", source, extra=extra)


def _channels(rules: Sequence[AlertRule]) -> list[str]:
    return list(dict.fromkeys(c for rule in rules for c in rule.channels))
