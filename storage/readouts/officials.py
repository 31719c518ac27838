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

from storage.readouts.matching import name_terms, terms


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
    """The whole table, with every name's terms indexed by their first term."""

    people: tuple[Person, ...]
    _by_id: dict[str, Person] = field(init=False, repr=False)
    # first term -> [(the name's terms, may its last term take a case ending, owner ids)]
    _names: dict[str, list[tuple[tuple[str, ...], bool, tuple[str, ...]]]] = field(
        init=False, repr=False
    )

    def __post_init__(self) -> None:
        owners: dict[tuple[str, ...], list[str]] = {}
        for person in self.people:
            for name in person.names:
                key = name_terms(name)
                if key and person.id not in owners.get(key, []):
                    owners.setdefault(key, []).append(person.id)
        names: dict[str, list[tuple[tuple[str, ...], bool, tuple[str, ...]]]] = {}
        for key, ids in owners.items():
            inflected = _CYRILLIC.search(key[-1]) is not None
            names.setdefault(key[0], []).append((key, inflected, tuple(ids)))
        object.__setattr__(self, "_by_id", {p.id: p for p in self.people})
        object.__setattr__(self, "_names", names)

    def __len__(self) -> int:
        return len(self.people)

    def person(self, person_id: str) -> Person | None:
        """The person of an id, if the table has one."""
        return self._by_id.get(person_id)

    def named_in(self, text: str, day: date) -> frozenset[Mention]:
        """The officials `text` names who were in office on `day`."""
        doc = terms(text)
        ids: set[str] = set()
        names = self._names
        for i, term in enumerate(doc):
            entries = names.get(term)
            if entries is not None:
                for key, inflected, owner in entries:
                    if _matches(key, inflected, doc, i):
                        ids.update(owner)
            if "\u0400" <= term[-1] <= "\u04ff":  # Cyrillic: also without a case ending
                for cut in range(1, min(MAX_ENDING, len(term) - 2) + 1):
                    for key, inflected, owner in names.get(term[:-cut], ()):
                        if inflected and _matches(key, inflected, doc, i):
                            ids.update(owner)
        return frozenset(self._mentions(ids, day))

    def _mentions(self, ids: Iterable[str], day: date) -> Iterable[Mention]:
        for person_id in ids:
            person = self._by_id[person_id]
            term = person.in_office(day)
            if term is not None:
                yield Mention(person.id, person.country, term.office)


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
MAX_ENDING = 3  # letters of a Russian case ending after a name (Лавров -> Лавровым)


def _matches(key: tuple[str, ...], inflected: bool, doc: list[str], i: int) -> bool:
    """Whether the name's terms `key` appear in `doc` from position `i` on."""
    if i + len(key) > len(doc):
        return False
    last = len(key) - 1
    for j, want in enumerate(key):
        got = doc[i + j]
        if got == want:
            continue
        if j == last and inflected and got.startswith(want) and len(got) - len(want) <= MAX_ENDING:
            continue
        return False
    return True
