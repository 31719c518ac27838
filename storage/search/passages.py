"""The passage each hit shows: which version the snippet comes from, and the snippet itself.

current: the current content. all: the newest matching version. removed: the newest matching
version that is not the current one (an article removed: its newest matching version), with a
match in a paragraph the current text no longer has preferred.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.bodies import read_text
from storage.normalize import normalize_text
from storage.search.query import Node, positive_terms
from storage.search.results import Hit, Scope
from storage.search.snippets import Snippet, make_snippet


@dataclass(frozen=True)
class Passage:
    """The version a hit's snippet comes from (number and id) and the snippet (None: the match
    is in a word the text shows no more of, e.g. a pure NOT query)."""

    number: int
    version_id: int
    snippet: Snippet | None


def shown_version(hit: Hit, scope: Scope) -> int:
    """The number of the version whose text a hit shows."""
    if scope is Scope.CURRENT:
        return hit.current_version
    if scope is Scope.REMOVED and hit.status != "removed":
        earlier = [n for n in hit.versions if n != hit.current_version]
        return max(earlier or hit.versions)
    return max(hit.versions)


def passages(
    session: Session, hits: Sequence[Hit], scope: Scope, query: Node
) -> dict[int, Passage]:
    """Each hit's passage, by article id (two queries for the whole page)."""
    if not hits:
        return {}
    wanted = {(h.article_id, shown_version(h, scope)) for h in hits}
    if scope is Scope.REMOVED:
        wanted |= {(h.article_id, h.current_version) for h in hits if h.status != "removed"}
    ids = sorted({a for a, _ in wanted})
    rows = session.execute(
        sa.text(
            "SELECT id, article_id, number, title, body, body_text FROM versions "
            "WHERE article_id IN :ids"
        ).bindparams(sa.bindparam("ids", ids, expanding=True))
    ).all()
    texts = {
        (r[1], r[2]): (int(r[0]), r[3] or "", read_text(r[4], r[5]) or "")
        for r in rows
        if (r[1], r[2]) in wanted
    }
    terms = positive_terms(query)
    out: dict[int, Passage] = {}
    for hit in hits:
        number = shown_version(hit, scope)
        version_id, title, body = texts.get((hit.article_id, number), (0, "", ""))
        keep: list[str] = []
        if scope is Scope.REMOVED and hit.status != "removed":
            current = texts.get((hit.article_id, hit.current_version))
            if current is not None:
                keep = [p.strip() for p in normalize_text(current[2]).split("\n") if p.strip()]
        body = normalize_text(body)
        snippet = make_snippet(body, terms, prefer_outside=keep) or make_snippet(title, terms)
        out[hit.article_id] = Passage(number, version_id, snippet)
    return out
