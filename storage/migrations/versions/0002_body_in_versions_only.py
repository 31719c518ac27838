"""The current body lives only in its version: drop articles.body_text and articles.body_html.

Every article's current content is its `content_version` row, which holds the same text, so no
data is lost. Needs SQLite >= 3.35 (ALTER TABLE .. DROP COLUMN).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 06:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_column("articles", "body_html")
    op.drop_column("articles", "body_text")


def downgrade() -> None:
    for name in ("body_text", "body_html"):
        op.add_column("articles", sa.Column(name, sa.Text(), nullable=False, server_default=""))
        op.execute(
            f"UPDATE articles SET {name} = COALESCE((SELECT v.{name} FROM versions v "
            "WHERE v.article_id = articles.id AND v.number = articles.content_version), '')"
        )
