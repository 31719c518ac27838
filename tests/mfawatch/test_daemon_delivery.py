"""`mfawatch run` delivers: the scheduled digest and the watchlist alerts, by real mail to aiosmtpd on 127.0.0.1."""

from __future__ import annotations

import email
import signal
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from apscheduler.triggers.interval import IntervalTrigger
from selectolax.lexbor import LexborHTMLParser

from mfawatch.scheduled_delivery import digest_trigger
from mfawatch.settings.models import DigestSettings
from tests.mfawatch.daemon_support import (
    DaemonProcess,
    Ministry,
    count_articles,
    run_cli,
    source_yaml,
    wait_for,
)
from tests.site import Site

pytestmark = pytest.mark.slow


class Inbox:
    """An aiosmtpd handler keeping every message it receives (from the server's thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        with self._lock:
            self._messages.append(message)
        return "250 OK"

    @property
    def messages(self) -> list[Message]:
        with self._lock:
            return list(self._messages)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _mailto(port: int, userinfo: str = "") -> str:
    return f"mailto://{userinfo}127.0.0.1:{port}?from=mfawatch@example.org&to=analyst@example.org"


class Mailbox:
    """A real SMTP server on 127.0.0.1 (started on demand) and the apprise URL that reaches it.

    With `login`, the server takes only that `user:password` (AUTH over plain SMTP, loopback only).
    """

    def __init__(self, login: str | None = None) -> None:
        self.inbox = Inbox()
        self.port = _free_port()
        self.login = login
        self.url = _mailto(self.port, f"{login}@" if login else "")
        self._controller: Controller | None = None

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth: Any
    ) -> AuthResult:
        user, password = getattr(auth, "login", b""), getattr(auth, "password", b"")
        ok = self.login is not None and f"{user.decode()}:{password.decode()}" == self.login
        return AuthResult(success=ok)

    def start(self) -> None:
        extra: dict[str, Any] = {}
        if self.login:
            extra = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **extra)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A running SMTP server on 127.0.0.1; stopped after the test."""
    box = Mailbox()
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    """Daemons started by a test; any still running at the end are killed."""
    started: list[DaemonProcess] = []
    yield started
    for d in started:
        d.kill()


def start(daemons: list[DaemonProcess], config: Path, db: Path) -> DaemonProcess:
    daemon = DaemonProcess(config, db)
    daemons.append(daemon)
    return daemon.started()


def write(path: Path, *, sources: str = "", extra: str = "") -> Path:
    """A config file: `sources:` entries plus other top-level sections."""
    path.write_text(f"sources:{' []' if not sources else ''}\n{sources}{extra}", encoding="utf-8")
    return path


def digest_yaml(channel: str, every: str = "1s") -> str:
    return f"digest: {{every: {every}, channels: ['{channel}']}}\n"


def html_of(message: Message) -> LexborHTMLParser:
    part = message.get_body(preferencelist=("html",))  # type: ignore[attr-defined]
    assert part is not None, "the mail has no HTML part"
    return LexborHTMLParser(str(part.get_content()))


def messages_matching(daemon: DaemonProcess, needle: str) -> list[str]:
    return [e["message"] for e in daemon.events() if needle in e["message"]]


class Desk:
    """A press desk on the loopback site whose articles have chosen titles and bodies."""

    def __init__(self, site: Site, key: str) -> None:
        self.site, self.key = site, key
        self.titles: list[str] = []

    @property
    def listing_path(self) -> str:
        return f"/{self.key}/list.html"

    def publish(self, title: str, body: str) -> None:
        """Put one article at the top of the listing."""
        self.titles.append(title)
        n = len(self.titles)
        self.site.add(
            f"/{self.key}/a{n}.html",
            f'<html><body><h2 class="title">{title}</h2><div id="d">2026-03-0{n} 10:00</div>'
            f'<div class="c"><p>{body}</p><p>Statement number {n} of the spokesperson.</p></div>'
            "</body></html>",
            content_type="text/html",
        )
        items = "".join(
            f'<li><a href="./a{i}.html">{t}</a></li>'
            for i, t in reversed(list(enumerate(self.titles, 1)))
        )
        self.site.add(
            self.listing_path,
            f'<html><body><ul class="n">{items}</ul></body></html>',
            content_type="text/html",
            etag=True,
        )


