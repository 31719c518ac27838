"""Cluster mode: the job queue (procrastinate's tables, PostgreSQL only), the node registry
(`cluster_nodes`), the cluster-wide pace of each host (`host_pace`) and the node of each run
(`runs.node`).

On SQLite the queue is not created (one daemon per file); the two small tables and the column
are, so that both dialects keep one schema. Downgrading drops all of it (the queue's pending
jobs with it: the next poll of each source defers them again).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 23:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.queue_schema import create_queue, drop_queue
from storage.types import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("node", sa.String(length=200), nullable=True))
    op.create_table(
        "cluster_nodes",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
        sa.Column("jobs_running", sa.Integer(), nullable=False),
        sa.Column("stopped_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cluster_nodes")),
    )
    op.create_table(
        "host_pace",
        sa.Column("host", sa.String(length=300), nullable=False),
        sa.Column("next_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_host_pace")),
    )
    create_queue(op.get_bind())


def downgrade() -> None:
    drop_queue(op.get_bind())
    op.drop_table("host_pace")
    op.drop_table("cluster_nodes")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("node")
