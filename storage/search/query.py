"""The search query language, parsed into a tree: words, "exact phrases", OR, NOT/-, prefix*.

    taiwan                     a word (case- and accent-insensitive: Ministère = ministere)
    "one china policy"         an exact phrase: the words in this order, side by side
    sanctions OR embargo       either (OR binds looser than the implicit AND)
    NOT taiwan, -taiwan        without the word; -"a phrase" too
    sanction*                  a prefix (sanction, sanctions, sanctioned)
    (a OR b) c                 parentheses group
    台湾, 王毅                  Chinese/Japanese/Korean: the characters side by side; a single
                               character matches every text containing it

Operators are uppercase (`or` is a word). A word with inner punctuation (`co-operation`,
`G7外相`) is the phrase of its parts. Bad input raises `QueryError` naming what and where: an
unbalanced quote or parenthesis, an operator with nothing to apply to, a query with no word,
more than `MAX_QUERY_CHARS` characters or `MAX_TERMS` words. The tree holds only index tokens
(`storage.search.text`), which engines receive as bound parameters, never as SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.search.text import query_terms

MAX_QUERY_CHARS = 1_000
MAX_TERMS = 64
_OPERATORS = {"OR", "AND", "NOT"}


class QueryError(ValueError):
    """A query that cannot be searched; the message names the problem and where it is."""


@dataclass(frozen=True, slots=True)
class Term:
    """A word or phrase: `terms` side by side in one field (title or body); the last a prefix
    when `prefix`."""

    terms: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class And:
    """Every part matches."""

    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Some part matches."""

    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The part does not match."""

    part: Node


Node = Term | And | Or | Not


@dataclass(frozen=True, slots=True)
class _Lexeme:
    kind: str  # word | phrase | op | ( | ) | -
    text: str
    at: int  # 1-based column in the query, for messages


def _lex(query: str) -> list[_Lexeme]:
    out: list[_Lexeme] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QueryError(
                    f'unbalanced quote at column {i + 1}: close the phrase with another "'
                )
            out.append(_Lexeme("phrase", query[i + 1 : end], i + 1))
            i = end + 1
            if i < n and query[i] == "*":  # "a phrase"* : its last word as a prefix
                out[-1] = _Lexeme("phrase*", out[-1].text, out[-1].at)
                i += 1
        elif ch in "()":
            out.append(_Lexeme(ch, ch, i + 1))
            i += 1
        elif ch == "-" and i + 1 < n and not query[i + 1].isspace():
            out.append(_Lexeme("-", ch, i + 1))
            i += 1
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] not in '"()':
                i += 1
            word = query[start:i]
            kind = "op" if word in _OPERATORS else "word"
            out.append(_Lexeme(kind, word, start + 1))
    return out


class _Parser:
    def __init__(self, lexemes: list[_Lexeme]) -> None:
        self.lexemes = lexemes
        self.i = 0
        self.terms = 0

    def peek(self) -> _Lexeme | None:
        return self.lexemes[self.i] if self.i < len(self.lexemes) else None

    def parse(self) -> Node | None:
        node = self.or_expr()
        extra = self.peek()
        if extra is not None:  # only a stray ")" stops an expression early
            raise QueryError(f"unbalanced parenthesis at column {extra.at}: no ( before it")
        return node

    def or_expr(self) -> Node | None:
        parts = [self.and_expr()]
        while (lx := self.peek()) is not None and lx.kind == "op" and lx.text == "OR":
            self.i += 1
            if parts[-1] is None or self.peek() is None:
                raise QueryError(
                    f"OR at column {lx.at} needs a word or phrase on both sides "
                    '(search for the word itself as "or")'
                )
            parts.append(self.and_expr())
        kept = [p for p in parts if p is not None]
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else Or(tuple(kept))

    def and_expr(self) -> Node | None:
        parts: list[Node] = []
        while (lx := self.peek()) is not None and not (
            lx.kind == ")" or (lx.kind == "op" and lx.text == "OR")
        ):
            if lx.kind == "op" and lx.text == "AND":
                self.i += 1
                if not parts or self.peek() is None:
                    raise QueryError(f"AND at column {lx.at} needs a word or phrase on both sides")
                continue
            node = self.unary()
            if node is not None:
                parts.append(node)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self) -> Node | None:
        lx = self.peek()
        assert lx is not None
        if lx.kind == "-" or (lx.kind == "op" and lx.text == "NOT"):
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind == ")" or nxt.kind == "op" and nxt.text != "NOT":
                raise QueryError(
                    f"{lx.text} at column {lx.at} needs a word or phrase after it "
                    '(search for the word itself as "not")'
                )
            part = self.unary()
            return Not(part) if part is not None else None
        return self.primary()

    def primary(self) -> Node | None:
        lx = self.peek()
        assert lx is not None
        self.i += 1
        if lx.kind == "(":
            node = self.or_expr()
            close = self.peek()
            if close is None or close.kind != ")":
                raise QueryError(f"unbalanced parenthesis at column {lx.at}: close it with )")
            self.i += 1
            return node
        text, prefix = lx.text, lx.kind == "phrase*"
        if lx.kind == "word" and text.endswith("*"):
            text, prefix = text.rstrip("*"), True
        found = query_terms(text, prefix=prefix)
        if not found.terms:
            return None  # punctuation only: nothing to search for
        self.terms += len(found.terms)
        if self.terms > MAX_TERMS:
            raise QueryError(f"the query has more than {MAX_TERMS} words; search for fewer")
        return Term(found.terms, found.prefix)


def parse(query: str) -> Node:
    """The tree of `query`, or `QueryError` saying what is wrong with it and where."""
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(
            f"the query is {len(query):,} characters long; the limit is {MAX_QUERY_CHARS:,}"
        )
    node = _Parser(_lex(query)).parse()
    if node is None:
        raise QueryError("the query has no word to search for (letters or digits)")
    return node


def positive_terms(node: Node) -> list[Term]:
    """The words and phrases a match shows (under no NOT): what a snippet marks."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return []
    return [t for part in node.parts for t in positive_terms(part)]
