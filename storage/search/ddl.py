"""The search index's tables, per dialect: what the migration and a new database create.

SQLite: `search_fts`, a contentless FTS5 table (`content=''`) whose rowid is the version id: it
keeps the index only, never a copy of the text. `automerge` is off: FTS5 then merges its segments
only when 16 pile up on one level (`crisismerge`), not a little after every write, which halved
the wall time of a 10,000-article cold crawl with the index on (docs/benchmarks.md). Its `ascii` tokenizer splits on ASCII spaces and
punctuation only, so it indexes exactly the tokens `storage.search.text` made (already folded).

PostgreSQL: `search_terms`, one row per version: the title's and body's tokens as
space-delimited strings (`" t1 t2 "`, compressed by TOAST; phrases are matched on them with
LIKE) and `terms`, the tsvector of the distinct tokens (no positions, so no 16,383-position or
256-occurrence limit), under a GIN index: every query is first narrowed by it.

`search_state` (both): how far the backfill of versions stored before the index got.
"""

from __future__ import annotations

SQLITE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
    "title, body, content='', tokenize='ascii')",
    "INSERT INTO search_fts(search_fts, rank) VALUES ('automerge', 0)",
)
POSTGRESQL = (
    "CREATE TABLE IF NOT EXISTS search_terms ("
    "version_id INTEGER NOT NULL PRIMARY KEY REFERENCES versions(id) ON DELETE CASCADE, "
    "title TEXT NOT NULL, body TEXT NOT NULL, terms TSVECTOR NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_search_terms_terms ON search_terms USING GIN (terms)",
)
STATE = (
    "CREATE TABLE IF NOT EXISTS search_state ("
    "id INTEGER NOT NULL PRIMARY KEY, backfill_until INTEGER NOT NULL, "
    "backfilled_to INTEGER NOT NULL)",
)
DROP = {
    "sqlite": ("DROP TABLE IF EXISTS search_fts", "DROP TABLE IF EXISTS search_state"),
    "postgresql": ("DROP TABLE IF EXISTS search_terms", "DROP TABLE IF EXISTS search_state"),
}


def create_statements(dialect: str) -> tuple[str, ...]:
    """The statements that create the search tables on `dialect` (sqlite or postgresql)."""
    if dialect == "sqlite":
        return SQLITE + STATE
    if dialect == "postgresql":
        return POSTGRESQL + STATE
    raise NotImplementedError(f"search index on {dialect} (only SQLite and PostgreSQL)")
