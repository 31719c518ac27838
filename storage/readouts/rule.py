"""The pairing rule: when two readouts from two countries' ministries report one event.

Two readouts pair when all of these hold:

1. their sources are of different countries;
2. the same event kind (`vocabulary.EventKind`);
3. their time spans (`detect.time_span`: a point, or a whole day in the source's own zone) are
   at most `WINDOW` apart: a call on the morning of 13 November in Beijing is the evening of 12
   November in Washington, and a ministry publishes its readout up to a day after the event;
4. each names the other side's official: the officials both name include one of each side's
   country (Wang Yi and Blinken in both China's and the State Department's readout).

Among the readouts of one other source that qualify, only the best pairs: the most officials both
name in their titles (Xi's meeting with Blinken and Wang Yi's meeting with Blinken the same day
are told apart by the headline), then the most both name at all, then the nearest in time. One
event has one readout per ministry and language, so a readout keeps at most one pair per other
source (`update.pair_readouts` applies that to pairs already stored).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.readouts.detect import Readout

WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Match:
    """Why two readouts pair: the officials both name, and how far apart they appeared."""

    a: Readout
    b: Readout
    shared: tuple[str, ...]  # person ids, sorted
    gap: timedelta
    headline: tuple[str, ...] = ()  # the shared ids both titles name

    def rank(self) -> tuple[int, int, float]:
        """How good the match is, for choosing among several (greater is better)."""
        return (len(self.headline), len(self.shared), -self.gap.total_seconds())

    def evidence(self) -> dict[str, object]:
        """The match as stored with the pair (JSON)."""
        return {
            "kind": self.a.kind.value,
            "shared": list(self.shared),
            "headline": list(self.headline),
            "rank": list(self.rank()),
            "gap_hours": round(self.gap.total_seconds() / 3600, 2),
            "window_hours": WINDOW.total_seconds() / 3600,
        }


def gap(a: Readout, b: Readout) -> timedelta:
    """The time between two spans (zero when they overlap)."""
    if a.ends_at < b.starts_at:
        return b.starts_at - a.ends_at
    if b.ends_at < a.starts_at:
        return a.starts_at - b.ends_at
    return timedelta(0)


def match(a: Readout, b: Readout) -> Match | None:
    """The match of two readouts under the rule (module docstring), or None."""
    if a.country == b.country or a.kind is not b.kind:
        return None
    apart = gap(a, b)
    if apart > WINDOW:
        return None
    shared = {m.person for m in a.mentions} & {m.person for m in b.mentions}
    countries = {m.country for m in a.mentions | b.mentions if m.person in shared}
    if a.country not in countries or b.country not in countries:
        return None
    return Match(a, b, tuple(sorted(shared)), apart, tuple(sorted(a.headline & b.headline)))


def best_matches(new: Readout, candidates: Iterable[Readout]) -> list[Match]:
    """The matches of `new` among `candidates`: the best one per candidate source."""
    best: dict[str, Match] = {}
    for other in candidates:
        if other.article_id == new.article_id:
            continue
        found = match(new, other)
        if found is None:
            continue
        kept = best.get(other.source)
        if kept is None or found.rank() > kept.rank():
            best[other.source] = found
    return sorted(best.values(), key=lambda m: m.b.source)


def window_bounds(readout: Readout) -> tuple[datetime, datetime]:
    """The times a candidate's span must reach into to be within `WINDOW` of `readout`."""
    return readout.starts_at - WINDOW, readout.ends_at + WINDOW
