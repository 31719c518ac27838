"""Digest fixtures: a database with new, changed, removed and restored articles (written through
the real storage API), a hostile article, a source that started failing, and watchlist rules.

Times are relative to the real clock, because the digest's default window ("since my cursor, or
the last 24 hours") is too.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from digest.alerts import AlertRule
from storage.engine import Database, open_db
from storage.model import Article, ArticleDate, DatePrecision, DateSource, RawResponse
from storage.runs import finish_run, start_run, update_health
from storage.sources import SourceInfo, sync_sources
from storage.versions import record_fetch, record_missing

CST = timezone(timedelta(hours=8))
HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_BODY = (
    "Statement text <img src=x onerror=alert(1)> and a terminal escape \x1b[2J here.\n\n"
    "Second paragraph [bold]markup[/bold] *stars* and ]]> CDATA end."
)
CHANGED_OLD = (
    "Foreign Minister Wang Yi held talks with his counterpart on Saturday.\n\n"
    "The two sides exchanged views on bilateral relations.\n\n"
    "Both agreed to keep in close contact."
)
CHANGED_NEW = (
    "Foreign Minister Wang Yi held talks with his counterpart on Saturday.\n\n"
    "The two sides exchanged candid views on bilateral relations and the Taiwan question.\n\n"
    "Both agreed to keep in close contact."
)


@dataclass(frozen=True)
class DigestDB:
    """The fixture database, the reference time, and the article ids by role."""

    db: Database
    now: datetime
    ids: dict[str, int]

    @property
    def since(self) -> datetime:
        """The start of the default window (24 hours before `now`)."""
        return self.now - timedelta(days=1)


def _raw(
    url: str, at: datetime, status: int = 200, body: bytes = b"<html>page</html>"
) -> RawResponse:
    return RawResponse(
        url=url,
        final_url=url,
        status=status,
        headers=(("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")),
        body=body,
        fetched_at=at,
    )


def _article(source: str, url: str, title: str, body: str, **kw: object) -> Article:
    return Article(
        source=source,
        url=url,
        title=title,
        body_text=body,
        body_html="<p>" + body.replace("\n\n", "</p><p>") + "</p>",
        date=kw.pop("date", ArticleDate(date(2026, 11, 20), DatePrecision.DAY, DateSource.TITLE)),  # type: ignore[arg-type]
        section=kw.pop("section", "Press Releases"),  # type: ignore[arg-type]
        language=kw.pop("language", "en"),  # type: ignore[arg-type]
    )


def populate(db: Database, now: datetime) -> dict[str, int]:
    """Write the fixture history; return article ids by role."""
    old = now - timedelta(days=10)
    nxt = now + timedelta(days=1)
    ids: dict[str, int] = {}
    cn, uk, zh = "cn-mfa-en", "uk-fcdo", "cn-mfa-zh"
    with db.session() as s:
        sync_sources(
            s,
            [
                SourceInfo(
                    cn, "Ministry of Foreign Affairs of the PRC", "CN", "en", "Asia/Shanghai"
                ),
                SourceInfo(zh, "中华人民共和国外交部", "CN", "zh", "Asia/Shanghai"),
                SourceInfo(
                    uk, "Foreign, Commonwealth & Development Office", "GB", "en", "Europe/London"
                ),
            ],
        )
    with db.session() as s:
        # Seen long ago, edited in the window.
        url = "https://www.fmprc.gov.cn/eng/changed.html"
        minute = ArticleDate(
            date(2026, 11, 18),
            DatePrecision.MINUTE,
            DateSource.PAGE,
            datetime(2026, 11, 18, 14, 12, tzinfo=CST),
        )
        a = _article(cn, url, "Wang Yi Holds Talks", CHANGED_OLD, date=minute)
        ids["changed"] = record_fetch(s, a, _raw(url, old), now=old, next_check_at=nxt).article_id
        b = _article(cn, url, "Wang Yi Holds Talks with Counterpart", CHANGED_NEW, date=minute)
        record_fetch(
            s,
            b,
            _raw(url, now - timedelta(hours=2)),
            now=now - timedelta(hours=2),
            next_check_at=nxt,
        )

        # Seen long ago, gone (confirmed) in the window.
        url = "https://www.fmprc.gov.cn/eng/removed.html"
        a = _article(cn, url, "Statement on a Vanished Topic", "This statement will disappear.")
        ids["removed"] = record_fetch(s, a, _raw(url, old), now=old, next_check_at=nxt).article_id
        for hours in (30, 20, 3):
            at = now - timedelta(hours=hours)
            record_missing(
                s, url, _raw(url, at, 404, b"Not Found"), "HTTP 404", now=at, next_check_at=nxt
            )

        # Removed long ago, back in the window.
        url = "https://www.fmprc.gov.cn/eng/restored.html"
        a = _article(
            cn, url, "Restored Readout", "The readout came back.\n\nUnchanged second paragraph."
        )
        ids["restored"] = record_fetch(s, a, _raw(url, old), now=old, next_check_at=nxt).article_id
        for hours in (200, 190, 170):
            at = now - timedelta(hours=hours)
            record_missing(s, url, None, "HTTP 410", now=at, next_check_at=nxt)
        at = now - timedelta(hours=1)
        record_fetch(s, a, _raw(url, at), now=at, next_check_at=nxt)

        # New in the window: a watchlist hit in English, one in Chinese, and a hostile one.
        url = "https://www.gov.uk/government/news/sanctions"
        at = now - timedelta(hours=4)
        a = _article(
            uk,
            url,
            "UK announces new sanctions",
            "The UK sanctioned three entities over Taiwan Strait tensions.",
        )
        ids["new"] = record_fetch(s, a, _raw(url, at), now=at, next_check_at=nxt).article_id
        url = "https://www.mfa.gov.cn/web/wjdt_674879/t1.shtml"
        at = now - timedelta(hours=5)
        a = _article(
            zh,
            url,
            "外交部发言人就台湾问题答记者问",
            "问：关于台湾问题……\n\n答：台湾是中国领土不可分割的一部分。",
            language="zh",
        )
        ids["new_zh"] = record_fetch(s, a, _raw(url, at), now=at, next_check_at=nxt).article_id
        url = "https://www.fmprc.gov.cn/eng/hostile.html"
        at = now - timedelta(hours=6)
        a = _article(cn, url, HOSTILE_TITLE, HOSTILE_BODY)
        ids["hostile"] = record_fetch(s, a, _raw(url, at), now=at, next_check_at=nxt).article_id

        # Old news: outside the window.
        url = "https://www.gov.uk/government/news/old"
        a = _article(uk, url, "Old statement", "Nothing recent.")
        ids["old"] = record_fetch(s, a, _raw(url, old), now=old, next_check_at=nxt).article_id

        # A source that started failing in the window.
        run = start_run(s, uk, now - timedelta(hours=2))
        finish_run(
            s,
            run,
            finished_at=now - timedelta(hours=2),
            status="failed",
            counts={},
            error="HTTP 503",
        )
        update_health(
            s, uk, state="failing", error="HTTP 503 from listing", at=now - timedelta(hours=2)
        )
    return ids


@pytest.fixture(scope="session")
def _digest_template(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, datetime, dict[str, int]]:
    """The fixture history written once per test session into a SQLite file (copied per test)."""
    path = tmp_path_factory.mktemp("digest") / "template.sqlite3"
    db = open_db(f"sqlite:///{path}")
    now = datetime.now(UTC).replace(microsecond=0)
    ids = populate(db, now)
    db.dispose()  # the last connection closing checkpoints the WAL into the file
    return path, now, ids


@pytest.fixture
def digest_db(
    _digest_template: tuple[Path, datetime, dict[str, int]], tmp_path: Path
) -> Iterator[DigestDB]:
    """A private copy of the fixture history in a SQLite file."""
    template, now, ids = _digest_template
    path = tmp_path / "digest.sqlite3"
    shutil.copyfile(template, path)
    db = open_db(f"sqlite:///{path}")
    yield DigestDB(db, now, dict(ids))
    assert db.checked_out() == 0, "a connection was left checked out"
    db.dispose()


@pytest.fixture
def digest_db_any(db_url: str) -> Iterator[DigestDB]:
    """The fixture history on every dialect (SQLite file and PostgreSQL)."""
    db = open_db(db_url)
    now = datetime.now(UTC).replace(microsecond=0)
    ids = populate(db, now)
    yield DigestDB(db, now, ids)
    assert db.checked_out() == 0, "a connection was left checked out"
    db.dispose()


@pytest.fixture
def rules() -> tuple[AlertRule, ...]:
    """Watchlist rules: an English keyword, a Chinese one, a glob and a regex."""
    return (
        AlertRule("taiwan", keywords=("Taiwan", "台湾")),
        AlertRule("sanctions", keywords=("sanction*",)),
        AlertRule("minister", regex=(r"\bminist(er|ry)\b",)),
    )
