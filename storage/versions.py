"""Recording what a fetch found: new, unchanged, changed, reverted, missing, removed, restored.

Rules (issue 3):
- A new version only when the fingerprint of the normalized title, date and body changes
  (`storage.normalize`); its diff from the version it replaces is stored with it.
- Returning to an earlier content (A -> B -> A, e.g. two load-balanced servers) adds no version:
  a `reverts` row per (from, to) pair counts the returns, so flip-flopping forever stays bounded.
- A 404/410/soft error/redirect home makes the article `missing`; after `confirm_checks`
  consecutive missing checks spanning `confirm_window` it is `removed`, with a `removed` version
  carrying the evidence. A removed article that answers again gets a `restored` version; one
  that was only missing goes quietly back to live.
- Everything one fetch writes happens in the caller's session, i.e. in one transaction.
- Several writers (crawls of one PostgreSQL database): the article row is read under a row lock
  (SELECT .. FOR UPDATE) before its state and version number are advanced, so a second writer
  waits and then sees the first one's version (a stale read made false "returned from v1 to v2"
  reverts); a new article is inserted with ON CONFLICT DO NOTHING, and one that another writer
  inserted meanwhile is compared with it like any stored article. SQLite has one writer at a time.
- An unchanged recheck is one indexed UPDATE of the article row (times and counters): no rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.articles import add_aliases
from storage.blobs import store_response
from storage.codecs import PackedBody
from storage.errors import ArticleNotFound
from storage.model import Article, RawResponse
from storage.normalize import article_fingerprint, content_fields, normalize_line
from storage.schema import (
    AliasRow,
    ArticleRow,
    DiffRow,
    RevertRow,
    VersionRow,
    insert_ignore_returning,
)
from storage.sources import ensure_source
from storage.types import iso, offset_minutes, with_offset

KINDS = (
    "new",
    "changed",
    "unchanged",
    "reverted",
    "restored",
    "missing",
    "still_missing",
    "removed",
)
MAX_EVIDENCE = 20  # missing-check entries kept per episode: the first one and the latest ones
_TABLE: sa.Table = ArticleRow.__table__  # type: ignore[assignment]

# What a check changes on an article row, with the check time and the next one as parameters.
TOUCH_VALUES = {
    "last_checked_at": sa.bindparam("now", type_=_TABLE.c.last_checked_at.type),
    "next_check_at": sa.bindparam("next", type_=_TABLE.c.next_check_at.type),
    "checks": _TABLE.c.checks + 1,
}
# The unchanged path is one statement, built once: touch the row if its content is the same.
_TOUCH_LIVE = (
    sa.update(_TABLE)
    .where(_TABLE.c.url == sa.bindparam("u"), _TABLE.c.status == "live")
    .values(TOUCH_VALUES)
    .returning(_TABLE.c.id, _TABLE.c.version)
)
_TOUCH_IF_SAME = _TOUCH_LIVE.where(_TABLE.c.content_hash == sa.bindparam("h"))
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
_VERSIONS: sa.Table = VersionRow.__table__  # type: ignore[assignment]
_INSERT_VERSION = sa.insert(_VERSIONS)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a fetch did to the stored article.

    `version` is the new version's number (new, changed, restored, removed), the number of the
    version returned to (reverted), or the current version (unchanged and the missing kinds).
    `back_from_missing` is set when an article that was missing answered again.
    """

    kind: str
    article_id: int
    version: int | None
    back_from_missing: bool = False


