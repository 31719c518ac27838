"""Language-aware text handling for search: folding and the index tokens of any text.

One function decides what a text's index tokens are (`tokenize`); the index (SQLite FTS5 and
PostgreSQL alike), the query parser and the snippet highlighter all use it, so every engine
agrees on what matches. The rules:

- **Words** (Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, ... and digits) are runs of
  letters, digits and combining marks; each is folded by `fold`: NFKC (full-width and
  compatibility forms), case folding (`Straße` = `strasse`), diacritics removed from Latin, Greek,
  Arabic and Hebrew letters (`Ministère` = `ministere`), and from Cyrillic only the diaeresis
  (`ё` = `е`; `й` stays a letter of its own). Apostrophes, hyphens and dots separate words;
  a word is cut at `MAX_TERM_CHARS` characters.
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

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

# Scripts written without spaces between words, indexed as bigrams: hiragana (with its voicing
# marks), katakana (not ゠ and the name separator ・) with ー, half-width katakana with its
# voicing marks, Han ideographs (with 々〆〇 and the extensions and compatibility blocks), and
# Hangul syllables and jamo. Explicit ranges, so the stdlib `re` (5x faster here than `regex`
# with Unicode properties) can scan with them: indexing is on the crawler's write path.
_CJK_CLASS = (
    "\u3040-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9f"
    "\u3005-\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
    "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
)
_CJK_RE = re.compile(f"[{_CJK_CLASS}]")
_ASCII_WORD_RE = re.compile(r"[a-z0-9]+")


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """(any combining mark, tokens of text without marks, tokens of any text), built on first
    use (listing the marks costs a few ms). A token is a run of CJK characters, or a word:
    letters and digits (`\\w` but `_`) and combining marks, outside the CJK ranges."""
    ranges: list[list[int]] = []
    # Combining marks of the BMP only: a class with characters beyond it is matched range by
    # range (40x slower); the marks beyond (Brahmi, Chakma...) separate words.
    for c in range(0x300, 0x10000):
        ch = chr(c)
        if unicodedata.category(ch)[0] == "M" and not _CJK_RE.match(ch):
            if ranges and ranges[-1][1] == c - 1:
                ranges[-1][1] = c
            else:
                ranges.append([c, c])
    marks = "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges)
    letters = f"[^\\W_{_CJK_CLASS}]"
    return (
        re.compile(f"[{marks}]"),
        re.compile(f"(?P<cjk>[{_CJK_CLASS}]+)|(?P<word>{letters}+)"),
        re.compile(f"(?P<cjk>[{_CJK_CLASS}]+)|(?P<word>(?:{letters}|[{marks}])+)"),
    )


def _token_re(text: str) -> re.Pattern[str]:
    """The token pattern for `text`: the one without marks is 5x faster, and most text (NFC
    Latin, Cyrillic, CJK) has none."""
    any_mark, plain, full = _patterns()
    return full if any_mark.search(text) else plain


# Longer words are cut (in documents and queries alike): a hostile page's 100 KB "word" must not
# become an index term PostgreSQL refuses (a tsvector lexeme holds at most 2,046 bytes).
MAX_TERM_CHARS = 80
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
    folded = unicodedata.normalize("NFKC", word[: MAX_TERM_CHARS * 2]).casefold()
    if folded.isascii():
        return folded.translate(_ASCII_PUNCT)[:MAX_TERM_CHARS]
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
    kept_text = "".join(kept).translate(_SPECIAL)
    return unicodedata.normalize("NFC", kept_text).translate(_ASCII_PUNCT)[:MAX_TERM_CHARS]


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
    for match in _token_re(text).finditer(text):
        if match.lastgroup == "cjk":
            tokens.extend(_cjk_run(match.group(), match.start()))
        else:
            term = fold(match.group())
            if term:
                tokens.append(Token(term, match.start(), match.end()))
    return tokens


def index_terms(text: str | None) -> list[str]:
    """The index tokens of `text`: exactly the terms of `tokenize(text)`, made faster.

    The crawler indexes every version it stores, so this is on the write path: text with a
    `fts_form` (English, Chinese, Japanese kana and kanji) is split by one C-level `findall`;
    other text takes one `findall` and a cached fold per word (tests keep both equal to
    `tokenize`).
    """
    if not text:
        return []
    form = fts_form(text)
    if form is not None:
        return _FORM_TOKEN_RE.findall(form.lower())
    terms: list[str] = []
    add, extend = terms.append, terms.extend
    for run, word in _token_re(text).findall(text):
        if word:
            term = fold(word)
            if term:
                add(term)
        else:
            if not run.isascii() and not unicodedata.is_normalized("NFKC", run):
                run = unicodedata.normalize("NFKC", run)
            extend(map(str.__add__, run, run[1:]))
            add(run[-1])
    return terms


# The fast form's patterns name BMP characters only: a class with one beyond the BMP is
# matched range by range (10-40x slower). Text with a character beyond it takes the Python path.
_CJK_BMP = _CJK_CLASS.replace("\U00020000-\U0003134f", "")
_BEYOND_BMP_RE = re.compile("[\\U00010000-\\U0010ffff]")
_OTHER_NON_ASCII_RE = re.compile(f"[^\\x00-\\x7f{_CJK_BMP}]")
_CJK_RUN_RE = re.compile(f"[{_CJK_BMP}]+")
# Full-width letters and digits (Chinese text writes numbers so): NFKC makes them ASCII.
_FULL_WIDTH_WORD_RE = re.compile("[\\uff10-\\uff19\\uff21-\\uff3a\\uff41-\\uff5a]+")
_FORM_TOKEN_RE = re.compile("[^\\x00-\\x2f\\x3a-\\x60\\x7b-\\x7f]+")  # of lower-cased text


@lru_cache(maxsize=4096)
def _separates(ch: str) -> bool:
    """Whether a character is no part of any token (punctuation, a space, a symbol)."""
    return _patterns()[2].match(ch) is None


@cache
def _cjk_unstable_re() -> re.Pattern[str]:
    """The CJK characters NFKC changes (half-width katakana, voicing marks, compatibility
    ideographs and jamo): text with one is tokenized in Python."""
    changed = "".join(
        chr(c)
        for c in range(0x1100, 0x10000)
        if _CJK_RE.match(chr(c)) and unicodedata.normalize("NFKC", chr(c)) != chr(c)
    )
    return re.compile(f"[{re.escape(changed)}]")


def fts_form(text: str) -> str | None:
    """`text` rewritten so that its tokens under ASCII rules (runs of ASCII letters and digits
    lower-cased, and runs of other characters: SQLite FTS5's `ascii` tokenizer) are exactly
    `index_terms(text)`; None for text that needs the Python tokenizer.

    Non-ASCII separators (curly quotes, dashes, no-break spaces, CJK punctuation) become
    spaces and each CJK run its bigrams and last character, with C-level substitutions only.
    Text with a non-ASCII letter outside CJK (é, Cyrillic), a CJK character NFKC changes, or
    a word over `MAX_TERM_CHARS` has no such form.
    """
    if text.isascii():
        return None if _has_long_word(text) else text
    if _BEYOND_BMP_RE.search(text):
        return None
    if _FULL_WIDTH_WORD_RE.search(text):
        text = _FULL_WIDTH_WORD_RE.sub(_to_ascii, text)
    cjk = _CJK_RUN_RE.search(text) is not None
    if cjk and _cjk_unstable_re().search(text):
        return None
    others = set(_OTHER_NON_ASCII_RE.findall(text))
    if others:
        if not all(map(_separates, others)):
            return None
        text = _OTHER_NON_ASCII_RE.sub(" ", text)
    if _has_long_word(text):
        return None
    if not cjk:
        return text
    return _bigram_form(text) if len(text) >= _VECTOR_FROM else _CJK_RUN_RE.sub(_bigrams, text)


# UTF-8 bytes of ASCII letters and digits to "a", every other byte (non-ASCII ones included) to
# a space: a word over MAX_TERM_CHARS is then a run of "a" found by one C-level substring search.
_WORD_BYTES = bytes(0x61 if chr(b).isascii() and chr(b).isalnum() else 0x20 for b in range(256))
_LONG_RUN = b"a" * (MAX_TERM_CHARS + 1)


def _has_long_word(text: str) -> bool:
    """Whether an ASCII word of `text` ([A-Za-z0-9]+) is over `MAX_TERM_CHARS`: one translation
    of its UTF-8 bytes and a substring search, no Python string per word (5x faster than
    splitting, 10x faster than the regex scan, on a 40 KB release)."""
    return len(text) > MAX_TERM_CHARS and _LONG_RUN in text.encode(
        "utf-8", "surrogatepass"
    ).translate(_WORD_BYTES)


def _to_ascii(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", match.group())


# From this length on, a text's CJK runs are rewritten by `_bigram_form` (numpy) instead of one
# `re.sub` callback per run: a long Chinese release has thousands of bigrams, and building each
# as a Python string was most of the cost of indexing it (docs/benchmarks.md).
_VECTOR_FROM = 2000


@cache
def _cjk_table() -> Any:
    """A lookup table of the 65,536 BMP code points: True for those in `_CJK_BMP`."""
    import numpy as np

    table = np.zeros(0x10000, dtype=bool)
    for lo, hi in re.findall("(.)-(.)", _CJK_BMP):
        table[ord(lo) : ord(hi) + 1] = True
    return table


def _bigram_form(text: str) -> str:
    """`_CJK_RUN_RE.sub(_bigrams, text)` computed on arrays: each CJK character is written with
    its successor and a space when its successor is CJK too (a bigram), or with a space alone at
    the end of its run (the run's last character), and a space comes before each run; every
    other character is copied. `text` holds BMP characters only (`fts_form` checks)."""
    import numpy as np

    chars = np.frombuffer(text.encode("utf-16-le"), dtype="<u2")
    cjk = _cjk_table()[chars]
    follows = np.zeros_like(cjk)
    follows[:-1] = cjk[1:]
    starts = cjk.copy()
    starts[1:] &= ~cjk[:-1]
    width = np.where(cjk, np.where(follows, 3, 2), 1) + starts
    ends = np.cumsum(width)
    at = ends - width + starts  # where each character itself goes
    out = np.full(int(ends[-1]), 0x20, dtype="<u2")
    out[at] = chars
    pairs = np.flatnonzero(cjk & follows)
    out[at[pairs] + 1] = chars[pairs + 1]
    return out.tobytes().decode("utf-16-le")


def _bigrams(match: re.Match[str]) -> str:
    """A CJK run as its bigrams and its last character, spaced apart from what surrounds it."""
    run = match.group()
    return f" {' '.join(map(str.__add__, run, run[1:]))} {run[-1]} "


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
