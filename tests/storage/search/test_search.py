"""Searching stored versions on every database: scopes, filters, order, snippets, index life."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from storage import versions
from storage.engine import Database
from storage.search import index, results
from storage.search.query import parse, positive_terms
from storage.search.results import Order, Scope, SearchRequest, search
from storage.search.snippets import make_snippet
from storage.search.text import index_terms, tokenize
from tests.storage.conftest import make_article, make_raw
from tests.storage.search.corpus import T0, load


@pytest.fixture
def corpus(db: Database) -> Database:
    """The multilingual corpus, stored."""
    load(db)
    return db


def _keys(db: Database, query: str, **options: object) -> dict[str, tuple[int, ...]]:
    with db.session(readonly=True) as s:
        result = search(s, SearchRequest(parse(query), limit=100, **options))  # type: ignore[arg-type]
    assert result.total == len(result.hits)
    return {h.url.rsplit("/", 1)[1].removesuffix(".html"): h.versions for h in result.hits}


def test_scopes_current_all_removed(corpus: Database) -> None:
    """current: the text now; all: every version, naming those that match; removed: gone text."""
    assert _keys(corpus, "taiwan") == {"en-2": (1,), "mix-1": (1,)}
    assert _keys(corpus, "taiwan", scope=Scope.ALL) == {
        "en-2": (1,),
        "mix-1": (1,),
        "en-5": (1,),
        "de-1": (1,),
    }
    assert _keys(corpus, "taiwan", scope=Scope.REMOVED) == {"en-5": (1,), "de-1": (1,)}
    # An article the ministry removed: its text is found under removed, not under current.
    assert _keys(corpus, "ceasefire") == {}
    assert _keys(corpus, "ceasefire", scope=Scope.REMOVED) == {"en-3": (1, 2)}


def test_two_character_cjk_queries_find_every_version_containing_them_and_nothing_else(
    corpus: Database,
) -> None:
    """台湾, 王毅, 岸田 match exactly the versions whose text contains them."""
    assert _keys(corpus, "台湾", scope=Scope.ALL) == {"zh-1": (1,), "ja-2": (1,), "mix-1": (1,)}
    assert _keys(corpus, "王毅", scope=Scope.ALL) == {"zh-2": (1,), "ja-2": (1,), "mix-2": (1,)}
    assert _keys(corpus, "岸田", scope=Scope.ALL) == {"ja-1": (1, 2)}
    # 台北 and 湾仔 are side by side in zh-3, but it never says 台湾.
    assert "zh-3" not in _keys(corpus, "台湾", scope=Scope.ALL)
    assert set(_keys(corpus, "台", scope=Scope.ALL)) == {"zh-1", "zh-3", "zh-4", "ja-2", "mix-1"}


def test_case_and_accents_do_not_matter(corpus: Database) -> None:
    """Ministère = ministere, Лавров = лавров = ЛАВРОВ, Straße = strasse, ｶﾞｽ = ガス."""
    assert _keys(corpus, "ministere") == _keys(corpus, "MINISTÈRE") == {"fr-1": (2,)}
    assert _keys(corpus, "лавров") == _keys(corpus, "ЛАВРОВ") == {"ru-1": (2,)}
    assert _keys(corpus, "strasse", scope=Scope.ALL) == {"de-1": (1,), "de-2": (1,)}
    assert _keys(corpus, "ガス") == {"ja-3": (1,)}


def test_phrases_not_and_prefix(corpus: Database) -> None:
    """A phrase needs its words side by side; NOT and - exclude; a prefix matches word starts."""
    assert set(_keys(corpus, '"foreign minister"')) == {"en-1", "en-5"}
    assert set(_keys(corpus, '"minister foreign"')) == set()
    assert set(_keys(corpus, '"foreign minister" -japanese')) == {"en-1"}
    assert set(_keys(corpus, "sanction*")) == {"en-2", "en-4", "fr-2"}
    assert set(_keys(corpus, "sanctions OR embargo")) == {"en-4", "fr-2"}
    assert "en-2" in _keys(corpus, "-sanctions")


def test_filters_order_and_pages(corpus: Database) -> None:
    """--source, --country, --kind, --since/--until narrow; --sort date orders; pages split."""
    assert set(_keys(corpus, "taiwan OR 台湾", scope=Scope.ALL, sources=("cn-mfa-zh",))) == {"zh-1"}
    assert set(_keys(corpus, "taiwan OR 台湾", scope=Scope.ALL, countries=("JP",))) == {"ja-2"}
    assert set(_keys(corpus, "taiwan OR 台湾", scope=Scope.ALL, kinds=("removed",))) == set()
    assert set(_keys(corpus, "sanctions", scope=Scope.ALL, kinds=("removed",))) == set()
    assert set(_keys(corpus, "ceasefire", scope=Scope.ALL, kinds=("removed",))) == {"en-3"}
    since = datetime(2024, 4, 10, tzinfo=UTC)
    assert set(_keys(corpus, "taiwan OR 台湾", scope=Scope.ALL, since=since)) == {
        "ja-2",
        "mix-1",
        "de-1",
    }
    assert set(_keys(corpus, "taiwan OR 台湾", scope=Scope.ALL, until=since)) == {
        "en-2",
        "en-5",
        "zh-1",
    }
    request = SearchRequest(parse("taiwan OR 台湾"), scope=Scope.ALL, order=Order.DATE, limit=4)
    with corpus.session(readonly=True) as s:
        first = search(s, request)
        second = search(s, SearchRequest(**{**request.__dict__, "offset": 4}))
    assert first.total == second.total == 6
    dates = [h.published_at or h.first_seen_at for h in first.hits + second.hits]
    assert len({h.article_id for h in first.hits + second.hits}) == 6
    assert dates == sorted(dates, reverse=True)


def test_snippet_marks_the_matched_words_and_prefers_removed_passages() -> None:
    """The snippet marks each match (in any script) and, for removed text, a removed paragraph."""
    text = "Intro about trade.\n\nThey discussed Taiwan and 台湾问题 today."
    snippet = make_snippet(text, positive_terms(parse("taiwan 台湾")))
    assert snippet is not None
    assert [s for s, marked in snippet.segments if marked] == ["Taiwan", "台湾"]
    kept = make_snippet(
        "Taiwan stays.\nTaiwan was deleted here.",
        positive_terms(parse("taiwan")),
        prefer_outside=["Taiwan stays."],
    )
    assert kept is not None and kept.text.startswith("Taiwan was deleted")
    assert make_snippet(text, positive_terms(parse("absent"))) is None


def test_index_rows_are_written_in_the_versions_transaction(db: Database) -> None:
    """A version rolled back leaves no index row behind; a committed one is found at once."""
    article = make_article(body_text="Unique word zanzibarite here.")
    with pytest.raises(RuntimeError), db.session() as s:
        versions.record_fetch(s, article, make_raw(), now=T0, next_check_at=T0)
        raise RuntimeError("crash before commit")
    assert _keys(db, "zanzibarite", scope=Scope.ALL) == {}
    with db.session() as s:
        versions.record_fetch(s, article, make_raw(), now=T0, next_check_at=T0)
    assert _keys(db, "zanzibarite") == {"1": (1,)}


def _drop_index(db: Database) -> None:
    """Empty the index and plan a backfill, as migration 0006 leaves an existing database."""
    with db.session() as s:
        index.clear(s)
        index.start_backfill(s)


def test_backfill_resumes_where_it_stopped_and_rebuild_starts_over(corpus: Database) -> None:
    """An interrupted backfill keeps its committed batches; finishing it restores every hit."""
    expected = _keys(corpus, "taiwan OR 台湾 OR sanctions", scope=Scope.ALL)
    _drop_index(corpus)
    assert _keys(corpus, "taiwan OR 台湾 OR sanctions", scope=Scope.ALL) == {}
    with corpus.session() as s:
        state = index.backfill_batch(s, index.backfill_state(s), size=10)
    assert state.pending and state.done == 10
    seen: list[int] = []

    def transaction(fn):  # type: ignore[no-untyped-def]
        with corpus.session() as s:
            return fn(s)

    final = index.run_backfill(transaction, lambda st: seen.append(st.done), size=7)
    assert not final.pending and seen[0] == 17 and seen[-1] == final.until
    assert _keys(corpus, "taiwan OR 台湾 OR sanctions", scope=Scope.ALL) == expected
    # Run again on a complete index: nothing to do, nothing doubled.
    assert index.run_backfill(transaction) == final
    assert _keys(corpus, "taiwan OR 台湾 OR sanctions", scope=Scope.ALL) == expected


def test_versions_written_during_a_backfill_are_indexed_once(corpus: Database) -> None:
    """A version stored while a backfill is pending is indexed by its write, not twice."""
    _drop_index(corpus)
    now = T0 + timedelta(days=3)
    with corpus.session() as s:
        versions.record_fetch(
            s,
            make_article("https://mfa.example/late.html", body_text="Late zanzibarite note."),
            make_raw("https://mfa.example/late.html"),
            now=now,
            next_check_at=now,
        )

    def transaction(fn):  # type: ignore[no-untyped-def]
        with corpus.session() as s:
            return fn(s)

    index.run_backfill(transaction)
    assert _keys(corpus, "zanzibarite") == {"late": (1,)}
    with corpus.session(readonly=True) as s:
        if corpus.dialect == "sqlite":
            n = sum(
                s.execute(
                    sa.text(f"SELECT count(*) FROM {t} WHERE {t} MATCH 'zanzibarite'")
                ).scalar_one()
                for t in ("search_current", "search_fts")
            )
        else:
            n = s.execute(
                sa.text("SELECT count(*) FROM search_text WHERE body LIKE '% zanzibarite %'")
            ).scalar()
    assert n == 1


def test_migration_0006_goes_down_and_up_again_and_the_backfill_restores_hits(
    corpus: Database,
) -> None:
    """Downgrading drops the index; upgrading plans a backfill that finds every hit again."""
    from alembic import command

    from storage import migrate

    expected = _keys(corpus, "taiwan OR 台湾 OR лавров", scope=Scope.ALL)
    cfg = migrate.alembic_config()
    with corpus.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    assert not {"search_fts", "search_terms", "search_state"} & set(
        sa.inspect(corpus.engine).get_table_names()
    )
    assert migrate.upgrade(corpus.engine)
    with corpus.session(readonly=True) as s:
        state = index.backfill_state(s)
    assert state.pending and state.done == 0
    assert _keys(corpus, "taiwan OR 台湾 OR лавров", scope=Scope.ALL) == {}

    def transaction(fn):  # type: ignore[no-untyped-def]
        with corpus.session() as s:
            return fn(s)

    index.run_backfill(transaction)
    assert _keys(corpus, "taiwan OR 台湾 OR лавров", scope=Scope.ALL) == expected != {}


def test_migration_0014_gives_postgresql_narrow_rows_and_the_backfill_restores_hits(
    corpus: Database,
) -> None:
    """From 0013 (token strings in `search_terms`), the upgrade makes the narrow layout and plans
    a backfill that finds every hit again, phrases too; SQLite's index is left as it is."""
    from alembic import command

    from storage import migrate

    queries = ("taiwan OR 台湾 OR лавров", '"foreign minister"', "sanctions -ukraine")
    expected = {q: _keys(corpus, q, scope=Scope.ALL) for q in queries}
    cfg = migrate.alembic_config()
    with corpus.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0013")
    tables = set(sa.inspect(corpus.engine).get_table_names())
    if corpus.dialect == "postgresql":
        assert "search_text" not in tables
        columns = {c["name"] for c in sa.inspect(corpus.engine).get_columns("search_terms")}
        assert {"title", "body", "terms", "current"} <= columns and "article_id" not in columns
    assert migrate.upgrade(corpus.engine)
    with corpus.session(readonly=True) as s:
        state = index.backfill_state(s)
    if corpus.dialect == "sqlite":
        assert not state.pending
        assert {q: _keys(corpus, q, scope=Scope.ALL) for q in queries} == expected
        return
    assert "search_text" in set(sa.inspect(corpus.engine).get_table_names())
    assert state.pending and state.done == 0
    assert _keys(corpus, queries[0], scope=Scope.ALL) == {}

    def transaction(fn):  # type: ignore[no-untyped-def]
        with corpus.session() as s:
            return fn(s)

    index.run_backfill(transaction)
    assert {q: _keys(corpus, q, scope=Scope.ALL) for q in queries} == expected
    assert all(expected.values())