def record_fetch(
    session: Session,
    article: Article,
    raw: RawResponse,
    *,
    now: datetime,
    next_check_at: datetime,
    aliases: Sequence[str] = (),
    digest: str | None = None,
    packed: PackedBody | None = None,
) -> Outcome:
    """Store a successfully parsed article page and say what it was (new, changed, ...).

    `digest` (`normalize.article_fingerprint(article)`) and `packed` (`codecs.pack(raw.body)`) may be passed when
    the caller computed them already, e.g. in a parse worker process.
    """
    require_aware(now=now, next_check_at=next_check_at)
    if digest is None:
        digest = article_fingerprint(article)
    hit = session.execute(
        _TOUCH_IF_SAME,
        {"u": article.url, "h": digest, "now": now, "next": next_check_at},
    ).first()
    if hit is not None:
        if aliases:
            add_aliases(session, hit.id, aliases)
        return Outcome("unchanged", hit.id, hit.version)

    row = _find_row(session, article.url)
    if row is None:
        new = _new_article(session, article, raw, digest, now, next_check_at, aliases, packed)
        if new is not None:
            return new
        row = _find_row(session, article.url)  # another writer stored it meanwhile
        assert row is not None
    add_aliases(session, row.id, [*aliases, article.url])
    _touch(row, now, next_check_at)
    if row.status == "removed":
        return _restore(session, row, article, raw, digest, now, packed)
    was_missing = _clear_missing(row, now)
    if row.content_hash == digest:
        return Outcome("unchanged", row.id, row.version, was_missing)
    earlier = session.execute(
        sa.select(VersionRow)
        .where(VersionRow.article_id == row.id, VersionRow.content_hash == digest)
        .order_by(VersionRow.number.desc())
        .limit(1)
    ).scalar()
    if earlier is not None:
        return _revert(session, row, earlier, raw, now, was_missing, packed)
    version = _add_content_version(session, row, "changed", article, raw, digest, now, packed)
    return Outcome("changed", row.id, version, was_missing)


def record_missing(
    session: Session,
    url: str,
    raw: RawResponse | None,
    reason: str,
    *,
    now: datetime,
    next_check_at: datetime,
    confirm_checks: int = 3,
    confirm_window: timedelta = timedelta(hours=24),
) -> Outcome:
    """Note that a stored article did not answer with its page (404/410, soft error, moved home).

    Raises ArticleNotFound when `url` is not a stored article.
    """
    require_aware(now=now, next_check_at=next_check_at)
    row = _find_row(session, url)
    if row is None:
        raise ArticleNotFound(url)
    _touch(row, now, next_check_at)
    if row.status == "removed":
        return Outcome("still_missing", row.id, row.version)
    entry: dict[str, Any] = {
        "at": iso(now),
        "reason": reason,
        "status": raw.status if raw else None,
        "url": raw.url if raw else url,
        "final_url": raw.final_url if raw else None,
    }
    first = row.status != "missing"
    if first:
        row.status, row.status_changed_at = "missing", now
        row.missing_since, row.missing_checks, row.missing_evidence = now, 0, []
        if raw is not None:
            entry["response_id"], entry["raw_sha256"] = store_response(session, raw, row.id)
    row.missing_checks += 1
    evidence = [*(row.missing_evidence or []), entry]
    if len(evidence) > MAX_EVIDENCE:
        evidence = [evidence[0], *evidence[-(MAX_EVIDENCE - 1) :]]
    row.missing_evidence = evidence
    assert row.missing_since is not None
    confirmed = row.missing_checks >= confirm_checks and now - row.missing_since >= confirm_window
    if not confirmed:
        return Outcome("missing" if first else "still_missing", row.id, row.version)

    response_id, raw_sha = store_response(session, raw, row.id) if raw else (None, None)
    row.version += 1
    session.add(
        VersionRow(
            article_id=row.id,
            number=row.version,
            kind="removed",
            seen_at=now,
            response_id=response_id,
            raw_sha256=raw_sha,
            evidence={
                "reason": reason,
                "missing_since": iso(row.missing_since),
                "checks": row.missing_checks,
                "status": raw.status if raw else None,
                "final_url": raw.final_url if raw else None,
                "history": evidence,
            },
        )
    )
    row.status, row.status_changed_at = "removed", now
    session.flush()
    return Outcome("removed", row.id, row.version)


