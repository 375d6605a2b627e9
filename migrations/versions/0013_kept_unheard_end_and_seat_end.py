"""speed: whether the candidate has heard from us since the last interview, and each seat's interview end

`application.last_end_unheard` — its last interview's end (`last_interview_end`) while the candidate has heard
nothing from us since (`candidate.heard_at` before it), else NULL — and `interviewpanelist.ends_at` — the end of
the seat's interview — filled here from what exists and kept from now on by the paths that change them. My tasks
reads the feedback clocks and the owed scorecards of a window as index ranges.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (nullable), which both databases do in place (see 0011).
    op.add_column('application', sa.Column('last_end_unheard', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE application SET last_end_unheard = last_interview_end WHERE last_interview_end IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM candidate WHERE candidate.id = application.candidate_id"
        "                 AND candidate.heard_at >= application.last_interview_end)")
    op.create_index('ix_application_stage_unheard', 'application', ['stage', 'last_end_unheard'])
    op.add_column('interviewpanelist', sa.Column('ends_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.execute("UPDATE interviewpanelist SET ends_at = (SELECT interview.ends_at FROM interview"
               " WHERE interview.id = interviewpanelist.interview_id)")
    op.create_index('ix_panelist_owed_end', 'interviewpanelist', ['ends_at'],
                    sqlite_where=sa.text('settled_at IS NULL'), postgresql_where=sa.text('settled_at IS NULL'))
    # A person's reminders by the whole key: no index that holds the person alone for the planner to pick.
    op.create_index('ix_reminder_user_key', 'reminder', ['user_id', 'rule', 'item_key', 'window'])
    op.drop_index('ix_reminder_user_id', table_name='reminder')
    op.create_index('ix_candidate_anonymised', 'candidate', ['id'], sqlite_where=sa.text('anonymised_at IS NOT NULL'),
                    postgresql_where=sa.text('anonymised_at IS NOT NULL'))
    # A person's owed seats in the order of their interview's end (the interviewer's list, oldest first).
    op.drop_index('ix_panelist_owed', table_name='interviewpanelist')
    op.create_index('ix_panelist_owed', 'interviewpanelist', ['user_id', 'ends_at', 'interview_id'],
                    sqlite_where=sa.text('settled_at IS NULL'), postgresql_where=sa.text('settled_at IS NULL'))


def downgrade() -> None:
    op.create_index('ix_reminder_user_id', 'reminder', ['user_id'])
    op.drop_index('ix_reminder_user_key', table_name='reminder')
    op.drop_index('ix_candidate_anonymised', table_name='candidate')
    op.drop_index('ix_panelist_owed', table_name='interviewpanelist')
    op.create_index('ix_panelist_owed', 'interviewpanelist', ['user_id', 'interview_id'],
                    sqlite_where=sa.text('settled_at IS NULL'), postgresql_where=sa.text('settled_at IS NULL'))
    op.drop_index('ix_panelist_owed_end', table_name='interviewpanelist')
    op.drop_column('interviewpanelist', 'ends_at')
    op.drop_index('ix_application_stage_unheard', table_name='application')
    op.drop_column('application', 'last_end_unheard')  # SQLite 3.35+ drops a plain column in place
