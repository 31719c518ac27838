"""Writing the search index: a version's index rows, in the transaction that stores the version.

Every path that inserts a version with text calls `index_versions` with the new ids in the same
session, so a crash leaves both or neither; a new version with text is its article's current
content, so it enters the current part (`storage.search.ddl`). A path that makes another version
current calls `retire_current` for the one that stops being current (before the article row
moves on) and, for a return to an earlier version, `reinstate` for that one: its index rows move
between the parts in the same transaction. Versions stored before the index existed are
indexed by `backfill`, in committed batches that record how far they got (`search_state`), so
an interrupted backfill resumes where it stopped; `rebuild` empties the index and starts over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.bodies import read_text
from storage.search.ddl import CURRENT, PAST
from storage.search.forms import FtsForms, fts_text, resolved
from storage.search.text import index_terms

# A tsvector holds at most 1 MB; the distinct tokens of a hostile page are cut well below it.
_MAX_TSVECTOR_BYTES = 900_000
_STATE_ID = 1

_INSERT_FTS = {
    table: sa.text(f"INSERT INTO {table}(rowid, title, body) VALUES (:id, :title, :body)")
    for table in (CURRENT, PAST)
}
# A contentless FTS5 table forgets a row when told the row's indexed values again.
_DELETE_FTS = {
    table: sa.text(
        f"INSERT INTO {table}({table}, rowid, title, body) VALUES ('delete', :id, :title, :body)"
    )
    for table in (CURRENT, PAST)
}
_HAS_FTS = {
    table: sa.text(f"SELECT rowid FROM {table} WHERE rowid = :id") for table in (CURRENT, PAST)
}
# The distinct tokens travel as one space-separated string (no token holds a space), split by
# the server: a text[] parameter is adapted element by element in Python, which cost about a
# third of the writer's CPU per new article (docs/benchmarks.md). The article id and number come
# from the version's row; the token strings go to the side table, in the same statement.
_INSERT_PG = sa.text(
    "WITH t AS (INSERT INTO search_terms (version_id, article_id, number, terms, current) "
    "SELECT v.id, v.article_id, v.number, "
    "array_to_tsvector(string_to_array(CAST(:terms AS text), ' ')), :current "
    "FROM versions v WHERE v.id = :id "
    "ON CONFLICT (version_id) DO NOTHING RETURNING version_id) "
    "INSERT INTO search_text (version_id, title, body) SELECT version_id, :title, :body FROM t"
)
_MOVE_PG = sa.text(
    "UPDATE search_terms SET current = :current WHERE version_id IN :ids AND current <> :current"
).bindparams(sa.bindparam("ids", expanding=True))


@dataclass(frozen=True, slots=True)
class IndexRow:
    """The index form of one version for one dialect: the title and body as its index takes
    them, and (PostgreSQL) the distinct tokens, in no particular order, joined by spaces."""

    version_id: int
    title: str
    body: str
    distinct: str = ""


def index_row(
    version_id: int,
    title: str | None,
    body: str | None,
    dialect: str = "postgresql",
    forms: FtsForms | None = None,
) -> IndexRow:
    """The index form of a version's title and body text on `dialect`.

    `forms` are the SQLite forms computed beforehand (`forms.fts_forms` of the same title and
    body, in a parse worker): used as they are on SQLite, ignored on PostgreSQL.
    """
    if dialect == "sqlite":
        if forms is not None:
            return IndexRow(version_id, resolved(title, forms[0]), resolved(body, forms[1]))
        return IndexRow(version_id, fts_text(title), fts_text(body))
    title_terms, body_terms = index_terms(title), index_terms(body)
    distinct = set(title_terms)
    distinct.update(body_terms)
    joined = " ".join(distinct)
    # Each token takes its bytes and 4 more in a tsvector: n tokens joined by n - 1 spaces are
    # within the cap when their length + 3n + 1 is.
    if len(joined.encode()) + 3 * len(distinct) + 1 > _MAX_TSVECTOR_BYTES:
        joined = " ".join(_capped(distinct))
    # Padded with spaces: a phrase is LIKE '% a b %'.
    return IndexRow(version_id, f" {' '.join(title_terms)} ", f" {' '.join(body_terms)} ", joined)


def _capped(distinct: set[str]) -> list[str]:
    """The first of the sorted tokens whose tsvector stays within `_MAX_TSVECTOR_BYTES`."""
    kept: list[str] = []
    size = 0
    for term in sorted(distinct):
        size += len(term.encode()) + 4
        if size > _MAX_TSVECTOR_BYTES:
            break
        kept.append(term)
    return kept


def _params(dialect: str, rows: Sequence[IndexRow], current: bool) -> list[dict[str, object]]:
    if dialect == "postgresql":
        return [
            {
                "id": r.version_id,
                "title": r.title,
                "body": r.body,
                "terms": r.distinct,
                "current": current,
            }
            for r in rows
        ]
    return [{"id": r.version_id, "title": r.title, "body": r.body} for r in rows]


def write_rows(session: Session, rows: Sequence[IndexRow], current: bool = True) -> None:
    """Insert index rows (versions not yet indexed) into the current part, or the past one, in
    the session's transaction."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    statement = _INSERT_PG if dialect == "postgresql" else _INSERT_FTS[CURRENT if current else PAST]
    session.execute(statement, _params(dialect, rows, current))


