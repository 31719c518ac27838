"""The read side: stored articles, history, version pairs, due rechecks, status, cursors."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest

from storage import queries, runs, versions
from storage.engine import Database
from storage.errors import ArticleNotFound, VersionNotFound
from storage.model import Article
from storage.sources import SourceInfo, sync_sources
from tests.storage.conftest import BODY, T0, make_article, make_raw

H = timedelta(hours=1)
URL = "https://mfa.example/news/1.html"


def _fetch(
    db: Database, article: Article, at: datetime, next_at: datetime | None = None
) -> versions.Outcome:
    with db.session() as s:
        return versions.record_fetch(
            s,
            article,
            make_raw(article.url, article.title.encode(), at=at),
            now=at,
            next_check_at=next_at or at + H,
        )


def _missing(db: Database, at: datetime) -> None:
    with db.session() as s:
        versions.record_missing(
            s, URL, make_raw(status=404, at=at), "HTTP 404", now=at, next_check_at=at + H
        )


@pytest.fixture
def filled(db: Database) -> Database:
    """A database with a CN article (new, changed, removed, restored) and a US article (new)."""
    with db.session() as s:
        sync_sources(
            s,
            [
                SourceInfo("cn-mfa-en", "China MFA", "CN", "en", "Asia/Shanghai"),
                SourceInfo("us-state", "State", "US", "en", "America/New_York"),
            ],
        )
    _fetch(db, make_article(), T0)
    _fetch(db, make_article(body_text=BODY.replace("Saturday", "Sunday")), T0 + H)
    for hours in (2, 3, 27):
        _missing(db, T0 + hours * H)
    _fetch(db, make_article(body_text=BODY.replace("Saturday", "Sunday")), T0 + 30 * H)
    _fetch(
        db,
        make_article(
            "https://state.example/sanctions",
            source="us-state",
            title="New Sanctions on Widgets",
            body_text="Today we sanction widgets.",
        ),
        T0 + 5 * H,
    )
    return db


def test_stored_article_keeps_the_original_offset(filled: Database) -> None:
    """published_at comes back aware in +08:00 as the page gave it; to_json is ISO text."""
    with filled.session(readonly=True) as s:
        art = queries.get_article(s, URL)
        everything = list(queries.iter_articles(s))
        only_us = list(queries.iter_articles(s, source="us-state"))
    assert art.published_at == datetime(2024, 3, 1, 14, 12, tzinfo=timezone(timedelta(hours=8)))
    assert art.published_at is not None and art.published_at.utcoffset() == timedelta(hours=8)
    data = art.to_json()
    assert data["published_at"] == "2024-03-01T14:12:00+08:00"
    assert data["published_date"] == "2024-03-01" and data["date_precision"] == "minute"
    assert data["first_seen_at"] == T0.isoformat() and data["status"] == "live"
    assert data["version"] == 4 and data["section"] == "China News"
    assert list(data)[:4] == ["id", "source", "url", "title"]
    json.dumps(data)
    assert [a.source for a in everything] == ["cn-mfa-en", "us-state"]
    assert [a.url for a in only_us] == ["https://state.example/sanctions"]


def test_history_lists_every_version(filled: Database) -> None:
    """history by URL or id returns new, changed, removed and restored versions with hashes."""
    with filled.session(readonly=True) as s:
        by_url = queries.history(s, URL)
        by_id = queries.history(s, str(by_url.article.id))
    assert by_url == by_id
    kinds = [(v.number, v.kind) for v in by_url.versions]
    assert kinds == [(1, "new"), (2, "changed"), (3, "removed"), (4, "restored")]
    v2 = by_url.versions[1]
    assert v2.seen_at == T0 + H and v2.content_hash and v2.raw_sha256 and v2.diff_summary
    assert v2.fields["body_text"] == BODY.replace("Saturday", "Sunday")
    assert by_url.versions[2].fields == {} and by_url.versions[2].evidence is not None


def test_history_of_unknown_article(db: Database) -> None:
    """history of an unknown URL or id raises ArticleNotFound naming it."""
    with pytest.raises(ArticleNotFound, match="https://nowhere"), db.session() as s:
        queries.history(s, "https://nowhere")
    with pytest.raises(ArticleNotFound, match="42"), db.session() as s:
        queries.history(s, "42")


def test_version_pair_uses_the_stored_diff_or_computes_one(filled: Database) -> None:
    """version_pair returns both versions and a diff, for adjacent and non-adjacent versions."""
    with filled.session(readonly=True) as s:
        article_id = queries.get_article(s, URL).id
        pair = queries.version_pair(s, article_id, 1, 2)
        wide = queries.version_pair(s, article_id, 1, 4)
        same = queries.version_pair(s, article_id, 2, 4)
        with pytest.raises(VersionNotFound, match="removal"):
            queries.version_pair(s, article_id, 1, 3)
        with pytest.raises(VersionNotFound, match="version 9 does not exist"):
            queries.version_pair(s, article_id, 1, 9)
    assert pair.diff["words_added"] == 1 and "Sunday" in json.dumps(pair.diff)
    assert wide.diff["words_added"] == 1
    assert same.diff["words_added"] == 0 and same.diff["words_removed"] == 0


def test_due_for_revisit(filled: Database) -> None:
    """due_for_revisit returns articles whose next check has come, most overdue first, filtered."""
    with filled.session(readonly=True) as s:
        assert queries.due_for_revisit(s, now=T0) == []
        due = queries.due_for_revisit(s, now=T0 + 100 * H)
        cn_only = queries.due_for_revisit(s, now=T0 + 100 * H, sources=["cn-mfa-en"])
        limited = queries.due_for_revisit(s, now=T0 + 100 * H, limit=1)
    assert [d.source for d in due] == ["us-state", "cn-mfa-en"]  # next checks at 6 h and 31 h
    assert due[1].url == URL and due[1].anchor == T0 + 30 * H and due[1].first_seen_at == T0
    assert [d.source for d in cn_only] == ["cn-mfa-en"]
    assert len(limited) == 1


def test_count_articles(filled: Database) -> None:
    """count_articles counts all articles or one source's."""
    with filled.session(readonly=True) as s:
        assert queries.count_articles(s) == 2
        assert queries.count_articles(s, "us-state") == 1
        assert queries.count_articles(s, "nobody") == 0


