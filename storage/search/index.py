"""Writing the search index: a version's index rows, in the transaction that stores the version.

Every path that inserts a version with text calls `index_versions` with the new ids in the same
session, so a crash leaves both or neither. Versions stored before the index existed are
indexed by `backfill`, in committed batches that record how far they got (`search_state`), so
an interrupted backfill resumes where it stopped; `rebuild` empties the index and starts over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.bodies import read_text
from storage.search.forms import FtsForms, fts_text, resolved
from storage.search.text import index_terms

# A tsvector holds at most 1 MB; the distinct tokens of a hostile page are cut well below it.
_MAX_TSVECTOR_BYTES = 900_000
_STATE_ID = 1

_INSERT_FTS = sa.text("INSERT INTO search_fts(rowid, title, body) VALUES (:id, :title, :body)")
_INSERT_PG = sa.text(
    "INSERT INTO search_terms (version_id, title, body, terms) "
    "VALUES (:id, :title, :body, array_to_tsvector(CAST(:terms AS text[]))) "
    "ON CONFLICT (version_id) DO NOTHING"
)


@dataclass(frozen=True, slots=True)
class IndexRow:
    """The index form of one version for one dialect: the title and body as its index takes
    them, and (PostgreSQL) the distinct tokens."""

    version_id: int
    title: str
    body: str
    distinct: tuple[str, ...] = ()


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
    distinct: list[str] = []
    size = 0
    for term in sorted(set(title_terms) | set(body_terms)):
        size += len(term.encode()) + 4
        if size > _MAX_TSVECTOR_BYTES:
            break
        distinct.append(term)
    # Padded with spaces: a phrase is LIKE '% a b %'.
    return IndexRow(
        version_id, f" {' '.join(title_terms)} ", f" {' '.join(body_terms)} ", tuple(distinct)
    )


def _params(dialect: str, rows: Sequence[IndexRow]) -> list[dict[str, object]]:
    if dialect == "postgresql":
        return [
            {"id": r.version_id, "title": r.title, "body": r.body, "terms": list(r.distinct)}
            for r in rows
        ]
    return [{"id": r.version_id, "title": r.title, "body": r.body} for r in rows]


def write_rows(session: Session, rows: Sequence[IndexRow]) -> None:
    """Insert index rows (versions not yet indexed) in the session's transaction."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    session.execute(_INSERT_PG if dialect == "postgresql" else _INSERT_FTS, _params(dialect, rows))


def index_versions(
    session: Session,
    versions: Iterable[tuple[int, str | None, str | None]],
    forms: Iterable[FtsForms | None] | None = None,
) -> None:
    """Index new versions, given as (version id, title, body text), in the session's transaction.

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
        session.execute(sa.text("TRUNCATE search_terms"))
    else:
        session.execute(sa.text("INSERT INTO search_fts(search_fts) VALUES ('delete-all')"))


def backfill_batch(session: Session, state: BackfillState, size: int = 500) -> BackfillState:
    """Index the next `size` versions of a pending backfill and record the progress, in one
    transaction; the new state."""
    upto = min(state.done + size, state.until)
    found = session.execute(
        sa.text(
            "SELECT id, title, body, body_text FROM versions WHERE id > :a AND id <= :b ORDER BY id"
        ),
        {"a": state.done, "b": upto},
    ).all()
    dialect = session.get_bind().dialect.name
    texts = [(vid, t, read_text(packed, b)) for vid, t, packed, b in found]
    rows = [index_row(vid, t, b, dialect) for vid, t, b in texts if t or b]
    if rows and dialect == "sqlite":
        # A version the crawler indexed meanwhile must not be indexed twice (FTS5 would keep
        # both); PostgreSQL's insert skips it by its key.
        have = {
            int(r)
            for r in session.execute(
                sa.text("SELECT rowid FROM search_fts WHERE rowid > :a AND rowid <= :b"),
                {"a": state.done, "b": upto},
            ).scalars()
        }
        rows = [r for r in rows if r.version_id not in have]
    write_rows(session, rows)
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
