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
    from crawler.config import Settings, Source
    from storage.engine import Database

DEFAULT_CONFIG = "config/sources.yaml"


def resolve_config_path(cli_value: str | None) -> Path:
    """The config file: `--config`, else `MFAWATCH_CONFIG`, else config/sources.yaml."""
    return Path(cli_value or os.environ.get("MFAWATCH_CONFIG") or DEFAULT_CONFIG)


@dataclass
class App:
    """Lazily loaded settings and database for one CLI invocation."""

    config_path: Path
    db_option: str | None = None
    log_format: str = "text"
    _settings: Settings | None = field(default=None, repr=False)
    _db: Database | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """The validated configuration (raises ConfigError with every problem)."""
        if self._settings is None:
            from crawler.config_loader import load_config

            self._settings = load_config(self.config_path)
        return self._settings

    @property
    def db_url(self) -> str:
        from storage.engine import resolve_db_url

        return resolve_db_url(self.db_option)

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
