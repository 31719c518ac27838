"""A partial index of the removed articles, `ix_articles_removed` (issue 19).

`mfawatch search --in removed` of a NOT (`-taiwan`: earlier versions without the word, of
articles whose current text has it, and every version of a removed article) reads only the
versions of those articles; the removed ones are few, and without an index finding them read
every article row. Downgrading drops it. No stored data is touched.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 05:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_articles_removed ON articles (id) WHERE status = 'removed'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_articles_removed")
