"""Synthetic publication histories shaped like the real listings' dates.

China MFA (tests/fixtures/real-pages/china-*-listing-*.json): a regular press conference every
weekday (2020-07-01, 07-02, 07-03: Wednesday to Friday, none on the weekend of 07-04/05) plus
statements on some days (two items on 2020-06-30 and 06-18), all in Asia/Shanghai working hours.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from storage.engine import Database
from storage.versions import record_fetch
from tests.storage.conftest import day_date, make_article, make_raw

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday, 00:00 in Beijing: the first day of the synthetic history.
START = datetime(2026, 9, 7, tzinfo=SHANGHAI)
# Local (hour, minute) of the day's releases: a morning statement, the 15:00 press conference
# (posted after it ends), a late readout; the statement skips some days, as the real listing shows.
SLOTS = ((10, 5), (16, 40), (18, 20))
POLL = timedelta(minutes=7)  # the crawler sees a release within one poll


def china_weekdays(days: int, *, start: datetime = START, skip: range = range(0)) -> list[datetime]:
    """Publication times of `days` days from `start`: three releases per weekday, none on weekends.

    Days whose index is in `skip` (a holiday) publish nothing.
    """
    out = []
    for d in range(days):
        day = start + timedelta(days=d)
        if day.weekday() >= 5 or d in skip:
            continue
        for i, (hour, minute) in enumerate(SLOTS):
            if i == 0 and d % 3 == 2:  # no morning statement every third day
                continue
            out.append(day.replace(hour=hour, minute=minute + (d % 7)))
    return out


def store_history(
    db: Database, times: list[datetime], *, source: str = "cn-mfa-en", poll: timedelta = POLL
) -> None:
    """Store one article per time, dated that local day (as the listings give it), first seen one
    poll later, and a first crawl's backlog of 15 older releases one hour before the first."""
    backlog_at = min(times) - timedelta(hours=1)
    backlog = [(backlog_at, (backlog_at - timedelta(days=i + 1)).date()) for i in range(15)]
    seen = [(t + poll, t.astimezone(SHANGHAI).date()) for t in times]
    with db.session() as s:
        for i, (at, day) in enumerate(backlog + seen):
            url = f"https://www.fmprc.gov.cn/eng/xw/{source}/t{i}.html"
            text = f"Statement number {i} of {source} on {day.isoformat()}."  # each one distinct
            article = make_article(
                url,
                source=source,
                title=f"Release {i}",
                body_text=text,
                body_html=f"<p>{text}</p>",
                date=day_date(day),
            )
            record_fetch(s, article, make_raw(url, at=at), now=at, next_check_at=at + poll)
