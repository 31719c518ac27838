"""The lock that serializes schema changes between processes opening one database.

Both the first-run schema creation (`storage.engine`) and the Alembic upgrade (`storage.migrate`)
take it, so it lives below both: neither imports the other for it.
"""

from __future__ import annotations

PG_LOCK_KEY = 0x6D666177  # "mfaw": the PostgreSQL advisory lock (SQLite: BEGIN IMMEDIATE does it)
