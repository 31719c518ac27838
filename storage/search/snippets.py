"""Snippets: the passage of a version where the query matches, with the matched words marked.

The same token rules as the index (`storage.search.text.tokenize`) find the matches, so what is
marked is what matched, in every language. A `Snippet` is plain segments (text, marked or not);
each output format renders the marks its own way (bold on a terminal, `<mark>` in HTML).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from storage.search.evaluate import term_spans
from storage.search.query import Term
from storage.search.text import tokenize

_SPACES = re.compile(r"\s+")
CONTEXT_CHARS = 90  # shown before the first mark and after the last one


@dataclass(frozen=True, slots=True)
class Snippet:
    """A passage as segments `(text, marked)`; `cut_start`/`cut_end` say whether text was cut."""

    segments: tuple[tuple[str, bool], ...]
    cut_start: bool = False
    cut_end: bool = False

    @property
    def text(self) -> str:
        """The passage without marks."""
        return "".join(text for text, _ in self.segments)

    def marks(self) -> list[tuple[int, int]]:
        """The `[start, end)` offsets of the marked parts in `text`."""
        found, at = [], 0
        for text, marked in self.segments:
            if marked:
                found.append((at, at + len(text)))
            at += len(text)
        return found


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def make_snippet(
    text: str, terms: Sequence[Term], *, prefer_outside: Iterable[str] = (), width: int = 240
) -> Snippet | None:
    """The passage of `text` around the first match of `terms`, marked; None without a match.

    A match in a paragraph not among `prefer_outside` (the current version's paragraphs, for
    text that was removed) is preferred to one in a paragraph that is still there.
    """
    if not text or not terms:
        return None
    keep = set(prefer_outside)
    best: list[tuple[int, int]] | None = None
    best_at = 0  # where the chosen match's paragraph starts: the snippet does not begin before
    offset = 0
    for paragraph in text.split("\n"):
        spans = term_spans(tokenize(paragraph), terms)
        if spans:
            spans = [(offset + a, offset + b) for a, b in spans]
            if paragraph.strip() not in keep:
                best, best_at = spans, offset
                break
            if best is None:
                best, best_at = spans, offset
        offset += len(paragraph) + 1
    if best is None:
        return None
    spans = _merge(best)
    first = spans[0][0]
    start = max(best_at, first - CONTEXT_CHARS)
    end = min(len(text), max(first + width, spans[0][1] + CONTEXT_CHARS))
    if start > best_at:  # begin at a word boundary
        space = text.find(" ", start, first)
        start = space + 1 if space >= 0 else start
    segments: list[tuple[str, bool]] = []
    at = start
    for a, b in spans:
        if a >= end:
            break
        if a > at:
            segments.append((text[at:a], False))
        segments.append((text[a : min(b, end)], True))
        at = min(b, end)
    if at < end:
        segments.append((text[at:end], False))
    cleaned = tuple((_SPACES.sub(" ", s), m) for s, m in segments)
    return Snippet(cleaned, cut_start=start > 0, cut_end=end < len(text))
