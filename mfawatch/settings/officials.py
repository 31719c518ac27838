"""`config/officials.yaml`: the offices and office-holders pairing reads names from, validated.

The file (its form is in its own header) is found beside the sources file, or where the sources
file's `officials:` key says (relative to the sources file). It is read like the sources file:
every problem is collected and reported with file, line and field (`ConfigError`, exit 2), and
the result is `storage.readouts.officials.Officials`, the values storage pairs with.

Beyond the field types, the rules are: ids unique; every term's office one of `offices:`;
`to` not before `from`; a person's terms not overlapping in one office; a name not given twice to
one person; two people of one country not holding one office on the same day.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from crawler.errors import ConfigError
from mfawatch.settings.loader import (
    MAX_CONFIG_BYTES,
    _check_size,
    _Doc,
    _read_yaml,
    decode_config,
    read_config_bytes,
)
from mfawatch.settings.problems import ordered, to_problem
from storage.readouts.officials import Officials, Person, Term

DEFAULT_NAME = "officials.yaml"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TermModel(_Model):
    """One stay in one office."""

    office: str
    from_: date = Field(alias="from")
    to: date | None = None

    @field_validator("office")
    @classmethod
    def _known(cls, v: str, info: ValidationInfo) -> str:
        offices = (info.context or {}).get("offices")
        if isinstance(offices, list | tuple) and v not in offices:
            raise ValueError(f"unknown office {v!r} (offices: {', '.join(map(str, offices))})")
        return v

    @model_validator(mode="after")
    def _order(self) -> TermModel:
        if self.to is not None and self.to < self.from_:
            raise ValueError(f"`to` ({self.to}) is before `from` ({self.from_}); swap them")
        return self


class PersonModel(_Model):
    """An office-holder."""

    id: str
    country: str
    names: tuple[str, ...] = Field(min_length=1)
    terms: tuple[TermModel, ...] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(f"id {v!r} must be lower-case letters, digits and '-' (e.g. wang-yi)")
        return v

    @field_validator("country")
    @classmethod
    def _country(cls, v: str) -> str:
        if not _COUNTRY.match(v):
            raise ValueError(f"country {v!r} must be two capital letters (ISO 3166), e.g. CN")
        return v

    @field_validator("names")
    @classmethod
    def _names(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(" ".join(n.split()) for n in v)
        if any(len(n) < 2 for n in cleaned):
            raise ValueError("a name must have at least two characters")
        twice = sorted({n for n in cleaned if cleaned.count(n) > 1})
        if twice:
            raise ValueError(f"name(s) given twice: {', '.join(twice)}; keep one")
        return cleaned

    @model_validator(mode="after")
    def _no_overlap(self) -> PersonModel:
        terms = sorted(self.terms, key=lambda t: (t.office, t.from_))
        for before, after in zip(terms, terms[1:], strict=False):
            if before.office == after.office and (before.to is None or after.from_ < before.to):
                raise ValueError(
                    f"two terms as {before.office} overlap (from {before.from_} and from "
                    f"{after.from_}); end the first with `to:` before the second starts"
                )
        return self


class OfficialsFile(_Model):
    """The whole file: the offices allowed, and the people."""

    offices: tuple[str, ...] = Field(min_length=1)
    people: tuple[PersonModel, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> OfficialsFile:
        problems = []
        ids = [p.id for p in self.people]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            problems.append(f"id(s) used by two people: {', '.join(twice)}")
        problems.extend(_same_office_same_day(self.people))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def to_officials(self) -> Officials:
        """The values storage pairs with."""
        return Officials(
            tuple(
                Person(
                    p.id, p.country, p.names, tuple(Term(t.office, t.from_, t.to) for t in p.terms)
                )
                for p in self.people
            )
        )


def _same_office_same_day(people: tuple[PersonModel, ...]) -> list[str]:
    """Two people of one country holding one office on a common day (a typo in a date)."""
    seen: dict[tuple[str, str], list[tuple[str, TermModel]]] = {}
    out = []
    for p in people:
        for t in p.terms:
            for other_id, other in seen.get((p.country, t.office), []):
                if other_id == p.id:
                    continue
                last_start = max(t.from_, other.from_)
                first_end = min(t.to or date.max, other.to or date.max)
                # A hand-over day (one's `to` is the other's `from`) is allowed.
                if last_start < first_end:
                    out.append(
                        f"{p.id} and {other_id} both hold {t.office} of {p.country} on "
                        f"{last_start}; check their dates"
                    )
            seen.setdefault((p.country, t.office), []).append((p.id, t))
    return out


def officials_path(config_path: Path, named: str | None) -> Path:
    """Where the officials file is: `officials:` of the sources file (relative to it), else
    `officials.yaml` beside it."""
    base = config_path.parent
    return base / named if named else base / DEFAULT_NAME


def load_officials(path: str | Path) -> Officials:
    """Read and validate an officials file; raise `ConfigError` listing every problem."""
    file = str(path)
    data = read_config_bytes(
        path,
        "officials file not found; create it (see config/officials.yaml) or set "
        "`officials:` in the sources file to its path",
    )
    return parse_officials(decode_config(data, file), file=file)


def parse_officials(text: str, *, file: str = "<string>") -> Officials:
    """Validate YAML text as an officials file (as `load_officials` does)."""
    doc = _Doc(file)
    if len(text.encode()) > MAX_CONFIG_BYTES:
        doc.problem(
            None, "(file)", f"larger than the {MAX_CONFIG_BYTES // 1024} KB limit; not read"
        )
        raise ConfigError(doc.problems)
    _check_size(text, doc)
    if not text.strip():
        doc.problem(None, "(file)", "the file is empty; it needs `offices:` and `people:`")
    if doc.problems:
        raise ConfigError(doc.problems)
    raw: dict[str, Any] | None = _read_yaml(text, doc)
    if raw is None:
        raise ConfigError(doc.problems)
    try:
        offices = raw.get("offices") if isinstance(raw.get("offices"), list) else None
        model = OfficialsFile.model_validate(raw, context={"offices": offices})
    except ValidationError as exc:
        for err in exc.errors():
            if err["type"] == "too_short" and err.get("input"):
                continue  # pydantic's echo of items that failed; those are reported themselves
            doc.problems.append(
                to_problem(err, raw, file=file, lines=doc.lines, origins={}, root=OfficialsFile)
            )
        raise ConfigError(ordered(doc.problems)) from None
    if doc.problems:
        raise ConfigError(ordered(doc.problems))
    return model.to_officials()
