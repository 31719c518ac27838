"""Listing pages: items by selectors, dates, attribute selectors, pagination, errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from crawler.config import Listing, ListSelectors, Source
from crawler.errors import ParseError, SelectorMatchedNothing
from crawler.model import Page
from crawler.parse.listing import page_count, page_urls, parse_listing
from storage.model import DatePrecision, DateSource
from tests.crawler.parse.support import real_page, source_for

LISTING_URL = "https://www.example.gov/news/index.html"


def _source(**list_selectors: Any) -> Source:
    return Source.model_validate(
        {
            "key": "test",
            "name": "Test ministry",
            "country": "JP",
            "language": "en",
            "timezone": "Asia/Tokyo",
            "listings": [{"url": LISTING_URL, "section": "Press Releases"}],
            "list": list_selectors,
        }
    )


def _listing(**kw: Any) -> Listing:
    return Listing.model_validate({"url": LISTING_URL, **kw})


def test_china_listing_pagination_is_cut_at_count_page() -> None:
    """The fmprc pager script's countPage bounds the template pages (13 pages: default_1..12)."""
    first = real_page("china-en-listing-1")
    last = real_page("china-en-listing-2")
    assert page_count(first) == 13 and page_count(last) == 13
    listing = source_for("china-en-listing-1").listings[0]
    urls = page_urls(listing, page_count(first))
    assert len(urls) == 12
    assert urls[0].endswith("/2511_665403/default_1.shtml")
    assert urls[-1].endswith("/2511_665403/default_12.shtml")
    assert urls[-1] == last.url


def test_page_urls_respect_max_pages_and_first() -> None:
    """Without a page count, max_pages (the first page included) bounds the template pages."""
    listing = _listing(paginate={"template": "index_{n}.html", "first": 2, "max_pages": 3})
    assert page_urls(listing) == [
        "https://www.example.gov/news/index_2.html",
        "https://www.example.gov/news/index_3.html",
    ]
    assert page_urls(listing, page_count=1) == []
    assert page_urls(_listing()) == []
    assert page_urls(_listing(paginate={"next": "a.next"})) == []


def test_page_count_absent() -> None:
    """Pages without the fmprc pager script have no page count."""
    assert page_count(real_page("uk-listing-1")) is None


def test_own_text_dates_and_titles(page_from: Callable[..., Page]) -> None:
    """`date: text()` reads the item's own text after the link; items keep listing order and section."""
    html = """<ul>
      <li><a href="./t1.shtml">2020年7月3日外交部发言人赵立坚主持例行记者会</a>(2020-07-03)</li>
      <li><a href="t2.shtml"> Statement
          on  Hong Kong </a> (2020-06-30)</li>
      <li><a href="/abs/t3.shtml">No date here</a></li>
    </ul>"""
    result = parse_listing(
        page_from(html, LISTING_URL), _source(item="ul li", date="text()"), _listing(section="S")
    )
    first, second, third = result.items
    assert first.url == "https://www.example.gov/news/t1.shtml"
    assert first.date is not None and first.date.source is DateSource.LISTING
    assert first.date.published_date == date(2020, 7, 3)
    assert second.title == "Statement on Hong Kong"
    assert second.date is not None and second.date.published_date == date(2020, 6, 30)
    assert third.url == "https://www.example.gov/abs/t3.shtml" and third.date is None
    assert {i.section for i in result.items} == {"S"}
    assert {i.listing_url for i in result.items} == {LISTING_URL}
    assert result.next_url is None


def test_attribute_selectors_and_title_selector(page_from: Callable[..., Page]) -> None:
    """`sel@attr` reads attributes for link and date; a title selector overrides the link text."""
    html = """<div class="row"><h3>Title one</h3><a class="more" data-url="/one">more</a>
      <time datetime="2016-11-04T10:27:27+00:00">4 November 2016</time></div>"""
    src = _source(item="div.row", link="a.more@data-url", title="h3", date="time@datetime")
    (item,) = parse_listing(page_from(html, LISTING_URL), src, _listing()).items
    assert item.url == "https://www.example.gov/one"
    assert item.title == "Title one"
    assert item.date is not None and item.date.precision is DatePrecision.MINUTE
    assert item.date.published_at == datetime(2016, 11, 4, 10, 27, 27, tzinfo=UTC)
    assert item.date.published_date == date(2016, 11, 4)  # 19:27 in Tokyo, same day


