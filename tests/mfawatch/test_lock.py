"""The daemon lock (one daemon per SQLite file) and the local source claim."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mfawatch.lock import (
    AlreadyRunning,
    DaemonLock,
    LocalSourceClaim,
    LockUnavailable,
    holder_pid,
    lock_path_for,
    sqlite_file,
)


def test_a_second_lock_on_the_same_file_names_the_holder(tmp_path: Path) -> None:
    """Taking the lock twice fails with a message naming the lock file and the holder's PID."""
    db = tmp_path / "m.sqlite3"
    with DaemonLock(db):
        with pytest.raises(AlreadyRunning) as info:
            DaemonLock(db).acquire()
        assert info.value.pid == os.getpid()
        assert f"PID {os.getpid()}" in str(info.value)
        assert str(lock_path_for(db)) in str(info.value)
        assert holder_pid(db) == os.getpid()
    assert holder_pid(db) is None
    with DaemonLock(db):  # free again after release
        pass


def test_the_lock_of_a_killed_process_is_free(tmp_path: Path) -> None:
    """A lock file left by a process that died (even by SIGKILL) neither blocks nor reports a holder."""
    db = tmp_path / "m.sqlite3"
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from mfawatch.lock import DaemonLock\n"
        f"DaemonLock(Path({str(db)!r})).acquire()\n"
        "os.kill(os.getpid(), 9)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False)
    assert proc.returncode == -9
    assert lock_path_for(db).read_text().strip().isdigit()  # the stale PID is still written
    assert holder_pid(db) is None
    with DaemonLock(db):
        assert holder_pid(db) == os.getpid()


def test_sqlite_file_of_urls() -> None:
    """Only file-backed SQLite URLs have a lock file; PostgreSQL and in-memory SQLite have none."""
    assert sqlite_file("sqlite:////tmp/x/m.sqlite3") == Path("/tmp/x/m.sqlite3")
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("postgresql+psycopg://postgres@127.0.0.1/test") is None


def test_local_claim_refuses_a_source_already_claimed() -> None:
    """A source claimed once cannot be claimed again until it is released; others are independent."""
    claim = LocalSourceClaim()
    assert claim.claim("a")
    assert not claim.claim("a")
    assert claim.claim("b")
    claim.release("a")
    assert claim.claim("a")
    assert claim.held == {"a", "b"}


def test_a_lock_in_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    """A database path whose folder does not exist gives an error naming the lock file, not a traceback."""
    db = tmp_path / "missing" / "m.sqlite3"
    with pytest.raises(LockUnavailable, match="missing/m.sqlite3.lock.*database folder exist"):
        DaemonLock(db).acquire()
    assert not db.parent.exists()
