"""An article's readout: the event kind, the officials it names, and when it can have happened.

A release is a readout when its title (or, when the title says nothing, the lead: the body's first
`LEAD_CHARS` characters) has an event kind's words (`vocabulary`), its title is not one of
`vocabulary.NOT_READOUT`, and its title and lead name, on its date, at least one official of
another country than its source's. Only the title and lead are read: a readout says who spoke to
whom in its first sentence, and the rest of a long transcript would only add false mentions (and
cost).

Its time span is when the release appeared, as exactly as the page says: a minute is a point
(UTC), a date alone is that whole day in the source's own zone (so 13 November in Beijing and 12
November in Washington overlap), and an undated release the day before it was first seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from storage.readouts.matching import words
from storage.readouts.officials import Mention, Officials
from storage.readouts.vocabulary import NOT_READOUT, EventKind, first_kind

# The body's first characters read for the kind: a readout says what happened in its first
# sentence (the longest of the labelled set is 260 characters), and more would cost every release.
LEAD_CHARS = 320
BODY_CHARS = 1500  # the body's first characters read from the database (twins read numbers)
# ... and those read for the officials: a readout names both sides in its first paragraph, and
# finding names costs time in proportion to the text.
NAMES_CHARS = 700


@dataclass(frozen=True, slots=True)
class Release:
    """What detection reads of an article: its source's country and zone, title, body start, dates."""

    article_id: int
    source: str
    country: str
    timezone: str
    title: str
    body_start: str
    published_at: datetime | None  # when the page gives the minute (UTC, aware)
    published_date: date | None
    first_seen_at: datetime


@dataclass(frozen=True, slots=True)
class Readout:
    """A release found to be a readout."""

    article_id: int
    source: str
    country: str
    kind: EventKind
    mentions: frozenset[Mention]
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC, >= starts_at
    headline: frozenset[str] = frozenset()  # ids of the officials its title names

    def people(self, country: str) -> frozenset[str]:
        """The ids of the officials of `country` it names."""
        return frozenset(m.person for m in self.mentions if m.country == country)


def event_kind(title: str, body_start: str) -> EventKind | None:
    """The event kind a release reports, from its title, else its lead; None if not a readout."""
    folded_title = words(title)
    found = first_kind(folded_title)
    if found is not None:
        return found
    if NOT_READOUT.search(folded_title):
        return None
    return first_kind(words(body_start[:LEAD_CHARS]))


def detect(release: Release, officials: Officials) -> Readout | None:
    """The release's readout, or None when it is not one (see the module docstring)."""
    kind = event_kind(release.title, release.body_start)
    if kind is None:
        return None
    starts_at, ends_at = time_span(release)
    day = (release.published_at or starts_at).astimezone(_zone(release.timezone)).date()
    if release.published_date is not None:
        day = release.published_date
    text = release.title + "\n" + release.body_start[:NAMES_CHARS]
    mentions = officials.named_in(text, day)
    if not any(m.country != release.country for m in mentions):
        return None
    headline = frozenset(m.person for m in officials.named_in(release.title, day))
    return Readout(
        release.article_id,
        release.source,
        release.country,
        kind,
        mentions,
        starts_at,
        ends_at,
        headline,
    )


MAX_SPAN = timedelta(hours=25)  # the longest span `time_span` gives (a day with a DST change)


def time_span(release: Release) -> tuple[datetime, datetime]:
    """When the release appeared, in UTC: a point, its date's day in its zone, or the day before
    it was first seen."""
    if release.published_at is not None:
        at = release.published_at.astimezone(UTC)
        return at, at
    if release.published_date is not None:
        start = datetime.combine(release.published_date, time(), _zone(release.timezone))
        return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)
    seen = release.first_seen_at.astimezone(UTC)
    return seen - timedelta(days=1), seen


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")
