"""Telling a page that lost its end from a page that changed.

A response cut short without a Content-Length (the connection closed mid-document) arrives as a
shorter, well-formed-looking page: stored, it is a false edit ("21 paragraphs removed"), and the
next good fetch a false revert. A page is incomplete when its body has no end of the document
(`</body>` or `</html>`) while:

- the article's stored version has one (a recheck), or
- the response has no Content-Length to check its length against (a first fetch).

An incomplete page is fetched again (`RETRIES` times, within the run's deadline) and never stored
as a version. A first fetch that comes back byte-identical is taken as a page that simply has no
end tags (HTML allows leaving them out); a recheck that stays cut is an error of that article.
"""

from __future__ import annotations

import re

RETRIES = 2
_END = re.compile(rb"</(?:body|html)\s*>", re.IGNORECASE)
_TAIL = 8192


def has_end(body: bytes) -> bool:
    """True when `body` contains the end of an HTML document (`</body>` or `</html>`)."""
    # The end tags sit near the end of a page: look there first, then (rarely) everywhere.
    tail = max(0, len(body) - _TAIL)
    return _END.search(body, tail) is not None or (tail > 0 and _END.search(body) is not None)


def is_cut(body: bytes, *, content_length: str | None, previous: bytes | None) -> bool:
    """Whether a 200 response body looks cut short (see the module docstring).

    `previous` is the raw body behind the article's stored version (None for a first fetch).
    """
    if has_end(body):
        return False
    if previous is not None:
        return has_end(previous)
    return content_length is None
