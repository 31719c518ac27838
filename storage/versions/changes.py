"""Rechecks of known articles in bulk: the changed ones are stored a batch at a time.

One by one, `content.record_fetch` stores a change through the ORM: the article row is read
and locked, the current version read for the diff, then the blob, response, version, diff and
article row are written, each with its own statement. A recheck that finds a few hundred edited
articles sends them here in batches instead: the article rows are read (and locked, in URL
order) in one statement, the earlier contents in one more, then every table is written with one
executemany each. What is stored is exactly what `record_fetch` stores for a change.

Only the plain change takes the bulk path: a live (or missing) article, found by its canonical
URL, whose new content is not one it had before. Everything else (an unchanged content, a return
to an earlier one, a removed article answering again, an unknown URL or an alias, a URL twice in
one batch) goes through `record_fetch`, which knows what each of them means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.articles import add_alias_pairs
from storage.blobs import put_packed, rendered_packs, response_values
from storage.bodies import read_body
from storage.codecs import PackedBody, pack
from storage.model import Article, ArticleStatus, RawResponse, VersionKind
from storage.schema import DiffRow, ResponseRow, VersionRow
from storage.search.forms import FtsForms
from storage.search.index import index_versions, retire_current
from storage.versions.content import record_fetch
from storage.versions.edit_kind import judge_edit
from storage.versions.liveness import set_next_check
from storage.versions.outcomes import Outcome, OutcomeKind
from storage.versions.rows import (
    ARTICLES,
    CONTENT_COLUMNS,
    VERSION_ONLY,
    VERSIONS,
    article_values,
    diff_input,
    require_aware,
    row_values,
    stored_body,
)

_CHUNK = 500  # bound on IN (...) list sizes (SQLite's variable limit)
_RESPONSES: sa.Table = ResponseRow.__table__  # type: ignore[assignment]
_DIFFS: sa.Table = DiffRow.__table__  # type: ignore[assignment]
_INSERT_RESPONSES = sa.insert(_RESPONSES).returning(_RESPONSES.c.id, sort_by_parameter_order=True)
_INSERT_VERSIONS = sa.insert(VERSIONS).returning(VERSIONS.c.id, sort_by_parameter_order=True)
_INSERT_DIFFS = sa.insert(_DIFFS)
_ROW_COLUMNS = tuple(c for c in CONTENT_COLUMNS if c not in VERSION_ONLY)


@dataclass(frozen=True, slots=True)
class Refetch:
    """A known article's page fetched again and parsed, with its fingerprint and packed body.

    `restart_at` is the next check when the content changed (a change restarts the plan);
    `next_check_at` the next one otherwise.
    """

    article: Article
    raw: RawResponse
    digest: str  # normalize.article_fingerprint(article)
    packed: PackedBody | None  # codecs.pack(raw.body); None: packed here
    now: datetime
    next_check_at: datetime
    restart_at: datetime
    aliases: tuple[str, ...] = ()
    fts: FtsForms | None = None  # search.forms.fts_forms(title, body) when computed beforehand
    version_body: bytes | None = None  # bodies.pack_body(text, html), packed by a parse worker


def record_refetches(session: Session, entries: Sequence[Refetch]) -> list[Outcome]:
    """`record_fetch` for each entry (then the restart of the plan after a change), in bulk
    for the plain changes."""
    for e in entries:
        require_aware(now=e.now, next_check_at=e.next_check_at, restart_at=e.restart_at)
    session.flush()  # Core statements below: what the ORM holds must be written first
    bulk = _plain_changes(session, entries)
    outcomes: list[Outcome | None] = [None] * len(entries)
    if bulk:
        for i, outcome in zip(bulk, _store_changes(session, entries, bulk), strict=True):
            outcomes[i] = outcome
    done: list[Outcome] = []
    for e, bulk_outcome in zip(entries, outcomes, strict=True):
        if bulk_outcome is not None:
            done.append(bulk_outcome)
            continue
        outcome = record_fetch(
            session,
            e.article,
            e.raw,
            now=e.now,
            next_check_at=e.next_check_at,
            aliases=e.aliases,
            digest=e.digest,
            packed=e.packed,
            version_body=e.version_body,
        )
        if outcome.kind in _RESTARTS:
            set_next_check(session, outcome.article_id, e.restart_at)
        done.append(outcome)
    return done


_RESTARTS = frozenset({OutcomeKind.CHANGED, OutcomeKind.REVERTED, OutcomeKind.RESTORED})


@dataclass(frozen=True, slots=True)
class _Stored:
    """What the bulk path needs of an article row."""

    id: int
    status: str
    version: int
    content_version: int
    content_hash: str | None


def _plain_changes(session: Session, entries: Sequence[Refetch]) -> dict[int, _Stored]:
    """The entries (by index) that are plain changes of a live or missing article, rows locked."""
    urls = sorted({e.article.url for e in entries})
    a = ARTICLES.c
    stored: dict[str, _Stored] = {}
    for start in range(0, len(urls), _CHUNK):
        rows = session.execute(
            sa.select(a.url, a.id, a.status, a.version, a.content_version, a.content_hash)
            .where(a.url.in_(urls[start : start + _CHUNK]))
            .order_by(a.url)  # one lock order for every writer
            .with_for_update()
        )
        stored.update({r.url: _Stored(*r[1:]) for r in rows})
    candidates: dict[int, _Stored] = {}
    seen: set[str] = set()
    for i, e in enumerate(entries):
        row = stored.get(e.article.url)
        if e.article.url in seen or row is None:
            continue  # a URL twice in the batch, or not a canonical URL: the slow way
        seen.add(e.article.url)
        if row.status in (ArticleStatus.LIVE, ArticleStatus.MISSING) and (
            row.content_hash != e.digest
        ):
            candidates[i] = row
    if not candidates:
        return {}
    # A content the article had before is a return, not a change.
    ids = sorted({row.id for row in candidates.values()})
    earlier: set[tuple[int, str]] = set()
    v = VERSIONS.c
    for start in range(0, len(ids), _CHUNK):
        earlier.update(
            (r.article_id, r.content_hash)
            for r in session.execute(
                sa.select(v.article_id, v.content_hash)
                .where(v.article_id.in_(ids[start : start + _CHUNK]), v.content_hash.is_not(None))
                .distinct()
            )
        )
    return {i: row for i, row in candidates.items() if (row.id, entries[i].digest) not in earlier}


def _current_contents(session: Session, rows: Sequence[_Stored]) -> dict[int, Any]:
    """The content columns of the version holding each article's current content (its body
    unpacked), by article id."""
    v, a = VERSIONS.c, ARTICLES.c
    ids = sorted({row.id for row in rows})
    found: dict[int, Any] = {}
    for start in range(0, len(ids), _CHUNK):
        for r in session.execute(
            sa.select(
                v.article_id, v.id.label("version_id"), v.body, *(v[c] for c in CONTENT_COLUMNS)
            )
            .join_from(VERSIONS, ARTICLES, a.id == v.article_id)
            .where(a.id.in_(ids[start : start + _CHUNK]), v.number == a.content_version)
        ):
            fields = r._asdict()
            fields["body_text"], fields["body_html"] = read_body(
                fields.pop("body"), r.body_text, r.body_html
            )
            found[r.article_id] = SimpleNamespace(**fields)
    return found


def _store_changes(
    session: Session, entries: Sequence[Refetch], bulk: dict[int, _Stored]
) -> list[Outcome]:
    """Store each plain change (in the order of `bulk`): a new version, its diff, the row."""
    from storage.stored_diffs import diff_versions  # kept local: only needed here

    order = list(bulk)
    current = _current_contents(session, [bulk[i] for i in order])
    values = [article_values(entries[i].article) for i in order]
    diffs = [
        diff_versions(diff_input(current[bulk[i].id]), diff_input(VersionRow(**values[n])))
        for n, i in enumerate(order)
    ]
    packed = [entries[i].packed or pack(entries[i].raw.body) for i in order]
    put_packed(session, packed + rendered_packs([entries[i].raw for i in order]))
    response_ids = (
        session.execute(
            _INSERT_RESPONSES,
            [
                response_values(entries[i].raw, bulk[i].id, p.sha256)
                for i, p in zip(order, packed, strict=True)
            ],
        )
        .scalars()
        .all()
    )
    version_rows = []
    dialect = session.get_bind().dialect.name
    for n, i in enumerate(order):
        e, row, diff = entries[i], bulk[i], diffs[n]
        edit_kind, edit_evidence = judge_edit(current[row.id], values[n])
        version_rows.append(
            {
                "article_id": row.id,
                "number": row.version + 1,
                "kind": VersionKind.CHANGED.value,
                "seen_at": e.now,
                "content_hash": e.digest,
                "response_id": response_ids[n],
                "raw_sha256": packed[n].sha256,
                "diff_from": row.content_version,
                "diff_summary": diff.get("summary"),
                "words_added": diff.get("words_added"),
                "words_removed": diff.get("words_removed"),
                "edit_kind": edit_kind,
                "edit_evidence": edit_evidence,
                **stored_body(values[n], dialect, e.version_body),
            }
        )
    version_ids = session.execute(_INSERT_VERSIONS, version_rows).scalars().all()
    retire_current(
        session,
        [(c.version_id, c.title, c.body_text) for c in (current[bulk[i].id] for i in order)],
    )
    index_versions(
        session,
        [(vid, values[n]["title"], values[n]["body_text"]) for n, vid in enumerate(version_ids)],
        [entries[i].fts for i in order],
    )
    session.execute(
        _INSERT_DIFFS,
        [
            {"version_id": vid, "from_number": bulk[i].content_version, "data": diffs[n]}
            for n, (i, vid) in enumerate(zip(order, version_ids, strict=True))
        ],
    )
    live: list[dict[str, Any]] = []
    was_missing: list[dict[str, Any]] = []
    for n, i in enumerate(order):
        e, row = entries[i], bulk[i]
        params = {
            "i": row.id,
            "number": row.version + 1,
            "h": e.digest,
            "now": e.now,
            "next": e.restart_at,
            **{f"c_{k}": v for k, v in row_values(values[n]).items()},
        }
        (was_missing if row.status == ArticleStatus.MISSING else live).append(params)
    if live:
        session.execute(_UPDATE_CHANGED, live)
    if was_missing:
        session.execute(_UPDATE_CHANGED_WAS_MISSING, was_missing)
    add_alias_pairs(session, [(bulk[i].id, alias) for i in order for alias in entries[i].aliases])
    return [
        Outcome(
            OutcomeKind.CHANGED,
            bulk[i].id,
            bulk[i].version + 1,
            bulk[i].status == ArticleStatus.MISSING,
        )
        for i in order
    ]


def _update_changed(**extra: Any) -> sa.Update:
    """The article row after a change: its new content, version and times (one per batch)."""
    a = ARTICLES.c
    return (
        sa.update(ARTICLES)
        .where(a.id == sa.bindparam("i"))
        .values(
            {
                **{name: sa.bindparam(f"c_{name}", type_=a[name].type) for name in _ROW_COLUMNS},
                "version": sa.bindparam("number"),
                "content_version": sa.bindparam("number"),
                "content_hash": sa.bindparam("h"),
                "last_changed_at": sa.bindparam("now", type_=a.last_changed_at.type),
                "last_checked_at": sa.bindparam("now", type_=a.last_checked_at.type),
                "next_check_at": sa.bindparam("next", type_=a.next_check_at.type),
                "checks": a.checks + 1,
                **extra,
            }
        )
    )


_UPDATE_CHANGED = _update_changed()
# A missing article that answers with a new content is live again (`rows.clear_missing`).
_UPDATE_CHANGED_WAS_MISSING = _update_changed(
    status=ArticleStatus.LIVE.value,
    status_changed_at=sa.bindparam("now", type_=ARTICLES.c.status_changed_at.type),
    missing_since=None,
    missing_checks=0,
    missing_evidence=sa.JSON.NULL,  # as the ORM writes None: a JSON null
)
