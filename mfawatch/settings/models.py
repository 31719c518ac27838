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
    none means "mark in the digest only". `silent_only: true` fires only on silent edits (text
    changed, the page's date and update markers not); alone, on every silent edit. The digest
    package owns the matching.
    """

    name: str = Field(min_length=1)
    keywords: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    silent_only: bool = False

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
        if not self.keywords and not self.regex and not self.silent_only:
            raise ValueError(
                f"alert {self.name!r} needs at least one of `keywords`, `regex` or `silent_only`"
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

    def enabled_sources(self) -> tuple[Source, ...]:
        """The sources with `enabled: true`, in file order (disabled ones stay in `sources`)."""
        return tuple(s for s in self.sources if s.enabled)

    def source(self, key: str) -> Source:
        """The source with this key (KeyError naming the valid keys otherwise)."""
        for s in self.sources:
            if s.key == key:
                return s
        raise KeyError(f"no source {key!r}; configured: {', '.join(s.key for s in self.sources)}")
