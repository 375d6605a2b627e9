"""speed: the feedback clock's and the owed scorecards' inputs kept on the rows they describe

`candidate.heard_at` — when word from us last reached the person (a contact reached or replied, a mail sent) —
and `interviewpanelist.settled_at` — when that seat stopped owing a scorecard: the card submitted, or the
interview cancelled or marked a no-show (the time from the audit log, else the interview's start) — are filled
here from the contacts, mails, scorecards and interviews that exist, and kept from now on by the paths that
write those.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (nullable), which both databases do in place: a batch on SQLite would copy the table,
    # and dropping `candidate` for the copy fails on the foreign keys that point at it.
    op.add_column('candidate', sa.Column('heard_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.add_column('interviewpanelist', sa.Column('settled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE candidate SET heard_at = (SELECT max(h.t) FROM ("
        " SELECT contact.at AS t FROM contact WHERE contact.candidate_id = candidate.id"
        "  AND contact.outcome IN ('reached', 'replied')"
        " UNION ALL"
        " SELECT outboxmessage.sent_at FROM outboxmessage WHERE outboxmessage.candidate_id = candidate.id"
        "  AND outboxmessage.status = 'sent') AS h)")
    op.execute(
        "UPDATE interviewpanelist SET settled_at = coalesce("
        " (SELECT coalesce(s.submitted_at, s.updated_at) FROM scorecard s"
        "  WHERE s.interview_id = interviewpanelist.interview_id AND s.interviewer_id = interviewpanelist.user_id"
        "  AND s.status = 'submitted'),"
        " (SELECT coalesce((SELECT max(l.at) FROM auditlog l WHERE l.entity = 'interview' AND l.entity_id = i.id"
        "                   AND l.action IN ('cancelled', 'no_show')), i.starts_at)"
        "  FROM interview i WHERE i.id = interviewpanelist.interview_id AND i.status <> 'scheduled'))")
    # Covering indexes for the clock (an application's last held interview) and for the interviews ended in a
    # window; they replace the single-column indexes on application_id and ends_at (their leading columns).
    op.create_index('ix_interview_application_status_end', 'interview', ['application_id', 'status', 'ends_at'])
    op.create_index('ix_interview_end_status_application', 'interview', ['ends_at', 'status', 'application_id'])
    op.drop_index('ix_interview_application_id', table_name='interview')
    op.drop_index('ix_interview_ends_at', table_name='interview')
    op.create_index('ix_contact_by_next', 'contact', ['by_user_id', 'next_contact_at'])
    op.create_index('ix_application_stage_changed', 'application', ['stage', 'stage_changed_at'])
    # A candidate's newest contact and mail, and last contact's time, each one index lookup: PostgreSQL without
    # statistics otherwise walked a whole table backwards (by id or by time) for each row of the board. They
    # replace the single-column candidate_id indexes; the sent-mail index served the clock before heard_at.
    op.create_index('ix_contact_candidate_newest', 'contact', ['candidate_id', 'id'])
    op.create_index('ix_contact_candidate_at', 'contact', ['candidate_id', 'at'])
    op.drop_index('ix_contact_candidate_id', table_name='contact')
    op.create_index('ix_outbox_candidate_newest', 'outboxmessage', ['candidate_id', 'id'])
    op.drop_index('ix_outboxmessage_candidate_id', table_name='outboxmessage')
    op.drop_index('ix_outbox_candidate_sent', table_name='outboxmessage')
    op.create_index('ix_panelist_owed', 'interviewpanelist', ['user_id', 'interview_id'], unique=False,
                    sqlite_where=sa.text('settled_at IS NULL'), postgresql_where=sa.text('settled_at IS NULL'))


def downgrade() -> None:
    op.create_index('ix_outbox_candidate_sent', 'outboxmessage', ['candidate_id', 'status', 'sent_at'])
    op.create_index('ix_outboxmessage_candidate_id', 'outboxmessage', ['candidate_id'])
    op.drop_index('ix_outbox_candidate_newest', table_name='outboxmessage')
    op.create_index('ix_contact_candidate_id', 'contact', ['candidate_id'])
    op.drop_index('ix_contact_candidate_at', table_name='contact')
    op.drop_index('ix_contact_candidate_newest', table_name='contact')
    op.drop_index('ix_contact_by_next', table_name='contact')
    op.drop_index('ix_application_stage_changed', table_name='application')
    op.create_index('ix_interview_ends_at', 'interview', ['ends_at'])
    op.create_index('ix_interview_application_id', 'interview', ['application_id'])
    op.drop_index('ix_interview_end_status_application', table_name='interview')
    op.drop_index('ix_interview_application_status_end', table_name='interview')
    op.drop_index('ix_panelist_owed', table_name='interviewpanelist',
                  sqlite_where=sa.text('settled_at IS NULL'), postgresql_where=sa.text('settled_at IS NULL'))
    op.drop_column('interviewpanelist', 'settled_at')  # SQLite 3.35+ drops a plain column in place
    op.drop_column('candidate', 'heard_at')
