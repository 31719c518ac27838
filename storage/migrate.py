"""Schema upgrades with Alembic, run on open. The migration scripts ship inside this package.

An empty database is created by `storage.engine` from the models instead (same schema, checked by
a test), stamped with the newest revision. The Alembic configuration is built in code (no alembic.ini, no dependence on the working
directory): `script_location` is the `migrations` folder next to this module. On PostgreSQL an
advisory lock serializes processes that open the same database at once; on SQLite the
migration runs inside `BEGIN IMMEDIATE`, which does the same.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError as AlembicError
from sqlalchemy.engine import Connection, Engine

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


def _refuse_foreign(conn: Connection) -> None:
    """Refuse a PostgreSQL database (schema) holding tables but no mfawatch schema version:
    another program's. (A SQLite file is the user's own file, named by them: it is migrated.)"""
    tables = sorted(sa.inspect(conn).get_table_names())
    if tables:
        shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        where = conn.engine.url.render_as_string(hide_password=True)
        raise MigrationError(
            f"the database {where} already holds tables of another program ({shown}) and no"
            " mfawatch schema version; mfawatch leaves it untouched: give it an empty database"
            " (or a schema of its own, e.g. ?options=-csearch_path%3Dmfawatch)"
        )


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
        if current is None and conn.dialect.name == "postgresql":
            _refuse_foreign(conn)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return True
