"""RSS/Atom listings: the real State Department snapshots, Atom with offsets, and bad feeds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import pytest

from crawler.errors import ParseError, SoftErrorPage
from crawler.model import Page
from crawler.parse.feed import article_from_feed_item, parse_feed
from storage.model import DatePrecision, DateSource
from tests.crawler.parse.support import real_page, sidecar, source_for


def _items(name: str) -> list:
    source = source_for(name)
    return list(parse_feed(real_page(name), source, source.listings[0]).items)


def test_us_feed_1_items() -> None:
    """The first snapshot gives 10 items with links, guids, titles and minute-precise feed dates."""
    items = _items("us-feed-1")
    assert len(items) == 10
    first = items[0]
    assert (
        first.url
        == "https://www.state.gov/g7-foreign-ministers-statement-on-preserving-peace-and-stability-across-the-taiwan-strait/"
    )
    assert first.guid == "https://www.state.gov/?page_id=365590"
    assert (
        first.title
        == "G7 Foreign Ministers’ Statement on Preserving Peace and Stability Across the Taiwan Strait"
    )
    assert first.date is not None
    assert first.date.source is DateSource.FEED and first.date.precision is DatePrecision.MINUTE
    assert first.date.published_at == datetime.fromisoformat("2022-08-03T16:21:35+00:00")
    assert str(first.date.published_at.tzinfo) == "America/New_York"
    assert first.listing_url == "https://www.state.gov/rss-feed/press-releases/feed/"
    assert len({i.guid for i in items}) == 10 and len({i.url for i in items}) == 10


def test_utc_pubdate_falls_on_the_previous_eastern_day() -> None:
    """A pubDate of 00:20 UTC on 3 Aug is 20:20 EDT on 2 Aug: published_date is the Eastern day."""
    (call,) = [
        i
        for i in _items("us-feed-1")
        if i.title.startswith("Secretary Blinken’s Call with Estonian")
    ]
    assert call.date is not None and call.date.published_at is not None
    assert call.date.published_date == date(2022, 8, 2)
    assert call.date.published_at.strftime("%Y-%m-%d %H:%M %z") == "2022-08-02 20:20 -0400"


def test_feed_bodies_skip_scripts_and_byline() -> None:
    """Item bodies come from content:encoded without the jQuery script junk or the byline paragraph."""
    items = _items("us-feed-1")
    source = source_for("us-feed-1")
    for item in items:
        assert item.feed_body_html
        assert "jQuery" not in item.feed_body_html and "<script" not in item.feed_body_html
        assert "<input" not in item.feed_body_html
    g7 = article_from_feed_item(items[0], source)
    assert g7.body_text.startswith(
        "The text of the following statement was released by the G7 foreign ministers"
    )
    assert "Office of the Spokesperson" not in g7.paragraphs[0]
    assert g7.paragraphs[-1] == "End Text"
    assert g7.title == items[0].title and g7.date == items[0].date and g7.source == "us-state-press"
    kenya = article_from_feed_item(items[1], source)
    assert kenya.body_text.startswith("The August 9 election will be an opportunity for Kenya")


def test_window_moves_on_without_deleting() -> None:
    """us-feed-2 adds exactly one new item; the one that left the window is simply absent."""
    before = {i.guid: i for i in _items("us-feed-1")}
    after = {i.guid: i for i in _items("us-feed-2")}
    added = set(after) - set(before)
    assert added == {"https://www.state.gov/?page_id=365731"}
    assert (
        after["https://www.state.gov/?page_id=365731"].title
        == sidecar("us-feed-2")["expected"]["diff_vs_us_feed_1"]["added"][0]
    )
    assert len(set(before) & set(after)) == 9
    for guid in set(before) & set(after):
        assert before[guid].url == after[guid].url and before[guid].date == after[guid].date


ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Foreign, Commonwealth &amp; Development Office - Activity on GOV.UK</title>
  <id>https://www.gov.uk/government/organisations/foreign-commonwealth-development-office</id>
  <updated>2026-09-10T16:02:00+01:00</updated>
  <entry>
    <id>tag:www.gov.uk,2005:/government/news/uk-statement</id>
    <updated>2026-09-10T16:02:00+01:00</updated>
    <link rel="alternate" type="text/html" href="/government/news/uk-statement"/>
    <title>UK statement on &amp; about things</title>
    <summary type="html">&lt;p&gt;The UK &lt;b&gt;welcomes&lt;/b&gt; the agreement.&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;</summary>
  </entry>
  <entry>
    <id>tag:www.gov.uk,2005:/government/news/late-night</id>
    <updated>2026-09-10T23:30:00Z</updated>
    <link rel="alternate" type="text/html" href="https://www.gov.uk/government/news/late-night"/>
    <title>Late night statement</title>
  </entry>
</feed>"""


def test_atom_feed_with_offsets(page_from: Callable[..., Page]) -> None:
    """Atom entries: alternate links resolved, `updated` with its offset, summary as the body."""
    source = source_for("us-feed-1", key="uk-fcdo-atom", timezone="Europe/London")
    page = page_from(
        ATOM,
        "https://www.gov.uk/government/organisations/foreign-commonwealth-development-office.atom",
        content_type="application/atom+xml",
    )
    first, late = parse_feed(page, source, source.listings[0]).items
    assert first.url == "https://www.gov.uk/government/news/uk-statement"
    assert first.guid == "tag:www.gov.uk,2005:/government/news/uk-statement"
    assert first.title == "UK statement on & about things"
    assert first.date is not None and first.date.published_at is not None
    assert first.date.published_at.strftime("%Y-%m-%d %H:%M %z") == "2026-09-10 16:02 +0100"
    assert first.feed_body_html == "<p>The UK <b>welcomes</b> the agreement.</p>"
    assert late.date is not None and late.date.published_date == date(2026, 9, 11)  # 00:30 BST
    assert late.feed_body_html is None


def test_html_instead_of_a_feed_is_an_error(page_from: Callable[..., Page]) -> None:
    """An HTML page where the feed should be ("RSS discontinued") is a ParseError, not zero items."""
    source = source_for("us-feed-1")
    page = page_from(
        "<html><head><title>Ministry</title></head><body><p>RSS discontinued</p></body></html>"
    )
    with pytest.raises(ParseError) as err:
        parse_feed(page, source, source.listings[0])
    assert "not an RSS or Atom feed" in str(err.value)


def test_decoy_page_at_feed_url_is_a_wall(page_from: Callable[..., Page]) -> None:
    """The state.gov decoy served for the feed URL is reported as blocked."""
    source = source_for("us-feed-1")
    page = page_from("<html><head><title>Technical Difficulties</title></head><body></body></html>")
    with pytest.raises(SoftErrorPage) as err:
        parse_feed(page, source, source.listings[0])
    assert err.value.blocked is True


def test_empty_feed_has_no_items(page_from: Callable[..., Page]) -> None:
    """A valid feed without items yields an empty listing, not an error."""
    source = source_for("us-feed-1")
    rss = '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://x/</link><description/></channel></rss>'
    assert (
        parse_feed(
            page_from(rss, content_type="application/rss+xml"), source, source.listings[0]
        ).items
        == ()
    )
