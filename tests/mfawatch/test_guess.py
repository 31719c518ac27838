"""Guessing list selectors on the saved real listing pages: the guesses equal the hand-written
selectors of the shipped presets."""

from __future__ import annotations

from pathlib import Path

import pytest

from mfawatch.guess import country_of, guess_list, is_feed, key_for

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
