"""Two writers on one PostgreSQL database, interleaved at the worst moment (issue 16, hole 2).

Writer A stores something and keeps its transaction open; writer B (another connection, in a
thread) stores the same thing and must wait for A, not fail and not misread: the test commits A
only once PostgreSQL shows B waiting on a lock, so the interleaving is the same on every run.
Before the fix, B failed with a unique violation (`uq_articles_url`, or the version number).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage import queries, versions
from storage.codecs import pack
from storage.engine import Database
from storage.normalize import article_fingerprint
from storage.versions import new_articles
from tests.storage.conftest import BODY, T0, make_article, make_raw

NEXT = T0 + timedelta(days=1)
WAIT_LIMIT = 3000  # polls of pg_stat_activity (a bound, not a timing: B waits within a few)


@pytest.fixture
def pg(db: Database) -> Database:
    """The `db` fixture, PostgreSQL only (SQLite admits one writer at a time)."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has a single writer")
    return db


def _waiting_on_lock(db: Database, pid: int) -> bool:
    with db.engine.connect() as conn:
        return (
            conn.execute(
                sa.text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid},
            ).scalar()
            == "Lock"
        )


def _interleave(
    db: Database, first: Callable[[Session], Any], second: Callable[[Session], Any]
) -> Any:
    """Run `first` in an open transaction, `second` in another one until it waits on a lock,
    then commit `first`; return what `second` returned (or raised)."""
    pid: list[int] = []
    started = threading.Event()
    outcome: list[Any] = []

    def writer_b() -> None:
        try:
            with db.session() as s:
                pid.append(int(s.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()))
                started.set()
                outcome.append(second(s))
        except Exception as exc:
            outcome.append(exc)
        finally:
            started.set()

    with db.session() as s:
        first(s)
        thread = threading.Thread(target=writer_b)
        thread.start()
        assert started.wait(60)
        for _ in range(WAIT_LIMIT):
            if outcome or _waiting_on_lock(db, pid[0]):
                break
            threading.Event().wait(0.01)
        assert not outcome, f"writer B did not wait for writer A: {outcome}"
    thread.join(60)
    assert outcome, "writer B never finished"
    return outcome[0]


def test_two_writers_inserting_one_new_article(pg: Database) -> None:
    """B finds the URL unknown, A inserts it: B's insert skips it (None: compared later), no error."""
    article = make_article()
    raw = make_raw(article.url)
    entry = new_articles.FirstFetch(
        article, raw, article_fingerprint(article), pack(raw.body), T0, NEXT
    )
    result = _interleave(
        pg,
        lambda s: new_articles.record_new(s, [entry]),
        lambda s: new_articles.record_new(s, [entry]),
    )
    assert result == [None], result
    with pg.session() as s:  # what the pipeline does with a None: compare it with what is stored
        again = versions.record_fetch(s, article, raw, now=T0, next_check_at=NEXT)
        assert again.kind == "unchanged"
        assert queries.count_articles(s) == 1


def test_two_writers_recording_one_edit(pg: Database) -> None:
    """A stores the edit as v2; B, with the same page, waits for A and finds it unchanged: no
    second v2, no false "returned from v1 to v2"."""
    article = make_article()
    with pg.session() as s:
        versions.record_fetch(s, article, make_raw(article.url), now=T0, next_check_at=NEXT)
    edited = make_article(body_text=BODY.replace("views", "candid views"))
    raw = make_raw(article.url, b"<html>edited</html>")
    later = T0 + timedelta(hours=2)

    def store(s: Session) -> str:
        return versions.record_fetch(s, edited, raw, now=later, next_check_at=NEXT).kind

    assert _interleave(pg, store, store) == "unchanged"
    with pg.session(readonly=True) as s:
        history = queries.history(s, article.url)
    assert [v.number for v in history.versions] == [1, 2]
    assert history.reverts == [] and history.content_version == 2
