"""Watchlist alerts: keyword and regex rules matched against new and changed items.

Keywords match case-insensitively as substrings (so they work for CJK text such as `台湾`, which
has no word spaces); `*` in a keyword stands for any run of word characters (`sanction*` matches
"sanctions" and "sanctioned"). Regexes are Python `re` patterns, also case-insensitive. A new or
restored item is matched on its title and body; a changed item on its title and on the words its
new version added, so an old mention does not fire again on an unrelated edit; a returned item
(back to an earlier version's content) on its title and the words the return brought back.

A rule's `query` is a saved search: the query language of `mfawatch search` (words, "phrases",
OR, NOT/-, prefix*, CJK without spaces), matched by the search index's own rules
(`storage.search.evaluate`) on the same text, so an alert fires on what the search would find.

A rule with `one_sided_only` fires only on edits made in one language only (a changed item whose
language twin got no edit within 12 hours: `storage.readouts.twins`), with the term `edited in
one language only` when it has nothing else to match. A rule with `silent_only` fires only on
silent edits (a changed item whose page kept its date
and update markers: `storage.versions.edit_kind`); without keywords or regexes it fires on every
silent edit, with the term `silent edit`.

Rules are plain values (`AlertRule`); the CLI converts the YAML `alerts:` models into them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from digest.errors import DigestError
from digest.model import AlertHit, Item, ItemKind
from storage.search.evaluate import matched_words, matches
from storage.search.query import Node, QueryError, parse, positive_terms


class AlertRuleError(DigestError):
    """A rule that cannot be compiled (bad regex, empty keyword); the message names the rule."""


@dataclass(frozen=True, slots=True)
class AlertRule:
    """A watchlist: a name, keywords and/or regexes, and the apprise channel URLs to alert."""

    name: str
    keywords: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    silent_only: bool = False
    query: str = ""
    one_sided_only: bool = False  # fires only on edits made in one language only
    _compiled: tuple[re.Pattern[str], ...] = field(default=(), repr=False, compare=False)
    _query: Node | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise AlertRuleError("alert rule has an empty name")
        if not (
            self.keywords or self.regex or self.query or self.silent_only or self.one_sided_only
        ):
            raise AlertRuleError(
                f"alert {self.name!r} needs at least one keyword, regex or query, or silent_only "
                "or one_sided_only"
            )
        if self.query:
            try:
                object.__setattr__(self, "_query", parse(self.query))
            except QueryError as exc:
                raise AlertRuleError(f"alert {self.name!r}: bad query: {exc}") from None
        patterns: list[re.Pattern[str]] = []
        for kw in self.keywords:
            if not kw.strip(" *"):
                raise AlertRuleError(f"alert {self.name!r}: empty keyword {kw!r}")
            patterns.append(re.compile(_keyword_pattern(kw), re.IGNORECASE))
        for rx in self.regex:
            try:
                patterns.append(re.compile(rx, re.IGNORECASE))
            except re.error as exc:
                raise AlertRuleError(f"alert {self.name!r}: invalid regex {rx!r}: {exc}") from None
        object.__setattr__(self, "_compiled", tuple(patterns))

    def find(self, text: str) -> tuple[str, ...]:
        """The distinct terms of `text` this rule matches, in order of first appearance."""
        found: dict[str, None] = {}
        for pattern in self._compiled:
            for m in pattern.finditer(text):
                if m.group(0):
                    found.setdefault(m.group(0), None)
        if self._query is not None and matches(self._query, [text]):
            words = matched_words(positive_terms(self._query), [text])
            for word in words or (self.query,):  # a query of NOT only: name the query
                found.setdefault(word, None)
        return tuple(found)

    @property
    def matches_anything(self) -> bool:
        """Whether the rule has keywords, regexes or a query (not silent_only alone)."""
        return bool(self._compiled) or self._query is not None


def _keyword_pattern(keyword: str) -> str:
    parts = keyword.strip().split("*")
    return r"\w*".join(re.escape(p) for p in parts)


def item_text(item: Item, body: str | None = None) -> str:
    """The text an item is matched on: title plus body (new/restored) or added words (changed,
    returned)."""
    chunks = [item.title]
    if item.kind in (ItemKind.CHANGED, ItemKind.RETURNED) and item.change is not None:
        chunks += [f.new for f in item.change.fields]
        for passage in item.change.passages:
            chunks += [s.text for s in passage.segments if s.op == "insert"]
    elif item.kind in (ItemKind.NEW, ItemKind.RESTORED):
        chunks.append(body if body is not None else item.lead)
    return "\n".join(chunks)


def match_item(item: Item, rules: Sequence[AlertRule], body: str | None = None) -> Item:
    """The item with `alerts` set to the rules it matches (removed items never match)."""
    if item.kind is ItemKind.REMOVED or not rules:
        return item
    text = item_text(item, body)
    hits = tuple(
        AlertHit(rule.name, terms)
        for rule in rules
        if (not rule.silent_only or item.silent)
        and (not rule.one_sided_only or item.one_sided)
        and (terms := _terms(rule, text))
    )
    return replace(item, alerts=hits) if hits else item


def _terms(rule: AlertRule, text: str) -> tuple[str, ...]:
    if rule.one_sided_only and not rule.matches_anything:
        return ("edited in one language only",)  # the caller checked that the item is one
    if rule.silent_only and not rule.matches_anything:
        return ("silent edit",)  # the caller checked that the item is one
    return rule.find(text)


def rules_from(values: Iterable[object]) -> tuple[AlertRule, ...]:
    """Rules from any objects with name/keywords/regex/channels attributes (e.g. config models)."""
    return tuple(
        AlertRule(
            name=str(getattr(v, "name")),  # noqa: B009 - duck-typed on purpose
            keywords=tuple(getattr(v, "keywords", ()) or ()),
            regex=tuple(getattr(v, "regex", ()) or ()),
            channels=tuple(getattr(v, "channels", ()) or ()),
            silent_only=bool(getattr(v, "silent_only", False)),
            query=str(getattr(v, "query", "") or ""),
            one_sided_only=bool(getattr(v, "one_sided_only", False)),
        )
        for v in values
    )
