"""The read side: articles, histories, version pairs, due rechecks, source status, cursors.

The digest's window query (what changed since a time) is the digest's own, in `digest.report`.
Everything here returns frozen dataclasses (never ORM rows), so callers can keep results after
the session closes. Times are tz-aware: crawler times in UTC, `published_at` in the offset the
page gave.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.articles import find_article_id, sightings
from storage.bodies import read_body
from storage.errors import ArticleNotFound, VersionNotFound
from storage.model import ArticleDate, DatePrecision, DateSource, VersionKind
from storage.schema import (
    ArticleRow,
    CursorRow,
    DiffRow,
    HealthRow,
    MoveRow,
    RevertRow,
    RunRow,
    SourceRow,
    VersionRow,
    insert_ignore,
)
from storage.types import content_json, iso, with_offset


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as stored now: the fields of the article model plus its id."""

    id: int
    source: str
    url: str
    title: str
    published_at: datetime | None
    published_date: date | None
    date_precision: str | None
    date_source: str | None
    section: str | None
    language: str | None
    body_text: str
    body_html: str
    first_seen_at: datetime
    last_checked_at: datetime
    last_changed_at: datetime
    status: str
    version: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict in the model's field order, times as ISO 8601 strings."""
        return {
            "id": self.id,
            "source": self.source,
            "url": self.url,
            **content_json(self),
            "first_seen_at": iso(self.first_seen_at),
            "last_checked_at": iso(self.last_checked_at),
            "last_changed_at": iso(self.last_changed_at),
            "status": self.status,
            "version": self.version,
        }


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One version of an article: its kind, when it was seen, its hashes, fields and diff summary."""

    number: int
    kind: str  # new | changed | removed | restored
    seen_at: datetime
    content_hash: str | None
    raw_sha256: str | None
    fields: dict[str, Any]  # title, published_at, published_date, ..., body_text (None: removed)
    diff_from: int | None
    diff_summary: str | None
    words_added: int | None
    words_removed: int | None
    evidence: dict[str, Any] | None
    # A changed version: silent | announced | unknown, and why (`storage.versions.edit_kind`).
    edit_kind: str | None = None
    edit_evidence: dict[str, Any] | None = None
    markers: dict[str, Any] | None = None  # the page's modification markers


@dataclass(frozen=True, slots=True)
class RevertInfo:
    """Returns from version `from_number`'s content to version `to_number`'s."""

    from_number: int
    to_number: int
    count: int
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True, slots=True)
class SightingInfo:
    """When an article's link was first and last seen on one listing page."""

    listing_url: str
    listing_title: str
    first_seen_at: datetime
    last_seen_at: datetime
    times_seen: int


@dataclass(frozen=True, slots=True)
class ArticleHistory:
    """An article with every version, every return to an earlier content, and its sightings.

    `content_version` is the version whose content is live; after a return to an earlier
    content it is that earlier version (the latest version number, `article.version`, does not
    move back), and `returned` is the return that made it live.
    """

    article: StoredArticle
    versions: list[VersionInfo]
    reverts: list[RevertInfo]
    sightings: list[SightingInfo]
    content_version: int  # the version whose content is current (differs after a revert)
    returned: RevertInfo | None = None  # the return in force: the live content came back by it
    moves: list[MoveInfo] = field(default_factory=list)  # URLs it was found under, oldest first


@dataclass(frozen=True, slots=True)
class MoveInfo:
    """The article found under another URL (`storage.versions.moves`): from, to, when, and how."""

    from_url: str
    to_url: str
    at: datetime
    by: str  # "fingerprint" (the same content) | "minhash" (a near-duplicate)
    similarity: float


@dataclass(frozen=True, slots=True)
class VersionPair:
    """Two versions of one article and the diff from the first to the second."""

    article_id: int
    old: VersionInfo
    new: VersionInfo
    diff: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DueArticle:
    """An article due for a recheck; `anchor` is where its revisit plan starts (last change).

    `section` and `date` are its current content's: a revisit reads no listing, and a field that
    only the listing gave must not vanish from the next version (`crawler.revisit`).
    """

    id: int
    source: str
    url: str
    first_seen_at: datetime
    anchor: datetime
    checks: int
    next_check_at: datetime | None
    status: str
    section: str | None = None
    date: ArticleDate | None = None


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A source's last run and health, for `mfawatch status`."""

    source: str
    name: str | None
    country: str | None
    articles: int
    last_run_started_at: datetime | None
    last_run_finished_at: datetime | None
    last_run_status: str | None
    last_run_counts: dict[str, Any]
    last_error: str | None
    health: str
    health_since: datetime | None
    consecutive_failures: int


