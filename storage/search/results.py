"""Running a search: the matching articles, ranked or by date, with the versions that match.

`search` takes a `SearchRequest` (a parsed query, the scope, filters, order, page) and returns a
`SearchResult`: the total number of matching articles and one `Hit` per article on the page.

Scopes (which text of an article is searched):
    current   the current content of every article not removed
    all       every version; one hit per article, naming each version that matches
    removed   text that is gone: an article removed whose versions match, or an earlier version
              that matches while the current one does not ("what did they delete that said X")

Each scope reads its index parts (`storage.search.ddl`): current the current part, removed the
past part (and the current one, to leave out articles whose current text matches), all both.

Relevance is BM25 on SQLite (title weighted 4x) and `ts_rank` on PostgreSQL; the set of hits is
the same on both (tests/storage/search/test_parity.py), `order="date"` gives the same order too.
Only the newest `RANK_CAP` matches of each part are scored (on PostgreSQL also the only ones
whose phrases are confirmed for the page), so a frequent term costs a bounded time: the articles
among them come first, by relevance; a page past them lists the other matching articles, newest
first, in one order with the earlier pages. The total counts every match: exact, except a
frequent phrase's on PostgreSQL (`EXACT_PHRASES`; `SearchResult.exact` is then False).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.search.ddl import CURRENT, MATCH_INDEX, PAST
from storage.search.match import (
    Condition,
    conjunction,
    fts_expression,
    has_not,
    postgresql_condition,
    prefilter,
    sqlite_condition,
    tsquery,
)
from storage.search.query import Node, Not
from storage.types import UTCDateTime

# Relevance ranks at most this many matching versions per index part: the newest. A frequent
# term (tens of thousands of matches) then costs a bounded time; the total stays exact.
RANK_CAP = 1000
# PostgreSQL confirms a phrase by reading the text: past this many candidates (versions with the
# phrase's words) the total of a search of the current text is estimated from the newest ones.
EXACT_PHRASES = 2000


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
    """The total number of matching articles and the hits of the requested page; `exact` False:
    the total is an estimate (see `EXACT_PHRASES`)."""

    total: int
    hits: list[Hit] = field(default_factory=list)
    exact: bool = True


def _parts(scope: Scope) -> tuple[str, ...]:
    """The index parts (`storage.search.ddl`) a scope reads: the current content, the rest (a
    removed text is never current), or both."""
    return {Scope.CURRENT: (CURRENT,), Scope.REMOVED: (PAST,)}.get(scope, (CURRENT, PAST))


def _matches(
    dialect: str, node: Node, parts: tuple[str, ...], cap: int | None, among: str | None = None
) -> tuple[str, dict[str, Any]]:
    """SQL selecting (vid, aid, num, score) for the versions matching `node` in the index
    `parts`: every one, unscored (`cap` None), or the newest `cap` matches of each part, scored.

    `among`: SQL selecting `aid`, the only articles whose versions can count (SQLite: a query
    without a positive term then reads their versions instead of every version of the part)."""
    if dialect == "postgresql":
        return _pg_matches(node, parts, cap)
    whole = fts_expression(node)
    arms: list[str] = []
    params: dict[str, Any] = {}
    # Each match's article through the narrow index, not the versions' wide rows.
    version = f"versions v INDEXED BY {MATCH_INDEX}"
    for part in parts:
        if whole is None:  # set logic over FTS5 expressions, unscored, over the part's rows
            cond = sqlite_condition(node, part, "d.id")
            params.update(cond.params)
            # A part's `_docsize` shadow table lists its rows (the versions it indexes).
            if among is None:
                rows = f"{part}_docsize d JOIN {version} ON v.id = d.id WHERE"
            else:
                rows = (
                    f"versions v JOIN {part}_docsize d ON d.id = v.id "
                    f"WHERE v.article_id IN ({among}) AND"
                )
            arms.append(
                "SELECT v.id AS vid, v.article_id AS aid, v.number AS num, 0.0 AS score "
                f"FROM {rows} {cond.sql}"
            )
            continue
        score = f"-bm25({part}, 4.0, 1.0)" if cap is not None else "0.0"
        arm = (
            f"SELECT v.id AS vid, v.article_id AS aid, v.number AS num, {score} AS score "
            f"FROM {part} JOIN {version} ON v.id = {part}.rowid WHERE {part} MATCH :sq_whole"
        )
        # FTS5 reads its matches newest first and stops at the cap: bm25() runs on these only.
        capped = f"SELECT * FROM ({arm} ORDER BY {part}.rowid DESC LIMIT :sq_cap)"
        arms.append(arm if cap is None else capped)
        params["sq_whole"] = whole
        if cap is not None:
            params["sq_cap"] = cap
    return " UNION ALL ".join(arms), params


def _pg_narrowing(parts: tuple[str, ...], prefiltered: bool, alias: str = "t") -> str:
    """The condition on `search_terms t` (or `alias`) choosing the rows of `parts` (and,
    `prefiltered`, those the GIN index finds for `:sq_pre`): each part has its own partial
    index, and an OR of both lets the planner use the two."""
    current = f"{alias}.current"
    part = None if len(parts) > 1 else current if parts[0] == CURRENT else f"NOT {current}"
    if not prefiltered:
        return part or "1 = 1"
    narrowed = f"{alias}.terms @@ CAST(:sq_pre AS tsquery)"
    if part is not None:
        return f"{part} AND {narrowed}"
    return f"(({current} AND {narrowed}) OR (NOT {current} AND {narrowed}))"


def _pg_where(node: Node) -> tuple[str | None, Condition | None]:
    """The GIN index's tsquery for `node` and the condition left to check on the rows it gives:
    none for a query without a phrase (the tsquery is exact: no tsvector is read), else the
    exact condition (the phrases confirmed on `search_text`)."""
    exact = tsquery(node)
    if exact is not None:
        return exact, None
    return prefilter(node), postgresql_condition(node)


def _pg_matches(node: Node, parts: tuple[str, ...], cap: int | None) -> tuple[str, dict[str, Any]]:
    pre, cond = _pg_where(node)
    params: dict[str, Any] = {} if cond is None else dict(cond.params)
    if cond is None and isinstance(node, Not):
        # Nothing positive to look up: the GIN index would read all of its entries (a second at
        # 100,000 x 3). The part's narrow rows, less those the index finds for the negated query
        # (the subquery is fenced by OFFSET 0 so that it is found once, then hashed).
        params["sq_not"] = tsquery(node.part)
        found = _pg_narrowing(parts, True, "n").replace(":sq_pre", ":sq_not")
        narrowing = (
            f"{_pg_narrowing(parts, False)} AND NOT EXISTS (SELECT 1 FROM (SELECT n.version_id "
            f"FROM search_terms n WHERE {found} OFFSET 0) n WHERE n.version_id = t.version_id)"
        )
        pre = None  # and nothing to rank by
    else:
        narrowing = _pg_narrowing(parts, pre is not None)
    if pre is not None:
        params["sq_pre"] = pre
    confirmed = "" if cond is None else f" AND {cond.sql}"
    select = "SELECT t.version_id AS vid, t.article_id AS aid, t.number AS num"
    if cap is None:
        return f"{select}, 0.0 AS score FROM search_terms t WHERE {narrowing}{confirmed}", params
    params["sq_cap"] = cap
    rank = "ts_rank(t.terms, CAST(:sq_pre AS tsquery))" if pre is not None else "0.0"
    lexemes = conjunction(node) if cond is None else None
    if lexemes is not None:  # one value for every match: computed once, no tsvector read
        rank = "ts_rank(CAST(:sq_vec AS tsvector), CAST(:sq_pre AS tsquery))"
        params["sq_vec"] = " ".join(f"'{t}'" for t in lexemes)
    # The newest `cap` candidates the index gives, and only those, are confirmed (a phrase's
    # LIKE reads the text) and ranked (ts_rank reads the terms): a frequent term costs no
    # more than a rare one. `+ 0`: the candidates are sorted, never found by walking the primary
    # key backwards and reading each row's terms. The subquery is named `t` too, so the
    # condition reads it.
    return (
        f"{select}, {rank} AS score FROM (SELECT t.version_id, t.article_id, t.number, t.terms "
        f"FROM search_terms t WHERE {narrowing} ORDER BY t.version_id + 0 DESC "
        f"LIMIT :sq_cap) t WHERE 1 = 1{confirmed}",
        params,
    )


_SCOPES = {
    Scope.CURRENT: "m.num = a.content_version AND a.status <> 'removed'",
    Scope.ALL: "1 = 1",
    # NOT IN, not a correlated NOT EXISTS: both engines hash the set of articles whose current
    # content matches once (PostgreSQL scanned the CTE again for every row: minutes at 60k).
    # `c` (left-joined, one row per article): the articles whose current content matches, all
    # of them (`m` may be capped), or for a query `-x` those whose current content has x. A
    # join, not NOT IN or NOT EXISTS under the OR: PostgreSQL ran those as a subplan scanning
    # `c` again for every row (seconds to minutes at 20k articles).
    Scope.REMOVED: "(a.status = 'removed' OR (m.num <> a.content_version AND c.aid IS NULL))",
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


def _statement(
    dialect: str,
    request: SearchRequest,
    select: str,
    tail: str,
    cap: int | None = None,
    ranked_beside: bool = False,
    bare: bool = False,
    page: str | None = None,
) -> sa.TextClause:
    """The matches of `request` (`cap`: see `_matches`) joined to their versions, articles and
    sources, scoped and filtered: `SELECT select ... tail`. `ranked_beside`: every match, with
    `k`, the ranked ones (capped by `cap`), left-joined. `bare` (see `_bare`): the articles are
    not joined, `select` reads `m` (and `c`) only. `page`: a query over the result as `p`, which
    the statement then is."""
    where, binds = _filters(dialect, request)
    scope = _SCOPES[request.scope]
    negated = request.scope is Scope.REMOVED and isinstance(request.query, Not)
    if negated:
        scope = scope.replace("c.aid IS NULL", "c.aid IS NOT NULL")
    conditions = " AND ".join([scope, *where])
    # SQLite must not fold a scored match into the outer query: bm25() works only beside its
    # MATCH. Unscored matches are read as they come (materializing 30,000 keys cost a third of
    # a frequent term's total).
    scored = cap is not None or ranked_beside
    materialized = "MATERIALIZED " if dialect == "sqlite" and scored else ""
    ctes, params = [], {}
    among = None
    if request.scope is Scope.REMOVED:
        # The current text does not match `-x` when it has x: that set is the small one.
        node = request.query.part if isinstance(request.query, Not) else request.query
        current, more = _matches(dialect, node, (CURRENT,), None)
        ctes.append(f"c AS {materialized}({current.replace(':sq', ':csq')})")
        params.update({f"c{k}": v for k, v in more.items()})
        if negated:  # only these articles' earlier versions can count (see `_SCOPES`)
            among = "SELECT aid FROM c UNION SELECT id FROM articles WHERE status = 'removed'"
    matches, more = _matches(
        dialect, request.query, _parts(request.scope), None if ranked_beside else cap, among
    )
    ctes.append(f"m AS {materialized}({matches})")
    params.update(more)
    if ranked_beside:  # the same query, so the same parameters (and the cap)
        ranked, more = _matches(dialect, request.query, _parts(request.scope), cap, among)
        ctes.append(f"k AS {materialized}({ranked})")
        params.update(more)
    if bare:
        conditions = "c.aid IS NULL" if request.scope is Scope.REMOVED and not negated else "1 = 1"
    joins = "JOIN versions v ON v.id = m.vid " if request.kinds else ""
    joins += "" if bare else "JOIN articles a ON a.id = m.aid"
    if ranked_beside:
        joins += " LEFT JOIN k ON k.vid = m.vid"
    if request.scope is Scope.REMOVED:
        joins += " LEFT JOIN c ON c.aid = m.aid"
    if not bare and (request.countries or "s." in select):
        joins += " LEFT JOIN sources s ON s.key = a.source"
    sql = f"SELECT {select} FROM m {joins} WHERE {conditions} {tail}"
    if page is not None:
        ctes.append(f"p AS ({sql})")
        sql = page
    sql = f"WITH {', '.join(ctes)} {sql}"
    return sa.text(sql).bindparams(*binds, **params)


def _unfiltered(request: SearchRequest) -> bool:
    """Whether `request` has no filter (source, country, dates, kind)."""
    return not (
        request.sources or request.countries or request.since or request.until or request.kinds
    )


def _bare(dialect: str, request: SearchRequest) -> bool:
    """Whether the matches alone say which articles match `request`, without the articles'
    rows: no filter, and `--in all`, or `--in removed` (a version in the past part is not its
    article's current content, so it counts unless the article's current content matches: a
    removed article has none; for a NOT on SQLite, the matches are read among the articles
    that count only, see `_statement`)."""
    unfiltered = _unfiltered(request)
    negated = isinstance(request.query, Not)
    removed = request.scope is Scope.REMOVED and (dialect == "sqlite" or not negated)
    return unfiltered and (request.scope is Scope.ALL or removed)


@dataclass(frozen=True)
class _Total:
    """The articles matching, whether the number is exact, and (when asked) the numbers of the
    matching versions of some articles."""

    count: int
    exact: bool = True
    versions: dict[int, tuple[int, ...]] = field(default_factory=dict)


def _total(
    session: Session, dialect: str, request: SearchRequest, ids: Sequence[int] = ()
) -> _Total:
    """How many articles match `request` (every match counted, none ranked), and the matching
    versions of the articles `ids`."""
    unfiltered = _unfiltered(request)
    if request.scope is Scope.CURRENT and unfiltered:
        # One row per article in the current part: counted in the index alone.
        if dialect == "postgresql":
            return _pg_current_total(session, request.query)
        whole = fts_expression(request.query)
        if whole is not None:
            return _Total(
                int(
                    session.execute(
                        sa.text(f"SELECT count(*) FROM {CURRENT} WHERE {CURRENT} MATCH :q"),
                        {"q": whole},
                    ).scalar_one()
                )
            )
    bare = _bare(dialect, request)
    article = "m.aid" if bare else "a.id"
    if not ids:
        return _Total(
            int(
                session.execute(
                    _statement(dialect, request, f"count(DISTINCT {article})", "", bare=bare)
                ).scalar_one()
            )
        )
    # The same pass lists the page's articles' matching versions (the page ranks a capped set).
    pair = f"CAST({article} AS text) || ':' || CAST(m.num AS text)"
    listed = f"CASE WHEN {article} IN :t_ids THEN {pair} END"
    agg = f"string_agg({listed}, ',')" if dialect == "postgresql" else f"group_concat({listed})"
    count, found = session.execute(
        _statement(dialect, request, f"count(DISTINCT {article}), {agg}", "", bare=bare).bindparams(
            sa.bindparam("t_ids", list(ids), expanding=True)
        )
    ).one()
    versions: dict[int, set[int]] = {}
    for item in str(found or "").split(","):
        if item:
            aid, num = item.split(":")
            versions.setdefault(int(aid), set()).add(int(num))
    return _Total(int(count), True, {a: tuple(sorted(n)) for a, n in versions.items()})


def _pg_current_total(session: Session, node: Node) -> _Total:
    """`_total` of a search of the current text without filters, on PostgreSQL: exact, but
    estimated for a phrase with more than `EXACT_PHRASES` candidates (the share of the newest
    `EXACT_PHRASES` candidates that has the phrase, times the candidates)."""
    pre, cond = _pg_where(node)
    if cond is None or has_not(node):
        sql, params = _pg_matches(node, (CURRENT,), None)
        return _Total(
            int(session.execute(sa.text(f"SELECT count(*) FROM ({sql}) m"), params).scalar_one())
        )
    # A phrase: the candidates have its words (the GIN index alone counts them).
    words = {"sq_pre": tsquery(node, phrases=False)}
    source = f"FROM search_terms t WHERE {_pg_narrowing((CURRENT,), True)}"
    candidates = int(session.execute(sa.text(f"SELECT count(*) {source}"), words).scalar_one())
    sample = (
        f"SELECT count(*) FROM (SELECT t.version_id, t.terms {source} "
        f"ORDER BY t.version_id + 0 DESC LIMIT :n) t WHERE {cond.sql}"
    )
    params = {**words, **cond.params, "n": EXACT_PHRASES}
    confirmed = int(session.execute(sa.text(sample), params).scalar_one())
    if candidates <= EXACT_PHRASES:
        return _Total(confirmed)
    return _Total(round(candidates * confirmed / EXACT_PHRASES), exact=False)


def _numbers(dialect: str) -> str:
    if dialect == "postgresql":
        return "string_agg(CAST(m.num AS text), ',')"
    return "group_concat(m.num)"


def _dialect(session: Session) -> str:
    """The session's dialect; on PostgreSQL, the planner settings of a search for the rest of the
    transaction. No JIT compilation: a search's plans are costed high enough to be compiled (the
    bitmap scans of a frequent term), which took 30-100 ms of each such statement and saved
    nothing. No sequential scan where an index serves: the narrow rows of `search_terms` make
    a sequential scan look cheap, but the planner does not count the out-of-line tsvector each
    row's `@@` then reads (a second and more at 100,000 x 3). No parallel workers: starting them
    costs more than the scans they share."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(
            sa.text(
                "SELECT set_config('jit', 'off', true), "
                "set_config('enable_seqscan', 'off', true), "
                "set_config('max_parallel_workers_per_gather', '0', true)"
            )
        )
    return dialect


