"""speed: the indexes the list and filter queries need at 100k candidates

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Candidate filters by stage, and by job and stage, read candidate ids from these; they replace the
    # single-column stage and job_id indexes (their leading columns).
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.create_index('ix_application_stage_candidate', ['stage', 'candidate_id'], unique=False)
        batch_op.create_index('ix_application_job_stage', ['job_id', 'stage', 'candidate_id'], unique=False)
        batch_op.drop_index('ix_application_stage')
        batch_op.drop_index('ix_application_job_id')
    # The talent pool page offers the most recently changed closed candidates: read in that order, not sorted.
    with op.batch_alter_table('candidate', schema=None) as batch_op:
        batch_op.create_index('ix_candidate_updated_at', ['updated_at'], unique=False)
    # The feedback clock's "a mail reached the candidate since": without it SQLite read every sent mail per
    # application through ix_outbox_due (a reminder pass did not finish in 9 minutes on the realistic seed).
    op.create_index("ix_outbox_candidate_sent", "outboxmessage", ["candidate_id", "status", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_candidate_sent", table_name="outboxmessage")
    with op.batch_alter_table('candidate', schema=None) as batch_op:
        batch_op.drop_index('ix_candidate_updated_at')
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.create_index('ix_application_job_id', ['job_id'], unique=False)
        batch_op.create_index('ix_application_stage', ['stage'], unique=False)
        batch_op.drop_index('ix_application_job_stage')
        batch_op.drop_index('ix_application_stage_candidate')
