"""`--source KEY` and `--country CC` checked the same way in every command.

An unknown value is a usage error (exit 2) naming the valid ones, never an empty result: a typo
must not look like "nothing happened". The valid values are those of the config file (when it
was read) and those the database knows (a source once configured keeps its history).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import click

from storage.sources import SourceInfo, stored_sources

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mfawatch.app import App
    from mfawatch.settings.models import Settings


def check_filters(
    known: Iterable[SourceInfo],
    *,
    sources: Sequence[str] = (),
    countries: Sequence[str] = (),
) -> None:
    """Raise a usage error naming the valid keys (countries) if one in `sources` (`countries`)
    is unknown."""
    known = list(known)
    keys = sorted({s.key for s in known})
    unknown = [k for k in sources if k not in keys]
    if unknown:
        raise click.BadParameter(
            f"no source {', '.join(map(repr, unknown))}; known: {', '.join(keys) or '(none)'}",
            param_hint="'--source'",
        )
    codes = sorted({s.country.upper() for s in known if s.country})
    unknown = [c for c in countries if c.upper() not in codes]
    if unknown:
        raise click.BadParameter(
            f"no source in country {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(codes) or '(none)'}",
            param_hint="'--country'",
        )


def known_sources(settings: Settings | None, session: Session) -> list[SourceInfo]:
    """The sources of the config (if read) and of the database together (the config's values
    win for a source in both)."""
    out = {s.key: s for s in stored_sources(session)}
    for src in settings.sources if settings is not None else ():
        out[src.key] = SourceInfo(src.key, src.name, src.country, src.language, src.timezone)
    return list(out.values())


def check_source(app: App, session: Session, key: str | None) -> None:
    """For a command with one `--source KEY`: a usage error if KEY is unknown (see module)."""
    if key is not None:
        settings = app.optional_settings(without="without it")
        check_filters(known_sources(settings, session), sources=(key,))
