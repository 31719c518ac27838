"""The pairing tables: readouts, pairs with their review decisions, and the pairing cursor.

A pair is a stored, reviewable fact. The rule adds pairs (`status` found) and says whether it
still finds each (`matched`); a person confirms or rejects one (`decide`), or pairs two articles
the rule did not (`pair_by_hand`, confirmed). Recomputation (`forget_found`) removes only the
undecided pairs: a decision stays, and a rejected pair is never proposed again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from storage.readouts.detect import MAX_SPAN, Readout
from storage.readouts.officials import Mention
from storage.readouts.vocabulary import EventKind
from storage.schema import (
    ArticleRow,
    PairingStateRow,
    PairRow,
    ReadoutRow,
    SourceRow,
    VersionRow,
    body_text_sql,
    insert_ignore,
)


class Relation(StrEnum):
    """What ties the two articles of a pair."""

    READOUT = "readout"  # two ministries' readouts of one event
    TWIN = "twin"  # one ministry's release in two languages


class PairStatus(StrEnum):
    """Where a pair stands in review."""

    FOUND = "found"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


_READOUTS: sa.Table = ReadoutRow.__table__  # type: ignore[assignment]
_PAIRS: sa.Table = PairRow.__table__  # type: ignore[assignment]


class UnknownPair(KeyError):
    """No pair (or no article) has the id given."""


def save_readouts(session: Session, readouts: Sequence[Readout]) -> None:
    """Store readouts (an article already stored keeps its row)."""
    insert_ignore(
        session,
        _READOUTS,
        [
            {
                "article_id": r.article_id,
                "source": r.source,
                "country": r.country,
                "kind": r.kind.value,
                "mentions": sorted([m.person, m.country, m.office] for m in r.mentions),
                "headline": sorted(r.headline),
                "starts_at": r.starts_at,
                "ends_at": r.ends_at,
            }
            for r in readouts
        ],
    )


def candidates(session: Session, kind: EventKind, start: datetime, end: datetime) -> list[Readout]:
    """Stored readouts of `kind` whose span reaches into [start, end]."""
    rows = session.scalars(
        sa.select(ReadoutRow).where(
            ReadoutRow.kind == kind.value,
            # A span is at most a day long (`detect.MAX_SPAN`): this bound keeps the index scan
            # to the window instead of every earlier readout of the kind.
            ReadoutRow.starts_at >= start - MAX_SPAN,
            ReadoutRow.starts_at <= end,
            ReadoutRow.ends_at >= start,
        )
    )
    return [_readout(row) for row in rows]


def add_found(
    session: Session,
    relation: Relation,
    a_id: int,
    b_id: int,
    evidence: dict[str, Any],
    at: datetime,
) -> bool:
    """Record a pair the rule finds; True when it is new (an existing one is marked matched)."""
    a_id, b_id = min(a_id, b_id), max(a_id, b_id)
    existing = session.execute(
        sa.select(PairRow.id, PairRow.matched).where(
            PairRow.relation == relation.value, PairRow.a_id == a_id, PairRow.b_id == b_id
        )
    ).first()
    if existing is not None:
        if not existing.matched:
            session.execute(
                sa.update(PairRow)
                .where(PairRow.id == existing.id)
                .values(matched=True, evidence=evidence)
            )
        return False
    insert_ignore(
        session,
        _PAIRS,
        [
            {
                "relation": relation.value,
                "a_id": a_id,
                "b_id": b_id,
                "status": PairStatus.FOUND.value,
                "matched": True,
                "evidence": evidence,
                "found_at": at,
                "decided_at": None,
            }
        ],
    )
    return True


@dataclass(frozen=True, slots=True)
class Partner:
    """A stored pair of an article, seen from that article."""

    pair_id: int
    other_id: int
    status: PairStatus
    rank: tuple[float, ...]


def partners(session: Session, relation: Relation, article_id: int, source: str) -> list[Partner]:
    """The pairs of `article_id` with articles of `source` (rejected ones left out)."""
    other = sa.case((PairRow.a_id == article_id, PairRow.b_id), else_=PairRow.a_id)
    rows = session.execute(
        sa.select(PairRow.id, other, PairRow.status, PairRow.evidence)
        .join(ArticleRow, ArticleRow.id == other)
        .where(
            PairRow.relation == relation.value,
            sa.or_(PairRow.a_id == article_id, PairRow.b_id == article_id),
            PairRow.status != PairStatus.REJECTED.value,
            ArticleRow.source == source,
        )
    )
    return [
        Partner(pid, oid, PairStatus(status), tuple(evidence.get("rank") or ()))
        for pid, oid, status, evidence in rows
    ]


def drop(session: Session, pair_ids: Iterable[int]) -> None:
    """Delete undecided pairs (a better one replaces them); decided ones are never deleted."""
    ids = list(pair_ids)
    if ids:
        session.execute(
            sa.delete(PairRow).where(PairRow.id.in_(ids), PairRow.status == PairStatus.FOUND.value)
        )


def decide(session: Session, pair_id: int, status: PairStatus, at: datetime) -> None:
    """Confirm or reject a pair; raises UnknownPair for an id no pair has."""
    done = session.execute(
        sa.update(PairRow).where(PairRow.id == pair_id).values(status=status.value, decided_at=at)
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        raise UnknownPair(f"no pair has id {pair_id}; `mfawatch pairs` lists them")


def pair_by_hand(session: Session, relation: Relation, a_id: int, b_id: int, at: datetime) -> int:
    """Pair two articles the rule did not (or confirm the pair it did); return the pair's id."""
    if a_id == b_id:
        raise UnknownPair("an article cannot be paired with itself")
    found = session.scalars(sa.select(ArticleRow.id).where(ArticleRow.id.in_([a_id, b_id]))).all()
    missing = sorted({a_id, b_id} - set(found))
    if missing:
        raise UnknownPair(f"no article has id {', '.join(map(str, missing))}")
    a_id, b_id = min(a_id, b_id), max(a_id, b_id)
    insert_ignore(
        session,
        _PAIRS,
        [
            {
                "relation": relation.value,
                "a_id": a_id,
                "b_id": b_id,
                "status": PairStatus.CONFIRMED.value,
                "matched": False,
                "evidence": {"by": "hand"},
                "found_at": at,
                "decided_at": at,
            }
        ],
    )
    pair_id = session.scalar(
        sa.select(PairRow.id).where(
            PairRow.relation == relation.value, PairRow.a_id == a_id, PairRow.b_id == b_id
        )
    )
    assert pair_id is not None
    decide(session, pair_id, PairStatus.CONFIRMED, at)
    return pair_id


