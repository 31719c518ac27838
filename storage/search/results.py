"""Running a search: the matching articles, ranked or by date, with the versions that match.

`search` takes a `SearchRequest` (a parsed query, the scope, filters, order, page) and returns a
`SearchResult`: the total number of matching articles and one `Hit` per article on the page.

Scopes (which text of an article is searched):
    current   the current content of every article not removed
    all       every version; one hit per article, naming each version that matches
    removed   text that is gone: an article removed whose versions match, or an earlier version
              that matches while the current one does not ("what did they delete that said X")

Relevance is BM25 on SQLite (title weighted 4x) and `ts_rank` on PostgreSQL; the set of hits is
the same on both (tests/storage/search/test_parity.py), `order="date"` gives the same order too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.search.match import fts_expression, postgresql_condition, prefilter, sqlite_condition
from storage.search.query import Node
from storage.types import UTCDateTime


class Scope(StrEnum):
    """Which text of an article a search reads."""

    CURRENT = "current"
    ALL = "all"
    REMOVED = "removed"


class Order(StrEnum):
    """How hits are ordered."""

    RELEVANCE = "relevance"
    DATE = "date"


@dataclass(frozen=True)
class SearchRequest:
    """One search: the query tree, the scope, filters, order and page."""

    query: Node
    scope: Scope = Scope.CURRENT
    sources: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    kinds: tuple[str, ...] = ()  # new | changed | removed
    order: Order = Order.RELEVANCE
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class Hit:
    """One matching article: which versions match and which one the snippet comes from."""

    article_id: int
    source: str
    url: str
    title: str
    status: str
    published_at: datetime | None
    published_offset: int | None
    published_date: date | None
    timezone: str | None
    first_seen_at: datetime
    versions: tuple[int, ...]  # numbers of the matching versions, oldest first
    current_version: int
    score: float


@dataclass(frozen=True)
class SearchResult:
    """The total number of matching articles and the hits of the requested page."""

    total: int
    hits: list[Hit] = field(default_factory=list)


def _matches(dialect: str, node: Node) -> tuple[str, dict[str, Any]]:
    """SQL selecting (vid, aid, num, score) for every version matching `node`."""
    if dialect == "postgresql":
        cond = postgresql_condition(node)
        params: dict[str, Any] = dict(cond.params)
        pre = prefilter(node)
        where = cond.sql
        rank = "0.0"
        if pre is not None:
            params["sq_pre"] = pre
            where = f"t.terms @@ CAST(:sq_pre AS tsquery) AND {where}"
            rank = "ts_rank(t.terms, CAST(:sq_pre AS tsquery))"
        return (
            f"SELECT v.id AS vid, v.article_id AS aid, v.number AS num, {rank} AS score "
            f"FROM search_terms t JOIN versions v ON v.id = t.version_id WHERE {where}",
            params,
        )
    whole = fts_expression(node)
    if whole is not None:
        return (
            "SELECT v.id AS vid, v.article_id AS aid, v.number AS num, "
            "-bm25(search_fts, 4.0, 1.0) AS score "
            "FROM search_fts JOIN versions v ON v.id = search_fts.rowid "
            "WHERE search_fts MATCH :sq_whole",
            {"sq_whole": whole},
        )
    cond = sqlite_condition(node)
    return (
        "SELECT v.id AS vid, v.article_id AS aid, v.number AS num, 0.0 AS score FROM versions v "
        "WHERE (coalesce(v.title, '') <> '' OR coalesce(v.body_text, '') <> '' "
        "OR v.body IS NOT NULL) "
        f"AND {cond.sql}",
        dict(cond.params),
    )


_SCOPES = {
    Scope.CURRENT: "m.num = a.content_version AND a.status <> 'removed'",
    Scope.ALL: "1 = 1",
    # NOT IN, not a correlated NOT EXISTS: both engines hash the set of articles whose current
    # content matches once (PostgreSQL scanned the CTE again for every row: minutes at 60k).
    Scope.REMOVED: (
        "(a.status = 'removed' OR (m.num <> a.content_version AND m.aid NOT IN "
        "(SELECT c.aid FROM m AS c JOIN articles ca ON ca.id = c.aid "
        "WHERE c.num = ca.content_version)))"
    ),
}


def _when(dialect: str) -> str:
    """An article's date: its publication time, else its publication day (midnight UTC), else
    when it was first seen; one comparable form on each dialect."""
    if dialect == "postgresql":
        day = "CAST(a.published_date AS timestamp) AT TIME ZONE 'UTC'"
    else:  # the text forms SQLite stores sort as the instants they name
        day = "a.published_date || ' 00:00:00.000000'"
    return f"coalesce(a.published_at, {day}, a.first_seen_at)"


def _filters(dialect: str, request: SearchRequest) -> tuple[list[str], list[sa.BindParameter[Any]]]:
    where: list[str] = []
    binds: list[sa.BindParameter[Any]] = []
    if request.sources:
        where.append("a.source IN :f_sources")
        binds.append(sa.bindparam("f_sources", list(request.sources), expanding=True))
    if request.countries:
        where.append("s.country IN :f_countries")
        binds.append(sa.bindparam("f_countries", list(request.countries), expanding=True))
    when = _when(dialect)
    if request.since is not None:
        where.append(f"{when} >= :f_since")
        binds.append(sa.bindparam("f_since", request.since, type_=UTCDateTime()))
    if request.until is not None:
        where.append(f"{when} < :f_until")
        binds.append(sa.bindparam("f_until", request.until, type_=UTCDateTime()))
    if request.kinds:
        kinds = []
        if "new" in request.kinds:
            kinds.append("v.kind = 'new'")
        if "changed" in request.kinds:
            kinds.append("v.kind IN ('changed', 'restored')")
        if "removed" in request.kinds:
            kinds.append("a.status = 'removed'")
        where.append("(" + " OR ".join(kinds) + ")")
    return where, binds


def _statement(dialect: str, request: SearchRequest, select: str, tail: str) -> sa.TextClause:
    matches, params = _matches(dialect, request.query)
    where, binds = _filters(dialect, request)
    conditions = " AND ".join([_SCOPES[request.scope], *where])
    # SQLite must not fold the match into the outer query: bm25() works only beside its MATCH.
    materialized = "MATERIALIZED " if dialect == "sqlite" else ""
    sql = (
        f"WITH m AS {materialized}({matches}) SELECT {select} FROM m "
        "JOIN versions v ON v.id = m.vid JOIN articles a ON a.id = m.aid "
        f"LEFT JOIN sources s ON s.key = a.source WHERE {conditions} {tail}"
    )
    return sa.text(sql).bindparams(*binds, **params)


def _numbers(dialect: str) -> str:
    if dialect == "postgresql":
        return "string_agg(CAST(m.num AS text), ',')"
    return "group_concat(m.num)"


def search(session: Session, request: SearchRequest) -> SearchResult:
    """The articles matching `request` (see the module doc), one page of them."""
    dialect = session.get_bind().dialect.name
    if request.order is Order.DATE:
        order = f"max({_when(dialect)}) DESC, a.id DESC"
    else:
        order = "max(m.score) DESC, a.id DESC"
    select = (
        "a.id, a.source, a.url, a.title, a.status, a.published_at, a.published_offset, "
        f"s.timezone, a.first_seen_at, a.content_version, {_numbers(dialect)}, max(m.score), "
        "a.published_date, count(*) OVER ()"
    )
    group = (
        "GROUP BY a.id, a.source, a.url, a.title, a.status, a.published_at, "
        "a.published_offset, s.timezone, a.first_seen_at, a.content_version, a.published_date"
    )
    statement = _statement(
        dialect, request, select, f"{group} ORDER BY {order} LIMIT :p_limit OFFSET :p_offset"
    ).columns(published_at=UTCDateTime(), first_seen_at=UTCDateTime(), published_date=sa.Date())
    rows = session.execute(statement, {"p_limit": request.limit, "p_offset": request.offset}).all()
    if rows:  # the window count: the matches are computed once for the page and its total
        total = int(rows[0][13])
    else:
        total = session.execute(
            _statement(dialect, request, "count(DISTINCT a.id)", "")
        ).scalar_one()
    hits = [
        Hit(
            article_id=int(r[0]),
            source=r[1],
            url=r[2],
            title=r[3] or "",
            status=r[4],
            published_at=r[5],
            published_offset=r[6],
            timezone=r[7],
            first_seen_at=r[8],
            current_version=int(r[9]),
            versions=tuple(sorted({int(n) for n in str(r[10]).split(",")})),
            score=float(r[11] or 0.0),
            published_date=r[12],
        )
        for r in rows
    ]
    return SearchResult(int(total), hits)


@dataclass(frozen=True)
class Facets:
    """Matching articles per source and per country, each counted without its own filter
    (so every choice shows how many hits it would give)."""

    sources: list[tuple[str, int]]
    countries: list[tuple[str, int]]


def facets(session: Session, request: SearchRequest) -> Facets:
    """The facet counts of `request` (see `Facets`)."""
    dialect = session.get_bind().dialect.name
    by_source = _statement(
        dialect,
        replace(request, sources=()),
        "a.source, count(DISTINCT a.id)",
        "GROUP BY a.source ORDER BY count(DISTINCT a.id) DESC, a.source",
    )
    by_country = _statement(
        dialect,
        replace(request, countries=()),
        "s.country, count(DISTINCT a.id)",
        "GROUP BY s.country ORDER BY count(DISTINCT a.id) DESC, s.country",
    )
    return Facets(
        [(str(k), int(n)) for k, n in session.execute(by_source).all()],
        [(str(k), int(n)) for k, n in session.execute(by_country).all() if k],
    )
