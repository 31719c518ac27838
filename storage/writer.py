"""One writer for the crawl: storage writes run in a background thread, several per transaction.

Fetching and parsing stay on the event loop; each finished article hands the writer a small
function of a session. The writer takes whatever has queued up (up to `max_batch`) and runs it in
one transaction, so a busy crawl pays for one commit per batch instead of one per article, and
SQLite sees a single writer. If one function in a batch fails, the batch is rolled back and each
function is re-run in a transaction of its own, so one bad record never costs the others theirs
(one that another process's transaction deadlocked with is tried again, up to 3 times).
Every function is still all-or-nothing: a crash loses at most the batch in flight, and the next
run redoes it.

With an `outage` (`storage.outage.Outage`; the daemon gives one, on PostgreSQL), a batch that
fails because the server cannot be reached is not failed: it is held and tried again, whole,
with a growing pause (0.5 s doubling to 30 s) until the server answers, for up to
`outage.max_wait` seconds (then it fails as without an outage). Meanwhile the crawl's article
workers wait on their writes, so no more than one record per worker (and the batch held) waits
in memory: fetching stops, nothing fetched is dropped. The batch is rerun whole: a commit cut
after the server applied it is written again over itself (the writes of a fetched article are
idempotent: the same content adds no version and no raw record).

`submit_grouped(fn, item)` is for work that is cheaper in bulk (the first versions of many new
articles): the items of one batch that share `fn` are handed to one call `fn(session, items)`,
which returns one result per item, in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from storage.engine import Database
from storage.errors import is_transient
from storage.outage import FIRST_PAUSE, MAX_PAUSE, Outage, is_unreachable

log = logging.getLogger(__name__)

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741
MAX_BATCH = 64
TRANSIENT_TRIES = 3  # tries of a record alone when the database aborted it for another writer
# After the first grouped record of a batch, wait this long for more: a crawl hands its records
# over one at a time, and a transaction per one or two records costs more than the records
# themselves (a short wait makes a tenth as many transactions; docs/benchmarks.md). A plain
# `submit` is written without waiting.
LINGER = 0.1

Grouped = Callable[[Session, list[Any]], list[Any]]


@dataclass(frozen=True, slots=True)
class _Work:
    run: Callable[[Session], Any] | None  # a single function of a session, or
    group: Grouped | None = None  # a bulk function, called with this item among others
    item: Any = None


class BatchWriter:
    """Runs storage writes off the event loop, batched into few transactions."""

    def __init__(
        self,
        db: Database,
        *,
        max_batch: int = MAX_BATCH,
        linger: float = LINGER,
        outage: Outage | None = None,
    ) -> None:
        self.db = db
        self.outage = outage
        self.max_batch = max_batch
        self.linger = linger
        self._queue: asyncio.Queue[tuple[_Work, asyncio.Future[Any]] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    async def __aenter__(self) -> BatchWriter:
        self._task = asyncio.create_task(self._run(), name="mfawatch-writer")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Finish everything queued, then stop."""
        if self._task is None:
            return
        await self._queue.put(None)
        await asyncio.shield(self._task)
        self._task = None

    async def submit(self, work: Callable[[Session], T]) -> T:
        """Run `work(session)` in a write transaction and return its result (or raise its error)."""
        return await self._put(_Work(work))

    async def submit_grouped(self, fn: Callable[[Session, list[I]], list[T]], item: I) -> T:
        """Have `item` written by `fn(session, items)` together with the batch's other items."""
        return await self._put(_Work(None, fn, item))

    async def _put(self, work: _Work) -> Any:
        if self._task is None:
            raise RuntimeError("BatchWriter used outside `async with`")
        if self._task.done():
            raise RuntimeError("the BatchWriter has stopped; nothing more can be written")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put((work, future))
        return await future

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.linger
            while len(batch) < self.max_batch:
                if batch[-1][0].group is None:  # someone waits on a plain write: go now
                    deadline = 0.0
                if self._queue.empty():
                    left = deadline - loop.time()
                    if left <= 0:
                        break
                    try:
                        async with asyncio.timeout(left):
                            item = await self._queue.get()
                    except TimeoutError:
                        break
                else:
                    item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            try:
                outcomes = await asyncio.to_thread(self._write, [work for work, _ in batch])
            except BaseException as exc:  # cancelled: nobody may wait forever on this batch
                for _, future in batch:
                    if not future.done():
                        future.set_exception(RuntimeError(f"the writer stopped: {exc!r}"))
                raise
            self.batches += 1
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.cancelled():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _write(self, works: list[_Work]) -> list[tuple[bool, Any]]:
        held_since: float | None = None
        pause = FIRST_PAUSE
        while True:
            try:
                with self.db.session() as session:
                    values = _run(session, works)
            except Exception as exc:
                if self._hold(exc, works, held_since, pause):
                    held_since = held_since if held_since is not None else time.monotonic()
                    pause = min(pause * 2, MAX_PAUSE)
                    continue
                if len(works) == 1 or (self.outage is not None and is_unreachable(exc)):
                    return [(False, exc)] * len(works)  # given up: the database is away
                return [self._alone(work) for work in works]  # isolate the failing record
            if self.outage is not None and held_since is not None:
                self.outage.back()
            return [(True, value) for value in values]

    def _hold(self, exc: Exception, works: list[_Work], since: float | None, pause: float) -> bool:
        """Whether to try `works` again after the pause (the database is away; waited enough?)."""
        outage = self.outage
        if outage is None or not is_unreachable(exc):
            return False
        outage.lost(exc, f"the crawl's writes wait for it ({len(works)} record(s) held)")
        left = outage.max_wait - (0.0 if since is None else time.monotonic() - since)
        if left > 0 and outage.wait(min(pause, left)):
            return True
        log.warning(
            "%d fetched record(s) not stored: PostgreSQL at %s %s; the next poll fetches them again",
            len(works),
            outage.location,
            "did not answer in time" if not outage.abandoned else "was away when the node stopped",
        )
        return False

    def _alone(self, work: _Work) -> tuple[bool, Any]:
        for attempt in range(1, TRANSIENT_TRIES + 1):
            try:
                with self.db.session() as session:
                    return True, _run(session, [work])[0]
            except Exception as exc:  # a deadlock with another process's writer: try again
                if attempt == TRANSIENT_TRIES or not is_transient(exc):
                    return False, exc
        raise AssertionError("unreachable")


def _run(session: Session, works: list[_Work]) -> list[Any]:
    """Run a batch in one session: each grouped function once, at its first item's turn."""
    results: list[Any] = [None] * len(works)
    groups: dict[Grouped, list[int]] = {}
    for i, work in enumerate(works):
        if work.group is not None:
            groups.setdefault(work.group, []).append(i)
    for i, work in enumerate(works):
        if work.run is not None:
            results[i] = work.run(session)
        elif work.group is not None and groups.get(work.group, [None])[0] == i:
            members = groups.pop(work.group)
            values = work.group(session, [works[j].item for j in members])
            if len(values) != len(members):
                raise RuntimeError(
                    f"{work.group!r} returned {len(values)} results for {len(members)}"
                )
            for j, value in zip(members, values, strict=True):
                results[j] = value
    return results
