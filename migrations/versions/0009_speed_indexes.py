"""speed: the indexes the list and filter queries need at 100k candidates

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
from collections.abc import Sequence

from alembic import op  # noqa: F401

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # reminder scan (helper)
    op.create_index("ix_outbox_candidate_sent", "outboxmessage", ["candidate_id", "status", "sent_at"])


def downgrade() -> None:
    # reminder scan (helper)
    op.drop_index("ix_outbox_candidate_sent", table_name="outboxmessage")
