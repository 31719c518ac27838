"""Every stored version as one flat record: the read side of `mfawatch export --all-versions`.

A record names its article (id, source, canonical URL), says which version it is (number, kind,
time seen, whether its content is the article's current one) and carries its hashes (normalized
content, raw response) and fields. A removal carries its evidence instead of fields. Records come
by article id, then version number, streamed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.model import ArticleStatus
from storage.schema import ArticleRow, VersionRow
from storage.types import content_json, iso, with_offset


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One version of one article, as exported."""

    article_id: int
    source: str
    url: str
    number: int
    kind: str  # new | changed | removed | restored
    seen_at: datetime
    current: bool  # its content is the article's current content
    content_hash: str | None
    raw_sha256: str | None
    title: str | None
    published_at: datetime | None
    published_date: date | None
    date_precision: str | None
    date_source: str | None
    section: str | None
    language: str | None
    body_text: str | None
    body_html: str | None
    diff_from: int | None
    diff_summary: str | None
    evidence: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict in field order, times as ISO 8601 strings."""
        return {
            "article_id": self.article_id,
            "source": self.source,
            "url": self.url,
            "version": self.number,
            "kind": self.kind,
            "seen_at": iso(self.seen_at),
            "current": self.current,
            "content_hash": self.content_hash,
            "raw_sha256": self.raw_sha256,
            **content_json(self),
            "diff_from": self.diff_from,
            "diff_summary": self.diff_summary,
            "evidence": self.evidence,
        }


def iter_versions(
    session: Session, *, source: str | None = None, since: datetime | None = None
) -> Iterator[VersionRecord]:
    """Every version (optionally one source's, optionally only those seen at or after `since`)."""
    query = (
        sa.select(
            VersionRow,
            ArticleRow.source,
            ArticleRow.url,
            ArticleRow.content_version,
            ArticleRow.status,
        )
        .join(ArticleRow, ArticleRow.id == VersionRow.article_id)
        .order_by(VersionRow.article_id, VersionRow.number)
    )
    if source is not None:
        query = query.where(ArticleRow.source == source)
    if since is not None:
        query = query.where(VersionRow.seen_at >= since)
    for v, src, url, content_version, status in session.execute(
        query.execution_options(yield_per=200)
    ):
        yield VersionRecord(
            article_id=v.article_id,
            source=src,
            url=url,
            number=v.number,
            kind=v.kind,
            seen_at=v.seen_at,
            current=v.number == content_version and status != ArticleStatus.REMOVED,
            content_hash=v.content_hash,
            raw_sha256=v.raw_sha256,
            title=v.title,
            published_at=with_offset(v.published_at, v.published_offset),
            published_date=v.published_date,
            date_precision=v.date_precision,
            date_source=v.date_source,
            section=v.section,
            language=v.language,
            body_text=v.body_text,
            body_html=v.body_html,
            diff_from=v.diff_from,
            diff_summary=v.diff_summary,
            evidence=v.evidence,
        )
