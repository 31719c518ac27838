"""Schema upgrades with Alembic, run on open. The migration scripts ship inside this package.

An empty database is created by `storage.engine` from the models instead (same schema, checked by
a test), stamped with the newest revision. The Alembic configuration is built in code (no alembic.ini, no dependence on the working
directory): `script_location` is the `migrations` folder next to this module. On PostgreSQL an
advisory lock serializes processes that open the same database at once; on SQLite the
migration runs inside `BEGIN IMMEDIATE`, which does the same.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError as AlembicError
from sqlalchemy.engine import Engine

from storage.errors import MigrationError
from storage.schema_lock import PG_LOCK_KEY

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest migration this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise MigrationError(f"no migrations found in {MIGRATIONS}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _knows(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except AlembicError:
        return False


def upgrade(engine: Engine) -> bool:
    """Bring the schema to head; return whether anything was migrated."""
    head = head_revision()
    if current_revision(engine) == head:
        return False
    cfg = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_KEY})")
        known = ScriptDirectory.from_config(cfg)
        current = MigrationContext.configure(conn).get_current_revision()
        if current is not None and not _knows(known, current):
            raise MigrationError(
                f"the database is at schema revision {current!r}, which this version of mfawatch "
                "does not know (it was written by a newer mfawatch: upgrade mfawatch)"
            )
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return True
