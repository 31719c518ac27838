"""Silent edits: did a changed version's page say that it was edited?

A changed version (its title, date or body changed: `storage.normalize`) is compared with the
version whose content it replaces, on what a reader of the page sees as "this was edited":

- the displayed date: the publication date when the page shows it (read from the page, its
  title or its feed entry; a date taken from the listing or the URL is not on the page);
- the page's modification markers (`Article.markers`): `displayed` (the date element's text),
  `modified` (meta / JSON-LD `dateModified`, feed `<updated>`) and `notice` (a correction or
  update notice in the body).

`announced` when any of them changed, appeared or disappeared (`edit_evidence.changed` names
them, each with its `[old, new]`); `silent` when the new version shows at least one of them and
all stayed the same (`edit_evidence.same` names them); `unknown` when the new version shows
none. A version stored before markers were kept (migration 0004: `markers` NULL) is judged on
its date alone. A marker that changes while the text does not makes no version; the next text
change is then compared with the markers of the last stored version, so it is `announced`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Protocol

from storage.model import EditKind
from storage.types import with_offset

# Date sources the page itself shows (`storage.model.DateSource`).
_SHOWN = frozenset({"page", "feed", "title"})


class Dated(Protocol):
    """The columns the rule reads of the previous version (a version row, or a row read with them)."""

    @property
    def published_at(self) -> datetime | None: ...
    @property
    def published_offset(self) -> int | None: ...
    @property
    def published_date(self) -> date | None: ...
    @property
    def date_precision(self) -> str | None: ...
    @property
    def date_source(self) -> str | None: ...
    @property
    def markers(self) -> dict[str, Any] | None: ...


def shown_date(
    published_at: datetime | None,
    offset: int | None,
    published_date: date | None,
    source: str | None,
) -> str | None:
    """The publication date as the page displays it (local minute or day), None when not shown."""
    if source not in _SHOWN:
        return None
    local = with_offset(published_at, offset)
    if local is not None:
        return local.strftime("%Y-%m-%d %H:%M %z")
    return published_date.isoformat() if published_date else None


def judge_edit(old: Dated, new: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The edit kind and its evidence of a change from version `old` to the values `new`.

    `new` holds the version columns of the new content (`rows.article_values`).
    """
    old_date = shown_date(
        old.published_at, old.published_offset, old.published_date, old.date_source
    )
    new_date = shown_date(
        new["published_at"], new["published_offset"], new["published_date"], new["date_source"]
    )
    new_markers: Mapping[str, Any] = new.get("markers") or {}
    old_markers = old.markers
    shown: dict[str, tuple[Any, Any]] = {}
    if old_date is not None or new_date is not None:
        shown["date"] = (old_date, new_date)
    if old_markers is not None:
        for name in sorted({*old_markers, *new_markers}):
            shown[name] = (old_markers.get(name), new_markers.get(name))
    changed = {name: [a, b] for name, (a, b) in shown.items() if a != b}
    if changed:
        return EditKind.ANNOUNCED.value, {"changed": list(changed), **changed}
    if not shown:
        return EditKind.UNKNOWN.value, {}
    return EditKind.SILENT.value, {"same": list(shown), **{k: v[1] for k, v in shown.items()}}
