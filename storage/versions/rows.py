"""Rows of the version rules: what a version's columns hold, and the article-row statements.

The builders (`article_values`, `new_article_row`, `first_version_row`, ...) give plain dicts for
Core inserts, so the one-by-one path (`content`) and the bulk paths (`new_articles`, `changes`)
store exactly the same columns. The row readers (`find_row`, `content_row`) lock what they read.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from storage.bodies import pack_body
from storage.model import Article, ArticleStatus, VersionKind
from storage.normalize import Content, content_fields, normalize_line
from storage.schema import AliasRow, ArticleRow, VersionRow
from storage.types import offset_minutes, with_offset

ARTICLES: sa.Table = ArticleRow.__table__  # type: ignore[assignment]
VERSIONS: sa.Table = VersionRow.__table__  # type: ignore[assignment]
INSERT_VERSION = sa.insert(VERSIONS).returning(VERSIONS.c.id)

# What a check changes on an article row, with the check time and the next one as parameters.
TOUCH_VALUES = {
    "last_checked_at": sa.bindparam("now", type_=ARTICLES.c.last_checked_at.type),
    "next_check_at": sa.bindparam("next", type_=ARTICLES.c.next_check_at.type),
    "checks": ARTICLES.c.checks + 1,
}
# The unchanged path is one statement, built once: touch the row if its content is the same.
TOUCH_LIVE = (
    sa.update(ARTICLES)
    .where(ARTICLES.c.url == sa.bindparam("u"), ARTICLES.c.status == ArticleStatus.LIVE)
    .values(TOUCH_VALUES)
    .returning(ARTICLES.c.id, ARTICLES.c.version)
)
TOUCH_IF_SAME = TOUCH_LIVE.where(ARTICLES.c.content_hash == sa.bindparam("h"))
# Inserts take their values as parameters: building `.values(...)` per call costs more than the
# INSERT itself on the first-crawl path.
# Locked (FOR UPDATE; nothing on SQLite) and read afresh even when the session holds the row.
_FIND_BY_URL_OR_ALIAS = (
    sa.select(ArticleRow)
    .where(
        sa.or_(
            ArticleRow.url == sa.bindparam("u"),
            ArticleRow.id
            == sa.select(AliasRow.article_id)
            .where(AliasRow.alias == sa.bindparam("u"))
            .scalar_subquery(),
        )
    )
    .with_for_update(of=ArticleRow)
    .execution_options(populate_existing=True)
)

CONTENT_COLUMNS = (
    "title",
    "published_at",
    "published_offset",
    "published_date",
    "date_precision",
    "date_source",
    "section",
    "language",
    "body_text",
    "body_html",
    "markers",
)
# Kept in the version only: the body (tens of KB) and the modification markers.
VERSION_ONLY = frozenset({"body_text", "body_html", "markers"})


def require_aware(**values: datetime) -> None:
    """Raise ValueError unless every value is a tz-aware datetime."""
    for name, value in values.items():
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be a tz-aware datetime, got {value!r}")


def find_row(session: Session, url: str) -> ArticleRow | None:
    """The article whose URL or alias is `url`, locked for update, or None."""
    return session.execute(_FIND_BY_URL_OR_ALIAS, {"u": url}).scalar()


def content_row(session: Session, row: ArticleRow) -> VersionRow:
    """The version holding an article's current content."""
    return session.execute(
        sa.select(VersionRow).where(
            VersionRow.article_id == row.id, VersionRow.number == row.content_version
        )
    ).scalar_one()


def touch(row: ArticleRow, now: datetime, next_check_at: datetime) -> None:
    """Count a check of the article and plan the next one."""
    row.last_checked_at, row.next_check_at = now, next_check_at
    row.checks += 1


def clear_missing(row: ArticleRow, now: datetime) -> bool:
    """Make a missing article live again; whether it was missing."""
    if row.status != ArticleStatus.MISSING:
        return False
    row.status, row.status_changed_at = ArticleStatus.LIVE.value, now
    row.missing_since, row.missing_checks, row.missing_evidence = None, 0, None
    return True


