"""What crosses the pipe between the crawler and a parse worker: a page out, a prepared article back.

A frame is a 4-byte length and a pickle of flat tuples of plain values (str, bytes, numbers,
dates), not of the model's objects: pickling a page or an answer object by object cost three times
as much as its strings and bytes did (each dataclass, enum and named tuple is a Python reduce
call and a class reference). The other side rebuilds the values through the models' own
constructors, so they are validated as any new value is.

A page travels without its decoded text (the worker decodes the raw bytes again, with the same
`parse.charset.decode`): half the bytes to copy. A failure travels as the exception itself.
"""

from __future__ import annotations

import pickle
from typing import Any, NamedTuple

from crawler.model import ListingItem, Page
from crawler.workers.prepare import Prepared
from storage.codecs import PackedBody
from storage.model import Article, ArticleDate, DatePrecision, DateSource, RawResponse

HEADER = 4  # frame length, big-endian
_PROTOCOL = pickle.HIGHEST_PROTOCOL
_PRECISIONS = {p.value: p for p in DatePrecision}
_DATE_SOURCES = {s.value: s for s in DateSource}

_Flat = tuple[Any, ...]


def frame(value: object) -> bytes:
    """`value` pickled, behind its length."""
    data = pickle.dumps(value, protocol=_PROTOCOL)
    return len(data).to_bytes(HEADER, "big") + data


def request(
    source_id: int,
    source: bytes | None,
    page: Page,
    item: ListingItem | None,
    url: str,
    *,
    forget: bool = False,
    fts: bool = False,
) -> bytes:
    """The frame asking a worker to prepare `page` as the article `url`.

    `source` is the pickled `Source` the first time a worker is sent `source_id`, else None;
    `forget` tells the worker to drop the sources it was sent before (before taking this one);
    `fts` asks for what a SQLite store takes beside the article: the search index input of its
    text (`Prepared.fts`) and its packed text and HTML (`Prepared.version_body`).
    """
    raw = page.raw
    flat_raw = (
        raw.url,
        raw.final_url,
        raw.status,
        raw.headers,
        raw.body,
        raw.fetched_at,
        raw.redirects,
        raw.rendered,
    )
    return frame((source_id, source, forget, flat_raw, _item_fields(item), url, fts))


class Request(NamedTuple):
    """A request frame, read: the page's text is not decoded (empty)."""

    source_id: int
    source: bytes | None
    forget: bool
    page: Page
    item: ListingItem | None
    url: str
    fts: bool


def read_request(data: bytes | memoryview) -> Request:
    """A request frame's body back."""
    source_id, source, forget, flat_raw, flat_item, url, fts = pickle.loads(data)
    page = Page(raw=RawResponse(*flat_raw), text="", charset="", charset_rule="")
    return Request(source_id, source, forget, page, _item_from(flat_item), url, fts)


def answer(prepared: Prepared) -> bytes:
    """The frame carrying a prepared article back."""
    a = prepared.article
    flat = (a.source, a.url, a.title, a.body_text, a.body_html, _date_fields(a.date))
    packed = None if prepared.packed is None else tuple(prepared.packed)
    return frame(
        (
            True,
            (*flat, a.section, a.language, a.markers),
            prepared.digest,
            packed,
            prepared.capped,
            prepared.fts,
            prepared.version_body,
        )
    )


def failure(exc: Exception) -> bytes:
    """The frame carrying the exception a page raised (it must survive pickling)."""
    return frame((False, exc, None, None, (), None, None))


def read_answer(data: bytes | memoryview) -> Prepared | Exception:
    """An answer frame's body back: the prepared article, or the exception to raise."""
    ok, value, digest, packed, capped, fts, version_body = pickle.loads(data)
    if not ok:
        assert isinstance(value, Exception)
        return value
    source, url, title, body_text, body_html, date, section, language, markers = value
    article = Article(
        source, url, title, body_text, body_html, _date_from(date), section, language, markers
    )
    raw_body = None if packed is None else PackedBody(*packed)
    return Prepared(article, digest, raw_body, capped, fts, version_body)


def _date_fields(d: ArticleDate | None) -> _Flat | None:
    if d is None:
        return None
    return (d.published_date, d.precision.value, d.source.value, d.published_at)


def _date_from(flat: _Flat | None) -> ArticleDate | None:
    if flat is None:
        return None
    published_date, precision, source, published_at = flat
    return ArticleDate(published_date, _PRECISIONS[precision], _DATE_SOURCES[source], published_at)


def _item_fields(item: ListingItem | None) -> _Flat | None:
    if item is None:
        return None
    return (
        item.url,
        item.title,
        _date_fields(item.date),
        item.section,
        item.listing_url,
        item.feed_body_html,
        item.guid,
        item.updated,
    )


def _item_from(flat: _Flat | None) -> ListingItem | None:
    if flat is None:
        return None
    url, title, date, section, listing_url, feed_body_html, guid, updated = flat
    return ListingItem(
        url, title, _date_from(date), section, listing_url, feed_body_html, guid, updated
    )
