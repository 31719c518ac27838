"""The index rows PostgreSQL stores: the tsvector holds exactly the distinct tokens, within its cap."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from storage.engine import Database
from storage.search import index
from storage.search.text import index_terms
from tests.storage.search.corpus import load


def test_postgresql_terms_are_the_distinct_tokens_of_title_and_body(db: Database) -> None:
    """Every stored version's tsvector is the set of its title's and body's index tokens."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL only (SQLite's FTS5 is checked by test_search)")
    load(db)
    with db.session(readonly=True) as s:
        rows = s.execute(
            sa.text(
                "SELECT v.title, v.body_text, tsvector_to_array(t.terms) "
                "FROM versions v JOIN search_terms t ON t.version_id = v.id ORDER BY v.id"
            )
        ).all()
    assert len(rows) > 10
    assert any(any(not term.isascii() for term in terms) for _, _, terms in rows)
    for title, body, terms in rows:
        assert sorted(terms) == sorted(set(index_terms(title)) | set(index_terms(body)))


def test_a_hostile_page_keeps_the_first_tokens_that_fit_the_tsvector_cap() -> None:
    """A text of more distinct tokens than a tsvector holds keeps the sorted ones that fit."""
    words = [f"w{i:06d}" + "x" * 70 for i in range(14_000)]  # 14,000 x (77 + 4) bytes > 900 KB
    row = index.index_row(1, "Title", " ".join(reversed(words)))
    kept = row.distinct.split(" ")
    every = sorted(["title", *words])
    assert kept == every[: len(kept)]
    size = sum(len(t.encode()) + 4 for t in kept)
    assert size <= index._MAX_TSVECTOR_BYTES < size + len(every[len(kept)]) + 4
    short = index.index_row(1, "Title", "b a b")  # under the cap: every token, once
    assert sorted(short.distinct.split(" ")) == ["a", "b", "title"]


def test_postgresql_index_rows_are_narrow_their_terms_out_of_line(db: Database) -> None:
    """A version's index row keeps its tsvector out of line even when it is small enough to
    stay in line (under ~2 KB), and its token strings in `search_text`: the heap a GIN scan
    visits holds many rows a block, and a row moved between the parts stays narrow."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL only (SQLite's index is FTS5)")
    n = 400
    with db.session() as s:
        s.execute(
            sa.text(
                "INSERT INTO sources (key, name, country, language, timezone) "
                "VALUES ('k', 'k', 'CN', 'en', 'UTC')"
            )
        )
        s.execute(
            sa.text(
                "INSERT INTO articles (id, source, url, status, version, content_version, title, "
                "first_seen_at, last_checked_at, last_changed_at, checks, missing_checks) "
                "VALUES (:id, 'k', :url, 'live', 1, 1, 't', now(), now(), now(), 1, 0)"
            ),
            [{"id": i, "url": f"https://m.example/{i}"} for i in range(1, n + 1)],
        )
        # ~90 distinct tokens each: a tsvector of ~1 KB, under the size PostgreSQL toasts at.
        s.execute(
            sa.text(
                "INSERT INTO versions (id, article_id, number, kind, seen_at, content_hash, "
                "title, body_text) VALUES (:id, :id, 1, 'new', now(), :h, 'Title', :body)"
            ),
            [
                {"id": i, "h": str(i), "body": " ".join(f"w{i}x{j:03d}" for j in range(90))}
                for i in range(1, n + 1)
            ],
        )
        index.start_backfill(s)

    def transaction(fn):  # type: ignore[no-untyped-def]
        with db.session() as s:
            return fn(s)

    index.run_backfill(transaction)
    with db.session() as s:
        index.retire_current(s, [(i, "Title", "x") for i in range(1, n + 1, 2)])
    with db.session(readonly=True) as s:
        found = s.execute(
            sa.text(
                "SELECT count(*), max(pg_column_size(array_to_tsvector(tsvector_to_array(terms)))), "
                "pg_relation_size('search_terms') / current_setting('block_size')::int, "
                "count(*) FILTER (WHERE current) FROM search_terms"
            )
        ).one()
        text_rows = s.execute(sa.text("SELECT count(*) FROM search_text")).scalar_one()
        keys = s.execute(
            sa.text(
                "SELECT count(*) FROM search_terms WHERE article_id = version_id AND number = 1"
            )
        ).scalar_one()
    rows, largest, blocks, current = found
    assert rows == text_rows == keys == n and current == n // 2
    assert 900 < largest < 2000  # uncompressed: in line without the pad
    # In line, 400 such rows (and the 200 updated) fill ~70 blocks; out of line, ~100 a block.
    assert blocks <= 12, f"{blocks} heap blocks for {n} rows: the tsvectors are in line"
