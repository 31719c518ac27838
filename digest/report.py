"""Building the digest `Report` from storage: one item per version recorded in the window.

An item is a `versions` row whose `seen_at` falls in (since, until]: new, changed, removed or
restored; or a `reverts` row whose latest return (`last_at`) does: `returned`, the article's
content went back to an earlier version's (a return adds no version, so without these items the
digest would show only the edit that is no longer live). New and restored items carry a lead
(the first ~300 characters of the body); changed items (and restored ones whose content differs)
carry the stored diff's numbers, changed fields and changed passages with a paragraph of
context; a returned item the same for the return (from the version left to the one returned to,
computed: returns are rare) and a note saying which version is live again. Items are grouped by source, sources ordered
by country then key, items by publication (newest first, undated last). Sources whose health is not `ok`, or changed in the window,
are listed in `Report.sources`.

`stream_report` is the same digest for a window of any size: the header (window, counts, health)
at once, and the items read from the database in batches as they are consumed, so memory does not
grow with the number of items (the CLI writes text, Markdown and JSON this way).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from digest._text import lead
from digest.alerts import AlertRule, match_item
from digest.errors import DigestError
from digest.model import (
    Change,
    FieldChange,
    Group,
    Item,
    ItemKind,
    Passage,
    Report,
    Segment,
    SourceHealth,
)
from digest.templating import fmt_time
from storage.errors import VersionNotFound
from storage.model import ArticleDate, DatePrecision, DateSource
from storage.queries import version_pair
from storage.schema import (
    ArticleRow,
    DiffRow,
    HealthRow,
    RevertRow,
    RunRow,
    SourceRow,
    VersionRow,
)
from storage.types import UTCDateTime

__all__ = [
    "Group",
    "GroupKey",
    "Item",
    "ItemKind",
    "Report",
    "StreamedReport",
    "build_report",
    "passages_from_diff",
    "stream_report",
]

MAX_PASSAGES = 6
STREAM_BATCH = 500  # rows fetched at a time by `stream_report`
CONTEXT_CHARS = 160
_LONG_EQUAL = 320
_LEAD_SOURCE = 1200  # characters of body fetched to cut a ~300-character lead from
_DATE_COLUMNS = (
    "published_at",
    "published_offset",
    "published_date",
    "date_precision",
    "date_source",
)
_WORD_TAG = {"eq": "equal", "ins": "insert", "del": "delete"}


class ReportFilterError(DigestError):
    """A filter value the report cannot use (unknown kind, empty query ...)."""


def _kinds(kinds: Iterable[str] | None) -> tuple[str, ...]:
    if not kinds:
        return tuple(k.value for k in ItemKind)
    valid = {k.value for k in ItemKind}
    wanted = tuple(dict.fromkeys(k.strip().lower() for k in kinds))
    bad = [k for k in wanted if k not in valid]
    if bad:
        raise ReportFilterError(
            f"unknown kind {', '.join(map(repr, bad))} (valid: {', '.join(sorted(valid))})"
        )
    return wanted


@cache
def _zone(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


def _published(
    at: datetime | None,
    offset: int | None,
    day: date | None,
    precision: str | None,
    src: str | None,
) -> ArticleDate | None:
    if day is None or precision is None:
        return None
    try:
        local = at.astimezone(_zone(offset or 0)) if at else None
        return ArticleDate(
            day,
            DatePrecision(precision),
            DateSource(src or "page"),
            local if precision == DatePrecision.MINUTE else None,
        )
    except ValueError:
        return None  # an inconsistent stored date is shown as "no date", not a crash


def _trim_equal(text: str, position: str) -> str:
    if len(text) <= _LONG_EQUAL:
        return text
    keep = _LONG_EQUAL // 2 - 20
    if position == "first":
        return "… " + text[-keep:]
    if position == "last":
        return text[:keep] + " …"
    return text[:keep] + " … " + text[-keep:]


def _segments(op: Mapping[str, Any]) -> list[Segment]:
    kind = op.get("op")
    if kind == "insert":
        return [Segment("insert", str(op.get("new") or ""))]
    if kind == "delete":
        return [Segment("delete", str(op.get("old") or ""))]
    words = op.get("words") or []
    if not words:  # a replace without word detail: show it whole
        return [
            Segment("delete", str(op.get("old") or "")),
            Segment("insert", str(op.get("new") or "")),
        ]
    segs: list[Segment] = []
    for k, (tag, text) in enumerate(words):
        op_name = _WORD_TAG.get(tag, "equal")
        if op_name == "equal":
            where = "first" if k == 0 else "last" if k == len(words) - 1 else "middle"
            text = _trim_equal(text, where)
        segs.append(Segment(op_name, text))  # type: ignore[arg-type]
    return segs


def passages_from_diff(diff: Mapping[str, Any], limit: int = MAX_PASSAGES) -> tuple[Passage, ...]:
    """The changed passages of a stored diff (`storage.stored_diffs` schema 1), with context."""
    ops: Sequence[Mapping[str, Any]] = diff.get("body") or []
    out: list[Passage] = []
    k = 0
    while k < len(ops) and len(out) < limit:
        if ops[k].get("op") == "equal":
            k += 1
            continue
        start = k
        while k < len(ops) and ops[k].get("op") != "equal":
            k += 1
        segs: list[Segment] = []
        for n, op in enumerate(ops[start:k]):
            if n:
                segs.append(Segment("equal", "\n\n"))
            segs += _segments(op)
        prev = ops[start - 1] if start else None
        nxt = ops[k] if k < len(ops) else None
        before = str((prev.get("new") or prev.get("old") or "") if prev else "")
        after = str((nxt.get("new") or nxt.get("old") or "") if nxt else "")
        out.append(
            Passage(
                tuple(segs),
                before=before[-CONTEXT_CHARS:] if before else "",
                after=after[:CONTEXT_CHARS] if after else "",
            )
        )
    return tuple(out)


def _change(row: Any, diff: Mapping[str, Any] | None) -> Change | None:
    if row.diff_from is None or diff is None:
        return None
    fields = tuple(
        FieldChange(str(f.get("field")), str(f.get("old") or ""), str(f.get("new") or ""))
        for f in diff.get("fields") or []
    )
    return Change(
        from_version=int(row.diff_from),
        to_version=int(row.number),
        words_added=int(row.words_added or diff.get("words_added") or 0),
        words_removed=int(row.words_removed or diff.get("words_removed") or 0),
        summary=str(row.diff_summary or diff.get("summary") or ""),
        fields=fields,
        passages=passages_from_diff(diff),
    )


def _removal_note(evidence: Mapping[str, Any] | None) -> str:
    if not evidence:
        return ""
    parts = [str(evidence.get("reason") or "gone")]
    if evidence.get("checks"):
        parts.append(f"{evidence['checks']} checks")
    since = evidence.get("missing_since")
    if since:
        try:
            since = fmt_time(datetime.fromisoformat(str(since)))
        except ValueError:
            pass
        parts.append(f"missing since {since}")
    return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class _Filters:
    since: datetime
    until: datetime
    kinds: tuple[str, ...]
    sources: Sequence[str] | None
    countries: Sequence[str] | None
    text: str | None

    @property
    def version_kinds(self) -> list[str]:
        """The kinds wanted that are versions rows (all but `returned`)."""
        return [k for k in self.kinds if k != ItemKind.RETURNED.value]

    @property
    def returns(self) -> bool:
        """Whether returns to an earlier version are wanted."""
        return ItemKind.RETURNED.value in self.kinds

    def apply(self, q: Any) -> Any:
        """Join the article and source to a query over versions, and apply every filter."""
        v, a = VersionRow, ArticleRow
        q = q.join(a, a.id == v.article_id).where(
            v.seen_at > self.since, v.seen_at <= self.until, v.kind.in_(self.version_kinds)
        )
        return self._common(q)

    def apply_returns(self, q: Any) -> Any:
        """The same for a query over reverts: the version returned to, its article and source."""
        r, v, a = RevertRow, VersionRow, ArticleRow
        q = (
            q.join(v, sa.and_(v.article_id == r.article_id, v.number == r.to_number))
            .join(a, a.id == r.article_id)
            .where(r.last_at > self.since, r.last_at <= self.until)
        )
        return self._common(q)

    def _common(self, q: Any) -> Any:
        v, a, s = VersionRow, ArticleRow, SourceRow
        cv = aliased(VersionRow)
        q = q.outerjoin(s, s.key == a.source)
        if self.sources:
            q = q.where(a.source.in_(list(self.sources)))
        if self.countries:
            q = q.where(sa.func.upper(s.country).in_([c.upper() for c in self.countries]))
        if self.text:
            title = sa.func.coalesce(v.title, a.title)
            # A removal has no body of its own: search the article's current content instead.
            current = (
                sa.select(cv.body_text)
                .where(cv.article_id == a.id, cv.number == a.content_version)
                .scalar_subquery()
            )
            body = sa.func.coalesce(v.body_text, current)
            q = q.where(
                sa.or_(
                    title.icontains(self.text, autoescape=True),
                    body.icontains(self.text, autoescape=True),
                )
            )
        return q


def _items_query(f: _Filters, full_body: bool) -> Any:
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
                sa.case((v.kind == "removed", getattr(a, col)), else_=getattr(v, col)).label(col)
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
        ).select_from(v)
        parts.append(f.apply(q).outerjoin(DiffRow, DiffRow.version_id == v.id))
    if f.returns:
        parts.append(_returns_query(f, full_body))
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
    v = VersionRow
    return (v.body_text if full_body else sa.func.substr(v.body_text, 1, _LEAD_SOURCE)).label(
        "body"
    )


def _returns_query(f: _Filters, full_body: bool) -> Any:
    """Returns to an earlier content in the window, in the columns of the versions query."""
    r, v, a, s = RevertRow, VersionRow, ArticleRow, SourceRow
    q = sa.select(
        v.id.label("version_id"),
        r.to_number.label("number"),
        sa.literal(ItemKind.RETURNED.value, sa.String(16)).label("kind"),
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
    ).select_from(r)
    return f.apply_returns(q)


def _totals(session: Session, f: _Filters) -> dict[str, int]:
    found: dict[str, int] = {}
    if f.version_kinds:
        q = f.apply(sa.select(VersionRow.kind, sa.func.count()).select_from(VersionRow))
        found.update({kind: n for kind, n in session.execute(q.group_by(VersionRow.kind))})
    if f.returns:
        q = f.apply_returns(sa.select(sa.func.count()).select_from(RevertRow))
        found[ItemKind.RETURNED.value] = session.execute(q).scalar_one()
    return {k.value: int(found.get(k.value, 0)) for k in ItemKind}


def _return_note(row: Any) -> str:
    note = f"returned to version {row.number} from version {row.diff_from}"
    if row.returns and row.returns > 1:
        note += f" ({row.returns} returns since {fmt_time(row.first_return_at)})"
    return note


def _row_item(session: Session, row: Any, rules: Sequence[AlertRule]) -> Item:
    """The digest item of one row of `_items_query` (a return's diff is computed here)."""
    returned = row.kind == ItemKind.RETURNED.value
    return _item(row, rules, _return_diff(session, row) if returned else None)


def _return_diff(session: Session, row: Any) -> dict[str, Any] | None:
    """The diff of a return: from the version left to the one returned to (None: not computable)."""
    try:
        return version_pair(session, int(row.article_id), int(row.diff_from), int(row.number)).diff
    except VersionNotFound:
        return None


def _item(row: Any, rules: Sequence[AlertRule], diff: Mapping[str, Any] | None = None) -> Item:
    kind = ItemKind(row.kind)
    published = _published(
        row.published_at,
        row.published_offset,
        row.published_date,
        row.date_precision,
        row.date_source,
    )
    item = Item(
        kind=kind,
        article_id=int(row.article_id),
        version=int(row.number),
        source=row.source,
        title=row.title or "",
        url=row.url,
        first_seen_at=row.first_seen_at,
        event_at=row.seen_at,
        country=row.country,
        section=row.section,
        language=row.language,
        published=published,
        lead=lead(row.body) if kind in (ItemKind.NEW, ItemKind.RESTORED) else "",
        change=_change(row, diff if diff is not None else row.diff),
        note=_removal_note(row.evidence)
        if kind is ItemKind.REMOVED
        else _return_note(row)
        if kind is ItemKind.RETURNED
        else "",
    )
    return match_item(item, rules, row.body)


def _health(
    session: Session,
    since: datetime,
    until: datetime,
    sources: Sequence[str] | None,
    countries: Sequence[str] | None,
) -> tuple[SourceHealth, ...]:
    """Sources whose health changed in the window (started failing, or recovered)."""
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
    out = []
    for health, name, country, last_run_at in session.execute(q):
        state = health.state
        if state == "ok":
            state = "recovered"
        out.append(
            SourceHealth(
                source=health.source,
                state=state,
                name=name,
                country=country,
                last_run_at=last_run_at,
                last_error=health.last_error if health.state != "ok" else None,
                failures=health.consecutive_failures,
                changed_at=health.changed_at,
            )
        )
    return tuple(out)


# (country, source key, source name): what items of one group share.
GroupKey = tuple[str | None, str, str | None]


@dataclass(frozen=True)
class StreamedReport:
    """A digest whose items are read as they are consumed (see `stream_report`).

    `head` is the report without items: its window, filters, cursor, source-health notes, and
    `counts` for the whole window. `items` yields (group key, item) in report order, once, while
    the session it was read with is open.
    """

    head: Report
    items: Iterator[tuple[GroupKey, Item]]


def _window(
    session: Session,
    since: datetime,
    until: datetime | None,
    sources: Sequence[str] | None,
    countries: Sequence[str] | None,
    kinds: Iterable[str] | None,
    query: str | None,
) -> tuple[_Filters, dict[str, tuple[str, ...] | str], tuple[SourceHealth, ...]]:
    """The filters of a digest window, as applied and as shown, and its source-health notes."""
    if since.tzinfo is None:
        raise ReportFilterError("since must be tz-aware")
    until = until or datetime.now(UTC)
    wanted = _kinds(kinds)
    text = query.strip() if query else None
    f = _Filters(since, until, wanted, sources, countries, text)
    filters: dict[str, tuple[str, ...] | str] = {}
    if sources:
        filters["source"] = tuple(sources)
    if countries:
        filters["country"] = tuple(c.upper() for c in countries)
    if kinds:
        filters["kind"] = wanted
    if text:
        filters["query"] = text
    health = _health(session, since, until, sources, countries) if not (kinds or text) else ()
    return f, filters, health


def build_report(
    session: Session,
    *,
    since: datetime,
    until: datetime | None = None,
    sources: Sequence[str] | None = None,
    countries: Sequence[str] | None = None,
    kinds: Iterable[str] | None = None,
    query: str | None = None,
    alerts: Sequence[AlertRule] = (),
    cursor: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Report:
    """The digest of everything recorded after `since` (and up to `until`, default now).

    With `limit`, only that many items (from `offset`, in report order) are built, and
    `Report.counts` still gives the totals of the whole window (the web UI pages this way).
    """
    f, filters, health = _window(session, since, until, sources, countries, kinds, query)
    q = _items_query(f, full_body=bool(alerts))
    if limit is not None:
        q = q.limit(max(limit, 0)).offset(max(offset, 0))
    groups: list[Group] = []
    current: list[Item] = []
    key: GroupKey | None = None
    for row in session.execute(q):
        row_key = (row.country, row.source, row.source_name)
        if row_key != key:
            if key is not None:
                groups.append(Group(key[0], key[1], key[2], tuple(current)))
            key, current = row_key, []
        current.append(_row_item(session, row, alerts))
    if key is not None:
        groups.append(Group(key[0], key[1], key[2], tuple(current)))
    return Report(
        since=since,
        until=f.until,
        groups=tuple(groups),
        sources=health,
        filters=filters,
        cursor=cursor,
        totals=_totals(session, f) if limit is not None else None,
        offset=max(offset, 0) if limit is not None else 0,
    )


def stream_report(
    session: Session,
    *,
    since: datetime,
    until: datetime | None = None,
    sources: Sequence[str] | None = None,
    countries: Sequence[str] | None = None,
    kinds: Iterable[str] | None = None,
    query: str | None = None,
    alerts: Sequence[AlertRule] = (),
    cursor: str | None = None,
) -> StreamedReport:
    """The digest `build_report` gives, with its items read `STREAM_BATCH` rows at a time."""
    f, filters, health = _window(session, since, until, sources, countries, kinds, query)
    head = Report(
        since=since,
        until=f.until,
        sources=health,
        filters=filters,
        cursor=cursor,
        totals=_totals(session, f),
    )
    q = _items_query(f, full_body=bool(alerts)).execution_options(yield_per=STREAM_BATCH)

    def items() -> Iterator[tuple[GroupKey, Item]]:
        for row in session.execute(q):
            yield (row.country, row.source, row.source_name), _row_item(session, row, alerts)

    return StreamedReport(head, items())
