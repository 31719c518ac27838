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
