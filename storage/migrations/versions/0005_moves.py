"""Moves: `signatures` (each article's first fingerprint and date, to find it under another URL) and
`moves` (an article found under another URL, with the evidence).

Articles stored before this revision have no signature: a move of one of them is not detected
(its new URL is a new article, as before). Downgrading drops both tables and the move records;
the articles keep the URLs they were moved to, and the old URLs stay aliases.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 21:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signatures",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("published_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_signatures_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_signatures")),
    )
    op.create_index(
        op.f("ix_signatures_content_hash"), "signatures", ["content_hash"], unique=False
    )
    op.create_index(
        op.f("ix_signatures_published_date"), "signatures", ["published_date"], unique=False
    )
    op.create_table(
        "moves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("from_url", sa.Text(), nullable=False),
        sa.Column("to_url", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_moves_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moves")),
    )
    op.create_index(op.f("ix_moves_article_id"), "moves", ["article_id"], unique=False)
    op.create_index(op.f("ix_moves_at"), "moves", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_moves_at"), table_name="moves")
    op.drop_index(op.f("ix_moves_article_id"), table_name="moves")
    op.drop_table("moves")
    op.drop_index(op.f("ix_signatures_published_date"), table_name="signatures")
    op.drop_index(op.f("ix_signatures_content_hash"), table_name="signatures")
    op.drop_table("signatures")
