"""The stored publication history the rhythm is learned from, and the quiet verdict on it (every
database): the first crawl's backlog and late-found items are left out, an arriving item clears."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from storage.activity import publication_history, quiet_verdict
from storage.engine import Database
from storage.model import ArticleDate, DatePrecision, DateSource
from storage.versions import record_fetch
from tests.storage.conftest import day_date, make_article, make_raw
from tests.storage.rhythm_history import POLL, SHANGHAI, START, china_weekdays, store_history


def store(db: Database, url: str, at: datetime, when: ArticleDate | None) -> None:
    with db.session() as s:
        article = make_article(url, body_text=url, body_html=f"<p>{url}</p>", date=when)
        record_fetch(s, article, make_raw(url, at=at), now=at, next_check_at=at + POLL)


def test_the_history_leaves_out_the_backlog_and_late_found_items(db: Database) -> None:
    """Which time stands for each item: the page's minute, the first sighting, or none."""
    t0 = datetime(2026, 9, 7, 2, 0, tzinfo=UTC)
    store(db, "https://mfa.example/backlog.html", t0, day_date(date(2026, 8, 1)))
    store(db, "https://mfa.example/backlog-undated.html", t0 + timedelta(minutes=20), None)
    minute = datetime(2026, 9, 8, 3, 12, tzinfo=UTC)
    precise = ArticleDate(minute.date(), DatePrecision.MINUTE, DateSource.PAGE, minute)
    store(db, "https://mfa.example/precise.html", minute + POLL, precise)
    same_day = datetime(2026, 9, 9, 8, 0, tzinfo=UTC)
    store(db, "https://mfa.example/day.html", same_day, day_date(date(2026, 9, 9)))
    store(db, "https://mfa.example/undated.html", same_day + POLL, None)
    late = datetime(2026, 9, 14, 8, 0, tzinfo=UTC)  # a release of 09-10 found four days later
    store(db, "https://mfa.example/late.html", late, day_date(date(2026, 9, 10)))
    future = datetime(2027, 1, 1, tzinfo=UTC)  # a page time after the sighting is not trusted
    bogus = ArticleDate(future.date(), DatePrecision.MINUTE, DateSource.PAGE, future)
    store(db, "https://mfa.example/bogus.html", late + POLL, bogus)
    with db.session(readonly=True) as s:
        history = publication_history(s, "cn-mfa-en", SHANGHAI)
    assert history.observed_since == t0 and history.last_new == late + POLL
    assert sorted(history.items) == [minute, same_day, same_day + POLL, late + POLL]


def test_no_item_is_not_judged(db: Database) -> None:
    with db.session(readonly=True) as s:
        verdict = quiet_verdict(s, "cn-mfa-en", SHANGHAI, START)
    assert not verdict.judged and not verdict.quiet


def test_three_silent_weekdays_are_quiet_until_an_item_arrives(db: Database) -> None:
    """Seven weeks of China-shaped history ending on a Monday: quiet by Thursday; a release clears."""
    times = [t for t in china_weekdays(56) if t < START + timedelta(days=50)]
    store_history(db, times)
    last = max(times) + POLL
    thursday = last + timedelta(days=3)
    with db.session(readonly=True) as s:
        verdict = quiet_verdict(s, "cn-mfa-en", SHANGHAI, thursday)
    assert verdict.judged and verdict.quiet, verdict.reason
    store(db, "https://mfa.example/new.html", thursday - timedelta(minutes=5), None)
    with db.session(readonly=True) as s:
        after = quiet_verdict(s, "cn-mfa-en", SHANGHAI, thursday)
    assert after.judged and not after.quiet, after.reason


def test_a_weekend_is_not_quiet(db: Database) -> None:
    """The same history ending on a Friday evening: on Monday 08:00 in Beijing it is not quiet."""
    times = china_weekdays(54)
    store_history(db, times)
    monday = (max(times) + timedelta(days=3)).replace(hour=8, minute=0)
    with db.session(readonly=True) as s:
        verdict = quiet_verdict(s, "cn-mfa-en", SHANGHAI, monday)
    assert verdict.judged and not verdict.quiet, verdict.reason


def test_ten_days_of_history_are_never_judged(db: Database) -> None:
    times = china_weekdays(10)
    store_history(db, times)
    with db.session(readonly=True) as s:
        verdict = quiet_verdict(s, "cn-mfa-en", SHANGHAI, max(times) + timedelta(days=20))
    assert not verdict.judged and not verdict.quiet and "needs 21" in verdict.reason
