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

# The statements of `storage.search.ddl` at this revision, frozen here (a later change of the
# index is a migration of its own).
_CREATE = {
    "sqlite": (
        "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
        "title, body, content='', tokenize='ascii')",
        "INSERT INTO search_fts(search_fts, rank) VALUES ('automerge', 0)",
    ),
    "postgresql": (
        "CREATE TABLE IF NOT EXISTS search_terms ("
        "version_id INTEGER NOT NULL PRIMARY KEY REFERENCES versions(id) ON DELETE CASCADE, "
        "title TEXT NOT NULL, body TEXT NOT NULL, terms TSVECTOR NOT NULL)",
        "CREATE INDEX IF NOT EXISTS ix_search_terms_terms ON search_terms USING GIN (terms)",
    ),
}
_STATE = (
    "CREATE TABLE IF NOT EXISTS search_state ("
    "id INTEGER NOT NULL PRIMARY KEY, backfill_until INTEGER NOT NULL, "
    "backfilled_to INTEGER NOT NULL)"
)
_DROP = {"sqlite": "search_fts", "postgresql": "search_terms"}

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for statement in (*_CREATE[op.get_bind().dialect.name], _STATE):
        op.execute(statement)
    op.execute(
        "INSERT INTO search_state (id, backfill_until, backfilled_to) "
        "SELECT 1, coalesce(max(id), 0), 0 FROM versions"
    )


def downgrade() -> None:
    op.execute(f"DROP TABLE IF EXISTS {_DROP[op.get_bind().dialect.name]}")
    op.execute("DROP TABLE IF EXISTS search_state")
