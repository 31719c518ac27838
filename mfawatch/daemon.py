"""`mfawatch run`: the long-running daemon that polls every enabled source on its schedule.

What it wires, once per process: the daemon lock (one daemon per SQLite file), the database, one
`CrawlContext` (`mfawatch.bootstrap`: the shared `Fetcher`, the parse workers, one writer), and an APScheduler `AsyncIOScheduler` whose per-source jobs
(`crawler.schedule.SourceJobs`) call `crawler.pipeline.crawl_source`. Catch-up pagination and the
due revisits of known articles happen inside each source's crawl.

Signals:
- SIGTERM / SIGINT: stop taking work (the scheduler is paused and no new crawl starts), give the
  crawls in flight `shutdown_grace` seconds to finish, cancel the rest (each article is stored in
  its own transaction, so a cancelled one rolls back whole), close the fetcher and exit 0. A second
  signal cancels at once. The whole stop takes well under 10 s.
- SIGHUP, or a changed mtime of the config file with `--watch-config`: reload the YAML. An invalid
  new file is logged with every problem and the running configuration stays in force; otherwise
  jobs are added, removed, rescheduled or updated to match. (`http:` settings belong to the
  shared client and take effect at the next start.) A cluster node also takes the queues the new
  config asks of it, at once (`_requeue`).

Deliveries (`mfawatch.scheduled_delivery`): the `digest:` section schedules one more job, `digest`, that
mails (or posts) the whole digest; a crawl that stored new or changed items is followed by the
watchlist alerts of `alerts:` rules that have channels. A failed delivery is a warning, never a
stop.

On PostgreSQL the daemon is a cluster node (`mfawatch.cluster_node`): the same scheduler fires,
but a fire defers the job to the cluster's queue (once per source and schedule slot) and the
node's worker runs whatever job the queue gives it, through the same job bodies (`_crawl`, the
deliveries' `send_digest` and `send_alerts`). On SQLite the fire runs the job here.

After each crawl the source's health (`ok`, `failing`, `broken`, `blocked`, `quiet`) is stored; a
change of health is logged once (a warning when it worsens, info when it recovers), not on every poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import OperationalError

from crawler.config import Source
from crawler.context import CrawlContext, SourceResult
from crawler.errors import ConfigError, MfawatchError
from crawler.pipeline import crawl_source
from crawler.schedule import JOB_PREFIX, JobChanges, SourceJobs, slot_of
from mfawatch.bootstrap import crawl_context
from mfawatch.cluster_node import (
    ClusterNode,
    HandBack,
    NodeOptions,
    conninfo,
    queue_of,
    queues_for,
)
from mfawatch.gc_tuning import tune_for_crawling
from mfawatch.health import record_health
from mfawatch.host_pace import ClusterHostSlots
from mfawatch.lock import LocalSourceClaim, SourceClaim
from mfawatch.metrics import Metrics, monitoring_routes
from mfawatch.pairing import pair_stored, read_officials
from mfawatch.scheduled_delivery import DIGEST_JOB, Deliveries
from mfawatch.settings.loader import load_config
from mfawatch.settings.models import Settings
from storage import sources
from storage.engine import Database
from storage.errors import StorageError
from storage.outage import Outage

log = logging.getLogger("mfawatch.daemon")

# Failures of a crawl as a whole that are not bugs (e.g. the database went away): no traceback.
EXPECTED_FAILURES = (MfawatchError, StorageError, OperationalError)


class _NoOverrunWarnings(logging.Filter):
    """Drops APScheduler's warning on every fire skipped while a crawl still runs (see `_overrun`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


@dataclass(frozen=True)
class DaemonOptions:
    """How the daemon behaves (CLI flags of `mfawatch run`)."""

    watch_config: bool = False
    metrics_port: int | None = None  # serve /metrics and /healthz on this port (0: none)
    metrics_host: str = "127.0.0.1"
    config_poll: float = 2.0  # seconds between two looks at the config file's mtime
    shutdown_grace: float = 6.0  # seconds in-flight crawls get before they are cancelled


def _config_signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _sync_source_rows(db: Database, settings: Settings) -> None:
    with db.session() as s:
        sources.sync_sources(
            s,
            [
                sources.SourceInfo(src.key, src.name, src.country, src.language, src.timezone)
                for src in settings.enabled_sources()
            ],
        )


