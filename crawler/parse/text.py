"""Pure text normalization for the parsers: Unicode form, invisible characters and whitespace.

Storage keeps its own normalization (it may not import crawler); these helpers only shape what the
parsers extract. Every function is pure and cheap: they run on every title, date and paragraph.
"""

from __future__ import annotations

import re
import unicodedata

# Characters that render as nothing but break equality and search: zero-width space/joiners,
# word joiner and the invisible operators, BOM used as ZWNBSP, soft hyphen, the Mongolian vowel
# separator, and the bidi marks some CMSs sprinkle in. A superset of `storage.normalize.INVISIBLE`,
# so that the body text extracted is already in storage's normal form (see `crawler.workers.prepare`).
_INVISIBLE = re.compile(
    "[\u200b\u200c\u200d\u2060-\u2064\ufeff\u00ad\u180e\u200e\u200f\u202a-\u202e]"
)
# Python's str.split() already treats NBSP, U+2000-U+200A, U+202F, U+205F and U+3000 (the
# ideographic space Chinese pages indent paragraphs with) as whitespace.


def strip_invisible(text: str) -> str:
    """Remove zero-width and other invisible characters (U+200B, U+FEFF, soft hyphen, bidi marks)."""
    return _INVISIBLE.sub("", text)


def clean(text: str) -> str:
    """NFC, invisible characters removed, every whitespace run (incl. NBSP, U+3000) one space, stripped."""
    if not text:
        return ""
    if not text.isascii():
        text = unicodedata.normalize("NFC", _INVISIBLE.sub("", text))
    # str.split() splits on every Unicode space and is several times faster than a regex.
    return " ".join(text.split())


def join_paragraphs(paragraphs: list[str]) -> str:
    """Body text: the non-empty paragraphs separated by one blank line."""
    return "\n\n".join(p for p in paragraphs if p)


def first_words(text: str, limit: int = 60) -> str:
    """The opening of a text, at most `limit` characters (for previews and comparisons)."""
    return clean(text)[:limit]
