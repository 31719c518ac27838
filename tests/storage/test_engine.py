"""Opening databases: URL resolution, migrations on open, pragmas, transactions, no leaks."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage import migrate
from storage.engine import (
    SQLITE_CACHE_KIB,
    SQLITE_PAGE_SIZE,
    Database,
    default_db_url,
    normalize_url,
    open_db,
    resolve_db_url,
)
from storage.errors import DatabaseUnavailable
from storage.schema import Base, CursorRow
from tests.pg import pg_schema
from tests.storage.conftest import T0


def test_migrations_create_every_table_at_head(db: Database) -> None:
    """Opening an empty database creates every table and stamps the head revision."""
    names = set(sa.inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= names
    assert migrate.current_revision(db.engine) == migrate.head_revision()


def test_the_schema_revision_constant_is_the_newest_migration() -> None:
    """`engine.SCHEMA_REVISION` (checked on open instead of loading Alembic) is the head revision."""
    from storage.engine import SCHEMA_REVISION

    assert SCHEMA_REVISION == migrate.head_revision()


def _migrated(url: str) -> sa.Engine:
    """A database built by running every Alembic migration (not the empty-database shortcut)."""
    engine = sa.create_engine(url)
    assert migrate.upgrade(engine) is True
    return engine


def _not_the_queue(name: str | None, type_: str, parent_names: object) -> bool:
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def test_migrations_match_the_models(db_url: str) -> None:
    """The migrated schema and the ORM models agree (a schema change without a migration fails)."""
    engine = _migrated(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": _not_the_queue})
            diffs = compare_metadata(context, Base.metadata)
        # The search index's tables are dialect-specific DDL outside the models (FTS5 has shadow
        # tables); the next test checks the migrated and the created ones are the same.
        assert [d for d in diffs if not _search_table(d)] == []
    finally:
        engine.dispose()


def _search_table(diff: object) -> bool:
    item = diff[1] if isinstance(diff, tuple) and len(diff) > 1 else None
    table = item.table if isinstance(item, sa.Index) else item
    return isinstance(table, sa.Table) and table.name.startswith("search_")


def _schema(engine: sa.Engine) -> dict[str, object]:
    inspector = sa.inspect(engine)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            inspector.get_pk_constraint(table)["constrained_columns"],
            sorted((i["name"], tuple(i["column_names"]), i["unique"]) for i in inspector.get_indexes(table)),
            sorted((u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)),
            sorted((f["name"], f["referred_table"], tuple(f["constrained_columns"]), f.get("options", {}).get("ondelete")) for f in inspector.get_foreign_keys(table)),
        )
        for table in sorted(inspector.get_table_names())
    }  # fmt: skip


def test_an_empty_database_is_created_exactly_as_the_migrations_build_it(
    db: Database, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """open_db's shortcut for an empty database (models + stamp) equals running every migration."""
    with contextlib.ExitStack() as stack:
        if db.dialect == "sqlite":
            url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        else:  # a second schema of the test database
            url = stack.enter_context(pg_schema(request.getfixturevalue("pg_url"), prefix="m"))
        engine = _migrated(url)
        stack.callback(engine.dispose)
        assert _schema(db.engine) == _schema(engine)
        assert migrate.current_revision(db.engine) == migrate.current_revision(engine)


def test_second_open_migrates_nothing_and_works(db_url: str) -> None:
    """Opening the same database again finds it at head, migrates nothing, and reads old data."""
    first = open_db(db_url)
    with first.session() as s:
        s.add(CursorRow(name="alice", at=T0))
    first.dispose()
    second = open_db(db_url)
    try:
        assert migrate.upgrade(second.engine) is False
        with second.session() as s:
            assert s.get(CursorRow, "alice") is not None
        assert second.checked_out() == 0
    finally:
        second.dispose()


def test_sqlite_pragmas(sqlite_url: str) -> None:
    """SQLite connections run in WAL mode with foreign keys, a busy timeout, synchronous=NORMAL
    and a page cache of SQLITE_CACHE_KIB (not SQLite's 2 MiB default)."""
    db = open_db(sqlite_url)
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
            assert (conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 1000
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -SQLITE_CACHE_KIB
    finally:
        db.dispose()


def test_new_sqlite_file_gets_large_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    """A database file mfawatch creates has SQLITE_PAGE_SIZE pages; a file made before with 4 KB
    pages opens, migrates and stores as before, with its pages unchanged."""
    fresh = open_db(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    old_path = tmp_path / "old.sqlite3"
    con = sqlite3.connect(old_path)
    con.execute("PRAGMA page_size=4096")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE keep (x)")
    con.execute("INSERT INTO keep VALUES (1)")
    con.commit()
    con.close()
    old = open_db(f"sqlite:///{old_path}")
    try:
        with fresh.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA page_size").scalar() == SQLITE_PAGE_SIZE != 4096
        with old.session() as s:
            s.add(CursorRow(name="alice", at=T0))
        with old.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
            assert conn.exec_driver_sql("SELECT x FROM keep").scalar() == 1
        with old.session(readonly=True) as s:
            assert s.get(CursorRow, "alice") is not None
    finally:
        fresh.dispose()
        old.dispose()


def test_session_rolls_back_on_error(db: Database) -> None:
    """A session whose block raises commits nothing."""
    with pytest.raises(RuntimeError), db.session() as s:
        s.add(CursorRow(name="bob", at=T0))
        s.flush()
        raise RuntimeError("crash before commit")
    with db.session(readonly=True) as s:
        assert s.get(CursorRow, "bob") is None


def test_postgresql_tables_live_in_the_search_path_schema(db: Database) -> None:
    """On PostgreSQL the tables and alembic_version are created in the schema of search_path."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL only")
    with db.engine.connect() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        tables = set(
            conn.execute(
                sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema},
            ).scalars()
        )
    assert schema != "public"
    assert {"articles", "versions", "alembic_version"} <= tables


def test_postgresql_bodies_are_compressed_with_lz4_where_the_server_has_it(db: Database) -> None:
    """A version's body is TOAST-compressed with lz4 (the server's default, pglz, costs several
    times the CPU); a server without lz4 keeps its default and stores the same text."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL only")
    from storage import versions
    from tests.storage.conftest import make_article, make_raw

    body = " ".join(f"Paragraph {i} of a long release about the talks." for i in range(200))
    with db.session() as s:
        versions.record_fetch(s, make_article(body_text=body), make_raw(), now=T0, next_check_at=T0)
    with db.session(readonly=True) as s:
        has_lz4 = s.execute(
            sa.text(
                "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                "WHERE name = 'default_toast_compression'"
            )
        ).scalar()
        method, text = s.execute(
            sa.text("SELECT pg_column_compression(body_text), body_text FROM versions")
        ).one()
    assert text == body
    assert method == ("lz4" if has_lz4 else "pglz")


