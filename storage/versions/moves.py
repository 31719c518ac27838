"""Moves: a "new" URL whose content is an article already known is that article, moved.

A ministry that moves a section (China's /mfa_eng/ paths to /eng/), changes its CMS or serves a
mirror makes the same release appear under another URL. Before the URL is stored as a new
article, its content is matched against the known articles of the same source, or of any source
of the same country:

- the same normalized fingerprint (`normalize.article_fingerprint`: title, publication date and
  body) as a known article's first content; or
- the same publication date, the same title (case and spacing aside) and a body whose MinHash
  signature (`storage.signatures`) is at least `signatures.THRESHOLD` (0.8 estimated Jaccard)
  similar to the known article's first body: the same release with small edits. (The title is
  required because several releases of one day can share most of a short body.)

The `signatures` table keeps each article's first fingerprint and date (indexed), written with
the article; MinHash signatures are computed only for a pair that already shares date and title
(rare: a move, or a same-titled release of the same day), from the stored first version's body.
Computing one for every new article would cost about 0.35 ms of CPU each, a sixth of a new
article's whole cost in a cold crawl (docs/benchmarks.md), to serve the few that ever move.

Such a URL is recorded as a **move**: the known article's URL becomes the new one, the old URL is
kept as an alias (so a link to it, and the listing that still shows it, lead to the same
article), a `moves` row keeps from, to, when and the evidence, and the fetched page is then
compared with the article like any check (a small edit makes a `changed` version). The old URL
is no longer checked, so its going 404 afterwards is not a removal. No `new` version is made.

A **re-publication** is not a move: the same text released again on another day has another
publication date, so its fingerprint differs and the near-duplicate rule (same date only) does
not apply; it is a new article. Articles without a date match only by fingerprint. Articles
stored before migration 0005 get their signature from migration 0010 (from their first version).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.articles import add_aliases
from storage.model import Article
from storage.schema import (
    ArticleRow,
    MoveRow,
    SignatureRow,
    SourceRow,
    VersionRow,
    body_text_sql,
)
from storage.signatures import THRESHOLD, signature, similarity

_SIGNATURES: sa.Table = SignatureRow.__table__  # type: ignore[assignment]
_INSERT_SIGNATURES = sa.insert(_SIGNATURES)
# Built once: constructing a statement costs about as much as running it on this path.
_COUNTRIES = sa.select(SourceRow.key, SourceRow.country)
_KNOWN = sa.select(SignatureRow.article_id, ArticleRow.url, ArticleRow.source).join(
    ArticleRow, ArticleRow.id == SignatureRow.article_id
)
_BY_HASH = _KNOWN.add_columns(SignatureRow.content_hash).where(
    SignatureRow.content_hash.in_(sa.bindparam("hashes", expanding=True))
)
_BY_DATE = _KNOWN.add_columns(SignatureRow.published_date, ArticleRow.title).where(
    SignatureRow.published_date.in_(sa.bindparam("dates", expanding=True))
)
_FIRST_BODY = sa.select(body_text_sql()).where(
    VersionRow.article_id == sa.bindparam("a"), VersionRow.number == 1
)


@dataclass(frozen=True, slots=True)
class Match:
    """A known article that a new URL's content matched, and how."""

    article_id: int
    url: str
    by: str  # "fingerprint" | "minhash"
    similarity: float

    def evidence(self) -> dict[str, Any]:
        return {"by": self.by, "similarity": round(self.similarity, 3)}


@dataclass(frozen=True, slots=True)
class Candidate:
    """What a new article is matched by: its source, fingerprint, date and signature."""

    source: str
    url: str
    digest: str
    published_date: date | None
    title: str
    body: str  # its MinHash signature is computed only when a known article has its date and title


def candidate(article: Article, digest: str) -> Candidate:
    """The match keys of a fetched article."""
    return Candidate(
        article.source,
        article.url,
        digest,
        article.published_date,
        _title_key(article.title),
        article.body_text,
    )


def _title_key(title: str) -> str:
    return " ".join(title.split()).casefold()


def signature_row(article_id: int, c: Candidate) -> dict[str, Any]:
    """The `signatures` row of a new article."""
    return {
        "article_id": article_id,
        "content_hash": c.digest,
        "published_date": c.published_date,
    }


def store_signatures(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `signature_row`s (one statement)."""
    if rows:
        session.execute(_INSERT_SIGNATURES, list(rows))


def find_moves(session: Session, candidates: Sequence[Candidate]) -> list[Match | None]:
    """For each candidate, the known article it is (see the module docstring), or None."""
    found: list[Match | None] = [None] * len(candidates)
    if not candidates:
        return found
    country = dict(session.execute(_COUNTRIES).all())

    def same_scope(a: str, b: str) -> bool:
        return a == b or (country.get(a) is not None and country.get(a) == country.get(b))

    digests = sorted({c.digest for c in candidates})
    by_hash: dict[str, list[tuple[int, str, str]]] = {}
    for aid, url, source, h in session.execute(_BY_HASH, {"hashes": digests}):
        by_hash.setdefault(h, []).append((aid, url, source))
    dates = sorted({c.published_date for c in candidates if c.published_date is not None})
    by_date: dict[date, list[tuple[int, str, str, str]]] = {}
    if dates:
        for aid, url, source, d, title in session.execute(_BY_DATE, {"dates": dates}):
            by_date.setdefault(d, []).append((aid, url, source, _title_key(title or "")))
    for i, c in enumerate(candidates):
        for aid, url, source in sorted(by_hash.get(c.digest, ())):
            if url != c.url and same_scope(source, c.source):
                found[i] = Match(aid, url, "fingerprint", 1.0)
                break
        if found[i] is not None or c.published_date is None:
            continue
        best: Match | None = None
        mine: bytes | None = None
        for aid, url, source, title in by_date.get(c.published_date, ()):
            if url == c.url or title != c.title or not same_scope(source, c.source):
                continue
            mine = mine if mine is not None else signature(c.body)
            s = similarity(mine, signature(_first_body(session, aid)))
            if s >= THRESHOLD and (best is None or s > best.similarity):
                best = Match(aid, url, "minhash", s)
        found[i] = best
    return found


def _first_body(session: Session, article_id: int) -> str:
    """The body text of an article's first version (its first content)."""
    return session.execute(_FIRST_BODY, {"a": article_id}).scalar() or ""


def record_move(session: Session, match: Match, new_url: str, now: datetime) -> None:
    """Make `new_url` the URL of the matched article; the old URL becomes an alias."""
    row = session.execute(
        sa.select(ArticleRow).where(ArticleRow.id == match.article_id).with_for_update()
    ).scalar_one()
    old_url = row.url
    row.url = new_url
    session.flush()
    add_aliases(session, row.id, [old_url])
    session.add(
        MoveRow(
            article_id=row.id,
            from_url=old_url,
            to_url=new_url,
            at=now,
            evidence={**match.evidence(), "from_url": old_url},
        )
    )
    session.flush()
