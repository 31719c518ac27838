"""Who may crawl: one daemon per SQLite file, and the per-source claim ("may I crawl X now?").

`DaemonLock` holds an OS file lock (`fcntl.flock`, exclusive, non-blocking) on `<dbfile>.lock`
for the daemon's whole life and writes its PID into the file. The kernel releases the lock when
the process dies however it dies (SIGKILL included), so a stale lock file never blocks a
restart. A second daemon on the same file gets `AlreadyRunning`, whose message names the PID.

`SourceClaim` is the small interface the daemon asks before each crawl. `LocalSourceClaim` keeps
the claims in memory, which is enough because the file lock makes this process the only crawler
of its database. Several daemons sharing one PostgreSQL database do not use a claim of their own:
they are cluster nodes whose job queue (procrastinate's `lock` per source, `mfawatch.cluster_node`)
keeps a source on one node at a time. The lease sketched below was the alternative:

    claim:   INSERT INTO source_leases (source, holder, expires_at) VALUES (:key, :me, now() + :ttl)
             ON CONFLICT (source) DO UPDATE SET holder = :me, expires_at = now() + :ttl
             WHERE source_leases.expires_at < now() OR source_leases.holder = :me
             RETURNING holder            -- a row back means the claim is ours
    release: DELETE FROM source_leases WHERE source = :key AND holder = :me

The `ttl` bounds how long a crashed holder keeps a source; a long crawl renews its claim by
claiming again before the ttl runs out.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import make_url

from storage.errors import MfawatchError

DEFAULT_CLAIM_TTL = timedelta(minutes=30)


class AlreadyRunning(MfawatchError):
    """Another daemon holds the lock of this database."""

    def __init__(self, lock_path: Path, pid: int | None) -> None:
        self.lock_path = lock_path
        self.pid = pid
        who = f"PID {pid}" if pid else "another process (PID unknown)"
        super().__init__(
            f"another mfawatch daemon is already running on this database: {who} holds {lock_path};"
            " stop it first (only one daemon may write to one SQLite file)"
        )


class LockUnavailable(MfawatchError):
    """The lock file cannot be created or opened (missing folder, no permission)."""


def sqlite_file(db_url: str) -> Path | None:
    """The file of a SQLite database URL (None for PostgreSQL or an in-memory database)."""
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).expanduser().resolve()


def lock_path_for(db_file: Path) -> Path:
    """The lock file of a SQLite database file: `<dbfile>.lock`."""
    return db_file.with_name(db_file.name + ".lock")


def read_lock_pid(lock_path: Path) -> int | None:
    """The PID written in a lock file, or None when it is missing or unreadable."""
    try:
        text = lock_path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def holder_pid(db_file: Path) -> int | None:
    """The PID of the daemon running on `db_file` right now, or None when none is.

    Read from the lock file and checked for life, without touching the lock itself: probing the
    lock could make a daemon starting at that instant believe another one holds it.
    """
    pid = read_lock_pid(lock_path_for(db_file))
    if pid is None:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, owned by another user (the service account)
        return pid
    return pid


class DaemonLock:
    """An exclusive lock on `<dbfile>.lock`, held from `acquire()` until `release()` or exit."""

    def __init__(self, db_file: Path) -> None:
        self.path = lock_path_for(db_file)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock and write our PID, or raise `AlreadyRunning` naming the holder's PID."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise LockUnavailable(
                f"cannot open the daemon lock {self.path}: {exc.strerror}"
                " (does the database folder exist and is it writable? or pass another --db)"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(self.path, read_lock_pid(self.path)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (the file stays; a lock file without a lock holder means nothing)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> DaemonLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class SourceClaim(Protocol):
    """Whether this process may crawl a source now; the seam for a database lease later."""

    def claim(self, key: str, ttl: timedelta = DEFAULT_CLAIM_TTL) -> bool:
        """Claim `key` for one crawl; False when someone (this process included) already has it."""
        ...

    def release(self, key: str) -> None:
        """Give the claim on `key` back after the crawl, whatever its outcome."""
        ...


class LocalSourceClaim:
    """In-process claims: correct whenever `DaemonLock` makes this the only daemon of its database."""

    def __init__(self) -> None:
        self._held: set[str] = set()

    def claim(self, key: str, ttl: timedelta = DEFAULT_CLAIM_TTL) -> bool:
        """Claim `key` unless a crawl of it is already running here (`ttl` is moot in-process)."""
        if key in self._held:
            return False
        self._held.add(key)
        return True

    def release(self, key: str) -> None:
        """Give the claim on `key` back."""
        self._held.discard(key)

    @property
    def held(self) -> frozenset[str]:
        """The keys claimed right now."""
        return frozenset(self._held)
