"""The whole configuration file: `defaults:`, `http:`, `parse:`, `sources:`, `alerts:`, `digest:`.

The crawler declares the models it consumes (`crawler.config`: a source, the client's and the
parse workers' settings); this module composes them into the file's model and declares the rest,
which only the application reads: what every source inherits, the watchlists, and the scheduled
digest (the digest package receives them as plain arguments). Loading and the precedence of the
layers: `mfawatch.settings.loader`.
"""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from crawler.config import (
    CronExpr,
    FetchMode,
    HttpSettings,
    Limits,
    ParseSettings,
    Politeness,
    RevisitPlan,
    Schedule,
    Source,
    TimeZoneName,
    parse_duration,
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(_Model):
    """Values every source inherits unless it sets its own."""

    schedule: Schedule | None = None
    user_agent: str | None = None
    accept_language: str | None = None
    proxy: str | None = None  # validated where it lands, in each source
    headers: dict[str, str] | None = None
    cookies: dict[str, str] | None = None
    fetch: FetchMode | None = None
    timezone: TimeZoneName | None = None
    limits: Limits | None = None
    politeness: Politeness | None = None
    revisit: RevisitPlan | None = None


class Alert(_Model):
    """A watchlist: items whose title or body match a keyword or regex are flagged and sent.

    Keywords match case-insensitively as substrings, and `*` stands for any run of word
    characters (`sanction*`); regexes are Python `re` patterns. `channels` are apprise URLs;
    none means "mark in the digest only". `query` is a saved search in `mfawatch search`'s
    language ("phrases", OR, NOT/-, prefix*). `silent_only: true` fires only on silent edits (text
    changed, the page's date and update markers not); alone, on every silent edit.
    `one_sided_only: true` fires only on edits made in one language only (a release edited on
    one of a ministry's two language sites and not on its twin within 12 hours). The digest
    package owns the matching.
    """

    name: str = Field(min_length=1)
    keywords: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    silent_only: bool = False
    query: str | None = None
    one_sided_only: bool = False

    @field_validator("query")
    @classmethod
    def _query(cls, v: str | None) -> str | None:
        if v is not None:
            from storage.search.query import QueryError, parse

            try:
                parse(v)
            except QueryError as exc:
                raise ValueError(f"bad query {v[:80]!r}: {exc}") from None
        return v

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if any(not k.strip(" *") for k in v):
            raise ValueError("an empty keyword would match everything; remove it")
        return v

    @field_validator("regex")
    @classmethod
    def _compile(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in v:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regex {pattern!r}: {exc}") from None
        return v

    @model_validator(mode="after")
    def _something(self) -> Alert:
        if not (
            self.keywords or self.regex or self.query or self.silent_only or self.one_sided_only
        ):
            raise ValueError(
                f"alert {self.name!r} needs at least one of `keywords`, `regex`, `query`, "
                "`silent_only` or `one_sided_only`"
            )
        return self


DEFAULT_DIGEST_CRON = "0 7 * * *"


class DigestSettings(_Model):
    """Scheduled delivery of the whole digest through apprise channels.

    When: `cron` (crontab, evaluated in `timezone`, UTC by default) or `every` (a duration such
    as `6h`), exactly one; neither means `cron: "0 7 * * *"`.
    """

    cron: CronExpr | None = None
    every: timedelta | None = None
    timezone: TimeZoneName = "UTC"
    channels: tuple[str, ...] = ()
    send_empty: bool = False

    @model_validator(mode="before")
    @classmethod
    def _default_cron(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("cron") is None and data.get("every") is None:
            return {**data, "cron": DEFAULT_DIGEST_CRON}
        return data

    @field_validator("every", mode="before")
    @classmethod
    def _duration(cls, v: object) -> object:
        return None if v is None else parse_duration(v)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _one_of(self) -> DigestSettings:
        if self.every is not None and self.cron is not None:
            raise ValueError("give exactly one of `every` or `cron`")
        if self.every is not None and self.every < timedelta(seconds=1):
            raise ValueError("`every` must be at least 1s")
        return self


class Settings(_Model):
    """The whole configuration file."""

    defaults: Defaults = Defaults()
    http: HttpSettings = HttpSettings()
    parse: ParseSettings = ParseSettings()
    sources: tuple[Source, ...] = ()
    alerts: tuple[Alert, ...] = ()
    digest: DigestSettings | None = None
    # The offices and office-holders file for pairing (`mfawatch.settings.officials`), relative
    # to this file; default: `officials.yaml` beside it, and no pairing when there is none.
    officials: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _unique(self, info: ValidationInfo) -> Settings:
        # The loader reports duplicates itself, with both lines; skip the line-less repeat then.
        if info.context and info.context.get("duplicates_checked"):
            return self
        seen: set[str] = set()
        for s in self.sources:
            if s.key in seen:
                raise ValueError(f"duplicate source key {s.key!r}; every source needs its own key")
            seen.add(s.key)
        return self

    @model_validator(mode="after")
    def _twins(self) -> Settings:
        by_key = {s.key: s for s in self.sources}
        problems = []
        for s in self.sources:
            if s.twin_of is None:
                continue
            twin = by_key.get(s.twin_of)
            if twin is None:
                problems.append(
                    f"source {s.key!r}: twin_of {s.twin_of!r} is no source "
                    f"(sources: {', '.join(by_key)})"
                )
            elif twin.key == s.key or twin.country != s.country or twin.language == s.language:
                problems.append(
                    f"source {s.key!r}: twin_of {s.twin_of!r} must be another source of the same "
                    f"country ({s.country}) in another language (both are {s.language!r})"
                    if twin.language == s.language and twin.key != s.key
                    else f"source {s.key!r}: twin_of {s.twin_of!r} must be another source of the "
                    f"same country ({s.country})"
                )
            elif twin.twin_of not in (None, s.key):
                problems.append(
                    f"source {s.key!r}: {twin.key!r} is already the twin of {twin.twin_of!r}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def twins(self) -> dict[str, str]:
        """Each source with a language twin, mapped to it (both directions)."""
        out: dict[str, str] = {}
        for s in self.sources:
            if s.twin_of is not None:
                out[s.key] = s.twin_of
                out[s.twin_of] = s.key
        return out

    def enabled_sources(self) -> tuple[Source, ...]:
        """The sources with `enabled: true`, in file order (disabled ones stay in `sources`)."""
        return tuple(s for s in self.sources if s.enabled)

    def source(self, key: str) -> Source:
        """The source with this key (KeyError naming the valid keys otherwise)."""
        for s in self.sources:
            if s.key == key:
                return s
        raise KeyError(f"no source {key!r}; configured: {', '.join(s.key for s in self.sources)}")
