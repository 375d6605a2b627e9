"""speed: each application keeps its candidate's owner; its indexes end with the id and carry what the board reads

`application.owner_id` — the candidate's owner, filled here and kept from now on by the paths that set it — so
that a recruiter's open applications are ranges of two new indexes (by stage and how long unmoved; by stage and
the unheard end), not a lookup of every open application's candidate.

`ix_application_stage_changed` and `ix_application_stage_unheard` get the id as their last key — the tie-break of
the orders My tasks reads them in (SQLite's indexes end with the rowid already) — and on PostgreSQL the
columns the follow-up board and the feedback tasks read (INCLUDE): with the pages marked all-visible by VACUUM
those read the index alone, not 14.5k heap rows at 100k candidates (stale applications' keys 15 → 6 ms).
`ix_application_stage_last_end` likewise, for the applications whose last interview is still to come.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BOARD = ['last_interview_end', 'stage_changed_at', 'candidate_id', 'owner_id']


def upgrade() -> None:
    # Plain ADD COLUMN (nullable), which both databases do in place (see 0011): a copy of `candidate.owner_id`,
    # whose own foreign key holds it to a user.
    op.add_column('application', sa.Column('owner_id', sa.Integer(), nullable=True))
    op.execute("UPDATE application SET owner_id = (SELECT candidate.owner_id FROM candidate"
               " WHERE candidate.id = application.candidate_id)")
    op.drop_index('ix_application_stage_changed', table_name='application')
    op.create_index('ix_application_stage_changed', 'application', ['stage', 'stage_changed_at', 'id'],
                    postgresql_include=['candidate_id', 'owner_id'])
    op.drop_index('ix_application_stage_unheard', table_name='application')
    op.create_index('ix_application_stage_unheard', 'application', ['stage', 'last_end_unheard', 'id'],
                    postgresql_include=BOARD)
    op.drop_index('ix_application_stage_last_end', table_name='application')
    op.create_index('ix_application_stage_last_end', 'application', ['stage', 'last_interview_end', 'id'],
                    postgresql_include=['candidate_id', 'owner_id'])
    op.create_index('ix_application_owner_changed', 'application', ['owner_id', 'stage', 'stage_changed_at', 'id'],
                    postgresql_include=['candidate_id'])
    op.create_index('ix_application_owner_unheard', 'application', ['owner_id', 'stage', 'last_end_unheard', 'id'],
                    postgresql_include=BOARD)


def downgrade() -> None:
    op.drop_index('ix_application_owner_changed', table_name='application')
    op.drop_index('ix_application_owner_unheard', table_name='application')
    for name, column in (('ix_application_stage_changed', 'stage_changed_at'),
                         ('ix_application_stage_unheard', 'last_end_unheard'),
                         ('ix_application_stage_last_end', 'last_interview_end')):
        op.drop_index(name, table_name='application')
        op.create_index(name, 'application', ['stage', column])
    op.drop_column('application', 'owner_id')
