"""The metric facts (models.metrics): per application (the moments of its funnel steps, its last move, its latest
rejection and final decision), per interview still on (the first word to its candidate after it), per submitted
scorecard (its weighted score) and per ended stay in an active stage — built from the history with set-based
statements, kept fresh from the list of changed applications (MetricDirty, written by database triggers), and
read by the metrics (services.metrics.funnel.step_times and the others) instead of each application's history.

Who folds the list in: the worker on each pass (`refresh_job`), and any metric that reads the facts, first, when
the list is not empty (`fresh_facts`) — a write is never missed by the next read, and with the worker running the
list is short. `manage.py rebuild-metric-facts` builds every application's facts anew (`rebuild_facts`). After
migration 0020 every application is listed, so the first fold builds them all. A fold goes CHUNK applications at a
time, each chunk in a transaction of its own (`fold`), so that it never holds SQLite's write lock for long.
Nothing stored depends on the clock: what does (an interview ended by now, a plan started by today, feedback
still awaited) is decided when the facts are read.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from sqlalchemy import Float, and_, case, cast, delete, exists, func, insert, or_, select, text, tuple_
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col

from models.candidate import Application, StageChange
from models.common import ACTIVE_STAGES, Stage, utcnow
from models.evaluation import (
    Criterion,
    Decision,
    DecisionKind,
    Interview,
    InterviewPanelist,
    InterviewStatus,
    Recommendation,
    Scorecard,
    ScorecardRating,
    ScorecardStatus,
)
from models.followup import Contact, Outcome
from models.mail import MailStatus, OutboxMessage
from models.metrics import ApplicationFact, InterviewFact, MetricDirty, ScorecardFact, StayFact
from models.onboard import Offer, OfferStatus, OnboardingPlan, PlanStatus
from services.platform.db import savepoint, session_scope

CHUNK = 2_000  # applications folded in one statement (their ids bound) and, by `fold`, in one transaction
LOCK_KEY = 7_324_001  # PostgreSQL: the advisory lock that lets one fold run at a time
log = logging.getLogger("followup.metrics")


class hours_between(FunctionElement[float]):
    """SQL: the hours from `start` to `end` (two timestamps), as a float."""

    type = Float()
    inherit_cache = True
    name = "hours_between"


@compiles(hours_between)
def _hours_sqlite(element: hours_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    # julianday is a floating-point count of days; rounded to whole seconds, a duration reads as PostgreSQL's does and
    # the promise's boundary (exactly 24 h) cannot tip over by a rounding error.
    end_sql, start_sql = compiler.process(end, **kw), compiler.process(start, **kw)
    return f"(ROUND((julianday({end_sql}) - julianday({start_sql})) * 86400.0) / 3600.0)"


@compiles(hours_between, "postgresql")
def _hours_postgresql(element: hours_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"(EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)})) / 3600.0)"


def earliest(a: Any, b: Any) -> Any:
    """SQL: the earlier of two moments, either of which may be NULL (LEAST is PostgreSQL's, min(a, b) SQLite's)."""
    return case((a.is_(None), b), (b.is_(None), a), (a <= b, a), else_=b)


def _limited(query: Any, column: Any, ids: Any) -> Any:
    return query if ids is None else query.where(column.in_(ids))


def _latest(model: Any, ids: Any, name: str, *columns: Any, where: Any = None) -> Any:
    """SQL: each application's latest row of `model` (by `at`, then the last recorded), as a subquery `name` of its
    `application_id` and `columns`; only rows matching `where`, of the applications `ids` (None: all)."""
    ranked = select(
        col(model.application_id).label("application_id"),
        *columns,
        func.row_number()
        .over(partition_by=col(model.application_id), order_by=(col(model.at).desc(), col(model.id).desc()))
        .label("rn"),
    )
    if where is not None:
        ranked = ranked.where(where)
    sub = _limited(ranked, col(model.application_id), ids).subquery(f"ranked_{name}")
    return select(sub).where(sub.c.rn == 1).subquery(name)


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
    # Its last move and its latest rejection's reason (the latest, the last recorded of those at the same moment).
    last_move = _latest(
        StageChange,
        ids,
        "last_move",
        col(StageChange.from_stage).label("from_stage"),
        col(StageChange.reason).label("reason"),
        col(StageChange.at).label("at"),
    )
    rejection = _latest(
        Decision,
        ids,
        "rejection",
        col(Decision.reason_code).label("reason_code"),
        where=col(Decision.kind) == DecisionKind.reject,
    )
    final_decision = _latest(Decision, ids, "final_decision", col(Decision.kind).label("kind"), where=final)
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
            last_move.c.at.label("last_move_at"),
            last_move.c.from_stage.label("last_from_stage"),
            last_move.c.reason.label("last_reason"),
            rejection.c.reason_code.label("reject_reason"),
            final_decision.c.kind.label("final_kind"),
        )
        .select_from(Application)
        .outerjoin(interviews, interviews.c.application_id == app_id)
        .outerjoin(decisions, decisions.c.application_id == app_id)
        .outerjoin(moved, moved.c.application_id == app_id)
        .outerjoin(offers, offers.c.application_id == app_id)
        .outerjoin(plan, col(plan.application_id) == app_id)
        .outerjoin(last_move, last_move.c.application_id == app_id)
        .outerjoin(rejection, rejection.c.application_id == app_id)
        .outerjoin(final_decision, final_decision.c.application_id == app_id)
    )
    return _limited(query, app_id, ids)


def interview_facts_select(ids: Any = None) -> Any:
    """SQL: the interviews still on (status scheduled) of the applications `ids` (None: all), each with the first
    word that reached its candidate at or after its end — a contact reached or replied, a mail sent — to the
    candidate, so word about their other application counts too (as it stops the board's feedback clock). Each
    looked up in the (candidate_id, at) indexes, once per interview, when the facts are built."""
    candidate = col(Application.candidate_id)
    ends = col(Interview.ends_at)
    contact = (
        select(func.min(Contact.at))
        .where(
            col(Contact.candidate_id) == candidate,
            col(Contact.outcome).in_([Outcome.reached.value, Outcome.replied.value]),
            col(Contact.at) >= ends,
        )
        .scalar_subquery()
    )
    # The status tested on the row, not as a condition: PostgreSQL without statistics otherwise intersected the
    # candidate's mails with every sent mail (its status index).
    mail = (
        select(func.min(case((col(OutboxMessage.status) == MailStatus.sent, OutboxMessage.sent_at))))
        .where(col(OutboxMessage.candidate_id) == candidate, col(OutboxMessage.sent_at) >= ends)
        .scalar_subquery()
    )
    query = (
        select(
            col(Interview.id).label("interview_id"),
            col(Interview.application_id).label("application_id"),
            ends.label("ends_at"),
            earliest(contact, mail).label("first_word_at"),
        )
        .join(Application, col(Application.id) == Interview.application_id)
        .where(col(Interview.status) == InterviewStatus.scheduled)
    )
    words = _limited(query, col(Interview.application_id), ids).subquery("words")
    return select(words, hours_between(words.c.ends_at, words.c.first_word_at))


def card_score(scorecard_id: Any, round_id: Any, job_id: Any) -> Any:
    """SQL: the weighted score of the scorecard `scorecard_id` (columns of the enclosing query, with its interview's
    round and application's job): sum(rating × weight) / sum(weight) over its ratings of the criteria in force —
    active, of the round, the job's own set where it has one, else the round's. NULL without a rating."""
    # The (round, job) pairs with a set of their own: a few rows, read once per statement (a lookup per rating
    # instead cost SQLite twice the whole score's time).
    own = aliased(Criterion)
    overridden = select(col(own.round_id), col(own.job_id)).where(col(own.job_id).is_not(None), col(own.is_active))
    has_override = tuple_(round_id, job_id).in_(overridden)
    in_force = and_(
        col(Criterion.is_active),
        col(Criterion.round_id) == round_id,
        or_(col(Criterion.job_id) == job_id, and_(col(Criterion.job_id).is_(None), ~has_override)),
    )
    rating = cast(ScorecardRating.rating, Float)
    return (
        select(func.sum(rating * Criterion.weight) / func.sum(Criterion.weight))
        .select_from(ScorecardRating)
        .join(Criterion, col(Criterion.id) == ScorecardRating.criterion_id)
        .where(col(ScorecardRating.scorecard_id) == scorecard_id, col(ScorecardRating.rating).is_not(None), in_force)
        .scalar_subquery()
    )


YES = [Recommendation.yes.value, Recommendation.strong_yes.value]
NO = [Recommendation.no.value, Recommendation.strong_no.value]


def scorecard_facts_select(ids: Any = None) -> Any:
    """SQL: the scorecards submitted on the interviews still on of the applications `ids` (None: all), with the
    interview's end and round, the recommendation as 1 (yes), 0 (no) or NULL, and the weighted score."""
    positive = case((col(Scorecard.recommendation).in_(YES), 1), (col(Scorecard.recommendation).in_(NO), 0))
    query = (
        select(
            col(Scorecard.id),
            col(Interview.application_id),
            col(Scorecard.interview_id),
            col(Scorecard.interviewer_id),
            col(Interview.round_id),
            col(Interview.ends_at),
            positive,
            card_score(Scorecard.id, Interview.round_id, Application.job_id),
        )
        .select_from(Scorecard)
        .join(Interview, col(Interview.id) == Scorecard.interview_id)
        .join(Application, col(Application.id) == Interview.application_id)
        .where(col(Scorecard.status) == ScorecardStatus.submitted, col(Interview.status) == InterviewStatus.scheduled)
    )
    return _limited(query, col(Interview.application_id), ids)


def stay_facts_select(ids: Any = None) -> Any:
    """SQL: the stays in an active stage that have ended, of the applications `ids` (None: all): a stay runs from
    the change into the stage to the application's next change (by moment, then id). A reopened application's
    stays count each."""
    moves = _limited(
        select(
            col(StageChange.id).label("change_id"),
            col(StageChange.application_id).label("application_id"),
            col(StageChange.to_stage).label("stage"),
            col(StageChange.at).label("entered"),
            func.lead(StageChange.at)
            .over(partition_by=col(StageChange.application_id), order_by=(col(StageChange.at), col(StageChange.id)))
            .label("left_at"),
        ),
        col(StageChange.application_id),
        ids,
    ).subquery("moves")
    return select(
        moves.c.change_id,
        moves.c.application_id,
        moves.c.stage,
        moves.c.left_at,
        hours_between(moves.c.entered, moves.c.left_at),
    ).where(moves.c.stage.in_([s.value for s in ACTIVE_STAGES]), moves.c.left_at.is_not(None))


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
    "last_move_at",
    "last_from_stage",
    "last_reason",
    "reject_reason",
    "final_kind",
]


def _lock(session: Session) -> None:
    """One fold at a time: PostgreSQL waits on an advisory lock (released with the transaction); SQLite's write
    lock is taken by the savepoint (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def _write(session: Session, ids: Any) -> None:
    for model, columns, query in (
        (ApplicationFact, FACT_COLUMNS, facts_select(ids)),
        (
            InterviewFact,
            ["interview_id", "application_id", "ends_at", "first_word_at", "hours"],
            interview_facts_select(ids),
        ),
        (
            ScorecardFact,
            [
                "scorecard_id",
                "application_id",
                "interview_id",
                "interviewer_id",
                "round_id",
                "ends_at",
                "positive",
                "score",
            ],
            scorecard_facts_select(ids),
        ),
        (StayFact, ["change_id", "application_id", "stage", "left_at", "hours"], stay_facts_select(ids)),
    ):
        table = model.__table__  # type: ignore[union-attr]
        session.execute(delete(table) if ids is None else delete(table).where(table.c.application_id.in_(ids)))
        session.execute(insert(table).from_select(columns, query))


def _listed(session: Session, full: bool) -> tuple[list[int], int | None]:
    """The applications listed (every application with `full`) and the list's last row id, to fold up to."""
    dirty = MetricDirty.__table__  # type: ignore[attr-defined]
    last = session.execute(select(func.max(dirty.c.id))).scalar()
    if full:
        ids = session.execute(select(col(Application.id)).order_by(col(Application.id))).scalars().all()
    elif last is None:
        return [], None
    else:
        listed = select(dirty.c.application_id).where(dirty.c.id <= last).distinct()
        ids = sorted(session.execute(listed).scalars().all())
    return list(ids), last


def _fold_chunk(session: Session, ids: list[int], last: int | None) -> None:
    """The facts of the applications `ids` built anew, and their listing up to row `last` removed."""
    dirty = MetricDirty.__table__  # type: ignore[attr-defined]
    _write(session, ids)
    if last is not None:
        session.execute(delete(dirty).where(dirty.c.id <= last, dirty.c.application_id.in_(ids)))


def _drop_orphans(session: Session) -> None:
    """The facts of applications that are no more (a full rebuild: no listing tells of them)."""
    for model in (ApplicationFact, InterviewFact, ScorecardFact, StayFact):
        table = model.__table__  # type: ignore[union-attr]
        session.execute(delete(table).where(table.c.application_id.not_in(select(col(Application.id)))))


def refresh_facts(session: Session, *, full: bool = False) -> int:
    """Fold the listed applications' changes into their facts (every application's with `full`), in the caller's
    transaction; returns how many applications were folded. Writes only derived rows; flushes, never commits.
    (The worker, the rebuild command and a read use `fold`: a transaction of their own per CHUNK applications.)"""
    dirty = MetricDirty.__table__  # type: ignore[attr-defined]
    if not full and session.execute(select(dirty.c.id).limit(1)).first() is None:
        return 0
    with savepoint(session):
        _lock(session)
        ids, last = _listed(session, full)
        if full:
            _drop_orphans(session)
        for start in range(0, len(ids), CHUNK):
            _fold_chunk(session, ids[start : start + CHUNK], last)
    return len(ids)


def fold(engine: Engine, *, full: bool = False) -> int:
    """Fold the listed applications' changes into their facts (every application's with `full`), CHUNK
    applications to a transaction of their own, each committed at once: a fold of every application (after
    migration 0020, or by the rebuild command) never holds SQLite's write lock for long. Returns how many
    applications were folded."""
    dirty = MetricDirty.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        if not full and session.execute(select(dirty.c.id).limit(1)).first() is None:
            return 0
        ids, last = _listed(session, full)
    if full:
        with session_scope(engine) as session, savepoint(session):
            _lock(session)
            _drop_orphans(session)
    for start in range(0, len(ids), CHUNK):
        with session_scope(engine) as session, savepoint(session):
            _lock(session)
            _fold_chunk(session, ids[start : start + CHUNK], last)
    return len(ids)


def rebuild_facts(engine: Engine) -> int:
    """Every application's facts built anew (manage.py rebuild-metric-facts); returns how many applications."""
    return fold(engine, full=True)


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
    fold(session.get_bind())  # type: ignore[arg-type]


def refresh_job(*, engine: Engine, **_kw: Any) -> int:
    """The worker's pass: the listed changes folded in, in a unit of work of their own."""
    started = time.perf_counter()
    count = fold(engine)
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
