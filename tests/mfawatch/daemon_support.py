"""Helpers for the daemon tests: a fake ministry on the loopback site, configs, and a daemon process.

`Ministry` serves one listing (with ETag) and its articles from `tests.site.Site`; `add()` publishes
a new article at the top of the listing, as a ministry does. `DaemonProcess` runs
`python -m mfawatch ... run` as a real subprocess, collects its stderr lines in a thread, and
offers bounded waits (polling loops, never fixed sleeps) on its logs, the site and the database.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from storage import queries
from storage.engine import Database
from tests.site import Site

WAIT = 30.0  # upper bound of any wait; a healthy run finishes each in a few seconds


def wait_for(predicate: Callable[[], Any], timeout: float = WAIT, what: str = "condition") -> Any:
    """Poll `predicate` every 50 ms until it is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def article_html(key: str, i: int) -> str:
    """Article `i` of ministry `key`: a title, a date and a few distinct paragraphs."""
    paras = "".join(
        f"<p>Paragraph {p} of {key} statement {i}: the ministry stated its position on item {p}.</p>"
        for p in range(6)
    )
    return (
        f'<html><body><h2 class="title">{key} statement {i}</h2>'
        f'<div id="d">2026-03-{1 + i % 28:02d} 10:00</div><div class="c">{paras}</div></body></html>'
    )


class Ministry:
    """A fake ministry site section under `/<key>/` on the loopback site."""

    def __init__(self, site: Site, key: str, articles: int = 3) -> None:
        self.site = site
        self.key = key
        self.count = 0
        for _ in range(articles):
            self._publish()
        self._write_listing()

    @property
    def listing_path(self) -> str:
        return f"/{self.key}/list.html"

    @property
    def listing_url(self) -> str:
        return self.site.url(self.listing_path)

    def _publish(self) -> None:
        self.count += 1
        self.site.add(
            f"/{self.key}/a{self.count}.html",
            article_html(self.key, self.count),
            content_type="text/html",
        )

    def _write_listing(self) -> None:
        items = "".join(
            f'<li><a href="./a{i}.html">{self.key} statement {i}</a></li>'
            for i in range(self.count, 0, -1)
        )
        self.site.add(
            self.listing_path,
            f'<html><body><ul class="n">{items}</ul></body></html>',
            content_type="text/html",
            etag=True,
        )

    def add(self) -> None:
        """Publish one more article at the top of the listing."""
        self._publish()
        self._write_listing()

    def polls(self) -> int:
        """How many times the listing was requested."""
        return len(self.site.requests_to(self.listing_path))


def source_yaml(key: str, listing_url: str, *, every: str = "2s", extra: str = "") -> str:
    """One source entry for a fake ministry (robots off, no retries: tests stay fast)."""
    return (
        f"  - key: {key}\n"
        f"    name: Ministry {key}\n"
        "    country: CN\n"
        "    timezone: Asia/Shanghai\n"
        f"    schedule: {{every: {every}, jitter: 0s}}\n"
        f"    politeness: {{respect_robots: false, retries: 0{extra}}}\n"
        f"    listings: [{{url: '{listing_url}'}}]\n"
        "    list: {item: 'ul.n li', link: a}\n"
        "    article: {title: h2.title, date: '#d', body: div.c}\n"
    )


def write_config(path: Path, *entries: str) -> Path:
    """Write a sources YAML made of `source_yaml` entries."""
    path.write_text("sources:\n" + "".join(entries), encoding="utf-8")
    return path


def clean_env() -> dict[str, str]:
    """The environment without MFAWATCH_* variables (the tests pass --config and --db)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MFAWATCH_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def mfawatch_cmd(config: Path, db: Path, *args: str, json_logs: bool = True) -> list[str]:
    """The command line of `python -m mfawatch` on this config and database."""
    fmt = ["--log-format", "json"] if json_logs else []
    return [sys.executable, "-m", "mfawatch", "--config", str(config), "--db", str(db), *fmt, *args]


def run_cli(
    config: Path, db: Path, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run one mfawatch command to completion."""
    return subprocess.run(
        mfawatch_cmd(config, db, *args, json_logs=False),
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=timeout,
    )


class DaemonProcess:
    """`mfawatch run` as a subprocess, with its stderr lines collected as they arrive."""

    def __init__(
        self,
        config: Path,
        db: Path,
        *args: str,
        json_logs: bool = True,
        env: dict[str, str] | None = None,
    ) -> None:
        self.config = config
        self.db = db
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            mfawatch_cmd(config, db, "run", *args, json_logs=json_logs),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env() | (env or {}),
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> list[str]:
        """Every stderr line so far."""
        with self._lock:
            return list(self.lines)

    def events(self) -> list[dict[str, Any]]:
        """The stderr lines parsed as JSON (raises if one is not a JSON object)."""
        return [json.loads(line) for line in self.log() if line.strip()]

    def wait_log(self, needle: str, timeout: float = WAIT) -> str:
        """Wait for a stderr line containing `needle`; return it."""

        def find() -> str | None:
            if self.proc.poll() is not None and not any(needle in x for x in self.log()):
                self._reader.join(2)
                raise AssertionError(
                    f"daemon exited ({self.proc.returncode}) before logging {needle!r}:\n"
                    + "\n".join(self.log())
                )
            return next((x for x in self.log() if needle in x), None)

        return wait_for(find, timeout, f"log line {needle!r}")  # type: ignore[no-any-return]

    def started(self) -> DaemonProcess:
        """Wait until the daemon says it has started."""
        self.wait_log("daemon started")
        return self

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then wait up to `timeout` seconds; return the exit code."""
        self.signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._close()
        return code

    def kill(self) -> None:
        """SIGKILL and reap (for cleanup and crash tests)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self._close()

    def _close(self) -> None:
        self._reader.join(5)
        if self.proc.stderr is not None and not self._reader.is_alive():
            self.proc.stderr.close()


def count_articles(db: Path, source: str | None = None) -> int:
    """Articles stored in the SQLite file, read through storage (no migration run)."""
    database = Database(f"sqlite:///{db}")
    try:
        with database.session(readonly=True) as s:
            return queries.count_articles(s, source)
    finally:
        database.dispose()
