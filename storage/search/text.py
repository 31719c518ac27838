"""Language-aware text handling for search: folding and the index tokens of any text.

One function decides what a text's index tokens are (`tokenize`); the index (SQLite FTS5 and
PostgreSQL alike), the query parser and the snippet highlighter all use it, so every engine
agrees on what matches. The rules:

- **Words** (Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, ... and digits) are runs of
  letters, digits and combining marks; each is folded by `fold`: NFKC (full-width and
  compatibility forms), case folding (`Straße` = `strasse`), diacritics removed from Latin, Greek,
  Arabic and Hebrew letters (`Ministère` = `ministere`), and from Cyrillic only the diaeresis
  (`ё` = `е`; `й` stays a letter of its own). Apostrophes, hyphens and dots separate words.
- **Chinese, Japanese and Korean** (Han, hiragana, katakana with `ー`, Hangul) have no spaces: a
  run of them becomes its overlapping bigrams plus its last character alone (`台湾省` ->
  `台湾 湾省 省`). A query of two or more such characters is the phrase of its bigrams
  (`台湾` matches every text containing `台湾` and nothing else); a one-character query is the
  prefix `台*`, which matches every bigram starting with it and every run ending with it, so
  it too finds exactly the texts containing the character (`query_terms`).
- Mixed text is cut where the script changes (`G7外相会合` -> `g7 外相 相会 会合 合`).

Index tokens hold no ASCII punctuation and no space, so both engines split the space-joined
form (`index_text`) back into exactly these tokens (FTS5's `ascii` tokenizer; PostgreSQL's
token lists), and no token carries a LIKE or tsquery metacharacter.

Public and stable (other modules build on it): `fold`, `Token`, `tokenize`, `index_terms`,
`index_text`, `QueryTerms`, `query_terms`, `is_cjk`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import regex

# Scripts written without spaces between words, indexed as bigrams. ー (prolonged sound mark),
# the half-width voicing marks and 々〆〇 are "Common" script but belong inside Japanese words.
_CJK_CLASS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\u30fc\uff70\uff9e\uff9f\u3005-\u3007"
_TOKEN_RE = regex.compile(
    rf"(?P<cjk>[{_CJK_CLASS}]+)|(?P<word>[[\p{{L}}\p{{N}}\p{{M}}]--[{_CJK_CLASS}]]+)",
    regex.VERSION1,
)
_CJK_RE = regex.compile(rf"[{_CJK_CLASS}]")
# Letters with no decomposition that folding still maps (so that `Łódź` = `lodz`).
_SPECIAL = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th"}
)
_CYRILLIC_DIAERESIS = "\u0308"
# ASCII other than letters and digits: separators for the engines' tokenizers, never in a token.
_ASCII_PUNCT = str.maketrans({c: None for c in map(chr, range(128)) if not c.isalnum()})


def _strips_marks(base: str) -> bool:
    """Whether combining marks after `base` are diacritics to drop (Latin, Greek, Arabic, Hebrew)."""
    cp = ord(base)
    return (
        cp < 0x0250  # Basic Latin to Latin Extended-B
        or 0x1E00 <= cp <= 0x1FFF  # Latin Extended Additional, Greek Extended
        or 0x0370 <= cp <= 0x03FF  # Greek
        or 0x0590 <= cp <= 0x06FF  # Hebrew, Arabic
    )


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """`word` in its index form: NFKC, case-folded, without diacritics (see the module doc).

    >>> fold("Ministère"), fold("Лавров"), fold("ЁЛКА"), fold("Straße")
    ('ministere', 'лавров', 'елка', 'strasse')
    """
    folded = unicodedata.normalize("NFKC", word).casefold()
    if folded.isascii():
        return folded.translate(_ASCII_PUNCT)
    kept: list[str] = []
    base = ""
    for ch in unicodedata.normalize("NFD", folded):
        if unicodedata.combining(ch):
            if base and (
                _strips_marks(base) or (ch == _CYRILLIC_DIAERESIS and 0x0400 <= ord(base) <= 0x052F)
            ):
                continue
        else:
            base = ch
        kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept).translate(_SPECIAL)).translate(_ASCII_PUNCT)


def is_cjk(text: str) -> bool:
    """Whether `text` has a character of a script indexed as bigrams (Chinese, Japanese, Korean)."""
    return _CJK_RE.search(text) is not None


@dataclass(frozen=True, slots=True)
class Token:
    """One index token: its `term` and the span `[start, end)` of `text` it comes from.

    `run_end` is True for the last token of a CJK run (the lone last character).
    """

    term: str
    start: int
    end: int
    cjk: bool = False
    run_end: bool = False


def _cjk_run(run: str, start: int) -> list[Token]:
    """The bigram tokens of one CJK run plus its last character alone."""
    folded = unicodedata.normalize("NFKC", run)  # half-width katakana become full-width
    aligned = len(folded) == len(run)  # spans point into `run` only while lengths agree
    n = len(folded)
    tokens = []
    for i in range(n - 1):
        if aligned:
            span = (start + i, start + i + 2)
        else:
            span = (start, start + len(run))
        tokens.append(Token(folded[i : i + 2], *span, cjk=True))
    last = (start + n - 1, start + n) if aligned else (start, start + len(run))
    tokens.append(Token(folded[-1], *last, cjk=True, run_end=True))
    return tokens


def tokenize(text: str) -> list[Token]:
    """Every index token of `text`, in order, with the span of `text` each comes from."""
    tokens: list[Token] = []
    for match in _TOKEN_RE.finditer(text):
        if match.lastgroup == "cjk":
            tokens.extend(_cjk_run(match.group(), match.start()))
        else:
            term = fold(match.group())
            if term:
                tokens.append(Token(term, match.start(), match.end()))
    return tokens


def index_terms(text: str | None) -> list[str]:
    """The index tokens of `text` (what `tokenize` finds), terms only."""
    if not text:
        return []
    terms: list[str] = []
    for match in _TOKEN_RE.finditer(text):
        if match.lastgroup == "cjk":
            run = unicodedata.normalize("NFKC", match.group())
            terms.extend(run[i : i + 2] for i in range(len(run) - 1))
            terms.append(run[-1])
        else:
            term = fold(match.group())
            if term:
                terms.append(term)
    return terms


def index_text(text: str | None) -> str:
    """The index tokens of `text` joined by single spaces: what both engines index."""
    return " ".join(index_terms(text))


@dataclass(frozen=True, slots=True)
class QueryTerms:
    """The token sequence a piece of query text must match, consecutively, in a document.

    `prefix` is True when the last term is matched as a prefix (a query ending with one CJK
    character, or a word the user ended with `*`). An empty `terms` matches nothing.
    """

    terms: tuple[str, ...]
    prefix: bool = False


def query_terms(text: str, *, prefix: bool = False) -> QueryTerms:
    """The terms a query word or phrase matches (see the module doc for CJK runs).

    A CJK run inside the text is followed in documents by its lone last character, so it is
    kept there; the last run of the query drops it (the document's run may go on), and a last
    run of one character becomes a prefix.
    """
    tokens = tokenize(text)
    if tokens and tokens[-1].run_end:
        lone = len(tokens) == 1 or not tokens[-2].cjk or tokens[-2].run_end
        if lone:  # a one-character run: every bigram starting with it, or a run ending with it
            return QueryTerms(tuple(t.term for t in tokens), prefix=True)
        tokens = tokens[:-1]
    terms = tuple(t.term for t in tokens)
    return QueryTerms(terms, prefix=prefix and bool(terms))
