"""The query language: what each form parses to, and a clear message for every bad input."""

from __future__ import annotations

import pytest

from storage.search.query import (
    MAX_QUERY_CHARS,
    And,
    Not,
    Or,
    QueryError,
    Term,
    parse,
    positive_terms,
)


def test_words_phrases_operators_and_prefixes() -> None:
    """Implicit AND, OR looser than AND, NOT and -, quoted phrases and prefix*."""
    assert parse("Taiwan") == Term(("taiwan",))
    assert parse('"One China" policy*') == And((Term(("one", "china")), Term(("policy",), True)))
    assert parse("a b OR c") == Or((And((Term(("a",)), Term(("b",)))), Term(("c",))))
    assert parse("a -b NOT c") == And((Term(("a",)), Not(Term(("b",))), Not(Term(("c",)))))
    assert parse('-"a b"') == Not(Term(("a", "b")))
    assert parse("(a OR b) c") == And((Or((Term(("a",)), Term(("b",)))), Term(("c",))))
    assert parse("a AND b") == And((Term(("a",)), Term(("b",))))


def test_lowercase_operators_and_inner_hyphens_are_words() -> None:
    """`or`/`not` in lower case are words; a hyphenated word is the phrase of its parts."""
    assert parse("war or peace") == And((Term(("war",)), Term(("or",)), Term(("peace",))))
    assert parse("co-operation") == Term(("co", "operation"))
    assert parse("well -known") == And((Term(("well",)), Not(Term(("known",)))))


def test_cjk_queries() -> None:
    """Two characters are one bigram; one character is a prefix (documented fallback)."""
    assert parse("台湾") == Term(("台湾",))
    assert parse("台") == Term(("台",), True)
    assert parse("岸田総理") == Term(("岸田", "田総", "総理"))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('"one china', "unbalanced quote at column 1"),
        ('taiwan "one', "unbalanced quote at column 8"),
        ("OR", "OR at column 1 needs a word or phrase on both sides"),
        ("taiwan OR", "OR at column 8 needs"),
        ("OR taiwan", "OR at column 1 needs"),
        ("NOT", "NOT at column 1 needs a word or phrase after it"),
        ("taiwan NOT", "NOT at column 8 needs"),
        ("AND", "AND at column 1 needs"),
        ("(taiwan", "unbalanced parenthesis at column 1"),
        ("taiwan)", "unbalanced parenthesis at column 7"),
        ("", "no word to search for"),
        ("!!! ... ?", "no word to search for"),
        ('""', "no word to search for"),
        ("x" * 10_000, f"the limit is {MAX_QUERY_CHARS:,}"),
        (" ".join(f"w{i}" for i in 100 * [1]), "more than 64 words"),
    ],
)
def test_bad_input_is_a_clear_query_error(query: str, message: str) -> None:
    """Unbalanced quotes, lone operators, empty and oversized queries name the problem."""
    with pytest.raises(QueryError, match=message.replace("(", r"\(")):
        parse(query)


def test_positive_terms_leave_out_negated_ones() -> None:
    """What a snippet marks: the words and phrases not under NOT."""
    assert positive_terms(parse('a -b "c d" OR e')) == [
        Term(("a",)),
        Term(("c", "d")),
        Term(("e",)),
    ]
