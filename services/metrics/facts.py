"""The applications' facts (models.metrics.ApplicationFact): built from the history in a few set-based statements,
kept fresh from the list of changed applications (MetricDirty, written by database triggers), and read back as the
funnel's step moments (services.metrics.funnel.step_times).

Who folds the list in: the worker on each pass (`refresh_facts`), and any metric that reads the facts, first, when
the list is not empty (`fresh_facts`) — a write is never missed by the next read, and with the worker running the
list is short. `manage.py rebuild-metric-facts` builds every application's facts anew (`rebuild_facts`); a fold of
more than FULL_REBUILD_AT applications does the same (after migration 0020, every application is listed).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, insert, or_, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from models.candidate import Application, StageChange
from models.common import ACTIVE_STAGES, Stage, utcnow
from models.evaluation import (
    Decision,
    DecisionKind,
    Interview,
    InterviewPanelist,
    InterviewStatus,
    Scorecard,
    ScorecardStatus,
)
from models.metrics import ApplicationFact, MetricDirty
from models.onboard import Offer, OfferStatus, OnboardingPlan, PlanStatus
from services.platform.db import savepoint, session_scope

FULL_REBUILD_AT = 20_000  # listed applications beyond which every application's facts are built anew
LOCK_KEY = 7_324_001  # PostgreSQL: the advisory lock that lets one fold run at a time
log = logging.getLogger("followup.metrics")


def earliest(a: Any, b: Any) -> Any:
    """SQL: the earlier of two moments, either of which may be NULL (LEAST is PostgreSQL's, min(a, b) SQLite's)."""
    return case((a.is_(None), b), (b.is_(None), a), (a <= b, a), else_=b)


def _limited(query: Any, column: Any, ids: Any) -> Any:
    return query if ids is None else query.where(column.in_(ids))


def facts_select(ids: Any = None) -> Any:
    """SQL: the facts of the applications `ids` (a select of application ids; None: every application), one row each,
    in ApplicationFact's columns. Each kind of history is grouped by application once (set-based, no lookups per
    application)."""
    submitted = col(Scorecard.status) == ScorecardStatus.submitted
    last_card = (
        select(func.max(Scorecard.submitted_at))
        .where(col(Scorecard.interview_id) == Interview.id, submitted)
        .scalar_subquery()
    )
    card_in = (
        select(col(Scorecard.id))
        .where(
            col(Scorecard.interview_id) == InterviewPanelist.interview_id,
            col(Scorecard.interviewer_id) == InterviewPanelist.user_id,
            submitted,
        )
        .exists()
    )
    owed = exists().where(col(InterviewPanelist.interview_id) == Interview.id, ~card_in)
    on = _limited(
        select(
            col(Interview.application_id).label("application_id"),
            col(Interview.ends_at).label("ends_at"),
            last_card.label("last_card"),
            case((owed, 1), else_=0).label("owed"),
        ).where(col(Interview.status) == InterviewStatus.scheduled),
        col(Interview.application_id),
        ids,
    ).subquery("on_interviews")
    interviews = (
        select(
            on.c.application_id,
            func.min(on.c.ends_at).label("first_end"),
            func.min(case((on.c.owed == 1, on.c.ends_at))).label("owed_end"),
            func.max(case((on.c.last_card.is_not(None), on.c.ends_at))).label("carded_end"),
            func.max(on.c.last_card).label("last_card"),
        )
        .group_by(on.c.application_id)
        .subquery("interview_facts")
    )
    final = col(Decision.kind).in_([DecisionKind.offer.value, DecisionKind.reject.value])
    decisions = _limited(
        select(col(Decision.application_id).label("application_id"), func.min(Decision.at).label("decided")).where(
            final
        ),
        col(Decision.application_id),
        ids,
    )
    decisions = decisions.group_by(col(Decision.application_id)).subquery("decision_facts")
    pipeline = [Stage.interviewing.value, Stage.decision_pending.value]
    to_stage, from_stage = col(StageChange.to_stage), col(StageChange.from_stage)
    moved = (
        _limited(
            select(
                col(StageChange.application_id).label("application_id"),
                func.min(
                    case(
                        (
                            and_(to_stage.in_([Stage.offer.value, Stage.rejected.value]), from_stage.in_(pipeline)),
                            StageChange.at,
                        )
                    )
                ).label("decided"),
                func.min(case((to_stage == Stage.hired.value, StageChange.at))).label("hired"),
                func.min(case((to_stage == Stage.probation_passed.value, StageChange.at))).label("passed"),
            ).where(
                to_stage.in_([Stage.offer.value, Stage.rejected.value, Stage.hired.value, Stage.probation_passed.value])
            ),
            col(StageChange.application_id),
            ids,
        )
        .group_by(col(StageChange.application_id))
        .subquery("move_facts")
    )
    offers = (
        _limited(
            select(
                col(Offer.application_id).label("application_id"),
                func.min(Offer.sent_at).label("sent"),
                func.min(case((col(Offer.status) == OfferStatus.accepted, Offer.answered_at))).label("accepted"),
            ),
            col(Offer.application_id),
            ids,
        )
        .group_by(col(Offer.application_id))
        .subquery("offer_facts")
    )
    plan = OnboardingPlan
    app_id = col(Application.id)
    query = (
        select(
            app_id.label("application_id"),
            interviews.c.first_end,
            interviews.c.owed_end,
            interviews.c.carded_end,
            interviews.c.last_card,
            earliest(decisions.c.decided, moved.c.decided).label("decision_at"),
            offers.c.sent.label("offer_at"),
            earliest(offers.c.accepted, moved.c.hired).label("accepted_at"),
            case((col(plan.status) != PlanStatus.cancelled, plan.start_date)).label("plan_start"),
            earliest(case((col(plan.status) == PlanStatus.passed, plan.outcome_at)), moved.c.passed).label("passed_at"),
        )
        .select_from(Application)
        .outerjoin(interviews, interviews.c.application_id == app_id)
        .outerjoin(decisions, decisions.c.application_id == app_id)
        .outerjoin(moved, moved.c.application_id == app_id)
        .outerjoin(offers, offers.c.application_id == app_id)
        .outerjoin(plan, col(plan.application_id) == app_id)
    )
    return _limited(query, app_id, ids)


FACT_COLUMNS = [
    "application_id",
    "first_end",
    "owed_end",
    "carded_end",
    "last_card",
    "decision_at",
    "offer_at",
    "accepted_at",
    "plan_start",
    "passed_at",
]


def _lock(session: Session) -> None:
    """One fold at a time: PostgreSQL waits on an advisory lock (released with the transaction); SQLite's write
    lock is taken by the savepoint (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def _write(session: Session, ids: Any) -> None:
    table = ApplicationFact.__table__  # type: ignore[attr-defined]
    session.execute(delete(table) if ids is None else delete(table).where(table.c.application_id.in_(ids)))
    session.execute(insert(table).from_select(FACT_COLUMNS, facts_select(ids)))


def refresh_facts(session: Session, *, full: bool = False) -> int:
    """Fold the listed applications' changes into their facts (every application's with `full`, or when more than
    FULL_REBUILD_AT are listed); returns how many applications were listed (with `full`: how many there are).
    Writes only derived rows; flushes, never commits."""
    dirty = MetricDirty.__table__  # type: ignore[attr-defined]
    if not full and session.execute(select(dirty.c.id).limit(1)).first() is None:
        return 0
    with savepoint(session):
        _lock(session)
        last = session.execute(select(func.max(dirty.c.id))).scalar()
        listed = select(dirty.c.application_id).where(dirty.c.id <= last) if last is not None else None
        if listed is None and not full:
            return 0
        count = 0
        if not full and listed is not None:
            count = int(
                session.execute(select(func.count(listed.distinct().subquery().c.application_id))).scalar() or 0
            )
            full = count > FULL_REBUILD_AT
        if full:
            count = int(session.execute(select(func.count(col(Application.id)))).scalar() or 0)
            _write(session, None)
        else:
            _write(session, listed.distinct())  # type: ignore[union-attr]
        if last is not None:
            session.execute(delete(dirty).where(dirty.c.id <= last))
    return count


def rebuild_facts(session: Session) -> int:
    """Every application's facts built anew (manage.py rebuild-metric-facts); returns how many applications."""
    return refresh_facts(session, full=True)


def _holds_writes(session: Session) -> bool:
    """Whether the session's transaction has written something (SQLite: Python's sqlite3 begins one only before a
    write; PostgreSQL: a transaction id is assigned at the first write)."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        return bool(conn.connection.dbapi_connection.in_transaction)  # type: ignore[union-attr]
    if conn.dialect.name == "postgresql":
        return session.execute(text("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")).scalar() is True
    return True


def fresh_facts(session: Session) -> None:
    """Before a metric reads the facts: the changes listed since the last fold folded in (nothing to do, one
    indexed read, when the worker keeps up). In a transaction of its own, committed at once, so that a reader
    holds no write lock while it computes; in the reader's own only when that has written already (its changes
    are seen, and a second writer would wait for it)."""
    dirty = MetricDirty.__table__  # type: ignore[attr-defined]
    if session.execute(select(dirty.c.id).limit(1)).first() is None:
        return
    if _holds_writes(session):
        refresh_facts(session)
        return
    with session_scope(session.get_bind()) as own:  # type: ignore[arg-type]
        refresh_facts(own)


def refresh_job(*, engine: Engine, **_kw: Any) -> int:
    """The worker's pass: the listed changes folded in, in a unit of work of their own."""
    started = time.perf_counter()
    with session_scope(engine) as session:
        count = refresh_facts(session)
    if count:
        log.info("metric facts: %d applications folded in %.2f s", count, time.perf_counter() - started)
    return count


