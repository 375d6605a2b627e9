"""PostgreSQL: a trigram index so a substring search of candidates stays fast at 100k rows

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return  # SQLite scans the one search column; fast enough there (see bench/search.py)
    # pg_trgm is a trusted extension (PostgreSQL 13+); without the right to create it the search still works,
    # only slower, so a refusal must not stop the upgrade.
    # The savepoint must be rolled back before the transaction is usable again: catch outside the block.
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        return
    op.execute("CREATE INDEX IF NOT EXISTS ix_candidate_search_trgm ON candidate USING gin (search_text gin_trgm_ops)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_candidate_search_trgm")
