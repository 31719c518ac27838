"""Storage fixtures: an opened database over every dialect (with the leak check), and builders."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from storage.engine import Database, open_db
from storage.model import Article, ArticleDate, DatePrecision, DateSource, RawResponse
from storage.schema import Base

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
CST = timezone(timedelta(hours=8))
BODY = (
    "Foreign Minister Wang Yi held talks with his counterpart on Saturday.\n\n"
    "The two sides exchanged views on bilateral relations.\n\n"
    "Both agreed to keep in close contact."
)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """An opened, migrated database; at teardown no connection may still be checked out."""
    database = open_db(db_url)
    yield database
    assert database.checked_out() == 0, "a connection was left checked out"
    database.dispose()


def make_article(url: str = "https://mfa.example/news/1.html", **changes: object) -> Article:
    """An article with a minute-precision +08:00 date; keyword arguments replace fields."""
    article = Article(
        source="cn-mfa-en",
        url=url,
        title="Wang Yi Holds Talks with Counterpart",
        body_text=BODY,
        body_html="<p>" + BODY.replace("\n\n", "</p><p>") + "</p>",
        date=ArticleDate(
            date(2024, 3, 1),
            DatePrecision.MINUTE,
            DateSource.PAGE,
            datetime(2024, 3, 1, 14, 12, tzinfo=CST),
        ),
        section="China News",
        language="en",
    )
    return replace(article, **changes)  # type: ignore[arg-type]


def day_date(day: date) -> ArticleDate:
    """A day-precision date from the page."""
    return ArticleDate(day, DatePrecision.DAY, DateSource.PAGE)


def make_raw(
    url: str = "https://mfa.example/news/1.html",
    body: bytes = b"<html><body>release</body></html>",
    *,
    status: int = 200,
    at: datetime = T0,
    final_url: str | None = None,
) -> RawResponse:
    """A raw response as the fetcher would hand it over."""
    return RawResponse(
        url=url,
        final_url=final_url or url,
        status=status,
        headers=(("Content-Type", "text/html"), ("Server", "nginx")),
        body=body,
        fetched_at=at,
    )


def row_counts(db: Database) -> dict[str, int]:
    """Rows in every table of the schema."""
    with db.session(readonly=True) as s:
        return {
            name: s.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for name, table in Base.metadata.tables.items()
        }
