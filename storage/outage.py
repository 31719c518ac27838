"""Riding out a PostgreSQL outage: which errors mean "the server is out of reach", and the one
warning per outage.

`is_unreachable(exc)` tells a lost or refused connection (the server down, restarting, or cut off
by the network) from an error of the statement itself: only the first is worth waiting for.

`Outage` is shared by everything of one process that talks to the database while it is away
(the crawl's writer, the cluster node's worker and heartbeat): the first to fail logs the one
warning of the outage, the first to succeed afterwards logs that the database answers again, and
the others stay quiet. Waits end early when one of them sees the database back (the cluster
node looks every heartbeat), so a long outage's 30-s pauses do not delay the resumption. It
bounds the wait (`max_wait`, default `MAX_WAIT`): a write still failing after that fails as it
would have without waiting. `abandon()` (the process is stopping) ends every wait at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

log = logging.getLogger("storage.outage")

MAX_WAIT = 900.0  # seconds a write is held and retried while the database does not answer
FIRST_PAUSE = 0.5  # seconds before the first retry; doubled at each retry ...
MAX_PAUSE = 30.0  # ... up to this

# SQLSTATE classes of a connection gone or refused, and the server shutting down or starting up.
_UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def is_unreachable(exc: BaseException) -> bool:
    """True when `exc` (or what it wraps) says the PostgreSQL server cannot be reached.

    Looks through SQLAlchemy's `orig` and the `__cause__` chain (procrastinate wraps the driver's
    errors): a psycopg `OperationalError` without SQLSTATE (the connection failed or broke), one
    of class 08 or 57P0x, a pool timeout, or an OS-level connection error.
    """
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        kind = type(e)
        if kind.__module__.startswith("psycopg"):
            if kind.__name__ == "PoolTimeout":
                return True
            if any(k.__name__ == "OperationalError" for k in kind.__mro__):
                state = getattr(e, "sqlstate", None)
                if state is None or state.startswith(_UNREACHABLE_SQLSTATES):
                    return True
        if isinstance(e, (ConnectionError, TimeoutError)):
            return True
        for inner in (getattr(e, "orig", None), e.__cause__):
            if isinstance(inner, BaseException):
                todo.append(inner)
    return False


def reason_of(exc: BaseException) -> str:
    """The first line of the innermost cause (wrappers often say something vaguer)."""
    inner: BaseException = exc
    while inner.__cause__ is not None:
        inner = inner.__cause__
    text = str(inner).strip()
    return text.splitlines()[0][:200] if text else type(inner).__name__


class Outage:
    """The state of one process's link to its database: up, or away since when."""

    def __init__(self, location: str, *, max_wait: float = MAX_WAIT, who: str = "") -> None:
        self.location = location
        self.max_wait = max_wait
        self.who = who  # e.g. "node n1", for the lines logged
        self._lock = threading.Condition()
        self._since: float | None = None
        self._ends = 0  # outages ended so far: a wait ends early when this moves
        self._abandoned = False

    def __repr__(self) -> str:
        state = "up" if self._since is None else f"away {time.monotonic() - self._since:.0f} s"
        return f"Outage({self.location!r}, {state})"

    @property
    def active(self) -> bool:
        """Whether the database is known to be away now."""
        return self._since is not None

    @property
    def abandoned(self) -> bool:
        """Whether waits end at once (the process is stopping)."""
        return self._abandoned

    def lost(self, exc: BaseException, consequence: str) -> None:
        """Say once per outage that the database does not answer (never a traceback)."""
        with self._lock:
            if self._since is not None:
                return
            self._since = time.monotonic()
        log.warning(
            "PostgreSQL at %s does not answer (%s); %s, retrying with a growing pause (up to"
            " %.0f s); fetched results are held for up to %.0f s",
            self.location,
            reason_of(exc),
            consequence,
            MAX_PAUSE,
            self.max_wait,
        )

    def back(self) -> None:
        """Say once that the database answers again (nothing when it was not away)."""
        with self._lock:
            since, self._since = self._since, None
            if since is not None:
                self._ends += 1
                self._lock.notify_all()  # the waits end now: try again at once
        if since is not None:
            who = f"; {self.who} resumes" if self.who else ""
            log.info(
                "PostgreSQL at %s answers again after %.0f s%s",
                self.location,
                time.monotonic() - since,
                who,
            )

    def abandon(self) -> None:
        """End every wait now and from now on (shutdown: what is still held is given up)."""
        with self._lock:
            self._abandoned = True
            self._lock.notify_all()

    def wait(self, seconds: float) -> bool:
        """Sleep `seconds` in this thread, or until someone sees the database back; False (at
        once) when the waits are abandoned."""
        with self._lock:
            ends = self._ends
            self._lock.wait_for(lambda: self._abandoned or self._ends != ends, timeout=seconds)
            return not self._abandoned

    async def wait_async(self, seconds: float) -> bool:
        """`wait` on the event loop (looking every 0.2 s whether it may end early)."""
        end = time.monotonic() + seconds
        ends = self._ends
        while not self._abandoned and self._ends == ends:
            left = end - time.monotonic()
            if left <= 0:
                return True
            await asyncio.sleep(min(left, 0.2))
        return not self._abandoned
