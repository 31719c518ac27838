"""Dates in every format and language the ministries use, with zone, precision and source."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from crawler.parse.dates import find_date, parse_date
from storage.model import DatePrecision, DateSource

SHANGHAI = ZoneInfo("Asia/Shanghai")
MOSCOW = ZoneInfo("Europe/Moscow")
TOKYO = ZoneInfo("Asia/Tokyo")
BERLIN = ZoneInfo("Europe/Berlin")
PARIS = ZoneInfo("Europe/Paris")
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")

# (text, zone, languages, expected local date, expected local time "HH:MM" or None)
CASES = [
    # fmprc: minute in the page zone, day-only list dates in parentheses.
    ("2021-11-13 14:12", SHANGHAI, ("en",), "2021-11-13", "14:12"),
    ("(2020-07-03)", SHANGHAI, ("zh",), "2020-07-03", None),
    ("2020-07-03", SHANGHAI, ("zh",), "2020-07-03", None),
    ("2020/07/03", SHANGHAI, ("zh",), "2020-07-03", None),
    ("2020年7月3日", SHANGHAI, ("zh",), "2020-07-03", None),
    ("２０２０年７月３日", SHANGHAI, ("zh",), "2020-07-03", None),
    ("2020年7月3日 14:12", SHANGHAI, ("zh",), "2020-07-03", "14:12"),
    # English, with and without weekday, ordinal, time and meridiem.
    ("July 3, 2020", SHANGHAI, ("en",), "2020-07-03", None),
    ("Jul. 3, 2020", SHANGHAI, ("en",), "2020-07-03", None),
    ("3 July 2020", LONDON, ("en",), "2020-07-03", None),
    ("25 August 2026", LONDON, ("en",), "2026-08-25", None),
    ("August 06, 2025", KOLKATA, ("en",), "2025-08-06", None),
    ("July 3rd, 2020", NEW_YORK, ("en",), "2020-07-03", None),
    ("Friday, May 29, 2020, 11:05 a.m.", TOKYO, ("en",), "2020-05-29", "11:05"),
    ("Friday, May 29, 2020, 2:30 p.m.", TOKYO, ("en",), "2020-05-29", "14:30"),
    # Russian: genitive month names, dotted dates, Moscow time.
    ("3 июля 2020", MOSCOW, ("ru",), "2020-07-03", None),
    ("3 июля 2020 г.", MOSCOW, ("ru",), "2020-07-03", None),
    ("28 июня 2022 года", MOSCOW, ("ru",), "2022-06-28", None),
    ("03.07.2020", MOSCOW, ("ru",), "2020-07-03", None),
    ("03.07.2020 14:30", MOSCOW, ("ru",), "2020-07-03", "14:30"),
    # Japanese eras (昭和+1925, 平成+1988, 令和+2018) and 元年.
    ("令和2年7月3日", TOKYO, ("ja",), "2020-07-03", None),
    ("平成31年4月30日", TOKYO, ("ja",), "2019-04-30", None),
    ("令和元年5月1日", TOKYO, ("ja",), "2019-05-01", None),
    ("昭和64年1月7日", TOKYO, ("ja",), "1989-01-07", None),
    ("（令和7年1月10日（金曜日）10時30分 於：本省会見室）", TOKYO, ("ja",), "2025-01-10", "10:30"),
    # German.
    ("28.08.2025", BERLIN, ("de",), "2025-08-28", None),
    ("28.08.2025 - Artikel", BERLIN, ("de",), "2025-08-28", None),
    ("3. Juli 2020", BERLIN, ("de",), "2020-07-03", None),
    ("12. März 2024", BERLIN, ("de",), "2024-03-12", None),
    # French.
    ("3 juillet 2020", PARIS, ("fr",), "2020-07-03", None),
    ("1er août 2020", PARIS, ("fr",), "2020-08-01", None),
    ("le 14 décembre 2023 à 14h30", PARIS, ("fr",), "2023-12-14", "14:30"),
    # ISO 8601 with offset: converted to the source zone.
    ("2016-11-04T10:27:27+00:00", LONDON, ("en",), "2016-11-04", "10:27"),
    ("2026-09-10T16:02:00+01:00", LONDON, ("en",), "2026-09-10", "16:02"),
    ("2021-11-13T06:12:00Z", SHANGHAI, ("en",), "2021-11-13", "14:12"),
    # RFC 2822 (feeds); a UTC pubDate just after midnight is the previous day in New York.
    ("Wed, 03 Aug 2022 16:21:35 +0000", NEW_YORK, ("en",), "2022-08-03", "12:21"),
    ("Wed, 03 Aug 2022 00:20:31 +0000", NEW_YORK, ("en",), "2022-08-02", "20:20"),
    ("Tue, 28 Jun 2022 12:00:00 +0300", MOSCOW, ("ru",), "2022-06-28", "12:00"),
    ("Sat, 13 Nov 2021 06:12:00 GMT", SHANGHAI, ("en",), "2021-11-13", "14:12"),
]


@pytest.mark.parametrize(("text", "zone", "languages", "day", "clock"), CASES)
def test_parse_date_table(
    text: str, zone: ZoneInfo, languages: tuple[str, ...], day: str, clock: str | None
) -> None:
    """Each format gives the right local day, and a time only when the text has one."""
    found = parse_date(text, zone, DateSource.PAGE, languages=languages)
    assert found is not None, text
    assert found.published_date == date.fromisoformat(day)
    assert found.source is DateSource.PAGE
    if clock is None:
        assert found.precision is DatePrecision.DAY
        assert found.published_at is None
    else:
        assert found.precision is DatePrecision.MINUTE
        assert found.published_at is not None
        assert found.published_at.tzinfo is zone
        assert found.published_at.strftime("%H:%M") == clock
        assert found.published_at.date() == found.published_date


def test_utc_feed_date_keeps_the_instant() -> None:
    """Converting a UTC pubDate to the source zone keeps the same instant (seconds included)."""
    found = parse_date("Wed, 03 Aug 2022 00:20:31 +0000", NEW_YORK, DateSource.FEED)
    assert found is not None and found.published_at is not None
    assert found.published_at == datetime.fromisoformat("2022-08-03T00:20:31+00:00")
    assert found.published_at.utcoffset() is not None
    assert found.describe() == "2022-08-02 20:20 -04:00 (minute, feed)"


@pytest.mark.parametrize(
    ("title", "zone", "languages", "day"),
    [
        (
            "Foreign Ministry Spokesperson Zhao Lijian's Regular Press Conference on July 3, 2020",
            SHANGHAI,
            ("en",),
            "2020-07-03",
        ),
        ("2020年7月3日外交部发言人赵立坚主持例行记者会", SHANGHAI, ("zh",), "2020-07-03"),
        (
            "Erklärungen in der Regierungspressekonferenz vom 27.08.2025",
            BERLIN,
            ("de",),
            "2025-08-27",
        ),
        ("Заявление МИД России от 3 июля 2020 года", MOSCOW, ("ru",), "2020-07-03"),
    ],
)
def test_find_date_inside_a_title(
    title: str, zone: ZoneInfo, languages: tuple[str, ...], day: str
) -> None:
    """A date written inside a longer title is found, with the title as its source."""
    found = find_date(title, zone, DateSource.TITLE, languages=languages)
    assert found is not None
    assert found.published_date == date.fromisoformat(day)
    assert found.source is DateSource.TITLE
    assert found.precision is DatePrecision.DAY


def test_find_date_takes_the_first_date() -> None:
    """With several dates in a text the earliest written one wins."""
    found = find_date("Published 3 July 2020, updated 5 July 2020", LONDON, DateSource.PAGE)
    assert found is not None and found.published_date == date(2020, 7, 3)


@pytest.mark.parametrize(
    ("text", "context", "day"),
    [
        ("July 7", date(2021, 7, 20), "2021-07-07"),
        ("April 14", date(2021, 7, 20), "2021-04-14"),
        ("7 July", date(2021, 7, 20), "2021-07-07"),
        ("7月7日", date(2021, 7, 20), "2021-07-07"),
        # A December item seen in January belongs to last year.
        ("December 28", date(2021, 1, 5), "2020-12-28"),
        # 29 February resolves to the latest leap year not after the context.
        ("February 29", date(2021, 3, 1), "2020-02-29"),
    ],
)
def test_yearless_dates_resolve_against_context(text: str, context: date, day: str) -> None:
    """A list date without a year takes the latest such day not after the listing's own date."""
    found = parse_date(text, TOKYO, DateSource.LISTING, languages=("ja", "en"), context=context)
    assert found is not None
    assert found.published_date == date.fromisoformat(day)
    assert found.precision is DatePrecision.DAY