class Daemon:
    """One running daemon: scheduler, shared fetcher, signal handling and config reloads."""

    def __init__(
        self,
        config_path: Path,
        settings: Settings,
        db: Database,
        options: DaemonOptions | None = None,
        *,
        claim: SourceClaim | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        node: NodeOptions | None = None,
    ) -> None:
        self.config_path = config_path
        self.settings = settings
        self.db = db
        self.options = options or DaemonOptions()
        self.claim: SourceClaim = claim or LocalSourceClaim()
        self.clock = clock
        self._ctx: CrawlContext | None = None
        self._jobs: SourceJobs | None = None
        self._inflight: set[asyncio.Task[object]] = set()
        self._stop = asyncio.Event()
        self._stopping = False
        self._reload_lock = asyncio.Lock()
        self._config_sig = _config_signature(config_path)
        self._background: set[asyncio.Task[object]] = set()
        self._scheduler_stopped = False
        self._overrun_reported: set[str] = set()
        self._crawl_starts: dict[str, datetime] = {}  # source key -> start of its crawl in flight
        self.officials = read_officials(config_path, settings)  # re-read on reload
        self._deliveries: Deliveries | None = None
        self.node_options = node
        self.metrics = Metrics(db, clock=clock)
        self._metrics_server: Any = None
        self._metrics_task: asyncio.Future[Any] | None = None
        self._node: ClusterNode | None = None
        self._outage: Outage | None = None  # cluster mode: PostgreSQL away (storage.outage)

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT (or `request_stop`), then stop cleanly."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload, "SIGHUP")
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_listener(self._overrun, EVENT_JOB_MAX_INSTANCES)
        overrun_filter = _NoOverrunWarnings()
        logging.getLogger("apscheduler.scheduler").addFilter(overrun_filter)
        slots = None
        if self.node_options is not None:  # politeness shared by every node of the cluster
            slots = ClusterHostSlots(conninfo(self.db.url))
            await slots.open()
            # One outage for the node: its worker, heartbeat and writer warn once between them.
            self._outage = Outage(self.db.location)
        try:
            async with crawl_context(  # the workers are kept across reloads
                self.db,
                self.settings.http,
                self.settings.parse,
                clock=self.clock,
                shared_writer=True,
                slots=slots,
                outage=self._outage,
            ) as ctx:
                self._ctx = ctx
                _sync_source_rows(self.db, self.settings)
                in_flight: Callable[[], Iterable[datetime]] = self._crawl_starts.values
                if self.node_options is not None:
                    ctx.node = self.node_options.name
                    self._node = self._cluster_node(self.node_options)
                    await self._node.start()
                    in_flight = self._node.runs_in_flight
                runner = self._crawl if self._node is None else self._defer_poll
                self._jobs = SourceJobs(
                    scheduler, runner, clock=self.clock, aligned=self._node is not None
                )
                self._jobs.sync(self.settings.sources)
                self._deliveries = Deliveries(
                    self.db, scheduler, in_flight=in_flight, clock=self.clock, cluster=self._node
                )
                await self._deliveries.apply(self.settings)
                scheduler.start()
                if self.options.metrics_port:
                    await self._serve_metrics(self.options.metrics_host, self.options.metrics_port)
                if self.options.watch_config:
                    self._spawn(self._watch_config())
                enabled = [s.key for s in self.settings.enabled_sources()]
                log.info(
                    "daemon started (pid %d): %d source(s) scheduled from %s%s",
                    os.getpid(),
                    len(enabled),
                    self.config_path,
                    ", watching it for changes" if self.options.watch_config else "",
                )
                if not enabled:
                    log.warning("no enabled sources in %s; waiting for a reload", self.config_path)
                await self._stop.wait()
                await self._shutdown(scheduler)
        finally:
            if slots is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(slots.close(), 3)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            self._stop_scheduler(scheduler)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down in a loop callback; let it run
            logging.getLogger("apscheduler.scheduler").removeFilter(overrun_filter)
        log.info("daemon stopped")

    def _stop_scheduler(self, scheduler: AsyncIOScheduler) -> None:
        # AsyncIOScheduler.shutdown() only queues the shutdown, so `running` stays true until the
        # loop runs it: remember that it was asked, or a second call fails inside the loop.
        if scheduler.running and not self._scheduler_stopped:
            self._scheduler_stopped = True
            scheduler.shutdown(wait=False)

    def request_stop(self) -> None:
        """Stop taking work and shut down; a second request cancels in-flight crawls at once."""
        if self._stopping:
            log.warning("second stop request: cancelling %d crawl(s) now", len(self._inflight))
            for task in list(self._inflight):
                task.cancel()
            return
        self._stopping = True
        log.info("stop requested: finishing %d crawl(s) in flight", len(self._inflight))
        self._stop.set()

    def request_reload(self, why: str = "request") -> None:
        """Reload the configuration file soon (from a signal handler or anywhere in the loop)."""
        if not self._stopping:
            self._spawn(self.reload(why))

    async def _shutdown(self, scheduler: AsyncIOScheduler) -> None:
        scheduler.pause()
        for task in list(self._background):
            task.cancel()
        if self._node is not None:  # the worker finishes or hands back its jobs, then leaves
            await self._node.stop()
        if self._metrics_server is not None and self._metrics_task is not None:
            self._metrics_server.should_exit = True
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._metrics_task, 2)
        pending = set(self._inflight)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=self.options.shutdown_grace)
        if pending:
            log.warning(
                "cancelling %d crawl(s) still running after %.0f s; their unfinished articles roll back",
                len(pending),
                self.options.shutdown_grace,
            )
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=2.0)
        self._stop_scheduler(scheduler)

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _serve_metrics(self, host: str, port: int) -> None:
        """Serve /metrics and /healthz from this daemon (`run --metrics-port`)."""
        import uvicorn
        from starlette.applications import Starlette

        class _Server(uvicorn.Server):
            # The daemon owns SIGTERM/SIGINT (uvicorn would replace its handlers).
            def capture_signals(self) -> Any:
                return contextlib.nullcontext()

        web = Starlette(routes=monitoring_routes(self.metrics, lambda: not self._stopping))
        config = uvicorn.Config(web, host=host, port=port, log_config=None, access_log=False)
        server = _Server(config)
        self._metrics_server = server
        self._metrics_task = asyncio.ensure_future(server.serve())
        log.info("metrics on http://%s:%d/metrics (health: /healthz)", host, port)

    # -- cluster mode ---------------------------------------------------------------------------

    def _cluster_node(self, options: NodeOptions) -> ClusterNode:
        return ClusterNode(
            self.db,
            options,
            poll=self._poll_job,
            digest=self._digest_job,
            alerts=self._alerts_job,
            queues=queues_for(options.tags, self.settings.sources),
            running_here=self._crawl_starts.keys,
            clock=self.clock,
            outage=self._outage,
        )

    async def _defer_poll(self, source: Source) -> None:
        """A source's fire in cluster mode: queue its poll for this slot (once in the cluster)."""
        if self._stopping or self._node is None:
            return
        slot = slot_of(source.schedule, source.timezone, self.clock())
        await self._node.defer_poll(source, slot)

    async def _poll_job(self, key: str) -> None:
        """The cluster's poll job: the same crawl as a local fire, of the source named `key`."""
        source = self._jobs.sources.get(key) if self._jobs is not None else None
        if source is None:
            log.warning(
                "source %s: a poll came from the queue, but the source is not enabled in this"
                " node's %s; skipped (are the nodes' config files the same?)",
                key,
                self.config_path,
                extra={"source": key},
            )
            return
        await self._crawl(source)

    async def _digest_job(self) -> None:
        if self._deliveries is not None:
            await self._deliveries.send_digest()

    async def _alerts_job(self) -> None:
        if self._deliveries is not None:
            await self._deliveries.send_alerts()

    # -- crawling -----------------------------------------------------------------------------

    async def _crawl(self, source: Source) -> SourceResult | None:
        """The scheduled job of one source: claim it, crawl it, record its health."""
        if self._stopping or self._ctx is None:
            if self._node is not None and not self._node.poll_waiting(source.key):
                raise HandBack(source.key)
            return None
        if not self.claim.claim(source.key):
            log.info(
                "source %s: previous crawl still running; this poll skipped",
                source.key,
                extra={"source": source.key},
            )
            return None
        task = asyncio.current_task()
        assert task is not None
        self._inflight.add(task)
        self._crawl_starts[source.key] = self.clock()
        began = time.monotonic()
        try:
            result = await crawl_source(self._ctx, source)
            self.metrics.record_crawl(result, time.monotonic() - began)
            self._record_health(source, result)
            # Pair what this crawl stored, and what earlier crawls left (a first crawl's backlog
            # goes PER_CRAWL at a time); with nothing new it is two small queries. In a thread:
            # it reads and writes the database.
            await asyncio.to_thread(pair_stored, self.db, self.officials, self.settings)
        except EXPECTED_FAILURES as exc:
            if self._node is not None and isinstance(exc, OperationalError):
                self._node.database_lost(exc, f"the crawl of {source.key} stopped")
                return None
            log.error("source %s: crawl failed: %s", source.key, exc, extra={"source": source.key})
            return None
        except Exception:  # a bug: keep the traceback, and keep the other sources running
            log.exception("source %s: unexpected error", source.key, extra={"source": source.key})
            return None
        except asyncio.CancelledError:
            # This job is the outermost frame of its task; ending it here keeps APScheduler from
            # logging a cancellation at shutdown as a job failure with a traceback.
            if self._node is not None and not self._node.poll_waiting(source.key):
                # Cluster: the queue gives the poll to another node (unless a newer one waits).
                log.warning(
                    "source %s: crawl cut at shutdown; handed back to the cluster",
                    source.key,
                    extra={"source": source.key},
                )
                raise HandBack(source.key) from None
            log.warning(
                "source %s: crawl cancelled at shutdown", source.key, extra={"source": source.key}
            )
            return None
        finally:
            self._inflight.discard(task)
            self._crawl_starts.pop(source.key, None)
            self._overrun_reported.discard(source.key)
            self.claim.release(source.key)
        if self._deliveries is not None and not self._stopping:
            await self._deliveries.after_crawl(source.key, result)
        return result

    def _overrun(self, event: JobSubmissionEvent) -> None:
        # APScheduler warns on every skipped fire; one line per overrunning crawl is enough.
        if event.job_id == DIGEST_JOB:
            log.info("the previous digest delivery is still running; this fire skipped")
            return
        key = event.job_id.removeprefix(JOB_PREFIX)
        if key in self._overrun_reported:
            return
        self._overrun_reported.add(key)
        log.info(
            "source %s: its crawl takes longer than its schedule; polls are skipped until it ends",
            key,
            extra={"source": key},
        )

    def _record_health(self, source: Source, result: SourceResult) -> None:
        record_health(self.db, source, result, at=self.clock())

    # -- configuration ------------------------------------------------------------------------

    async def reload(self, why: str = "request") -> JobChanges | None:
        """Load the config file again and apply it; on any problem keep the running config."""
        async with self._reload_lock:
            self._config_sig = _config_signature(self.config_path)
            try:
                new = load_config(self.config_path)
            except ConfigError as exc:
                log.error(
                    "config reload (%s) failed; keeping the previous configuration: %s", why, exc
                )
                return None
            except OSError as exc:
                log.error(
                    "config reload (%s) failed: cannot read %s (%s); keeping the previous configuration",
                    why,
                    self.config_path,
                    exc.strerror or exc,
                )
                return None
            if self._jobs is None or self._stopping:
                return None
            if new.http != self.settings.http:
                log.warning("`http:` settings changed; they take effect when the daemon restarts")
            _sync_source_rows(self.db, new)
            if self._node is not None:
                await self._requeue(self._node, new)
            changes = self._jobs.sync(new.sources)
            self.settings = new
            self.officials = read_officials(self.config_path, new)
            if self._deliveries is not None:
                await self._deliveries.apply(new)
            if changes:
                log.info(
                    "config reloaded (%s): added %s, removed %s, rescheduled %s, updated %s",
                    why,
                    _keys(changes.added),
                    _keys(changes.removed),
                    _keys(changes.rescheduled),
                    _keys(changes.updated),
                )
            else:
                log.info("config reloaded (%s): no source changed", why)
            return changes

    async def _requeue(self, node: ClusterNode, new: Settings) -> None:
        """Cluster mode, on reload: take the queues the new config asks of this node, and move
        the waiting polls of sources whose `nodes:` changed to their new queue."""
        before = {s.key: s for s in self.settings.sources}
        pinned = [
            s
            for s in new.sources
            if s.enabled and s.key in before and queue_of(s) != queue_of(before[s.key])
        ]
        if pinned:
            try:
                moved = await asyncio.to_thread(node.move_waiting_polls, pinned)
            except EXPECTED_FAILURES as exc:  # the database away: the next reload moves them
                log.warning("config reload: waiting polls not moved to their new queue: %s", exc)
            else:
                if moved:
                    log.info(
                        "config reload: the waiting poll of %s moved to its new queue",
                        ", ".join(moved),
                    )
        queues = queues_for(node.options.tags, new.sources)
        if queues != node.queues:
            log.info(
                "config reload: this node now takes the queues %s (was %s)",
                ", ".join(queues),
                ", ".join(node.queues),
            )
            node.set_queues(queues)

    async def _watch_config(self) -> None:
        missing_reported = False
        while not self._stopping:
            await asyncio.sleep(self.options.config_poll)
            sig = _config_signature(self.config_path)
            if sig is None:
                if not missing_reported:
                    log.error(
                        "config file %s is gone; keeping the previous configuration",
                        self.config_path,
                    )
                    missing_reported = True
                continue
            missing_reported = False
            if sig != self._config_sig:
                await self.reload("file changed")


def _keys(keys: tuple[str, ...]) -> str:
    return ", ".join(keys) if keys else "-"


def run_daemon(
    config_path: Path,
    settings: Settings,
    db: Database,
    options: DaemonOptions,
    node: NodeOptions | None = None,
) -> None:
    """Run the daemon (a cluster node when `node` is given) in a fresh event loop until stopped."""
    tune_for_crawling()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(Daemon(config_path, settings, db, options, node=node).run())
