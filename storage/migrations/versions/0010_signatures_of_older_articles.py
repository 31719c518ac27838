"""Signatures of the articles stored before 0005: their moves are found too.

Migration 0005 made `signatures` empty; only articles stored after it got one, so an article of an
older database moved to another URL was a new article plus a missing one. A signature is the first
version's fingerprint (`versions.content_hash`, the same hash `moves.signature_row` stores) and its
publication date, both already stored: one `INSERT ... SELECT` fills them in on both dialects,
for every article that has a first version and no signature (an upgrade run twice adds nothing).

Downgrading keeps the rows: they are what 0005's code would have written for those articles.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 23:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO signatures (article_id, content_hash, published_date) "
        "SELECT v.article_id, v.content_hash, v.published_date FROM versions v "
        "WHERE v.number = 1 AND v.content_hash IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM signatures s WHERE s.article_id = v.article_id)"
    )


def downgrade() -> None:
    pass
