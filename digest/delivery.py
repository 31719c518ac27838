"""What the daemon runs to deliver: the scheduled digest and immediate watchlist alerts.

Each keeps its own review cursor (`scheduled` and `alerts` by default), moved only after the
delivery succeeded or was rightly skipped (an empty digest with `send_empty` false). A failed
delivery raises and leaves the cursor where it was, so the next run covers the missed items;
a successful one is never repeated, so a feed of mails has no duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from digest.alerts import AlertRule
from digest.model import ItemKind
from digest.notify import Delivery, deliver, deliver_alerts
from digest.report import build_report
from digest.window import get_cursor, set_cursor
from storage.engine import Database

SCHEDULED_CURSOR = "scheduled"
ALERTS_CURSOR = "alerts"


def send_scheduled_digest(
    db: Database,
    channels: Sequence[str],
    *,
    send_empty: bool = False,
    alerts: Sequence[AlertRule] = (),
    fmt: str = "html",
    cursor: str = SCHEDULED_CURSOR,
    now: datetime | None = None,
) -> Delivery:
    """Deliver everything recorded since the previous scheduled digest (first run: last 24h)."""
    now = now or datetime.now(UTC)
    with db.session(readonly=True) as session:
        since = get_cursor(session, cursor)
        report = build_report(
            session,
            since=since if since is not None else now - timedelta(days=1),
            until=now,
            alerts=alerts,
            cursor=cursor,
        )
    result = deliver(report, channels, send_empty=send_empty, fmt=fmt)
    with db.session() as session:
        set_cursor(session, now, cursor)
    return result


def send_alerts(
    db: Database,
    rules: Sequence[AlertRule],
    *,
    fmt: str = "html",
    cursor: str = ALERTS_CURSOR,
    now: datetime | None = None,
) -> dict[str, Delivery]:
    """Send each rule's new matches since the previous call (first call: from now on, nothing old)."""
    now = now or datetime.now(UTC)
    with db.session(readonly=True) as session:
        since = get_cursor(session, cursor)
        report = None
        if since is not None and any(rule.channels for rule in rules):
            report = build_report(session, since=since, until=now, alerts=rules, kinds=ALERT_KINDS)
    results = deliver_alerts(report, rules, fmt=fmt) if report is not None else {}
    with db.session() as session:
        set_cursor(session, now, cursor)
    return results


ALERT_KINDS = tuple(
    k.value for k in (ItemKind.NEW, ItemKind.CHANGED, ItemKind.RESTORED, ItemKind.RETURNED)
)
