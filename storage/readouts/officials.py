"""The officials table as values, and finding which officials a text names on a given date.

`Officials` is built from `config/officials.yaml` by the application (`mfawatch.settings.officials`
validates the file); storage only receives the values. A name matches only on a date inside one
of its holder's terms, so "Blinken" names the Secretary of State from 2021-01-26 to 2025-01-20
and nobody before. Names are compared folded (`matching.fold`): Latin and Cyrillic ones as whole
words, Cyrillic ones also with a case ending of up to three letters (Лавров, Лаврова, Лавровым),
Chinese and Japanese ones as written, anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from storage.readouts.matching import cjk, fold


@dataclass(frozen=True, slots=True)
class Term:
    """One stay in one office: `end` is None while in office (both days count as in office)."""

    office: str
    start: date
    end: date | None = None

    def covers(self, day: date) -> bool:
        """Whether `day` is within the term."""
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True, slots=True)
class Person:
    """An office-holder: an id, a country (ISO alpha-2), every written form of the name, terms."""

    id: str
    country: str
    names: tuple[str, ...]
    terms: tuple[Term, ...]

    def in_office(self, day: date) -> Term | None:
        """The term covering `day`, if any."""
        return next((t for t in self.terms if t.covers(day)), None)


@dataclass(frozen=True, slots=True)
class Mention:
    """An official named in a text, in office on the text's date."""

    person: str
    country: str
    office: str


@dataclass(frozen=True)
class Officials:
    """The whole table, with one compiled matcher for every name."""

    people: tuple[Person, ...]
    _by_id: dict[str, Person] = field(init=False, repr=False)
    _words: re.Pattern[str] | None = field(init=False, repr=False)
    _word_owner: dict[str, tuple[str, ...]] = field(init=False, repr=False)
    _cjk: tuple[tuple[str, tuple[str, ...]], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_id = {p.id: p for p in self.people}
        owners: dict[str, list[str]] = {}
        cjk_owners: dict[str, list[str]] = {}
        cyrillic: set[str] = set()
        for person in self.people:
            for name in person.names:
                folded = fold(name)
                if cjk(folded):
                    cjk_owners.setdefault(folded, []).append(person.id)
                else:
                    owners.setdefault(folded, []).append(person.id)
                    if _CYRILLIC.search(folded):
                        cyrillic.add(folded)
        alternatives = []
        # Longest first, so "antony j. blinken" wins over "blinken" at the same place.
        for name in sorted(owners, key=len, reverse=True):
            ending = r"[а-яё]{0,3}" if name in cyrillic else ""
            alternatives.append(re.escape(name) + ending)
        words = re.compile(r"(?<!\w)(" + "|".join(alternatives) + r")(?!\w)") if owners else None
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_words", words)
        object.__setattr__(self, "_word_owner", {k: tuple(v) for k, v in owners.items()})
        object.__setattr__(
            self,
            "_cjk",
            tuple((k, tuple(v)) for k, v in sorted(cjk_owners.items(), key=lambda kv: -len(kv[0]))),
        )

    def __len__(self) -> int:
        return len(self.people)

    def person(self, person_id: str) -> Person | None:
        """The person of an id, if the table has one."""
        return self._by_id.get(person_id)

    def named_in(self, text: str, day: date) -> frozenset[Mention]:
        """The officials `text` names who were in office on `day`."""
        folded = fold(text)
        ids: set[str] = set()
        if self._words is not None:
            for m in self._words.finditer(folded):
                ids.update(self._owner(m.group(1)))
        if cjk(folded):
            for name, owner in self._cjk:
                if name in folded:
                    ids.update(owner)
        return frozenset(self._mentions(ids, day))

    def _owner(self, found: str) -> tuple[str, ...]:
        owner = self._word_owner.get(found)
        if owner is not None:
            return owner
        # A Cyrillic name with a case ending: the longest name it starts with.
        for cut in range(1, 4):
            owner = self._word_owner.get(found[:-cut])
            if owner is not None:
                return owner
        return ()

    def _mentions(self, ids: Iterable[str], day: date) -> Iterable[Mention]:
        for person_id in ids:
            person = self._by_id[person_id]
            term = person.in_office(day)
            if term is not None:
                yield Mention(person.id, person.country, term.office)


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
