"""Language twins: the rule over two releases, the settings that declare twin sources, and
one-sided edits in the digest and its alerts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from crawler.errors import ConfigError
from digest.alerts import AlertRule
from digest.report import build_report
from mfawatch.settings.loader import parse_config
from mfawatch.settings.officials import load_officials
from storage.engine import Database, open_db
from storage.model import Article, ArticleDate, DatePrecision, DateSource, RawResponse
from storage.readouts.detect import Release
from storage.readouts.store import Relation, list_pairs
from storage.readouts.twins import EDIT_WINDOW, marks, match, one_sided
from storage.readouts.update import pair_new
from storage.sources import SourceInfo, sync_sources
from storage.versions import record_fetch

ROOT = Path(__file__).resolve().parents[3]
OFFICIALS = load_officials(ROOT / "config" / "officials.yaml")
SEEN = datetime(2020, 7, 4, tzinfo=UTC)


def _release(i: int, source: str, title: str, body: str, day: date) -> Release:
    return Release(i, source, "CN", "Asia/Shanghai", title, body, None, day, SEEN)


def test_numbers_and_names_survive_translation() -> None:
    """`July 3, 2020` and `2020年7月3日` give the same numbers; Zhao Lijian's two press
    conferences of one day are twins, another day's are not."""
    en = marks(
        _release(
            1,
            "cn-mfa-en",
            "Foreign Ministry Spokesperson Zhao Lijian's Regular Press Conference on July 3, 2020",
            "Wang Yi met 27 ministers.",
            date(2020, 7, 3),
        ),
        OFFICIALS,
    )
    zh = marks(
        _release(
            2,
            "cn-mfa-zh",
            "2020年7月3日外交部发言人赵立坚主持例行记者会",
            "王毅会见27位部长。",
            date(2020, 7, 3),
        ),
        OFFICIALS,
    )
    other = marks(
        _release(
            3, "cn-mfa-zh", "2020年7月6日外交部发言人赵立坚主持例行记者会", "", date(2020, 7, 6)
        ),
        OFFICIALS,
    )
    assert {"2020", "7", "3", "27", "@wang-yi"} <= en.marks & zh.marks
    found = match(en, zh)
    assert found is not None and found.overlap >= 0.5
    assert match(en, other) is None


def test_one_sided_needs_the_window_to_pass() -> None:
    """No twin edit within 12 h: one-sided (so far, while the window is open); a twin edit
    within it: not one-sided."""
    at = datetime(2024, 3, 1, 9, tzinfo=UTC)
    assert one_sided(at, [], at + EDIT_WINDOW + timedelta(minutes=1)) == "one-sided"
    assert one_sided(at, [at - timedelta(days=2)], at + timedelta(hours=1)) == "one-sided so far"
    assert one_sided(at, [at + timedelta(hours=11)], at + timedelta(days=1)) is None


def test_twin_of_is_checked() -> None:
    """A twin that is no source, or of another country, or of the same language is refused."""
    base = """
sources:
  - {key: a, name: A, country: CN, language: en, type: feed, listings: [{url: "http://a.example/f"}]}
  - {key: b, name: B, country: %s, language: %s, type: feed, twin_of: %s, listings: [{url: "http://b.example/f"}]}
"""
    assert parse_config(base % ("CN", "zh", "a"), env={}).twins() == {"a": "b", "b": "a"}
    for country, language, twin, message in (
        ("CN", "zh", "nope", "twin_of 'nope' is no source"),
        ("US", "zh", "a", "must be another source of the same country"),
        ("CN", "en", "a", "in another language"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_config(base % (country, language, twin), env={})


@pytest.fixture
def twins_db(tmp_path: Path) -> Iterator[Database]:
    """China's English and Chinese readouts of one call, stored a day ago and paired as twins."""
    db = open_db(f"sqlite:///{tmp_path / 't.sqlite3'}")
    with db.session() as s:
        sync_sources(
            s,
            [
                SourceInfo("cn-mfa-en", "China EN", "CN", "en", "Asia/Shanghai"),
                SourceInfo("cn-mfa-zh", "China ZH", "CN", "zh", "Asia/Shanghai"),
            ],
        )
    now = datetime.now(UTC)
    for article in _pair():
        _store(db, article, now - timedelta(days=1))
    result = pair_new(
        db, OFFICIALS, now, twins={"cn-mfa-en": "cn-mfa-zh", "cn-mfa-zh": "cn-mfa-en"}
    )
    assert result.twins == 1
    yield db
    db.dispose()


def _pair() -> tuple[Article, Article]:
    day = ArticleDate(date(2021, 11, 13), DatePrecision.DAY, DateSource.PAGE)
    en = Article("cn-mfa-en", "https://en.example/1", "Wang Yi Speaks on the Phone with Blinken",
                 "On November 13, 2021, Wang Yi spoke with Antony Blinken. President Xi will meet President Biden on November 16.",
                 date=day, language="en")  # fmt: skip
    zh = Article("cn-mfa-zh", "https://zh.example/1", "王毅同美国国务卿布林肯通电话",
                 "2021年11月13日，王毅同布林肯通电话。习近平主席将于11月16日同拜登总统会晤。",
                 date=day, language="zh")  # fmt: skip
    return en, zh


def _store(db: Database, article: Article, at: datetime) -> None:
    raw = RawResponse(article.url, article.url, 200, (), b"<html></html>", at)
    with db.session() as s:
        record_fetch(s, article, raw, now=at, next_check_at=at + timedelta(days=1))


def test_an_edit_in_one_language_only_is_reported_and_alerted(twins_db: Database) -> None:
    """The English release edited 13 h ago and the Chinese one not: the digest item says
    "edited in English only" and a one_sided_only alert fires; once the Chinese one is edited
    too within 12 h, neither is one-sided."""
    en, zh = _pair()
    now = datetime.now(UTC)
    _store(
        twins_db,
        replace(en, body_text=en.body_text + " They discussed Taiwan."),
        now - timedelta(hours=13),
    )
    rule = AlertRule("one-language", one_sided_only=True)
    with twins_db.session(readonly=True) as s:
        [pair] = list_pairs(s, Relation.TWIN)
        report = build_report(s, since=now - timedelta(hours=20), until=now, alerts=(rule,))
    [item] = report.items
    assert item.one_sided.startswith(
        f"edited in English only: its Chinese twin (article {pair.b.article_id})"
    )
    assert [hit.rule for hit in item.alerts] == ["one-language"]
    _store(
        twins_db,
        replace(zh, body_text=zh.body_text + "双方讨论了台湾问题。"),
        now - timedelta(hours=5),
    )
    with twins_db.session(readonly=True) as s:
        report = build_report(s, since=now - timedelta(hours=20), until=now, alerts=(rule,))
    assert [i.one_sided for i in report.items] == ["", ""]
    assert all(not i.alerts for i in report.items)
