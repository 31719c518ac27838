"""Listing pages and feed documents kept as evidence: once per content, linked to the sightings."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage import blobs, listings
from storage.engine import Database, open_db
from storage.schema import ResponseRow, SightingRow, VersionRow
from tests.crawler.test_feeds import poll
from tests.crawler.test_pipeline import SITE, crawl, write_config
from tests.site import Site

EN_FIRST = "/sites/two-sources/en/default.shtml"


@pytest.fixture
def db(db_url: str):
    """A migrated database on each dialect."""
    database = open_db(db_url)
    yield database
    database.dispose()


def listing_rows(db: Database) -> list[ResponseRow]:
    """Every kept listing/feed response, oldest first (detached copies of the rows)."""
    with db.session(readonly=True) as s:
        rows = list(
            s.execute(
                sa.select(ResponseRow)
                .where(ResponseRow.listing_url.is_not(None))
                .order_by(ResponseRow.id)
            ).scalars()
        )
        s.expunge_all()
    return rows


def test_each_listing_page_is_kept_once_and_an_unchanged_crawl_keeps_nothing(
    tmp_path: Path, site: Site, db: Database
) -> None:
    """A first crawl keeps every listing page read, with its bytes, status, headers and source; a
    second crawl, answered 200 with the same bytes (no ETag), keeps none."""
    first_page = (SITE / "en" / "default.shtml").read_bytes()
    site.add(EN_FIRST, first_page, content_type="text/html")  # no validators: a full 200 each time
    config = write_config(tmp_path, site)
    results = crawl(config, db)
    assert [r.errors for r in results] == [[], []]
    kept = listing_rows(db)
    assert len(kept) == sum(r.listings for r in results) == 6  # three pages per source
    assert {r.source for r in kept} == {"fixture-en", "fixture-zh"}
    en_first = next(r for r in kept if r.listing_url == site.url(EN_FIRST))
    assert (en_first.status, en_first.article_id) == (200, None)
    assert en_first.blob_sha256 == hashlib.sha256(first_page).hexdigest()
    assert ["Content-Type", "text/html"] in en_first.headers

    again = crawl(config, db)
    assert [r.new for r in again] == [0, 0] and again[0].listings >= 1
    assert len(listing_rows(db)) == 6


def test_a_changed_listing_is_kept_again_and_shows_which_items_it_held(
    tmp_path: Path, site: Site, db: Database
) -> None:
    """When an item leaves a listing page, the page is kept again; the item's sighting points at
    the kept page that showed it last, and the newer kept page lacks it."""
    config = write_config(tmp_path, site)
    crawl(config, db)
    page = (SITE / "en" / "default.shtml").read_text()
    gone = '<li><a href="./t1003.shtml">Foreign Ministry Spokesperson\'s Regular Press Conference on June 27, 2020</a></li>'
    assert gone in page
    site.add(EN_FIRST, page.replace(gone, ""), content_type="text/html")
    crawl(config, db)
    with db.session(readonly=True) as s:
        kept = listings.listing_responses(s, site.url(EN_FIRST))
        assert len(kept) == 2
        older, newer = kept
        sighting = s.execute(
            sa.select(SightingRow).where(SightingRow.article_url.like("%/en/t1003.shtml"))
        ).scalar_one()
        assert sighting.first_response_id == sighting.last_response_id == older.id
        stays = s.execute(
            sa.select(SightingRow).where(SightingRow.article_url.like("%/en/t1001.shtml"))
        ).scalar_one()
        assert (stays.first_response_id, stays.last_response_id) == (older.id, newer.id)
        assert b"t1003.shtml" in (blobs.get_blob(s, older.blob_sha256) or b"")
        assert b"t1003.shtml" not in (blobs.get_blob(s, newer.blob_sha256) or b"")


def test_a_304_on_a_listing_keeps_nothing(tmp_path: Path, site: Site, db: Database) -> None:
    """A listing answered 304 (ETag) on the next poll adds no response row at all."""
    config = write_config(tmp_path, site)  # the site's files carry ETags
    crawl(config, db)
    with db.session(readonly=True) as s:
        before = s.execute(sa.select(sa.func.count()).select_from(ResponseRow)).scalar_one()
    crawl(config, db)
    assert site.requests_to(EN_FIRST)[-1].status == 304
    with db.session(readonly=True) as s:
        after = s.execute(sa.select(sa.func.count()).select_from(ResponseRow)).scalar_one()
    assert after == before


def test_one_feed_fetch_is_one_response_for_all_its_items(site: Site, db: Database) -> None:
    """A feed document with ten new items is kept once, as a listing response of its source, and
    the ten versions point at it; the same document polled again keeps nothing."""
    assert poll(site, db, "us-feed-1.xml").new == 10
    with db.session(readonly=True) as s:
        rows = s.execute(sa.select(ResponseRow)).scalars().all()
        assert len(rows) == 1 and rows[0].source == "us-state-press"
        refs = s.execute(sa.select(VersionRow.response_id)).scalars().all()
        assert len(refs) == 10 and set(refs) == {rows[0].id}
    assert poll(site, db, "us-feed-1.xml").new == 0
    assert len(listing_rows(db)) == 1
    assert poll(site, db, "us-feed-2.xml").new == 1
    assert len(listing_rows(db)) == 2
