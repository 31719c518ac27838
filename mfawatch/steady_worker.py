"""A procrastinate worker that rides out a PostgreSQL outage instead of stopping.

procrastinate's `Worker` stops when any of its database calls fails: a failed job fetch ends its
loop, a failed heartbeat or a lost LISTEN connection stops it, and its shutdown then waits
`shutdown_graceful_timeout` and cancels the jobs still running: a crawl that was fetching would
be cut, and what it fetched but had not yet written lost. `SteadyWorker` keeps running instead:

- a job fetch that cannot reach the server takes no job this time (the loop polls again after
  its interval);
- the heartbeat and the LISTEN connection try again, with a growing pause (0.5 s doubling to
  30 s), until the server answers;
- a job's end (success, failure, hand-back) that cannot be recorded is recorded once the server
  answers (for up to `Outage.max_wait`, then this worker stops and the node starts a new one; at
  shutdown, not at all): a job left `doing` under a worker that no longer beats is re-queued by
  the cluster's stalled-job recovery;
- a job's end refused because the job is no longer this worker's (another node re-queued it
  while this one was cut off) is logged and dropped.

`set_queues` changes the queues of the running worker (a config reload that changes which
queues the node takes): the jobs in flight go on, the next fetch asks for the new queues, and the
LISTEN connection is opened again on their channels.

Jobs in flight keep running through the outage: their writes wait in the crawl's writer
(`storage.writer`). Other errors stop the worker as before (the node's supervisor restarts it).
The one warning of the outage is the shared `storage.outage.Outage`'s.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from procrastinate import worker

from storage.outage import FIRST_PAUSE, MAX_PAUSE, Outage, is_unreachable, reason_of

log = logging.getLogger("mfawatch.cluster")


class SteadyWorker(worker.Worker):
    """procrastinate's worker, kept running while PostgreSQL does not answer."""

    def __init__(self, *args: Any, outage: Outage, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outage = outage
        self._queues_changed = asyncio.Event()

    def set_queues(self, queues: list[str]) -> None:
        """Take jobs from `queues` from now on (a config reload): the next fetch asks for them,
        and the LISTEN connection listens to their channels."""
        self.queues = list(queues)
        self._queues_changed.set()
        self._new_job_event.set()  # look for their jobs at once

    async def _fetch_and_process_jobs(self) -> None:
        try:
            await super()._fetch_and_process_jobs()
        except Exception as exc:
            if not is_unreachable(exc):
                raise
            self.outage.lost(exc, "the node takes no new job meanwhile")

    async def _update_heartbeat(self) -> None:
        pause = FIRST_PAUSE
        while True:
            await asyncio.sleep(self.update_heartbeat_interval if pause == FIRST_PAUSE else pause)
            assert self.worker_id is not None
            try:
                await self.app.job_manager.update_heartbeat(self.worker_id)
            except Exception as exc:
                if not is_unreachable(exc):
                    raise
                self.outage.lost(exc, "the node keeps its jobs running")
                pause = min(pause * 2, MAX_PAUSE)
                continue
            pause = FIRST_PAUSE

    async def _listen(self) -> None:
        """LISTEN for new jobs; connect again, with a growing pause, whenever the link breaks,
        and at once (without pause) when the queues change."""
        pause = FIRST_PAUSE
        while True:
            self._queues_changed.clear()
            listen = asyncio.ensure_future(
                self.app.job_manager.listen_for_jobs(
                    on_notification=self._handle_notification, queues=self.queues
                )
            )
            changed = asyncio.ensure_future(self._queues_changed.wait())
            try:
                await asyncio.wait({listen, changed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (listen, changed):
                    task.cancel()
                await asyncio.gather(listen, changed, return_exceptions=True)
            if changed.done() and not changed.cancelled():
                continue
            try:
                listen.result()
            except Exception as exc:
                if not is_unreachable(exc):
                    raise
                self.outage.lost(exc, "the node takes no new job meanwhile")
            else:
                pause = FIRST_PAUSE  # it listened, then the connection ended: connect again
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE)

    def _start_side_tasks(self) -> list[asyncio.Task[Any]]:
        tasks = [
            asyncio.create_task(self._update_heartbeat(), name="update_heartbeats"),
            asyncio.create_task(self._periodic_deferrer(), name="deferrer"),
            asyncio.create_task(self._poll_jobs_to_abort(), name="poll_jobs_to_abort"),
        ]
        if self.listen_notify:
            tasks.append(asyncio.create_task(self._listen(), name="listener"))
        return tasks

    async def _persist_job_status(self, job: Any, *args: Any, **kwargs: Any) -> None:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.outage.max_wait
        pause = FIRST_PAUSE
        while True:
            if self.outage.active and self.outage.abandoned:  # stopping, database away
                log.warning(
                    "job %s (%s): its end is not recorded (PostgreSQL away at shutdown); it is"
                    " queued again as a dead worker's",
                    job.id,
                    job.task_name,
                )
                return
            try:
                await super()._persist_job_status(job, *args, **kwargs)
                return
            except Exception as exc:
                if not is_unreachable(exc):
                    # Not ours any more: re-queued by another node while this one was cut off.
                    log.warning(
                        "job %s (%s): its end is not recorded (%s); another node took it over",
                        job.id,
                        job.task_name,
                        reason_of(exc),
                    )
                    return
                self.outage.lost(exc, f"the end of job {job.id} is recorded when it answers")
                left = give_up - loop.time()
                if left <= 0 or not await self.outage.wait_async(min(pause, left)):
                    log.warning(
                        "job %s (%s): its end is not recorded (PostgreSQL away); it is queued"
                        " again as a dead worker's",
                        job.id,
                        job.task_name,
                    )
                    # This worker stops (its row goes stale; the node starts a new one), so the
                    # job, still `doing` under it, is re-queued instead of holding its lock.
                    self.stop()
                    return
                pause = min(pause * 2, MAX_PAUSE)
