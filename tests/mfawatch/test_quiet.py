"""A quiet source: recorded after each crawl as the health `quiet`, reported once (log, `status`
text and JSON, every digest format's sources section), cleared by the next new item."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from crawler.config import Source
from crawler.context import SourceResult
from digest.delivery import send_scheduled_digest
from digest.formats import FORMATS
from digest.report import build_report
from mfawatch.cli import cli
from mfawatch.health import record_health
from storage import runs
from storage.engine import Database, open_db
from storage.versions import record_fetch
from tests.digest.test_notify import Inbox, _free_port, _html
from tests.storage.conftest import make_article, make_raw
from tests.storage.rhythm_history import POLL, START, china_weekdays, store_history

KEY = "cn-mfa-en"
SOURCE = Source.model_validate(
    {
        "key": KEY,
        "name": "China MFA",
        "country": "CN",
        "timezone": "Asia/Shanghai",
        "listings": [{"url": "https://www.fmprc.gov.cn/eng/xw/"}],
        "list": {"item": "li", "link": "a"},
    }
)
OK_RUN = SourceResult(source=KEY, listings=1, items=20, unchanged=20)
# Seven weeks of China-shaped history whose last release is on a Monday evening.
TIMES = [t for t in china_weekdays(56) if t < START + timedelta(days=50)]
LAST = max(TIMES) + POLL


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_db(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    store_history(database, TIMES, source=KEY)
    yield database
    database.dispose()


def polls(db: Database, *hours_after_last: float) -> list[str]:
    """Record the health of an ok crawl at each time; the states stored."""
    return [
        record_health(db, SOURCE, OK_RUN, at=LAST + timedelta(hours=h)) for h in hours_after_last
    ]


def new_item(db: Database, now: datetime) -> None:
    """Store one new release first seen at `now`."""
    url = "https://www.fmprc.gov.cn/eng/xw/new.html"
    text = "A new release."
    article = make_article(url, source=KEY, body_text=text, body_html=f"<p>{text}</p>")
    with db.session() as s:
        record_fetch(s, article, make_raw(url, at=now), now=now, next_check_at=now + POLL)


def quiet_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "mfawatch.health"]


def test_a_quiet_source_is_reported_once_and_cleared_by_a_new_item(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Ok through the night, quiet on the third weekday (one warning for several polls), then a
    new item brings it back to ok (one info line)."""
    caplog.set_level(logging.INFO, logger="mfawatch.health")
    assert polls(db, 1, 14) == ["ok", "ok"]  # Monday night, Tuesday 08:xx in Beijing
    assert polls(db, 72, 72.2, 73) == ["quiet", "quiet", "quiet"]
    lines = quiet_lines(caplog)
    assert len(lines) == 1 and lines[0].startswith(f"source {KEY} is quiet (was ok): no new item")
    with db.session(readonly=True) as s:
        health = runs.get_health(s, KEY)
    assert health is not None and health.consecutive_failures == 0
    assert health.changed_at == LAST + timedelta(hours=72)
    new_item(db, LAST + timedelta(hours=74))
    assert polls(db, 74, 75) == ["ok", "ok"]
    assert quiet_lines(caplog)[1:] == [f"source {KEY} recovered: quiet -> ok"]


def test_a_new_item_clears_quiet_even_before_a_page_breaks(db: Database) -> None:
    """A run that found nothing (not yet `broken`) keeps the last state unless the new item
    came: then the source is no longer quiet, and the digest says it recovered."""
    broke = SourceResult(source=KEY, listings=1, broken=True, errors=["selectors matched nothing"])
    assert polls(db, 72) == ["quiet"]
    assert record_health(db, SOURCE, broke, at=LAST + timedelta(hours=73)) == "quiet"
    new_item(db, LAST + timedelta(hours=73, minutes=30))
    assert record_health(db, SOURCE, broke, at=LAST + timedelta(hours=74)) == "ok"
    with db.session(readonly=True) as s:
        report = build_report(s, since=LAST, until=LAST + timedelta(hours=75))
    assert [h.state for h in report.sources] == ["recovered"]


def test_a_failing_crawl_is_failing_not_quiet(db: Database) -> None:
    """Quiet judges only crawls that work: a source that cannot be fetched is `failing`."""
    failed = SourceResult(source=KEY, errors=["https://www.fmprc.gov.cn/eng/xw/: HTTP 503"])
    assert record_health(db, SOURCE, failed, at=LAST + timedelta(hours=80)) == "failing"
    assert polls(db, 81) == ["quiet"]


def test_status_and_every_digest_format_show_the_quiet_source(db: Database, tmp_path: Path) -> None:
    """`status` (text and JSON) says quiet and why; each digest format's sources section too."""
    polls(db, 72)
    args = ["--config", str(tmp_path / "none.yaml"), "--db", str(tmp_path / "m.sqlite3"), "status"]
    result = CliRunner().invoke(cli, [*args, "--format", "json"], env={})
    assert result.exit_code == 0, result.output
    (src,) = json.loads(result.stdout)["sources"]
    assert src["health"] == "quiet" and src["last_error"] is None
    assert src["quiet_reason"].startswith("no new item for 3d 0h; its rhythm (7 weeks")
    text = CliRunner().invoke(cli, args, env={}).stdout
    assert "health: quiet" in text and "  quiet:     no new item for 3d 0h" in text
    with db.session(readonly=True) as s:
        report = build_report(s, since=LAST, until=LAST + timedelta(hours=73))
    (health,) = report.sources
    assert health.state == "quiet" and health.failures == 0
    for name, render in FORMATS.items():
        if name == "atom":  # a feed of items: it has no sources section
            continue
        out = render(report)
        assert "quiet" in out and "no new item for 3d 0h" in out, name


def test_the_scheduled_digest_delivers_quiet_once(db: Database) -> None:
    """Through the delivery of health changes (the scheduled digest, a real SMTP server on
    127.0.0.1): the poll that finds the source quiet makes one mail naming it; later polls of the
    same silence make none."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    url = f"mailto://127.0.0.1:{port}?from=mfawatch@example.org&to=analyst@example.org"
    try:
        send_scheduled_digest(db, [url], now=LAST + timedelta(hours=60))  # the cursor starts
        polls(db, 72)
        first = send_scheduled_digest(db, [url], now=LAST + timedelta(hours=72, minutes=5))
        polls(db, 73, 74)
        second = send_scheduled_digest(db, [url], now=LAST + timedelta(hours=75))
    finally:
        controller.stop()
    assert first.sent and not second.sent and len(inbox.messages) == 1
    body = _html(inbox.messages[0])
    assert KEY in body and "quiet" in body and "no new item for 3d 0h" in body
