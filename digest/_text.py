"""Text hygiene for untrusted page text: strip control characters and terminal escape sequences,
escape Markdown, shorten leads, and allow only web links.

Every title and body comes from a foreign web site, so every output format passes page text
through `clean` before it is shown; `clean` and `one_line` are the one sanitizer of
`storage.safe_text`, re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from storage.safe_text import clean, one_line

__all__ = ["clean", "edit_note", "lead", "md_escape", "one_line", "safe_url"]

# Characters Markdown (CommonMark + GFM strikethrough and tables) acts on anywhere in a line:
# emphasis, code, links and images (`!` matters only before `[`, `(` only after `]`), raw HTML
# and autolinks (`<`), table cells (`|`). The backslash first, so added ones are not doubled.
_MD_INLINE = "\\`*_[]<~|"
# An entity or character reference (`&amp;`, `&#60;`): only then is `&` special.
_MD_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
# What Markdown acts on only at the start of a line: headings, block quotes, list items (`-`, `+`,
# `1.`, `1)`), thematic breaks, setext underlines, fences. The string's start counts as one.
_MD_LINE_START = re.compile(r"^([ \t]*)(?:([#>+=-])|(\d+)([.)]))", re.MULTILINE)


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
    """Cleaned page text made inert in Markdown, escaping only what Markdown would act on there.

    Inline markers are backslash-escaped wherever they are; block markers (`#`, `>`, `-`, `+`,
    `=`, `1.`) only at the start of a line, the string's start included (it may start one). So
    `2020-07-03 (day, title)` stays as it is, and `<script>` becomes `\\<script>`.
    """
    escaped = clean(text)
    for char in _MD_INLINE:
        if char in escaped:  # str.replace per present character beats translate() by far
            escaped = escaped.replace(char, "\\" + char)
    if "&" in escaped:
        escaped = _MD_ENTITY.sub(r"\\&", escaped)
    return _MD_LINE_START.sub(_escape_line_start, escaped)


def _escape_line_start(m: re.Match[str]) -> str:
    indent, marker, number, mark = m.groups()
    if marker is not None:
        return f"{indent}\\{marker}"
    return f"{indent}{number}\\{mark}"  # "1." / "1)": the digits stay, the mark is escaped


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


def edit_note(kind: str | None, evidence: Mapping[str, Any] | None) -> str:
    """A changed version's edit kind and its evidence (`storage.versions.edit_kind`) in one line
    (empty when not judged)."""
    ev = evidence or {}
    if kind == "silent":
        same = "; ".join(f"{name} {ev.get(name)}" for name in ev.get("same", ()))
        return f"silent edit: the page's date and markers did not change ({same})"
    if kind == "announced":
        parts = []
        for name in ev.get("changed", ()):
            old, new = (list(ev.get(name) or ()) + [None, None])[:2]
            if old is None:
                parts.append(f"{name} added: {new}")
            elif new is None:
                parts.append(f"{name} removed: {old}")
            else:
                parts.append(f"{name} {old} → {new}")
        return "announced edit: " + "; ".join(parts)
    if kind == "unknown":
        return "edit not judged: the page shows no date or modification marker"
    return ""
