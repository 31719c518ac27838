"""Whether an article still answers: missing, removed, restored by a 304, or live again.

- A 404/410/soft error/redirect home makes the article `missing`; after `confirm_checks`
  consecutive missing checks spanning `confirm_window` it is `removed`, with a `removed` version
  carrying the evidence. A removed article that answers again gets a `restored` version (here
  for a 304; `content` for a page); one that was only missing goes quietly back to live.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.blobs import store_response
from storage.errors import ArticleNotFound
from storage.model import ArticleStatus, RawResponse, VersionKind
from storage.schema import VersionRow
from storage.search.index import index_versions, retire_current_of
from storage.types import iso
from storage.versions.outcomes import Outcome, OutcomeKind
from storage.versions.rows import (
    ARTICLES,
    TOUCH_LIVE,
    clear_missing,
    content_row,
    find_row,
    require_aware,
    show_body,
    stored_body,
    touch,
    version_fields,
)

MAX_EVIDENCE = 20  # missing-check entries kept per episode: the first one and the latest ones


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
    row = find_row(session, url)
    if row is None:
        raise ArticleNotFound(url)
    touch(row, now, next_check_at)
    if row.status == ArticleStatus.REMOVED:
        return Outcome(OutcomeKind.STILL_MISSING, row.id, row.version)
    entry: dict[str, Any] = {
        "at": iso(now),
        "reason": reason,
        "status": raw.status if raw else None,
        "url": raw.url if raw else url,
        "final_url": raw.final_url if raw else None,
    }
    first = row.status != ArticleStatus.MISSING
    if first:
        row.status, row.status_changed_at = ArticleStatus.MISSING.value, now
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
        kind = OutcomeKind.MISSING if first else OutcomeKind.STILL_MISSING
        return Outcome(kind, row.id, row.version)

    response_id, raw_sha = store_response(session, raw, row.id) if raw else (None, None)
    row.version += 1
    session.add(
        VersionRow(
            article_id=row.id,
            number=row.version,
            kind=VersionKind.REMOVED.value,
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
    retire_current_of(session, [row.id])
    row.status, row.status_changed_at = ArticleStatus.REMOVED.value, now
    session.flush()
    return Outcome(OutcomeKind.REMOVED, row.id, row.version)


def record_not_modified(
    session: Session, url: str, *, now: datetime, next_check_at: datetime
) -> Outcome:
    """Note a 304 answer: the article is unchanged (a missing one is live again, a removed one restored)."""
    require_aware(now=now, next_check_at=next_check_at)
    hit = session.execute(TOUCH_LIVE, {"u": url, "now": now, "next": next_check_at}).first()
    if hit is not None:
        return Outcome(OutcomeKind.UNCHANGED, hit.id, hit.version)
    row = find_row(session, url)
    if row is None:
        raise ArticleNotFound(url)
    touch(row, now, next_check_at)
    if row.status == ArticleStatus.REMOVED:
        current = content_row(session, row)
        row.version += 1
        # The same content as the current version's, stored as the dialect stores text (its
        # packed body is reused as it is).
        fields = version_fields(current)
        restored = VersionRow(
            **stored_body(fields, session.get_bind().dialect.name, current.body),
            article_id=row.id,
            number=row.version,
            kind=VersionKind.RESTORED.value,
            seen_at=now,
            content_hash=current.content_hash,
            evidence={"reason": "HTTP 304 Not Modified"},
        )
        session.add(restored)
        session.flush()
        show_body(restored, fields)
        index_versions(session, [(restored.id, fields["title"], fields["body_text"])])
        row.content_version = row.version
        row.status, row.status_changed_at, row.last_changed_at = ArticleStatus.LIVE.value, now, now
        clear_missing(row, now)
        session.flush()
        return Outcome(OutcomeKind.RESTORED, row.id, row.version)
    was_missing = clear_missing(row, now)
    return Outcome(OutcomeKind.UNCHANGED, row.id, row.version, was_missing)


def set_next_check(session: Session, article_id: int, when: datetime) -> None:
    """Move an article's next planned recheck (e.g. back to the fast end after a change)."""
    require_aware(when=when)
    session.execute(
        sa.update(ARTICLES).where(ARTICLES.c.id == article_id).values(next_check_at=when)
    )
