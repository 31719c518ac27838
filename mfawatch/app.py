"""The application context shared by CLI commands: which config file and database, built lazily.

Precedence (STYLE §4): built-in default < YAML `defaults:` < source keys < environment
(`MFAWATCH_CONFIG`, `MFAWATCH_DB`, `MFAWATCH_*`) < CLI flag. Commands receive an `App` and ask it
for the settings or the database; nothing is opened, or even imported, before a command needs it
(the config models and SQLAlchemy are most of a start-up, and `--help` needs neither).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawler.config import Source
    from crawler.errors import ConfigError
    from mfawatch.settings.models import Settings
    from storage.engine import Database
    from storage.readouts.officials import Officials

DEFAULT_CONFIG = "config/sources.yaml"
USER_CONFIG_NAME = "sources.yaml"


def default_config_paths() -> tuple[Path, ...]:
    """Where a config file is looked for when none is named: ./config/sources.yaml, then the
    user config directory (`~/.config/mfawatch/sources.yaml` on Linux)."""
    import platformdirs

    return (Path(DEFAULT_CONFIG), Path(platformdirs.user_config_dir("mfawatch")) / USER_CONFIG_NAME)


def resolve_config_path(cli_value: str | None) -> Path:
    """The config file: `--config`, else `MFAWATCH_CONFIG`, else the first of
    `default_config_paths()` that exists (the first one when none does)."""
    named = cli_value or os.environ.get("MFAWATCH_CONFIG")
    if named:
        return Path(named)
    candidates = default_config_paths()
    return next((p for p in candidates if p.is_file()), candidates[0])


def config_not_found(searched: tuple[Path, ...]) -> ConfigError:
    """The error for a default config file that is nowhere: it says where it looked."""
    from crawler.errors import ConfigError
    from mfawatch.settings.problems import ConfigProblem

    first, *others = [str(p.absolute()) for p in searched]
    nor = "".join(f", nor {other}" for other in others)
    return ConfigError(
        [
            ConfigProblem(
                first,
                None,
                "(file)",
                f"no config file here{nor}; pass --config PATH, set MFAWATCH_CONFIG, "
                f"or create {others[-1] if others else first}",
            )
        ]
    )


@dataclass
class App:
    """Lazily loaded settings and database for one CLI invocation."""

    config_path: Path
    db_option: str | None = None
    log_format: str = "text"
    # The places looked in when no config was named (empty when --config/MFAWATCH_CONFIG was).
    config_searched: tuple[Path, ...] = ()
    _settings: Settings | None = field(default=None, repr=False)
    _db: Database | None = field(default=None, repr=False)
    _config_warned: bool = field(default=False, repr=False)
    _officials: Officials | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """The validated configuration (raises ConfigError with every problem)."""
        if self._settings is None:
            from mfawatch.settings.loader import load_config

            if self.config_searched and not self.config_path.exists():
                raise config_not_found(self.config_searched)
            self._settings = load_config(self.config_path)
        return self._settings

    def optional_settings(self, *, without: str) -> Settings | None:
        """The settings for a command that can go on without them: on a missing or invalid
        config file, say on stderr that it was not read (and what is done `without` it)."""
        from crawler.errors import ConfigError

        try:
            return self.settings
        except ConfigError as exc:
            from mfawatch.terminal import echo

            if not self._config_warned:
                echo(f"mfawatch: warning: config not read, going on {without}:\n{exc}", err=True)
                self._config_warned = True
            return None

    def officials(self, settings: Settings | None) -> Officials | None:
        """The officials table for pairing: the file `officials:` names (ConfigError when it is
        missing or invalid), else `officials.yaml` beside the config file; None when neither is."""
        if self._officials is None:
            from mfawatch.settings.officials import load_officials, officials_path

            named = settings.officials if settings is not None else None
            path = officials_path(self.config_path, named)
            if named is None and not path.is_file():
                return None
            self._officials = load_officials(path)
        return self._officials

    @property
    def db_url(self) -> str:
        from storage.engine import ENV_VAR, resolve_db_url

        return resolve_db_url(self.db_option, os.environ.get(ENV_VAR))

    @property
    def db(self) -> Database:
        """The database, created and migrated on first use."""
        if self._db is None:
            from storage.engine import open_db

            self._db = open_db(self.db_url)
        return self._db

    def select_sources(self, keys: tuple[str, ...] | list[str]) -> list[Source]:
        """The named sources (all enabled ones when none are named); unknown keys raise KeyError."""
        if keys:
            return [self.settings.source(k) for k in keys]
        return [s for s in self.settings.sources if s.enabled]

    def close(self) -> None:
        """Release the database connections."""
        if self._db is not None:
            self._db.dispose()
            self._db = None
