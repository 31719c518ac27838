"""Rendered DOMs: `responses.rendered_sha256`, the blob of the DOM a browser rendered from a page
(`fetch: browser`), kept beside the raw body when it differs from it.

Downgrading drops the column; the blobs stay (as any blob no response names).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 23:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both dialects: a batch (copy and rename) of `responses` would drop a
# table other tables' foreign keys point at. SQLite drops a plain column since 3.35.


def upgrade() -> None:
    op.add_column("responses", sa.Column("rendered_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE responses DROP COLUMN rendered_sha256")