def search(session: Session, request: SearchRequest) -> SearchResult:
    """The articles matching `request` (see the module doc), one page of them."""
    dialect = _dialect(session)
    ranked = request.order is Order.RELEVANCE
    numbers = f"{_numbers(dialect)} AS nums, count(*) OVER () AS n"
    if ranked:
        keys, order, outer = "max(m.score) AS score", "max(m.score) DESC", "p.score DESC"
    else:
        keys = f"0.0 AS score, max({_when(dialect)}) AS d"
        order, outer = f"max({_when(dialect)}) DESC", "p.d DESC"
    # The page's articles are chosen by their ids and keys alone (by the matches alone when
    # they say which articles match, see `_bare`); only then are their wide rows (titles, URLs)
    # read, for the page (sorting every match's row took most of a frequent term's time).
    bare = ranked and _bare(dialect, request)
    article = "m.aid" if bare else "a.id"
    tail = f"GROUP BY {article} ORDER BY {{}}, {article} DESC LIMIT :p_limit OFFSET :p_offset"
    shown = (
        "SELECT a.id, a.source, a.url, a.title, a.status, a.published_at, a.published_offset, "
        "s.timezone, a.first_seen_at, a.content_version, p.nums, p.score, a.published_date, p.n "
        "FROM p JOIN articles a ON a.id = p.aid LEFT JOIN sources s ON s.key = a.source "
        "ORDER BY {}, p.aid DESC"
    )
    page = {"p_limit": request.limit, "p_offset": request.offset}
    columns = {"published_at": UTCDateTime(), "first_seen_at": UTCDateTime()}
    # A query FTS5 cannot say alone (a NOT alone, an OR with a NOT) is unscored: its page and
    # its window count come from one pass over every match.
    scored = dialect == "postgresql" or fts_expression(request.query) is not None
    cap = RANK_CAP if ranked and scored else None
    statement = _statement(
        dialect,
        request,
        f"{article} AS aid, {numbers}, {keys}",
        tail.format(order),
        cap,
        bare=bare,
        page=shown.format(outer),
    )
    rows = session.execute(statement.columns(**columns, published_date=sa.Date()), page).all()
    if cap is None:  # the window count: the matches are computed once for both
        counted = _total(session, dialect, request) if not rows else _Total(int(rows[0][13]))
    else:
        listed = [int(r[0]) for r in rows] if request.scope is not Scope.CURRENT else []
        counted = _total(session, dialect, request, listed)
        ranked_articles = int(rows[0][13]) if rows else 0
        if request.offset + request.limit > ranked_articles and counted.count > ranked_articles:
            # Past the articles of the ranked (newest) matches: the others follow, newest
            # first, in one order with them.
            beside = (
                f"{article} AS aid, {numbers}, coalesce(max(k.score), 0.0) AS score, "
                "CASE WHEN max(k.score) IS NULL THEN 1 ELSE 0 END AS unranked, "
                "max(m.vid) AS newest"
            )
            rows = session.execute(
                _statement(
                    dialect,
                    request,
                    beside,
                    tail.format("max(k.score) IS NULL, max(k.score) DESC, max(m.vid) DESC"),
                    cap,
                    ranked_beside=True,
                    bare=bare,
                    page=shown.format("p.unranked, p.score DESC, p.newest DESC"),
                ).columns(**columns, published_date=sa.Date()),
                page,
            ).all()
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
            versions=counted.versions.get(
                int(r[0]), tuple(sorted({int(n) for n in str(r[10]).split(",")}))
            ),
            score=float(r[11] or 0.0),
            published_date=r[12],
        )
        for r in rows
    ]
    return SearchResult(counted.count, hits, counted.exact)


@dataclass(frozen=True)
class Facets:
    """Matching articles per source and per country, each counted without its own filter
    (so every choice shows how many hits it would give)."""

    sources: list[tuple[str, int]]
    countries: list[tuple[str, int]]


def facets(session: Session, request: SearchRequest) -> Facets:
    """The facet counts of `request` (see `Facets`)."""
    dialect = _dialect(session)
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
