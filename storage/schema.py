"""The tables (SQLAlchemy 2 ORM) and the one dialect-dependent statement we need (insert-or-ignore).

    sources            one row per configured source (key, name, country, language, zone)
    articles           one row per canonical URL: the current fields plus check and state times
    url_aliases        other URLs of an article (tracking-param variants, old URLs, redirects)
    listing_sightings  when an item first/last appeared on each listing page, and in which of
                       its stored responses (first and last)
    versions           each distinct content of an article (new/changed/restored) and removals;
                       a changed one says whether the edit was silent (`edit_kind`); on SQLite
                       its text and HTML are packed into one zstd frame (`body`)
    diffs              the structured diff of a version from the one it replaced
    reverts            returns to an earlier content (A -> B -> A), one row per (from, to) pair
    blobs              raw response bodies, compressed, content-addressed by SHA-256
    responses          one row per fetch that produced a version or a state change, and per
                       listing/feed fetch whose bytes differ from that listing's last stored one
    http_validators    ETag / Last-Modified per URL for conditional GET
    runs               one row per source run: times, status, counts, error
    source_health      per source: ok | failing | broken | blocked | quiet, and since when
    review_cursors     named "reviewed up to" times for the digest
    signatures         per article: its first content's fingerprint and publication date, the
                       keys by which a "new" URL is found to be a known article moved
    moves              an article found under another URL: from, to, when, and the evidence
    search_current, search_fts / search_terms, search_text, search_state
                       the full-text index of every version, the articles' current content
                       apart (FTS5 on SQLite, tsvector and phrase text on PostgreSQL; created by
                       `storage.search.ddl`, written by `storage.search.index`) and its
                       backfill's progress
    readouts           per article found to be a readout: its event kind, the officials it
                       names and its time span (`storage.readouts.detect`)
    article_pairs      two articles about one thing: a readout pair (two ministries, one event)
                       or language twins (one release in two languages); found by the rules
                       or by hand, confirmed or rejected by a person (the decision sticks)
    pairing_state      how far pairing has read the articles (the last article id paired)

Every timestamp is a `UTCDateTime`. A schema change needs a new Alembic migration in
`storage/migrations/versions/`; `tests/storage/test_engine.py` fails when they drift apart.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from storage.bodies import SQL_FUNCTION, read_body
from storage.model import ArticleStatus
from storage.search import ddl as search_ddl
from storage.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (needed for SQLite batch migrations)."""

    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON(), list[Any]: sa.JSON()}


class SourceRow(Base):
    """A configured source; rows are kept when a source leaves the config (history refers to it)."""

    __tablename__ = "sources"
    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.Text)
    country: Mapped[str | None] = mapped_column(sa.String(8))
    language: Mapped[str | None] = mapped_column(sa.String(35))
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime | None]