@pytest.mark.parametrize(
    "text",
    [
        "Plain text, with numbers 2024 and under_scores.",
        "Curly “quotes”, an em—dash, no\u00a0break spaces… and ‘apostrophes’",
        "Ministère and Лавров and 台湾 (not ASCII words: tokenized in Python)",
        "外交部发言人就台湾问题答记者问。G7外相会合でLavrov氏「ウクライナ」・ガス",
        "ｶﾞｽ and 﨑 and ﾃｽﾄ (NFKC changes them: tokenized in Python)",
        "A " + "long" * 30 + " word",
    ],
)
def test_fts5_indexes_exactly_the_index_terms(text: str) -> None:
    """What SQLite's FTS5 is given (raw ASCII text or tokens) indexes exactly `index_terms`."""
    assert _fts5_terms(text) == [t.term for t in tokenize(text)]


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_fts5_indexes_exactly_the_tokens_of_any_text(text: str) -> None:
    """For any text, FTS5's tokens of what it is given are the tokens of `tokenize`."""
    assert _fts5_terms(text) == [t.term for t in tokenize(text)]


@given(st.text(alphabet="台湾省中国ガス王毅 。、abcAB-é’\u00a0", max_size=40))
def test_fts5_indexes_exactly_the_tokens_of_cjk_text(text: str) -> None:
    """CJK runs among ASCII and separators: FTS5's tokens are the tokens of `tokenize`."""
    assert _fts5_terms(text) == [t.term for t in tokenize(text)]


