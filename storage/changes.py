"""Storage's read side for the digest: what changed in a window, as plain values.

The digest asks for the versions recorded (new, changed, removed, restored) and the returns to
an earlier content in a time window, filtered by source, country, kind and text, and for the
sources whose health changed in it. The SQL lives here; callers get `ChangeRow`s and
`HealthChange`s, never schema rows.

Order (`iter_changes`): by country (unknown last), source, then newest publication first (the
day, then the minute when known; undated items last); the events of one article in the order
they were seen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from storage.model import EditKind, VersionKind
from storage.schema import (
    ArticleRow,
    DiffRow,
    HealthRow,
    MoveRow,
    RevertRow,
    RunRow,
    SourceRow,
    VersionRow,
    body_text_sql,
)
from storage.types import UTCDateTime

RETURNED = "returned"  # the kind of a return to an earlier content (a `reverts` row, no version)
MOVED = "moved"  # an article found under another URL (a `moves` row, no version)
LEAD_SOURCE = 1200  # characters of body read when the caller needs only a lead
_DATE_COLUMNS = (
    "published_at",
    "published_offset",
    "published_date",
    "date_precision",
    "date_source",
)


@dataclass(frozen=True, slots=True)
class ChangeFilters:
    """Which changes to read: a window (`since` < seen <= `until`) and optional filters.

    `kinds` holds version kinds and/or `RETURNED`; `text` is searched (case-insensitively) in
    the title and body; `countries` are compared case-insensitively.
    """

    since: datetime
    until: datetime
    kinds: tuple[str, ...]
    sources: Sequence[str] | None = None
    countries: Sequence[str] | None = None
    text: str | None = None
    silent: bool = False  # only changed versions judged silent edits (`versions.edit_kind`)

    @property
    def version_kinds(self) -> list[str]:
        """The kinds wanted that are versions rows (all but `returned` and `moved`)."""
        return [k for k in self.kinds if k not in (RETURNED, MOVED)]

    @property
    def returns(self) -> bool:
        """Whether returns to an earlier version are wanted (never with `silent`)."""
        return RETURNED in self.kinds and not self.silent

    @property
    def moves(self) -> bool:
        """Whether moves (an article found under another URL) are wanted (never with `silent`)."""
        return MOVED in self.kinds and not self.silent


class ChangeRow(NamedTuple):
    """One recorded change: a version, or a return to an earlier one (`kind` `returned`).

    For a removal the title, section, language and dates are the article's current ones; for a
    return, `number` is the version returned to and `diff_from` the one left. `body` is the
    start of the body (all of it with `full_body`).
    """

    version_id: int
    number: int
    kind: str
    seen_at: datetime
    title: str | None
    section: str | None
    language: str | None
    published_at: datetime | None
    published_offset: int | None
    published_date: Any
    date_precision: str | None
    date_source: str | None
    body: str | None
    diff_from: int | None
    diff_summary: str | None
    words_added: int | None
    words_removed: int | None
    evidence: dict[str, Any] | None
    article_id: int
    source: str
    url: str
    first_seen_at: datetime
    source_name: str | None
    country: str | None
    diff: dict[str, Any] | None
    returns: int | None
    first_return_at: datetime | None
    edit_kind: str | None = None  # a changed version: silent | announced | unknown
    edit_evidence: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class HealthChange:
    """A source whose health changed in a window (its row, its name and its last run)."""

    source: str
    state: str
    last_error: str | None
    consecutive_failures: int
    changed_at: datetime
    name: str | None
    country: str | None
    last_run_at: datetime | None


def iter_changes(
    session: Session,
    f: ChangeFilters,
    *,
    full_body: bool = False,
    limit: int | None = None,
    offset: int = 0,
    yield_per: int | None = None,
) -> Iterator[ChangeRow]:
    """The changes of the window in report order; with `yield_per`, read that many at a time."""
    q = _items_query(f, full_body)
    if limit is not None:
        q = q.limit(max(limit, 0)).offset(max(offset, 0))
    if yield_per is not None:
        q = q.execution_options(yield_per=yield_per)
    for row in session.execute(q):
        yield ChangeRow._make(row)


def count_changes(session: Session, f: ChangeFilters) -> dict[str, int]:
    """How many changes of each wanted kind the window holds (kinds with none are left out)."""
    found: dict[str, int] = {}
    if f.version_kinds:
        q = _apply(f, sa.select(VersionRow.kind, sa.func.count()).select_from(VersionRow))
        found.update({kind: int(n) for kind, n in session.execute(q.group_by(VersionRow.kind))})
    if f.returns:
        q = _apply_returns(f, sa.select(sa.func.count()).select_from(RevertRow))
        found[RETURNED] = int(session.execute(q).scalar_one())
    if f.moves:
        q = _apply_moves(f, sa.select(sa.func.count()).select_from(MoveRow))
        found[MOVED] = int(session.execute(q).scalar_one())
    return found


def count_silent(session: Session, f: ChangeFilters) -> dict[str, int]:
    """How many silent edits the window holds per source (sources with none are left out)."""
    if VersionKind.CHANGED.value not in f.version_kinds:
        return {}
    v, a = VersionRow, ArticleRow
    q = _apply(f, sa.select(a.source, sa.func.count()).select_from(v)).where(
        v.edit_kind == EditKind.SILENT.value
    )
    return {source: int(n) for source, n in session.execute(q.group_by(a.source))}


def health_changes(
    session: Session,
    since: datetime,
    until: datetime,
    sources: Sequence[str] | None = None,
    countries: Sequence[str] | None = None,
) -> list[HealthChange]:
    """Sources whose health changed in the window (failing now, or ok after a failure)."""
    last_run = (
        sa.select(RunRow.source, sa.func.max(RunRow.started_at).label("last_run"))
        .group_by(RunRow.source)
        .subquery()
    )
    q = (
        sa.select(HealthRow, SourceRow.name, SourceRow.country, last_run.c.last_run)
        .outerjoin(SourceRow, SourceRow.key == HealthRow.source)
        .outerjoin(last_run, last_run.c.source == HealthRow.source)
        .where(HealthRow.changed_at > since, HealthRow.changed_at <= until)
        # A first healthy observation also sets changed_at; only an ok source that has failed
        # before (it keeps its last error) has "recovered".
        .where(sa.or_(HealthRow.state != "ok", HealthRow.last_error.is_not(None)))
        .order_by(SourceRow.country.is_(None), SourceRow.country, HealthRow.source)
    )
    if sources:
        q = q.where(HealthRow.source.in_(list(sources)))
    if countries:
        q = q.where(sa.func.upper(SourceRow.country).in_([c.upper() for c in countries]))
    return [
        HealthChange(
            source=health.source,
            state=health.state,
            last_error=health.last_error,
            consecutive_failures=health.consecutive_failures,
            changed_at=health.changed_at,
            name=name,
            country=country,
            last_run_at=last_run_at,
        )
        for health, name, country, last_run_at in session.execute(q)
    ]


# -- the queries ----------------------------------------------------------------------------------


def _apply(f: ChangeFilters, q: Any) -> Any:
    """Join the article and source to a query over versions, and apply every filter."""
    v, a = VersionRow, ArticleRow
    q = q.join(a, a.id == v.article_id).where(
        v.seen_at > f.since, v.seen_at <= f.until, v.kind.in_(f.version_kinds)
    )
    if f.silent:
        q = q.where(v.edit_kind == EditKind.SILENT.value)
    return _common(f, q)


def _apply_returns(f: ChangeFilters, q: Any) -> Any:
    """The same for a query over reverts: the version returned to, its article and source."""
    r, v, a = RevertRow, VersionRow, ArticleRow
    q = (
        q.join(v, sa.and_(v.article_id == r.article_id, v.number == r.to_number))
        .join(a, a.id == r.article_id)
        .where(r.last_at > f.since, r.last_at <= f.until)
    )
    return _common(f, q)


def _apply_moves(f: ChangeFilters, q: Any) -> Any:
    """The same for a query over moves: the article's current content version and source."""
    m, v, a = MoveRow, VersionRow, ArticleRow
    q = (
        q.join(a, a.id == m.article_id)
        .join(v, sa.and_(v.article_id == m.article_id, v.number == a.content_version))
        .where(m.at > f.since, m.at <= f.until)
    )
    return _common(f, q)


