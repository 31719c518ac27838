"""Every effective value of a source, as `mfawatch sources check` prints it.

The values are read from the validated `Source` model itself (after `defaults:`, environment and
flags were merged), field by field, so a setting added to the model is shown without a change
here: one line per group (schedule, politeness, limits, revisit, ...), durations as `30s`/`15m`/
`1d`, byte sizes as KB/MB.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from crawler.config import Source

# Shown in the header line, or as their own lines (listings, selectors).
_HEADER = ("key", "name", "country", "language", "timezone", "type", "enabled")
_SELECTORS = ("list", "article")
_PAIRS = ("headers", "cookies")


def span(value: timedelta) -> str:
    """A duration compactly: `45s`, `15m`, `1h30m`, `7d`."""
    seconds = value.total_seconds()
    if seconds != int(seconds):
        return f"{seconds:g}s"
    rest, parts = int(seconds), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"


def _size(n: int) -> str:
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} B"


def value_text(name: str, value: Any) -> str:
    """One value as a person reads it."""
    if isinstance(value, timedelta):
        return span(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and name.endswith("bytes"):
        return _size(value)
    if name in _PAIRS and isinstance(value, tuple):  # headers, cookies: (name, value) pairs
        return "{" + ", ".join(f"{k}: {v!r}" for k, v in value) + "}"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(value_text(name, v) for v in value) + "]"
    if isinstance(value, BaseModel):
        return "{" + _fields(value) + "}"
    if value is None:
        return "-"
    return repr(value) if isinstance(value, str) else str(value)


def _fields(model: BaseModel) -> str:
    return ", ".join(
        f"{name} {value_text(name, getattr(model, name))}" for name in type(model).model_fields
    )


def effective_lines(source: Source) -> list[str]:
    """The source's header line, then one indented line per setting group or value."""
    lines = [
        f"{source.key}: {source.name} [{source.country}, {source.language}, {source.timezone}, "
        f"{source.type}, {'enabled' if source.enabled else 'disabled'}]"
    ]
    for listing in source.listings:
        lines.append(f"  listing: {_fields(listing)}")
    for name in type(source).model_fields:
        if name in _HEADER or name == "listings":
            continue
        value = getattr(source, name)
        if name in _SELECTORS:
            if value is not None:
                lines.append(f"  {name} selectors: {_fields(value)}")
            continue
        if isinstance(value, BaseModel):
            lines.append(f"  {name}: {_fields(value)}")
        else:
            lines.append(f"  {name}: {value_text(name, value)}")
    return lines
