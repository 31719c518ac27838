"""First fetches of many articles at once: the bulk path of a first crawl.

A first crawl stores thousands of articles that the listing already showed to be unknown. One by
one, `content.record_fetch` costs about seven statements each (look up, insert the article, its
blob, response and version, ...); here a batch costs seven statements in all, whatever its size.
What is stored is exactly what `record_fetch` stores for a new article: the article row, version
1 (`new`), the raw response and its blob, aliases, its signature, and the source row if missing.
An entry whose content matches a known article (a move, `storage.versions.moves`), or an earlier
entry of the same batch, is left to `record_fetch` too (None).

An entry whose URL turned out to be known by now (another daemon, or an alias recorded earlier in
the same crawl) is not touched: its slot in the result is None, and the caller records it with
`record_fetch`, which knows how to compare it with what is stored. That includes an article
another process inserted between the lookup and the insert (two crawls of one PostgreSQL
database): the insert skips it (ON CONFLICT DO NOTHING) instead of failing the batch, and rows
are inserted in URL order, so two such crawls wait on each other instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.articles import add_alias_pairs, known_urls
from storage.blobs import put_packed, rendered_packs, response_values
from storage.codecs import PackedBody, pack
from storage.model import Article, RawResponse
from storage.schema import ArticleRow, ResponseRow, VersionRow, insert_ignore_returning
from storage.search.forms import FtsForms
from storage.search.index import index_versions
from storage.sources import ensure_source
from storage.versions import moves
from storage.versions.outcomes import Outcome, OutcomeKind
from storage.versions.rows import (
    article_values,
    first_version_row,
    new_article_row,
    require_aware,
    stored_body,
)

_ARTICLES: sa.Table = ArticleRow.__table__  # type: ignore[assignment]
_RESPONSES: sa.Table = ResponseRow.__table__  # type: ignore[assignment]
_VERSIONS: sa.Table = VersionRow.__table__  # type: ignore[assignment]
# RETURNING in parameter order: the ids come back in the order of the rows given.
_INSERT_RESPONSES = sa.insert(_RESPONSES).returning(_RESPONSES.c.id, sort_by_parameter_order=True)
_INSERT_VERSIONS = sa.insert(_VERSIONS).returning(_VERSIONS.c.id, sort_by_parameter_order=True)


@dataclass(frozen=True, slots=True)
class FirstFetch:
    """One fetched article page believed new, with its fingerprint and packed body."""

    article: Article
    raw: RawResponse
    digest: str  # normalize.article_fingerprint(article)
    packed: PackedBody | None  # codecs.pack(raw.body); None: packed here
    now: datetime
    next_check_at: datetime
    aliases: tuple[str, ...] = ()
    fts: FtsForms | None = None  # search.forms.fts_forms(title, body) when computed beforehand
    version_body: bytes | None = None  # bodies.pack_body(text, html), packed by a parse worker


def _first_of_each_content(fresh: list[int], keys: dict[int, moves.Candidate]) -> list[int]:
    """`fresh` without the entries that may be a move of an earlier entry of the same batch.

    Two URLs of one batch with the same fingerprint, or the same date and title (a near-duplicate
    the MinHash rule decides), are one release listed twice: only the first is inserted here; the
    others go to `record_fetch` after it, which finds the first and records the move, as it would
    had they come in two batches.
    """
    seen_digests: set[str] = set()
    seen_dated_titles: set[tuple[object, str]] = set()
    first: list[int] = []
    for i in fresh:
        c = keys[i]
        dated_title = (c.published_date, c.title)
        if c.digest in seen_digests or (c.published_date and dated_title in seen_dated_titles):
            continue
        seen_digests.add(c.digest)
        seen_dated_titles.add(dated_title)
        first.append(i)
    return first


def record_new(session: Session, entries: Sequence[FirstFetch]) -> list[Outcome | None]:
    """Store each entry as a new article; None for those whose URL is already stored."""
    for e in entries:
        require_aware(now=e.now, next_check_at=e.next_check_at)
    known = known_urls(session, [e.article.url for e in entries])
    fresh: list[int] = []  # indexes into entries
    for i, e in enumerate(entries):
        if e.article.url not in known:
            known.add(e.article.url)  # a second entry for the same URL goes the slow way
            fresh.append(i)
    outcomes: list[Outcome | None] = [None] * len(entries)
    if not fresh:
        return outcomes
    # A URL whose content is a known article's (a move, `moves`) goes the slow way too.
    keys = {i: moves.candidate(entries[i].article, entries[i].digest) for i in fresh}
    matches = moves.find_moves(session, [keys[i] for i in fresh])
    fresh = [i for i, m in zip(fresh, matches, strict=True) if m is None]
    fresh = _first_of_each_content(fresh, keys)
    if not fresh:
        return outcomes
    fresh.sort(key=lambda i: entries[i].article.url)  # one lock order for every writer
    for key in sorted({entries[i].article.source for i in fresh}):
        ensure_source(session, key)
    values_of = {i: article_values(entries[i].article) for i in fresh}
    rows = []
    for i in fresh:
        e = entries[i]
        rows.append(new_article_row(e.article, e.digest, e.now, e.next_check_at, values_of[i]))
    inserted = {
        url: int(article_id)
        for article_id, url in session.execute(
            insert_ignore_returning(session, _ARTICLES, "id", "url"), rows
        )
    }
    # What another writer stored meanwhile stays None: the caller compares it with `record_fetch`.
    fresh = [i for i in fresh if entries[i].article.url in inserted]
    if not fresh:
        return outcomes
    todo = [entries[i] for i in fresh]
    values = [values_of[i] for i in fresh]
    article_ids = [inserted[e.article.url] for e in todo]
    # Packing releases the GIL: done here, in the writing thread, it runs beside the event loop.
    packed = [e.packed or pack(e.raw.body) for e in todo]
    put_packed(session, packed + rendered_packs([e.raw for e in todo]))
    response_ids = (
        session.execute(
            _INSERT_RESPONSES,
            [
                response_values(e.raw, aid, p.sha256)
                for e, p, aid in zip(todo, packed, article_ids, strict=True)
            ],
        )
        .scalars()
        .all()
    )
    dialect = session.get_bind().dialect.name
    version_ids = (
        session.execute(
            _INSERT_VERSIONS,
            [
                first_version_row(
                    aid, e.digest, e.now, rid, p.sha256, stored_body(v, dialect, e.version_body)
                )
                for e, p, v, aid, rid in zip(
                    todo, packed, values, article_ids, response_ids, strict=True
                )
            ],
        )
        .scalars()
        .all()
    )
    index_versions(
        session,
        [(vid, v["title"], v["body_text"]) for vid, v in zip(version_ids, values, strict=True)],
        [e.fts for e in todo],
    )
    add_alias_pairs(
        session,
        [(aid, alias) for e, aid in zip(todo, article_ids, strict=True) for alias in e.aliases],
    )
    moves.store_signatures(
        session,
        [moves.signature_row(aid, keys[i]) for i, aid in zip(fresh, article_ids, strict=True)],
    )
    for i, aid in zip(fresh, article_ids, strict=True):
        outcomes[i] = Outcome(OutcomeKind.NEW, int(aid), 1)
    return outcomes
