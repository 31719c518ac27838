"""The article model shared by every step: what a source is parsed into, and the raw evidence.

Every package may import this module; it imports nothing of ours. Values are frozen dataclasses,
validated when built, and all times are tz-aware (naive datetimes are rejected).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

_T = TypeVar("_T")


def pickled_by_fields(cls: type[_T]) -> type[_T]:
    """Pickle a slotted dataclass as a call of its constructor with its fields, in order.

    A frozen slotted dataclass pickles through Python helpers run per field and per object
    (`__getstate__`/`__setstate__`); parse workers send an article or a page per pickle, and
    that took several times as long as one constructor call. Loading
    runs `__init__`, so a pickled value is validated again like any new one.
    """
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    def __reduce__(self: Any) -> tuple[type[_T], tuple[Any, ...]]:
        return cls, tuple([getattr(self, name) for name in names])

    cls.__reduce__ = __reduce__  # type: ignore[method-assign]
    return cls


class DatePrecision(StrEnum):
    """How much of the publication time the page gave."""

    MINUTE = "minute"
    DAY = "day"


class DateSource(StrEnum):
    """Where the publication date was read from."""

    PAGE = "page"
    LISTING = "listing"
    TITLE = "title"
    FEED = "feed"
    URL = "url"


class ArticleStatus(StrEnum):
    """Lifecycle of an article as seen by the crawler (`articles.status`)."""

    LIVE = "live"
    MISSING = "missing"  # failed recent checks, not yet confirmed removed
    REMOVED = "removed"


class VersionKind(StrEnum):
    """Why a stored version exists (the `kind` column of the versions table)."""

    NEW = "new"  # the first content of an article
    CHANGED = "changed"  # its normalized content changed
    RESTORED = "restored"  # a removed article answered again
    REMOVED = "removed"  # confirmed gone; carries the evidence, no content


class EditKind(StrEnum):
    """How a changed version's edit showed on the page (`versions.edit_kind`).

    `silent`: the text changed, the displayed date and every modification marker stayed the same;
    `announced`: the date or a marker changed or appeared (the evidence says which);
    `unknown`: neither version shows a date or marker to judge by.
    """

    SILENT = "silent"
    ANNOUNCED = "announced"
    UNKNOWN = "unknown"


_Date = date  # `Article.date` (a field) shadows `datetime.date` inside the class body


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be tz-aware, got naive {value!r}")


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class ArticleDate:
    """A publication date as a page gives it: a minute in a zone, or only a calendar day.

    `published_at` is set (tz-aware, in the source's zone) only when a time was given;
    `published_date` is the calendar date in the source's own zone and is always set.
    """

    published_date: date
    precision: DatePrecision
    source: DateSource
    published_at: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware("published_at", self.published_at)
        if self.precision is DatePrecision.MINUTE and self.published_at is None:
            raise ValueError("minute precision needs published_at")
        if self.precision is DatePrecision.DAY and self.published_at is not None:
            raise ValueError("day precision must not carry published_at")

    def describe(self) -> str:
        """Human form, e.g. `2021-11-13 14:12 +08:00 (minute, page)` or `2020-07-03 (day, title)`."""
        if self.published_at is not None:
            off = self.published_at.strftime("%z")
            shown = self.published_at.strftime("%Y-%m-%d %H:%M ") + f"{off[:3]}:{off[3:]}"
        else:
            shown = self.published_date.isoformat()
        return f"{shown} ({self.precision.value}, {self.source.value})"


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Article:
    """One release parsed into the common model (the fields of one version)."""

    source: str
    url: str
    title: str
    body_text: str
    body_html: str = ""
    date: ArticleDate | None = None
    section: str | None = None
    language: str | None = None
    # Modification markers the page shows, as (name, value) pairs in name order: `displayed` (the
    # date element's text), `modified` (meta/JSON-LD dateModified, feed <updated>), `notice` (a
    # correction/update notice). Not part of the content fingerprint: a marker alone makes no
    # version; they only decide whether a text change was announced (`storage.versions.edit_kind`).
    markers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.url:
            raise ValueError("article url is empty")

    @property
    def published_at(self) -> datetime | None:
        return self.date.published_at if self.date else None

    @property
    def published_date(self) -> _Date | None:
        return self.date.published_date if self.date else None

    @property
    def date_precision(self) -> DatePrecision | None:
        return self.date.precision if self.date else None

    @property
    def date_source(self) -> DateSource | None:
        return self.date.source if self.date else None

    @property
    def paragraphs(self) -> list[str]:
        """Body paragraphs (the body text is paragraphs separated by blank lines)."""
        return [p for p in self.body_text.split("\n\n") if p.strip()]


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class RawResponse:
    """An HTTP response exactly as received: the evidence behind a version."""

    url: str  # the URL requested
    final_url: str  # after redirects
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: datetime
    redirects: tuple[str, ...] = field(default=())  # intermediate URLs, in order
    # A page loaded in a browser (`fetch: browser`): its DOM after the scripts ran, as UTF-8,
    # when it differs from `body` (the main document's bytes as received). Parsed instead of
    # `body`, and kept as evidence beside it.
    rendered: bytes | None = None

    def __post_init__(self) -> None:
        _require_aware("fetched_at", self.fetched_at)

    def header(self, name: str) -> str | None:
        """First value of a header, case-insensitively."""
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None
