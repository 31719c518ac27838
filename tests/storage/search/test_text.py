"""The language-aware token rules: folding, CJK bigrams, mixed text, query terms."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.search.text import (
    MAX_TERM_CHARS,
    QueryTerms,
    fold,
    index_terms,
    index_text,
    is_cjk,
    query_terms,
    tokenize,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Ministère", "ministere"),
        ("MINISTÈRE", "ministere"),
        ("Лавров", "лавров"),
        ("ЛАВРОВ", "лавров"),
        ("Ёлка", "елка"),
        ("Straße", "STRASSE"),
        ("Łódź", "lodz"),
        ("Ａｂｃ１２", "abc12"),  # full-width forms
        ("Αθήνα", "αθηνα"),
        ("naïve", "naive"),
        ("Ørsted", "orsted"),
    ],
)
def test_fold_makes_case_and_accent_variants_equal(a: str, b: str) -> None:
    """Case, accents and compatibility forms do not change a word's index form."""
    assert fold(a) == fold(b)


def test_fold_keeps_letters_that_are_not_accented_variants() -> None:
    """Cyrillic й is a letter of its own (not и), and Japanese voicing marks are kept."""
    assert fold("й") != fold("и")
    assert fold("ガ") == "ガ"


def test_words_are_cut_at_punctuation_and_folded() -> None:
    """Apostrophes, hyphens and dots separate words; every word is folded."""
    assert index_terms("L'Ambassade de FRANCE, co-operation 2.5") == [
        "l",
        "ambassade",
        "de",
        "france",
        "co",
        "operation",
        "2",
        "5",
    ]


def test_cjk_run_is_bigrams_and_its_last_character() -> None:
    """A CJK run becomes its overlapping bigrams plus its lone last character."""
    assert index_terms("台湾省") == ["台湾", "湾省", "省"]
    assert index_terms("王") == ["王"]
    assert index_terms("台湾。问题") == ["台湾", "湾", "问题", "题"]


def test_mixed_text_is_cut_where_the_script_changes() -> None:
    """Latin, digits and CJK in one string give the tokens of each part."""
    assert index_terms("G7外相会合でLavrov氏") == [
        "g7",
        "外相",
        "相会",
        "会合",
        "合で",
        "で",
        "lavrov",
        "氏",
    ]


def test_half_width_katakana_is_indexed_as_full_width() -> None:
    """Half-width katakana (with voicing marks) and full-width are one form."""
    assert index_terms("ｳｸﾗｲﾅ") == index_terms("ウクライナ")
    assert index_terms("ｶﾞｽ") == index_terms("ガス")


def test_tokens_carry_spans_of_the_original_text() -> None:
    """Each token names the characters of the input it comes from (for highlighting)."""
    text = "Mr Wang Yi 王毅 said"
    spans = [(t.term, text[t.start : t.end]) for t in tokenize(text)]
    assert spans == [
        ("mr", "Mr"),
        ("wang", "Wang"),
        ("yi", "Yi"),
        ("王毅", "王毅"),
        ("毅", "毅"),
        ("said", "said"),
    ]


def test_index_text_holds_no_separator_or_metacharacter_inside_a_token() -> None:
    """Tokens hold no ASCII punctuation or space, so every engine splits them back exactly."""
    text = "a%b_c\\d 'x' \"y\" Ⅻ ½ ﬁne 台湾*"
    for term in index_text(text).split(" "):
        assert term
        assert not re.search(r"[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]", term), term


def test_two_character_cjk_query_is_one_bigram() -> None:
    """台湾, 王毅, 岸田: one bigram each, matched exactly."""
    assert query_terms("台湾") == QueryTerms(("台湾",))
    assert query_terms("王毅") == QueryTerms(("王毅",))
    assert query_terms("岸田") == QueryTerms(("岸田",))


def test_longer_cjk_query_is_the_phrase_of_its_bigrams() -> None:
    """A run of three or more characters is its bigrams in order (no lone last character)."""
    assert query_terms("台湾问题") == QueryTerms(("台湾", "湾问", "问题"))


def test_one_character_cjk_query_is_a_prefix() -> None:
    """A lone CJK character matches every bigram starting with it or a run ending with it."""
    assert query_terms("湾") == QueryTerms(("湾",), prefix=True)
    assert query_terms("said 湾") == QueryTerms(("said", "湾"), prefix=True)


def test_inner_cjk_run_of_a_phrase_keeps_its_last_character() -> None:
    """Inside a phrase a CJK run is followed by its lone last character, as in documents."""
    assert query_terms("台湾 问题") == QueryTerms(("台湾", "湾", "问题"))
    assert query_terms("台湾 problem") == QueryTerms(("台湾", "湾", "problem"))


