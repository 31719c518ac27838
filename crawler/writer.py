"""One writer for the crawl: storage writes run in a background thread, several per transaction.

Fetching and parsing stay on the event loop; each finished article hands the writer a small
function of a session. The writer takes whatever has queued up (up to `max_batch`) and runs it in
one transaction, so a busy crawl pays for one commit per batch instead of one per article, and
SQLite sees a single writer. If one function in a batch fails, the batch is rolled back and each
function is re-run in a transaction of its own, so one bad record never costs the others theirs.
Every function is still all-or-nothing: a crash loses at most the batch in flight, and the next
run redoes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from storage.engine import Database

T = TypeVar("T")
MAX_BATCH = 64

_Work = tuple[Callable[[Session], Any], "asyncio.Future[Any]"]


class BatchWriter:
    """Runs storage writes off the event loop, batched into few transactions."""

    def __init__(self, db: Database, *, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Work | None] = asyncio.Queue()
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
        if self._task is None:
            raise RuntimeError("BatchWriter used outside `async with`")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._queue.put((work, future))
        return await future

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self.max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            outcomes = await asyncio.to_thread(self._write, [work for work, _ in batch])
            self.batches += 1
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.cancelled():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _write(self, works: list[Callable[[Session], Any]]) -> list[tuple[bool, Any]]:
        try:
            with self.db.session() as session:
                return [(True, work(session)) for work in works]
        except Exception as exc:  # isolate the failing record: redo each alone
            if len(works) == 1:
                return [(False, exc)]
            return [self._alone(work) for work in works]

    def _alone(self, work: Callable[[Session], Any]) -> tuple[bool, Any]:
        try:
            with self.db.session() as session:
                return True, work(session)
        except Exception as exc:
            return False, exc
