"""Every real saved page parses to what its sidecar says; the seed article parses exactly."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import pytest

from crawler.errors import SoftErrorPage
from crawler.parse import soft_errors
from crawler.parse.article import parse_article
from crawler.parse.feed import article_from_feed_item, parse_feed
from crawler.parse.listing import parse_listing
from storage.model import Article, DatePrecision, DateSource
from tests.crawler.parse.support import real_names, real_page, sidecar, source_for, source_url

# The sidecars describe the date's origin in prose; here is what the parser must record.
DATE_SOURCE = {
    "china-en-article-1": DateSource.TITLE,  # #News_Body_Time is empty
    "china-en-article-2": DateSource.TITLE,
    "china-zh-article-1": DateSource.PAGE,
    "china-zh-article-2": DateSource.PAGE,
    "china-zh-article-3": DateSource.PAGE,
    "china-zh-article-4": DateSource.PAGE,
}
# Chrome that must never reach a body (the sidecars' boilerplate lists, as strings).
CHROME = (
    "Suggest to a friend",
    "Print",
    "Please enter",
    "Appendix",
    "Related News",
    "打印本页",
    "字体",
    "相关新闻",
    "document.getElementById",
    "function(",
)


def _kind(name: str) -> str:
    page_type = str(sidecar(name).get("page_type", "article"))
    if name == "wang-yi-blinken-2021":
        return "seed"
    return page_type.split(" ")[0].split("/")[0]


def _check_article(name: str, article: Article, expected: dict[str, Any]) -> None:
    assert article.title == expected["title"]
    assert article.published_date == date.fromisoformat(expected["published_date"])
    if expected.get("published_time") is None:
        assert article.date_precision is DatePrecision.DAY
        assert article.published_at is None
    assert article.date_source is DATE_SOURCE[name]
    assert article.section == expected["section"]
    assert abs(len(article.paragraphs) - expected["body_paragraph_count"]) <= 1
    assert article.body_text.startswith(expected["body_first_words"])
    assert article.body_text.endswith(expected["body_last_words"])
    for chrome in CHROME:
        assert chrome not in article.body_text, chrome
        assert chrome not in article.body_html, chrome
    assert "<script" not in article.body_html and "style=" not in article.body_html


def _listing_item_matches(item: Any, want: dict[str, Any], base: str) -> None:
    if "url" in want:
        assert item.url == want["url"]
    elif "href" in want:
        assert item.url == urljoin(base, want["href"])
    assert item.title == want["title"]
    if "date" in want:
        assert item.date.published_date == date.fromisoformat(want["date"])
        assert item.date.source is DateSource.LISTING
    if "date_from_title" in want:
        assert item.date.published_date == date.fromisoformat(want["date_from_title"])
        assert item.date.source is DateSource.TITLE
    if "published" in want:
        assert item.date.published_at == datetime.fromisoformat(want["published"])
        assert item.date.precision is DatePrecision.MINUTE


def _check_listing(name: str, expected: dict[str, Any]) -> None:
    source = source_for(name)
    listing = source.listings[0]
    page = real_page(name)
    result = parse_listing(page, source, listing)
    assert len(result.items) == expected["items_count"]
    for index, want in enumerate(expected.get("first_items", ())):
        _listing_item_matches(result.items[index], want, page.url)
    _listing_item_matches(result.items[-1], expected["last_item"], page.url)
    by_url = {item.url: item for item in result.items}
    for want in expected.get("fco_items", ()):
        _listing_item_matches(by_url[want["url"]], want, page.url)
    assert all(item.section == listing.section for item in result.items)
    if not expected.get("items_have_dates", True):
        assert all(
            item.date is None or item.date.source is DateSource.TITLE for item in result.items
        )
    next_url = expected.get("pagination", {}).get("next_page_url")
    if name == "uk-listing-1":
        assert result.next_url == urljoin(page.url, next_url)


def _check_feed(name: str, expected: dict[str, Any]) -> None:
    source = source_for(name)
    result = parse_feed(real_page(name), source, source.listings[0])
    assert len(result.items) == expected["items_count"]
    for item, want in zip(result.items, expected["first_items"], strict=False):
        assert item.title == want["title"]
        assert item.url == want["link"]
        assert item.guid == want["guid"]
        assert item.date is not None and item.date.source is DateSource.FEED
        assert item.date.published_at == datetime.fromisoformat(want["published"])
        assert item.feed_body_html is not None
        assert article_from_feed_item(item, source).body_text.startswith(want["body_first_words"])
    if "last_item" in expected:
        last = result.items[-1]
        assert last.title == expected["last_item"]["title"]
        assert last.date is not None
        assert last.date.published_at == datetime.fromisoformat(expected["last_item"]["published"])


@pytest.mark.parametrize("name", real_names())
def test_real_page_parses_to_its_sidecar(name: str) -> None:
    """Each real page yields its sidecar's fields (articles, listings, feeds) or is rejected (errors)."""
    expected = sidecar(name)["expected"]
    kind = _kind(name)
    if kind == "article":
        article = parse_article(real_page(name), source_for(name))
        _check_article(name, article, expected)
        assert article.language == source_for(name).language
    elif kind == "listing":
        _check_listing(name, expected)
    elif kind == "feed":
        _check_feed(name, expected)
    elif kind == "error":
        page = real_page(name)
        source = source_for(name)
        with pytest.raises(SoftErrorPage) as err:
            soft_errors.check(page)
        assert err.value.blocked is False
        with pytest.raises(SoftErrorPage):
            parse_article(page, source)
        with pytest.raises(SoftErrorPage):
            parse_listing(page, source, source.listings[0])
    elif kind == "seed":
        article = parse_article(real_page(name), source_for(name))
        assert article.title == expected["title"]
    else:  # pragma: no cover - a new kind of sidecar needs a branch here
        pytest.fail(f"unknown page_type for {name}")


def test_real_article_pages_are_not_soft_errors() -> None:
    """The soft-error table never fires on a real article, listing or feed."""
    for name in real_names():
        if _kind(name) != "error":
            assert soft_errors.classify(real_page(name)) is None, name


def test_seed_article_parses_exactly() -> None:
    """The seed page gives its exact title, minute-precise Beijing time, section and five paragraphs."""
    name = "wang-yi-blinken-2021"
    expected = sidecar(name)["expected"]
    article = parse_article(real_page(name), source_for(name))
    assert article.url == source_url(name)
    assert article.title == "Wang Yi Speaks on the Phone with US Secretary of State Blinken"
    assert article.title == expected["title"]
    assert article.published_at == datetime.fromisoformat("2021-11-13T14:12:00+08:00")
    assert article.published_at is not None
    assert article.published_at.utcoffset() == timedelta(hours=8)
    assert str(article.published_at.tzinfo) == "Asia/Shanghai"
    assert article.published_date == date(2021, 11, 13)
    assert article.date_precision is DatePrecision.MINUTE
    assert article.date_source is DateSource.PAGE
    assert article.date is not None
    assert article.date.describe() == "2021-11-13 14:12 +08:00 (minute, page)"
    assert article.section == "China News" == expected["section"]
    assert article.language == "en"
    assert len(article.paragraphs) == 5 == expected["paragraphs"]
    assert article.body_text.startswith(expected["body_first_words"])
    assert article.body_text.endswith(expected["body_last_words"])
    assert article.body_text.count("\n\n") == 4
    for text in expected["must_not_contain"]:
        assert text not in article.body_text
        assert text not in article.body_html
    assert article.body_html.count("<p>") == 5
