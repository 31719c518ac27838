"""Readout pairs and language twins: `readouts`, `article_pairs`, `pairing_state`, and an index
of articles by source and publication date (where a release's twin is looked for).

Articles stored before this revision are paired by `mfawatch pairs --backfill` (the crawl pairs
only what it stores from now on). Downgrading drops the three tables, and with them every
confirmation and rejection made by hand.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 23:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_articles_source_published", "articles", ["source", "published_date"], unique=False
    )
    op.create_table(
        "readouts",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("country", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("headline", sa.JSON(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_readouts_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_readouts")),
    )
    op.create_index("ix_readouts_kind_starts", "readouts", ["kind", "starts_at"], unique=False)
    op.create_table(
        "article_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("a_id", sa.Integer(), nullable=False),
        sa.Column("b_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["a_id"], ["articles.id"], name=op.f("fk_article_pairs_a_id_articles"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["b_id"], ["articles.id"], name=op.f("fk_article_pairs_b_id_articles"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_pairs")),
        sa.UniqueConstraint("relation", "a_id", "b_id", name=op.f("uq_article_pairs_relation")),
    )
    op.create_index(op.f("ix_article_pairs_b_id"), "article_pairs", ["b_id"], unique=False)
    op.create_index(op.f("ix_article_pairs_found_at"), "article_pairs", ["found_at"], unique=False)
    op.create_table(
        "pairing_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_article_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_pairing_state")),
    )


def downgrade() -> None:
    op.drop_table("pairing_state")
    op.drop_index(op.f("ix_article_pairs_found_at"), table_name="article_pairs")
    op.drop_index(op.f("ix_article_pairs_b_id"), table_name="article_pairs")
    op.drop_table("article_pairs")
    op.drop_index("ix_readouts_kind_starts", table_name="readouts")
    op.drop_table("readouts")
    op.drop_index("ix_articles_source_published", table_name="articles")