def _move(
    session: Session, versions: Iterable[tuple[int, str | None, str | None]], current: bool
) -> None:
    """Move the index rows of `versions` (id, title, body text) into the current part or out of
    it. A version not in the other part is left alone: it is there already, or has no text, or
    waits for a pending backfill (which puts it in the part of its article's state then)."""
    listed = [(vid, title, body) for vid, title, body in versions if title or body]
    if not listed:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_MOVE_PG, {"current": current, "ids": [vid for vid, _, _ in listed]})
        return
    source, target = (PAST, CURRENT) if current else (CURRENT, PAST)
    for vid, title, body in listed:
        if session.execute(_HAS_FTS[source], {"id": vid}).first() is None:
            continue
        row = _params("sqlite", [index_row(vid, title, body, "sqlite")], current)[0]
        session.execute(_DELETE_FTS[source], row)
        session.execute(_INSERT_FTS[target], row)


def retire_current(
    session: Session, versions: Iterable[tuple[int, str | None, str | None]]
) -> None:
    """Versions, as (id, title, body text), that stop being their article's current content (a
    newer version, a return to an earlier one, or the article's removal): their index rows
    move to the past part, in the session's transaction."""
    _move(session, versions, current=False)


def reinstate(session: Session, versions: Iterable[tuple[int, str | None, str | None]]) -> None:
    """Earlier versions, as (id, title, body text), that are their article's current content
    again (a return to them): their index rows move to the current part."""
    _move(session, versions, current=True)


_CURRENT_OF = sa.text(
    "SELECT v.id, v.title, v.body, v.body_text FROM versions v JOIN articles a "
    "ON a.id = v.article_id AND v.number = a.content_version "
    "WHERE a.id IN :ids AND a.status <> 'removed'"
).bindparams(sa.bindparam("ids", expanding=True))


def retire_current_of(session: Session, article_ids: Sequence[int]) -> None:
    """`retire_current` for the current versions of these articles (not removed), read from the
    database: call it before the article rows move on."""
    if article_ids:
        found = session.execute(_CURRENT_OF, {"ids": list(article_ids)})
        retire_current(
            session, [(vid, title, read_text(packed, text)) for vid, title, packed, text in found]
        )


def index_versions(
    session: Session,
    versions: Iterable[tuple[int, str | None, str | None]],
    forms: Iterable[FtsForms | None] | None = None,
) -> None:
    """Index new versions, given as (version id, title, body text), in the session's transaction,
    in the current part: each is its article's current content now.

    `forms`, one per version when given, are their SQLite forms computed beforehand (None for a
    version without). A version without text (a removal) has nothing to index and is skipped.
    """
    dialect = session.get_bind().dialect.name
    listed = list(versions)
    given = [None] * len(listed) if forms is None else list(forms)
    write_rows(
        session,
        [
            index_row(vid, title, body, dialect, f)
            for (vid, title, body), f in zip(listed, given, strict=True)
            if title or body
        ],
    )


