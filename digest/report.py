"""Building the digest `Report` from storage: one item per version recorded in the window.

The rows come from storage's read side (`storage.changes`, which holds the SQL and the order);
this module turns them into items, groups and notes.

An item is a `versions` row whose `seen_at` falls in (since, until]: new, changed, removed or
restored; or a `reverts` row whose latest return (`last_at`) does: `returned`, the article's
content went back to an earlier version's (a return adds no version, so without these items the
digest would show only the edit that is no longer live); or a `moves` row (`at`): `moved`, a
known article found under another URL (`storage.versions.moves`), one quiet line instead of a
"new" item and, later, a removal. New and restored items carry a lead
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

from sqlalchemy.orm import Session

from digest._text import edit_note, lead
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
from storage.changes import (
    ChangeFilters,
    ChangeRow,
    count_changes,
    count_silent,
    health_changes,
    iter_changes,
)
from storage.errors import VersionNotFound
from storage.model import ArticleDate, DatePrecision, DateSource
from storage.queries import version_pair
from storage.readouts.store import PairView, list_pairs, twin_edits
from storage.readouts.twins import EDIT_WINDOW
from storage.readouts.twins import one_sided as judge_one_sided

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


def _change(row: ChangeRow, diff: Mapping[str, Any] | None) -> Change | None:
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


def _totals(session: Session, f: ChangeFilters) -> dict[str, int]:
    found = count_changes(session, f)
    return {k.value: found.get(k.value, 0) for k in ItemKind}


def _return_note(row: ChangeRow) -> str:
    note = f"returned to version {row.number} from version {row.diff_from}"
    if row.returns and row.returns > 1:
        note += f" ({row.returns} returns since {fmt_time(row.first_return_at)})"
    return note


def _move_note(evidence: Mapping[str, Any] | None) -> str:
    """`moved from URL`, and how it was recognized when the text was not the same."""
    evidence = evidence or {}
    note = f"moved from {evidence.get('from_url') or 'another URL'}"
    if evidence.get("by") == "minhash":
        note += f" (near-duplicate text, similarity {float(evidence.get('similarity') or 0):.2f})"
    return note


def _row_item(session: Session, row: ChangeRow, rules: Sequence[AlertRule]) -> Item:
    """The digest item of one recorded change (a return's diff is computed here)."""
    returned = row.kind == ItemKind.RETURNED.value
    one_sided = _one_sided(session, row) if row.kind == ItemKind.CHANGED.value else ""
    return _item(row, rules, _return_diff(session, row) if returned else None, one_sided)


LANGUAGES = {"en": "English", "zh": "Chinese", "ru": "Russian", "ja": "Japanese", "fr": "French",
             "de": "German", "es": "Spanish", "ar": "Arabic"}  # fmt: skip


def _one_sided(session: Session, row: ChangeRow) -> str:
    """ "edited in English only: ..." when the article has a language twin that got no edit
    within `twins.EDIT_WINDOW` of this one; empty otherwise (or without a twin)."""
    at = row.seen_at
    notes = []
    for twin in twin_edits(session, int(row.article_id), at - EDIT_WINDOW, at + EDIT_WINDOW):
        verdict = judge_one_sided(at, twin.edits, datetime.now(UTC))
        if verdict is None:
            continue
        mine = LANGUAGES.get(row.language or "", row.language or "one language")
        other = LANGUAGES.get(twin.language or "", twin.language or "other-language")
        hours = int(EDIT_WINDOW.total_seconds() // 3600)
        so_far = " so far" if verdict.endswith("so far") else ""
        notes.append(
            f"edited in {mine} only{so_far}: its {other} twin (article {twin.twin_id}) has no "
            f"edit within {hours} h"
        )
    return "; ".join(notes)


def _return_diff(session: Session, row: ChangeRow) -> dict[str, Any] | None:
    """The diff of a return: from the version left to the one returned to (None: not computable)."""
    if row.diff_from is None:  # a return always names the version it left
        return None
    try:
        return version_pair(session, row.article_id, row.diff_from, row.number).diff
    except VersionNotFound:
        return None


def _item(
    row: ChangeRow,
    rules: Sequence[AlertRule],
    diff: Mapping[str, Any] | None = None,
    one_sided: str = "",
) -> Item:
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
        else _move_note(row.evidence)
        if kind is ItemKind.MOVED
        else "",
        edit=row.edit_kind,
        edit_note=edit_note(row.edit_kind, row.edit_evidence),
        one_sided=one_sided,
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
    return tuple(
        SourceHealth(
            source=h.source,
            state="recovered" if h.state == "ok" else h.state,
            name=h.name,
            country=h.country,
            last_run_at=h.last_run_at,
            last_error=h.last_error if h.state != "ok" else None,
            failures=h.consecutive_failures,
            changed_at=h.changed_at,
        )
        for h in health_changes(session, since, until, sources, countries)
    )


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
    silent: bool = False,
) -> tuple[ChangeFilters, dict[str, tuple[str, ...] | str], tuple[SourceHealth, ...]]:
    """The filters of a digest window, as applied and as shown, and its source-health notes."""
    if since.tzinfo is None:
        raise ReportFilterError("since must be tz-aware")
    until = until or datetime.now(UTC)
    wanted = _kinds(kinds)
    text = query.strip() if query else None
    f = ChangeFilters(since, until, wanted, sources, countries, text, silent)
    filters: dict[str, tuple[str, ...] | str] = {}
    if sources:
        filters["source"] = tuple(sources)
    if countries:
        filters["country"] = tuple(c.upper() for c in countries)
    if kinds:
        filters["kind"] = wanted
    if text:
        filters["query"] = text
    if silent:
        filters["edit"] = "silent"
    health = (
        _health(session, since, until, sources, countries) if not (kinds or text or silent) else ()
    )
    return f, filters, health


def _pairs(
    session: Session,
    since: datetime,
    until: datetime,
    sources: Sequence[str] | None,
    countries: Sequence[str] | None,
    shown: bool,
) -> tuple[PairView, ...]:
    """The "Both sides' readouts" section: pairs found in the window with a side in the filters
    (none when the digest is narrowed to kinds, a query or silent edits: pairs are no items)."""
    if not shown:
        return ()
    wanted_countries = {c.upper() for c in countries or ()}
    out = []
    for pair in list_pairs(session, since=since, until=until):
        sides = (pair.a, pair.b)
        if sources and not any(s.source in sources for s in sides):
            continue
        if wanted_countries and not any((s.country or "") in wanted_countries for s in sides):
            continue
        out.append(pair)
    return tuple(out)


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
    silent: bool = False,
) -> Report:
    """The digest of everything recorded after `since` (and up to `until`, default now).

    With `limit`, only that many items (from `offset`, in report order) are built, and
    `Report.counts` still gives the totals of the whole window (the web UI pages this way).
    """
    f, filters, health = _window(session, since, until, sources, countries, kinds, query, silent)
    rows = iter_changes(session, f, full_body=bool(alerts), limit=limit, offset=offset)
    groups: list[Group] = []
    current: list[Item] = []
    key: GroupKey | None = None
    for row in rows:
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
        silent=count_silent(session, f),
        pairs=_pairs(session, since, f.until, sources, countries, not (kinds or query or silent)),
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
    silent: bool = False,
) -> StreamedReport:
    """The digest `build_report` gives, with its items read `STREAM_BATCH` rows at a time."""
    f, filters, health = _window(session, since, until, sources, countries, kinds, query, silent)
    head = Report(
        since=since,
        until=f.until,
        sources=health,
        filters=filters,
        cursor=cursor,
        totals=_totals(session, f),
        silent=count_silent(session, f),
        pairs=_pairs(session, since, f.until, sources, countries, not (kinds or query or silent)),
    )

    def items() -> Iterator[tuple[GroupKey, Item]]:
        rows = iter_changes(session, f, full_body=bool(alerts), yield_per=STREAM_BATCH)
        for row in rows:
            yield (row.country, row.source, row.source_name), _row_item(session, row, alerts)

    return StreamedReport(head, items())