def _fts5_terms(text: str) -> list[str]:
    import sqlite3

    con = sqlite3.connect(":memory:")
    con.execute("CREATE VIRTUAL TABLE f USING fts5(title, body, content='', tokenize='ascii')")
    con.execute("CREATE VIRTUAL TABLE v USING fts5vocab(f, instance)")
    row = index.index_row(1, "", text, "sqlite")
    con.execute("INSERT INTO f(rowid, title, body) VALUES (1, ?, ?)", (row.title, row.body))
    found = [t for t, *_ in con.execute("SELECT term, offset FROM v ORDER BY offset")]
    assert found == index_terms(text)
    return found


def _current_part(db: Database) -> tuple[set[int], set[int]]:
    """The version ids in the index's current part, and the current versions of live articles."""
    with db.session(readonly=True) as s:
        if db.dialect == "sqlite":
            part = "SELECT rowid FROM search_current"
        else:
            part = "SELECT version_id FROM search_terms WHERE current"
        live = (
            "SELECT v.id FROM versions v JOIN articles a ON a.id = v.article_id "
            "AND v.number = a.content_version WHERE a.status <> 'removed'"
        )
        return set(s.execute(sa.text(part)).scalars()), set(s.execute(sa.text(live)).scalars())


def test_the_current_part_follows_changes_returns_removals_and_restores(db: Database) -> None:
    """Every write that changes an article's current content moves the index rows with it: the
    current part holds exactly the live articles' current versions, and each scope finds the
    right ones (a word added later counts against the earlier version for `--in removed`)."""
    url = "https://mfa.example/news/7.html"
    first = make_article(url, body_text="Alpha bravo statement.")
    second = make_article(url, body_text="Alpha statement on Taiwan.")
    times = iter(T0 + timedelta(hours=h) for h in range(100))

    def write(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        now = next(times)
        with db.session() as s:
            fn(s, *args, now=now, next_check_at=now, **kwargs)
        part, live = _current_part(db)
        assert part == live
        if db.dialect == "sqlite":
            with db.session() as s:
                for t in ("search_current", "search_fts"):
                    s.execute(sa.text(f"INSERT INTO {t}({t}) VALUES ('integrity-check')"))

    write(versions.record_fetch, first, make_raw(url=url, body=b"1"))
    write(versions.record_fetch, second, make_raw(url=url, body=b"2"))
    assert _keys(db, "taiwan") == {"7": (2,)}
    assert _keys(db, "bravo") == {}
    assert _keys(db, "bravo", scope=Scope.ALL) == {"7": (1,)}
    assert _keys(db, "-taiwan", scope=Scope.REMOVED) == {"7": (1,)}
    write(versions.record_fetch, first, make_raw(url=url, body=b"3"))  # back to version 1
    assert _keys(db, "bravo") == {"7": (1,)}
    assert _keys(db, "taiwan") == {}
    assert _keys(db, "taiwan", scope=Scope.REMOVED) == {"7": (2,)}
    for _ in range(3):
        write(versions.record_missing, url, None, "HTTP 404", confirm_window=timedelta(0))
    assert _keys(db, "bravo") == {}
    assert _keys(db, "bravo", scope=Scope.REMOVED) == {"7": (1,)}
    write(versions.record_not_modified, url)  # a 304: live again with the same content
    assert _keys(db, "bravo") == {"7": (4,)}
    write(versions.record_fetch, second, make_raw(url=url, body=b"4"))  # back to version 2
    assert _keys(db, "taiwan") == {"7": (2,)}
    assert _keys(db, "bravo") == {}
    for _ in range(3):
        write(versions.record_missing, url, None, "HTTP 404", confirm_window=timedelta(0))
    write(versions.record_fetch, first, make_raw(url=url, body=b"5"))  # restored by a fetch
    assert _keys(db, "bravo") == {"7": (6,)}
    assert _keys(db, "bravo", scope=Scope.ALL) == {"7": (1, 4, 6)}
    assert _keys(db, "taiwan", scope=Scope.REMOVED) == {"7": (2,)}


def test_a_capped_ranking_keeps_the_total_and_every_matching_version(
    corpus: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relevance ranks only the newest matches of a frequent term; the total stays exact, each
    hit names all its matching versions, and paging still reaches every hit."""
    full = {}
    for scope in (Scope.CURRENT, Scope.ALL, Scope.REMOVED):
        full[scope] = _keys(corpus, "the OR 台湾 OR sanctions", scope=scope)
    monkeypatch.setattr(results, "RANK_CAP", 1)
    for scope, expected in full.items():
        paged: dict[str, tuple[int, ...]] = {}
        for offset in range(len(expected) + 1):
            with corpus.session(readonly=True) as s:
                request = SearchRequest(
                    parse("the OR 台湾 OR sanctions"), scope=scope, limit=1, offset=offset
                )
                result = search(s, request)
            assert result.total == len(expected) and result.exact
            paged.update(
                {h.url.rsplit("/", 1)[1].removesuffix(".html"): h.versions for h in result.hits}
            )
        assert paged == expected, scope


def test_a_frequent_phrase_total_is_estimated_on_postgresql_and_says_so(
    corpus: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past `EXACT_PHRASES` candidates, PostgreSQL estimates a phrase's total from the newest
    ones (and says so); SQLite counts exactly; the hits are the same."""
    expected = _keys(corpus, '"foreign minister"')
    assert len(expected) >= 2
    monkeypatch.setattr(results, "EXACT_PHRASES", 1)
    with corpus.session(readonly=True) as s:
        result = search(s, SearchRequest(parse('"foreign minister"'), limit=100))
    assert result.exact is (corpus.dialect == "sqlite")
    assert {
        h.url.rsplit("/", 1)[1].removesuffix(".html"): h.versions for h in result.hits
    } == expected
    assert result.total >= 1