def test_scheduled_digest_is_mailed_once_as_html(
    tmp_path: Path, site: Site, mailbox: Mailbox, daemons: list[DaemonProcess]
) -> None:
    """With `digest: {every: 1s, channels: [mailto]}` the crawled articles arrive as one HTML mail, and later empty runs send none."""
    ministry = Ministry(site, "alpha", articles=3)
    config = write(
        tmp_path / "s.yaml",
        sources=source_yaml("alpha", ministry.listing_url),
        extra=digest_yaml(mailbox.url),
    )
    db = tmp_path / "m.sqlite3"
    daemon = start(daemons, config, db)
    daemon.wait_log("digest delivery scheduled: every 1s")

    (mail,) = wait_for(lambda: mailbox.inbox.messages, what="the digest mail")
    daemon.wait_log("digest sent to 1 channel(s)")
    sent_at = next(i for i, x in enumerate(daemon.log()) if "digest sent to 1 channel" in x)
    # Two later fires find nothing new: still one mail.
    wait_for(
        lambda: sum("digest not sent" in x for x in daemon.log()[sent_at:]) >= 2,
        what="two empty digest runs after the mail",
    )
    assert len(mailbox.inbox.messages) == 1
    assert mail["Subject"].startswith("mfawatch digest: 3 new")
    assert mail["To"] == "analyst@example.org"
    tree = html_of(mail)
    titles = sorted(n.text(strip=True) for n in tree.css("article.item .title"))
    assert titles == [f"alpha statement {i}" for i in (1, 2, 3)]
    assert tree.css("script") == []
    assert daemon.stop() == 0
    assert not any("Traceback" in line for line in daemon.log())


def test_watchlist_alert_is_mailed_once_for_a_matching_article_only(
    tmp_path: Path, site: Site, mailbox: Mailbox, daemons: list[DaemonProcess]
) -> None:
    """An article mentioning Taiwan sends one alert mail after the crawl that stored it; others and later polls send none."""
    desk = Desk(site, "desk")
    desk.publish("Trade talks continue", "The two sides discussed tariffs and ports.")
    alerts = f"alerts:\n  - {{name: taiwan, keywords: [Taiwan], channels: ['{mailbox.url}']}}\n"
    config = write(
        tmp_path / "s.yaml",
        sources=source_yaml("desk", site.url(desk.listing_path), every="1s"),
        extra=alerts,
    )
    db = tmp_path / "m.sqlite3"
    daemon = start(daemons, config, db)
    daemon.wait_log("watchlist alerts on: taiwan")
    daemon.wait_log("watchlist alerts after source desk: nothing to send")
    assert count_articles(db) == 1 and mailbox.inbox.messages == []

    desk.publish("Spokesperson on Taiwan", "Remarks on the Taiwan question and cross-strait ties.")
    (mail,) = wait_for(lambda: mailbox.inbox.messages, what="the Taiwan alert mail")
    assert mail["Subject"] == "mfawatch alert taiwan: Spokesperson on Taiwan"
    titles = [n.text(strip=True) for n in html_of(mail).css("article.item .title")]
    assert titles == ["Spokesperson on Taiwan"]
    daemon.wait_log("watchlist alerts sent: taiwan (1 channel(s))")

    # Later polls (304s) and an article without the keyword send nothing more.
    polls = len(site.requests_to(desk.listing_path))
    wait_for(lambda: len(site.requests_to(desk.listing_path)) >= polls + 2, what="two more polls")
    desk.publish("Weather cooperation", "A memorandum on typhoon forecasting was signed.")
    wait_for(lambda: count_articles(db) == 3, what="the third article")
    wait_for(
        lambda: len(messages_matching(daemon, "watchlist alerts after source desk: nothing")) >= 2,
        what="the alert check after the third article",
    )
    assert len(mailbox.inbox.messages) == 1
    assert daemon.stop() == 0


def test_empty_digest_is_not_mailed(
    tmp_path: Path, mailbox: Mailbox, daemons: list[DaemonProcess]
) -> None:
    """With `send_empty` false (the default) a digest with nothing new sends no mail."""
    config = write(tmp_path / "s.yaml", extra=digest_yaml(mailbox.url))
    daemon = start(daemons, config, tmp_path / "m.sqlite3")
    wait_for(
        lambda: len(messages_matching(daemon, "digest not sent: digest is empty")) >= 2,
        what="two empty digest runs",
    )
    assert mailbox.inbox.messages == []
    assert daemon.stop() == 0


