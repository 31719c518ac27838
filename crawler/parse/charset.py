"""Bytes to text: which charset a page is in, and which rule decided it.

Rules, in order (the first that gives a plausible decoding wins):

1. `bom`      a byte-order mark (UTF-8, UTF-16 LE/BE). It goes first, as in the WHATWG encoding
              standard: a BOM is unambiguous, a header may be stale.
2. `header`   the `charset=` of the HTTP Content-Type.
3. `meta`     `<meta charset>` or `<meta http-equiv=Content-Type content="...charset=...">` in the
              first 8 KB.
4. `detected` valid UTF-8 if the bytes are; else charset-normalizer; else UTF-8 with replacement.

A declared charset (header or meta) is used only when the bytes decode under it. Two documented
exceptions: a Latin-1-family declaration (iso-8859-1, windows-1252, ascii) over bytes that are valid
UTF-8 with non-ASCII characters is taken as a mis-declaration and skipped (fmprc's English pages
"often mis-declare charset"); and a UTF-8 declaration with a few broken bytes keeps UTF-8 with
U+FFFD instead of falling through to a guess. gb2312 and gbk are decoded as gb18030, their superset
(real "gb2312" pages contain GBK characters such as 镕).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import replace

from crawler.model import Page

META_WINDOW = 8192
_META = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""",
    re.IGNORECASE,
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Declared names replaced by a superset that decodes everything the declared one does.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "euc-cn": "gb18030",
    "iso-8859-1": "windows-1252",
    "latin1": "windows-1252",
    "latin-1": "windows-1252",
    "us-ascii": "windows-1252",
    "ascii": "windows-1252",
}
_LATIN1_FAMILY = {"cp1252", "latin_1", "iso8859-1", "ascii"}
# Codecs (Python's names) that decode each ASCII byte to itself and have no shift states: a
# pure-ASCII body reads the same under "ascii", which is decoded in C without the table lookups of
# cp1252 or gb18030. (iso-2022-*, hz and utf-7 are not in it: their ASCII bytes can shift.)
_ASCII_SUPERSETS = frozenset(
    {
        *_LATIN1_FAMILY,
        *(f"cp{n}" for n in range(1250, 1259)),
        *(f"iso8859-{n}" for n in (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16)),
        "koi8-r",
        "koi8-u",
        "gb18030",
        "gbk",
        "gb2312",
        "big5",
        "big5hkscs",
        "cp950",
        "euc_jp",
        "shift_jis",
        "cp932",
        "euc_kr",
        "cp949",
        "tis-620",
    }
)


def normalize_charset(name: str) -> str | None:
    """The Python codec name for a declared charset (with supersets applied), or None if unknown."""
    low = name.strip().strip("\"'").lower()
    low = _SUPERSETS.get(low, low)
    try:
        return codecs.lookup(low).name
    except LookupError:
        return None


def header_charset(content_type: str | None) -> str | None:
    """The raw `charset=` value of a Content-Type header, if any."""
    if not content_type:
        return None
    m = _HEADER_CHARSET.search(content_type)
    return m.group(1) if m else None


def meta_charset(body: bytes) -> str | None:
    """The raw charset declared by a `<meta>` in the first 8 KB, if any."""
    m = _META.search(body[:META_WINDOW])
    return m.group(1).decode("ascii", "replace") if m else None


class _Utf8:
    """The strict UTF-8 decoding of one body, done at most once however many rules ask for it."""

    __slots__ = ("_body", "_done", "_text")

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._done = False
        self._text: str | None = None

    def text(self) -> str | None:
        """The body as UTF-8 text, or None if it is not valid UTF-8."""
        if not self._done:
            self._done = True
            try:
                self._text = self._body.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return self._text


def _try_declared(body: bytes, declared: str | None, utf8: _Utf8) -> tuple[str, str] | None:
    """Decode under a declared charset if that is plausible; (text, codec) or None."""
    if declared is None:
        return None
    codec = normalize_charset(declared)
    if codec is None or codec.startswith("utf-16"):
        # WHATWG: a utf-16 label without a BOM cannot be trusted for ASCII-compatible markup.
        return None
    if codec == "utf-8":
        text = utf8.text()
        if text is not None:
            return text, codec
        text = body.decode("utf-8", "replace")
        if text.count("\ufffd") <= max(8, len(body) // 200):
            return text, codec
        return None
    if codec in _ASCII_SUPERSETS and body.isascii():
        return body.decode("ascii"), codec  # the same text, decoded many times faster
    if codec in _LATIN1_FAMILY and utf8.text() is not None:
        return None  # valid non-ASCII UTF-8 under a Latin-1 label: a mis-declaration
    try:
        return body.decode(codec), codec
    except UnicodeDecodeError:
        return None


def _detect(body: bytes, utf8: _Utf8) -> tuple[str, str]:
    text = utf8.text()
    if text is not None:
        return text, "utf-8"
    from charset_normalizer import from_bytes  # rarely reached: imported then

    best = from_bytes(body).best()
    if best is not None and best.encoding:
        codec = normalize_charset(best.encoding) or "utf-8"
        try:
            return body.decode(codec), codec
        except UnicodeDecodeError:
            pass
    return body.decode("utf-8", "replace"), "utf-8"


def decode(body: bytes, content_type: str | None) -> tuple[str, str, str]:
    """Decode a response body; returns (text, charset, rule) with rule in bom|header|meta|detected."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(codec, "replace"), codec, "bom"
    declared = header_charset(content_type)
    if not body:
        codec = (normalize_charset(declared) if declared else None) or "utf-8"
        return "", codec, "header" if declared else "detected"
    utf8 = _Utf8(body)
    hit = _try_declared(body, declared, utf8)
    if hit is not None:
        return hit[0], hit[1], "header"
    hit = _try_declared(body, meta_charset(body), utf8)
    if hit is not None:
        return hit[0], hit[1], "meta"
    text, codec = _detect(body, utf8)
    return text, codec, "detected"


def with_text(page: Page) -> Page:
    """`page` with its text decoded from its raw bytes (itself when it already is)."""
    if page.charset_rule:
        return page
    if page.raw.rendered is not None:  # a browser's DOM, serialized as UTF-8 by the fetcher
        text = page.raw.rendered.decode("utf-8", errors="replace")
        return replace(page, text=text, charset="utf-8", charset_rule="rendered")
    text, charset, rule = decode(page.raw.body, page.raw.header("content-type"))
    return replace(page, text=text, charset=charset, charset_rule=rule)
