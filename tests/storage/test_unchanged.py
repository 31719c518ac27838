"""record_unchanged: bulk 304s / identical bytes touch live rows only; the rest as record_not_modified."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage import versions
from storage.engine import Database
from storage.errors import ArticleNotFound
from storage.schema import ArticleRow
from storage.versions import unchanged
from tests.storage.conftest import T0, make_article, make_raw, row_counts

H = timedelta(hours=1)
NEXT = T0 + timedelta(days=3)


def store(db: Database, url: str) -> int:
    with db.session() as s:
        return versions.record_fetch(
            s, make_article(url, title=url), make_raw(url), now=T0, next_check_at=T0 + H
        ).article_id


def test_live_articles_are_touched_and_nothing_is_added(db: Database) -> None:
    """Many live articles: each `unchanged`, its check time, next check and count moved; no rows."""
    urls = [f"https://mfa.example/{i}.html" for i in range(30)]
    ids = [store(db, u) for u in urls]
    before = row_counts(db)
    with db.session() as s:
        outs = unchanged.record_unchanged(
            s, [unchanged.Unchanged(u, T0 + 2 * H, NEXT) for u in urls]
        )
    assert [(o.kind, o.article_id, o.version) for o in outs] == [("unchanged", i, 1) for i in ids]
    assert row_counts(db) == before
    with db.session(readonly=True) as s:
        for i in ids:
            row = s.get(ArticleRow, i)
            assert row is not None
            assert (row.checks, row.last_checked_at, row.next_check_at) == (2, T0 + 2 * H, NEXT)


def test_missing_and_removed_articles_take_the_careful_path(db: Database) -> None:
    """A missing article goes back to live quietly; a removed one is restored with a version."""
    live, gone, lost = (f"https://mfa.example/{n}.html" for n in ("live", "gone", "lost"))
    for url in (live, gone, lost):
        store(db, url)
    with db.session() as s:
        for hours in (1, 2, 30):  # removed after 3 checks over >= 24 h
            versions.record_missing(
                s, gone, make_raw(gone, status=404), "HTTP 404", now=T0 + hours * H,
                next_check_at=NEXT,
            )  # fmt: skip
        versions.record_missing(
            s, lost, make_raw(lost, status=404), "HTTP 404", now=T0 + H, next_check_at=NEXT
        )
    with db.session() as s:
        outs = unchanged.record_unchanged(
            s, [unchanged.Unchanged(u, T0 + 40 * H, NEXT) for u in (live, gone, lost)]
        )
    assert [(o.kind, o.back_from_missing) for o in outs] == [
        ("unchanged", False),
        ("restored", False),
        ("unchanged", True),
    ]


def test_an_unknown_url_fails_like_record_not_modified(db: Database) -> None:
    """A URL that is not stored raises ArticleNotFound (the writer isolates that one record)."""
    store(db, "https://mfa.example/known.html")
    with pytest.raises(ArticleNotFound), db.session() as s:
        unchanged.record_unchanged(
            s,
            [
                unchanged.Unchanged("https://mfa.example/known.html", T0 + H, NEXT),
                unchanged.Unchanged("https://mfa.example/nowhere.html", T0 + H, NEXT),
            ],
        )
