"""A fetched article page recorded: new, unchanged, changed, reverted, or restored.

- A new version only when the fingerprint of the normalized title, date and body changes
  (`storage.normalize`); its diff from the version it replaces is stored with it.
- Returning to an earlier content (A -> B -> A, e.g. two load-balanced servers) adds no version:
  a `reverts` row per (from, to) pair counts the returns, so flip-flopping forever stays bounded.
- A removed article that answers with its page again gets a `restored` version.
- A changed version is judged `silent`, `announced` or `unknown` against the version it replaces
  (`edit_kind`: did the page's date or modification markers change too?); the bulk path
  (`changes`) judges it the same way.
- An unchanged recheck is one indexed UPDATE of the article row (times and counters): no rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.articles import add_aliases
from storage.blobs import store_response
from storage.codecs import PackedBody
from storage.model import Article, ArticleStatus, RawResponse, VersionKind
from storage.normalize import article_fingerprint
from storage.schema import ArticleRow, DiffRow, RevertRow, VersionRow, insert_ignore_returning
from storage.search.index import index_versions, reinstate, retire_current
from storage.sources import ensure_source
from storage.versions import moves
from storage.versions.edit_kind import judge_edit
from storage.versions.outcomes import Outcome, OutcomeKind
from storage.versions.rows import (
    ARTICLES,
    INSERT_VERSION,
    TOUCH_IF_SAME,
    article_values,
    clear_missing,
    content_row,
    diff_input,
    find_row,
    first_version_row,
    new_article_row,
    require_aware,
    row_values,
    show_body,
    stored_body,
    touch,
    version_fields,
)


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
    version_body: bytes | None = None,
) -> Outcome:
    """Store a successfully parsed article page and say what it was (new, changed, ...).

    `digest` (`normalize.article_fingerprint(article)`), `packed` (`codecs.pack(raw.body)`)
    and `version_body` (`bodies.pack_body(text, html)`) may be passed when the caller computed
    them already, e.g. in a parse worker process.
    """
    require_aware(now=now, next_check_at=next_check_at)
    if digest is None:
        digest = article_fingerprint(article)
    hit = session.execute(
        TOUCH_IF_SAME,
        {"u": article.url, "h": digest, "now": now, "next": next_check_at},
    ).first()
    if hit is not None:
        if aliases:
            add_aliases(session, hit.id, aliases)
        return Outcome(OutcomeKind.UNCHANGED, hit.id, hit.version)

    row = find_row(session, article.url)
    if row is None:
        keys = moves.candidate(article, digest)
        match = moves.find_moves(session, [keys])[0]
        if match is not None:  # a known article under a new URL: one history (`moves`)
            moves.record_move(session, match, article.url, now)
            outcome = record_fetch(
                session,
                article,
                raw,
                now=now,
                next_check_at=next_check_at,
                aliases=aliases,
                digest=digest,
                packed=packed,
                version_body=version_body,
            )
            return dataclasses.replace(outcome, moved=True)
        new = _new_article(
            session, article, raw, digest, now, next_check_at, aliases, packed, keys, version_body
        )
        if new is not None:
            return new
        row = find_row(session, article.url)  # another writer stored it meanwhile
        assert row is not None
    add_aliases(session, row.id, [*aliases, article.url])
    touch(row, now, next_check_at)
    if row.status == ArticleStatus.REMOVED:
        return _restore(session, row, article, raw, digest, now, packed, version_body)
    was_missing = clear_missing(row, now)
    if row.content_hash == digest:
        return Outcome(OutcomeKind.UNCHANGED, row.id, row.version, was_missing)
    earlier = session.execute(
        sa.select(VersionRow)
        .where(VersionRow.article_id == row.id, VersionRow.content_hash == digest)
        .order_by(VersionRow.number.desc())
        .limit(1)
    ).scalar()
    if earlier is not None:
        return _revert(session, row, earlier, raw, now, was_missing, packed)
    version = _add_content_version(
        session, row, VersionKind.CHANGED, article, raw, digest, now, packed, version_body
    )
    return Outcome(OutcomeKind.CHANGED, row.id, version, was_missing)


def _new_article(
    session: Session,
    article: Article,
    raw: RawResponse,
    digest: str,
    now: datetime,
    next_check_at: datetime,
    aliases: Sequence[str],
    packed: PackedBody | None,
    keys: moves.Candidate,
    version_body: bytes | None,
) -> Outcome | None:
    """Version 1 of an unknown article; None when another writer inserted its URL meanwhile."""
    # Core inserts, not ORM objects: this is the hot path of a first crawl.
    ensure_source(session, article.source)
    values = article_values(article)
    article_id = session.execute(
        insert_ignore_returning(session, ARTICLES, "id"),
        new_article_row(article, digest, now, next_check_at, values),
    ).scalar()
    if article_id is None:
        return None
    response_id, raw_sha = store_response(session, raw, article_id, packed)
    stored = stored_body(values, session.get_bind().dialect.name, version_body)
    version_id = session.execute(
        INSERT_VERSION, first_version_row(article_id, digest, now, response_id, raw_sha, stored)
    ).scalar_one()
    index_versions(session, [(version_id, values["title"], values["body_text"])])
    moves.store_signatures(session, [moves.signature_row(article_id, keys)])
    if aliases:
        add_aliases(session, article_id, aliases)
    return Outcome(OutcomeKind.NEW, article_id, 1)


def _add_content_version(
    session: Session,
    row: ArticleRow,
    kind: VersionKind,
    article: Article,
    raw: RawResponse,
    digest: str,
    now: datetime,
    packed: PackedBody | None = None,
    version_body: bytes | None = None,
) -> int:
    """Add a version with the fetched content (and its diff from the current content)."""
    from storage.stored_diffs import diff_versions  # kept local: only needed here

    values = article_values(article)
    diff = None
    judged: dict[str, Any] = {}  # left out, not None, so that both stay SQL NULL
    if row.content_hash != digest:
        new_version = VersionRow(**values)  # transient, only to build the diff input
        current = content_row(session, row)
        diff = diff_versions(diff_input(current), diff_input(new_version))
        if kind is VersionKind.CHANGED:
            edit_kind, edit_evidence = judge_edit(current, values)
            judged = {"edit_kind": edit_kind, "edit_evidence": edit_evidence}
            # A restore follows a removal, which retired the current content already.
            retire_current(session, [(current.id, current.title, current.body_text)])
    response_id, raw_sha = store_response(session, raw, row.id, packed)
    number = row.version + 1
    version = VersionRow(
        article_id=row.id,
        number=number,
        kind=kind.value,
        seen_at=now,
        content_hash=digest,
        response_id=response_id,
        raw_sha256=raw_sha,
        diff_from=row.content_version if diff is not None else None,
        diff_summary=diff.get("summary") if diff is not None else None,
        words_added=diff.get("words_added") if diff is not None else None,
        words_removed=diff.get("words_removed") if diff is not None else None,
        **judged,
        **stored_body(values, session.get_bind().dialect.name, version_body),
    )
    session.add(version)
    session.flush()
    show_body(version, values)
    index_versions(session, [(version.id, values["title"], values["body_text"])])
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
    version_body: bytes | None,
) -> Outcome:
    clear_missing(row, now)
    row.status, row.status_changed_at = ArticleStatus.LIVE.value, now
    row.missing_since, row.missing_checks, row.missing_evidence = None, 0, None
    number = _add_content_version(
        session, row, VersionKind.RESTORED, article, raw, digest, now, packed, version_body
    )
    return Outcome(OutcomeKind.RESTORED, row.id, number)


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
    current = content_row(session, row)
    retire_current(session, [(current.id, current.title, current.body_text)])
    reinstate(session, [(earlier.id, earlier.title, earlier.body_text)])
    for name, value in row_values(version_fields(earlier)).items():
        setattr(row, name, value)
    row.content_version = earlier.number
    row.content_hash = earlier.content_hash
    row.last_changed_at = now
    session.flush()
    return Outcome(OutcomeKind.REVERTED, row.id, earlier.number, was_missing)