def test_yearless_dates_need_context() -> None:
    """Without a context a year-less date is not guessed."""
    assert find_date("July 7", TOKYO, DateSource.LISTING) is None
    assert find_date("Statement on the May 4 Movement", SHANGHAI, DateSource.TITLE) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Regular Press Conference",
        "2020-13-45",  # not a real date
        "31.02.2020",
        "Page 12 of 2386",
        "t1794629.shtml",
        "1794629",
    ],
)
def test_non_dates_are_none(text: str) -> None:
    """Texts without a real date give None rather than a guess."""
    assert parse_date(text, SHANGHAI, DateSource.PAGE) is None


def test_invalid_time_keeps_the_day() -> None:
    """A clock-like number that is no time (25:99) leaves a day-precision date."""
    found = parse_date("2020-07-03 25:99", SHANGHAI, DateSource.PAGE)
    assert found is not None
    assert found.precision is DatePrecision.DAY and found.published_date == date(2020, 7, 3)


def test_dateparser_fallback_reads_other_forms() -> None:
    """Forms outside the fast families (here a US numeric date with a weekday) go to dateparser."""
    found = parse_date("Monday 07/06/2020", NEW_YORK, DateSource.PAGE)
    assert found is not None
    assert found.published_date == date(2020, 7, 6)


def test_dst_gap_and_offset_conversion_are_consistent() -> None:
    """A local time in the source zone gets that zone's offset for the day (summer vs winter)."""
    summer = parse_date("2022-07-01 12:00", LONDON, DateSource.PAGE)
    winter = parse_date("2022-01-01 12:00", LONDON, DateSource.PAGE)
    assert summer is not None and summer.published_at is not None
    assert winter is not None and winter.published_at is not None
    assert summer.published_at.strftime("%z") == "+0100"
    assert winter.published_at.strftime("%z") == "+0000"
