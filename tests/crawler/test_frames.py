"""The worker frames carry every field of a page, a listing item and a prepared article."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from crawler.errors import SoftErrorPage
from crawler.model import ListingItem, Page
from crawler.workers import frames
from crawler.workers.prepare import Prepared
from storage.codecs import pack
from storage.model import Article, ArticleDate, DatePrecision, DateSource, RawResponse

SHANGHAI = ZoneInfo("Asia/Shanghai")
MINUTE = ArticleDate(
    date(2021, 11, 13),
    DatePrecision.MINUTE,
    DateSource.PAGE,
    datetime(2021, 11, 13, 14, 12, tzinfo=SHANGHAI),
)
DAY = ArticleDate(date(2020, 7, 3), DatePrecision.DAY, DateSource.TITLE)


def _body(data: bytes) -> memoryview:
    assert int.from_bytes(data[: frames.HEADER], "big") == len(data) - frames.HEADER
    return memoryview(data)[frames.HEADER :]


def test_the_codec_knows_every_field_of_the_models() -> None:
    """A field added to a model must be added to the frames too (this list fails first)."""
    assert [f.name for f in fields(RawResponse)] == [
        "url", "final_url", "status", "headers", "body", "fetched_at", "redirects", "rendered",
    ]  # fmt: skip
    assert [f.name for f in fields(ListingItem)] == [
        "url", "title", "date", "section", "listing_url", "feed_body_html", "guid", "updated",
    ]  # fmt: skip
    assert [f.name for f in fields(Article)] == [
        "source", "url", "title", "body_text", "body_html", "date", "section", "language",
        "markers",
    ]  # fmt: skip
    assert [f.name for f in fields(ArticleDate)] == [
        "published_date", "precision", "source", "published_at",
    ]  # fmt: skip
    assert [f.name for f in fields(Prepared)] == [
        "article", "digest", "packed", "capped", "fts", "version_body",
    ]  # fmt: skip


def test_a_request_carries_the_page_item_and_source() -> None:
    """Every field of the raw response and of the listing item comes back equal; text is left out."""
    raw = RawResponse(
        "https://x.org/a?utm_source=1",
        "https://x.org/a",
        200,
        (("Content-Type", "text/html"), ("ETag", '"1"')),
        "<html>外交部</html>".encode(),
        datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC),
        ("https://x.org/old",),
        "<html><p>外交部 rendered</p></html>".encode(),
    )
    page = Page(raw=raw, text="decoded", charset="utf-8", charset_rule="meta")
    item = ListingItem(
        "https://x.org/a",
        "A title",
        MINUTE,
        "News",
        "https://x.org/list",
        "<p>b</p>",
        "g-1",
        "2026-01-02T00:00:00Z",
    )
    req = frames.read_request(_body(frames.request(7, b"src", page, item, "https://x.org/a")))
    assert (req.source_id, req.source, req.forget, req.url, req.fts) == (
        7, b"src", False, "https://x.org/a", False,
    )  # fmt: skip
    assert req.page.raw == raw and req.page.text == "" and req.item == item
    again = frames.read_request(
        _body(frames.request(7, None, page, None, "u", forget=True, fts=True))
    )
    assert (again.source, again.forget, again.item, again.fts) == (None, True, None, True)


def test_an_answer_carries_the_prepared_article_or_the_error() -> None:
    """A prepared article comes back equal (dates, zone, enums, packed body); an error as itself."""
    cases = (
        (MINUTE, pack(b"raw bytes"), (), None),
        (DAY, None, ("title",), (None, "one two")),
        (None, None, (), ("台湾 湾", None)),
    )
    for when, packed, capped, fts in cases:
        article = Article(
            "cn-mfa-en",
            "https://x.org/a",
            "Title",
            "One.\n\nTwo.",
            "<p>One.</p>",
            when,
            "News",
            "en",
            (("displayed", "2021-11-13 14:12"), ("modified", "2021-11-14")),
        )
        prepared = Prepared(article, "f" * 64, packed, capped, fts)
        back = frames.read_answer(_body(frames.answer(prepared)))
        assert back == prepared
        assert isinstance(back, Prepared) and back.article.date == when
    error = SoftErrorPage("https://x.org/e", "soft 404", blocked=False)
    back_error = frames.read_answer(_body(frames.failure(error)))
    assert type(back_error) is SoftErrorPage and str(back_error) == str(error)
