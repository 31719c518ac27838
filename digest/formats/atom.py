"""The digest as an Atom 1.0 feed (RFC 4287), one entry per item.

Entry ids are tag URIs derived from the article id, its version and (for removals and
restorations) the time of the event, e.g. `tag:mfawatch,2026:article/123/v/2`, so a feed reader
sees the same id on every run and never shows an item twice. A source whose health changed in
the window (failing, broken, blocked, quiet, recovered) is an entry too, with the same kind of
stable id. Entry content is `type="html"`:
an HTML fragment in which page text is already escaped, escaped once more as XML text. Page text
is cleaned of control characters and of the code points XML 1.0 forbids.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from digest.model import Item, Report
from digest.templating import environment

if TYPE_CHECKING:
    from digest.report import GroupKey

TAG_PREFIX = "tag:mfawatch,2026:"
_VERBS = {
    "new": "New",
    "changed": "Changed",
    "removed": "Removed",
    "restored": "Restored",
    "returned": "Returned",
    "moved": "Moved",
}


_HEALTH_TITLES = {
    "failing": "failing",
    "broken": "broken: its selectors match nothing",
    "blocked": "blocked by the site",
    "quiet": "quiet: no new release for longer than usual",
    "recovered": "recovered",
}


def feed_id(report: Report) -> str:
    """The feed's id: one per review cursor (or the plain digest)."""
    return TAG_PREFIX + (f"digest/as/{report.cursor}" if report.cursor else "digest")


def _generate(report: Report, items: Iterable[Item], updated: datetime) -> Iterator[str]:
    yield from (
        environment()
        .get_template("atom.xml")
        .generate(
            report=report,
            items=items,
            feed_id=feed_id(report),
            title="mfawatch digest" + (f" ({report.cursor})" if report.cursor else ""),
            updated=updated.isoformat(timespec="seconds"),
            tag_prefix=TAG_PREFIX,
            verbs=_VERBS,
            sources=report.sources,
            health_titles=_HEALTH_TITLES,
        )
    )
    yield "\n"


def render(report: Report) -> str:
    """The report as an Atom 1.0 document (UTF-8 XML text)."""
    updated = max([report.until, *(i.event_at for i in report.items)])
    return "".join(_generate(report, report.items, updated))


def stream(head: Report, items: Iterable[tuple[GroupKey, Item]]) -> Iterator[str]:
    """The document `render` writes, in pieces, from a header and items read one at a time.

    The feed's `updated` is the window's end: every item of the window happened before it.
    """
    return _generate(head, (item for _, item in items), head.until)
