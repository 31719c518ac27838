"""Feed sources over loopback: the real State Department snapshots, in order."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from crawler.context import CrawlContext, SourceResult
from crawler.fetch import Fetcher
from crawler.pipeline import crawl_sources
from mfawatch.settings.loader import parse_config
from storage import queries
from storage.engine import Database, open_db
from tests.site import Site

REAL = Path(__file__).parents[1] / "fixtures" / "real-pages"
CONFIG = """sources:
  - key: us-state-press
    name: US Department of State
    country: US
    timezone: America/New_York
    type: feed
    politeness: {{respect_robots: false}}
    listings: [{{url: "{url}", section: Press Releases}}]
    article_hosts: [www.state.gov]    # the snapshots link to the real site
"""


@pytest.fixture
def db(db_url: str):
    """A migrated database on each dialect."""
    database = open_db(db_url)
    yield database
    database.dispose()


def poll(site: Site, db: Database, snapshot: str) -> SourceResult:
    """Serve one feed snapshot and crawl the feed source once."""
    site.add(
        "/rss-feed/press-releases/feed/",
        (REAL / snapshot).read_bytes(),
        content_type="application/rss+xml",
    )
    settings = parse_config(CONFIG.format(url=site.url("/rss-feed/press-releases/feed/")))

    async def go() -> list[SourceResult]:
        async with Fetcher(settings.http) as fetcher:
            return await crawl_sources(CrawlContext(db=db, fetcher=fetcher), list(settings.sources))

    return asyncio.run(go())[0]


def test_moving_feed_window_adds_the_new_item_and_deletes_nothing(site: Site, db: Database) -> None:
    """us-feed-1 then us-feed-2: ten articles, then one more; the item that left the window stays live."""
    first = poll(site, db, "us-feed-1.xml")
    assert first.ok, first.errors
    assert first.new == 10
    second = poll(site, db, "us-feed-2.xml")
    assert second.ok, second.errors
    assert (second.new, second.changed, second.removed, second.missing) == (1, 0, 0, 0)
    assert second.unchanged == 9
    with db.session() as s:
        stored = list(queries.iter_articles(s, source="us-state-press"))
    assert len(stored) == 11
    assert all(a.status == "live" for a in stored)
    dropped = [
        a for a in stored if a.title.startswith("Secretary Antony J. Blinken Before His Meeting")
    ]
    assert len(dropped) == 1 and dropped[0].status == "live"
    g7 = next(a for a in stored if a.title.startswith("G7 Foreign Ministers"))
    assert g7.body_text.startswith(
        "The text of the following statement was released by the G7 foreign ministers"
    )
    assert str(g7.date_source) == "feed" and g7.published_at is not None
    # 16:21:35 UTC is 12:21 in New York (EDT), kept in the source's zone.
    assert g7.published_at.isoformat().startswith("2022-08-03T12:21:35-04:00")


def test_same_snapshot_twice_stores_nothing_new(site: Site, db: Database) -> None:
    """Polling an unchanged feed again records no article and no version."""
    poll(site, db, "us-feed-1.xml")
    again = poll(site, db, "us-feed-1.xml")
    assert (again.new, again.changed) == (0, 0)
