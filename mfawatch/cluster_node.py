"""Cluster mode: this process as one node of several `mfawatch run` sharing one PostgreSQL.

The work goes through procrastinate (a PostgreSQL job queue; its tables come with migration
0007). APScheduler stays the clock on every node; what a fire does differs:

- A source's fire defers a `poll_source` job through `defer_periodic_job`, keyed by the source
  and its schedule slot (`crawler.schedule.slot_of`): the first node to fire for a slot defers
  it, the others find it deferred, so a source is polled once per slot across the cluster. The
  job carries `lock="source:<key>"` (no two jobs of one source run at once: its poll and the
  revisits inside it are never on two nodes) and `queueing_lock="poll:<key>"` (a source has at
  most one poll waiting: a backlog collapses into one poll, as APScheduler's coalescing does).
- The digest's fire defers `deliver_digest` the same way (once per slot); the watchlist alerts
  after a crawl defer `send_alerts` with one lock and one queueing lock for the cluster, so each
  item is sent once (the alerts keep their cursor in the database).
- A source with `nodes: [TAG]` goes to the queue `mfawatch@TAG` (several tags: one queue for the
  set); a node takes the jobs of the plain queue and of the queues its `--tag`s match. A config
  reload that changes them (a source added, removed, or its `nodes:` changed) changes the
  running worker's queues (`set_queues`) and moves the sources' waiting polls to their new
  queues: no restart.
- Each node runs a procrastinate worker (its heartbeat in `procrastinate_workers`) and, every
  `heartbeat` seconds, beats its own row in `cluster_nodes` and re-queues the jobs of workers
  whose heartbeat is older than `stalled_after`: a node killed mid-crawl has its poll picked up
  by another node within `stalled_after + heartbeat + heartbeat` seconds (45 s by default).
- SIGTERM: the scheduler stops deferring, the worker takes no new job, jobs in flight get the
  grace period, and a job still running then is handed back (re-queued at once for another
  node) before the node unregisters and exits.
- PostgreSQL unreachable (`storage.outage`): one warning naming the database for the whole
  outage (shared by the worker, the heartbeat and the crawl's writer), and one line when it
  answers again. The worker keeps running (`mfawatch.steady_worker`): it takes no new job, its
  heartbeat and LISTEN connection retry with a growing pause (0.5 s doubling to 30 s), and the
  jobs in flight go on: fetches that need the cluster's politeness fail (and are fetched again by
  the next poll), and what was fetched waits in the writer until the database answers (at most
  `Outage.max_wait`, 900 s), then is stored once. The schedules stay in memory, and fires that
  could not be deferred are simply the next slot's. When the database answers, the node beats its
  worker's heartbeat before it looks for dead nodes' jobs, and never re-queues its own.

The job bodies are the daemon's own (`Daemon._crawl` and the deliveries); only the dispatch
differs from the single-process path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

import mfawatch
from crawler.config import Source
from crawler.errors import ConfigError, ConfigProblem
from storage import cluster
from storage.engine import Database
from storage.outage import Outage, is_unreachable

log = logging.getLogger("mfawatch.cluster")

PLAIN_QUEUE = "mfawatch"
POLL_TASK = "mfawatch.poll_source"
DIGEST_TASK = "mfawatch.deliver_digest"
ALERTS_TASK = "mfawatch.send_alerts"
MAX_BACKOFF = 30.0


class HandBack(Exception):
    """A job cut by this node's shutdown: procrastinate re-queues it for another node."""


def default_name() -> str:
    """A node's default name: `host:pid`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def queue_of(source: Source) -> str:
    """The queue of a source's jobs: the plain one, or one per set of node tags."""
    return PLAIN_QUEUE if not source.nodes else PLAIN_QUEUE + "@" + ",".join(sorted(source.nodes))


def queues_for(tags: Iterable[str], sources: Iterable[Source]) -> list[str]:
    """The queues a node carrying `tags` takes jobs from: the plain one and its tags' sources'."""
    mine = set(tags)
    wanted = {PLAIN_QUEUE}
    wanted.update(queue_of(s) for s in sources if s.enabled and mine & set(s.nodes))
    return sorted(wanted)


NAME_MAX = 200