def test_yearless_list_dates_use_the_fetch_day(page_from: Callable[..., Page]) -> None:
    """mofa.go.jp-style `December 28` seen in January is last year's December."""
    html = '<dl><dd><span class="d">December 28</span><a href="/p/1.html">Release</a></dd></dl>'
    page = page_from(html, LISTING_URL, fetched_at=datetime(2021, 1, 5, 1, 0, tzinfo=UTC))
    (item,) = parse_listing(page, _source(item="dd", date="span.d"), _listing()).items
    assert item.date is not None and item.date.published_date == date(2020, 12, 28)


def test_item_selector_can_select_links(page_from: Callable[..., Page]) -> None:
    """When `item` selects the <a> elements themselves, the item is its own link."""
    html = '<div class="list"><a href="/a">A</a><a href="/b">B</a></div>'
    result = parse_listing(page_from(html, LISTING_URL), _source(item="div.list a"), _listing())
    assert [i.url for i in result.items] == [
        "https://www.example.gov/a",
        "https://www.example.gov/b",
    ]


def test_unusable_links_are_skipped(page_from: Callable[..., Page]) -> None:
    """javascript:, mailto:, fragment-only and non-HTTP links yield no items."""
    html = """<ul><li><a href="javascript:void(0)">x</a></li><li><a href="mailto:a@b.c">m</a></li>
      <li><a href="#top">t</a></li><li><a href="ftp://host/f">f</a></li><li><a href="ok.html">ok</a></li></ul>"""
    result = parse_listing(page_from(html, LISTING_URL), _source(item="li"), _listing())
    assert [i.url for i in result.items] == ["https://www.example.gov/news/ok.html"]


def test_next_link_selector(page_from: Callable[..., Page]) -> None:
    """`paginate.next` gives the absolute next page; a missing next link ends pagination."""
    html = '<ul><li><a href="/x">x</a></li></ul><ul class="pager"><li class="next"><a href="?page=2">Next</a></li></ul>'
    listing = _listing(paginate={"next": "li.next a"})
    assert parse_listing(
        page_from(html, LISTING_URL), _source(item="ul > li"), listing
    ).next_url == ("https://www.example.gov/news/index.html?page=2")
    no_next = '<ul><li><a href="/x">x</a></li></ul>'
    assert (
        parse_listing(page_from(no_next, LISTING_URL), _source(item="li"), listing).next_url is None
    )


def test_item_selector_matching_nothing_is_an_error(page_from: Callable[..., Page]) -> None:
    """A list.item selector that matches nothing raises SelectorMatchedNothing naming it."""
    with pytest.raises(SelectorMatchedNothing) as err:
        parse_listing(
            page_from("<p>redesigned site</p>", LISTING_URL),
            _source(item="div.newsLst_mod li"),
            _listing(),
        )
    assert err.value.field == "list.item" and err.value.selector == "div.newsLst_mod li"
    assert err.value.url == LISTING_URL
    assert "div.newsLst_mod li" in str(err.value)


def test_link_selector_matching_nothing_is_an_error(page_from: Callable[..., Page]) -> None:
    """Items without any link element raise SelectorMatchedNothing for list.link."""
    with pytest.raises(SelectorMatchedNothing) as err:
        parse_listing(
            page_from("<ul><li>text only</li></ul>", LISTING_URL), _source(item="li"), _listing()
        )
    assert err.value.field == "list.link"


def test_invalid_selector_is_a_parse_error(page_from: Callable[..., Page]) -> None:
    """A selector lexbor cannot parse becomes a ParseError naming the field, not a traceback."""
    # Config validation already rejects it; built unvalidated to prove the parser's own guard.
    broken = _source(item="li").model_copy(
        update={"list": ListSelectors.model_construct(item="li[[", link="a", title=None, date=None)}
    )
    with pytest.raises(ParseError) as err:
        parse_listing(page_from("<ul><li>x</li></ul>", LISTING_URL), broken, _listing())
    assert "list.item" in str(err.value) and "li[[" in str(err.value)
