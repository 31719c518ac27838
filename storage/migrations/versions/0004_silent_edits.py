"""Silent edits: each version's modification markers, and how a changed version's edit showed.

`versions.markers` (JSON): the page's modification markers (displayed date text, modified date,
correction notice); `versions.edit_kind` (`silent`, `announced`, `unknown`) and
`versions.edit_evidence` (JSON) on changed versions. Existing rows keep NULL: versions stored
before this revision are not judged, and a change from one of them is judged on the date alone.
Columns are added in place (no table copy on SQLite).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 21:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("versions", sa.Column("markers", sa.JSON(), nullable=True))
    op.add_column("versions", sa.Column("edit_kind", sa.String(length=16), nullable=True))
    op.add_column("versions", sa.Column("edit_evidence", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_column("edit_evidence")
        batch_op.drop_column("edit_kind")
        batch_op.drop_column("markers")
