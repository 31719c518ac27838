"""Packed version bodies: `versions.body`, a version's text and HTML in one zstd frame (SQLite).

A 10,000-article crawl's SQLite file was three-quarters version text and HTML, stored plain
(docs/benchmarks.md, storage size). New rows on SQLite keep both packed in `body`
(`storage.bodies`) with `body_text` and `body_html` NULL; this migration adds the column on both
dialects and, on SQLite, packs the rows already stored, 500 at a time. PostgreSQL keeps its
rows plain (TOAST compresses them; see `storage.schema.VersionRow`): only the column is added.

The code reads both forms (a row whose `body` is NULL is read from its plain columns), so a
row left plain is never lost: one whose text cannot be packed (empty, or holding NUL) stays
so (and one without HTML). The conversion runs in the upgrade's transaction: interrupted, it rolls back whole, and
the next open runs it again. The file keeps its size until a `VACUUM` (the freed pages are
reused by what is stored next).

Downgrading unpacks every packed row back into its plain columns, then drops the column.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-08 02:30:00
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from storage.bodies import pack_body, unpack_body

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500

_PLAIN = sa.text(
    "SELECT id, body_text, body_html FROM versions WHERE id > :after AND body IS NULL "
    "AND body_text IS NOT NULL AND body_text <> '' ORDER BY id LIMIT :n"
)
_PACK = sa.text("UPDATE versions SET body = :body, body_text = NULL, body_html = NULL WHERE id = :id")
_PACKED = sa.text(
    "SELECT id, body FROM versions WHERE id > :after AND body IS NOT NULL ORDER BY id LIMIT :n"
)
_UNPACK = sa.text("UPDATE versions SET body = NULL, body_text = :t, body_html = :h WHERE id = :id")


def _in_batches(
    select: sa.TextClause, convert: Callable[..., dict[str, Any] | None], update: sa.TextClause
) -> None:
    """Convert the rows `select` finds, `BATCH` at a time in id order, with `update`."""
    conn = op.get_bind()
    after = 0
    while rows := conn.execute(select, {"after": after, "n": BATCH}).all():
        after = rows[-1][0]
        changes = [c for c in (convert(*r) for r in rows) if c is not None]
        if changes:
            conn.execute(update, changes)


def _packed(version_id: int, text: str, html: str | None) -> dict[str, Any] | None:
    body = None if html is None else pack_body(text, html)
    return None if body is None else {"id": version_id, "body": body}


def _unpacked(version_id: int, body: bytes) -> dict[str, Any]:
    text, html = unpack_body(body)
    return {"id": version_id, "t": text, "h": html}


def upgrade() -> None:
    op.add_column("versions", sa.Column("body", sa.LargeBinary(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        _in_batches(_PLAIN, _packed, _PACK)


def downgrade() -> None:
    _in_batches(_PACKED, _unpacked, _UNPACK)
    op.execute("ALTER TABLE versions DROP COLUMN body")
