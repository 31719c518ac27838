"""The search index's tables, per dialect: what the migration and a new database create.

Each version is indexed once, in one of two parts: the *current* part holds the current content
of every article not removed (what `--in current`, the default, reads), the *past* part every
other version with text (earlier versions, and all of a removed article's). `--in all` and
`--in removed` read both. A write that changes which version is current moves the index rows of
the versions concerned in its own transaction (`storage.search.index`), so a search of the
current text ranks a third of the versions instead of all of them.

SQLite: `search_current` and `search_fts` (the past), contentless FTS5 tables (`content=''`)
whose rowid is the version id: they keep the index only, never a copy of the text. `automerge` is off: FTS5 then merges its segments
only when 16 pile up on one level (`crisismerge`), not a little after every write, which halved
the wall time of a 10,000-article cold crawl with the index on (docs/benchmarks.md). Its `ascii` tokenizer splits on ASCII spaces and
punctuation only, so it indexes exactly the tokens `storage.search.text` made (already folded).

PostgreSQL: `search_terms`, one narrow row per version: its article id and number (so a search
needs no join to `versions` to count or list its matches), `current`, the part, and `terms`, the
tsvector of the distinct tokens (no positions, so no 16,383-position or 256-occurrence limit).
Two partial GIN indexes of `terms`, one per part: every query is first narrowed by the one (or
both) of its scope, and a version that stops being current is one UPDATE that enters it in the
other. A GIN bitmap scan visits the heap row of every match, so the rows are kept narrow (~100 a
block, the heap of 100,000 x 3 versions in ~25 MB): `terms` is stored out of line. PostgreSQL
moves a value out of line only when the row is over ~2 KB (`toast_tuple_target`, 128 bytes
here, is what it then shrinks the row to, not that threshold), so `pad`, 2 KB of spaces that
compress to ~35 bytes, makes every row pass it; a row moved between the parts keeps its
out-of-line `terms`. `search_text`: the title's and body's tokens as space-delimited strings
(`" t1 t2 "`, compressed by TOAST), read only to confirm a phrase (`LIKE '% a b %'`).

`search_state` (both): how far the backfill of versions stored before the index got.
"""

from __future__ import annotations

# The SQLite tables of the two parts.
CURRENT, PAST = "search_current", "search_fts"
# The index a match's article is read through (a version's row is wide: its text).
MATCH_INDEX = "ix_versions_match"
SQLITE = tuple(
    statement
    for table in (CURRENT, PAST)
    for statement in (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING fts5("
        "title, body, content='', tokenize='ascii')",
        f"INSERT INTO {table}({table}, rank) VALUES ('automerge', 0)",
    )
)
# The pad's length: over the ~2 KB past which PostgreSQL toasts a row (see the module doc).
PAD = 2100
POSTGRESQL = (
    "CREATE TABLE IF NOT EXISTS search_terms ("
    "version_id INTEGER NOT NULL PRIMARY KEY REFERENCES versions(id) ON DELETE CASCADE, "
    "article_id INTEGER NOT NULL, number INTEGER NOT NULL, "
    "current BOOLEAN NOT NULL DEFAULT false, terms TSVECTOR NOT NULL, "
    f"pad TEXT NOT NULL DEFAULT repeat(' ', {PAD})) WITH (toast_tuple_target = 128)",
    "CREATE TABLE IF NOT EXISTS search_text ("
    "version_id INTEGER NOT NULL PRIMARY KEY REFERENCES search_terms(version_id) "
    "ON DELETE CASCADE, title TEXT NOT NULL, body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_search_terms_current ON search_terms USING GIN (terms) "
    "WHERE current",
    "CREATE INDEX IF NOT EXISTS ix_search_terms_past ON search_terms USING GIN (terms) "
    "WHERE NOT current",
)
STATE = (
    "CREATE TABLE IF NOT EXISTS search_state ("
    "id INTEGER NOT NULL PRIMARY KEY, backfill_until INTEGER NOT NULL, "
    "backfilled_to INTEGER NOT NULL)",
)
DROP = {
    "sqlite": (
        "DROP TABLE IF EXISTS search_current",
        "DROP TABLE IF EXISTS search_fts",
        "DROP TABLE IF EXISTS search_state",
    ),
    "postgresql": (
        "DROP TABLE IF EXISTS search_text",
        "DROP TABLE IF EXISTS search_terms",
        "DROP TABLE IF EXISTS search_state",
    ),
}


def create_statements(dialect: str) -> tuple[str, ...]:
    """The statements that create the search tables on `dialect` (sqlite or postgresql)."""
    if dialect == "sqlite":
        return SQLITE + STATE
    if dialect == "postgresql":
        return POSTGRESQL + STATE
    raise NotImplementedError(f"search index on {dialect} (only SQLite and PostgreSQL)")
