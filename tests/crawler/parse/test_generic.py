"""Generic extraction (no article selectors) agrees with the selector-based parse on real pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crawler.model import Page
from crawler.parse.article import parse_article
from crawler.parse.generic import BODY_SELECTORS, DATE_SELECTORS, TITLE_SELECTORS
from crawler.parse.text import first_words
from tests.crawler.parse.support import real_names, real_page, sidecar, source_for

ARTICLES = [
    n
    for n in real_names()
    if str(sidecar(n).get("page_type", "article")) == "article" or n == "wang-yi-blinken-2021"
]


@pytest.mark.parametrize("name", ARTICLES)
def test_generic_matches_selectors(name: str) -> None:
    """Without `article:` selectors a real page gets the same title and body opening as with them."""
    with_selectors = parse_article(real_page(name), source_for(name))
    generic = parse_article(real_page(name), source_for(name, article=None))
    assert generic.title == with_selectors.title
    assert first_words(generic.body_text) == first_words(with_selectors.body_text)
    assert generic.published_date == with_selectors.published_date
    for chrome in ("Suggest to a friend", "打印本页", "相关新闻", "Please enter"):
        assert chrome not in generic.body_text


def test_fallback_tables_are_not_empty() -> None:
    """Each fallback table has entries (an empty group would silently disable a fallback)."""
    assert BODY_SELECTORS and TITLE_SELECTORS and DATE_SELECTORS


def test_fallback_body_when_trafilatura_finds_nothing(page_from: Callable[..., Page]) -> None:
    """A page too thin for trafilatura still gets its body from the fallback selector table."""
    text = "Short statement of the spokesperson on the situation, issued today in the capital city."
    # trafilatura discards a block classed as comments; the fallback table still knows the id.
    html = f'<html><head><title>Statement</title></head><body><div id="News_Body_Txt_A" class="comments"><p>{text}</p></div></body></html>'
    page = page_from(html)
    art = parse_article(page, source_for("china-zh-article-1", article=None))
    assert art.title == "Statement"
    assert art.body_text == text
