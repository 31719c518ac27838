"""What changed since a point in time: the versions (and, on request, reverts) the digest reports.

Rows come oldest first, each with its article's current identity (URL, source, country) and the
version's own fields; a `removed` version carries the evidence and the last known fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.schema import ArticleRow, DiffRow, RevertRow, SourceRow, VersionRow
from storage.types import iso, with_offset

DIGEST_KINDS = ("new", "changed", "removed", "restored")


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """One version (or, when asked for, a revert) recorded since a point in time, with its article."""

    kind: str  # new | changed | removed | restored | reverted
    article_id: int
    version: int
    seen_at: datetime
    source: str
    country: str | None
    url: str
    title: str
    section: str | None
    language: str | None
    published_at: datetime | None
    published_date: date | None
    date_precision: str | None
    first_seen_at: datetime
    status: str
    body_text: str
    diff_from: int | None
    diff_summary: str | None
    words_added: int | None
    words_removed: int | None
    diff: dict[str, Any] | None
    evidence: dict[str, Any] | None


def changes_since(
    session: Session,
    since: datetime,
    *,
    sources: Sequence[str] | None = None,
    countries: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    query: str | None = None,
) -> list[ChangeRow]:
    """Versions recorded after `since` with their article, oldest first.

    `kinds` defaults to new/changed/removed/restored; add `reverted` to also get returns to an
    earlier content (one row per from/to pair whose latest return is after `since`). `query`
    matches the title or body, case-insensitively.
    """
    wanted = list(kinds) if kinds is not None else list(DIGEST_KINDS)
    rows: list[ChangeRow] = []
    version_kinds = [k for k in wanted if k != "reverted"]
    if version_kinds:
        rows += _version_changes(session, since, sources, countries, version_kinds, query)
    if "reverted" in wanted:
        rows += _revert_changes(session, since, sources, countries, query)
    rows.sort(key=lambda r: (r.seen_at, r.article_id, r.version))
    return rows


def _filters(
    sources: Sequence[str] | None, countries: Sequence[str] | None, query: str | None
) -> list[sa.ColumnElement[bool]]:
    conds: list[sa.ColumnElement[bool]] = []
    if sources is not None:
        conds.append(ArticleRow.source.in_(list(sources)))
    if countries is not None:
        conds.append(sa.func.upper(SourceRow.country).in_([c.upper() for c in countries]))
    if query:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(
            sa.or_(
                ArticleRow.title.ilike(pattern, escape="\\"),
                ArticleRow.body_text.ilike(pattern, escape="\\"),
            )
        )
    return conds


def _version_changes(
    session: Session,
    since: datetime,
    sources: Sequence[str] | None,
    countries: Sequence[str] | None,
    kinds: list[str],
    query: str | None,
) -> list[ChangeRow]:
    stmt = (
        sa.select(VersionRow, ArticleRow, SourceRow.country, DiffRow.data)
        .join(ArticleRow, ArticleRow.id == VersionRow.article_id)
        .outerjoin(SourceRow, SourceRow.key == ArticleRow.source)
        .outerjoin(DiffRow, DiffRow.version_id == VersionRow.id)
        .where(VersionRow.seen_at > since, VersionRow.kind.in_(kinds))
        .where(*_filters(sources, countries, query))
        .order_by(VersionRow.seen_at, VersionRow.id)
    )
    out = []
    for v, a, country, diff in session.execute(stmt):
        content = a if v.kind == "removed" else v
        out.append(
            ChangeRow(
                kind=v.kind,
                article_id=a.id,
                version=v.number,
                seen_at=v.seen_at,
                source=a.source,
                country=country,
                url=a.url,
                title=content.title or a.title,
                section=content.section,
                language=content.language,
                published_at=with_offset(content.published_at, content.published_offset),
                published_date=content.published_date,
                date_precision=content.date_precision,
                first_seen_at=a.first_seen_at,
                status=a.status,
                body_text=content.body_text or "",
                diff_from=v.diff_from,
                diff_summary=v.diff_summary,
                words_added=v.words_added,
                words_removed=v.words_removed,
                diff=diff,
                evidence=v.evidence,
            )
        )
    return out


def _revert_changes(
    session: Session,
    since: datetime,
    sources: Sequence[str] | None,
    countries: Sequence[str] | None,
    query: str | None,
) -> list[ChangeRow]:
    stmt = (
        sa.select(RevertRow, ArticleRow, SourceRow.country)
        .join(ArticleRow, ArticleRow.id == RevertRow.article_id)
        .outerjoin(SourceRow, SourceRow.key == ArticleRow.source)
        .where(RevertRow.last_at > since)
        .where(*_filters(sources, countries, query))
    )
    return [
        ChangeRow(
            kind="reverted",
            article_id=a.id,
            version=r.to_number,
            seen_at=r.last_at,
            source=a.source,
            country=country,
            url=a.url,
            title=a.title,
            section=a.section,
            language=a.language,
            published_at=with_offset(a.published_at, a.published_offset),
            published_date=a.published_date,
            date_precision=a.date_precision,
            first_seen_at=a.first_seen_at,
            status=a.status,
            body_text=a.body_text,
            diff_from=r.from_number,
            diff_summary=f"reverted from v{r.from_number} to v{r.to_number} ({r.count}x)",
            words_added=None,
            words_removed=None,
            diff=None,
            evidence={"count": r.count, "first_at": iso(r.first_at)},
        )
        for r, a, country in session.execute(stmt)
    ]
