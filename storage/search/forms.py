"""The SQLite FTS5 input of a version's title and body, computable wherever the text is.

`fts_text` is what FTS5's `ascii` tokenizer must read to index exactly `index_terms(text)`. A
parse worker computes it beside the fingerprint (`crawler.workers.prepare`), so the crawler's
writer does not: it travels as `FtsForms`, in which None stands for "the text itself" (English
text is its own form: shipping it again would double the frame). Imports only the text rules,
so a worker loads it cheaply.
"""

from __future__ import annotations

from storage.search.text import fts_form, index_terms

# (title form, body form) precomputed for SQLite; None in either place: that text as it is.
FtsForms = tuple[str | None, str | None]


def fts_text(text: str | None) -> str:
    """What FTS5's `ascii` tokenizer must read to index exactly `index_terms(text)`."""
    if not text:
        return ""
    same = fts_form(text)  # English, Chinese, Japanese: no Python tokenizing at all
    return same if same is not None else " ".join(index_terms(text))


def _shipped(text: str | None) -> str | None:
    form = fts_text(text)
    return None if form == (text or "") else form


def fts_forms(title: str | None, body: str | None) -> FtsForms:
    """The precomputed FTS5 input of a title and body text (see `FtsForms`)."""
    return (_shipped(title), _shipped(body))


def resolved(text: str | None, form: str | None) -> str:
    """The FTS5 input of `text` from its shipped `form` (None: the text itself)."""
    return form if form is not None else (text or "")