def check_name(name: str) -> str:
    """A node name as given to `--name`: 1-200 printable characters (refused otherwise)."""
    if not name.strip() or len(name) > NAME_MAX or not name.isprintable():
        raise ConfigError(
            [
                ConfigProblem(
                    "run --name",
                    None,
                    "name",
                    f"a node name is 1-{NAME_MAX} printable characters (got {len(name)} characters)",
                )
            ]
        )
    return name.strip()


def check_tags(tags: Sequence[str], sources: Sequence[Source], config: str) -> None:
    """Refuse a `--tag` that no enabled source of the config asks for (a typo, most likely)."""
    used = sorted({t for s in sources if s.enabled for t in s.nodes})
    unused = [t for t in tags if t not in used]
    if unused:
        shown = ", ".join(used) if used else "none"
        raise ConfigError(
            [
                ConfigProblem(
                    config,
                    None,
                    "run --tag",
                    f"tag {', '.join(repr(t) for t in unused)} is asked for by no enabled source"
                    f" (`nodes: [TAG]` in a source); tags in use: {shown}",
                )
            ]
        )


def conninfo(db_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (query options kept)."""
    url = make_url(db_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@dataclass(frozen=True)
class NodeOptions:
    """How this node takes part in the cluster (`mfawatch run` flags)."""

    name: str
    tags: tuple[str, ...] = ()
    jobs: int = 8  # jobs this node runs at once
    heartbeat: float = 10.0  # seconds between two beats (and two looks for dead nodes' jobs)
    stalled_after: float = 30.0  # a node silent this long is dead; its jobs are re-queued
    grace: float = 6.0  # seconds jobs in flight get at shutdown before they are handed back

    @property
    def recovery_bound(self) -> float:
        """At most this many seconds from a node's death to its job running elsewhere."""
        return self.stalled_after + 2 * self.heartbeat


PollBody = Callable[[str], Awaitable[object]]
Body = Callable[[], Awaitable[object]]


class ClusterNode:
    """One node: the procrastinate app and worker, the node row, and the recovery loop."""

    def __init__(
        self,
        db: Database,
        options: NodeOptions,
        *,
        poll: PollBody,
        digest: Body,
        alerts: Body,
        queues: Sequence[str],
        running_here: Callable[[], Iterable[str]] = tuple,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        outage: Outage | None = None,
    ) -> None:
        import procrastinate

        self.db = db
        self.options = options
        self.clock = clock
        self.queues = list(queues)
        self._poll, self._digest, self._alerts = poll, digest, alerts
        self._running_here = running_here
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=conninfo(db.url),
                min_size=1,
                max_size=max(4, options.jobs + 3),
                # Fail a connection attempt fast: an unreachable database is handled by the
                # supervisor's backoff, not by a client waiting for minutes.
                kwargs={"connect_timeout": 5},
                timeout=10,
            )
        )
        hand_back = procrastinate.RetryStrategy(retry_exceptions={HandBack})
        self.app.task(name=POLL_TASK, retry=hand_back)(self._poll_job)
        self.app.task(name=DIGEST_TASK)(self._digest_job)
        self.app.task(name=ALERTS_TASK)(self._alerts_job)
        self.running = 0
        self._stopping = False
        self.outage = outage or Outage(db.location)
        self.outage.who = f"node {options.name}"
        self._worker_task: asyncio.Task[None] | None = None
        self._beat_task: asyncio.Task[None] | None = None
        self._worker: Any = None

    # -- the jobs ------------------------------------------------------------------------------

    async def _poll_job(self, timestamp: int, source: str) -> None:
        await self._counted(self._poll(source))

    async def _digest_job(self, timestamp: int) -> None:
        await self._counted(self._digest())

    async def _alerts_job(self) -> None:
        await self._counted(self._alerts())

    async def _counted(self, body: Awaitable[object]) -> None:
        self.running += 1
        try:
            await body
        finally:
            self.running -= 1

    # -- dispatch (called by APScheduler's fires) ------------------------------------------

    async def defer_poll(self, source: Source, slot: int) -> bool:
        """Defer `source`'s poll for `slot` unless a node already did; True when this one did."""
        task = self.app.tasks[POLL_TASK]
        job = task.configure(
            queue=queue_of(source),
            lock=f"source:{source.key}",
            queueing_lock=f"poll:{source.key}",
            task_kwargs={"timestamp": slot, "source": source.key},
        ).job
        return await self._defer_periodic(job, source.key, slot, f"source {source.key}")

    async def defer_digest(self, slot: int) -> bool:
        """Defer the digest delivery for `slot` unless a node already did."""
        job = (
            self.app.tasks[DIGEST_TASK]
            .configure(
                queue=PLAIN_QUEUE,
                lock="digest",
                queueing_lock="digest",
                task_kwargs={"timestamp": slot},
            )
            .job
        )
        return await self._defer_periodic(job, "digest", slot, "the digest")

    async def defer_alerts(self) -> None:
        """Ask for one run of the watchlist alerts (one waiting is enough for the cluster)."""
        from procrastinate import exceptions

        task = self.app.tasks[ALERTS_TASK]
        try:
            await task.configure(
                queue=PLAIN_QUEUE, lock="alerts", queueing_lock="alerts"
            ).defer_async()
        except exceptions.AlreadyEnqueued:
            return
        except Exception as exc:
            self._unreachable(exc, "the watchlist alerts were not queued")

    async def _defer_periodic(self, job: Any, periodic_id: str, slot: int, what: str) -> bool:
        from procrastinate import exceptions

        try:
            job_id = await self.app.job_manager.defer_periodic_job(
                job=job, periodic_id=periodic_id, defer_timestamp=slot
            )
        except exceptions.AlreadyEnqueued:
            log.info("%s: a poll is already waiting in the queue; this fire adds none", what)
            return False
        except Exception as exc:
            self._unreachable(exc, f"{what}: this fire was not queued")
            return False
        return job_id is not None

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Register the node (refused when a live node has its name) and start working."""
        opts = self.options
        now = self.clock()
        try:
            with self.db.session() as s:
                cluster.register_node(
                    s,
                    name=opts.name,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    version=mfawatch.__version__,
                    tags=opts.tags,
                    now=now,
                    stalled_after=timedelta(seconds=opts.stalled_after),
                )
        except IntegrityError:  # another node registered the name at the same instant
            raise ConfigError(
                [
                    ConfigProblem(
                        self.db.location,
                        None,
                        "run --name",
                        f"node name {opts.name!r} was just taken by another node starting at the"
                        " same time; give this node another --name",
                    )
                ]
            ) from None
        except cluster.NameTaken as exc:
            other = exc.node
            raise ConfigError(
                [
                    ConfigProblem(
                        self.db.location,
                        None,
                        "run --name",
                        f"node name {opts.name!r} is taken by a live node (host {other.host},"
                        f" PID {other.pid}, last heartbeat {other.heartbeat_at:%Y-%m-%d %H:%M:%S}"
                        " UTC); give this node another --name",
                    )
                ]
            ) from None
        await self.app.open_async()
        self._install_log_filter()
        self._worker_task = asyncio.create_task(self._supervise(), name="cluster worker")
        self._beat_task = asyncio.create_task(self._beat_loop(), name="cluster heartbeat")
        log.info(
            "cluster node %s joined (tags: %s; queues: %s; jobs at once: %d;"
            " a dead node's work restarts within %.0f s)",
            opts.name,
            ", ".join(opts.tags) or "none",
            ", ".join(self.queues),
            opts.jobs,
            opts.recovery_bound,
        )

    async def stop(self) -> None:
        """Take no new job, let jobs in flight finish or hand them back, leave the cluster."""
        self._stopping = True
        self.outage.abandon()  # writes and job ends held for the database are given up now
        away = self.outage.active
        if away:
            # Nothing can finish or be handed back without the database: no grace, and the
            # queue's connections close now so that no call waits for one (the jobs stay
            # `doing` under this node's worker, and another node re-queues them as a dead one's).
            if self._worker is not None:
                self._worker.shutdown_graceful_timeout = 0
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.app.close_async(), 3)
        if self._worker is not None:
            self._worker.stop()
        if self._worker_task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._worker_task, self.options.grace + 3)
        if self._beat_task is not None:
            self._beat_task.cancel()
            with contextlib.suppress(BaseException):
                await self._beat_task
        if not away:  # else its beat goes stale: the others see the node as lost
            with contextlib.suppress(Exception):
                with self.db.session() as s:
                    cluster.mark_stopped(s, self.options.name, now=self.clock())
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.app.close_async(), 3)
        log.info("cluster node %s left", self.options.name)

    def database_lost(self, exc: BaseException, consequence: str) -> None:
        """A job found the database gone: the node's one warning (if not said yet)."""
        self._unreachable(exc, consequence)

    @property
    def stopping(self) -> bool:
        """Whether the node is shutting down (a job cut now is handed back)."""
        return self._stopping

    async def _supervise(self) -> None:
        """Run the worker; when the database goes away, wait (backing off) and run it again."""
        from mfawatch.steady_worker import SteadyWorker

        pause = 1.0
        while not self._stopping:
            opts = self.options
            self._worker = SteadyWorker(
                outage=self.outage,
                app=self.app,
                queues=self.queues,
                name=opts.name,
                concurrency=opts.jobs,
                fetch_job_polling_interval=min(5.0, opts.heartbeat),
                abort_job_polling_interval=max(5.0, opts.heartbeat),
                shutdown_graceful_timeout=opts.grace,
                install_signal_handlers=False,
                update_heartbeat_interval=opts.heartbeat,
                stalled_worker_timeout=opts.stalled_after,
                delete_jobs="successful",
            )
            try:
                await self._worker.run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._unreachable(exc, "the node waits for it")
            if self._stopping:
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_BACKOFF)
            if await self._reachable():
                pause = 1.0

    async def _reachable(self) -> bool:
        try:
            ok = await asyncio.wait_for(self.app.check_connection_async(), 10)
        except Exception:
            return False
        if ok:
            self.outage.back()
        return bool(ok)

    def _unreachable(self, exc: BaseException, consequence: str) -> None:
        """Say once per outage that the database does not answer (never a traceback)."""
        self.outage.lost(exc, consequence)

    async def _beat_loop(self) -> None:
        """Beat this node's row and re-queue the jobs of dead workers, every `heartbeat` seconds."""
        opts = self.options
        while True:
            try:
                await asyncio.to_thread(self._beat)
                await self._recover_stalled()
                if self.outage.active:
                    await self._reachable()
            except Exception as exc:
                self._unreachable(exc, "the node keeps its schedules and waits for it")
            await asyncio.sleep(opts.heartbeat)

    def _beat(self) -> None:
        with self.db.session() as s:
            if not cluster.beat(s, self.options.name, now=self.clock(), jobs_running=self.running):
                # Our row was taken over (we were silent longer than stalled_after): register again.
                cluster.register_node(
                    s,
                    name=self.options.name,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    version=mfawatch.__version__,
                    tags=self.options.tags,
                    now=self.clock(),
                    stalled_after=timedelta(seconds=self.options.stalled_after),
                )

    async def _recover_stalled(self) -> None:
        from procrastinate import exceptions, jobs

        manager = self.app.job_manager
        mine = self._worker.worker_id if self._worker is not None else None
        if mine is not None:
            # Beat first: after an outage this worker's heartbeat is as old as a dead one's.
            await manager.update_heartbeat(mine)
            if not await asyncio.to_thread(self._worker_registered, mine):
                # Another node took this worker for dead while it was cut off (its jobs are
                # re-queued): start a new worker instead of one the queue no longer knows.
                log.warning(
                    "node %s: its worker was taken for dead while PostgreSQL was away; restarting it",
                    self.options.name,
                )
                self._worker.stop()
        stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=self.options.stalled_after)
        for job in stalled:
            if mine is not None and job.worker_id == mine:
                continue  # running here (its end could not be recorded yet): not a dead node's
            what = ", ".join(f"{k}={v}" for k, v in job.task_kwargs.items() if k != "timestamp")
            try:
                await manager.retry_job(job)
            except exceptions.UniqueViolation:
                # A newer poll of the same source already waits: it does this job's work.
                with contextlib.suppress(exceptions.ConnectorException):
                    await manager.finish_job(job, status=jobs.Status.FAILED, delete_job=False)
                log.warning(
                    "job %s (%s) of a node that stopped beating is dropped: a newer one waits",
                    job.id,
                    what,
                )
                continue
            except exceptions.ConnectorException:  # another node re-queued it first
                continue
            log.warning("job %s (%s) of a node that stopped beating is queued again", job.id, what)
        await manager.prune_stalled_workers(self.options.stalled_after)
        await asyncio.to_thread(self._close_lost_runs)

    def _close_lost_runs(self) -> None:
        """Close the runs that will never finish: those of nodes that stopped beating, and this
        node's own runs cut by a database outage (open in the table, no longer crawling here)."""
        now = self.clock()
        window = timedelta(seconds=self.options.stalled_after)
        here = set(self._running_here())
        with self.db.session() as s:
            lost = [n.name for n in cluster.list_nodes(s) if not n.alive(now, window)]
            closed = cluster.close_runs_of(s, lost, now=now)
            closed += cluster.close_runs_of(s, [self.options.name], now=now, except_sources=here)
        for node, source in closed:
            log.warning(
                "source %s: its run on node %s was cut (the node stopped beating or lost the database);"
                " the poll is queued again",
                source,
                node,
                extra={"source": source},
            )

    def _worker_registered(self, worker_id: int) -> bool:
        with self.db.session(readonly=True) as s:
            return cluster.worker_registered(s, worker_id)

    def set_queues(self, queues: Sequence[str]) -> None:
        """Take jobs from `queues` from now on (a config reload), without a restart."""
        self.queues = list(queues)
        if self._worker is not None:
            self._worker.set_queues(self.queues)

    def move_waiting_polls(self, sources: Iterable[Source]) -> list[str]:
        """Move each source's waiting poll to its queue (its `nodes:` changed); return the keys
        of the sources whose poll moved."""
        moved = []
        with self.db.session() as s:
            for source in sources:
                if cluster.move_waiting_poll(s, f"poll:{source.key}", queue_of(source)):
                    moved.append(source.key)
        return moved

    def poll_waiting(self, key: str) -> bool:
        """Whether a poll of source `key` waits in the queue (so a cut one need not go back);
        False when the database cannot say (away): the cut poll is handed back."""
        try:
            with self.db.session(readonly=True) as s:
                return cluster.poll_waiting(s, f"poll:{key}")
        except Exception as exc:
            if not is_unreachable(exc):
                raise
            self._unreachable(exc, "the node stops")
            return False

    def live_nodes(self) -> list[str]:
        """Names of the nodes beating now (for the deliveries' window)."""
        now = self.clock()
        window = timedelta(seconds=self.options.stalled_after)
        with self.db.session(readonly=True) as s:
            return [n.name for n in cluster.list_nodes(s) if n.alive(now, window)]

    def runs_in_flight(self) -> list[datetime]:
        """Starts of the crawls running on live nodes of the cluster."""
        live = self.live_nodes()
        with self.db.session(readonly=True) as s:
            return cluster.running_since(s, live_nodes=live)

    def _install_log_filter(self) -> None:
        # procrastinate says INFO per job (start, end): the node's own lines say what matters.
        queue_log = logging.getLogger("procrastinate")
        queue_log.setLevel(max(logging.WARNING, logging.getLogger().level))
        # The pool's own lines on lost connections repeat what the node's one warning says.
        logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
        # On the handlers: a logger's own filters do not apply to its children's records.
        for handler in logging.getLogger().handlers:
            handler.addFilter(_QuietDuringOutage(self))


# procrastinate's log actions about its own connection trouble: the node says it once instead.
_CONNECTION_ACTIONS = frozenset({"side_task_failed", "poll_jobs_to_abort_error", "listener_error"})


class _QuietDuringOutage(logging.Filter):
    """procrastinate's own errors about a lost connection: dropped (the node says it once)."""

    def __init__(self, node: ClusterNode) -> None:
        super().__init__()
        self.node = node

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("procrastinate"):
            return True
        if record.exc_info and isinstance(record.exc_info[1], HandBack):
            record.exc_info = None  # a job handed back at shutdown is no error
            record.exc_text = None
        if getattr(record, "action", "") in _CONNECTION_ACTIONS:
            return False
        return not (self.node.outage.active and record.levelno >= logging.ERROR)
