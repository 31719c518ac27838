"""Alembic environment: migrate the connection handed over by `storage.migrate`, or a URL.

`storage.migrate.upgrade` passes its open connection in `config.attributes["connection"]` (so a
PostgreSQL `search_path` schema and the SQLite pragmas apply). Developers generating a new
revision can instead run, from the repository root:
`alembic -x url=sqlite:///dev.sqlite3 -c /dev/null --name alembic revision --autogenerate -m MSG`
with `script_location` set, or use `storage.migrate.alembic_config()` in a Python shell.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from storage.queue_schema import QUEUE_PREFIX
from storage.schema import Base

config = context.config
target_metadata = Base.metadata


def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    # The job queue's tables (procrastinate's, migration 0007) are not in our models.
    return not (type_ == "table" and name is not None and name.startswith(QUEUE_PREFIX))


def _run(connection: Connection) -> None:
    context.configure(
        include_name=_ours,
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the given connection, or on a URL from `-x url=...`."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("pass -x url=DATABASE_URL")
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run against a database")
run_migrations_online()