def step_moments(apps: Any, now: datetime | None = None) -> Any:
    """SQL: one row per application of `apps` (a CTE with application_id, created_at and stage) with the moment it
    reached each step (NULL where it has not), `started_on` (the start date of a started plan) and `is_open` — the
    facts, with what depends on the clock decided now."""
    from services.metrics.filters import local_today

    now = now or utcnow()
    today = local_today(now)
    fact = ApplicationFact.__table__  # type: ignore[attr-defined]
    f = fact.c
    app_id = apps.c.application_id
    interviewed = case((f.first_end <= now, f.first_end))
    # Its last card of the held interviews: stored, unless an interview not yet ended already has a card (then the
    # held ones' are looked up, for that application only).
    held = and_(col(Interview.status) == InterviewStatus.scheduled, col(Interview.ends_at) <= now)
    interview_last_card = (
        select(func.max(Scorecard.submitted_at))
        .where(col(Scorecard.interview_id) == Interview.id, col(Scorecard.status) == ScorecardStatus.submitted)
        .scalar_subquery()
    )
    held_last_card = (
        select(func.max(interview_last_card)).where(col(Interview.application_id) == app_id, held).scalar_subquery()
    )
    last_card = case((f.carded_end > now, held_last_card), else_=f.last_card)
    not_owed = or_(f.owed_end.is_(None), f.owed_end > now)
    evaluated = case((and_(interviewed.is_not(None), not_owed), last_card))
    return (
        select(
            app_id,
            apps.c.created_at.label("applied_at"),
            interviewed.label("interviewed_at"),
            evaluated.label("evaluated_at"),
            f.decision_at,
            f.offer_at,
            f.accepted_at,
            case((f.plan_start <= today, f.plan_start)).label("started_on"),
            f.passed_at,
            case((col(apps.c.stage).in_([s.value for s in ACTIVE_STAGES]), 1), else_=0).label("is_open"),
        )
        .select_from(apps)
        .outerjoin(fact, f.application_id == app_id)
        .cte("steps")
    )