def record_not_modified(
    session: Session, url: str, *, now: datetime, next_check_at: datetime
) -> Outcome:
    """Note a 304 answer: the article is unchanged (a missing one is live again, a removed one restored)."""
    require_aware(now=now, next_check_at=next_check_at)
    hit = session.execute(_TOUCH_LIVE, {"u": url, "now": now, "next": next_check_at}).first()
    if hit is not None:
        return Outcome("unchanged", hit.id, hit.version)
    row = _find_row(session, url)
    if row is None:
        raise ArticleNotFound(url)
    _touch(row, now, next_check_at)
    if row.status == "removed":
        current = session.execute(
            sa.select(VersionRow).where(
                VersionRow.article_id == row.id, VersionRow.number == row.content_version
            )
        ).scalar_one()
        row.version += 1
        session.add(
            VersionRow(
                **_version_fields(current),
                article_id=row.id,
                number=row.version,
                kind="restored",
                seen_at=now,
                content_hash=current.content_hash,
                evidence={"reason": "HTTP 304 Not Modified"},
            )
        )
        row.content_version = row.version
        row.status, row.status_changed_at, row.last_changed_at = "live", now, now
        _clear_missing(row, now)
        session.flush()
        return Outcome("restored", row.id, row.version)
    was_missing = _clear_missing(row, now)
    return Outcome("unchanged", row.id, row.version, was_missing)


def set_next_check(session: Session, article_id: int, when: datetime) -> None:
    """Move an article's next planned recheck (e.g. back to the fast end after a change)."""
    require_aware(when=when)
    session.execute(sa.update(_TABLE).where(_TABLE.c.id == article_id).values(next_check_at=when))


# -- internals ------------------------------------------------------------------------------------


def require_aware(**values: datetime) -> None:
    """Raise ValueError unless every value is a tz-aware datetime."""
    for name, value in values.items():
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be a tz-aware datetime, got {value!r}")


def _find_row(session: Session, url: str) -> ArticleRow | None:
    return session.execute(_FIND_BY_URL_OR_ALIAS, {"u": url}).scalar()


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


def diff_input(row: VersionRow) -> dict[str, str | None]:
    """The normalized fields of a stored version in the shape `storage.diffs` expects."""
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
    }


def row_values(values: dict[str, Any]) -> dict[str, Any]:
    """The content columns the articles row repeats (all but the body, kept in the version only)."""
    return {k: v for k, v in values.items() if k not in _BODY_COLUMNS}


def _version_fields(version: VersionRow) -> dict[str, Any]:
    return {name: getattr(version, name) for name in _CONTENT_COLUMNS}


def _content_row(session: Session, row: ArticleRow) -> VersionRow:
    """The version holding an article's current content."""
    return session.execute(
        sa.select(VersionRow).where(
            VersionRow.article_id == row.id, VersionRow.number == row.content_version
        )
    ).scalar_one()


_CONTENT_COLUMNS = (
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
)
_BODY_COLUMNS = frozenset({"body_text", "body_html"})


def _touch(row: ArticleRow, now: datetime, next_check_at: datetime) -> None:
    row.last_checked_at, row.next_check_at = now, next_check_at
    row.checks += 1


def _clear_missing(row: ArticleRow, now: datetime) -> bool:
    if row.status != "missing":
        return False
    row.status, row.status_changed_at = "live", now
    row.missing_since, row.missing_checks, row.missing_evidence = None, 0, None
    return True


def _new_article(
    session: Session,
    article: Article,
    raw: RawResponse,
    digest: str,
    now: datetime,
    next_check_at: datetime,
    aliases: Sequence[str],
    packed: PackedBody | None,
) -> Outcome | None:
    """Version 1 of an unknown article; None when another writer inserted its URL meanwhile."""
    # Core inserts, not ORM objects: this is the hot path of a first crawl.
    ensure_source(session, article.source)
    values = article_values(article)
    article_id = session.execute(
        insert_ignore_returning(session, _TABLE, "id"),
        new_article_row(article, digest, now, next_check_at, values),
    ).scalar()
    if article_id is None:
        return None
    response_id, raw_sha = store_response(session, raw, article_id, packed)
    session.execute(
        _INSERT_VERSION, first_version_row(article_id, digest, now, response_id, raw_sha, values)
    )
    if aliases:
        add_aliases(session, article_id, aliases)
    return Outcome("new", article_id, 1)