class ArticleRow(Base):
    """An article: its current content's fields, its state, and its check times.

    The current body (text and HTML) is not repeated here: it is the `content_version` row's. A
    body is tens of KB, and this row is read and rewritten on every check.
    """

    __tablename__ = "articles"
    # Language twins are looked for among a source's articles of a few days (`readouts.twins`).
    __table_args__ = (
        sa.Index("ix_articles_source_published", "source", "published_date"),
        # The removed articles, few: `search --in removed` of a NOT reads their versions.
        sa.Index(
            "ix_articles_removed",
            "id",
            sqlite_where=sa.text("status = 'removed'"),
            postgresql_where=sa.text("status = 'removed'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.ForeignKey("sources.key"), index=True)
    url: Mapped[str] = mapped_column(sa.Text, unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=ArticleStatus.LIVE.value)
    version: Mapped[int]  # number of the latest version row
    content_version: Mapped[int]  # number of the version whose content is current
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.Text, default="")
    published_at: Mapped[datetime | None]
    published_offset: Mapped[int | None]  # minutes east of UTC, as the page gave it
    published_date: Mapped[date | None] = mapped_column(sa.Date)
    date_precision: Mapped[str | None] = mapped_column(sa.String(16))
    date_source: Mapped[str | None] = mapped_column(sa.String(16))
    section: Mapped[str | None] = mapped_column(sa.Text)
    language: Mapped[str | None] = mapped_column(sa.String(35))
    first_seen_at: Mapped[datetime]
    last_checked_at: Mapped[datetime]
    last_changed_at: Mapped[datetime]
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    checks: Mapped[int] = mapped_column(default=1)
    status_changed_at: Mapped[datetime | None]
    missing_since: Mapped[datetime | None]
    missing_checks: Mapped[int] = mapped_column(default=0)
    missing_evidence: Mapped[list[Any] | None]


class AliasRow(Base):
    """Another URL under which an article is known."""

    __tablename__ = "url_aliases"
    alias: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )


class SightingRow(Base):
    """An article link seen on a listing page: first and last time, and the listing's title."""

    __tablename__ = "listing_sightings"
    __table_args__ = (sa.UniqueConstraint("listing_url", "article_url"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(100))
    listing_url: Mapped[str] = mapped_column(sa.Text)
    article_url: Mapped[str] = mapped_column(sa.Text, index=True)
    listing_title: Mapped[str] = mapped_column(sa.Text, default="")
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    times_seen: Mapped[int] = mapped_column(default=1)
    # The stored listing responses (`responses.listing_url`) that showed it first and last.
    first_response_id: Mapped[int | None] = mapped_column(sa.ForeignKey("responses.id"))
    last_response_id: Mapped[int | None] = mapped_column(sa.ForeignKey("responses.id"))


class VersionRow(Base):
    """One version: a distinct content (new, changed, restored) or a removal with its evidence.

    Its text and HTML are stored one of two ways. Packed (`storage.bodies`): `body` holds both
    in one zstd frame and `body_text`, `body_html` are NULL; what a SQLite store writes (the
    version text was 3/4 of a crawl's database). Plain: `body` is NULL and the two columns hold
    them; what PostgreSQL stores (TOAST compresses large text itself, and its SQL reads the text
    where it is), and SQLite rows whose text cannot be packed. A loaded row shows its text and
    HTML in `body_text` and `body_html` whichever way they are stored (`_show_packed_body`);
    SQL reads the text with `body_text_sql`, Core reads both with `bodies.read_body`.
    """

    __tablename__ = "versions"
    __table_args__ = (
        sa.UniqueConstraint("article_id", "number"),
        sa.Index("ix_versions_article_hash", "article_id", "content_hash"),
        # A search reads each matching version's article through it (`storage.search`).
        sa.Index("ix_versions_match", "id", "article_id", "number"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(sa.ForeignKey("articles.id", ondelete="CASCADE"))
    number: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(16))  # new | changed | removed | restored
    seen_at: Mapped[datetime] = mapped_column(index=True)
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    title: Mapped[str | None] = mapped_column(sa.Text)
    published_at: Mapped[datetime | None]
    published_offset: Mapped[int | None]
    published_date: Mapped[date | None] = mapped_column(sa.Date)
    date_precision: Mapped[str | None] = mapped_column(sa.String(16))
    date_source: Mapped[str | None] = mapped_column(sa.String(16))
    section: Mapped[str | None] = mapped_column(sa.Text)
    language: Mapped[str | None] = mapped_column(sa.String(35))
    body_text: Mapped[str | None] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    response_id: Mapped[int | None] = mapped_column(sa.ForeignKey("responses.id"))
    raw_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    diff_from: Mapped[int | None]  # number of the version this one's diff is from
    diff_summary: Mapped[str | None] = mapped_column(sa.Text)
    words_added: Mapped[int | None]
    words_removed: Mapped[int | None]
    evidence: Mapped[dict[str, Any] | None]
    # The page's modification markers (`Article.markers` as an object), outside the fingerprint.
    markers: Mapped[dict[str, Any] | None]
    # A changed version: silent | announced | unknown (`storage.versions.edit_kind`), and why.
    edit_kind: Mapped[str | None] = mapped_column(sa.String(16))
    edit_evidence: Mapped[dict[str, Any] | None]
    body: Mapped[bytes | None] = mapped_column(sa.LargeBinary)  # packed text and HTML (SQLite)


@sa.event.listens_for(VersionRow, "load")
@sa.event.listens_for(VersionRow, "refresh")
def _show_packed_body(target: VersionRow, *args: Any) -> None:
    """A packed row loaded: its text and HTML in `body_text` and `body_html` (not as changes)."""
    if target.__dict__.get("body") is not None:
        text, html = read_body(target.body, None, None)
        set_committed_value(target, "body_text", text)
        set_committed_value(target, "body_html", html)


class _BodyText(FunctionElement[str]):
    inherit_cache = True
    type = sa.Text()


@compiles(_BodyText)
def _plain_body_text(element: _BodyText, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(list(element.clauses)[1], **kw)


@compiles(_BodyText, "sqlite")
def _sqlite_body_text(element: _BodyText, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQL_FUNCTION}({compiler.process(element.clauses, **kw)})"


def body_text_sql(version: Any = None) -> sa.ColumnElement[str]:
    """SQL for a version's text (of `version`, an alias of VersionRow, or VersionRow itself):
    the plain column on PostgreSQL, the SQLite function `storage.engine` registers on SQLite
    (which reads a packed body, else the plain column)."""
    v = VersionRow if version is None else version
    return _BodyText(v.body, v.body_text)


class DiffRow(Base):
    """The structured diff (from `storage.stored_diffs.diff_versions`) of a version from `from_number`."""

    __tablename__ = "diffs"
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True
    )
    from_number: Mapped[int]
    data: Mapped[dict[str, Any]]


class RevertRow(Base):
    """A return from one known content to an earlier one; repeats only bump the count."""

    __tablename__ = "reverts"
    __table_args__ = (sa.UniqueConstraint("article_id", "from_number", "to_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(sa.ForeignKey("articles.id", ondelete="CASCADE"))
    from_number: Mapped[int]
    to_number: Mapped[int]
    count: Mapped[int] = mapped_column(default=1)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime] = mapped_column(index=True)
    response_id: Mapped[int | None] = mapped_column(sa.ForeignKey("responses.id"))


class BlobRow(Base):
    """A raw body, compressed, stored once per SHA-256 of the uncompressed bytes."""

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    size: Mapped[int]
    codec: Mapped[str] = mapped_column(sa.String(16))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)


class ResponseRow(Base):
    """One HTTP response kept as evidence: what was asked, what answered, and the body's hash.

    An article page's response has `article_id`; a listing page's or feed's has `listing_url`
    (the URL asked for, as configured or paginated) and `source` instead.
    """

    __tablename__ = "responses"
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="SET NULL"), index=True
    )
    url: Mapped[str] = mapped_column(sa.Text)
    final_url: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[int]
    headers: Mapped[list[Any]]  # [[name, value], ...] in the order received
    redirects: Mapped[list[Any]]
    fetched_at: Mapped[datetime]
    blob_sha256: Mapped[str] = mapped_column(sa.ForeignKey("blobs.sha256"), index=True)
    source: Mapped[str | None] = mapped_column(sa.String(100))
    listing_url: Mapped[str | None] = mapped_column(sa.Text, index=True)
    # A page loaded in a browser: the blob of its rendered DOM, when it differs from the body.
    rendered_sha256: Mapped[str | None] = mapped_column(sa.String(64))


class ValidatorRow(Base):
    """ETag and Last-Modified last sent by a URL."""

    __tablename__ = "http_validators"
    url: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    etag: Mapped[str | None] = mapped_column(sa.Text)
    last_modified: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[datetime]


class RunRow(Base):
    """One run of one source."""

    __tablename__ = "runs"
    __table_args__ = (sa.Index("ix_runs_source_started", "source", "started_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(100))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(sa.String(16), default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(sa.Text)
    node: Mapped[str | None] = mapped_column(sa.String(200))  # the cluster node that ran it


class HealthRow(Base):
    """The health of a source and since when it has been in that state."""

    __tablename__ = "source_health"
    source: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(16))
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    changed_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CursorRow(Base):
    """A named review cursor: the digest starts after `at`."""

    __tablename__ = "review_cursors"
    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    at: Mapped[datetime]


class SignatureRow(Base):
    """The first content of an article, as `storage.versions.moves` matches new URLs against it."""

    __tablename__ = "signatures"
    article_id: Mapped[int] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    content_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    published_date: Mapped[date | None] = mapped_column(sa.Date, index=True)


class MoveRow(Base):
    """An article found under another URL (a section or CMS move, a mirror): one per move."""

    __tablename__ = "moves"
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    from_url: Mapped[str] = mapped_column(sa.Text)
    to_url: Mapped[str] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(index=True)
    evidence: Mapped[dict[str, Any]]


@sa.event.listens_for(Base.metadata, "after_create")
def _create_search_tables(target: sa.MetaData, connection: sa.Connection, **kw: Any) -> None:
    """The search index's dialect-specific tables (`storage.search.ddl`) with every new schema."""
    for statement in search_ddl.create_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


@sa.event.listens_for(Base.metadata, "before_drop")
def _drop_search_tables(target: sa.MetaData, connection: sa.Connection, **kw: Any) -> None:
    for statement in search_ddl.DROP.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)


class ReadoutRow(Base):
    """An article found to be a readout (`storage.readouts.detect.Readout`)."""

    __tablename__ = "readouts"
    __table_args__ = (sa.Index("ix_readouts_kind_starts", "kind", "starts_at"),)
    article_id: Mapped[int] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(sa.String(100))
    country: Mapped[str] = mapped_column(sa.String(8))
    kind: Mapped[str] = mapped_column(sa.String(16))
    mentions: Mapped[list[Any]]  # [[person id, country, office], ...]
    headline: Mapped[list[Any]]  # the person ids its title names
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]


