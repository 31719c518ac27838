"""A parsed query as each engine's match condition over versions (`v`), same hits on both.

SQLite: a subtree FTS5 can say (words, phrases, prefixes, AND, OR, and `a NOT b`) becomes one
FTS5 expression; what it cannot (a NOT with nothing positive beside it, an OR with a NOT in it)
becomes SQL set logic over such expressions (`v.id IN (SELECT rowid ... MATCH ...)`).

PostgreSQL (`search_terms` as `t`): a query without a phrase is one tsquery (`tsquery`: words,
`'word':*` prefixes, `&`, `|` and `!`), which the GIN index answers alone, without reading any
tsvector. A phrase is `LIKE '% a b %'` on the space-delimited title or body tokens of the
version in `search_text` (the same side-by-side rule as FTS5's phrase); `prefilter` is a tsquery
every match satisfies (the phrase's words among them), which lets the GIN index narrow the rows
before the phrase is confirmed.

Every FTS5 expression, tsquery and LIKE pattern is a bound parameter built from index tokens
(letters, digits and marks only: no quote, no wildcard).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.search.query import And, Node, Not, Or, Term


@dataclass
class Condition:
    """SQL text of a boolean condition and its bound parameters."""

    sql: str
    params: dict[str, str] = field(default_factory=dict)


class _Params:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def add(self, value: str) -> str:
        name = f"sq{len(self.values)}"
        self.values[name] = value
        return f":{name}"


# --- SQLite FTS5 -------------------------------------------------------------------------


def fts_expression(node: Node) -> str | None:
    """`node` as one FTS5 query expression, or None when FTS5 cannot say it alone."""
    if isinstance(node, Term):
        return '"' + " ".join(node.terms) + '"' + (" *" if node.prefix else "")
    if isinstance(node, Or):
        parts = [fts_expression(p) for p in node.parts]
        if any(p is None for p in parts):
            return None
        return "(" + " OR ".join(p for p in parts if p) + ")"
    if isinstance(node, And):
        positive = [fts_expression(p) for p in node.parts if not isinstance(p, Not)]
        negative = [fts_expression(p.part) for p in node.parts if isinstance(p, Not)]
        if not positive or any(p is None for p in positive + negative):
            return None
        text = "(" + " AND ".join(p for p in positive if p) + ")"
        if negative:
            text += " NOT (" + " OR ".join(p for p in negative if p) + ")"
        return "(" + text + ")"
    return None  # a lone NOT


def sqlite_condition(node: Node, part: str, column: str) -> Condition:
    """The condition on the version id `column` that holds exactly for the versions matching
    `node` among those indexed in the FTS5 table `part`."""
    params = _Params()

    def build(n: Node) -> str:
        expr = fts_expression(n)
        if expr is not None:
            name = params.add(expr)
            return f"{column} IN (SELECT rowid FROM {part} WHERE {part} MATCH {name})"
        if isinstance(n, Not):
            return f"NOT ({build(n.part)})"
        assert isinstance(n, And | Or)
        joiner = " AND " if isinstance(n, And) else " OR "
        return "(" + joiner.join(build(p) for p in n.parts) + ")"

    return Condition(build(node), params.values)


# --- PostgreSQL --------------------------------------------------------------------------


def _tsquery_term(term: str, prefix: bool) -> str:
    return f"'{term}'" + (":*" if prefix else "")


def _term_tsquery(node: Term) -> str:
    last = len(node.terms) - 1
    return " & ".join(_tsquery_term(t, node.prefix and i == last) for i, t in enumerate(node.terms))


def has_phrase(node: Node) -> bool:
    """Whether `node` has a phrase (two or more words side by side)."""
    if isinstance(node, Term):
        return len(node.terms) > 1
    if isinstance(node, Not):
        return has_phrase(node.part)
    return any(has_phrase(p) for p in node.parts)


def has_not(node: Node) -> bool:
    """Whether `node` has a NOT anywhere."""
    if isinstance(node, Term):
        return False
    if isinstance(node, Not):
        return True
    return any(has_not(p) for p in node.parts)


def tsquery(node: Node, phrases: bool = True) -> str | None:
    """`node` as one tsquery matching exactly the same versions, or None when it has a phrase
    (`phrases` False: a phrase taken as its words in any order, so never None)."""
    if isinstance(node, Term):
        return _term_tsquery(node) if len(node.terms) == 1 or not phrases else None
    if isinstance(node, Not):
        inner = tsquery(node.part, phrases)
        return None if inner is None else f"!({inner})"
    parts = [tsquery(p, phrases) for p in node.parts]
    if any(p is None for p in parts):
        return None
    joiner = " & " if isinstance(node, And) else " | "
    return "(" + joiner.join(p for p in parts if p) + ")"


def prefilter(node: Node) -> str | None:
    """A tsquery every version matching `node` satisfies (None: no narrowing possible)."""
    if isinstance(node, Term):
        return _term_tsquery(node)
    if isinstance(node, Not):
        exact = tsquery(node.part)
        return None if exact is None else f"!({exact})"
    parts = [prefilter(p) for p in node.parts]
    if isinstance(node, Or):
        if any(p is None for p in parts):
            return None
        return "(" + " | ".join(p for p in parts if p) + ")"
    kept = [p for p in parts if p is not None]
    return "(" + " & ".join(kept) + ")" if kept else None


def conjunction(node: Node) -> tuple[str, ...] | None:
    """The lexemes of a query that is a conjunction of exact lexemes (words: no phrase, OR, NOT
    or prefix), or None. Every version matching such a query holds exactly these of its
    lexemes, and a tsvector without positions ranks by which query lexemes it holds: `ts_rank`
    gives all of them one value, that of these lexemes alone."""
    if isinstance(node, Term):
        if node.prefix or len(node.terms) > 1:
            return None
        return (node.terms[0],)
    if isinstance(node, And):
        found = [conjunction(p) for p in node.parts]
        if any(f is None for f in found):
            return None
        return tuple(t for f in found if f for t in f)
    return None


def postgresql_condition(node: Node, phrases: bool = True) -> Condition:
    """The condition on `t` (search_terms) that holds exactly for the versions matching `node`
    (`phrases` False: a phrase's words in any order; without a NOT, a condition every matching
    version meets). A subtree without a phrase is one `@@`; a phrase reads `search_text`."""
    params = _Params()

    def build(n: Node) -> str:
        whole = tsquery(n, phrases)
        if whole is not None:
            return f"t.terms @@ CAST({params.add(whole)} AS tsquery)"
        if isinstance(n, Term):  # a phrase: its tokens side by side in the title or the body
            like = params.add("% " + " ".join(n.terms) + ("%" if n.prefix else " %"))
            return (
                "EXISTS (SELECT 1 FROM search_text x WHERE x.version_id = t.version_id "
                f"AND (x.title LIKE {like} OR x.body LIKE {like}))"
            )
        if isinstance(n, Not):
            return f"NOT ({build(n.part)})"
        joiner = " AND " if isinstance(n, And) else " OR "
        return "(" + joiner.join(build(p) for p in n.parts) + ")"

    return Condition(build(node), params.values)
