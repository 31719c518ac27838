"""Logging set-up: one line per event, as text or JSON (`--log-format json`), to stderr.

Expected failures (a site down, a page that is not an article) are logged as warnings with the
URL and the reason, never with a traceback. A text line passes through the one sanitizer
(`storage.safe_text.clean`): a hostile URL or title cannot drive the terminal. JSON lines escape
every non-ASCII character.
"""

from __future__ import annotations

import logging
import sys

from storage.safe_text import clean

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Context that steps attach through `extra=`; shown in JSON logs when present.
CONTEXT_FIELDS = ("source", "url", "status")


class _TextFormatter(logging.Formatter):
    """Plain text with any attached context appended as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [
            f"{k}={getattr(record, k)}"
            for k in CONTEXT_FIELDS
            if getattr(record, k, None) is not None and f"{getattr(record, k)}" not in line
        ]
        # Messages carry URLs, reasons and titles from foreign sites: the one sanitizer.
        return clean(f"{line} {' '.join(extras)}" if extras else line)


def setup_logging(fmt: str = "text", level: int = logging.INFO) -> None:
    """Route every log record to stderr, one line each, in `fmt` (`text` or `json`)."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(_TextFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic", "trafilatura", "htmldate"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
