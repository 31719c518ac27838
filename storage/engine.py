"""Opening the database: URL resolution, engine and sessions, SQLite pragmas, and migrations.

Precedence of the database URL, lowest first: the default SQLite file in the user data
directory < `MFAWATCH_DB` < the `--db` flag. A bare path is a SQLite file. `open_db()` upgrades
the schema with Alembic before returning, so every process sees the schema its code expects.

SQLite runs in WAL mode with foreign keys on, a busy timeout and `synchronous=NORMAL`; a new
database file gets 16 KB pages (`SQLITE_PAGE_SIZE`; an existing file keeps the size it has). Its
transactions are issued by us (`BEGIN IMMEDIATE` for writing sessions, plain `BEGIN` for
read-only ones) instead of by the sqlite3 module, so DDL is transactional and a writer never
fails to upgrade a read lock half-way through a transaction. Writing sessions of one `Database`
take turns on a lock in this process before `BEGIN IMMEDIATE`: SQLite admits one writer, and a
thread waiting in its busy handler sleeps in steps of up to 100 ms instead of starting the
moment the lock is free.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from storage.bodies import SQL_FUNCTION, read_text
from storage.errors import DatabaseUnavailable, DiskFull
from storage.queue_schema import create_queue
from storage.schema_lock import PG_LOCK_KEY

ENV_VAR = "MFAWATCH_DB"
# The newest migration in storage/migrations (a test keeps the two equal). A database already at
# it opens without importing Alembic, which costs a few hundred ms of every command's start-up.
SCHEMA_REVISION = "0014"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Page size of a new SQLite file. A stored version holds ~60 KB of body text and HTML, so rows
# live mostly in overflow pages, and SQLite's work (a WAL frame, a checksum, two system calls,
# then a checkpoint copy) is per page: 16 KB pages halve the pwrite calls of a crawl, for a
# little less CPU and a slightly larger file (docs/benchmarks.md). SQLite only applies it before
# the file's first write.
SQLITE_PAGE_SIZE = 16_384
# Page cache per connection, in KiB (SQLite's default is 2 MiB: 128 pages of 16 KB). A crawl's
# batch touches the leaves of a dozen tables and indexes and the search index's segments; with
# the default they are spilled and read back within one transaction: a fifth of a first crawl's
# pwrite calls and a quarter of its preads (docs/benchmarks.md). Memory is taken as pages are read.
SQLITE_CACHE_KIB = 16_384
_SQLITE_FULL = 13  # sqlite3 extended error code of "database or disk is full"
_PG_DISK_FULL = "53100"  # SQLSTATE disk_full
CONNECT_TIMEOUT = (
    5  # seconds a PostgreSQL connection attempt may take (unless the URL sets connect_timeout)
)
_READONLY = "mfawatch_readonly"
# TOAST compression of the values a connection writes: lz4 where the server has it (PostgreSQL
# 14+ built with lz4) instead of the default pglz, which was over a third of the server's CPU in
# a first crawl (bodies of tens of KB in `versions`, the search index's token strings;
# docs/benchmarks.md). A session setting, not a schema change: no column's definition changes,
# stored values stay as they are, and the server reads both kinds. lz4 keeps a few per cent more
# bytes (6 % on real pages).
_PG_LZ4 = (
    "SELECT set_config('default_toast_compression', 'lz4', false) FROM pg_settings "
    "WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
)


def default_db_url() -> str:
    """The SQLite file in the user data directory (the directory is created)."""
    folder = Path(platformdirs.user_data_dir("mfawatch"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mfawatch.sqlite3'}"


def resolve_db_url(cli_value: str | None, env_value: str | None = None) -> str:
    """The database URL to use: the CLI flag, else `env_value` (`MFAWATCH_DB`, which the
    application reads), else the default file."""
    for value in (cli_value, env_value):
        if value and value.strip():
            return normalize_url(value.strip())
    return default_db_url()


def normalize_url(value: str) -> str:
    """A SQLAlchemy URL from what a user typed: a bare path becomes SQLite, postgres uses psycopg 3."""
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser().resolve()}"
    for prefix in ("postgres://", "postgresql://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value[len(prefix) :]
    return value


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise DatabaseUnavailable(
            f"invalid database URL {url!r} "
            "(use a file path, sqlite:///PATH or postgresql://USER@HOST/DB)"
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseUnavailable(
            f"unsupported database {parsed.get_backend_name()!r} in {parsed.render_as_string()!r} "
            "(mfawatch supports SQLite and PostgreSQL)"
        )
    return parsed


def _sqlite_engine(url: URL) -> Engine:
    memory = url.database in (None, "", ":memory:")
    if not memory:
        assert url.database is not None
        folder = Path(url.database).expanduser().parent
        if not folder.is_dir():
            raise DatabaseUnavailable(
                f"cannot open SQLite database {url.database!r}: folder {str(folder)!r} does not "
                "exist (create it, or pass another --db)"
            )
    kwargs: dict[str, Any] = {"poolclass": StaticPool} if memory else {}
    engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see module docstring)
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # before WAL writes the header
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cur.close()
        # What SQL reads of a version's text where its body is packed (`schema.body_text_sql`).
        dbapi_conn.create_function(SQL_FUNCTION, 2, read_text, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        readonly = conn.get_execution_options().get(_READONLY, False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def _postgresql_engine(url: URL) -> Engine:
    # A server that does not answer (packets dropped) fails a connection attempt in seconds, not
    # after the system's TCP timeout (minutes): an outage's retries and a stop stay prompt.
    connect = {} if "connect_timeout" in url.query else {"connect_timeout": CONNECT_TIMEOUT}
    engine = sa.create_engine(url, pool_pre_ping=True, pool_size=5, connect_args=connect)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute(_PG_LZ4)
        dbapi_conn.commit()

    return engine


class Database:
    """An open database: the engine, a session factory, and the dialect name."""

    def __init__(self, url: str) -> None:
        parsed = _parse_url(url)
        self.url = url
        if parsed.get_backend_name() == "sqlite":
            self.engine = _sqlite_engine(parsed)
        else:
            self.engine = _postgresql_engine(parsed)
        self.dialect: str = self.engine.dialect.name
        self._write_turn = threading.RLock() if self.dialect == "sqlite" else None
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._readonly_sessions = sessionmaker(
            bind=self.engine.execution_options(**{_READONLY: True}), expire_on_commit=False
        )

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def location(self) -> str:
        """Where the data lives, for messages: the SQLite file, or the URL without password."""
        url = self.engine.url
        if self.dialect == "sqlite" and url.database not in (None, "", ":memory:"):
            return str(Path(str(url.database)).expanduser().resolve())
        return url.render_as_string(hide_password=True)

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error.

        A write refused because the disk is full raises `DiskFull` (the transaction rolled back).
        """
        try:
            with self._session(readonly=readonly) as session:
                yield session
        except OperationalError as exc:
            reason = _disk_full(exc)
            if reason is None:
                raise
            raise DiskFull(self.location, reason) from exc

    @contextmanager
    def _session(self, *, readonly: bool = False) -> Iterator[Session]:
        if readonly or self._write_turn is None:
            factory = self._readonly_sessions if readonly else self._sessions
            with factory() as session, session.begin():
                yield session
            return
        with self._write_turn, self._sessions() as session, session.begin():
            yield session

    def checked_out(self) -> int:
        """How many pooled connections are in use right now (0 when nothing leaked)."""
        pool: Any = self.engine.pool
        return int(pool.checkedout()) if hasattr(pool, "checkedout") else 0

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _disk_full(exc: OperationalError) -> str | None:
    """The driver's one-line reason when `exc` says the disk is full, else None."""
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    text = str(orig).strip().splitlines()[0] if orig is not None else str(exc)
    if code == _SQLITE_FULL or state == _PG_DISK_FULL or "disk is full" in text:
        return text
    return None


