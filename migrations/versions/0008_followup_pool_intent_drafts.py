"""follow-up: intent versions, draft versions, pool entries for applications in the talent_pool stage

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01
"""
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0008'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POOL_REVISIT = timedelta(days=90)  # as the follow-up form proposes
MIN_AHEAD = timedelta(days=14)  # an old move gets a revisit date ahead, not one already passed


def upgrade() -> None:
    with op.batch_alter_table('intent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
    # Existing history: number each application's rows in the order they were recorded.
    op.execute(sa.text(
        "UPDATE intent SET version = (SELECT COUNT(*) FROM intent AS older "
        "WHERE older.application_id = intent.application_id AND older.id <= intent.id)"))
    with op.batch_alter_table('intent', schema=None) as batch_op:
        batch_op.alter_column('version', server_default=None)
        batch_op.create_unique_constraint('uq_intent_application_id_version', ['application_id', 'version'])

    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.alter_column('version', server_default=None)

    _pool_entries_for_pooled_applications()


def _pool_entries_for_pooled_applications() -> None:
    """A person whose application is in the talent_pool stage but who is not in the pool gets an entry: the
    reason given when the application was moved, revisited 90 days after the move (at least two weeks ahead)."""
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT a.candidate_id, sc.reason, sc.at, sc.by_user_id, c.owner_id FROM application a "
        "JOIN candidate c ON c.id = a.candidate_id "
        "LEFT JOIN stagechange sc ON sc.id = (SELECT MAX(s2.id) FROM stagechange s2 "
        "  WHERE s2.application_id = a.id AND s2.to_stage = 'talent_pool') "
        "WHERE a.stage = 'talent_pool' AND c.anonymised_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM poolentry p WHERE p.candidate_id = a.candidate_id) "
        "ORDER BY a.candidate_id, sc.at DESC").columns(
            sa.column("candidate_id", sa.Integer()), sa.column("reason", sa.Text()),
            sa.column("at", sqlmodel.sql.sqltypes.UTCDateTime()), sa.column("by_user_id", sa.Integer()),
            sa.column("owner_id", sa.Integer()))).all()
    fallback = conn.execute(sa.text("SELECT MIN(id) FROM \"user\" WHERE roles LIKE '%admin%'")).scalar()
    today = datetime.now(UTC).date()
    done: set[int] = set()
    for candidate_id, reason, at, by_user_id, owner_id in rows:
        if candidate_id in done:
            continue
        added_by = by_user_id or owner_id or fallback
        if added_by is None:
            continue
        moved = at or datetime.now(UTC)
        revisit: date = max(moved.date() + POOL_REVISIT, today + MIN_AHEAD)
        conn.execute(sa.text(
            "INSERT INTO poolentry (candidate_id, reason, job_family, revisit_on, added_by_id, added_at, status) "
            "VALUES (:c, :r, '', :v, :b, :a, 'active')").bindparams(
                sa.bindparam("v", type_=sa.Date()), sa.bindparam("a", type_=sqlmodel.sql.sqltypes.UTCDateTime())),
            {"c": candidate_id, "r": (reason or "").strip() or "—", "v": revisit, "b": added_by, "a": moved})
        done.add(candidate_id)


def downgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_column('version')
    with op.batch_alter_table('intent', schema=None) as batch_op:
        batch_op.drop_constraint('uq_intent_application_id_version', type_='unique')
        batch_op.drop_column('version')
