"""One query language, one result set: SQLite FTS5 and PostgreSQL find exactly the same hits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storage.engine import Database, open_db
from storage.search.query import parse
from storage.search.results import Order, Scope, SearchRequest, search
from tests.pg import pg_schema
from tests.storage.search.corpus import load

QUERIES = [
    "taiwan",
    "Taiwan",
    "TAIWAN question",
    '"taiwan question"',
    '"one china policy"',
    "台湾",
    "王毅",
    "岸田",
    "台",
    "湾",
    "台湾问题",
    '"台湾 问题"',
    "ウクライナ",
    "ｳｸﾗｲﾅ",
    "ガス",
    "gas",
    "lavrov",
    "Лавров",
    "лавров",
    "елка",
    "ministere",
    "Ministère",
    "strasse",
    "Straße",
    "sanction*",
    "sanctions OR embargo",
    "sanctions -ukraine",
    "sanctions NOT ukraine",
    "-taiwan",
    "NOT (taiwan OR 台湾)",
    "taiwan OR -sanctions",
    "(wang OR lavrov) talks",
    '"foreign minister" -japanese',
    '"foreign min"*',
    "co-operation",
    "g7外相会合",
    "共同声明",
    "ceasefire gaza",
    "санкции",
    "санк*",
    "cessez",
    "humanitarian AND aid",
]


def _database(url: str) -> Database:
    db = open_db(url)
    load(db)
    return db


@pytest.fixture(scope="module")
def both(
    tmp_path_factory: pytest.TempPathFactory, pg_url: str
) -> Iterator[tuple[Database, Database]]:
    """The corpus in a SQLite file and in a fresh PostgreSQL schema."""
    with pg_schema(pg_url) as schema_url:
        lite = _database(f"sqlite:///{tmp_path_factory.mktemp('parity') / 'm.sqlite3'}")
        pg = _database(schema_url)
        yield lite, pg
        lite.dispose()
        pg.dispose()


def _hits(db: Database, request: SearchRequest) -> tuple[int, list[tuple[str, tuple[int, ...]]]]:
    with db.session(readonly=True) as s:
        result = search(s, request)
    return result.total, [(h.url, h.versions) for h in result.hits]


def test_the_parity_corpus_has_enough_queries() -> None:
    """The parity test runs at least 30 distinct queries."""
    assert len(set(QUERIES)) >= 30


@pytest.mark.parametrize("scope", list(Scope))
def test_both_engines_find_the_same_hits(both: tuple[Database, Database], scope: Scope) -> None:
    """Every query finds the same articles and versions on both databases, in the same date order."""
    lite, pg = both
    found_any = 0
    for query in QUERIES:
        request = SearchRequest(parse(query), scope=scope, order=Order.DATE, limit=100)
        expected = _hits(lite, request)
        assert _hits(pg, request) == expected, query
        found_any += expected[0] > 0
        by_rank = SearchRequest(parse(query), scope=scope, limit=100)
        assert sorted(_hits(lite, by_rank)[1]) == sorted(_hits(pg, by_rank)[1]), query
    assert found_any >= 10  # the corpus answers most queries: the comparison is not of empties
