"""speed: each application keeps the end of its interview still on that ends last but one, and that end unheard

`application.previous_interview_end` and `previous_end_unheard` (that end while the candidate has heard nothing
from us since), filled here and kept from now on with `last_interview_end` and `last_end_unheard`
(evaluation.keep_last_interview_end, mail.heard_update). While an application's last interview is still to
come, the feedback clock runs from the held one before it: this, where it has passed and is unheard — no lookup
of the application's interviews nor of its candidate (2,400 and 1,200 per follow-up board at 100k candidates).
On PostgreSQL the index on the last end carries both (INCLUDE), so those applications are read from it alone.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPCOMING = ['candidate_id', 'owner_id', 'stage_changed_at', 'previous_interview_end', 'previous_end_unheard']


def upgrade() -> None:
    # Plain ADD COLUMN (nullable), which both databases do in place (see 0011).
    for name in ('previous_interview_end', 'previous_end_unheard'):
        op.add_column('application', sa.Column(name, sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.execute("UPDATE application SET previous_interview_end = (SELECT interview.ends_at FROM interview"
               " WHERE interview.application_id = application.id AND interview.status = 'scheduled'"
               " ORDER BY interview.ends_at DESC LIMIT 1 OFFSET 1) WHERE last_interview_end IS NOT NULL")
    op.execute("UPDATE application SET previous_end_unheard = previous_interview_end"
               " WHERE previous_interview_end IS NOT NULL AND NOT EXISTS (SELECT 1 FROM candidate"
               " WHERE candidate.id = application.candidate_id"
               " AND candidate.heard_at >= application.previous_interview_end)")
    op.drop_index('ix_application_stage_last_end', table_name='application')
    op.create_index('ix_application_stage_last_end', 'application', ['stage', 'last_interview_end', 'id'],
                    postgresql_include=UPCOMING)


def downgrade() -> None:
    op.drop_index('ix_application_stage_last_end', table_name='application')
    op.create_index('ix_application_stage_last_end', 'application', ['stage', 'last_interview_end', 'id'],
                    postgresql_include=['candidate_id', 'owner_id'])
    for name in ('previous_end_unheard', 'previous_interview_end'):
        op.drop_column('application', name)  # SQLite 3.35+ drops a plain column in place
