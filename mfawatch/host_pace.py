"""Politeness for a whole cluster: a host's concurrency limit and delay hold across every node.

`ClusterHostSlots` is the fetcher's `HostSlots` (per-host places, delays, penalties, Retry-After
pauses in this process) plus two PostgreSQL mechanisms shared by the nodes of one database:

- **Places**: a request to a host holds one of `concurrency_per_host` PostgreSQL advisory locks
  (key: the database schema and the host, and the place number) on a pooled connection for the
  time of the request. The server releases a lock when its connection ends, so a killed node
  never keeps a place. A request finding every place taken tries again after a short, growing
  pause (50 ms to 500 ms).
- **Pace**: the start of every request to a host is reserved in the host's `host_pace` row in
  one atomic statement (`storage.cluster.reserve_start`): the later of now and the row's next
  allowed time, which then moves one interval (`min_delay`, robots.txt Crawl-delay, failure
  penalty; randomized as in one process) further. Sources sharing a host share its row, on every
  node.

The slot key is the host (and a non-default port), as in one process, so China's English and
Chinese sites on one host are polite together.

A pooled connection is not checked with a round trip of its own each time it is taken (that was
a third of the statements a request cost): one the server has dropped (a restart, an outage)
fails its first statement, leaves the pool, and the request takes another.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime
from types import TracebackType
from typing import Any

from psycopg import Error as PsycopgError
from psycopg import OperationalError
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from crawler.config import Politeness
from crawler.errors import FetchError
from crawler.fetch.hosts import HostSlot, HostSlots

PLACE_SQL = "SELECT pg_try_advisory_lock(hashtext(current_schema() || '/' || %s), %s)"
FREE_SQL = "SELECT pg_advisory_unlock(hashtext(current_schema() || '/' || %s), %s)"
PACE_SQL = (
    "INSERT INTO host_pace (host, next_at) VALUES (%(host)s, now() + make_interval(secs => %(gap)s))"
    " ON CONFLICT (host) DO UPDATE SET next_at ="
    " greatest(host_pace.next_at, now()) + make_interval(secs => %(gap)s)"
    " RETURNING next_at - make_interval(secs => %(gap)s), now()"
)


class ClusterHostSlots(HostSlots):
    """Host slots whose places and pace are shared through PostgreSQL by every node."""

    def __init__(self, conninfo: str, *, max_connections: int = 32, **kwargs: Any) -> None:
        super().__init__(**kwargs)

        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=0,
            max_size=max_connections,
            kwargs={"autocommit": True, "connect_timeout": 5},
            open=False,
            timeout=30,
        )

    async def open(self) -> None:
        """Open the connection pool (connections are made on demand)."""
        await self._pool.open()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._pool.close()

    def acquire(self, url: str, politeness: Politeness | None = None) -> _ClusterHold:  # type: ignore[override]
        """Hold a place on the URL's host in this process and in the cluster, paced for both."""
        return _ClusterHold(self, url, politeness)

    async def _take_place(self, url: str, slot: HostSlot) -> tuple[Any, int]:
        try:
            return await self._take_place_in_db(slot)
        except (OSError, PsycopgError, PoolTimeout) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise FetchError(
                url, f"the cluster's politeness for {slot.key} is out of reach: {reason}"
            ) from None

    async def _take_place_in_db(self, slot: HostSlot) -> tuple[Any, int]:
        # Connections the server dropped fail at once and leave the pool; after the pool's worth
        # of them, the error is the database's.
        for _ in range(self._pool.max_size):
            try:
                return await self._take_place_on(await self._pool.getconn(), slot)
            except OperationalError:
                continue
        return await self._take_place_on(await self._pool.getconn(), slot)

    async def _take_place_on(self, conn: Any, slot: HostSlot) -> tuple[Any, int]:
        try:
            pause = 0.05
            n = slot.concurrency
            while True:
                first = random.randrange(n)  # noqa: S311 - spread the tries over the places
                for place in ((first + i) % n for i in range(n)):
                    cur = await conn.execute(PLACE_SQL, (slot.key, place))
                    row = await cur.fetchone()
                    if row is not None and row[0]:
                        await self._pace(conn, slot)
                        return conn, place
                await asyncio.sleep(pause)
                pause = min(pause * 1.5, 0.5)
        except BaseException:
            await self._pool.putconn(conn)
            raise

    async def _pace(self, conn: Any, slot: HostSlot) -> None:
        gap = slot.interval()
        if gap and slot.randomize:
            gap *= random.uniform(0.5, 1.5)  # noqa: S311 - jitter, not crypto
        if not gap:
            return
        cur = await conn.execute(PACE_SQL, {"host": slot.key, "gap": gap})
        row = await cur.fetchone()
        assert row is not None
        start, now = row
        wait = (start - now).total_seconds() if isinstance(start, datetime) else 0.0
        if wait > 0:
            await asyncio.sleep(wait)

    async def _free_place(self, conn: Any, slot: HostSlot, place: int) -> None:
        try:
            await conn.execute(FREE_SQL, (slot.key, place))
        except Exception:  # the connection is gone: the server dropped its locks with it
            await conn.close()
        finally:
            await self._pool.putconn(conn)


class _ClusterHold:
    """A place on a host in this process and in the cluster, from `async with` entry to exit."""

    __slots__ = ("_conn", "_place", "_politeness", "_slot", "_slots", "_url")

    def __init__(self, slots: ClusterHostSlots, url: str, politeness: Politeness | None) -> None:
        self._slots = slots
        self._url = url
        self._politeness = politeness
        self._slot: HostSlot | None = None
        self._conn: Any = None
        self._place = -1

    async def __aenter__(self) -> HostSlot:
        slot = await self._slots._enter(self._url, self._politeness)
        try:
            self._conn, self._place = await self._slots._take_place(self._url, slot)
        except BaseException:
            slot.active -= 1
            slot._sem.release()
            raise
        self._slot = slot
        return slot

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        slot = self._slot
        assert slot is not None
        try:
            await asyncio.shield(self._slots._free_place(self._conn, slot, self._place))
        finally:
            slot.active -= 1
            slot._sem.release()
