"""The text operations pairing needs, on search's text rules (`storage.search.text`).

Pairing compares names and words across languages with the same folding and CJK handling as
search (issue 19), so a name matches in pairing exactly when a search for it would:

- `words(text)`: the text as its folded words joined by spaces (`Blinken’s Call` -> `blinken s
  call`), with each Chinese/Japanese/Korean run kept whole as written (NFKC), for the event-kind
  patterns of `vocabulary` (which are written in that form);
- `terms(text)`: search's index terms (`storage.search.text.index_terms`), and `name_terms(name)`
  the terms a name must match consecutively (`storage.search.text.query_terms`): whole words for
  Latin and Cyrillic, bigrams for CJK (`布林肯` -> `布林 林肯`).
"""

from __future__ import annotations

import unicodedata

from storage.search.text import index_terms, is_cjk, query_terms, tokenize

__all__ = ["is_cjk", "name_terms", "terms", "words"]


def words(text: str) -> str:
    """Folded words joined by single spaces, CJK runs kept whole (see the module docstring)."""
    out: list[str] = []
    run_start = -1
    for token in tokenize(text):
        if not token.cjk:
            out.append(token.term)
            continue
        if run_start < 0:
            run_start = token.start
        if token.run_end:
            out.append(unicodedata.normalize("NFKC", text[run_start : token.end]))
            run_start = -1
    return " ".join(out)


def terms(text: str) -> list[str]:
    """Search's index terms of `text`."""
    return index_terms(text)


def name_terms(name: str) -> tuple[str, ...]:
    """The terms a name must match consecutively in `terms(text)`."""
    return query_terms(name).terms
