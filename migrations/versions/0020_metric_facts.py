"""metric facts: one row of facts per application for the Metrics screen, and the list of applications to refresh

`applicationfact` (the moments each funnel step was reached, as stored times), `interviewfact` (each interview
still on and the first word to its candidate after it), `scorecardfact` (each submitted card's weighted score),
`stayfact` (each ended stay in an active stage) and `metricdirty` (applications whose
facts may be stale), with triggers on the tables behind the facts that list every changed application — on SQLite
and PostgreSQL alike (services.metrics.facts folds the list in). Every application already there is listed, so
the first fold (the worker's next pass, or the first metric read) builds every application's facts.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables behind the facts (as models.metrics.WATCHED was when this was written): the applications a row
# concerns (SQL, of the row NEW or OLD), and the columns whose change matters.
WATCHED: dict[str, tuple[str, tuple[str, ...]]] = {
    'application': ('SELECT {row}.id', ('candidate_id', 'job_id')),
    'interview': ('SELECT {row}.application_id', ('application_id', 'status', 'ends_at', 'round_id')),
    'interviewpanelist': ('SELECT application_id FROM interview WHERE id = {row}.interview_id',
                          ('interview_id', 'user_id')),
    'scorecard': ('SELECT {row}.application_id',
                  ('application_id', 'interview_id', 'interviewer_id', 'status', 'submitted_at', 'recommendation')),
    'scorecardrating': ('SELECT application_id FROM scorecard WHERE id = {row}.scorecard_id',
                        ('scorecard_id', 'criterion_id', 'rating')),
    'criterion': ('SELECT application_id FROM interview WHERE round_id = {row}.round_id',
                  ('round_id', 'job_id', 'is_active', 'weight')),
    'decision': ('SELECT {row}.application_id', ('application_id', 'kind', 'at', 'reason_code')),
    'stagechange': ('SELECT {row}.application_id', ('application_id', 'from_stage', 'to_stage', 'at', 'reason')),
    'offer': ('SELECT {row}.application_id', ('application_id', 'status', 'sent_at', 'answered_at')),
    'onboardingplan': ('SELECT {row}.application_id', ('application_id', 'status', 'start_date', 'outcome_at')),
    'contact': ('SELECT id FROM application WHERE candidate_id = {row}.candidate_id',
                ('candidate_id', 'outcome', 'at')),
    'outboxmessage': ('SELECT id FROM application WHERE candidate_id = {row}.candidate_id',
                      ('candidate_id', 'status', 'sent_at')),
}


def _triggers(dialect: str) -> list[str]:
    statements = []
    for table, (apps_of, columns) in WATCHED.items():
        mark_new = f"INSERT INTO metricdirty (application_id) {apps_of.format(row='NEW')};"
        mark_old = f"INSERT INTO metricdirty (application_id) {apps_of.format(row='OLD')};"
        if dialect == 'sqlite':
            events = [('ins', 'INSERT', mark_new), ('del', 'DELETE', mark_old)]
            if columns:
                events.append(('upd', f"UPDATE OF {', '.join(columns)}", mark_new + ' ' + mark_old))
            for suffix, event_sql, body in events:
                statements.append(
                    f'CREATE TRIGGER metricdirty_{table}_{suffix} AFTER {event_sql} ON "{table}" BEGIN {body} END')
        else:
            statements.append(
                f'CREATE OR REPLACE FUNCTION metricdirty_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN '
                f"IF TG_OP <> 'DELETE' THEN {mark_new} END IF; "
                f"IF TG_OP <> 'INSERT' THEN {mark_old} END IF; "
                'RETURN NULL; END $$')
            update = f" OR UPDATE OF {', '.join(columns)}" if columns else ''
            statements.append(
                f'CREATE TRIGGER metricdirty_{table} AFTER INSERT{update} OR DELETE ON "{table}" '
                f'FOR EACH ROW EXECUTE FUNCTION metricdirty_{table}()')
    return statements


def upgrade() -> None:
    op.create_table(
        'applicationfact',
        sa.Column('application_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('first_end', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('owed_end', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('carded_end', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('last_card', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('decision_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('offer_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('accepted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('plan_start', sa.Date(), nullable=True),
        sa.Column('passed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('last_move_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('last_from_stage', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column('last_reason', sa.Text(), nullable=True),
        sa.Column('reject_reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column('final_kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
        sa.PrimaryKeyConstraint('application_id'),
    )
    op.create_table(
        'interviewfact',
        sa.Column('interview_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('ends_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('first_word_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('hours', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('interview_id'),
    )
    op.create_index('ix_interviewfact_application_end', 'interviewfact', ['application_id', 'ends_at'])
    op.create_table(
        'scorecardfact',
        sa.Column('scorecard_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('interview_id', sa.Integer(), nullable=False),
        sa.Column('interviewer_id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('ends_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('positive', sa.Integer(), nullable=True),
        sa.Column('score', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('scorecard_id'),
    )
    op.create_index('ix_scorecardfact_application', 'scorecardfact', ['application_id'])
    op.create_table(
        'stayfact',
        sa.Column('change_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('left_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('hours', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('change_id'),
    )
    op.create_index('ix_stayfact_application', 'stayfact', ['application_id'])
    op.create_index('ix_stayfact_stage_hours', 'stayfact', ['stage', 'hours'])
    op.create_table(
        'metricdirty',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    dialect = op.get_bind().dialect.name
    for statement in _triggers(dialect):
        op.execute(statement)
    # Every application there is listed: the first fold builds all their facts.
    op.execute('INSERT INTO metricdirty (application_id) SELECT id FROM application')


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, (_, columns) in WATCHED.items():
        if dialect == 'sqlite':
            for suffix in ('ins', 'del', 'upd'):
                op.execute(f'DROP TRIGGER IF EXISTS metricdirty_{table}_{suffix}')
        else:
            op.execute(f'DROP TRIGGER IF EXISTS metricdirty_{table} ON "{table}"')
            op.execute(f'DROP FUNCTION IF EXISTS metricdirty_{table}()')
    op.drop_table('metricdirty')
    op.drop_index('ix_interviewfact_application_end', table_name='interviewfact')
    op.drop_table('interviewfact')
    op.drop_index('ix_scorecardfact_application', table_name='scorecardfact')
    op.drop_table('scorecardfact')
    op.drop_index('ix_stayfact_stage_hours', table_name='stayfact')
    op.drop_index('ix_stayfact_application', table_name='stayfact')
    op.drop_table('stayfact')
    op.drop_table('applicationfact')