def _contains(doc: str, query: str) -> bool:
    """Whether the index tokens of `doc` hold the query's terms consecutively."""
    q = query_terms(query)
    terms = index_terms(doc)
    n = len(q.terms)
    for i in range(len(terms) - n + 1):
        window = terms[i : i + n]
        if window[:-1] == list(q.terms[:-1]) and (
            window[-1].startswith(q.terms[-1]) if q.prefix else window[-1] == q.terms[-1]
        ):
            return True
    return False


CJK_DOCS = [
    "外交部发言人就台湾问题答记者问",
    "王毅同岸田文雄会谈",
    "岸田総理はウクライナを訪問した。",
    "台湾。湾省",
    "湾",
    "中国同台",
    "日本国首相",
    "台北与湾仔",
]


@pytest.mark.parametrize("query", ["台湾", "王毅", "岸田", "湾", "台", "日本国", "湾省", "问题答"])
def test_cjk_query_matches_exactly_the_texts_containing_it(query: str) -> None:
    """A one-, two- or three-character CJK query finds every text containing it, nothing else."""
    for doc in CJK_DOCS:
        assert _contains(doc, query) == (query in doc), (doc, query)


def test_is_cjk() -> None:
    """Chinese, Japanese kana and Korean are CJK; Latin and Cyrillic are not."""
    assert is_cjk("台") and is_cjk("かな") and is_cjk("カナ") and is_cjk("한국")
    assert not is_cjk("Лавров and Ministère")


@given(
    doc=st.text(alphabet="台湾省中国王毅。 ab", max_size=30),
    query=st.text(alphabet="台湾省中国王毅", min_size=1, max_size=4),
)
def test_any_cjk_query_matches_exactly_when_contained(doc: str, query: str) -> None:
    """For any text and any CJK query, the token rule matches exactly when the text contains it."""
    assert _contains(doc, query) == (query in doc)


def test_long_words_are_cut_to_the_same_term_in_documents_and_queries() -> None:
    """A 100,000-character word becomes one term of MAX_TERM_CHARS, as its query does."""
    word = "ä" * 100_000
    assert index_terms(word) == [fold(word)] == ["a" * MAX_TERM_CHARS]
    assert query_terms(word[:500]).terms == (fold(word),)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_the_fast_index_path_gives_exactly_the_tokens(text: str) -> None:
    """`index_terms` (the write path's fast form) equals the terms of `tokenize`, for any text."""
    assert index_terms(text) == [t.term for t in tokenize(text)]


@pytest.mark.parametrize(
    "text",
    [
        "Plain ASCII words, numbers 2024 and a " + "x" * 200 + " long one.",
        "Le Ministère de l'Europe — ﬁn ½ Ⅻ ｶﾞｽ 台湾省。Лавров ЁЛКА Straße ŁÓDŹ",
        "ﾃｽﾄ ｳｸﾗｲﾅ ガス 한국어 텍스트 ㈱ ①②",
        "２０２０年，ＧＤＰ增长（约５％）。“台湾”问题——外交部",
    ],
)
def test_the_fast_index_path_on_mixed_text(text: str) -> None:
    """Scripts, compatibility forms and long words: the fast path equals `tokenize`."""
    assert index_terms(text) == [t.term for t in tokenize(text)]


@given(
    st.text(
        alphabet=st.sampled_from(
            list("台湾王毅外交部ab c1。，、「」ーカタカナひらがな한국어\n 々〆〇ｱｲé")
        ),
        min_size=1,
        max_size=80,
    )
)
def test_long_cjk_text_takes_the_array_path_with_the_same_tokens(text: str) -> None:
    """From 2,000 characters on, CJK runs are rewritten with numpy arrays: the tokens stay
    exactly those of `tokenize` (and of the per-run rewrite short texts take)."""
    from storage.search import text as rules

    long = (text + " ") * (2000 // (len(text) + 1) + 1)
    assert len(long) >= rules._VECTOR_FROM
    assert index_terms(long) == [t.term for t in tokenize(long)]
    if rules.fts_form(long) is not None and rules._CJK_RUN_RE.search(long):
        assert (
            rules._bigram_form(long).split() == rules._CJK_RUN_RE.sub(rules._bigrams, long).split()
        )


@given(
    st.text(alphabet=st.sampled_from(list("ab1Z9 é台-_\u00a0")), max_size=120),
    st.integers(min_value=70, max_value=90),
    st.sampled_from(["", " ", "é", "台", "9"]),
)
def test_a_long_word_is_found_as_the_regex_finds_it(text: str, run: int, after: str) -> None:
    """The byte-translation check finds an ASCII word over MAX_TERM_CHARS exactly when a regex
    scan does (a non-ASCII letter ends an ASCII word)."""
    import re

    from storage.search import text as rules

    long = text + "x" * run + after + text
    regex = re.compile(f"[A-Za-z0-9]{{{MAX_TERM_CHARS + 1}}}")
    assert rules._has_long_word(long) == (regex.search(long) is not None)
