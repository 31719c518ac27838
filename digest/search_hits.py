"""Search hits as people read them: the date in the source's zone, and the snippet marked per
format (bold on a terminal, `**` in Markdown, `<mark>` in HTML, offsets in JSON).

Every piece of page text passes through the one sanitizer (`digest._text`) before it is marked,
so a mark is the only markup in a line; HTML escapes the text around each `<mark>`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape

from digest._text import clean, md_escape, one_line, safe_url
from storage.search.passages import Passage
from storage.search.results import Hit
from storage.search.snippets import Snippet
from storage.types import iso, with_offset

_SPACES = re.compile(r"\s+")


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def hit_date(hit: Hit) -> str:
    """The article's date in its source's zone: a time when the page gave one, else the day,
    else when it was first seen (marked so)."""
    zone = _zone(hit.timezone)
    if hit.published_at is not None:
        local = (
            hit.published_at.astimezone(zone)
            if zone
            else with_offset(hit.published_at, hit.published_offset)
        )
        assert local is not None
        return local.strftime("%Y-%m-%d %H:%M %z")
    if hit.published_date is not None:
        return hit.published_date.isoformat()
    seen = hit.first_seen_at.astimezone(zone) if zone else hit.first_seen_at
    return seen.strftime("%Y-%m-%d (first seen)")


def _flat(text: str) -> str:
    """Cleaned text on one line, keeping a space at either end (it separates it from a mark)."""
    return _SPACES.sub(" ", clean(text))


def marked(snippet: Snippet | None, mark: Callable[[str], str], plain: Callable[[str], str]) -> str:
    """The snippet with each marked part through `mark` and the rest through `plain`."""
    if snippet is None:
        return ""
    body = "".join((mark if m else plain)(_flat(text)) for text, m in snippet.segments)
    return ("…" if snippet.cut_start else "") + body + ("…" if snippet.cut_end else "")


def snippet_html(snippet: Snippet | None) -> Markup:
    """The snippet as HTML: page text escaped, matches in `<mark>`."""
    return Markup(marked(snippet, lambda t: f"<mark>{escape(t)}</mark>", lambda t: str(escape(t))))


def snippet_markdown(snippet: Snippet | None) -> str:
    """The snippet as Markdown: page text escaped, matches in bold."""
    return marked(snippet, lambda t: f"**{md_escape(t)}**", md_escape)


def versions_label(hit: Hit) -> str:
    """`v2`, or `v1, v3` (the versions that match), and whether the article was removed."""
    label = ", ".join(f"v{n}" for n in hit.versions)
    return label + (" (removed)" if hit.status == "removed" else "")


def hit_record(hit: Hit, passage: Passage | None) -> dict[str, Any]:
    """A hit as JSON: ids for `history`/`diff`, the date, the versions, the snippet and its marks."""
    snippet = passage.snippet if passage else None
    return {
        "article_id": hit.article_id,
        "source": hit.source,
        "url": safe_url(hit.url) or hit.url,
        "title": one_line(hit.title),
        "date": hit_date(hit),
        "published_at": iso(hit.published_at),
        "status": hit.status,
        "current_version": hit.current_version,
        "versions": list(hit.versions),
        "snippet_version": passage.number if passage else None,
        "snippet_version_id": passage.version_id if passage else None,
        "snippet": snippet.text if snippet else "",
        "marks": snippet.marks() if snippet else [],
        "score": round(hit.score, 6),
    }
