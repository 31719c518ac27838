"""The cluster's rows (node registry, host pace, last node per source) and migration 0007, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from storage import cluster, runs
from storage.engine import Database
from tests.storage.conftest import T0

STALLED = timedelta(seconds=30)


def _register(db: Database, name: str, pid: int, at: object = T0) -> None:
    with db.session() as s:
        cluster.register_node(
            s, name=name, host="h1", pid=pid, version="0.1.0", tags=("ru",), now=at,  # type: ignore[arg-type]
            stalled_after=STALLED,
        )  # fmt: skip


def test_a_live_name_is_refused_a_dead_or_stopped_one_is_taken_over(db: Database) -> None:
    """Registering a name held by a beating node raises NameTaken naming it; once the node has
    stopped or gone silent past `stalled_after`, the name can be registered again."""
    _register(db, "fra1", 100)
    with pytest.raises(cluster.NameTaken) as caught:
        _register(db, "fra1", 200, T0 + timedelta(seconds=5))
    assert caught.value.node.pid == 100
    _register(db, "fra1", 100, T0 + timedelta(seconds=5))  # the same process again: fine
    _register(db, "fra1", 300, T0 + timedelta(seconds=40))  # silent for 35 s: dead
    with db.session() as s:
        [node] = cluster.list_nodes(s)
        assert (node.pid, node.tags) == (300, ("ru",))
        assert cluster.beat(s, "fra1", now=T0 + timedelta(seconds=45), jobs_running=2)
        cluster.mark_stopped(s, "fra1", now=T0 + timedelta(seconds=50))
        assert not cluster.beat(s, "fra1", now=T0 + timedelta(seconds=55), jobs_running=0)
        [node] = cluster.list_nodes(s)
        assert not node.alive(T0 + timedelta(seconds=50), STALLED)
    _register(db, "fra1", 400, T0 + timedelta(seconds=51))  # stopped: taken at once


def test_runs_keep_their_node_and_a_dead_nodes_open_run_is_closed(db: Database) -> None:
    """`runs.node` records who ran a source; `last_nodes` gives the latest per source; the open
    runs of a dead node (not those still crawling here) are closed as failed."""
    with db.session() as s:
        runs.start_run(s, "cn", T0, "a")
        second = runs.start_run(s, "cn", T0 + timedelta(minutes=1), "b")
        runs.start_run(s, "ru", T0, "b")
        runs.start_run(s, "us", T0, None)
    with db.session() as s:
        assert cluster.last_nodes(s) == {"cn": "b", "ru": "b"}
        assert sorted(cluster.running_since(s, live_nodes=["b"])) == [T0, T0 + timedelta(minutes=1)]
        closed = cluster.close_runs_of(s, ["b"], now=T0 + timedelta(hours=1), except_sources=["ru"])
    assert closed == [("b", "cn")]
    with db.session() as s:
        status = s.execute(
            sa.text("SELECT status, error FROM runs WHERE id = :id"), {"id": second}
        ).one()
    assert status[0] == "failed" and "stopped beating" in status[1]


def test_reserved_starts_on_one_host_are_one_gap_apart(db: Database) -> None:
    """`reserve_start` hands out start times a gap apart for one host, whoever asks (PostgreSQL)."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL only: cluster mode needs it")
    with db.session() as s:
        first = cluster.reserve_start(s, "example.org", gap=2.0)
        second = cluster.reserve_start(s, "example.org", gap=2.0)
        other = cluster.reserve_start(s, "example.net", gap=2.0)
    assert (second - first).total_seconds() == pytest.approx(2.0, abs=0.01)
    assert abs((other - first).total_seconds()) < 1.0  # another host: its own pace
    with db.session() as s:
        assert cluster.queue_stats(s) == cluster.QueueStats(0, 0, 0, None)


def test_migration_0007_goes_down_and_up_again(db: Database) -> None:
    """Downgrading to 0005 drops the node registry, the host pace, `runs.node` and (PostgreSQL)
    the job queue; upgrading brings them back, the runs kept."""
    from alembic import command

    from storage import migrate

    with db.session() as s:
        runs.start_run(s, "cn", T0, "a")
    cfg = migrate.alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    names = set(sa.inspect(db.engine).get_table_names())
    assert not {"cluster_nodes", "host_pace", "procrastinate_jobs"} & names
    assert "node" not in {c["name"] for c in sa.inspect(db.engine).get_columns("runs")}
    assert migrate.upgrade(db.engine)
    names = set(sa.inspect(db.engine).get_table_names())
    assert {"cluster_nodes", "host_pace"} <= names
    assert ("procrastinate_jobs" in names) == (db.dialect == "postgresql")
    with db.session() as s:
        assert s.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 1