def test_resolve_db_url_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The CLI value wins over MFAWATCH_DB, which wins over the default file."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("MFAWATCH_DB", raising=False)
    assert resolve_db_url(None) == default_db_url()
    assert default_db_url().startswith("sqlite:///")
    assert resolve_db_url(None, "sqlite:///from-env.sqlite3") == "sqlite:///from-env.sqlite3"
    assert (
        resolve_db_url("sqlite:///from-cli.sqlite3", "sqlite:///from-env.sqlite3")
        == "sqlite:///from-cli.sqlite3"
    )


def test_default_db_lives_in_the_user_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The default database is a file in the (created) user data directory."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    url = default_db_url()
    assert url == f"sqlite:///{tmp_path / 'xdg' / 'mfawatch' / 'mfawatch.sqlite3'}"
    assert (tmp_path / "xdg" / "mfawatch").is_dir()


def test_bare_paths_and_postgres_urls_are_normalized(tmp_path: Path) -> None:
    """A bare path is a SQLite file; postgres:// and postgresql:// use the psycopg 3 driver."""
    assert normalize_url(str(tmp_path / "a.db")) == f"sqlite:///{tmp_path / 'a.db'}"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_bare_path_opens(tmp_path: Path) -> None:
    """open_db accepts a bare file path and creates the SQLite file there."""
    db = open_db(str(tmp_path / "plain.sqlite3"))
    db.dispose()
    assert (tmp_path / "plain.sqlite3").is_file()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mysql://u@h/db", "unsupported database"),
        ("sqlite:////no/such/folder/x.db", "does not exist"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2", "cannot open database"),
        ("://nothing", "invalid database URL"),
        ("postgresql://u@h:notaport/db", "invalid database URL"),
    ],
)
def test_bad_databases_give_clear_errors(url: str, words: str) -> None:
    """An unusable database URL raises DatabaseUnavailable naming the problem, not a traceback."""
    with pytest.raises(DatabaseUnavailable, match=words):
        open_db(url)


def test_unknown_newer_revision_is_refused(sqlite_url: str) -> None:
    """A database stamped by a newer mfawatch is refused with a message saying to upgrade."""
    db = open_db(sqlite_url)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff'")
    db.dispose()
    with pytest.raises(migrate.MigrationError, match="newer mfawatch"):
        open_db(sqlite_url)


def test_in_memory_sqlite_works() -> None:
    """`sqlite://` opens an in-memory database that keeps its tables across sessions."""
    db = open_db("sqlite://")
    try:
        with db.session() as s:
            s.add(CursorRow(name="m", at=T0))
        with db.session(readonly=True) as s:
            assert s.get(CursorRow, "m") is not None
    finally:
        db.dispose()


def test_upgrading_from_0001_keeps_every_body(db_url: str) -> None:
    """A database written before the body moved out of `articles` reads the same afterwards."""
    from alembic import command

    from storage.queries import get_article, iter_articles

    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            cfg = migrate.alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
            conn.execute(sa.text("INSERT INTO sources (key) VALUES ('s')"))
            conn.execute(
                sa.text(
                    "INSERT INTO articles (id, source, url, status, version, content_version, "
                    "title, body_text, body_html, first_seen_at, last_checked_at, "
                    "last_changed_at, checks, missing_checks) VALUES (1, 's', 'https://a/1', "
                    "'live', 2, 2, 'T2', 'body two', '<p>body two</p>', :t, :t, :t, 2, 0)"
                ),
                {"t": T0},
            )
            for number, body in ((1, "body one"), (2, "body two")):
                conn.execute(
                    sa.text(
                        "INSERT INTO versions (article_id, number, kind, seen_at, title, "
                        "body_text, body_html) VALUES (1, :n, :k, :t, 'T', :b, :h)"
                    ),
                    {"n": number, "k": "new" if number == 1 else "changed", "t": T0, "b": body,
                     "h": f"<p>{body}</p>"},
                )  # fmt: skip
    finally:
        engine.dispose()
    db = open_db(db_url)
    try:
        assert migrate.current_revision(db.engine) == migrate.head_revision()
        with db.session(readonly=True) as s:
            article = get_article(s, "https://a/1")
            assert (article.body_text, article.body_html) == ("body two", "<p>body two</p>")
            assert [a.body_text for a in iter_articles(s)] == ["body two"]
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("articles")}
        assert "body_text" not in columns and "body_html" not in columns
    finally:
        db.dispose()
