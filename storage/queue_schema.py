"""The job queue's tables (procrastinate's), created with the rest of the schema on PostgreSQL.

Cluster mode (several `mfawatch run` on one PostgreSQL) runs its work through procrastinate, a
PostgreSQL task queue. Its tables, types and functions ship as SQL inside the package; this module
applies that SQL in the transaction of our own schema change (migration 0007, and the first-run
creation of an empty database), so the queue is never a separate manual step. SQLite has no
queue (one daemon per file), so nothing is done there.

A later procrastinate release that changes its schema ships the change as SQL files too; such an
upgrade comes with an Alembic revision of ours that applies them, and the dependency range in
pyproject.toml keeps procrastinate below the next major release until then.
"""

from __future__ import annotations

from importlib import resources

import sqlalchemy as sa

QUEUE_TABLE = "procrastinate_jobs"
QUEUE_PREFIX = "procrastinate_"


def queue_schema_sql() -> str:
    """procrastinate's full schema (types, tables, functions, triggers) as one SQL script."""
    return (resources.files("procrastinate.sql") / "schema.sql").read_text(encoding="utf-8")


def has_queue(conn: sa.Connection) -> bool:
    """Whether the queue's tables exist in the connection's current schema."""
    found = conn.exec_driver_sql(
        "SELECT 1 FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_name = %(t)s",
        {"t": QUEUE_TABLE},
    ).first()
    return found is not None


def create_queue(conn: sa.Connection) -> bool:
    """Create the queue's tables on PostgreSQL when missing; True when it created them.

    Runs inside the caller's transaction (the schema lock held), through the driver connection so
    that the script's many statements go as one simple query.
    """
    if conn.dialect.name != "postgresql" or has_queue(conn):
        return False
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(queue_schema_sql())
    return True


def drop_queue(conn: sa.Connection) -> None:
    """Drop the queue's tables, functions and types (the downgrade of migration 0007)."""
    if conn.dialect.name != "postgresql":
        return
    rows = conn.exec_driver_sql(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n "
        "ON n.oid = p.pronamespace WHERE n.nspname = current_schema() "
        "AND p.proname LIKE 'procrastinate%%'"
    ).all()
    for table in ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs",
                  "procrastinate_workers"):  # fmt: skip
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table} CASCADE")
    for (signature,) in rows:
        conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
    for kind in ("procrastinate_job_to_defer_v1", "procrastinate_job_event_type",
                 "procrastinate_job_status"):  # fmt: skip
        conn.exec_driver_sql(f"DROP TYPE IF EXISTS {kind} CASCADE")