def _stored(row: ArticleRow, body_text: str | None, body_html: str | None) -> StoredArticle:
    return StoredArticle(
        id=row.id,
        source=row.source,
        url=row.url,
        title=row.title,
        published_at=with_offset(row.published_at, row.published_offset),
        published_date=row.published_date,
        date_precision=row.date_precision,
        date_source=row.date_source,
        section=row.section,
        language=row.language,
        body_text=body_text or "",
        body_html=body_html or "",
        first_seen_at=row.first_seen_at,
        last_checked_at=row.last_checked_at,
        last_changed_at=row.last_changed_at,
        status=row.status,
        version=row.version,
    )


def _version_info(v: VersionRow) -> VersionInfo:
    fields = None
    if v.kind != VersionKind.REMOVED:
        fields = {
            "title": v.title,
            "published_at": with_offset(v.published_at, v.published_offset),
            "published_date": v.published_date,
            "date_precision": v.date_precision,
            "date_source": v.date_source,
            "section": v.section,
            "language": v.language,
            "body_text": v.body_text,
            "body_html": v.body_html,
        }
    return VersionInfo(
        number=v.number,
        kind=v.kind,
        seen_at=v.seen_at,
        content_hash=v.content_hash,
        raw_sha256=v.raw_sha256,
        fields=fields or {},
        diff_from=v.diff_from,
        diff_summary=v.diff_summary,
        words_added=v.words_added,
        words_removed=v.words_removed,
        evidence=v.evidence,
        edit_kind=v.edit_kind,
        edit_evidence=v.edit_evidence,
        markers=v.markers,
    )


# An article's body is its content version's.
_CURRENT = sa.and_(
    VersionRow.article_id == ArticleRow.id, VersionRow.number == ArticleRow.content_version
)


def iter_articles(
    session: Session, source: str | None = None, *, since: datetime | None = None
) -> Iterator[StoredArticle]:
    """Every stored article (optionally one source's), by id, streamed.

    With `since`, only articles whose content or status changed at or after it (new, edited,
    returned to an earlier content, missing, removed or restored).
    """
    query = (
        sa.select(ArticleRow, VersionRow.body, VersionRow.body_text, VersionRow.body_html)
        .outerjoin(VersionRow, _CURRENT)
        .order_by(ArticleRow.id)
    )
    if source is not None:
        query = query.where(ArticleRow.source == source)
    if since is not None:
        query = query.where(
            sa.or_(ArticleRow.last_changed_at >= since, ArticleRow.status_changed_at >= since)
        )
    for row, packed, body_text, body_html in session.execute(
        query.execution_options(yield_per=500)
    ):
        yield _stored(row, *read_body(packed, body_text, body_html))


def get_article(session: Session, url_or_id: str | int) -> StoredArticle:
    """One article by id, canonical URL or alias; raises ArticleNotFound."""
    return _stored_with_body(session, _article_row(session, url_or_id))


def _stored_with_body(session: Session, row: ArticleRow) -> StoredArticle:
    body = session.execute(
        sa.select(VersionRow.body, VersionRow.body_text, VersionRow.body_html).where(
            VersionRow.article_id == row.id, VersionRow.number == row.content_version
        )
    ).first()
    return _stored(row, *(read_body(*body) if body is not None else (None, None)))


def _article_row(session: Session, url_or_id: str | int) -> ArticleRow:
    key = str(url_or_id).strip()
    article_id = int(key) if key.isdigit() else find_article_id(session, key)
    row = session.get(ArticleRow, article_id) if article_id is not None else None
    if row is None:
        raise ArticleNotFound(key)
    return row


