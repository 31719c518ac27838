"""The one sanitizer for untrusted text: terminal escape sequences and control characters removed.

Titles, bodies, URLs, Location headers and error messages all come, in the end, from foreign web
sites. Everything mfawatch shows (a terminal line, a log line in text format, a digest in any
format, the web UI) passes through `clean` (or `one_line`) first, so a page cannot clear the
screen, set the window title, write the clipboard (OSC 52) or reorder what is read.

It lives in `storage` because every package may import it: the crawler's preview, the digest and
the command line (`digest._text` re-exports it for the output formats).
"""

from __future__ import annotations

import re

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


def clean(text: str | None) -> str:
    """Text with escape sequences and control characters removed (tab and newline kept)."""
    if not text:
        return ""
    if _CONTROLS.search(text) is None:  # the common case: nothing to strip (\r is a control)
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", _ESCAPE_SEQ.sub("", text))


def one_line(text: str | None) -> str:
    """Cleaned text with all whitespace runs collapsed to single spaces (titles, URLs, errors)."""
    return " ".join(clean(text).split())


# What json.dumps(ensure_ascii=False) leaves as raw characters but a terminal may act on.
_JSON_RAW_CONTROLS = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def json_inert(text: str) -> str:
    """JSON text (from `json.dumps(..., ensure_ascii=False)`) with DEL, C1 controls and bidi
    overrides written as `\\uXXXX` escapes: the same data, and nothing a terminal acts on (JSON
    already escapes C0 controls; outside strings JSON has no such characters)."""
    if _JSON_RAW_CONTROLS.search(text) is None:
        return text
    return _JSON_RAW_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
