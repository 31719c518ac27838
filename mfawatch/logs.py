"""Logging set-up: one line per event, as text or JSON (`--log-format json`), to stderr.

Expected failures (a site down, a page that is not an article) are logged as warnings with the
URL and the reason, never with a traceback. Every line about a request names its URL: in the
message, or appended as `url=...` (text) / the `url` field (JSON) when a step attached it with
`extra=`. Times are ISO 8601 in UTC with the zone (`2026-12-07T20:03:55.553+00:00`), in both formats.

Retries are logged by the fetch layer itself (`retrying URL (try 1 of 4 failed): reason`);
stamina's own retry instrumentation, whose line names no URL, is switched off here.
A text line passes through the one sanitizer (`storage.safe_text.clean`): a hostile URL or
title cannot drive the terminal. JSON lines escape every non-ASCII character.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import stamina.instrumentation

from storage.safe_text import clean

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Context that steps attach through `extra=`; shown in JSON logs when present.
CONTEXT_FIELDS = ("source", "url", "status")


def iso_time(record: logging.LogRecord) -> str:
    """The record's time as ISO 8601 in UTC, with milliseconds and the zone."""
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class _TextFormatter(logging.Formatter):
    """Plain text with any attached context appended as key=value."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return iso_time(record)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [
            f"{k}={getattr(record, k)}"
            for k in CONTEXT_FIELDS
            if getattr(record, k, None) is not None and f"{getattr(record, k)}" not in line
        ]
        # Messages carry URLs, reasons and titles from foreign sites: the one sanitizer.
        return clean(f"{line} {' '.join(extras)}" if extras else line)


def _json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    class _Json(JsonFormatter):
        def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
            return iso_time(record)

    return _Json(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )


def setup_logging(fmt: str = "text", level: int = logging.INFO) -> None:
    """Route every log record to stderr, one line each, in `fmt` (`text` or `json`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_json_formatter() if fmt == "json" else _TextFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic", "trafilatura", "htmldate"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    stamina.instrumentation.set_on_retry_hooks([])  # our retry lines name the URL; its do not