@dataclass(frozen=True, slots=True)
class BackfillState:
    """How far the backfill got: versions with ids up to `until` need it, up to `done` have it."""

    done: int
    until: int

    @property
    def pending(self) -> bool:
        """Whether some version stored before the index is not indexed yet."""
        return self.done < self.until


def backfill_state(session: Session) -> BackfillState:
    """The backfill's progress (nothing pending when the index was built with the database)."""
    found = session.execute(
        sa.text("SELECT backfilled_to, backfill_until FROM search_state WHERE id = :i"),
        {"i": _STATE_ID},
    ).first()
    return BackfillState(int(found[0]), int(found[1])) if found else BackfillState(0, 0)


def start_backfill(session: Session) -> BackfillState:
    """Plan a backfill of every version stored so far (the migration and `rebuild` call it)."""
    until = int(session.execute(sa.text("SELECT coalesce(max(id), 0) FROM versions")).scalar_one())
    session.execute(sa.text("DELETE FROM search_state"))
    session.execute(
        sa.text("INSERT INTO search_state (id, backfill_until, backfilled_to) VALUES (:i, :u, 0)"),
        {"i": _STATE_ID, "u": until},
    )
    return BackfillState(0, until)


def clear(session: Session) -> None:
    """Remove every index row (before a rebuild)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("TRUNCATE search_text, search_terms"))
    else:
        for table in (CURRENT, PAST):
            session.execute(sa.text(f"INSERT INTO {table}({table}) VALUES ('delete-all')"))


# Each version with whether it is its article's current content; on PostgreSQL the articles are
# locked (as a writer locks them) so that a version made current or not meanwhile is seen so.
_BATCH = (
    "SELECT v.id, v.title, v.body, v.body_text, "
    "CASE WHEN v.number = a.content_version AND a.status <> 'removed' THEN 1 ELSE 0 END "
    "FROM versions v JOIN articles a ON a.id = v.article_id "
    "WHERE v.id > :a AND v.id <= :b ORDER BY v.id"
)


def backfill_batch(session: Session, state: BackfillState, size: int = 500) -> BackfillState:
    """Index the next `size` versions of a pending backfill and record the progress, in one
    transaction; the new state."""
    upto = min(state.done + size, state.until)
    dialect = session.get_bind().dialect.name
    lock = " FOR SHARE OF a" if dialect == "postgresql" else ""
    found = [
        (vid, title, read_text(packed, text), cur)
        for vid, title, packed, text, cur in session.execute(
            sa.text(_BATCH + lock), {"a": state.done, "b": upto}
        )
    ]
    have: set[int] = set()
    if dialect == "sqlite":
        # A version the crawler indexed meanwhile must not be indexed twice (FTS5 would keep
        # both); PostgreSQL's insert skips it by its key.
        for table in (CURRENT, PAST):
            have.update(
                int(r)
                for r in session.execute(
                    sa.text(f"SELECT rowid FROM {table} WHERE rowid > :a AND rowid <= :b"),
                    {"a": state.done, "b": upto},
                ).scalars()
            )
    for current in (True, False):
        write_rows(
            session,
            [
                index_row(vid, t, b, dialect)
                for vid, t, b, cur in found
                if (t or b) and bool(cur) is current and vid not in have
            ],
            current,
        )
    session.execute(
        sa.text("UPDATE search_state SET backfilled_to = :d WHERE id = :i"),
        {"d": upto, "i": _STATE_ID},
    )
    return BackfillState(upto, state.until)


def run_backfill(
    transaction: Callable[[Callable[[Session], BackfillState]], BackfillState],
    progress: Callable[[BackfillState], None] | None = None,
    size: int = 500,
) -> BackfillState:
    """Run a pending backfill to the end, one committed transaction per batch.

    `transaction(fn)` runs `fn(session)` in a new transaction and returns its result.
    """
    state = transaction(backfill_state)
    while state.pending:
        state = transaction(lambda s: backfill_batch(s, backfill_state(s), size))
        if progress is not None:
            progress(state)
    return state