class PairRow(Base):
    """Two articles about one thing: `relation` readout or twin; `a_id` < `b_id`.

    `status`: found (by the rule, not reviewed), confirmed or rejected by a person. `matched`
    says whether the rule finds the pair now; a decided pair stays whatever the rule says later.
    """

    __tablename__ = "article_pairs"
    __table_args__ = (sa.UniqueConstraint("relation", "a_id", "b_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    relation: Mapped[str] = mapped_column(sa.String(16))
    a_id: Mapped[int] = mapped_column(sa.ForeignKey("articles.id", ondelete="CASCADE"))
    b_id: Mapped[int] = mapped_column(sa.ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    matched: Mapped[bool]
    evidence: Mapped[dict[str, Any]]
    found_at: Mapped[datetime] = mapped_column(index=True)
    decided_at: Mapped[datetime | None]


class PairingStateRow(Base):
    """How far pairing has read: the highest article id it has looked at."""

    __tablename__ = "pairing_state"
    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    last_article_id: Mapped[int]
    updated_at: Mapped[datetime]


class NodeRow(Base):
    """A cluster node (`mfawatch run` on PostgreSQL): who it is, what it carries, when it last beat."""

    __tablename__ = "cluster_nodes"
    name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    host: Mapped[str] = mapped_column(sa.String(255))
    pid: Mapped[int]
    version: Mapped[str] = mapped_column(sa.String(40))
    tags: Mapped[list[Any]]
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    jobs_running: Mapped[int] = mapped_column(default=0)
    stopped_at: Mapped[datetime | None]


class HostPaceRow(Base):
    """When the next request to a host may start, for every node of a cluster (politeness)."""

    __tablename__ = "host_pace"
    host: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    next_at: Mapped[datetime]


def insert_ignore(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """INSERT rows, silently skipping those whose primary/unique key already exists."""
    if rows:
        session.execute(_insert_ignore_statement(table, session.get_bind().dialect.name), rows)


def insert_ignore_returning(session: Session, table: sa.Table, *columns: str) -> sa.Executable:
    """INSERT .. ON CONFLICT DO NOTHING RETURNING `columns`: rows already there return nothing.

    What makes a check-then-insert safe with several writers (PostgreSQL): a row another
    transaction inserted meanwhile is skipped (after waiting for that transaction), not a
    unique violation.
    """
    return _insert_ignore_returning(table, session.get_bind().dialect.name, columns)


@functools.cache
def _insert_ignore_returning(table: sa.Table, dialect: str, columns: tuple[str, ...]) -> Any:
    statement: Any = _insert_ignore_statement(table, dialect)
    return statement.returning(*(table.c[name] for name in columns))


@functools.cache
def _insert_ignore_statement(table: sa.Table, dialect: str) -> sa.Executable:
    # Built once per table and dialect: constructing it costs more than running it.
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"insert_ignore on {dialect} (only SQLite and PostgreSQL)")
