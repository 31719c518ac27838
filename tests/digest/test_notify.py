"""Delivery through apprise to a real SMTP server on 127.0.0.1: one mail per digest, none when empty."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from selectolax.lexbor import LexborHTMLParser

from digest.alerts import AlertRule
from digest.delivery import send_alerts, send_scheduled_digest
from digest.model import Report
from digest.notify import NotifyError, deliver, deliver_alerts, mask
from digest.report import build_report
from tests.digest.conftest import HOSTILE_TITLE, DigestDB


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    """A real SMTP server on 127.0.0.1 and the apprise URL that reaches it (plain SMTP, no auth)."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, f"mailto://127.0.0.1:{port}?from=mfawatch@example.org&to=analyst@example.org"
    finally:
        controller.stop()


def _report(d: DigestDB, rules: tuple[AlertRule, ...] = (), *, empty: bool = False) -> Report:
    with d.db.session(readonly=True) as s:
        return build_report(s, since=d.now if empty else d.since, until=d.now, alerts=rules)


def _html(message: Message) -> str:
    part = message.get_body(preferencelist=("html",))  # type: ignore[attr-defined]
    assert part is not None, "the mail has no HTML part"
    return str(part.get_content())


def test_digest_arrives_as_one_html_mail(digest_db: DigestDB, smtp: tuple[Inbox, str]) -> None:
    """The scheduled digest is one mail whose HTML part is the escaped, self-contained digest."""
    inbox, url = smtp
    result = deliver(_report(digest_db), [url])
    assert result.sent and result.channels == 1
    (message,) = inbox.messages
    assert message["Subject"].startswith("mfawatch digest: 3 new, 1 changed, 1 removed, 1 restored")
    assert message["To"] == "analyst@example.org"
    tree = LexborHTMLParser(_html(message))
    assert len(tree.css("article.item")) == 6 and tree.css("script") == []
    assert HOSTILE_TITLE in [n.text() for n in tree.css(".title")]


def test_empty_digest_sends_nothing_unless_asked(
    digest_db: DigestDB, smtp: tuple[Inbox, str]
) -> None:
    """With send_empty false an empty digest is not mailed; with it true, it is."""
    inbox, url = smtp
    skipped = deliver(_report(digest_db, empty=True), [url], send_empty=False)
    assert not skipped.sent and "empty" in skipped.reason and inbox.messages == []
    sent = deliver(_report(digest_db, empty=True), [url], send_empty=True)
    assert sent.sent and len(inbox.messages) == 1
    assert "Nothing new" in _html(inbox.messages[0])


def test_alerts_go_to_their_rule_channels(digest_db: DigestDB, smtp: tuple[Inbox, str]) -> None:
    """Each rule with channels gets one mail with only the items it matched."""
    inbox, url = smtp
    rules = (AlertRule("sanctions", keywords=("sanction*",), channels=(url,)),
             AlertRule("nothing", keywords=("zzzz",), channels=(url,)))  # fmt: skip
    results = deliver_alerts(_report(digest_db, rules), rules)
    assert results["sanctions"].sent and not results["nothing"].sent
    (message,) = inbox.messages
    assert message["Subject"] == "mfawatch alert sanctions: UK announces new sanctions"
    assert len(LexborHTMLParser(_html(message)).css("article.item")) == 1


def test_bad_channel_urls_are_named_with_secrets_masked(digest_db: DigestDB) -> None:
    """An unparseable channel URL is reported, its password never shown."""
    with pytest.raises(NotifyError, match="is not a valid apprise URL") as info:
        deliver(_report(digest_db), ["nosuchservice://user:hunter2@host"])
    assert "hunter2" not in str(info.value)
    assert mask("mailto://u:pw@host?token=abc&to=x") == "mailto://***@host?token=***&to=x"


def test_refused_delivery_raises_naming_the_channel(digest_db: DigestDB, refused_port: int) -> None:
    """A channel that cannot be reached raises NotifyError saying which one failed."""
    url = f"mailto://127.0.0.1:{refused_port}?from=a@example.org&to=b@example.org"
    with pytest.raises(
        NotifyError, match=r"delivery failed on 1 of 1 channel\(s\): mailto://127\.0\.0\.1"
    ):
        deliver(_report(digest_db), [url])


def test_scheduled_digest_one_mail_per_run_none_when_empty(
    digest_db: DigestDB, smtp: tuple[Inbox, str]
) -> None:
    """Each scheduled run mails what arrived since the previous run; an empty run mails nothing."""
    inbox, url = smtp
    first = send_scheduled_digest(digest_db.db, [url], now=digest_db.now)
    assert first.sent and len(inbox.messages) == 1
    second = send_scheduled_digest(digest_db.db, [url], now=digest_db.now + timedelta(hours=1))
    assert not second.sent and len(inbox.messages) == 1
    third = send_scheduled_digest(
        digest_db.db, [url], send_empty=True, now=digest_db.now + timedelta(hours=2)
    )
    assert third.sent and len(inbox.messages) == 2


def test_failed_scheduled_digest_is_retried_next_run(
    digest_db: DigestDB, smtp: tuple[Inbox, str], refused_port: int
) -> None:
    """A delivery that fails leaves the cursor, so the next run still carries the items."""
    inbox, url = smtp
    dead = f"mailto://127.0.0.1:{refused_port}?from=a@example.org&to=b@example.org"
    with pytest.raises(NotifyError):
        send_scheduled_digest(digest_db.db, [dead], now=digest_db.now)
    assert send_scheduled_digest(digest_db.db, [url], now=digest_db.now).sent
    assert len(LexborHTMLParser(_html(inbox.messages[0])).css("article.item")) == 6


def test_alerts_are_sent_once_for_new_matches(digest_db: DigestDB, smtp: tuple[Inbox, str]) -> None:
    """The first alert run only starts the clock; later runs send each new match exactly once."""
    inbox, url = smtp
    rules = (AlertRule("taiwan", keywords=("Taiwan", "台湾"), channels=(url,)),)
    assert send_alerts(digest_db.db, rules, now=digest_db.since) == {}
    results = send_alerts(digest_db.db, rules, now=digest_db.now)
    assert results["taiwan"].sent and len(inbox.messages) == 1
    assert len(LexborHTMLParser(_html(inbox.messages[0])).css("article.item")) == 3
    assert not send_alerts(digest_db.db, rules, now=digest_db.now + timedelta(minutes=5))[
        "taiwan"
    ].sent
    assert len(inbox.messages) == 1