def display_date(
    published_at: datetime | None,
    offset: int | None,
    published_date: date | None,
    precision: str | None,
) -> str:
    """The date as a person reads it in a diff: local time with its offset, or the day."""
    local = with_offset(published_at, offset)
    if local is not None:
        return local.strftime("%Y-%m-%d %H:%M %z") + f" ({precision})"
    return f"{published_date.isoformat()} ({precision})" if published_date else ""


class VersionContent(Content, Protocol):
    """The content columns a diff is built from: a version row, or a row read with them."""

    @property
    def published_offset(self) -> int | None: ...
    @property
    def section(self) -> str | None: ...


def diff_input(row: VersionContent) -> dict[str, str | None]:
    """The normalized fields of a stored version in the shape `storage.stored_diffs` expects."""
    fields = content_fields(row)
    return {
        "title": fields["title"],
        "date": display_date(
            row.published_at, row.published_offset, row.published_date, row.date_precision
        ),
        "section": normalize_line(row.section) or None,
        "body_text": fields["body_text"],
    }


def article_values(article: Article) -> dict[str, Any]:
    """The content columns of a version of `article` (the articles row takes `row_values` of them)."""
    return {
        "title": article.title,
        "published_at": article.published_at,
        "published_offset": offset_minutes(article.published_at),
        "published_date": article.published_date,
        "date_precision": article.date_precision.value if article.date_precision else None,
        "date_source": article.date_source.value if article.date_source else None,
        "section": article.section,
        "language": article.language,
        "body_text": article.body_text,
        "body_html": article.body_html,
        "markers": dict(article.markers),
    }


def stored_body(
    values: dict[str, Any], dialect: str, packed: bytes | None = None
) -> dict[str, Any]:
    """`values` (an `article_values`) with the body as a versions row stores it on `dialect`.

    SQLite: the text and HTML packed into `body` (`packed` when the caller packed them already,
    in a parse worker), the plain columns NULL; plain when the text cannot be packed. PostgreSQL:
    plain (TOAST compresses them). Every row gets the same keys, for executemany.
    """
    if dialect == "sqlite":
        if packed is None:
            packed = pack_body(values["body_text"], values["body_html"])
        if packed is not None:
            return {**values, "body_text": None, "body_html": None, "body": packed}
    return {**values, "body": None}


def show_body(version: VersionRow, values: dict[str, Any]) -> None:
    """A version just added with `stored_body(values, ...)`, as a loaded row shows it
    (`schema.VersionRow`): its text and HTML in `body_text` and `body_html` however they are
    stored, for what reads it later in the same session."""
    set_committed_value(version, "body_text", values["body_text"])
    set_committed_value(version, "body_html", values["body_html"])


def row_values(values: dict[str, Any]) -> dict[str, Any]:
    """The content columns the articles row repeats (all but `VERSION_ONLY`)."""
    return {k: v for k, v in values.items() if k not in VERSION_ONLY}


def version_fields(version: VersionRow) -> dict[str, Any]:
    """The content columns of a stored version."""
    return {name: getattr(version, name) for name in CONTENT_COLUMNS}


def new_article_row(
    article: Article, digest: str, now: datetime, next_check_at: datetime, values: dict[str, Any]
) -> dict[str, Any]:
    """The articles row of an article seen for the first time (`values`: its `article_values`)."""
    return {
        "source": article.source,
        "url": article.url,
        "status": ArticleStatus.LIVE.value,
        "version": 1,
        "content_version": 1,
        "content_hash": digest,
        "first_seen_at": now,
        "last_checked_at": now,
        "last_changed_at": now,
        "next_check_at": next_check_at,
        "checks": 1,
        "status_changed_at": now,
        "missing_checks": 0,
        **row_values(values),
    }


def first_version_row(
    article_id: int,
    digest: str,
    now: datetime,
    response_id: int,
    raw_sha256: str,
    values: dict[str, Any],
) -> dict[str, Any]:
    """The versions row of version 1 (`new`) of an article."""
    return {
        "article_id": article_id,
        "number": 1,
        "kind": VersionKind.NEW.value,
        "seen_at": now,
        "content_hash": digest,
        "response_id": response_id,
        "raw_sha256": raw_sha256,
        **values,
    }
