"""The web UI's "check now": a crawl of one source, started from the page, run in the background.

The digest package cannot import the crawler, so `mfawatch serve` hands the web UI this object:
`start(key)` crawls that source in a thread of its own (its own event loop, and a fetcher and
parse workers from `mfawatch.bootstrap`), at most one at a time per source, and `state(key)` tells whether it
is running or how it ended (the crawl summary line, or the first error).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from crawler.config import Source
from crawler.context import SourceResult
from digest._text import one_line
from digest.web import CheckState
from mfawatch.app import App

log = logging.getLogger(__name__)

Crawl = Callable[[App, Source], SourceResult]


def crawl_one(app: App, source: Source) -> SourceResult:
    """One pass over `source` (listings, new articles, due revisits), as `crawl --once` does."""
    from mfawatch.bootstrap import crawl_once

    return asyncio.run(crawl_once(app, [source]))[0]


class BackgroundChecks:
    """Crawls of single sources on demand, one at a time per source; the web UI's `SourceChecker`."""

    def __init__(self, app: App, crawl: Crawl = crawl_one) -> None:
        self.app = app
        self._crawl = crawl
        self._lock = threading.Lock()
        self._states: dict[str, CheckState] = {}
        self._threads: dict[str, threading.Thread] = {}

    def keys(self) -> list[str]:
        """The keys of every configured source."""
        return [s.key for s in self.app.settings.sources]

    def start(self, key: str) -> bool:
        """Start a crawl of `key`; False when one is already running. KeyError: unknown key."""
        source = self.app.settings.source(key)
        with self._lock:
            current = self._states.get(key)
            if current is not None and current.running:
                return False
            self._states[key] = CheckState(running=True, started_at=datetime.now(UTC))
            thread = threading.Thread(
                target=self._run, args=(source,), name=f"check-{key}", daemon=True
            )
            self._threads[key] = thread
            thread.start()
        log.info("check now: crawl of %s started", key)
        return True

    def state(self, key: str) -> CheckState | None:
        """The running or last check of `key` (None when the page never started one)."""
        with self._lock:
            return self._states.get(key)

    def wait(self, key: str, timeout: float | None = None) -> CheckState | None:
        """Wait for the check of `key` to end (for tests and shutdown); its state."""
        thread = self._threads.get(key)
        if thread is not None:
            thread.join(timeout)
        return self.state(key)

    def _run(self, source: Source) -> None:
        started = self._states[source.key].started_at
        try:
            result = self._crawl(self.app, source)
            ok = result.ok
            counts = result.counts()
            text = (
                ", ".join(
                    f"{counts.get(k, 0)} {k}" for k in ("new", "changed", "removed", "rechecked")
                )
                + f", {len(result.errors)} error(s)"
            )
            if result.errors:
                text += f": {one_line(str(result.errors[0]))[:300]}"
        except Exception as exc:  # the page must learn that it failed; the log gets the details
            log.exception("check now: crawl of %s failed", source.key)
            ok, text = False, one_line(f"{type(exc).__name__}: {exc}")[:300]
        with self._lock:
            self._states[source.key] = CheckState(
                running=False, started_at=started, finished_at=datetime.now(UTC), ok=ok, result=text
            )
        log.info("check now: crawl of %s ended: %s", source.key, text)
