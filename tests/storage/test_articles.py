"""Article identity and listing facts: aliases, known URLs, sightings, sources, validators."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from storage import articles, versions
from storage.engine import Database
from storage.http_validators import get_validators, set_validators
from storage.schema import SightingRow, SourceRow, ValidatorRow
from storage.sources import SourceInfo, sync_sources
from tests.storage.conftest import T0, make_article, make_raw, row_counts

URL = "https://mfa.example/news/1.html"
LISTING = "https://mfa.example/news/index.html"


def _store(db: Database) -> int:
    with db.session() as s:
        return versions.record_fetch(
            s, make_article(), make_raw(), now=T0, next_check_at=T0
        ).article_id


def test_find_article_by_url_and_alias(db: Database) -> None:
    """find_article_id resolves the canonical URL and any alias, and None for an unknown URL."""
    article_id = _store(db)
    with db.session() as s:
        articles.add_aliases(s, article_id, [URL + "?utm_source=feed"])
        articles.add_aliases(s, article_id, [URL + "?utm_source=feed"])  # twice: no error, one row
        articles.add_aliases(s, article_id, [URL])  # the canonical URL itself is not an alias
    with db.session() as s:
        assert articles.find_article_id(s, URL) == article_id
        assert articles.find_article_id(s, URL + "?utm_source=feed") == article_id
        assert articles.find_article_id(s, "https://mfa.example/other") is None
    assert row_counts(db)["url_aliases"] == 1


def test_known_urls(db: Database) -> None:
    """known_urls returns exactly the given URLs stored as canonical URLs or aliases."""
    article_id = _store(db)
    with db.session() as s:
        articles.add_aliases(s, article_id, ["https://mfa.example/old/1.html"])
    many = [f"https://mfa.example/unknown/{i}" for i in range(1200)]  # over one IN chunk
    with db.session() as s:
        known = articles.known_urls(s, [URL, "https://mfa.example/old/1.html", *many])
    assert known == {URL, "https://mfa.example/old/1.html"}


def test_sightings_record_first_and_last_seen(db: Database) -> None:
    """Sightings keep the first and latest time per listing and article, and count them."""
    for hours, title in (
        (0, "Wang Yi Holds Talks..."),
        (2, "Wang Yi Holds Talks with..."),
        (1, "x"),
    ):
        with db.session() as s:
            articles.record_sightings(
                s,
                source="cn-mfa-en",
                listing_url=LISTING,
                items=[(URL, title)],
                seen_at=T0 + timedelta(hours=hours),
            )
    with db.session() as s:
        articles.record_sightings(
            s,
            source="cn-mfa-en",
            listing_url=LISTING + "?page=2",
            items=[(URL, "t")],
            seen_at=T0,
        )
    with db.session() as s:
        rows = {r.listing_url: r for r in s.execute(sa.select(SightingRow)).scalars()}
    first = rows[LISTING]
    assert first.first_seen_at == T0 and first.last_seen_at == T0 + timedelta(hours=2)
    assert first.times_seen == 3
    assert len(rows) == 2


def test_listing_title_differing_from_article_title_is_not_a_change(db: Database) -> None:
    """A truncated listing title is stored as a sighting fact and creates no version."""
    _store(db)
    with db.session() as s:
        articles.record_sightings(
            s,
            source="cn-mfa-en",
            listing_url=LISTING,
            items=[(URL, "Wang Yi Holds Tal...")],
            seen_at=T0,
        )
    with db.session() as s:
        out = versions.record_fetch(
            s, make_article(), make_raw(), now=T0 + timedelta(hours=1), next_check_at=T0
        )
    assert out.kind == "unchanged"
    assert row_counts(db)["versions"] == 1


def test_sync_sources_inserts_and_updates(db: Database) -> None:
    """sync_sources adds new sources, updates changed ones and keeps ones no longer configured."""
    with db.session() as s:
        sync_sources(
            s, [SourceInfo("cn", "China MFA", "CN", "en", "Asia/Shanghai"), SourceInfo("us")]
        )
    with db.session() as s:
        sync_sources(s, [SourceInfo("cn", "China MFA (en)", "CN", "en", "Asia/Shanghai")])
    with db.session() as s:
        rows = {r.key: r for r in s.execute(sa.select(SourceRow)).scalars()}
    assert set(rows) == {"cn", "us"}
    assert rows["cn"].name == "China MFA (en)" and rows["cn"].timezone == "Asia/Shanghai"


def test_validators_round_trip(db: Database) -> None:
    """ETag and Last-Modified are stored per URL, replaced, and forgotten when both are None."""
    with db.session() as s:
        assert get_validators(s, LISTING) == (None, None)
        set_validators(s, LISTING, '"abc"', None)
    with db.session() as s:
        assert get_validators(s, LISTING) == ('"abc"', None)
        set_validators(s, LISTING, '"def"', "Sat, 13 Nov 2021 06:12:00 GMT")
    with db.session() as s:
        assert get_validators(s, LISTING) == ('"def"', "Sat, 13 Nov 2021 06:12:00 GMT")
        set_validators(s, LISTING, None, None)
    with db.session() as s:
        assert get_validators(s, LISTING) == (None, None)


def test_setting_the_same_validators_writes_nothing(db: Database) -> None:
    """Storing validators identical to the stored ones leaves the row (and its time) untouched."""
    with db.session() as s:
        set_validators(s, LISTING, '"abc"', None)
    with db.session() as s:
        first = s.execute(sa.select(ValidatorRow.updated_at)).scalar_one()
    with db.session() as s:
        set_validators(s, LISTING, '"abc"', None)
    with db.session() as s:
        assert s.execute(sa.select(ValidatorRow.updated_at)).scalar_one() == first
    assert row_counts(db)["http_validators"] == 1


def test_a_listing_page_of_sightings_in_one_call(db: Database) -> None:
    """record_sightings updates known items and inserts new ones for a whole listing page."""
    with db.session() as s:
        articles.record_sightings(
            s, source="cn", listing_url=LISTING, items=[(URL, "a"), (URL + "2", "b")], seen_at=T0
        )
    later = T0 + timedelta(hours=3)
    with db.session() as s:
        articles.record_sightings(
            s,
            source="cn",
            listing_url=LISTING,
            items=[(URL, "a2"), (URL + "3", "c")],
            seen_at=later,
        )
    with db.session() as s:
        rows = {r.article_url: r for r in s.execute(sa.select(SightingRow)).scalars()}
    assert set(rows) == {URL, URL + "2", URL + "3"}
    assert (rows[URL].times_seen, rows[URL].listing_title) == (2, "a2")
    assert rows[URL].first_seen_at == T0 and rows[URL].last_seen_at == later
    assert rows[URL + "2"].last_seen_at == T0 and rows[URL + "3"].first_seen_at == later