def forget_found(session: Session, relation: Relation) -> None:
    """Before recomputing: drop undecided pairs, mark decided ones as not (yet) matched."""
    session.execute(
        sa.delete(PairRow).where(
            PairRow.relation == relation.value, PairRow.status == PairStatus.FOUND.value
        )
    )
    session.execute(
        sa.update(PairRow).where(PairRow.relation == relation.value).values(matched=False)
    )
    if relation is Relation.READOUT:
        session.execute(sa.delete(ReadoutRow))


def cursor(session: Session, name: str) -> int:
    """The last article id pairing `name` has read (0 before the first run)."""
    return (
        session.scalar(
            sa.select(PairingStateRow.last_article_id).where(PairingStateRow.name == name)
        )
        or 0
    )


def set_cursor(session: Session, name: str, last_article_id: int, at: datetime) -> None:
    """Move pairing `name`'s cursor."""
    row = session.get(PairingStateRow, name)
    if row is None:
        session.add(PairingStateRow(name=name, last_article_id=last_article_id, updated_at=at))
    else:
        row.last_article_id = last_article_id
        row.updated_at = at


@dataclass(frozen=True, slots=True)
class Side:
    """One article of a pair, as listed."""

    article_id: int
    source: str
    country: str | None
    language: str | None
    url: str
    title: str
    published_at: datetime | None
    published_date: date | None


@dataclass(frozen=True, slots=True)
class PairView:
    """A stored pair with both articles, as `mfawatch pairs`, the digest and the UI show it."""

    id: int
    relation: Relation
    status: PairStatus
    matched: bool
    evidence: dict[str, Any]
    found_at: datetime
    decided_at: datetime | None
    a: Side
    b: Side

    def to_json(self) -> dict[str, Any]:
        """The pair as a JSON object."""
        return {
            "id": self.id,
            "relation": self.relation.value,
            "status": self.status.value,
            "matched": self.matched,
            "evidence": self.evidence,
            "found_at": self.found_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "sides": [_side_json(self.a), _side_json(self.b)],
        }


