"""What recording a fetch did to the stored article: the `Outcome` and its kind."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OutcomeKind(StrEnum):
    """What one check found, as the crawler counts it (a `VersionKind` is what storage keeps)."""

    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    REVERTED = "reverted"  # back to an earlier content: no new version, a `reverts` count
    RESTORED = "restored"
    MISSING = "missing"  # the first missing check of an episode
    STILL_MISSING = "still_missing"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a fetch did to the stored article.

    `version` is the new version's number (new, changed, restored, removed), the number of the
    version returned to (reverted), or the current version (unchanged and the missing kinds).
    `back_from_missing` is set when an article that was missing answered again; `moved` when the
    URL was unknown and its content was a known article's, now under this URL (`moves`).
    """

    kind: OutcomeKind
    article_id: int
    version: int | None
    back_from_missing: bool = False
    moved: bool = False
