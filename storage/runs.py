"""A log of every source run (start, end, status, counts, error) and each source's health.

Health states: `ok`, `failing` (fetches fail: down, timeouts, 5xx), `broken` (the pages arrive
but the selectors find nothing), `blocked` (bot walls, challenges), `quiet` (the crawl works but no
new item came for longer than the source's rhythm makes likely: `storage.rhythm`). The caller decides the state
from what it saw; `update_health` stores it, counts consecutive non-ok observations, and says
whether the state changed, so each change is reported once and not on every poll.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.schema import HealthRow, RunRow, insert_ignore

HEALTH_STATES = ("ok", "failing", "broken", "blocked", "quiet")
# States that are not failures: they leave `consecutive_failures` at 0.
NOT_FAILING = ("ok", "quiet")


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """A source's health as last stored."""

    source: str
    state: str
    consecutive_failures: int
    last_error: str | None
    changed_at: datetime
    updated_at: datetime


def start_run(session: Session, source: str, started_at: datetime, node: str | None = None) -> int:
    """Open a run row for `source` (made by cluster node `node`, if any); return its id."""
    run_id = session.execute(
        sa.insert(RunRow)
        .values(source=source, started_at=started_at, status="running", counts={}, node=node)
        .returning(RunRow.id)
    ).scalar_one()
    return int(run_id)


def finish_run(
    session: Session,
    run_id: int,
    *,
    finished_at: datetime,
    status: str,
    counts: Mapping[str, int],
    error: str | None,
) -> None:
    """Close a run with its outcome, counts and (first) error."""
    result = session.execute(
        sa.update(RunRow)
        .where(RunRow.id == run_id)
        .values(finished_at=finished_at, status=status, counts=dict(counts), error=error)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise ValueError(f"finish_run: no run with id {run_id} (was start_run called?)")


def update_health(
    session: Session, source: str, *, state: str, error: str | None, at: datetime
) -> bool:
    """Store a source's observed health; True when the state differs from the stored one.

    A source never seen before counts as `ok`, so a first healthy poll is not a change.
    """
    if state not in HEALTH_STATES:
        raise ValueError(f"unknown health state {state!r} (use one of {', '.join(HEALTH_STATES)})")
    # A new row starts as `ok`; insert-or-ignore, then the row locked: two writers of one
    # database (PostgreSQL) neither collide on the key nor lose each other's count.
    insert_ignore(
        session,
        HealthRow.__table__,  # type: ignore[arg-type]
        [
            {
                "source": source,
                "state": "ok",
                "consecutive_failures": 0,
                "changed_at": at,
                "updated_at": at,
            }
        ],
    )
    row = session.execute(
        sa.select(HealthRow)
        .where(HealthRow.source == source)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    previous = row.state
    failures = 0 if state in NOT_FAILING else row.consecutive_failures + 1
    changed = previous != state
    row.state = state
    row.consecutive_failures = failures
    row.last_error = error if state != "ok" else row.last_error
    row.updated_at = at
    if changed:
        row.changed_at = at
    session.flush()
    return changed


def get_health(session: Session, source: str) -> SourceHealth | None:
    """A source's stored health (None when never recorded)."""
    row = session.get(HealthRow, source)
    if row is None:
        return None
    return SourceHealth(
        row.source,
        row.state,
        row.consecutive_failures,
        row.last_error,
        row.changed_at,
        row.updated_at,
    )


def last_run_status(session: Session, source: str) -> str | None:
    """The status of the source's most recent run (`running` if it never finished), or None."""
    return session.execute(
        sa.select(RunRow.status)
        .where(RunRow.source == source)
        .order_by(RunRow.started_at.desc(), RunRow.id.desc())
        .limit(1)
    ).scalar()


def runs_in_a_row(session: Session, source: str, status: str, limit: int) -> int:
    """How many of the source's most recent runs (at most `limit`) ended with `status`, in a row."""
    recent = session.execute(
        sa.select(RunRow.status)
        .where(RunRow.source == source)
        .order_by(RunRow.started_at.desc(), RunRow.id.desc())
        .limit(limit)
    ).scalars()
    count = 0
    for value in recent:
        if value != status:
            break
        count += 1
    return count
