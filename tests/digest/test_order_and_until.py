"""Digest items within a source by publication (newest first, undated last), and `--until`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from digest.report import build_report
from digest.window import SinceError, parse_until
from storage.engine import open_db
from storage.model import ArticleDate, DatePrecision, DateSource
from storage.sources import SourceInfo, sync_sources
from storage.versions import record_fetch
from tests.digest.conftest import CST, DigestDB, _article, _raw
from tests.mfawatch.test_cli_crawl import mfawatch


def test_items_are_by_publication_newest_first_undated_last(sqlite_url: str) -> None:
    """Fetch order (oldest first, undated in the middle) becomes publication order."""
    db = open_db(sqlite_url)
    now = datetime.now(UTC).replace(microsecond=0)
    day = DatePrecision.DAY
    dates = {
        "a-nov-01": ArticleDate(date(2026, 11, 1), day, DateSource.PAGE),
        "b-undated": None,
        "c-nov-03-morning": ArticleDate(
            date(2026, 11, 3),
            DatePrecision.MINUTE,
            DateSource.PAGE,
            datetime(2026, 11, 3, 9, 0, tzinfo=CST),
        ),
        "d-nov-02": ArticleDate(date(2026, 11, 2), day, DateSource.LISTING),
        "e-nov-03-evening": ArticleDate(
            date(2026, 11, 3),
            DatePrecision.MINUTE,
            DateSource.PAGE,
            datetime(2026, 11, 3, 21, 0, tzinfo=CST),
        ),
    }
    with db.session() as s:
        sync_sources(s, [SourceInfo("src", "Source", "CN", "en", "Asia/Shanghai")])
        for n, (slug, when) in enumerate(dates.items()):
            url = f"https://example.gov/{slug}.html"
            at = now - timedelta(minutes=50 - n)  # fetched in the order above
            a = _article("src", url, slug, f"Body of {slug}.", date=when)
            record_fetch(s, a, _raw(url, at), now=at, next_check_at=now + timedelta(days=1))
    with db.session(readonly=True) as s:
        report = build_report(s, since=now - timedelta(hours=1), until=now)
    db.dispose()
    assert [i.title for i in report.items] == [
        "e-nov-03-evening",
        "c-nov-03-morning",
        "d-nov-02",
        "a-nov-01",
        "b-undated",
    ]


def test_parse_until() -> None:
    """--until takes --since's syntax; `all` is no end; errors name --until."""
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert parse_until("2h", now=now) == now - timedelta(hours=2)
    assert parse_until("2026-11-19", now=now) == datetime(2026, 11, 19, tzinfo=UTC)
    assert parse_until("all", now=now) is None
    with pytest.raises(SinceError, match="--until"):
        parse_until("yesterday", now=now)


def test_digest_until_ends_the_window(digest_db: DigestDB, tmp_path: Path) -> None:
    """`digest --since 1d --until 2h` holds what was seen between 24 h and 2 h ago, not later."""
    path = tmp_path / "digest.sqlite3"  # the digest_db fixture's file
    out = mfawatch("digest", "--since", "1d", "--until", "150m", "--format", "json", db=path)
    assert out.returncode == 0, out.stderr
    ids = {i["article_id"] for g in json.loads(out.stdout)["groups"] for i in g["items"]}
    # new 4-6 h ago, removed 3 h ago: in; changed 2 h ago and restored 1 h ago: out.
    assert {digest_db.ids["new"], digest_db.ids["new_zh"], digest_db.ids["hostile"]} <= ids
    assert digest_db.ids["removed"] in ids
    assert digest_db.ids["changed"] not in ids and digest_db.ids["restored"] not in ids
    backwards = mfawatch("digest", "--since", "2h", "--until", "1d", db=path)
    assert backwards.returncode == 2 and "--until" in backwards.stderr
