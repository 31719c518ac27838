"""The text operations pairing needs, on search's text rules (`storage.search.text`).

Pairing compares names and words across languages with the same folding and CJK handling as
search (issue 19), so a name matches in pairing exactly when a search for it would:

- `words(text)`: the text cut at spaces and punctuation, each piece folded by search's `fold`
  and joined by single spaces (`Blinken’s Call` -> `blinken s call`; a Chinese or Japanese run
  stays whole), for the event-kind patterns of `vocabulary` (which are written in that form).
  It reads every release's title, so it cuts with one regular expression and folds each piece
  through `fold`'s cache, instead of building search's index tokens (bigrams with spans);
- `terms(text)`: search's index terms (`storage.search.text.index_terms`), and `name_terms(name)`
  the terms a name must match consecutively (`storage.search.text.query_terms`): whole words for
  Latin and Cyrillic, bigrams for CJK (`布林肯` -> `布林 林肯`).
"""

from __future__ import annotations

import re

from storage.search.text import fold, index_terms, is_cjk, query_terms

__all__ = ["is_cjk", "name_terms", "terms", "words"]


# Spaces and the punctuation between words (ASCII, typographic quotes and dashes, CJK marks).
_SEPARATORS = re.compile(
    r"[\s\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e‘’“”«»–—…·、。，：；！？（）《》「」『』]+"
)


def words(text: str) -> str:
    """Folded words joined by single spaces, CJK runs kept whole (see the module docstring)."""
    return " ".join(w for w in map(fold, _SEPARATORS.split(text)) if w)


def terms(text: str) -> list[str]:
    """Search's index terms of `text`."""
    return index_terms(text)


def name_terms(name: str) -> tuple[str, ...]:
    """The terms a name must match consecutively in `terms(text)`."""
    return query_terms(name).terms