def _common(f: ChangeFilters, q: Any) -> Any:
    v, a, s = VersionRow, ArticleRow, SourceRow
    cv = aliased(VersionRow)
    q = q.outerjoin(s, s.key == a.source)
    if f.sources:
        q = q.where(a.source.in_(list(f.sources)))
    if f.countries:
        q = q.where(sa.func.upper(s.country).in_([c.upper() for c in f.countries]))
    if f.text:
        title = sa.func.coalesce(v.title, a.title)
        # A removal has no body of its own: search the article's current content instead.
        current = (
            sa.select(body_text_sql(cv))
            .where(cv.article_id == a.id, cv.number == a.content_version)
            .scalar_subquery()
        )
        body = sa.func.coalesce(body_text_sql(v), current)
        q = q.where(
            sa.or_(
                title.icontains(f.text, autoescape=True),
                body.icontains(f.text, autoescape=True),
            )
        )
    return q


def _items_query(f: ChangeFilters, full_body: bool) -> Any:
    v, a, s = VersionRow, ArticleRow, SourceRow
    parts = []
    if f.version_kinds:
        q = sa.select(
            v.id.label("version_id"),
            v.number,
            v.kind,
            v.seen_at,
            sa.func.coalesce(v.title, a.title).label("title"),
            sa.func.coalesce(v.section, a.section).label("section"),
            sa.func.coalesce(v.language, a.language).label("language"),
            *(
                # A removal row has no content of its own: show the article's.
                sa.case(
                    (v.kind == VersionKind.REMOVED.value, getattr(a, col)),
                    else_=getattr(v, col),
                ).label(col)
                for col in _DATE_COLUMNS
            ),
            # The lead needs only the start of the body; alert rules need all of it.
            _body(full_body),
            v.diff_from,
            v.diff_summary,
            v.words_added,
            v.words_removed,
            v.evidence,
            a.id.label("article_id"),
            a.source,
            a.url,
            a.first_seen_at,
            s.name.label("source_name"),
            s.country,
            DiffRow.data.label("diff"),
            sa.cast(sa.null(), sa.Integer).label("returns"),
            sa.cast(sa.null(), UTCDateTime()).label("first_return_at"),
            v.edit_kind,
            v.edit_evidence,
        ).select_from(v)
        parts.append(_apply(f, q).outerjoin(DiffRow, DiffRow.version_id == v.id))
    if f.returns:
        parts.append(_returns_query(f, full_body))
    if f.moves:
        parts.append(_moves_query(f, full_body))
    # Within a source: newest publication first (the day, then the minute when known), undated
    # items last; the events of one article in the order they were seen.
    if len(parts) == 1:
        q = parts[0]
        c = q.selected_columns
        return q.order_by(
            s.country.is_(None),
            s.country,
            a.source,
            *_by_publication(c),
            c.seen_at,
            c.version_id,
        )
    u = sa.union_all(*parts).subquery()
    return sa.select(u).order_by(
        u.c.country.is_(None),
        u.c.country,
        u.c.source,
        *_by_publication(u.c),
        u.c.seen_at,
        u.c.version_id,
        u.c.kind,
    )


