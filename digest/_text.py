"""Text hygiene for untrusted page text: strip control characters and terminal escape sequences,
escape Markdown, shorten leads, and allow only web links.

Every title and body comes from a foreign web site, so every output format passes page text
through `clean` before it is shown.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# ANSI/VT sequences first (CSI, OSC, DCS/SOS/PM/APC with their terminators, two-byte ESC x),
# so that their parameter bytes do not survive as visible junk once ESC itself is removed.
_ESCAPE_SEQ = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]            # CSI ... final byte
    | (?:\x1b\]|\x9d).*?(?:\x07|\x1b\\|\x9c)    # OSC ... BEL or ST
    | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f]).*?(?:\x1b\\|\x9c)  # DCS/SOS/PM/APC ... ST
    | \x1b[ -/]*[0-~]                           # other ESC sequences
    """,
    re.VERBOSE | re.DOTALL,
)
# C0 controls except tab and newline, DEL, C1 controls, the bidi overrides/isolates that can
# make text read differently from what it is ("Trojan Source"), and the code points XML 1.0
# forbids (lone surrogates, U+FFFE, U+FFFF), so cleaned text is also valid in Atom.
_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_MD_SPECIAL = "\\`*_{}[]()<>#+!|~&-"  # the backslash first, so added ones are not doubled
_MD_LINE_START = re.compile(r"^(\s*)(\d+)([.)])", re.MULTILINE)


def clean(text: str | None) -> str:
    """Page text with escape sequences and control characters removed (tab and newline kept)."""
    if not text:
        return ""
    if _CONTROLS.search(text) is None:  # the common case: nothing to strip (\r is a control)
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", _ESCAPE_SEQ.sub("", text))


def one_line(text: str | None) -> str:
    """Cleaned text with all whitespace runs collapsed to single spaces (for titles)."""
    return " ".join(clean(text).split())


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