def history(session: Session, url_or_id: str | int) -> ArticleHistory:
    """Every version of an article (by id, URL or alias), oldest first; raises ArticleNotFound."""
    row = _article_row(session, url_or_id)
    versions = session.execute(
        sa.select(VersionRow).where(VersionRow.article_id == row.id).order_by(VersionRow.number)
    ).scalars()
    reverts = session.execute(
        sa.select(RevertRow).where(RevertRow.article_id == row.id).order_by(RevertRow.first_at)
    ).scalars()
    infos = [_version_info(v) for v in versions]
    returns = [
        RevertInfo(r.from_number, r.to_number, r.count, r.first_at, r.last_at) for r in reverts
    ]
    return ArticleHistory(
        article=_stored_with_body(session, row),
        versions=infos,
        reverts=returns,
        returned=return_in_force(infos, returns, row.content_version),
        sightings=[
            SightingInfo(
                s.listing_url, s.listing_title, s.first_seen_at, s.last_seen_at, s.times_seen
            )
            for s in sightings(session, row.url)
        ],
        content_version=row.content_version,
        moves=article_moves(session, row.id),
    )


def article_moves(session: Session, article_id: int) -> list[MoveInfo]:
    """The moves of one article, oldest first."""
    rows = session.execute(
        sa.select(MoveRow).where(MoveRow.article_id == article_id).order_by(MoveRow.at, MoveRow.id)
    ).scalars()
    return [_move_info(m) for m in rows]


def _move_info(m: MoveRow) -> MoveInfo:
    evidence = m.evidence or {}
    return MoveInfo(
        m.from_url,
        m.to_url,
        m.at,
        str(evidence.get("by", "")),
        float(evidence.get("similarity", 0.0)),
    )


def return_in_force(
    versions: Sequence[VersionInfo], reverts: Sequence[RevertInfo], content_version: int
) -> RevertInfo | None:
    """The return that made `content_version` live again, if the live content came back by one.

    That is the latest return (by its last time) when it went to the live version and no
    content version was stored after it.
    """
    if not reverts:
        return None
    latest = max(reverts, key=lambda r: r.last_at)
    if latest.to_number != content_version:
        return None
    if any(v.kind != VersionKind.REMOVED and v.seen_at > latest.last_at for v in versions):
        return None
    return latest


def version_pair(session: Session, article_id: int, from_v: int, to_v: int) -> VersionPair:
    """Two versions and the diff between them (the stored one when it exists, else computed)."""
    from storage.stored_diffs import diff_versions
    from storage.versions.rows import diff_input

    rows = {
        v.number: v
        for v in session.execute(
            sa.select(VersionRow).where(
                VersionRow.article_id == article_id, VersionRow.number.in_((from_v, to_v))
            )
        ).scalars()
    }
    for number in (from_v, to_v):
        if number not in rows:
            raise VersionNotFound(article_id, number)
        if rows[number].kind == VersionKind.REMOVED:
            raise VersionNotFound(article_id, number, "records a removal and has no content")
    old, new = rows[from_v], rows[to_v]
    stored = None
    if new.diff_from == from_v:
        stored = session.execute(
            sa.select(DiffRow.data).where(DiffRow.version_id == new.id)
        ).scalar()
    diff = stored if stored is not None else diff_versions(diff_input(old), diff_input(new))
    return VersionPair(article_id, _version_info(old), _version_info(new), diff)


