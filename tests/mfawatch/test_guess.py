"""Guessing list selectors on the saved real listing pages: the guesses equal the hand-written
selectors of the shipped presets."""

from __future__ import annotations

from pathlib import Path

import pytest

from mfawatch.guess import country_of, guess_list, is_feed, key_for, page_language

REAL = Path(__file__).parents[1] / "fixtures" / "real-pages"


@pytest.mark.parametrize(
    ("page", "item", "count"),
    [
        ("china-en-listing-1.html", "div.newsLst_mod ul li", 40),
        ("china-zh-listing-1.html", "div.rebox_news ul li", 15),
        ("uk-listing-1.html", "ol.js-document-list li.document-row", 40),
    ],
)
def test_list_selectors_are_guessed_from_repeated_links(page: str, item: str, count: int) -> None:
    """The largest group of repeated title links is the list; navigation menus are not."""
    guess = guess_list((REAL / page).read_bytes().decode("utf-8", "replace"))
    assert guess is not None and (guess.item, guess.link, guess.items) == (item, "a", count)


def test_feeds_keys_and_countries() -> None:
    """A feed is told by its root element even when served as text/html; keys are unique."""
    assert is_feed("text/html", (REAL / "us-feed-1.xml").read_bytes())
    assert not is_feed("text/html", (REAL / "uk-listing-1.html").read_bytes())
    assert is_feed("application/atom+xml; charset=utf-8", b"")
    assert key_for("https://www.fmprc.gov.cn/eng/", {"fmprc-gov-cn"}) == "fmprc-gov-cn-2"
    assert (country_of("https://www.mfa.gov.cn/"), country_of("https://www.gov.uk/x")) == (
        "CN",
        "GB",
    )
    assert (
        country_of("http://127.0.0.1:8080/") is None and country_of("https://example.com") is None
    )


@pytest.mark.parametrize(
    ("page", "language"),
    [
        ("china-zh-listing-1.html", "zh"),  # no <html lang>: its text is Han
        ("china-zh-article-1.html", "zh"),
        ("china-en-listing-1.html", None),  # no lang, Latin text: no guess (the default applies)
        ("uk-listing-1.html", "en"),  # <html lang="en">
    ],
)
def test_the_language_of_a_real_page(page: str, language: str | None) -> None:
    """`<html lang>` first; without it, the script of the visible text (scripts and styles
    left out: fmprc's menus are JavaScript with Latin words)."""
    assert page_language((REAL / page).read_bytes().decode("utf-8", "replace")) == language


def test_the_language_from_a_meta_or_a_script() -> None:
    """A content-language meta counts; kana makes Japanese even beside kanji; Cyrillic Russian;
    a declaration wins over the script; a few foreign words do not make a language."""
    assert page_language('<meta http-equiv="Content-Language" content="de-DE"><p>x</p>') == "de"
    assert page_language("<p>外務省は岸田総理の訪問について発表しました</p>") == "ja"
    assert page_language("<p>Министерство иностранных дел России</p>") == "ru"
    assert page_language('<html lang="en"><p>外交部发言人</p>') == "en"
    assert page_language("<p>The spokesperson of 外交部 said the ministry will answer</p>") is None
    assert page_language("<script>var 中文 = 1;</script><p>only English here</p>") is None
