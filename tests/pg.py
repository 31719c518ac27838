"""PostgreSQL schemas for tests: every user of the shared test database gets a schema of its own.

The test database is shared by both pytest-xdist workers, and by other engineers' runs on the same
server, so nothing a test creates there may have a fixed name: `pg_schema()` makes a schema named
after the xdist worker plus a random part, yields a URL whose `search_path` is that schema, and
drops it (with everything in it) at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

PG_URL_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def schema_name(prefix: str = "t") -> str:
    """A schema name no other test, worker or run uses: `t_gw0_1a2b3c4d5e6f`."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{prefix}_{worker}_{uuid.uuid4().hex[:12]}"


def in_schema(pg_url: str, schema: str) -> str:
    """`pg_url` with `search_path` set to `schema`."""
    sep = "&" if "?" in pg_url else "?"
    return f"{pg_url}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def pg_schema(pg_url: str = PG_URL_DEFAULT, prefix: str = "t") -> Iterator[str]:
    """A fresh schema of the test database; yields a URL whose search_path is that schema."""
    schema = schema_name(prefix)
    admin = sa.create_engine(pg_url)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield in_schema(pg_url, schema)
        finally:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