def due_for_revisit(
    session: Session,
    *,
    now: datetime,
    sources: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[DueArticle]:
    """Articles whose planned recheck time has come, most overdue first."""
    query = (
        sa.select(
            ArticleRow.id,
            ArticleRow.source,
            ArticleRow.url,
            ArticleRow.first_seen_at,
            ArticleRow.last_changed_at,
            ArticleRow.checks,
            ArticleRow.next_check_at,
            ArticleRow.status,
            ArticleRow.section,
            ArticleRow.published_at,
            ArticleRow.published_offset,
            ArticleRow.published_date,
            ArticleRow.date_precision,
            ArticleRow.date_source,
        )
        .where(ArticleRow.next_check_at <= now)
        .order_by(ArticleRow.next_check_at, ArticleRow.id)
    )
    if sources is not None:
        query = query.where(ArticleRow.source.in_(list(sources)))
    if limit is not None:
        query = query.limit(limit)
    return [
        DueArticle(
            r.id,
            r.source,
            r.url,
            r.first_seen_at,
            r.last_changed_at,
            r.checks,
            r.next_check_at,
            r.status,
            r.section,
            stored_date(
                r.published_at,
                r.published_offset,
                r.published_date,
                r.date_precision,
                r.date_source,
            ),
        )
        for r in session.execute(query)
    ]


def stored_date(
    published_at: datetime | None,
    offset: int | None,
    published_date: date | None,
    precision: str | None,
    source: str | None,
) -> ArticleDate | None:
    """The `ArticleDate` stored in these columns (None when there is none, or it is inconsistent)."""
    if published_date is None or precision is None:
        return None
    try:
        return ArticleDate(
            published_date,
            DatePrecision(precision),
            DateSource(source or "page"),
            with_offset(published_at, offset) if precision == DatePrecision.MINUTE else None,
        )
    except ValueError:
        return None


def current_raw_hashes(session: Session, article_ids: Sequence[int]) -> dict[int, str]:
    """SHA-256 of the raw response behind each article's current content version, by article id.

    A recheck whose response bytes hash the same is unchanged without parsing it again.
    """
    found: dict[int, str] = {}
    ids = list(article_ids)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            sa.select(VersionRow.article_id, VersionRow.raw_sha256)
            .join(
                ArticleRow,
                sa.and_(
                    ArticleRow.id == VersionRow.article_id,
                    ArticleRow.content_version == VersionRow.number,
                ),
            )
            .where(VersionRow.article_id.in_(ids[start : start + 500]))
        )
        found.update({r.article_id: r.raw_sha256 for r in rows if r.raw_sha256})
    return found


def count_articles(session: Session, source: str | None = None) -> int:
    """How many articles are stored (optionally for one source)."""
    query = sa.select(sa.func.count()).select_from(ArticleRow)
    if source is not None:
        query = query.where(ArticleRow.source == source)
    return int(session.execute(query).scalar_one())


def source_status(session: Session) -> list[SourceStatus]:
    """Per source (configured, run or health-tracked): last run, counts, last error, health."""
    last_run_ids = sa.select(sa.func.max(RunRow.id)).group_by(RunRow.source).scalar_subquery()
    last_runs = {
        r.source: r
        for r in session.execute(sa.select(RunRow).where(RunRow.id.in_(last_run_ids))).scalars()
    }
    health = {h.source: h for h in session.execute(sa.select(HealthRow)).scalars()}
    sources = {s.key: s for s in session.execute(sa.select(SourceRow)).scalars()}
    counts: dict[str, int] = {
        source: n
        for source, n in session.execute(
            sa.select(ArticleRow.source, sa.func.count()).group_by(ArticleRow.source)
        )
    }
    result = []
    for key in sorted(set(sources) | set(last_runs) | set(health)):
        run, h, src = last_runs.get(key), health.get(key), sources.get(key)
        result.append(
            SourceStatus(
                source=key,
                name=src.name if src else None,
                country=src.country if src else None,
                articles=int(counts.get(key, 0)),
                last_run_started_at=run.started_at if run else None,
                last_run_finished_at=run.finished_at if run else None,
                last_run_status=run.status if run else None,
                last_run_counts=dict(run.counts) if run else {},
                last_error=(run.error if run and run.error else None)
                or (h.last_error if h and h.state != "ok" else None),
                health=h.state if h else "ok",
                health_since=h.changed_at if h else None,
                consecutive_failures=h.consecutive_failures if h else 0,
            )
        )
    return result


def get_cursor(session: Session, name: str) -> datetime | None:
    """The time a named reviewer last marked the digest reviewed (None: never)."""
    row = session.get(CursorRow, name)
    return row.at if row else None


def set_cursor(session: Session, name: str, at: datetime) -> None:
    """Move a named review cursor to `at`."""
    if at.tzinfo is None:
        raise ValueError(f"review cursor time must be tz-aware, got {at!r}")
    # Insert-or-ignore, then update: two reviewers marking at once on PostgreSQL never collide.
    insert_ignore(session, CursorRow.__table__, [{"name": name, "at": at}])  # type: ignore[arg-type]
    row = session.get(CursorRow, name, populate_existing=True)
    assert row is not None
    row.at = at
    session.flush()
