"""Narrow PostgreSQL search rows (issue 19): the phrase text apart, the article on the row.

A GIN bitmap scan visits the heap row of every match, and `search_terms` rows were ~1.1 KB (the
title's and body's token strings and the tsvector, compressed in line): counting and ranking a
frequent term read about one 8 KB block per match. `search_terms` becomes one narrow row per
version (its article id and number, `current`, and `terms` stored out of line; see
`storage.search.ddl` for the pad that makes PostgreSQL move it), and the token strings, read
only to confirm a phrase, move to `search_text`. The tables are made anew and a backfill of
every version is planned, which `mfawatch search` (with a progress bar) or
`mfawatch search --rebuild` runs in committed, resumable batches, as after 0011; versions
written meanwhile are indexed as they are written. Running it again (a database stamped back)
rebuilds the same way. SQLite's index is unchanged: nothing happens there.

Downgrading restores 0011's one-table layout, emptied and planned for a backfill the same way.
No stored data is touched.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The statements of `storage.search.ddl` at this revision (and 0011's), frozen here.
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_search_terms_current ON search_terms USING GIN (terms) "
    "WHERE current",
    "CREATE INDEX IF NOT EXISTS ix_search_terms_past ON search_terms USING GIN (terms) "
    "WHERE NOT current",
)
_DROP = ("DROP TABLE IF EXISTS search_text", "DROP TABLE IF EXISTS search_terms")
_UP = (
    *_DROP,
    "CREATE TABLE search_terms ("
    "version_id INTEGER NOT NULL PRIMARY KEY REFERENCES versions(id) ON DELETE CASCADE, "
    "article_id INTEGER NOT NULL, number INTEGER NOT NULL, "
    "current BOOLEAN NOT NULL DEFAULT false, terms TSVECTOR NOT NULL, "
    "pad TEXT NOT NULL DEFAULT repeat(' ', 2100)) WITH (toast_tuple_target = 128)",
    "CREATE TABLE search_text ("
    "version_id INTEGER NOT NULL PRIMARY KEY REFERENCES search_terms(version_id) "
    "ON DELETE CASCADE, title TEXT NOT NULL, body TEXT NOT NULL)",
    *_INDEXES,
)
_DOWN = (
    *_DROP,
    "CREATE TABLE search_terms ("
    "version_id INTEGER NOT NULL PRIMARY KEY REFERENCES versions(id) ON DELETE CASCADE, "
    "title TEXT NOT NULL, body TEXT NOT NULL, terms TSVECTOR NOT NULL, "
    "current BOOLEAN NOT NULL DEFAULT false)",
    *_INDEXES,
)
_PLAN = (
    "DELETE FROM search_state",
    "INSERT INTO search_state (id, backfill_until, backfilled_to) "
    "SELECT 1, coalesce(max(id), 0), 0 FROM versions",
)


def _run(statements: Sequence[str]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (*statements, *_PLAN):
        op.execute(statement)


def upgrade() -> None:
    _run(_UP)


def downgrade() -> None:
    _run(_DOWN)