def test_failed_delivery_warns_with_the_channel_masked_and_is_retried(
    tmp_path: Path, site: Site, daemons: list[DaemonProcess]
) -> None:
    """A mail server that is down is a masked warning, the daemon keeps polling, and the missed digest arrives once it is up."""
    box = Mailbox(login="mfa:hunter2")
    ministry = Ministry(site, "beta", articles=2)
    config = write(
        tmp_path / "s.yaml",
        sources=source_yaml("beta", ministry.listing_url, every="1s"),
        extra=digest_yaml(box.url),
    )
    db = tmp_path / "m.sqlite3"
    daemon = start(daemons, config, db)
    try:
        warning = daemon.wait_log(
            "digest delivery failed: delivery failed on 1 of 1 channel(s): mailto://***@127.0.0.1"
        )
        assert "failed" in warning and "hunter2" not in warning
        polls = ministry.polls()
        wait_for(lambda: ministry.polls() > polls, what="polls going on after the failure")

        box.start()
        (mail,) = wait_for(lambda: box.inbox.messages, what="the digest once the server is up")
        assert mail["Subject"].startswith("mfawatch digest: 2 new")
        assert daemon.stop() == 0
    finally:
        box.stop()
    log = daemon.log()
    assert not any("hunter2" in line for line in log)
    assert not any("Traceback" in line for line in log)


def test_reload_adds_and_removes_the_digest_job(
    tmp_path: Path, site: Site, mailbox: Mailbox, daemons: list[DaemonProcess]
) -> None:
    """SIGHUP with a new `digest:` section schedules the digest (and it is mailed); without it, the job goes."""
    ministry = Ministry(site, "gamma", articles=2)
    sources = source_yaml("gamma", ministry.listing_url)
    config = write(tmp_path / "s.yaml", sources=sources)
    db = tmp_path / "m.sqlite3"
    daemon = start(daemons, config, db)
    wait_for(lambda: count_articles(db) == 2, what="the first crawl")
    assert not messages_matching(daemon, "digest delivery scheduled")

    write(config, sources=sources, extra=digest_yaml(mailbox.url))
    daemon.signal(signal.SIGHUP)
    daemon.wait_log("digest delivery scheduled: every 1s to 1 channel(s)")
    (mail,) = wait_for(lambda: mailbox.inbox.messages, what="the digest after the reload")
    assert mail["Subject"].startswith("mfawatch digest: 2 new")

    write(config, sources=sources)
    daemon.signal(signal.SIGHUP)
    daemon.wait_log("digest delivery removed")
    assert daemon.stop() == 0


def test_digest_with_both_cron_and_every_is_refused(tmp_path: Path, mailbox: Mailbox) -> None:
    """`digest:` with both `cron` and `every` stops `mfawatch run` with an error naming the digest section."""
    extra = f"digest: {{cron: '0 7 * * *', every: 1h, channels: ['{mailbox.url}']}}\n"
    config = write(tmp_path / "s.yaml", extra=extra)
    result = run_cli(config, tmp_path / "m.sqlite3", "run", timeout=30)
    assert result.returncode != 0
    assert "digest" in result.stderr and "exactly one of `every` or `cron`" in result.stderr
    assert "Traceback" not in result.stderr


def test_digest_cron_is_read_in_its_timezone_with_crontab_weekdays() -> None:
    """`cron: "0 7 * * 1"` in Asia/Shanghai fires Monday 07:00 Shanghai time (Sunday 23:00 UTC); `every` is an interval."""
    digest = DigestSettings(cron="0 7 * * 1", timezone="Asia/Shanghai", channels=("x://",))
    fire = digest_trigger(digest).get_next_fire_time(None, datetime(2026, 3, 4, tzinfo=UTC))
    assert fire is not None
    assert fire.astimezone(UTC) == datetime(2026, 3, 8, 23, 0, tzinfo=UTC)
    every = DigestSettings(every="6h", channels=("x://",))
    trigger = digest_trigger(every)
    assert isinstance(trigger, IntervalTrigger) and trigger.interval == timedelta(hours=6)
