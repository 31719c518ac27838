"""A parsed query evaluated on texts in Python, by the index's rules: what an alert (a saved
search) matches in an item, and where a snippet's marks go.

A text's tokens come from `storage.search.text.tokenize`, so a query matches an item here exactly
when the index would match the same text: a word or phrase needs its terms side by side within
one text (title and body are separate texts, as in the index), a prefix matches a term's start.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from storage.search.query import And, Node, Not, Or, Term
from storage.search.text import Token, tokenize


def term_spans(tokens: Sequence[Token], terms: Iterable[Term]) -> list[tuple[int, int]]:
    """Character spans of every place one of `terms` (a word, prefix or phrase) matches."""
    by_first: dict[str, list[Term]] = {}
    prefixes: list[Term] = []
    for term in terms:
        if len(term.terms) == 1 and term.prefix:
            prefixes.append(term)
        else:
            by_first.setdefault(term.terms[0], []).append(term)
    spans = []
    for i, token in enumerate(tokens):
        candidates = by_first.get(token.term, []) + [
            t for t in prefixes if token.term.startswith(t.terms[0])
        ]
        for term in candidates:
            n = len(term.terms)
            window = tokens[i : i + n]
            if len(window) < n:
                continue
            last_ok = (
                window[-1].term.startswith(term.terms[-1])
                if term.prefix
                else window[-1].term == term.terms[-1]
            )
            if last_ok and all(
                w.term == t for w, t in zip(window[:-1], term.terms[:-1], strict=True)
            ):
                spans.append((window[0].start, window[-1].end))
                break
    return spans


def matches(node: Node, texts: Sequence[str]) -> bool:
    """Whether `node` matches the texts (each a field: title, body...) as the index would."""
    tokenized = [tokenize(t) for t in texts if t]
    return _eval(node, tokenized)


def _eval(node: Node, tokenized: list[list[Token]]) -> bool:
    if isinstance(node, Term):
        return any(term_spans(tokens, [node]) for tokens in tokenized)
    if isinstance(node, Not):
        return not _eval(node.part, tokenized)
    if isinstance(node, And):
        return all(_eval(p, tokenized) for p in node.parts)
    assert isinstance(node, Or)
    return any(_eval(p, tokenized) for p in node.parts)


def matched_words(terms: Iterable[Term], texts: Sequence[str]) -> tuple[str, ...]:
    """The distinct passages of `texts` the terms match, as written, in order of appearance."""
    terms = list(terms)
    found: dict[str, None] = {}
    for text in texts:
        if text:
            for start, end in sorted(term_spans(tokenize(text), terms)):
                found.setdefault(text[start:end], None)
    return tuple(found)
