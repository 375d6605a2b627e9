"""speed: an application's last interview end kept on the application

`application.last_interview_end` — when its last interview still on (scheduled: held or to come) ends — filled
here from the interviews that exist and kept from now on by the paths that schedule, move, cancel or mark an
interview. The feedback clock reads it instead of looking for each application's interviews.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (nullable), which both databases do in place (see 0011).
    op.add_column('application', sa.Column('last_interview_end', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE application SET last_interview_end = (SELECT max(interview.ends_at) FROM interview"
        " WHERE interview.application_id = application.id AND interview.status = 'scheduled')")
    op.create_index('ix_application_stage_last_end', 'application', ['stage', 'last_interview_end'])


def downgrade() -> None:
    op.drop_index('ix_application_stage_last_end', table_name='application')
    op.drop_column('application', 'last_interview_end')  # SQLite 3.35+ drops a plain column in place
