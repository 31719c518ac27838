"""Fingerprint normalization: the form of an article that decides whether it changed.

Two fetches of one article are the same version when their normalized title, date and body are
equal. Normalization removes what a person cannot see or would not call an edit: Unicode
composition (NFC), invisible characters (zero-width spaces, joiners, BOM, soft hyphens), HTML
entities left in text (`&nbsp;`), non-breaking and other exotic spaces, CRLF line ends, and runs
of whitespace. Paragraph breaks (blank lines) are kept, since moving text between paragraphs is
an edit. Stored fields are never normalized; only the fingerprint and the diffs are.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime
from json.encoder import encode_basestring
from typing import Protocol

from storage.model import Article

# Characters that render as nothing; sites sprinkle them (CMS artefacts, anti-scraping, BOMs).
INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e"
_INVISIBLE_RE = re.compile(f"[{INVISIBLE}]")  # a regex: str.translate is slow on non-ASCII text
_BLANK_LINES_RE = re.compile(r"\n\s*\n")  # \s is Unicode-aware: NBSP-only lines are blank
# ASCII controls but the newline: bytes.translate deletes them in one C pass, no regex search.
_ASCII_CONTROL = bytes(range(0x0A)) + bytes(range(0x0B, 0x20)) + b"\x7f"

FINGERPRINT_FIELDS = ("title", "date", "body_text")


def normalize_text(text: str | None) -> str:
    """Body text in canonical form: paragraphs separated by one blank line, lines space-collapsed."""
    if not text:
        return ""
    if "&" in text:
        text = html.unescape(text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii():
        # Control characters (tabs, separators) are the only whitespace besides space and newline.
        plain = not _has_ascii_control(text)
    else:  # invisible characters and composition exist only outside ASCII
        text = _INVISIBLE_RE.sub("", text)
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        plain = False
    blocks = map(_collapse_plain if plain else _collapse, _BLANK_LINES_RE.split(text))
    return "\n\n".join(block for block in blocks if block)


def _has_ascii_control(text: str) -> bool:
    data = text.encode("ascii")
    return len(data.translate(None, _ASCII_CONTROL)) != len(data)


def _collapse(block: str) -> str:
    """`" ".join(block.split())`, without splitting a block into words when stripping is enough."""
    # A printable block holds no whitespace but the space (every other Unicode space, line break
    # and control is non-printable), so with no run of spaces only its ends can change.
    if "  " not in block and block.isprintable():
        return block.strip()
    return " ".join(block.split())


def _collapse_plain(block: str) -> str:
    """`_collapse` of an ASCII block already known to hold no control character but newlines."""
    if "  " not in block and "\n" not in block:
        return block.strip()
    return " ".join(block.split())


def normalize_line(text: str | None) -> str:
    """A one-line field (a title) in canonical form: all whitespace collapsed to single spaces."""
    return " ".join(normalize_text(text).split())


def normalize_date(
    published_at: datetime | None, published_date: date | None, precision: str | None
) -> str:
    """The date as one comparable string: the UTC instant when a time is known, else the day."""
    if published_at is not None:
        return published_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ") + f" ({precision})"
    if published_date is not None:
        return f"{published_date.isoformat()} ({precision})"
    return ""


def fingerprint_fields(
    *,
    title: str | None,
    body_text: str | None,
    published_at: datetime | None,
    published_date: date | None,
    precision: str | None,
    normal_body: bool = False,
) -> dict[str, str]:
    """The normalized fields a version is compared on (also what diffs are computed over).

    `normal_body` is the caller's word that `body_text` is as `normalize_text` leaves it, but
    for HTML entities (the crawler's body extraction gives exactly that; its tests hold it to
    it): a body without `&` is then taken as it is, without another pass over its ~30 KB.
    """
    if normal_body and body_text is not None and "&" not in body_text:
        body = body_text
    else:
        body = normalize_text(body_text)
    return {
        "title": normalize_line(title),
        "date": normalize_date(published_at, published_date, precision),
        "body_text": body,
    }


def content_hash(fields: Mapping[str, str]) -> str:
    """SHA-256 (hex) of the normalized fields: the fingerprint of one distinct content."""
    # Exactly json.dumps(list, ensure_ascii=False), without the encoder's set-up per call.
    payload = "[" + ", ".join(_json_string(fields.get(k, "")) for k in FINGERPRINT_FIELDS) + "]"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _json_string(text: str) -> str:
    """`json.encoder.encode_basestring(text)`; a body is escaped by three C replaces when it can be."""
    # With ensure_ascii=False JSON escapes only `"`, `\\` and controls; the only control a
    # normalized ASCII text usually holds is the newline between paragraphs.
    if len(text) < 512 or not text.isascii() or _has_ascii_control(text):
        return encode_basestring(text)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'


class Content(Protocol):
    """What fingerprints are computed from: an `Article`, or a stored version row."""

    @property
    def title(self) -> str | None: ...
    @property
    def body_text(self) -> str | None: ...
    @property
    def published_at(self) -> datetime | None: ...
    @property
    def published_date(self) -> date | None: ...
    @property
    def date_precision(self) -> str | None: ...


def content_fields(content: Content, *, normal_body: bool = False) -> dict[str, str]:
    """`fingerprint_fields` of an article or a stored version."""
    return fingerprint_fields(
        title=content.title,
        body_text=content.body_text,
        published_at=content.published_at,
        published_date=content.published_date,
        precision=content.date_precision,
        normal_body=normal_body,
    )


def article_fingerprint(article: Article, *, normal_body: bool = False) -> str:
    """The content hash a stored version of `article` has: what decides that it changed.

    `normal_body`: see `fingerprint_fields`.
    """
    return content_hash(content_fields(article, normal_body=normal_body))
