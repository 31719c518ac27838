"""Timestamps: stored as UTC on every dialect, returned aware; offsets kept where they matter."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import StatementError

from storage import versions
from storage.engine import Database
from storage.schema import CursorRow
from storage.types import offset_minutes, with_offset
from tests.storage.conftest import T0, make_article, make_raw


def test_aware_times_come_back_in_utc(db: Database) -> None:
    """A +08:00 time is stored and read back as the same instant, tz-aware, in UTC."""
    local = datetime(2021, 11, 13, 14, 12, 30, 123456, tzinfo=timezone(timedelta(hours=8)))
    with db.session() as s:
        s.add(CursorRow(name="x", at=local))
    with db.session() as s:
        got = s.get(CursorRow, "x")
        assert got is not None
    assert got.at == local and got.at.tzinfo is UTC


def test_naive_times_are_refused(db: Database) -> None:
    """Binding a naive datetime fails with a message asking for a tz-aware one."""
    with pytest.raises(StatementError, match="naive datetime"), db.session() as s:
        s.add(CursorRow(name="n", at=datetime(2024, 1, 1)))
        s.flush()


def test_time_comparisons_use_instants(db: Database) -> None:
    """Filtering by a time in another zone compares instants, not wall-clock text."""
    with db.session() as s:
        s.add(CursorRow(name="a", at=T0))
    east = T0.astimezone(timezone(timedelta(hours=9)))
    with db.session() as s:
        assert s.execute(sa.select(CursorRow.name).where(CursorRow.at == east)).scalar() == "a"
        earlier = T0.astimezone(timezone(timedelta(hours=-5))) - timedelta(seconds=1)
        assert s.execute(sa.select(CursorRow.name).where(CursorRow.at > earlier)).scalar() == "a"


def test_offset_helpers() -> None:
    """offset_minutes and with_offset restore a time in its original offset."""
    local = datetime(2024, 3, 1, 14, 12, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert offset_minutes(local) == 330
    back = with_offset(local.astimezone(UTC), 330)
    assert back == local and back is not None and back.utcoffset() == timedelta(minutes=330)
    assert with_offset(None, 60) is None and offset_minutes(None) is None


def test_concurrent_writers_do_not_fail(db: Database) -> None:
    """Two threads recording fetches at once both succeed (BEGIN IMMEDIATE + busy timeout on SQLite)."""
    errors: list[BaseException] = []

    def worker(prefix: str) -> None:
        try:
            for i in range(15):
                art = make_article(f"https://mfa.example/{prefix}/{i}", title=f"{prefix} {i}")
                with db.session() as s:
                    versions.record_fetch(s, art, make_raw(art.url), now=T0, next_check_at=T0)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(p,)) for p in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.session(readonly=True) as s:
        assert s.execute(sa.text("SELECT count(*) FROM articles")).scalar_one() == 30
