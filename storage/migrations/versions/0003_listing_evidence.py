"""Listing and feed responses as evidence: `responses.source` and `responses.listing_url`, and
the stored listing responses that showed each sighting first and last.

Existing rows keep NULL in the new columns (no listing response was stored before). On SQLite the
foreign keys of `listing_sightings` need a batch migration (the table is copied); `responses`,
the large table, only gets columns added in place.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 20:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("responses", sa.Column("source", sa.String(length=100), nullable=True))
    op.add_column("responses", sa.Column("listing_url", sa.Text(), nullable=True))
    op.create_index(op.f("ix_responses_listing_url"), "responses", ["listing_url"], unique=False)
    with op.batch_alter_table("listing_sightings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_response_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_response_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_listing_sightings_first_response_id_responses"),
            "responses",
            ["first_response_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_listing_sightings_last_response_id_responses"),
            "responses",
            ["last_response_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("listing_sightings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_listing_sightings_last_response_id_responses"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_listing_sightings_first_response_id_responses"), type_="foreignkey"
        )
        batch_op.drop_column("last_response_id")
        batch_op.drop_column("first_response_id")
    # Listing responses stay (versions of feed items point at them), without their listing URL.
    op.drop_index(op.f("ix_responses_listing_url"), table_name="responses")
    op.drop_column("responses", "listing_url")
    op.drop_column("responses", "source")