def _at_head(engine: Engine) -> bool:
    try:
        with engine.execution_options(**{_READONLY: True}).connect() as conn:
            found = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except DBAPIError:  # no such table yet (or no database): let the migration say what is wrong
        return False
    return [tuple(r) for r in found] == [(SCHEMA_REVISION,)]


def _create_if_empty(engine: Engine) -> bool:
    """Create the schema from the models and stamp the newest revision, in a database with no
    tables at all; False (nothing done) otherwise.

    What `alembic upgrade head` would build (a test compares the two), without importing
    Alembic and its template engine: a first run starts a second sooner.
    """
    from storage.schema import Base

    with engine.begin() as conn:  # BEGIN IMMEDIATE on SQLite: one process creates, others wait
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_KEY})")
        if sa.inspect(conn).get_table_names():
            return False
        Base.metadata.create_all(conn)
        create_queue(conn)  # PostgreSQL: the cluster's job queue (migration 0007 does the same)
        conn.exec_driver_sql(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
            "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
        )
        conn.exec_driver_sql(f"INSERT INTO alembic_version VALUES ('{SCHEMA_REVISION}')")
    return True


def open_db(url: str | None = None) -> Database:
    """Open (creating if needed) the database at `url` and upgrade its schema to the latest."""
    db = Database(normalize_url(url) if url else default_db_url())
    try:
        if not _at_head(db.engine) and not _create_if_empty(db.engine):
            from storage.migrate import upgrade

            upgrade(db.engine)
    except DBAPIError as exc:
        db.dispose()
        shown = db.engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailable(
            f"cannot open database {shown}: {reason} (check --db / {ENV_VAR})"
        ) from None
    except BaseException:
        db.dispose()
        raise
    return db
