"""Listing responses as evidence: kept once per content, linked from sightings; migration 0003."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from storage import articles, blobs, listings, migrate
from storage.engine import Database, open_db
from storage.schema import ResponseRow, SightingRow
from tests.storage.conftest import T0, make_raw

LISTING = "https://mfa.example/news/default.shtml"


def test_a_listing_response_is_kept_only_when_its_bytes_change(db: Database) -> None:
    """Same bytes as the last kept response of that listing URL: nothing stored, its id returned;
    other bytes: a new row; bytes seen before but not last: a new row sharing the old blob."""
    with db.session() as s:
        first, stored = listings.keep_listing_response(s, "cn-mfa-en", make_raw(LISTING, b"A"))
        assert stored
        later = make_raw(LISTING, b"A", at=T0 + timedelta(hours=1))
        assert listings.keep_listing_response(s, "cn-mfa-en", later) == (first, False)
        second, stored = listings.keep_listing_response(
            s, "cn-mfa-en", make_raw(LISTING, b"B", at=T0 + timedelta(hours=2))
        )
        assert stored and second != first
        third, stored = listings.keep_listing_response(
            s, "cn-mfa-en", make_raw(LISTING, b"A", at=T0 + timedelta(hours=3))
        )
        assert stored and third not in (first, second)
        other_url, stored = listings.keep_listing_response(
            s, "cn-mfa-en", make_raw(LISTING + "?page=2", b"A")
        )
        assert stored
    with db.session(readonly=True) as s:
        kept = listings.listing_responses(s, LISTING)
        assert [r.id for r in kept] == [first, second, third]
        assert {r.source for r in kept} == {"cn-mfa-en"} and {r.article_id for r in kept} == {None}
        assert kept[0].blob_sha256 == kept[2].blob_sha256
        assert s.execute(sa.select(sa.func.count()).select_from(ResponseRow)).scalar_one() == 4


def test_sightings_point_at_the_first_and_last_kept_response_showing_them(db: Database) -> None:
    """A sighting keeps the kept response of its first sight, and follows the latest one."""
    items = [("https://mfa.example/a", "A"), ("https://mfa.example/b", "B")]
    with db.session() as s:
        r1, _ = listings.keep_listing_response(s, "cn-mfa-en", make_raw(LISTING, b"1"))
        articles.record_sightings(
            s, source="cn-mfa-en", listing_url=LISTING, items=items, seen_at=T0
        )
        listings.link_sightings(
            s, listing_url=LISTING, article_urls=[u for u, _ in items], response_id=r1, seen_at=T0
        )
        t1 = T0 + timedelta(hours=1)
        r2, _ = listings.keep_listing_response(s, "cn-mfa-en", make_raw(LISTING, b"2", at=t1))
        later = [items[1], ("https://mfa.example/c", "C")]
        articles.record_sightings(
            s, source="cn-mfa-en", listing_url=LISTING, items=later, seen_at=t1
        )
        listings.link_sightings(
            s, listing_url=LISTING, article_urls=[u for u, _ in later], response_id=r2, seen_at=t1
        )
    with db.session(readonly=True) as s:
        links = {
            row.article_url: (row.first_response_id, row.last_response_id)
            for row in s.execute(sa.select(SightingRow)).scalars()
        }
    assert links == {
        "https://mfa.example/a": (r1, r1),
        "https://mfa.example/b": (r1, r2),
        "https://mfa.example/c": (r2, r2),
    }


def test_upgrading_a_0002_database_keeps_its_evidence_and_stores_listings(db_url: str) -> None:
    """A database at revision 0002 with articles, responses and sightings migrates to head: its rows
    are kept (new columns NULL), its WARC export is unchanged, and listing responses can be kept."""
    from alembic import command

    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            cfg = migrate.alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0002")
            conn.execute(sa.text("INSERT INTO sources (key) VALUES ('s')"))
            conn.execute(
                sa.text(
                    "INSERT INTO blobs (sha256, size, codec, data) VALUES ('h', 4, 'none', :d)"
                ),
                {"d": b"page"},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO articles (id, source, url, status, version, content_version, "
                    "title, first_seen_at, last_checked_at, last_changed_at, checks, "
                    "missing_checks) VALUES (1, 's', 'https://a/1', 'live', 1, 1, 'T', :t, :t, "
                    ":t, 1, 0)"
                ),
                {"t": T0},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO responses (article_id, url, final_url, status, headers, "
                    "redirects, fetched_at, blob_sha256) VALUES (1, 'https://a/1', "
                    "'https://a/1', 200, '[]', '[]', :t, 'h')"
                ),
                {"t": T0},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO listing_sightings (source, listing_url, article_url, "
                    "listing_title, first_seen_at, last_seen_at, times_seen) VALUES "
                    "('s', :l, 'https://a/1', 'T', :t, :t, 3)"
                ),
                {"l": LISTING, "t": T0},
            )
    finally:
        engine.dispose()
    db = open_db(db_url)
    try:
        assert migrate.current_revision(db.engine) == migrate.head_revision()
        with db.session(readonly=True) as s:
            response = s.execute(sa.select(ResponseRow)).scalar_one()
            assert response.article_id == 1
            assert (response.source, response.listing_url) == (None, None)
            sighting = s.execute(sa.select(SightingRow)).scalar_one()
            assert (sighting.times_seen, sighting.first_response_id) == (3, None)
            assert [r.body for r in blobs.iter_responses(s, source="s")] == [b"page"]
        with db.session() as s:
            kept, stored = listings.keep_listing_response(s, "s", make_raw(LISTING, b"list"))
            listings.link_sightings(
                s,
                listing_url=LISTING,
                article_urls=["https://a/1"],
                response_id=kept,
                seen_at=T0 + timedelta(days=1),
            )
        with db.session(readonly=True) as s:
            sighting = s.execute(sa.select(SightingRow)).scalar_one()
            assert stored and sighting.last_response_id == kept
            # Seen before the migration: its first kept response is unknown, not this one.
            assert sighting.first_response_id is None
    finally:
        db.dispose()
