"""Language twins: one ministry's release and the same release on its other-language site.

Two releases are twins when their sources are declared twins (`twin_of:` in the YAML), they are
dated the same day in their zone (or one day apart: the two sites do not always post at the
same hour), and they say the same things where translation cannot change them: the numbers
(`2020年7月3日` and `July 3, 2020` both give 2020, 7 and 3; English month names count as their
numbers) and the officials they name (through the officials table). Their overlap is the
Jaccard index of those sets; a pair needs at least `MIN_SHARED` shared marks and an overlap of
`MIN_OVERLAP`, and each release keeps only its best twin (the greatest overlap, then the same
day, then the nearest listing position, i.e. the nearest id).

One-sided edits (`one_sided`): when one twin gets a new version and the other gets none within
`EDIT_WINDOW` before or after it, the edit was made in one language only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from storage.readouts.detect import Release
from storage.readouts.officials import Officials

MARKS_CHARS = 1500  # the body's first characters read for numbers (dates, figures)
NAMES_LEAD = 300  # ... and for officials (named in the first sentence; names cost more to find)
MIN_SHARED = 3
MIN_OVERLAP = 0.5
DAY_SLACK = timedelta(days=1)
# An edit on one site and none on the other within 12 hours either side is "one-sided": the
# ministry's two sites are edited by two desks, and a correction reaches the other within hours
# when it is made in both (a day would also let a new, unrelated edit count as the twin's).
EDIT_WINDOW = timedelta(hours=12)

_NUMBER = re.compile(r"\d+")
_MONTHS = {
    m: str(i)
    for i, m in enumerate(
        (
            "january february march april may june july august september october november december"
        ).split(),
        start=1,
    )
}
_MONTH = re.compile(r"\b(" + "|".join(_MONTHS) + r")\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Marks:
    """What a release says that translation keeps: numbers and officials."""

    article_id: int
    source: str
    day: date | None
    marks: frozenset[str]


@dataclass(frozen=True, slots=True)
class TwinMatch:
    """Two releases found to be twins, and why."""

    a: Marks
    b: Marks
    overlap: float
    shared: int

    def evidence(self) -> dict[str, object]:
        """The match as stored with the pair (JSON)."""
        return {"overlap": round(self.overlap, 3), "shared_marks": self.shared}

    def rank(self) -> tuple[float, int, int]:
        """Greater is better: overlap, the same day, the nearest id."""
        same_day = int(self.a.day == self.b.day)
        return (self.overlap, same_day, -abs(self.a.article_id - self.b.article_id))


def marks(release: Release, officials: Officials | None) -> Marks:
    """The numbers and officials of a release's title and body start."""
    text = release.title + "\n" + release.body_start[:MARKS_CHARS]
    numbers = {n.lstrip("0") or "0" for n in _NUMBER.findall(text)}
    numbers.update(_MONTHS[m.lower()] for m in _MONTH.findall(text))
    day = release.published_date or (release.published_at.date() if release.published_at else None)
    people: set[str] = set()
    if officials is not None and day is not None:
        lead = release.title + "\n" + release.body_start[:NAMES_LEAD]
        people = {"@" + m.person for m in officials.named_in(lead, day)}
    return Marks(release.article_id, release.source, day, frozenset(numbers | people))


def match(a: Marks, b: Marks) -> TwinMatch | None:
    """The twin match of two releases of twin sources, or None."""
    if a.day is None or b.day is None or abs(a.day - b.day) > DAY_SLACK:
        return None
    shared = len(a.marks & b.marks)
    union = len(a.marks | b.marks)
    if shared < MIN_SHARED or not union:
        return None
    overlap = shared / union
    if overlap < MIN_OVERLAP:
        return None
    return TwinMatch(a, b, overlap, shared)


def best_twin(new: Marks, candidates: Iterable[Marks]) -> TwinMatch | None:
    """The best twin of `new` among releases of its twin source."""
    found = [m for m in (match(new, c) for c in candidates) if m is not None]
    return max(found, key=lambda m: m.rank(), default=None)


def one_sided(edited_at: datetime, twin_edits: Iterable[datetime], now: datetime) -> str | None:
    """`one-sided` when the twin has no edit within `EDIT_WINDOW` of `edited_at` (`so far`
    while the window is still open); None when the twin was edited too."""
    if any(abs(t - edited_at) <= EDIT_WINDOW for t in twin_edits):
        return None
    return "one-sided" if now - edited_at > EDIT_WINDOW else "one-sided so far"
