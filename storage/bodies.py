"""A version's text and sanitized HTML packed into one zstd frame, each paragraph stored once.

The HTML of a version repeats its text: the same paragraphs, with tags around them. Packed, the
HTML keeps only its skeleton: each paragraph of the text found in it (in order) becomes a
marker `NUL index SOH`, and the frame holds `text NUL skeleton`, so the words cost once. An HTML
that holds NUL or SOH itself is packed whole after the text instead. A text holding NUL, or an
empty text, is not packed (`pack_body` gives None): the version keeps its plain columns.

    data = pack_body(text, html)      # bytes, or None
    unpack_body(data) == (text, html)
    unpack_text(data) == text         # without rebuilding the HTML

Where the packed body is stored, and when (SQLite only; PostgreSQL compresses large text
itself): `storage.schema.VersionRow` and `storage.versions.rows.stored_body`. Free of database
imports, like `storage.codecs`, so that a parse worker packs a version away from the event loop.
"""

from __future__ import annotations

import threading

import zstandard

# Level 2: on the synthetic crawl's pages 5 % smaller than level 1 for 10 % more CPU, and both
# smaller and faster than level 3 (docs/benchmarks.md, storage size).
LEVEL = 2
_SKELETON = b"\x01"  # data = format byte + zstd(text NUL skeleton)
_WHOLE = b"\x02"  # data = format byte + zstd(text NUL html)
_PREFIX = 16  # characters looked for first (see `_skeleton`)
_MIN_PARAGRAPH = 16  # shorter paragraphs are left in the skeleton: a marker would cost as much
# The SQLite function (body, body_text) -> text that SQL reads a version's text with (registered
# on every connection by `storage.engine`; `storage.schema.body_text_sql` calls it).
SQL_FUNCTION = "mfw_body_text"
_ZSTD = threading.local()  # zstd (de)compressor objects must not be shared between threads


def _compressor() -> zstandard.ZstdCompressor:
    if not hasattr(_ZSTD, "c"):
        _ZSTD.c = zstandard.ZstdCompressor(level=LEVEL)
    return _ZSTD.c


def _decompress(data: bytes) -> bytes:
    if not hasattr(_ZSTD, "d"):
        _ZSTD.d = zstandard.ZstdDecompressor()
    return bytes(_ZSTD.d.decompress(data[1:]))


def _skeleton(paragraphs: list[str], html: str) -> str:
    out: list[str] = []
    at = 0
    for i, paragraph in enumerate(paragraphs):
        if len(paragraph) < _MIN_PARAGRAPH:
            continue
        # A paragraph is mostly where its first words are next: finding those and comparing
        # the rest is several times faster than finding the whole paragraph.
        found = html.find(paragraph[:_PREFIX], at)
        if found < 0:
            continue
        if not html.startswith(paragraph, found):
            found = html.find(paragraph, found)
            if found < 0:
                continue
        out += (html[at:found], f"\x00{i}\x01")
        at = found + len(paragraph)
    out.append(html[at:])
    return "".join(out)


def pack_body(text: str, html: str) -> bytes | None:
    """The packed text and HTML of a version; None when the text is empty or holds NUL."""
    if not text or "\x00" in text:
        return None
    if "\x00" in html or "\x01" in html:
        kind, rest = _WHOLE, html
    else:
        kind, rest = _SKELETON, _skeleton(text.split("\n\n"), html)
    return kind + _compressor().compress(f"{text}\x00{rest}".encode())


def unpack_text(data: bytes) -> str:
    """The text of a packed body."""
    raw = _decompress(data)
    return raw[: raw.index(b"\x00")].decode()


def unpack_body(data: bytes) -> tuple[str, str]:
    """The text and HTML of a packed body."""
    text, _, rest = _decompress(data).decode().partition("\x00")
    if data[:1] == _WHOLE:
        return text, rest
    paragraphs = text.split("\n\n")
    parts = rest.split("\x00")
    html = [parts[0]]
    for part in parts[1:]:
        index, _, after = part.partition("\x01")
        html += (paragraphs[int(index)], after)
    return text, "".join(html)


def read_body(
    packed: bytes | None, text: str | None, html: str | None
) -> tuple[str | None, str | None]:
    """A stored version's (text, HTML), from its packed body or else its plain columns."""
    if packed is None:
        return text, html
    return unpack_body(packed)


def read_text(packed: bytes | None, text: str | None) -> str | None:
    """A stored version's text, from its packed body or else its plain column."""
    return text if packed is None else unpack_text(packed)
