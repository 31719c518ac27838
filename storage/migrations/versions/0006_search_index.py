"""Search index (issue 19): `search_fts` (SQLite FTS5, contentless) or `search_terms` (PostgreSQL
tsvector under GIN), and `search_state`, the progress of indexing the versions stored before.

The upgrade creates the empty index and plans the backfill; the versions already stored are
indexed in committed batches by the next `mfawatch search` (with a progress bar) or by
`mfawatch search --rebuild`, and an interrupted backfill resumes where it stopped. Versions stored
after the upgrade are indexed as they are written. Downgrading drops the index; nothing else.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from storage.search import ddl

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    for statement in ddl.create_statements(bind.dialect.name):
        op.execute(statement)
    op.execute(
        "INSERT INTO search_state (id, backfill_until, backfilled_to) "
        "SELECT 1, coalesce(max(id), 0), 0 FROM versions"
    )


def downgrade() -> None:
    for statement in ddl.DROP[op.get_bind().dialect.name]:
        op.execute(statement)
