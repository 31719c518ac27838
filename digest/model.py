"""The digest's value objects: a `Report` of `Group`s of `Item`s, plus source health.

These frozen dataclasses are the boundary between the read side (`digest.report` builds them from
storage queries) and the formats (`digest.formats.*` only ever see a `Report`). Text in them is
exactly as the page gave it; each format escapes it for its own medium.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

from storage.model import ArticleDate
from storage.readouts.store import PairView


class ItemKind(StrEnum):
    """What happened to an article in the digest's window."""

    NEW = "new"
    CHANGED = "changed"
    REMOVED = "removed"
    RESTORED = "restored"
    RETURNED = "returned"  # back to an earlier version's content: `version` is that version
    MOVED = "moved"  # found under another URL (a section moved, a mirror): `url` is the new one


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of words in a changed passage: kept, inserted or deleted."""

    op: Literal["equal", "insert", "delete"]
    text: str


@dataclass(frozen=True, slots=True)
class Passage:
    """One changed paragraph with a paragraph of context on each side (either may be empty)."""

    segments: tuple[Segment, ...]
    before: str = ""
    after: str = ""


@dataclass(frozen=True, slots=True)
class FieldChange:
    """A metadata field (title, section, date ...) whose value changed between two versions."""

    name: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class Change:
    """How a changed item differs from its previous version."""

    from_version: int
    to_version: int
    words_added: int = 0
    words_removed: int = 0
    summary: str = ""
    fields: tuple[FieldChange, ...] = ()
    passages: tuple[Passage, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertHit:
    """A watchlist rule that matched an item, and the terms it matched (as found in the text)."""

    rule: str
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Item:
    """One article event in the window: new, changed, removed, restored, returned or moved.

    A `returned` item is a return to the content of an earlier version (`version`); its
    `change` goes from the version it left to that one, and `note` says so in words.
    """

    kind: ItemKind
    article_id: int
    version: int
    source: str
    title: str
    url: str
    first_seen_at: datetime
    event_at: datetime  # when the crawler saw the event (version fetch time, removal time)
    country: str | None = None
    section: str | None = None
    language: str | None = None
    published: ArticleDate | None = None
    lead: str = ""
    change: Change | None = None
    alerts: tuple[AlertHit, ...] = ()
    note: str = ""  # removals: the evidence in one line ("HTTP 404, 3 checks, ..."); returns;
    # moves: "moved from URL"
    # A changed item: `silent`, `announced` or `unknown` (storage.versions.edit_kind), and the
    # evidence in one line ("silent edit: unchanged date 2020-06-30", "announced: notice added").
    edit: str | None = None
    edit_note: str = ""
    # A changed item whose language twin was not edited within the window (`readouts.twins`):
    # "edited in English only: ..." (empty otherwise).
    one_sided: str = ""

    def __post_init__(self) -> None:
        for name in ("first_seen_at", "event_at"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"Item.{name} must be tz-aware")

    @property
    def label(self) -> str:
        """The kind as a heading: `NEW`, `CHANGED`, `REMOVED`, `RESTORED`, or `RETURNED to v1`."""
        if self.kind is ItemKind.RETURNED:
            return f"RETURNED to v{self.version}"
        return self.kind.value.upper()

    @property
    def silent(self) -> bool:
        """Whether this is a silent edit: the text changed, the page's date and markers did not."""
        return self.edit == "silent"

    @property
    def badge(self) -> str:
        """The badge formats show next to the kind: `silent edit`, or empty."""
        return "silent edit" if self.silent else ""

    @property
    def event_key(self) -> str:
        """A stable identity of this event (same article, same event -> same key across runs)."""
        if self.kind in (ItemKind.NEW, ItemKind.CHANGED):
            return f"article/{self.article_id}/v/{self.version}"
        stamp = int(self.event_at.timestamp())
        return f"article/{self.article_id}/v/{self.version}/{self.kind.value}/{stamp}"


@dataclass(frozen=True, slots=True)
class Group:
    """The items of one source (sources are ordered by country, then key)."""

    country: str | None
    source: str
    source_name: str | None
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """A source whose health changed in the window: it started failing, or it recovered."""

    source: str
    state: str  # "failing", "broken", "blocked", "quiet" (storage.runs) or "recovered"
    name: str | None = None
    country: str | None = None
    last_run_at: datetime | None = None
    changed_at: datetime | None = None  # when it entered this state
    last_error: str | None = None
    failures: int = 0


@dataclass(frozen=True, slots=True)
class Report:
    """A digest: what happened between `since` and `until`, grouped by country then source."""

    since: datetime
    until: datetime
    groups: tuple[Group, ...] = ()
    sources: tuple[SourceHealth, ...] = ()
    filters: dict[str, tuple[str, ...] | str] = field(default_factory=dict)
    cursor: str | None = None
    totals: dict[str, int] | None = None  # per-kind totals when only a page of items was built
    offset: int = 0  # index of the first item of this page in the whole window
    silent: dict[str, int] = field(default_factory=dict)  # silent edits per source, whole window
    # "Both sides' readouts": readout pairs and language twins found in the window (not rejected)
    pairs: tuple[PairView, ...] = ()

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise ValueError("Report.since and Report.until must be tz-aware")

    @property
    def items(self) -> tuple[Item, ...]:
        """Every item, in group order."""
        return tuple(item for group in self.groups for item in group.items)

    @property
    def by_country(self) -> tuple[tuple[str, tuple[Group, ...]], ...]:
        """Groups bunched by country, in report order; sources without a country under `—`."""
        out: dict[str, list[Group]] = {}
        for group in self.groups:
            out.setdefault(group.country or "—", []).append(group)
        return tuple((country, tuple(groups)) for country, groups in out.items())

    @property
    def counts(self) -> dict[str, int]:
        """Number of items per kind in the whole window (every kind present, zero when none)."""
        if self.totals is not None:
            return dict(self.totals)
        c = Counter(item.kind for item in self.items)
        return {kind.value: c.get(kind, 0) for kind in ItemKind}

    @property
    def total(self) -> int:
        """Number of items in the whole window (more than `len(items)` for a page)."""
        return sum(self.counts.values())

    @property
    def silent_total(self) -> int:
        """Number of silent edits in the whole window."""
        return sum(self.silent.values())

    @property
    def alert_items(self) -> tuple[Item, ...]:
        """Items that matched at least one watchlist rule."""
        return tuple(item for item in self.items if item.alerts)

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to read: no items and no source-health notes."""
        return self.total == 0 and not self.sources and not self.pairs