def _by_publication(c: Any) -> tuple[Any, ...]:
    """Order terms: newest publication day first, then minute when known; undated last."""
    day, minute = c.published_date, c.published_at
    return (day.is_(None), day.desc(), minute.is_(None), minute.desc())


def _body(full_body: bool) -> Any:
    text = body_text_sql()
    return (text if full_body else sa.func.substr(text, 1, LEAD_SOURCE)).label("body")


def _returns_query(f: ChangeFilters, full_body: bool) -> Any:
    """Returns to an earlier content in the window, in the columns of the versions query."""
    r, v, a, s = RevertRow, VersionRow, ArticleRow, SourceRow
    q = sa.select(
        v.id.label("version_id"),
        r.to_number.label("number"),
        sa.literal(RETURNED, sa.String(16)).label("kind"),
        r.last_at.label("seen_at"),
        sa.func.coalesce(v.title, a.title).label("title"),
        sa.func.coalesce(v.section, a.section).label("section"),
        sa.func.coalesce(v.language, a.language).label("language"),
        *(getattr(v, col).label(col) for col in _DATE_COLUMNS),
        _body(full_body),
        r.from_number.label("diff_from"),
        sa.cast(sa.null(), sa.Text).label("diff_summary"),
        sa.cast(sa.null(), sa.Integer).label("words_added"),
        sa.cast(sa.null(), sa.Integer).label("words_removed"),
        sa.cast(sa.null(), sa.JSON).label("evidence"),
        a.id.label("article_id"),
        a.source,
        a.url,
        a.first_seen_at,
        s.name.label("source_name"),
        s.country,
        sa.cast(sa.null(), sa.JSON).label("diff"),
        r.count.label("returns"),
        r.first_at.label("first_return_at"),
        sa.cast(sa.null(), sa.String(16)).label("edit_kind"),
        sa.cast(sa.null(), sa.JSON).label("edit_evidence"),
    ).select_from(r)
    return _apply_returns(f, q)


def _moves_query(f: ChangeFilters, full_body: bool) -> Any:
    """Moves in the window, in the columns of the versions query: the URL moved to is `url`,
    the evidence (`by`, `similarity`, `from_url`) is `evidence`."""
    m, v, a, s = MoveRow, VersionRow, ArticleRow, SourceRow
    q = sa.select(
        v.id.label("version_id"),
        v.number,
        sa.literal(MOVED, sa.String(16)).label("kind"),
        m.at.label("seen_at"),
        sa.func.coalesce(v.title, a.title).label("title"),
        sa.func.coalesce(v.section, a.section).label("section"),
        sa.func.coalesce(v.language, a.language).label("language"),
        *(getattr(v, col).label(col) for col in _DATE_COLUMNS),
        _body(full_body),
        sa.cast(sa.null(), sa.Integer).label("diff_from"),
        sa.cast(sa.null(), sa.Text).label("diff_summary"),
        sa.cast(sa.null(), sa.Integer).label("words_added"),
        sa.cast(sa.null(), sa.Integer).label("words_removed"),
        m.evidence,
        a.id.label("article_id"),
        a.source,
        m.to_url.label("url"),
        a.first_seen_at,
        s.name.label("source_name"),
        s.country,
        sa.cast(sa.null(), sa.JSON).label("diff"),
        sa.cast(sa.null(), sa.Integer).label("returns"),
        sa.cast(sa.null(), UTCDateTime()).label("first_return_at"),
        sa.cast(sa.null(), sa.String(16)).label("edit_kind"),
        sa.cast(sa.null(), sa.JSON).label("edit_evidence"),
    ).select_from(m)
    return _apply_moves(f, q)
