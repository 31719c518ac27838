"""The one Jinja2 environment of the digest: package templates, autoescape always on, strict
undefined, and the filters the templates share (dates, publication dates, safe links)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from digest._text import clean, edit_note, one_line, safe_url
from storage.model import ArticleDate


def fmt_time(value: datetime | None) -> str:
    """A crawler time in UTC, to the minute: `2026-11-27 07:05 UTC`."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def fmt_published(value: ArticleDate | None) -> str:
    """A publication date as the page gave it, with its precision and where it came from."""
    return value.describe() if value is not None else "no date"


@cache
def environment() -> Environment:
    """The shared environment; autoescape is unconditional (every template emits HTML/XML)."""
    env = Environment(
        loader=PackageLoader("digest", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        auto_reload=False,  # templates ship with the package; a stat per render costs time
        lstrip_blocks=True,
    )
    env.filters.update(
        clean=clean,
        one_line=one_line,
        safe_url=safe_url,
        time=fmt_time,
        published=fmt_published,
        edit_note=edit_note,
    )
    return env