def list_pairs(
    session: Session,
    relation: Relation | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    statuses: Iterable[PairStatus] = (PairStatus.FOUND, PairStatus.CONFIRMED),
    pair_id: int | None = None,
    article_id: int | None = None,
) -> list[PairView]:
    """Stored pairs, newest found first, with both sides (rejected ones only when asked)."""
    art_a, art_b = aliased(ArticleRow), aliased(ArticleRow)
    src_a, src_b = aliased(SourceRow), aliased(SourceRow)
    q = (
        sa.select(PairRow, art_a, art_b, src_a.country, src_b.country)
        .join(art_a, art_a.id == PairRow.a_id)
        .join(art_b, art_b.id == PairRow.b_id)
        .outerjoin(src_a, src_a.key == art_a.source)
        .outerjoin(src_b, src_b.key == art_b.source)
        .where(PairRow.status.in_([s.value for s in statuses]))
        .order_by(PairRow.found_at.desc(), PairRow.id.desc())
    )
    if relation is not None:
        q = q.where(PairRow.relation == relation.value)
    if since is not None:
        q = q.where(PairRow.found_at >= since)
    if until is not None:
        q = q.where(PairRow.found_at < until)
    if pair_id is not None:
        q = q.where(PairRow.id == pair_id)
    if article_id is not None:
        q = q.where(sa.or_(PairRow.a_id == article_id, PairRow.b_id == article_id))
    views = []
    for pair, a, b, country_a, country_b in session.execute(q):
        views.append(
            PairView(
                pair.id,
                Relation(pair.relation),
                PairStatus(pair.status),
                pair.matched,
                pair.evidence,
                pair.found_at,
                pair.decided_at,
                _side(a, country_a),
                _side(b, country_b),
            )
        )
    return views


@dataclass(frozen=True, slots=True)
class TwinEdits:
    """An article's language twin and when the twin was edited around a time."""

    twin_id: int
    language: str | None
    edits: tuple[datetime, ...]


def twin_edits(
    session: Session, article_id: int, start: datetime, end: datetime
) -> list[TwinEdits]:
    """Each twin of `article_id` (rejected ones left out) and its changed versions in [start, end]."""
    other = sa.case((PairRow.a_id == article_id, PairRow.b_id), else_=PairRow.a_id)
    twins = session.execute(
        sa.select(other, ArticleRow.language)
        .join(ArticleRow, ArticleRow.id == other)
        .where(
            PairRow.relation == Relation.TWIN.value,
            sa.or_(PairRow.a_id == article_id, PairRow.b_id == article_id),
            PairRow.status != PairStatus.REJECTED.value,
        )
    ).all()
    out = []
    for twin_id, language in twins:
        edits = session.scalars(
            sa.select(VersionRow.seen_at).where(
                VersionRow.article_id == twin_id,
                VersionRow.kind == "changed",
                VersionRow.seen_at >= start,
                VersionRow.seen_at <= end,
            )
        ).all()
        out.append(TwinEdits(twin_id, language, tuple(edits)))
    return out


def bodies(session: Session, article_ids: Iterable[int]) -> dict[int, str]:
    """The current body text of each article (by id)."""
    rows = session.execute(
        sa.select(ArticleRow.id, body_text_sql())
        .join(
            VersionRow,
            sa.and_(
                VersionRow.article_id == ArticleRow.id,
                VersionRow.number == ArticleRow.content_version,
            ),
        )
        .where(ArticleRow.id.in_(list(article_ids)))
    )
    return {article_id: body or "" for article_id, body in rows}


def _side(row: ArticleRow, country: str | None) -> Side:
    return Side(
        row.id,
        row.source,
        country,
        row.language,
        row.url,
        row.title,
        row.published_at,
        row.published_date,
    )


def _side_json(side: Side) -> dict[str, Any]:
    return {
        "article_id": side.article_id,
        "source": side.source,
        "country": side.country,
        "language": side.language,
        "url": side.url,
        "title": side.title,
        "published_at": side.published_at.isoformat() if side.published_at else None,
        "published_date": side.published_date.isoformat() if side.published_date else None,
    }


def _readout(row: ReadoutRow) -> Readout:
    return Readout(
        row.article_id,
        row.source,
        row.country,
        EventKind(row.kind),
        frozenset(Mention(p, c, o) for p, c, o in row.mentions),
        row.starts_at,
        row.ends_at,
        frozenset(row.headline),
    )
