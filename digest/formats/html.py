"""The digest as one self-contained HTML file: inline CSS, no scripts, no external resources,
everything from a page autoescaped by Jinja2 — safe to mail or archive.

`stream` writes the same document piece by piece from items read one at a time, so a digest of
any size is written in flat memory; the alert count then comes at the end (it is known only
once every item is read) instead of in the header.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING

from digest.model import Item, Report
from digest.templating import environment

if TYPE_CHECKING:
    from digest.report import GroupKey


@dataclass
class AlertTally:
    """How many items matched a watchlist rule; `first` when known before the items are shown."""

    count: int = 0
    first: bool = False


@dataclass(frozen=True)
class LazyGroup:
    """A source's items as the template reads them, without holding them."""

    source: str
    source_name: str | None
    items: Iterable[Item]


def _generate(report: Report, by_country: Iterable[object], tally: AlertTally) -> Iterator[str]:
    template = environment().get_template("digest.html")
    return template.generate(report=report, by_country=by_country, alerts=tally)


def render(report: Report) -> str:
    """The report as a complete HTML document."""
    tally = AlertTally(len(report.alert_items), first=True)
    return "".join(_generate(report, report.by_country, tally))


def lazy_by_country(
    items: Iterable[tuple[GroupKey, Item]], tally: AlertTally
) -> Iterator[tuple[str, Iterator[LazyGroup]]]:
    """(country, groups) in report order from a stream of (group key, item), counting alerts."""

    def counted(pairs: Iterable[tuple[GroupKey, Item]]) -> Iterator[Item]:
        for _, item in pairs:
            tally.count += bool(item.alerts)
            yield item

    for country, in_country in groupby(items, key=lambda pair: pair[0][0] or "—"):
        yield (
            country,
            (
                LazyGroup(key[1], key[2], counted(pairs))
                for key, pairs in groupby(in_country, key=lambda pair: pair[0])
            ),
        )


def stream(head: Report, items: Iterable[tuple[GroupKey, Item]]) -> Iterator[str]:
    """The document `render` writes, in pieces, from a header and items read one at a time."""
    tally = AlertTally()
    return _generate(head, lazy_by_country(items, tally), tally)
