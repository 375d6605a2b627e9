"""metrics digest: a person's choice of the weekly metrics digest, and attachment parts shown inside the HTML

`user.metrics_digest` (off for everyone already there) and `outboxattachment.content_id` ("" for the attachments
already queued: they stay attachments). The digest's charts are PNG parts referenced as `cid:` from its HTML.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN with a default, which both databases do in place (see 0011).
    op.add_column('user', sa.Column('metrics_digest', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('outboxattachment', sa.Column('content_id', sqlmodel.sql.sqltypes.AutoString(length=200),
                                                nullable=False, server_default=''))


def downgrade() -> None:
    # In place (SQLite 3.35+ drops a plain column): a batch copy of `user` would break the keys pointing at it.
    op.drop_column('outboxattachment', 'content_id')
    op.drop_column('user', 'metrics_digest')
