"""A source's health after a crawl, stored the same way by the daemon and by `crawl --once`.

Health (`ok`, `failing`, `broken`, `blocked`; `quiet` below) follows from the run's status: a
`partial` run (a run bound left work for the next run) is healthy. A source becomes `broken` only when
`broken_after` runs in a row found nothing (read from the runs table, so one-shot crawls count
too): one odd page is not a redesign. A source whose crawl is healthy is `quiet` when no new item
came for longer than its own rhythm makes likely (`storage.activity.quiet_verdict`, the model in
`storage.rhythm`); the stored error is then the verdict's reason, and the next new item clears
it. A change of health is logged once, a warning when it worsens and info when it recovers.
"""

from __future__ import annotations

import logging
from datetime import datetime

from crawler.config import Source
from crawler.context import SourceResult
from storage import runs
from storage.activity import quiet_verdict
from storage.engine import Database

log = logging.getLogger("mfawatch.health")

# SourceResult.status -> the health state storage keeps.
HEALTH_OF_STATUS = {
    "ok": "ok",
    "partial": "ok",
    "failed": "failing",
    "broken": "broken",
    "blocked": "blocked",
}
ERROR_SHOWN = 300  # characters of a source's error kept in a health log line


def record_health(db: Database, source: Source, result: SourceResult, *, at: datetime) -> str:
    """Store the health a finished crawl of `source` shows; return the state stored."""
    state = HEALTH_OF_STATUS.get(result.status, "failing")
    error = "; ".join(result.errors[:3]) or None
    with db.session() as s:
        previous = runs.get_health(s, source.key)
        if state == "broken":
            broken_runs = runs.runs_in_a_row(s, source.key, "broken", source.broken_after)
            if broken_runs < source.broken_after:
                # Not yet `broken`: the source keeps its state until N runs in a row agree.
                state = previous.state if previous else "ok"
                error = error if state != "ok" else None
        if state in runs.NOT_FAILING:  # a crawl that works: is the source silent too long?
            verdict = quiet_verdict(s, source.key, source.zone, at)
            state, error = ("quiet", verdict.describe()) if verdict.quiet else ("ok", None)
        changed = runs.update_health(s, source.key, state=state, error=error, at=at)
    if changed:
        was = previous.state if previous else "ok"
        extra = {"source": source.key, "status": state}
        if state == "ok":
            log.info("source %s recovered: %s -> ok", source.key, was, extra=extra)
        else:
            shown = (error or "")[:ERROR_SHOWN]
            since = f"was {was}" if previous else "first run"
            log.warning("source %s is %s (%s): %s", source.key, state, since, shown, extra=extra)
    return state
