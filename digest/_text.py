"""Text hygiene for untrusted page text: strip control characters and terminal escape sequences,
escape Markdown, shorten leads, and allow only web links.

Every title and body comes from a foreign web site, so every output format passes page text
through `clean` before it is shown; `clean` and `one_line` are the one sanitizer of
`storage.safe_text`, re-exported here.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from storage.safe_text import clean, one_line

__all__ = ["clean", "lead", "md_escape", "one_line", "safe_url"]

_MD_SPECIAL = "\\`*_{}[]()<>#+!|~&-"  # the backslash first, so added ones are not doubled
_MD_LINE_START = re.compile(r"^(\s*)(\d+)([.)])", re.MULTILINE)


def lead(body: str | None, limit: int = 300) -> str:
    """The first ~`limit` characters of a body, cut at a word boundary, with an ellipsis if cut."""
    # Only the start matters; collapsing whitespace in a 20 kB body would be wasted work.
    text = one_line(body[: limit * 3] if body else body)
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def md_escape(text: str | None) -> str:
    """Cleaned page text made inert in Markdown: every significant character backslash-escaped."""
    escaped = clean(text)
    for char in _MD_SPECIAL:
        if char in escaped:  # str.replace per present character beats translate() by far
            escaped = escaped.replace(char, "\\" + char)
    if escaped[:1].isdigit() or "\n" in escaped:
        # "1." at the start of a line would become a list item.
        escaped = _MD_LINE_START.sub(r"\1\2\\\3", escaped)
    return escaped


def safe_url(url: str | None) -> str | None:
    """The URL if it is an http(s) link (so it can be an href), else None."""
    if not url:
        return None
    url = clean(url).strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None
