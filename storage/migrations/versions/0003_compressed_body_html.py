"""Versions keep their sanitized HTML zstd-compressed: versions.body_html -> body_html_zstd.

Nothing queries the HTML in SQL (search reads body_text), and it was about 40 % of a version's
bytes; compressed it is a fifth of that, and a crawl writes a third fewer bytes. Existing rows are
compressed here, a thousand at a time; no text changes (the column type `CompressedText` gives it
back as it was). Needs SQLite >= 3.35 (ALTER TABLE .. DROP COLUMN), as 0002 does.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 15:30:00
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from storage.codecs import CODECS

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def _convert(source: str, target: str, change: Callable[[Any], object]) -> None:
    """Copy column `source` of every version into `target` through `change`, by id order."""
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.text(
                f"SELECT id, {source} FROM versions WHERE id > :last AND {source} IS NOT NULL "
                "ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": _BATCH},
        ).all()
        if not rows:
            return
        conn.execute(
            sa.text(f"UPDATE versions SET {target} = :value WHERE id = :id"),
            [{"id": row[0], "value": change(row[1])} for row in rows],
        )
        last = rows[-1][0]


def upgrade() -> None:
    compress = CODECS["zstd"][0]
    op.add_column("versions", sa.Column("body_html_zstd", sa.LargeBinary(), nullable=True))
    _convert("body_html", "body_html_zstd", lambda html: compress(str(html).encode("utf-8")))
    op.drop_column("versions", "body_html")


def downgrade() -> None:
    decompress = CODECS["zstd"][1]
    op.add_column("versions", sa.Column("body_html", sa.Text(), nullable=True))
    _convert("body_html_zstd", "body_html", lambda data: decompress(bytes(data)).decode("utf-8"))
    op.drop_column("versions", "body_html_zstd")
