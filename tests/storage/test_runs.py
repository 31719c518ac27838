"""Runs and source health: a log per run, and each health change reported once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from storage import runs
from storage.engine import Database
from storage.schema import RunRow
from tests.storage.conftest import T0

M = timedelta(minutes=1)


def test_runs_are_logged(db: Database) -> None:
    """start_run opens a row; finish_run records end time, status, counts and error."""
    with db.session() as s:
        run_id = runs.start_run(s, "cn-mfa-en", T0)
    with db.session() as s:
        runs.finish_run(
            s,
            run_id,
            finished_at=T0 + M,
            status="partial",
            counts={"new": 3},
            error="listing 2: 503",
        )
    with db.session() as s:
        row = s.get(RunRow, run_id)
        assert row is not None
        assert (row.started_at, row.finished_at, row.status) == (T0, T0 + M, "partial")
        assert row.counts == {"new": 3} and row.error == "listing 2: 503"


def test_finishing_an_unknown_run_is_an_error(db: Database) -> None:
    """finish_run names the missing run id."""
    with pytest.raises(ValueError, match="no run with id 999"), db.session() as s:
        runs.finish_run(s, 999, finished_at=T0, status="ok", counts={}, error=None)


def test_health_changes_are_reported_once(db: Database) -> None:
    """update_health returns True only when the state changes, and counts consecutive failures."""
    seen = []
    for i, state in enumerate(["ok", "ok", "failing", "failing", "failing", "blocked", "ok", "ok"]):
        with db.session() as s:
            seen.append(
                runs.update_health(
                    s, "cn", state=state, error=None if state == "ok" else "HTTP 503", at=T0 + i * M
                )
            )
    assert seen == [False, False, True, False, False, True, True, False]
    with db.session() as s:
        health = runs.get_health(s, "cn")
    assert health is not None and health.state == "ok" and health.consecutive_failures == 0
    assert health.changed_at == T0 + 6 * M and health.updated_at == T0 + 7 * M


def test_health_counts_failures_and_keeps_the_error(db: Database) -> None:
    """Consecutive non-ok observations are counted, with the latest error."""
    for i in range(3):
        with db.session() as s:
            runs.update_health(
                s, "us", state="broken", error=f"selector matched nothing #{i}", at=T0
            )
    with db.session() as s:
        health = runs.get_health(s, "us")
        assert runs.get_health(s, "nobody") is None
        assert s.execute(sa.select(sa.func.count()).select_from(RunRow)).scalar_one() == 0
    assert health is not None
    assert health.consecutive_failures == 3 and health.last_error == "selector matched nothing #2"


def test_unknown_health_state_is_refused(db: Database) -> None:
    """An unknown health state is refused with the list of allowed ones."""
    with pytest.raises(ValueError, match="ok, failing, broken, blocked"), db.session() as s:
        runs.update_health(s, "cn", state="sad", error=None, at=T0)
