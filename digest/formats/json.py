"""The digest as JSON, a stable documented schema for other programs.

Schema version 1 (`schema_version` changes only when a field is renamed or removed; new fields
may be added without a bump):

    {
      "schema_version": 1,
      "generator": "mfawatch",
      "since": ISO8601, "until": ISO8601,          # the window, UTC
      "cursor": str | null,                         # the review cursor the window started from
      "filters": {"source": [..], "country": [..], "kind": [..], "query": str,
                  "edit": "silent"},          # those given
      "counts": {"new": int, "changed": int, "removed": int, "restored": int, "returned": int,
                 "moved": int},
      "silent": {source: int},                      # silent edits per source (none: left out)
      "groups": [{"country": str | null, "source": str, "source_name": str | null,
                  "items": [Item, ...]}],           # ordered by country, then source
      "sources": [{"source", "name", "country", "state", "changed_at", "last_run_at",
                   "last_error", "failures"}],      # source health notes
      "pairs": [Pair, ...]                          # both sides' readouts found in the window
    }
    Pair = {
      "id": int, "relation": "readout" | "twin", "status": "found" | "confirmed",
      "matched": bool,           # the rule finds it now (false: paired by hand)
      "evidence": {"kind": str, "shared": [person id, ...], "gap_hours": float, ...},
      "found_at": ISO8601, "decided_at": ISO8601 | null,
      "sides": [{"article_id", "source", "country", "language", "url", "title",
                 "published_at", "published_date"}, ...]   # two
    }
    Item = {
      "id": str,                 # stable event id, e.g. "article/123/v/2"
      "kind": "new" | "changed" | "removed" | "restored" | "returned" | "moved",
      "article_id": int, "version": int,   # returned: the version whose content is live again
      "source": str, "country": str | null,
      "title": str, "section": str | null, "language": str | null, "url": str,
      "published": {"date": "YYYY-MM-DD", "at": ISO8601 | null, "precision": "minute" | "day",
                    "source": "page" | "listing" | "title" | "feed" | "url"} | null,
      "first_seen_at": ISO8601, "event_at": ISO8601,
      "lead": str,               # first ~300 characters, new and restored items
      "change": {"from_version": int, "to_version": int, "words_added": int,
                 "words_removed": int, "summary": str,
                 "fields": [{"name", "old", "new"}],
                 "passages": [{"before": str, "after": str,
                               "segments": [{"op": "equal" | "insert" | "delete", "text": str}]}]
                } | null,       # returned: from the version left to the one returned to
      "alerts": [{"rule": str, "terms": [str, ...]}],
      "note": str,               # removals: the evidence in one line; returns: "returned to
                                 # version 1 from version 2 (3 returns since ...)";
                                 # moves: "moved from URL"
      "edit": {"kind": "silent" | "announced" | "unknown", "note": str} | null,
                                 # changed items: did the page say it was edited (and how)
      "one_sided": str           # changed items with a language twin not edited within 12 h:
                                 # "edited in English only: ..." (else "")
    }

Strings are the page's text as stored (JSON escaping makes them inert); consumers that display
them must escape them for their own medium.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from digest.model import Change, Item, Report, SourceHealth
from digest.pairs import json_list
from storage.safe_text import json_inert

if TYPE_CHECKING:
    from digest.report import GroupKey

SCHEMA_VERSION = 1


def _t(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def item_dict(item: Item) -> dict[str, Any]:
    """One item in schema 1."""
    pub = item.published
    return {
        "id": item.event_key,
        "kind": item.kind.value,
        "article_id": item.article_id,
        "version": item.version,
        "source": item.source,
        "country": item.country,
        "title": item.title,
        "section": item.section,
        "language": item.language,
        "url": item.url,
        "published": None
        if pub is None
        else {
            "date": pub.published_date.isoformat(),
            "at": _t(pub.published_at),
            "precision": pub.precision.value,
            "source": pub.source.value,
        },
        "first_seen_at": _t(item.first_seen_at),
        "event_at": _t(item.event_at),
        "lead": item.lead,
        "change": None if item.change is None else _change(item.change),
        "alerts": [{"rule": a.rule, "terms": list(a.terms)} for a in item.alerts],
        "note": item.note,
        "edit": None if item.edit is None else {"kind": item.edit, "note": item.edit_note},
        "one_sided": item.one_sided,
    }


def _change(c: Change) -> dict[str, Any]:
    # Written out rather than dataclasses.asdict, which deep-copies and is slow on big digests.
    return {
        "from_version": c.from_version,
        "to_version": c.to_version,
        "words_added": c.words_added,
        "words_removed": c.words_removed,
        "summary": c.summary,
        "fields": [{"name": f.name, "old": f.old, "new": f.new} for f in c.fields],
        "passages": [
            {
                "segments": [{"op": s.op, "text": s.text} for s in p.segments],
                "before": p.before,
                "after": p.after,
            }
            for p in c.passages
        ],
    }


def _health(s: SourceHealth) -> dict[str, Any]:
    return {
        "source": s.source,
        "name": s.name,
        "country": s.country,
        "state": s.state,
        "last_run_at": _t(s.last_run_at),
        "changed_at": _t(s.changed_at),
        "last_error": s.last_error,
        "failures": s.failures,
    }


def to_dict(report: Report) -> dict[str, Any]:
    """The report as a schema-1 dict."""
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": "mfawatch",
        "since": _t(report.since),
        "until": _t(report.until),
        "cursor": report.cursor,
        "filters": {k: list(v) if isinstance(v, tuple) else v for k, v in report.filters.items()},
        "counts": report.counts,
        "silent": dict(report.silent),
        "groups": [
            {
                "country": g.country,
                "source": g.source,
                "source_name": g.source_name,
                "items": [item_dict(i) for i in g.items],
            }
            for g in report.groups
        ],
        "sources": [_health(s) for s in report.sources],
        "pairs": json_list(report.pairs),
    }


def stream(head: Report, items: Iterable[tuple[GroupKey, Item]]) -> Iterator[str]:
    """The JSON `render` writes (the same bytes), in pieces, from a header and items read one at
    a time (`digest.report.stream_report`)."""
    whole = to_dict(head)
    del whole["groups"], whole["sources"], whole["pairs"]
    yield _dumps(whole)[:-1] + ',"groups":['
    key: GroupKey | None = None
    for item_key, item in items:
        if item_key != key:
            group = {"country": item_key[0], "source": item_key[1], "source_name": item_key[2]}
            yield ("]}," if key is not None else "") + _dumps(group)[:-1] + ',"items":['
            key = item_key
        else:
            yield ","
        yield _dumps(item_dict(item))
    yield ("]}" if key is not None else "") + '],"sources":'
    yield _dumps([_health(s) for s in head.sources]) + ',"pairs":'
    yield _dumps(json_list(head.pairs)) + "}\n"


def _dumps(value: Any) -> str:
    # The same bytes as `render`: C1 controls and bidi overrides written as \u escapes.
    return json_inert(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def render(report: Report) -> str:
    """The report as one line of UTF-8 JSON (schema 1)."""
    # Compact: the C encoder is several times faster than the indenting one (pipe to jq to read).
    return _dumps(to_dict(report)) + "\n"
