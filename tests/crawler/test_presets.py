"""Every preset of config/sources.yaml parses its fixture listing (or feed) and article as expected.

Fixtures live in tests/fixtures/presets/<source-key>/: `listing.json` and `article.json`
sidecars name the page (`page`, relative to tests/fixtures: a real page under real-pages/ or a
page written for the preset, marked `"synthetic": true` with what it is `based_on`), the URL and
time it was fetched at, and the `expected` fields. The article is parsed with the listing item
whose URL is `item_url`, as the pipeline does (so listing dates are the fallback); a
`"kind": "feed-item"` article has no page of its own: the feed item's content is its body.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from crawler.config import Listing, Source
from crawler.model import ListingItem, ListingPage, Page
from crawler.parse.article import parse_article
from crawler.parse.charset import decode
from crawler.parse.feed import article_from_feed_item, parse_feed
from crawler.parse.listing import parse_listing
from mfawatch.settings.loader import load_config
from mfawatch.settings.models import Settings
from storage.model import Article, ArticleDate, RawResponse

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
PRESETS = FIXTURES / "presets"
PRESET_KEYS = sorted(p.name for p in PRESETS.iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def settings() -> Settings:
    """The shipped configuration, as users get it."""
    return load_config(ROOT / "config" / "sources.yaml", env={})


def _sidecar(key: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PRESETS / key / f"{name}.json").read_text(encoding="utf-8"))
    assert data["source"] == key
    if data["page"] is not None and data.get("synthetic") is not False:
        assert data["synthetic"] is True and data["based_on"], (
            "synthetic pages say what they follow"
        )
    return data


def _page(side: dict[str, Any]) -> Page:
    body = (FIXTURES / side["page"]).read_bytes()
    headers = (("Content-Type", side["content_type"]),)
    fetched = datetime.fromisoformat(side["fetched_at"].replace("Z", "+00:00"))
    raw = RawResponse(side["url"], side["url"], 200, headers, body, fetched)
    text, charset, rule = decode(body, side["content_type"])
    return Page(raw=raw, text=text, charset=charset, charset_rule=rule)


def _listing_of(source: Source, url: str) -> Listing:
    for listing in source.listings:
        if str(listing.url) == url:
            return listing
    raise AssertionError(f"{source.key}: sidecar URL {url} is not one of the preset's listings")


def _parse_listing(source: Source, side: dict[str, Any]) -> ListingPage:
    page, listing = _page(side), _listing_of(source, side["url"])
    if source.type == "feed":
        assert side["kind"] == "feed"
        return parse_feed(page, source, listing)
    assert side["kind"] == "listing"
    return parse_listing(page, source, listing)


def _check_date(got: ArticleDate | None, want: dict[str, Any], where: str) -> None:
    if "published_date" not in want:
        return
    if want["published_date"] is None:
        assert got is None, f"{where}: expected no date, got {got}"
        return
    assert got is not None, f"{where}: no date"
    assert got.published_date == date.fromisoformat(want["published_date"]), where
    if "published_at" in want:
        at = want["published_at"]
        if at is None:
            assert got.published_at is None, where
        else:
            assert got.published_at is not None, where
            assert got.published_at.isoformat() == datetime.fromisoformat(at).isoformat(), where
    if "date_precision" in want:
        assert got.precision.value == want["date_precision"], where
    if "date_source" in want:
        assert got.source.value == want["date_source"], where


def _check_article(article: Article, want: dict[str, Any], where: str) -> None:
    assert article.title == want["title"], where
    _check_date(article.date, want, where)
    assert article.section == want["section"], where
    text = article.body_text
    assert text.startswith(want["body_first_words"]), f"{where}: body starts {text[:120]!r}"
    if "body_last_words" in want:
        assert text.endswith(want["body_last_words"]), f"{where}: body ends {text[-120:]!r}"
    if "body_paragraphs" in want:
        assert abs(len(article.paragraphs) - want["body_paragraphs"]) <= 1, where
    for absent in want.get("body_absent", ()):
        assert absent not in text, f"{where}: page chrome {absent!r} in the body"


def test_every_preset_has_fixtures(settings: Settings) -> None:
    """Each source in the shipped config has a fixture folder, and each folder a source."""
    assert PRESET_KEYS == sorted(s.key for s in settings.sources)
    for key in PRESET_KEYS:
        assert (PRESETS / key / "listing.json").exists() and (
            PRESETS / key / "article.json"
        ).exists()


@pytest.mark.parametrize("key", PRESET_KEYS)
def test_preset_parses_its_listing(settings: Settings, key: str) -> None:
    """The preset's selectors (or feed) give the expected items from its fixture listing."""
    source = settings.source(key)
    side = _sidecar(key, "listing")
    page = _parse_listing(source, side)
    want = side["expected"]
    assert len(page.items) == want["items_count"], [i.url for i in page.items]
    for spec in want["items"]:
        item = page.items[spec["index"]]
        where = f"{key} listing item {spec['index']}"
        assert item.url == spec["url"], where
        assert item.title == spec["title"], where
        if "section" in spec:
            assert item.section == spec["section"], where
        _check_date(item.date, spec, where)


@pytest.mark.parametrize("key", PRESET_KEYS)
def test_preset_parses_its_article(settings: Settings, key: str) -> None:
    """The preset turns its fixture article (with its listing item) into the expected fields."""
    source = settings.source(key)
    side = _sidecar(key, "article")
    items = _parse_listing(source, _sidecar(key, "listing")).items
    matches = [i for i in items if i.url == side["item_url"]]
    assert len(matches) == 1, f"{key}: item {side['item_url']} not in the listing fixture"
    item: ListingItem = matches[0]
    if side["kind"] == "feed-item":
        assert source.article is None, "a feed item is the article only without article selectors"
        article = article_from_feed_item(item, source)
    else:
        assert side["kind"] == "article"
        article = parse_article(_page(side), source, item)
        assert article.url == side["url"]
    assert article.source == key and article.language == source.language
    _check_article(article, side["expected"], f"{key} article")