def test_source_status(filled: Database) -> None:
    """source_status shows each source's last run, counts, error and health."""
    with filled.session() as s:
        first = runs.start_run(s, "cn-mfa-en", T0)
        runs.finish_run(s, first, finished_at=T0 + H, status="ok", counts={"new": 1}, error=None)
        second = runs.start_run(s, "cn-mfa-en", T0 + 2 * H)
        runs.finish_run(
            s, second, finished_at=T0 + 3 * H, status="failed", counts={}, error="HTTP 503"
        )
        runs.update_health(s, "cn-mfa-en", state="failing", error="HTTP 503", at=T0 + 3 * H)
    with filled.session(readonly=True) as s:
        status = {st.source: st for st in queries.source_status(s)}
    cn = status["cn-mfa-en"]
    assert (cn.last_run_status, cn.last_error, cn.health, cn.articles) == (
        "failed",
        "HTTP 503",
        "failing",
        1,
    )
    assert cn.last_run_started_at == T0 + 2 * H and cn.country == "CN"
    us = status["us-state"]
    assert (us.last_run_status, us.health, us.articles) == (None, "ok", 1)


def test_review_cursors(db: Database) -> None:
    """Named review cursors start empty, are set and moved independently."""
    with db.session() as s:
        assert queries.get_cursor(s, "alice") is None
        queries.set_cursor(s, "alice", T0)
        queries.set_cursor(s, "bob", T0 + H)
    with db.session() as s:
        queries.set_cursor(s, "alice", T0 + 2 * H)
    with db.session(readonly=True) as s:
        assert queries.get_cursor(s, "alice") == T0 + 2 * H
        assert queries.get_cursor(s, "bob") == T0 + H


def test_day_precision_dates_round_trip(db: Database) -> None:
    """A day-precision date is stored without a time and comes back as just the date."""
    from tests.storage.conftest import day_date

    _fetch(db, make_article(date=day_date(date(2020, 7, 3))), T0)
    with db.session(readonly=True) as s:
        art = queries.get_article(s, URL)
    assert (art.published_at, art.published_date, art.date_precision) == (
        None,
        date(2020, 7, 3),
        "day",
    )
