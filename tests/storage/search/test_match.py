"""PostgreSQL's form of a query: one exact tsquery without a phrase, a phrase left to `LIKE`."""

from __future__ import annotations

from storage.search.match import postgresql_condition, prefilter, tsquery
from storage.search.query import parse


def test_a_query_without_a_phrase_is_one_exact_tsquery() -> None:
    """Words, prefixes, AND, OR and NOT of any subtree (a lone NOT too) are one tsquery."""
    assert tsquery(parse("taiwan")) == "'taiwan'"
    assert tsquery(parse("sanction*")) == "'sanction':*"
    assert tsquery(parse("sanctions -ukraine")) == "('sanctions' & !('ukraine'))"
    assert tsquery(parse("NOT (taiwan OR 台湾)")) == "!(('taiwan' | '台湾'))"
    assert tsquery(parse("(lavrov OR wang) talks")) == "(('lavrov' | 'wang') & 'talks')"


def test_a_phrase_has_no_exact_tsquery_but_its_words_narrow_it() -> None:
    """A phrase anywhere leaves the query to the condition; as words it is a tsquery always."""
    assert tsquery(parse('"foreign minister"')) is None
    assert tsquery(parse('taiwan -"one china"')) is None
    assert tsquery(parse('"foreign minister"'), phrases=False) == "'foreign' & 'minister'"
    assert tsquery(parse('-"one china"'), phrases=False) == "!('one' & 'china')"
    assert prefilter(parse('"foreign minister" -japanese')) == (
        "('foreign' & 'minister' & !('japanese'))"
    )
    assert prefilter(parse('-"one china"')) is None  # not having the phrase: any row may


def test_the_condition_reads_the_side_table_only_for_a_phrase() -> None:
    """A phrase is confirmed on `search_text`; the subtrees without one stay single `@@`s."""
    cond = postgresql_condition(parse('"foreign minister" OR (taiwan -china)'))
    assert cond.sql.count("search_text") == 1
    assert cond.sql.count("@@") == 1
    assert sorted(cond.params.values()) == ["% foreign minister %", "('taiwan' & !('china'))"]
    assert "search_text" not in postgresql_condition(parse("a -b")).sql
    assert "search_text" not in postgresql_condition(parse('"a b"'), phrases=False).sql