def new_article_row(
    article: Article, digest: str, now: datetime, next_check_at: datetime, values: dict[str, Any]
) -> dict[str, Any]:
    """The articles row of an article seen for the first time (`values`: its `article_values`)."""
    return {
        "source": article.source,
        "url": article.url,
        "status": "live",
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
        "kind": "new",
        "seen_at": now,
        "content_hash": digest,
        "response_id": response_id,
        "raw_sha256": raw_sha256,
        **values,
    }


def _add_content_version(
    session: Session,
    row: ArticleRow,
    kind: str,
    article: Article,
    raw: RawResponse,
    digest: str,
    now: datetime,
    packed: PackedBody | None = None,
) -> int:
    """Add a version with the fetched content (and its diff from the current content)."""
    from storage.diffs import diff_versions  # kept local: the diff engine is only needed here

    values = article_values(article)
    diff = None
    if row.content_hash != digest:
        new_version = VersionRow(**values)  # transient, only to build the diff input
        diff = diff_versions(diff_input(_content_row(session, row)), diff_input(new_version))
    response_id, raw_sha = store_response(session, raw, row.id, packed)
    number = row.version + 1
    version = VersionRow(
        article_id=row.id,
        number=number,
        kind=kind,
        seen_at=now,
        content_hash=digest,
        response_id=response_id,
        raw_sha256=raw_sha,
        diff_from=row.content_version if diff is not None else None,
        diff_summary=diff.get("summary") if diff is not None else None,
        words_added=diff.get("words_added") if diff is not None else None,
        words_removed=diff.get("words_removed") if diff is not None else None,
        **values,
    )
    session.add(version)
    session.flush()
    if diff is not None:
        session.add(DiffRow(version_id=version.id, from_number=row.content_version, data=diff))
    for name, value in row_values(values).items():
        setattr(row, name, value)
    row.version = row.content_version = number
    row.content_hash = digest
    row.last_changed_at = now
    session.flush()
    return number


def _restore(
    session: Session,
    row: ArticleRow,
    article: Article,
    raw: RawResponse,
    digest: str,
    now: datetime,
    packed: PackedBody | None,
) -> Outcome:
    _clear_missing(row, now)
    row.status, row.status_changed_at = "live", now
    row.missing_since, row.missing_checks, row.missing_evidence = None, 0, None
    number = _add_content_version(session, row, "restored", article, raw, digest, now, packed)
    return Outcome("restored", row.id, number)


def _revert(
    session: Session,
    row: ArticleRow,
    earlier: VersionRow,
    raw: RawResponse,
    now: datetime,
    was_missing: bool,
    packed: PackedBody | None,
) -> Outcome:
    pair = session.execute(
        sa.select(RevertRow).where(
            RevertRow.article_id == row.id,
            RevertRow.from_number == row.content_version,
            RevertRow.to_number == earlier.number,
        )
    ).scalar()
    if pair is None:
        # The first return of each (from, to) pair keeps its response as evidence; repeats only
        # count, so an endless flip-flop does not grow the database.
        response_id, _ = store_response(session, raw, row.id, packed)
        session.add(
            RevertRow(
                article_id=row.id,
                from_number=row.content_version,
                to_number=earlier.number,
                count=1,
                first_at=now,
                last_at=now,
                response_id=response_id,
            )
        )
    else:
        pair.count += 1
        pair.last_at = now
    for name, value in row_values(_version_fields(earlier)).items():
        setattr(row, name, value)
    row.content_version = earlier.number
    row.content_hash = earlier.content_hash
    row.last_changed_at = now
    session.flush()
    return Outcome("reverted", row.id, earlier.number, was_missing)
