"""Modification markers of a page: what tells a reader that a release was edited.

Three kinds, each a (name, value) pair of `Article.markers` (absent when the page has none):

- `displayed`: the text of the source's date element as shown (`Published 2021-11-13 | Updated
  2021-11-15` changes when the ministry adds an update time, even if the parsed date does not);
- `modified`: a machine-readable modification date: `<meta>` (`article:modified_time`,
  `og:updated_time`, `dcterms.modified`, `last-modified`, itemprop `dateModified`), JSON-LD
  `dateModified`, or a feed entry's `<updated>`; several are joined with ` | `;
- `notice`: short paragraphs (at most 200 characters) among the first three or the last three
  of the body that announce an update or a correction: starting with the word ("Updated: ...", "Correction:", "更新", "修订", "更正",
  "Обновлено", "Mis à jour", ...), or wholly in brackets with it ("（本文于7月1日更新）"), or
  saying "this article was updated/corrected"; joined with ` | `.

They are read as written (whitespace collapsed) and never parsed: the rule in
`storage.versions.edit_kind` only asks whether they stayed the same.
"""

from __future__ import annotations

import json
import re
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from crawler.parse.text import clean

Markers = tuple[tuple[str, str], ...]

# <meta> names (`property`, `name`, `itemprop`, `http-equiv`; lower case) of a modification date.
_META = frozenset(
    {
        "article:modified_time",
        "og:updated_time",
        "dcterms.modified",
        "dc.date.modified",
        "last-modified",
        "datemodified",
    }
)
_META_KEYS = ("property", "name", "itemprop", "http-equiv")
_WORDS = (
    r"(?:updated|update\s*:|correction|corrected|clarification|editor'?s note|обновлено|"
    r"обновление|исправлено|исправление|mis à jour|rectificatif|actualizado|actualización|"
    r"corrección|aktualisiert|korrektur|berichtigung)\b|更新|修订|修訂|更正|勘误|勘誤"
)
# A notice starts the paragraph (after a bracket or asterisk), or says the text was updated ...
_STARTS = re.compile(r"[\s\[(（【*_-]*(?:" + _WORDS + r")", re.IGNORECASE)
_SAYS = re.compile(
    r"\b(?:this|the) (?:article|statement|release|page|story|text|transcript) "
    r"(?:was|has been) (?:updated|corrected|amended|revised)",
    re.IGNORECASE,
)
# ... or is a bracketed paragraph with the word anywhere: "（本文于2020年7月1日更新）".
_BRACKETED = re.compile(r"^\s*[\[(（【].*(?:" + _WORDS + r").*[\])）】]\s*$", re.IGNORECASE)
_LEAD = " \t\n\u3000\u00a0*_-"
# What a notice's first character (after `_LEAD`) can be: a bracket or a word's first letter.
_FIRST = frozenset("[(（【uUcCeEоОиИmMrRaAkKbB更修勘")
_VERBS = ("updated", "corrected", "amended", "revised")  # as `_SAYS` writes them (lower case)
_EDGE = 3  # a notice is among the first or the last three paragraphs of the body
_NOTICE_MAX = 200  # characters: a longer paragraph is text, not a notice


def page_markers(tree: LexborHTMLParser) -> Markers:
    """The `modified` marker of a whole page (read before `remove:` rules drop scripts)."""
    # `tags()` and a test in Python: a CSS list of eight attribute selectors took 50 µs a page.
    found: dict[str, None] = {}
    for node in tree.tags("meta"):
        attrs = node.attributes
        if any((attrs.get(k) or "").strip().lower() in _META for k in _META_KEYS):
            value = clean(attrs.get("content") or "")
            if value:
                found.setdefault(value, None)
    for node in tree.tags("script"):
        if "ld+json" in (node.attributes.get("type") or "").lower():
            for value in _date_modified(node.text(deep=True)):
                found.setdefault(value, None)
    return (("modified", " | ".join(found)),) if found else ()


def article_markers(page: Markers, *, displayed: str | None = None, body_text: str = "") -> Markers:
    """All markers of an article: the page's, its date element's text and body notices."""
    out = dict(page)
    if displayed and (shown := clean(displayed)):
        out["displayed"] = shown
    notices = [p.strip() for p in _edges(body_text) if len(p) <= _NOTICE_MAX and _is_notice(p)]
    if notices:
        out["notice"] = " | ".join(notices)
    return tuple(sorted(out.items()))


def _edges(text: str, k: int = _EDGE) -> list[str]:
    """The first `k` and last `k` paragraphs of a body (each once), without splitting all of it:
    splitting a 40 KB body cost more than every other step of the rule together."""
    head: list[str] = []
    start = 0
    while len(head) < k:
        end = text.find("\n\n", start)
        if end < 0:
            head.append(text[start:])
            return head  # the whole body is within the first k paragraphs
        head.append(text[start:end])
        start = end + 2
    tail: list[str] = []
    stop = len(text)
    while len(tail) < k and stop > start:
        cut = text.rfind("\n\n", start, stop)
        begin = start if cut < 0 else cut + 2
        tail.append(text[begin:stop])
        stop = start if cut < 0 else cut
    return head + tail[::-1]


def _is_notice(p: str) -> bool:
    # Regexes only where a notice can start (its first letter, or a bracket) or where the verb
    # occurs: run on every paragraph they cost ~0.7 µs each, 90 µs on a page of short ones.
    first = p.lstrip(_LEAD)[:1]
    if first in _FIRST and (_STARTS.match(p) or _BRACKETED.match(p)):
        return True
    return any(verb in p for verb in _VERBS) and _SAYS.search(p) is not None


def feed_markers(updated: str | None) -> Markers:
    """The marker of a feed entry: its `<updated>` as written."""
    value = clean(updated or "")
    return (("modified", value),) if value else ()


def _date_modified(text: str) -> list[str]:
    try:
        data = json.loads(text)
    except ValueError:
        return []
    out: list[str] = []
    _walk(data, out, depth=0)
    return out


def _walk(data: Any, out: list[str], depth: int) -> None:
    if depth > 6:  # `@graph` nesting is shallow; a deeper document is not a page's metadata
        return
    if isinstance(data, list):
        for value in data:
            _walk(value, out, depth + 1)
    elif isinstance(data, dict):
        value = data.get("dateModified")
        if isinstance(value, str) and value.strip():
            out.append(value.strip())
        for key in ("@graph", "mainEntity", "mainEntityOfPage"):
            if key in data:
                _walk(data[key], out, depth + 1)
