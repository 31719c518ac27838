"""Search index in two parts (issue 19): the current content of each article apart from the rest.

A search of the current text (the default) then reads a third of the versions' index rows. On
SQLite the versions' index moves from one FTS5 table to two, `search_current` and `search_fts`
(the past); on PostgreSQL `search_terms` gets a `current` column and one partial GIN index per
part instead of one over all rows. A contentless FTS5 table cannot tell which of its rows is
which, so the upgrade empties the index and plans a backfill of every version, which
`mfawatch search` (with a progress bar) or `mfawatch search --rebuild` runs in committed,
resumable batches, putting each version in the part of its article's state; versions written
meanwhile are indexed as they are written. Running it again (a database stamped back) rebuilds
the same way. A narrow index of versions, `ix_versions_match` (id,
article id, number), lets a search find each match's article without reading the version's
wide row. Downgrading restores 0006's one-part index, emptied
and planned for a backfill the same way. No stored data is touched.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 02:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The statements of `storage.search.ddl` at this revision (and 0006's), frozen here.
_FTS = "USING fts5(title, body, content='', tokenize='ascii')"
_UP = {
    "sqlite": (
        "DROP TABLE IF EXISTS search_fts",
        "DROP TABLE IF EXISTS search_current",
        f"CREATE VIRTUAL TABLE search_current {_FTS}",
        "INSERT INTO search_current(search_current, rank) VALUES ('automerge', 0)",
        f"CREATE VIRTUAL TABLE search_fts {_FTS}",
        "INSERT INTO search_fts(search_fts, rank) VALUES ('automerge', 0)",
    ),
    "postgresql": (
        "TRUNCATE search_terms",
        "DROP INDEX IF EXISTS ix_search_terms_terms",
        "ALTER TABLE search_terms ADD COLUMN IF NOT EXISTS current BOOLEAN NOT NULL DEFAULT false",
        "CREATE INDEX IF NOT EXISTS ix_search_terms_current ON search_terms USING GIN (terms) "
        "WHERE current",
        "CREATE INDEX IF NOT EXISTS ix_search_terms_past ON search_terms USING GIN (terms) "
        "WHERE NOT current",
    ),
}
_DOWN = {
    "sqlite": (
        "DROP TABLE IF EXISTS search_current",
        "DROP TABLE IF EXISTS search_fts",
        f"CREATE VIRTUAL TABLE search_fts {_FTS}",
        "INSERT INTO search_fts(search_fts, rank) VALUES ('automerge', 0)",
    ),
    "postgresql": (
        "TRUNCATE search_terms",
        "DROP INDEX IF EXISTS ix_search_terms_current",
        "DROP INDEX IF EXISTS ix_search_terms_past",
        "ALTER TABLE search_terms DROP COLUMN IF EXISTS current",
        "CREATE INDEX IF NOT EXISTS ix_search_terms_terms ON search_terms USING GIN (terms)",
    ),
}
_PLAN = (
    "DELETE FROM search_state",
    "INSERT INTO search_state (id, backfill_until, backfilled_to) "
    "SELECT 1, coalesce(max(id), 0), 0 FROM versions",
)


def upgrade() -> None:
    for statement in (*_UP[op.get_bind().dialect.name], *_PLAN):
        op.execute(statement)
    op.execute("CREATE INDEX IF NOT EXISTS ix_versions_match ON versions (id, article_id, number)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_versions_match")
    for statement in (*_DOWN[op.get_bind().dialect.name], *_PLAN):
        op.execute(statement)
