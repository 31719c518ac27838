"""Delivering a digest or a watchlist alert through apprise channels (mailto, Slack, Matrix,
Telegram, webhooks ... any apprise URL).

`deliver` sends one rendered digest to every channel; an empty digest is sent only when
`send_empty` is true. `deliver_alerts` sends, for each rule with channels, the items of a report
that matched it. Channel URLs carry secrets, so every message about a channel shows it with its
credentials masked. A channel that rejects the message raises `NotifyError` after all channels
were tried, naming the ones that failed.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import apprise

# apprise loads PGPy lazily, which imports the deprecated `imghdr` (Python < 3.13); importing it
# here once, quietly, keeps that warning out of every later delivery.
with warnings.catch_warnings(), contextlib.suppress(ImportError):
    warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
    import imghdr  # noqa: F401

from digest._text import one_line
from digest.alerts import AlertRule
from digest.errors import DigestError
from digest.formats import get_format
from digest.formats import text as text_format
from digest.model import Group, Report

_BODY_FORMAT = {
    "html": apprise.NotifyFormat.HTML,
    "md": apprise.NotifyFormat.MARKDOWN,
    "text": apprise.NotifyFormat.TEXT,
}
_USERINFO = re.compile(r"(?<=://)[^/@?#]*@")
_SECRET_QUERY = re.compile(r"(?i)([?&](?:pass|password|token|key|secret|apikey)=)[^&]*")


class NotifyError(DigestError):
    """A channel URL apprise does not understand, or a channel that did not accept the message."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """What `deliver` did: whether it sent, to how many channels, and why not when it did not."""

    sent: bool
    channels: int
    reason: str = ""


def mask(url: str) -> str:
    """A channel URL with its user info and secret-looking query values replaced by `***`."""
    return _SECRET_QUERY.sub(r"\1***", _USERINFO.sub("***@", url))


def _channel(url: str) -> apprise.Apprise:
    ap = apprise.Apprise()
    if not ap.add(url):
        raise NotifyError(
            f"notification channel {mask(url)!r} is not a valid apprise URL "
            "(see https://github.com/caronc/apprise/wiki for the URL of each service)"
        )
    return ap


def send(channels: Sequence[str], *, title: str, body: str, fmt: str = "html") -> int:
    """Send one message to each channel; return how many accepted it, or raise NotifyError."""
    if fmt not in _BODY_FORMAT:
        raise NotifyError(f"unknown message format {fmt!r} (valid: {', '.join(_BODY_FORMAT)})")
    targets = [(url, _channel(url)) for url in channels]
    failed = [
        mask(url)
        for url, ap in targets
        if not bool(ap.notify(body=body, title=title, body_format=_BODY_FORMAT[fmt]))
    ]
    if failed:
        raise NotifyError(
            f"delivery failed on {len(failed)} of {len(targets)} channel(s): {', '.join(failed)}"
        )
    return len(targets)


TEST_TITLE = "mfawatch test message"
TEST_BODY = (
    "This is a test message from mfawatch (`mfawatch notify --test`). "
    "If you can read it, this channel works."
)


def send_test(url: str) -> str | None:
    """Send the test message to one channel: None when it was accepted, else the reason."""
    try:
        ap = _channel(url)
    except NotifyError as exc:
        return str(exc)
    with apprise.LogCapture(level=apprise.logging.WARNING, fmt="%(message)s") as logs:
        accepted = bool(ap.notify(body=TEST_BODY, title=TEST_TITLE))
    if accepted:
        return None
    lines = [one_line(line) for line in str(logs.getvalue()).splitlines() if line.strip()]
    return mask("; ".join(dict.fromkeys(lines))) if lines else "the channel refused the message"


def _render(report: Report, fmt: str) -> str:
    if fmt == "text":
        return text_format.render(report, color=False)
    return get_format(fmt)(report)


def digest_title(report: Report) -> str:
    """A subject line such as `mfawatch digest: 3 new, 1 changed, 1 alert`."""
    counts = ", ".join(f"{n} {kind}" for kind, n in report.counts.items() if n)
    alerts = len(report.alert_items)
    if alerts:
        counts += f", {alerts} alert{'s' if alerts != 1 else ''}"
    return f"mfawatch digest: {counts or 'nothing new'}"


def deliver(
    report: Report,
    channels: Sequence[str],
    *,
    send_empty: bool = False,
    fmt: str = "html",
    title: str | None = None,
) -> Delivery:
    """Render `report` (html by default) and send it to `channels`, unless it is empty."""
    if not channels:
        return Delivery(False, 0, "no channels configured")
    if report.is_empty and not send_empty:
        return Delivery(False, 0, "digest is empty (send_empty is false)")
    n = send(channels, title=title or digest_title(report), body=_render(report, fmt), fmt=fmt)
    return Delivery(True, n)


def alert_report(report: Report, rule: AlertRule) -> Report:
    """The part of `report` whose items matched `rule` (no source-health section)."""
    groups = []
    for g in report.groups:
        items = tuple(i for i in g.items if any(hit.rule == rule.name for hit in i.alerts))
        if items:
            groups.append(Group(g.country, g.source, g.source_name, items))
    return replace(report, groups=tuple(groups), sources=())


def deliver_alerts(
    report: Report, rules: Sequence[AlertRule], *, fmt: str = "html"
) -> dict[str, Delivery]:
    """For each rule with channels, send the items of `report` it matched; results by rule name."""
    results: dict[str, Delivery] = {}
    for rule in rules:
        sub = alert_report(report, rule)
        if sub.is_empty or not rule.channels:
            results[rule.name] = Delivery(
                False, 0, "no matching items" if sub.is_empty else "no channels"
            )
            continue
        first = sub.items[0].title
        more = len(sub.items) - 1
        title = f"mfawatch alert {rule.name}: {one_line(first)[:120]}"
        if more:
            title += f" (+{more} more)"
        results[rule.name] = deliver(sub, rule.channels, fmt=fmt, title=title)
    return results
