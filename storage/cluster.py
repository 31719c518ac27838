"""The cluster's own rows: the node registry (`cluster_nodes`), the cluster-wide pace of each host
(`host_pace`), and which node ran each source last (`runs.node`).

A node is one `mfawatch run` on PostgreSQL. It registers under its name when it starts (refused
while a live node holds that name), beats every few seconds, and marks itself stopped on a clean
exit. A node whose beat is older than the cluster's `stalled_after` is dead: its name may be
taken again and `status` shows it as lost. The job queue itself is procrastinate's
(`storage.queue_schema`); these rows only describe the nodes for people and for `status`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.schema import NodeRow, RunRow


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """One node as registered."""

    name: str
    host: str
    pid: int
    version: str
    tags: tuple[str, ...]
    started_at: datetime
    heartbeat_at: datetime
    jobs_running: int
    stopped_at: datetime | None

    def alive(self, now: datetime, stalled_after: timedelta) -> bool:
        """Running and beating: not stopped, and its last beat younger than `stalled_after`."""
        return self.stopped_at is None and now - self.heartbeat_at <= stalled_after


class NameTaken(Exception):
    """A live node already runs under this name."""

    def __init__(self, node: NodeInfo) -> None:
        self.node = node
        super().__init__(node.name)


def _info(row: NodeRow) -> NodeInfo:
    return NodeInfo(
        row.name,
        row.host,
        row.pid,
        row.version,
        tuple(str(t) for t in row.tags or ()),
        row.started_at,
        row.heartbeat_at,
        row.jobs_running,
        row.stopped_at,
    )


def register_node(
    session: Session,
    *,
    name: str,
    host: str,
    pid: int,
    version: str,
    tags: Sequence[str],
    now: datetime,
    stalled_after: timedelta,
) -> None:
    """Register (or re-register) this node; raise `NameTaken` when a live node has the name.

    The row is locked while checked, so two nodes starting at once under one name cannot both
    take it.
    """
    row = session.execute(
        sa.select(NodeRow).where(NodeRow.name == name).with_for_update()
    ).scalar_one_or_none()
    if row is not None:
        info = _info(row)
        if info.alive(now, stalled_after) and (info.host, info.pid) != (host, pid):
            raise NameTaken(info)
        session.delete(row)
        session.flush()
    session.add(
        NodeRow(
            name=name,
            host=host,
            pid=pid,
            version=version,
            tags=list(tags),
            started_at=now,
            heartbeat_at=now,
            jobs_running=0,
            stopped_at=None,
        )
    )


def beat(session: Session, name: str, *, now: datetime, jobs_running: int) -> bool:
    """Record this node's heartbeat; False when its row is gone (another node took the name)."""
    result = session.execute(
        sa.update(NodeRow)
        .where(NodeRow.name == name, NodeRow.stopped_at.is_(None))
        .values(heartbeat_at=now, jobs_running=jobs_running)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_stopped(session: Session, name: str, *, now: datetime) -> None:
    """Record a clean stop of this node."""
    session.execute(
        sa.update(NodeRow).where(NodeRow.name == name).values(stopped_at=now, jobs_running=0)
    )


def list_nodes(session: Session) -> list[NodeInfo]:
    """Every registered node, by name."""
    rows = session.execute(sa.select(NodeRow).order_by(NodeRow.name)).scalars()
    return [_info(row) for row in rows]


def forget_stopped(session: Session, *, before: datetime) -> int:
    """Delete nodes that stopped, or stopped beating, before `before`; return how many."""
    result = session.execute(
        sa.delete(NodeRow).where(sa.or_(NodeRow.stopped_at < before, NodeRow.heartbeat_at < before))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def stamp_run_node(session: Session, run_id: int, node: str) -> None:
    """Record which node made a run."""
    session.execute(sa.update(RunRow).where(RunRow.id == run_id).values(node=node))


def last_nodes(session: Session) -> dict[str, str]:
    """Per source, the node of its latest run made by a node (sources never run by one: absent)."""
    latest = (
        sa.select(RunRow.source, sa.func.max(RunRow.id).label("id"))
        .where(RunRow.node.is_not(None))
        .group_by(RunRow.source)
        .subquery()
    )
    rows = session.execute(
        sa.select(RunRow.source, RunRow.node).join(latest, RunRow.id == latest.c.id)
    ).all()
    return {source: node for source, node in rows if node is not None}


def close_runs_of(
    session: Session,
    nodes: Sequence[str],
    *,
    now: datetime,
    except_sources: Iterable[str] = (),
) -> list[tuple[str, str]]:
    """Close the open runs of `nodes` (but not of `except_sources`, still crawling) as failed;
    return (node, source) of each closed."""
    if not nodes:
        return []
    rows = session.execute(
        sa.update(RunRow)
        .where(
            RunRow.finished_at.is_(None),
            RunRow.node.in_(list(nodes)),
            RunRow.source.not_in(list(except_sources)),
        )
        .values(
            finished_at=now,
            status="failed",
            error="the node running it stopped beating, or lost the database; queued again",
        )
        .returning(RunRow.node, RunRow.source)
    ).all()
    return [(str(node), str(source)) for node, source in rows]


def poll_waiting(session: Session, queueing_lock: str) -> bool:
    """Whether a job with this queueing lock waits in the queue (PostgreSQL only)."""
    found = session.execute(
        sa.text("SELECT 1 FROM procrastinate_jobs WHERE queueing_lock = :lock AND status = 'todo'"),
        {"lock": queueing_lock},
    ).first()
    return found is not None


def worker_registered(session: Session, worker_id: int) -> bool:
    """Whether procrastinate still knows this worker (not pruned as dead by another node)."""
    found = session.execute(
        sa.text("SELECT 1 FROM procrastinate_workers WHERE id = :id"), {"id": worker_id}
    ).first()
    return found is not None


def move_waiting_poll(session: Session, queueing_lock: str, queue: str) -> int:
    """Move the waiting job holding `queueing_lock` to `queue` (a source whose nodes changed:
    its waiting poll would otherwise stay in a queue no node may take, holding the lock that
    keeps a new poll out); return how many moved (0 or 1)."""
    result = session.execute(
        sa.text(
            "UPDATE procrastinate_jobs SET queue_name = :queue"
            " WHERE queueing_lock = :lock AND status = 'todo' AND queue_name <> :queue"
        ),
        {"queue": queue, "lock": queueing_lock},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def running_since(session: Session, *, live_nodes: Sequence[str]) -> list[datetime]:
    """Start times of the runs still open on live nodes (a dead node's open run is not waited for)."""
    if not live_nodes:
        return []
    rows = session.execute(
        sa.select(RunRow.started_at).where(
            RunRow.finished_at.is_(None), RunRow.node.in_(list(live_nodes))
        )
    ).scalars()
    return list(rows)


def reserve_start(session: Session, host: str, *, gap: float) -> datetime:
    """Reserve the next start time of a request to `host` for the whole cluster; return it.

    One statement, atomic under concurrent nodes: the start is the later of now and the host's
    `next_at`, and `next_at` moves `gap` seconds past it.
    """
    statement = sa.text(
        "INSERT INTO host_pace (host, next_at) VALUES (:host, now() + make_interval(secs => :gap))"
        " ON CONFLICT (host) DO UPDATE SET next_at ="
        " greatest(host_pace.next_at, now()) + make_interval(secs => :gap)"
        " RETURNING next_at - make_interval(secs => :gap), now()"
    )
    start, now = session.execute(statement, {"host": host, "gap": gap}).one()
    return max(start, now)


@dataclass(frozen=True, slots=True)
class QueueStats:
    """The job queue at a glance (PostgreSQL cluster mode)."""

    waiting: int
    running: int
    failed: int
    oldest_waiting: datetime | None


def queue_stats(session: Session) -> QueueStats | None:
    """Jobs waiting, running and failed, and since when the oldest one waits; None without a queue."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return None
    rows = session.execute(
        sa.text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1")
    ).all()
    counts: dict[str, int] = {str(status): int(n) for status, n in rows}
    oldest = session.execute(
        sa.text(
            "SELECT min(e.at) FROM procrastinate_jobs j JOIN procrastinate_events e"
            " ON e.job_id = j.id AND e.type = 'deferred' WHERE j.status = 'todo'"
        )
    ).scalar()
    return QueueStats(
        int(counts.get("todo", 0)),
        int(counts.get("doing", 0)),
        int(counts.get("failed", 0)),
        oldest,
    )
