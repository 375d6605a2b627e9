"""Follow up with candidates: the 24-hour feedback clock, contact log, intent and competing offers, risk,
mail from templates, the experience survey and the talent pool.

The clock: an interview that has ended starts it; only word that reached the candidate after that moment
stops it — a contact with outcome reached or replied, or a mail that was actually sent. Nothing is stored
for the clock itself: it is computed from the interviews, contacts and outbox, so it cannot drift from what
really happened.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, case, cast, func, literal, not_, null, or_, union_all, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.common import Stage, tag_list, utcnow
from models.evaluation import Interview, InterviewStatus
from models.followup import (
    Contact,
    ContactIn,
    Intent,
    IntentIn,
    Outcome,
    PoolEntry,
    PoolEntryIn,
    SurveyAnswerIn,
    SurveyInvite,
    SurveyResponse,
)
from models.job import Job
from models.mail import MailStatus, OutboxMessage
from models.privacy import ConsentPurpose
from models.user import User
from services.follow_up import followup_state
from services.mail.outbox import heard_update, queue_template, team_signature
from services.pipeline.candidates import load_application, text_matches
from services.platform import audit
from services.platform.config import get_settings
from services.platform.db import savepoint
from services.platform.errors import Conflict, DomainError, NotAllowed, NotFound, ValidationError, validate
from services.platform.lists import among, of
from services.platform.policy import (
    Cap,
    board_owner,
    can_follow_up,
    everywhere,
    managed_by,
    not_erased,
    owned_by,
    require_cap,
    require_current_cap,
)
from services.privacy.consent import consent_refused, refuse_if_withdrawn

ACTIVE = (Stage.interviewing, Stage.decision_pending, Stage.offer)
# Only word that reached the candidate stops the feedback clock (see `heard_since`).
STOPPING_OUTCOMES = (Outcome.reached, Outcome.replied)
BOARD_PAGE = 100  # the board lists this many running clocks, and this many others, at a time (a screenful each)
MIN_GROUP = 5  # survey results of a group are shown from this many answers up
TEMPLATES = ("thank_you", "next_round", "rejection", "survey_invite", "reengage")


class SurveyLinkInvalid(DomainError):
    """Wrong, used or expired: one message for all, so a link reveals nothing."""

    key = "survey.link_invalid"


# --------------------------------------------------------------------------- the clock and the board
def heard_since(when: Any, heard_at: Any = None) -> Any:
    """SQL: the candidate has heard from us at or after `when` — a contact whose outcome reached them (reached,
    replied) or a mail that actually went out. A call with no answer, a message left, or a mail still drafted,
    held, queued or failed does not count: the candidate may have heard nothing.

    The one definition of what stops the feedback clock, for the board, My tasks and the reminder rule. It reads
    `candidate.heard_at` (or the column given, from a derived table), which `log_contact` and the mail worker
    move forward as word reaches the person (`mail.heard_update`)."""
    heard_at = Candidate.heard_at if heard_at is None else heard_at
    return and_(heard_at.is_not(None), heard_at >= when)


def newest_contact() -> Any:
    """SQL: the Contact of the enclosing query is its candidate's newest — whose next-contact date is the one
    that stands. A test per contact: one lookup in the (candidate_id, id) index. A scalar subquery, not NOT
    EXISTS, which PostgreSQL without statistics planned as an anti-join over every contact (32 s at 100k)."""
    same = aliased(Contact)
    return (
        Contact.id
        == select(func.max(same.id))
        .where(same.candidate_id == Contact.candidate_id)
        .correlate(Contact)
        .scalar_subquery()
    )


def last_interview_end(now: datetime | ColumnElement[datetime]) -> Any:
    """SQL: when the application's last held interview ended (up to `now`), or NULL. The application keeps its
    last interview's end (`last_interview_end`); where that is still to come, the held one's (`held_interview_end`)."""
    stored = col(Application.last_interview_end)
    return case((stored <= now, stored), (stored > now, held_interview_end(now)), else_=None)


def held_interview_end(now: datetime | ColumnElement[datetime]) -> Any:
    """SQL: when the application's last interview still on that has ended (up to `now`) ended — for one whose last
    interview is still to come: the one before it (`previous_interview_end`, kept) where that has ended; only
    where it too is still to come (two or more booked ahead) are the application's interviews looked up."""
    previous = col(Application.previous_interview_end)
    looked_up = (
        select(func.max(Interview.ends_at))
        .where(
            Interview.application_id == Application.id,
            Interview.status == InterviewStatus.scheduled,
            col(Interview.ends_at) <= now,
        )
        .correlate(Application)
        .scalar_subquery()
    )
    return case((previous <= now, previous), (previous > now, looked_up), else_=None)


def held_clock_runs(now: Any, ended: Any, previous: Any, previous_unheard: Any, heard_at: Any) -> Any:
    """SQL: the feedback clock runs, for an application whose last interview is still to come — `ended` its
    held end (`held_interview_end`), `previous` and `previous_unheard` its kept `previous_interview_end` and
    `previous_end_unheard`: from the interview before the last while that is kept unheard; only where that too is
    still to come (and `ended` was looked up) is the candidate asked whether they heard since (`heard_at`)."""
    return or_(previous_unheard <= now, and_(previous > now, clock_runs(ended, heard_at)))


def clock_runs(ended: Any, heard_at: Any = None) -> Any:
    """SQL: the feedback clock runs — an interview ended (`ended`, the last one's end) and the candidate has not
    heard from us since (`heard_since`). Board, My tasks and the reminder rule all test this."""
    return and_(ended.is_not(None), not_(heard_since(ended, heard_at)))


def clock_running(now: datetime) -> tuple[Any, Any]:
    """SQL (last interview end, the clock runs) of the application in the enclosing query."""
    ended = last_interview_end(now)
    return ended, clock_runs(ended)


# The board's columns, in the order they are shown and sorted (their labels are the texts "fu_state.<state>").
BOARD_STATES = ("awaiting_feedback", "at_risk", "awaiting_reply", "in_touch", "decided")


@dataclass
class BoardRow:
    application_id: int
    candidate_id: int
    candidate: str
    job: str
    stage: str
    owner: str
    interview_ended: datetime | None
    deadline: datetime | None
    clock_running: bool
    last_contact: datetime | None
    last_outcome: str | None
    next_contact_at: datetime | None
    interest: int | None
    risks: list[str] = field(default_factory=list)
    state: str = "in_touch"  # one of BOARD_STATES
    # The candidate's newest mail has not reached them: "held" (no mail server), "retrying" or "failed".
    mail_problem: str | None = None

    def time_left(self, now: datetime) -> timedelta | None:
        return None if self.deadline is None else self.deadline - now


def _offer_deadlines(intent: Intent | None) -> list[date]:
    return _deadlines_in(intent.offers) if intent else []


def _deadlines_in(offers: str) -> list[date]:
    """The deadlines of an intent's competing offers (its `offers` JSON)."""
    return [date.fromisoformat(o["deadline"]) for o in json.loads(offers or "[]") if o.get("deadline")]


def _risks(
    interest: int | None,
    offer_deadlines: list[date],
    next_contact: datetime | None,
    last_contact: datetime | None,
    now: datetime,
) -> list[str]:
    settings = get_settings()
    return followup_state.risks(
        interest=interest,
        offer_deadlines=offer_deadlines,
        next_contact=next_contact,
        last_contact=last_contact,
        now=now,
        tz=settings.tz,
        offer_risk_days=settings.offer_risk_days,
    )


def _board_clocks(
    session: Session,
    actor: User,
    now: datetime,
    owner_id: int | None,
    offset: int,
    limit: int,
    focus: tuple[int | None, int | None] = (None, None),
    running_offset: int = 0,
) -> tuple[list[tuple[int, Any, bool]], tuple[int, int], tuple[int, Any, bool] | None]:
    """(application id, last interview end, clock runs) for the board's rows: one page of the applications whose
    clock runs, most overdue first (`running_offset`, `limit`), then one page of the others, most recently
    changed first (`offset`, `limit`); how many there are of each; and the row of the application (or candidate)
    in `focus` wherever it is on the board. One statement, reading only what it shows and counts:

    - where the last interview has passed, the clock runs while the application keeps that end as unheard
      (`last_end_unheard`): the running ones of each stage are a range of the index on it, read in order up to
      the page's end, and counted from it;
    - where the last interview is still to come (a few thousand at 100k candidates), the held one's end
      (`held_interview_end`) and whether the candidate heard since — both kept with the interview before the
      last (`previous_interview_end`, `previous_end_unheard`) unless that too is still to come — are worked out
      once, in a materialised CTE;
    - the others of each stage are read in the order of their last change from that index, up to the page's
      end, leaving out the running ones; all applications are counted from an index alone.

    Every open application run through one CTE (with a window, then an aggregate) cost PostgreSQL 30-40 ms at
    100k candidates."""
    owner = board_owner(actor, owner_id)
    focus_app, focus_candidate = focus
    statement = _board_statement(owner is not None, "app" if focus_app else "candidate" if focus_candidate else "")
    running_skip, skip, size = max(running_offset, 0), max(offset, 0), max(limit, 0)
    rows = session.execute(
        statement,
        {
            "now": now,
            "owner": owner,
            "focus": focus_app or focus_candidate,
            "size": size,
            "running_skip": running_skip,
            "running_end": running_skip + size,
            "skip": skip,
            "end": skip + size,
        },
    ).all()
    # The counting row is the one without an id: the running clocks (`runs`), all of them (`part`).
    running_total, total = next((int(r[3]), int(r[4])) for r in rows if r[0] is None)
    listed = [r for r in rows if r[0] is not None]
    # Running clocks, then the page of others, each in its order; a candidate's focus prefers a running clock.
    shown = sorted((r for r in listed if r[4] == 0), key=lambda r: (r[1], r[0])) + sorted(
        (r for r in listed if r[4] == 1), key=lambda r: (r[2], r[0]), reverse=True
    )
    focused = min(((r[0], r[1], bool(r[3])) for r in listed if r[4] < 0), key=lambda r: not r[2], default=None)
    return [(a, end, bool(clock)) for a, end, _, clock, _ in shown], (running_total, total - running_total), focused


@lru_cache(maxsize=8)
def _board_statement(owned: bool, focus: str) -> Any:
    """The statement of `_board_clocks`, built once per shape — one owner's or everyone's, a focus on an
    application, on a candidate or none — with its values as parameters (now, owner, focus, the pages' bounds):
    building its expressions again on each render cost more than the database's work (5-10 ms)."""
    now = bindparam("now", type_=col(Application.last_interview_end).type)  # type: ignore[attr-defined]
    stored, unheard = col(Application.last_interview_end), col(Application.last_end_unheard)
    changed, app_id = col(Application.stage_changed_at), col(Application.id)
    scoped = owned_by(bindparam("owner", type_=Integer)) if owned else not_erased(Application.candidate_id)

    def bound(name: str) -> Any:
        return bindparam(name, type_=Integer)

    def of_stage(stage: Stage | None, *columns: Any) -> Any:
        where = col(Application.stage).in_(ACTIVE) if stage is None else Application.stage == stage
        return select(*columns).select_from(Application).where(where, scoped)

    def arm(query: Any) -> Any:  # a page-sized subquery in a UNION (SQLite takes no ORDER BY in a bare arm)
        sub = query.subquery()
        return select(*sub.c)

    previous = col(Application.previous_interview_end)
    upcoming = (
        of_stage(
            None,
            app_id.label("id"),
            Application.candidate_id,
            changed.label("stage_changed_at"),
            held_interview_end(now).label("ended"),
            previous.label("previous"),
            col(Application.previous_end_unheard).label("unheard"),
        )
        .where(stored > now)
        .cte("board_upcoming")
        .prefix_with("MATERIALIZED")
    )
    u = upcoming.c
    b_runs = case(
        (
            held_clock_runs(
                now, u.ended, u.previous, u.unheard, of(Candidate.heard_at, Candidate.id == u.candidate_id)
            ),
            1,
        ),
        else_=0,
    )
    b_rows = (
        select(u.id, u.ended, u.stage_changed_at, b_runs.label("runs"))
        .cte("board_upcoming_runs")
        .prefix_with("MATERIALIZED")
    )
    b_running = b_rows.c.runs == 1
    running_ids = select(b_rows.c.id).where(b_running)

    def page(part: int, arms: list[Any], order: tuple[Any, ...], skip: str) -> Any:
        merged = union_all(*arms).subquery()
        m = merged.c
        return arm(
            select(
                m.id,
                m.ended,
                m.stage_changed_at,
                literal(1 - part).label("runs"),  # type: ignore[call-overload]
                literal(part).label("part"),
            )
            .order_by(*(o(m) for o in order))
            .offset(bound(skip))
            .limit(bound("size"))
        )

    passed = unheard <= now
    running = page(
        0,
        [
            arm(
                of_stage(stage, app_id.label("id"), unheard.label("ended"), changed.label("stage_changed_at"))
                .where(passed)
                .order_by(unheard, app_id)
                .limit(bound("running_end"))
            )
            for stage in ACTIVE
        ]
        + [select(b_rows.c.id, b_rows.c.ended, b_rows.c.stage_changed_at).where(b_running)],
        (lambda m: m.ended, lambda m: m.id),
        "running_skip",
    )
    others = page(
        1,
        [
            arm(
                of_stage(
                    stage, app_id.label("id"), last_interview_end(now).label("ended"), changed.label("stage_changed_at")
                )
                .where(or_(unheard.is_(None), unheard > now), app_id.not_in(running_ids))
                .order_by(changed.desc(), app_id.desc())
                .limit(bound("end"))
            )
            for stage in ACTIVE
        ],
        (lambda m: m.stage_changed_at.desc(), lambda m: m.id.desc()),
        "skip",
    )
    passed_running = of_stage(None, func.count()).where(passed).scalar_subquery()
    held_running = select(func.coalesce(func.sum(b_rows.c.runs), 0)).scalar_subquery()
    counts = select(
        cast(null(), Integer).label("id"),  # type: ignore[call-overload]  # sqlmodel: 4 columns at most
        cast(null(), stored.type).label("ended"),  # type: ignore[attr-defined]  # (the column's type)
        cast(null(), changed.type).label("stage_changed_at"),  # type: ignore[attr-defined]
        (passed_running + held_running).label("runs"),
        of_stage(None, func.count()).scalar_subquery().label("part"),
    )
    arms = [running, others, counts]
    if focus:
        ended = last_interview_end(now)
        runs = clock_runs(ended, of(Candidate.heard_at, Candidate.id == Application.candidate_id))
        wanted = (app_id if focus == "app" else col(Application.candidate_id)) == bound("focus")
        arms.append(
            of_stage(
                None,
                app_id.label("id"),
                ended.label("ended"),
                changed.label("stage_changed_at"),
                case((runs, 1), else_=0).label("runs"),
                case((runs, -2), else_=-1).label("part"),
            ).where(wanted)
        )
    return select(*union_all(*arms).subquery().c)


def _board_rows(session: Session, app_ids: list[int]) -> dict[int, tuple[Any, ...]]:
    """The board's columns for the given applications only: (application, candidate, name, job, stage, owner,
    last contact's time, newest contact's outcome and next-contact date, newest intent's interest and offers,
    newest mail's problem). Each "newest" is one lookup in an index that holds it in order (candidate, id)."""

    def newest(column: Any, where: Any, order: Any) -> Any:
        return select(column).where(where).order_by(order.desc()).limit(1).scalar_subquery()

    last_contact = select(func.max(Contact.at)).where(Contact.candidate_id == Candidate.id).scalar_subquery()
    of_contact = Contact.candidate_id == Candidate.id
    of_intent = Intent.application_id == Application.id
    mail_problem = case(
        (col(OutboxMessage.status) == MailStatus.held, "held"),
        (col(OutboxMessage.status) == MailStatus.failed, "failed"),
        (and_(col(OutboxMessage.status) == MailStatus.queued, col(OutboxMessage.attempts) > 0), "retrying"),
        else_=None,
    )
    of_mail = and_(
        col(OutboxMessage.candidate_id) == Candidate.id,
        col(OutboxMessage.status).not_in([MailStatus.draft, MailStatus.cancelled]),
    )
    owner = aliased(User)
    rows: dict[int, tuple[Any, ...]] = {}
    for chunk in range(0, len(app_ids), CHUNK):
        query = (
            select(
                Application.id,
                Candidate.id,
                Candidate.name,
                Job.title,
                Application.stage,
                owner.name,  # type: ignore[call-overload]
                last_contact,
                newest(Contact.outcome, of_contact, Contact.id),
                newest(Contact.next_contact_at, of_contact, Contact.id),
                newest(Intent.interest, of_intent, Intent.version),
                newest(Intent.offers, of_intent, Intent.version),
                newest(mail_problem, of_mail, OutboxMessage.id),
            )
            .join(Candidate, col(Candidate.id) == Application.candidate_id)
            .join(Job, col(Job.id) == Application.job_id)
            .join(owner, col(owner.id) == Candidate.owner_id, isouter=True)
            .where(among(session, app_ids[chunk : chunk + CHUNK])(Application.id))
        )
        rows.update((r[0], tuple(r)) for r in session.exec(query))
    return rows


CHUNK = 2000  # ids per IN list: well within SQLite's and PostgreSQL's limits on bound parameters


class Board(list[BoardRow]):
    """The board's rows; how many applications there are in all whose clock runs (`running`) and without a
    running clock (`others`) — each listed a page at a time —; and the row a link asked for (`focus`), found
    wherever it is on the board, on this page or not (None: not on the board)."""

    def __init__(self, rows: list[BoardRow], *, running: int, others: int, focus: BoardRow | None = None) -> None:
        super().__init__(rows)
        self.running = running
        self.others = others
        self.focus = focus


def follow_up_board(
    *,
    session: Session,
    actor: User,
    now: datetime | None = None,
    owner_id: int | None = None,
    offset: int = 0,
    limit: int = BOARD_PAGE,
    focus_application: int | None = None,
    focus_candidate: int | None = None,
    running_offset: int = 0,
) -> Board:
    """The open applications (of the owner's candidates, or all for an admin) with their follow-up state.

    The applications whose feedback clock runs come first, most overdue first, a page at a time
    (`running_offset`, `limit`); the others follow, a page at a time of their own (`offset`, `limit`), most
    recently changed first — so a backlog of overdue feedback never pushes the candidates at risk off the first
    page. The result's `running` and `others` say how many there are of each. The clocks are computed in the
    database in one light pass; the board's other columns only for the rows shown."""
    require_cap(actor, Cap.follow_up)
    now = now or utcnow()
    settings = get_settings()
    shown, (running, others), focused = _board_clocks(
        session, actor, now, owner_id, offset, limit, (focus_application, focus_candidate), running_offset
    )
    clocks = shown + ([focused] if focused is not None else [])
    details = _board_rows(session, list({c[0] for c in clocks}))

    def board_row(app_id: int, ended_at: datetime | None, is_running: bool) -> BoardRow | None:
        if app_id not in details:
            return None
        (_, cand_id, name, title, stage, owner_name, contacted, outcome, next_at, interest, offers, mail_problem) = (
            details[app_id]
        )
        risks = _risks(interest, _deadlines_in(offers or "[]"), next_at, contacted, now)
        return BoardRow(
            application_id=app_id,
            candidate_id=cand_id,
            candidate=name,
            job=title,
            stage=stage,
            owner=owner_name or "",
            interview_ended=ended_at,
            deadline=followup_state.feedback_deadline(ended_at, is_running, settings.feedback_hours),
            clock_running=is_running,
            last_contact=contacted,
            last_outcome=outcome,
            next_contact_at=next_at,
            interest=interest,
            mail_problem=mail_problem,
            risks=risks,
            state=followup_state.board_state(stage=stage, clock_running=is_running, risks=risks, last_outcome=outcome),
        )

    board = [row for row in (board_row(*c) for c in shown) if row is not None]
    focus = board_row(*focused) if focused is not None else None
    board.sort(key=lambda r: followup_state.board_order(r.state, r.deadline, now))
    return Board(board, running=running, others=others, focus=focus)


def board_counts(
    *, session: Session, actor: User, now: datetime | None = None, owner_id: int | None = None
) -> tuple[int, int]:
    """How many of the board's applications have a running clock, and how many do not."""
    require_cap(actor, Cap.follow_up)
    return _board_clocks(session, actor, now or utcnow(), owner_id, 0, 0)[1]


# --------------------------------------------------------------------------- contacts and intent
def log_contact(*, session: Session, actor: User, contact_in: dict[str, Any]) -> Contact:
    """Record a contact with a candidate (stops a running feedback clock); a next-contact date becomes a task."""
    actor = require_current_cap(session, actor, Cap.follow_application)
    data = validate(ContactIn, contact_in)
    candidate = session.get(Candidate, data.candidate_id)
    if candidate is None or candidate.anonymised_at:
        raise NotFound()
    if data.application_id is not None:
        app, _, job = load_application(session, data.application_id)
        if app.candidate_id != candidate.id:
            raise ValidationError.single("application_id", "err.invalid")
        if not can_follow_up(actor, job):
            raise NotAllowed()
    elif not everywhere(actor, Cap.follow_application):
        raise NotAllowed()
    now = utcnow()
    if data.next_contact_at is not None:
        if data.next_contact_at.tzinfo is None:
            raise ValidationError.single("next_contact_at", "err.timezone_required")
        if data.next_contact_at <= now:
            raise ValidationError.single("next_contact_at", "err.next_contact_past")
        if data.next_contact_at > now + timedelta(days=366):
            raise ValidationError.single("next_contact_at", "err.out_of_range")
    contact = Contact(**data.model_dump(), at=now, by_user_id=actor.id or 0)
    session.add(contact)
    session.flush()
    if data.outcome in STOPPING_OUTCOMES:
        for statement in heard_update(candidate.id, now):
            session.exec(statement)
    audit.record(
        session=session,
        actor=actor,
        entity="candidate",
        entity_id=candidate.id or 0,
        action="contact",
        changes={"channel": data.channel.value, "outcome": data.outcome.value},
    )
    session.flush()
    return contact


def _managed_applications(session: Session, actor: User, candidate_id: int) -> Select[Any]:
    """The candidate's applications to jobs `actor` manages, as a subquery; NotAllowed when there is none."""
    theirs = (
        select(Application.id)
        .join(Job, col(Job.id) == Application.job_id)
        .where(Application.candidate_id == candidate_id, managed_by(actor))
    )
    if session.exec(theirs.limit(1)).first() is None:
        raise NotAllowed()
    return theirs


def list_contacts(*, session: Session, actor: User, candidate_id: int, limit: int = 100) -> list[tuple[Contact, str]]:
    """A candidate's contact log, newest first, with who logged each; a hiring manager gets only the contacts
    about applications to the jobs they manage, and none for a candidate of other jobs."""
    actor = require_current_cap(session, actor, Cap.follow_application)
    query = (
        select(Contact, User.name)
        .join(User, col(User.id) == Contact.by_user_id)
        .where(Contact.candidate_id == candidate_id)
    )
    if not everywhere(actor, Cap.follow_application):
        query = query.where(col(Contact.application_id).in_(_managed_applications(session, actor, candidate_id)))
    return list(session.exec(query.order_by(col(Contact.at).desc(), col(Contact.id).desc()).limit(limit)))


def latest_intent(*, session: Session, actor: User, application_id: int) -> Intent | None:
    """The newest recorded intent of an application (what the intent form starts from), or None."""
    actor = require_current_cap(session, actor, Cap.follow_application)
    _, _, job = load_application(session, application_id)
    if not can_follow_up(actor, job):
        raise NotAllowed()
    return _newest_intent(session, application_id)


def _newest_intent(session: Session, application_id: int) -> Intent | None:
    return session.exec(
        select(Intent).where(Intent.application_id == application_id).order_by(col(Intent.version).desc())
    ).first()


def record_intent(*, session: Session, actor: User, intent_in: dict[str, Any], version: int | None = None) -> Intent:
    """Record the candidate's current intent for an application (a new row: the history is kept).

    `version` is the version the person's form started from (None or 0: there was none yet). When someone
    recorded a newer one meanwhile — also at the very same moment — this one is refused with a Conflict that
    carries theirs, and nothing is saved."""
    actor = require_current_cap(session, actor, Cap.follow_application)
    data = validate(IntentIn, intent_in)
    _, _, job = load_application(session, data.application_id)
    if not can_follow_up(actor, job):
        raise NotAllowed()
    base = version or 0
    newest = _newest_intent(session, data.application_id)
    if (newest.version if newest else 0) != base:
        raise Conflict("err.intent_changed", current=newest)
    deadlines = [o.deadline for o in data.offers if o.deadline]
    intent = Intent(
        application_id=data.application_id,
        version=base + 1,
        interest=data.interest,
        expected_salary=data.expected_salary,
        earliest_start=data.earliest_start,
        decision_deadline=data.decision_deadline,
        notes=data.notes,
        offers=json.dumps([o.model_dump(mode="json") for o in data.offers], ensure_ascii=False),
        nearest_offer_deadline=min(deadlines) if deadlines else None,
        by_user_id=actor.id or 0,
    )
    try:
        with savepoint(session):
            session.add(intent)
    except IntegrityError:  # another save of the same version won the race (unique application_id, version)
        raise Conflict("err.intent_changed", current=_newest_intent(session, data.application_id)) from None
    audit.record(
        session=session,
        actor=actor,
        entity="application",
        entity_id=data.application_id,
        action="intent",
        changes={"interest": data.interest, "offers": len(data.offers), "version": intent.version},
    )
    session.flush()
    return intent


def intent_history(*, session: Session, actor: User, application_id: int) -> list[tuple[Intent, str]]:
    """Every recorded intent of an application, newest first."""
    actor = require_current_cap(session, actor, Cap.follow_application)
    _, _, job = load_application(session, application_id)
    if not can_follow_up(actor, job):
        raise NotAllowed()
    return list(
        session.exec(
            select(Intent, User.name)
            .join(User, col(User.id) == Intent.by_user_id)
            .where(Intent.application_id == application_id)
            .order_by(col(Intent.version).desc())
        )
    )


def risk_of(*, session: Session, actor: User, application_id: int, now: datetime | None = None) -> list[str]:
    """The at-risk reasons of one application (message keys)."""
    now = now or utcnow()
    history = intent_history(session=session, actor=actor, application_id=application_id)
    app, candidate, _ = load_application(session, application_id)
    contact = session.exec(
        select(Contact).where(Contact.candidate_id == candidate.id).order_by(col(Contact.id).desc())
    ).first()
    intent = history[0][0] if history else None
    return _risks(
        intent.interest if intent else None,
        _offer_deadlines(intent),
        contact.next_contact_at if contact else None,
        contact.at if contact else None,
        now,
    )


# --------------------------------------------------------------------------- mail and survey
def _token_hash(token: str) -> str:
    return hmac.new(get_settings().secret_key.encode(), f"survey:{token}".encode(), hashlib.sha256).hexdigest()


def prepare_candidate_mail(*, session: Session, actor: User, application_id: int, template: str) -> OutboxMessage:
    """A draft from a template in the candidate's language, for the recruiter to preview, edit and send.
    The survey invitation carries a new private link (single use, expiring)."""
    require_cap(actor, Cap.follow_up)
    if template not in TEMPLATES:
        raise ValidationError.single("template", "err.choice_invalid")
    app, candidate, job = load_application(session, application_id)
    if not candidate.email:
        raise ValidationError.single("to", "err.candidate_no_email")
    settings = get_settings()
    context: dict[str, Any] = {
        "candidate_name": candidate.name,
        "job_title": job.title,
        "sender_name": actor.name,
        "team_name": team_signature(candidate.language),
    }
    invite = None
    if template == "survey_invite":
        refuse_if_withdrawn(session=session, candidate_id=candidate.id or 0, purpose=ConsentPurpose.survey)
        token = secrets.token_urlsafe(32)
        invite = SurveyInvite(
            token_hash=_token_hash(token),
            application_id=application_id,
            stage=app.stage,
            expires_at=utcnow() + timedelta(days=settings.survey_days),
        )
        session.add(invite)
        session.flush()
        context |= {"survey_link": f"{settings.base_url.rstrip('/')}/?survey={token}", "days": settings.survey_days}
    mail = queue_template(
        session=session,
        template=template,
        language=candidate.language,
        to=candidate.email,
        key=f"{template}:{application_id}:{uuid.uuid4().hex}",
        draft=True,
        candidate_id=candidate.id,
        application_id=application_id,
        created_by=actor,
        context=context,
    )
    if invite is not None:
        invite.mail_id = mail.id
        session.add(invite)
    session.flush()
    return mail


def drafts_for_application(*, session: Session, actor: User, application_id: int) -> list[OutboxMessage]:
    """Mail prepared for this application and not yet sent or discarded."""
    require_cap(actor, Cap.follow_up)
    return list(
        session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.application_id == application_id, OutboxMessage.status == MailStatus.draft)
            .order_by(col(OutboxMessage.id))
        )
    )


@dataclass(frozen=True)
class SurveyLink:
    """What the survey page may show for a valid link."""

    job: str  # the job's title
    language: str  # the candidate's, for the page's texts


def open_survey(*, session: Session, token: str, now: datetime | None = None) -> SurveyLink:
    """What the survey page may show for a valid link (the job's title); SurveyLinkInvalid otherwise."""
    now = now or utcnow()
    invite = session.exec(select(SurveyInvite).where(SurveyInvite.token_hash == _token_hash(token or ""))).first()
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        raise SurveyLinkInvalid()
    _, candidate, job = load_application(session, invite.application_id)
    return SurveyLink(job=job.title, language=candidate.language)


def answer_survey(*, session: Session, token: str, answer_in: dict[str, Any]) -> SurveyResponse:
    """Store a candidate's answers; the link is spent in the same conditional update, so it works once."""
    data = validate(SurveyAnswerIn, answer_in)
    now = utcnow()
    invite = session.exec(select(SurveyInvite).where(SurveyInvite.token_hash == _token_hash(token or ""))).first()
    if invite is None:
        raise SurveyLinkInvalid()
    spent = session.exec(
        update(SurveyInvite)
        .where(
            col(SurveyInvite.id) == invite.id, col(SurveyInvite.used_at).is_(None), col(SurveyInvite.expires_at) > now
        )
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # spent or expired: this UPDATE changed nothing
        raise SurveyLinkInvalid()
    app = session.get(Application, invite.application_id)
    response = SurveyResponse(
        invite_id=invite.id or 0, job_id=app.job_id if app else 0, stage=invite.stage, at=now, **data.model_dump()
    )
    session.add(response)
    session.flush()
    return response


@dataclass
class SurveyGroup:
    key: str
    answers: int  # received
    counted: int = 0  # released: the figures below are over this many (a multiple of MIN_GROUP)
    nps: float | None = None  # promoters% - detractors%, None while nothing is released
    clarity: float | None = None
    respect: float | None = None
    treatment: float | None = None

    @property
    def shown(self) -> bool:
        return self.counted >= MIN_GROUP


def _released_answers() -> Any:
    """The answers that results may use, as a subquery: the finest grouping shown (job × stage when invited) is
    the unit, and of each such cell only its earliest answers in whole batches of MIN_GROUP count.

    Every figure shown — per job, per stage, overall — is computed over these answers only, so each is an
    aggregate of whole cells of at least five people: subtracting one group or grouping from another (or from
    the overall figure) never isolates anyone, and an answer kept back never shows in any total. A figure
    changes only when some cell completes another batch of five, so watching results between two answers shows
    nothing about either. The price: up to four answers per cell wait for the next ones."""
    cell = (col(SurveyResponse.job_id), col(SurveyResponse.stage))
    numbered = select(
        SurveyResponse.id,
        SurveyResponse.job_id,
        SurveyResponse.stage,
        SurveyResponse.nps,  # type: ignore[call-overload]
        SurveyResponse.clarity,
        SurveyResponse.respect,
        SurveyResponse.treatment,
        func.row_number().over(partition_by=cell, order_by=col(SurveyResponse.id)).label("rn"),
        func.count().over(partition_by=cell).label("n"),
    ).subquery()
    return select(numbered).where(numbered.c.rn <= numbered.c.n - numbered.c.n % MIN_GROUP).subquery()


def _survey_groups(session: Session, by: str | None) -> list[SurveyGroup]:
    released = _released_answers()
    promoters = func.sum(case((released.c.nps >= 9, 1), else_=0))
    detractors = func.sum(case((released.c.nps <= 6, 1), else_=0))
    stats = select(
        func.count(),
        func.avg(released.c.clarity),
        func.avg(released.c.respect),  # type: ignore[call-overload]
        func.avg(released.c.treatment),
        promoters,
        detractors,
    )
    if by is None:
        received = {"": session.exec(select(func.count()).select_from(SurveyResponse)).one()}
        rows = [("", *session.exec(stats.select_from(released)).one())]
    else:
        if by == "job":
            key, rkey = Job.title, Job.title
            stats = stats.add_columns(Job.title).join_from(released, Job, col(Job.id) == released.c.job_id)
        else:
            key, rkey = SurveyResponse.stage, released.c.stage
            stats = stats.add_columns(released.c.stage).select_from(released)
        received = dict(
            session.exec(
                select(key, func.count())
                .select_from(SurveyResponse)
                .join(Job, col(Job.id) == SurveyResponse.job_id)
                .group_by(key)
            ).all()
        )
        rows = [(r[-1], *r[:-1]) for r in session.exec(stats.group_by(rkey)).all()]
    released_by: dict[str, Any] = {str(name): rest for name, *rest in rows}
    groups = []
    for name in sorted(received, key=str):
        group = SurveyGroup(key=str(name), answers=received[name])
        n, clarity, respect, treatment, pro, det = released_by.get(str(name), (0, None, None, None, 0, 0))
        group.counted = n or 0
        if group.counted >= MIN_GROUP:
            group.nps = round(100 * ((pro or 0) - (det or 0)) / n, 1)
            group.clarity, group.respect, group.treatment = (round(float(v), 2) for v in (clarity, respect, treatment))
        groups.append(group)
    return groups


# The results are the same for everyone who may read them and change only with a new answer or an edited job:
# computed once per database and grouping, and again when the stamp of those tables changes (one indexed query;
# the computation numbers every answer in its cell, 70–80 ms at 100k candidates). Per process, checked on every
# call: several servers each keep their own, none serves a stale one.
_SURVEYS: dict[tuple[str, str | None], tuple[tuple[Any, ...], list[SurveyGroup]]] = {}
_SURVEYS_LOCK = threading.Lock()


def _survey_groups_cached(session: Session, by: str | None) -> list[SurveyGroup]:
    stamp = tuple(
        session.exec(
            select(
                select(func.count()).select_from(SurveyResponse).scalar_subquery(),
                select(func.max(SurveyResponse.id)).scalar_subquery(),
                select(func.count()).select_from(Job).scalar_subquery(),
                select(func.coalesce(func.sum(Job.version), 0)).scalar_subquery(),
            )
        ).one()
    )
    key = (session.get_bind().engine.url.render_as_string(hide_password=True), by)
    with _SURVEYS_LOCK:
        hit = _SURVEYS.get(key)
    if hit is None or hit[0] != stamp:
        hit = (stamp, _survey_groups(session, by))
        with _SURVEYS_LOCK:
            _SURVEYS[key] = hit
    return copy.deepcopy(hit[1])  # the caller's to change


def survey_summary(*, session: Session, actor: User, by: str = "job") -> list[SurveyGroup]:
    """Experience results per job or per stage, over the released answers only (see `_released_answers`);
    a group with fewer than five of them shows only how many answers it received."""
    require_cap(actor, Cap.survey_results)
    if by not in ("job", "stage"):
        raise ValidationError.single("by", "err.choice_invalid")
    return _survey_groups_cached(session, by)


def survey_overall(*, session: Session, actor: User) -> SurveyGroup:
    """The results over every released answer (the same set every group is computed from)."""
    require_cap(actor, Cap.survey_results)
    [overall] = _survey_groups_cached(session, None) or [SurveyGroup(key="", answers=0)]
    return overall


# --------------------------------------------------------------------------- talent pool
def _entry_of(session: Session, candidate_id: int) -> PoolEntry | None:
    return session.exec(select(PoolEntry).where(PoolEntry.candidate_id == candidate_id)).first()


def validate_pool_entry(entry_in: dict[str, Any]) -> PoolEntryIn:
    """A pool entry's reason, job family and revisit date checked (the date must be after today, company time)."""
    data: PoolEntryIn = validate(PoolEntryIn, entry_in)
    today = utcnow().astimezone(get_settings().tz).date()
    if data.revisit_on <= today:
        raise ValidationError.single("revisit_on", "err.revisit_past")
    return data


def keep_in_pool(*, session: Session, actor: User, entry_in: dict[str, Any]) -> PoolEntry:
    """Put a candidate in the talent pool, or update their entry, in the caller's transaction (no commit):
    the one way into the pool, for the pool's form and for an application moved to the talent_pool stage (which
    a job's hiring manager may do; `add_to_pool` is the recruiters' own way in)."""
    require_cap(actor, Cap.move_stage)
    data = validate_pool_entry(entry_in)
    candidate = session.get(Candidate, data.candidate_id)
    if candidate is None or candidate.anonymised_at:
        raise NotFound()
    refuse_if_withdrawn(session=session, candidate_id=data.candidate_id, purpose=ConsentPurpose.talent_pool)
    entry = _entry_of(session, data.candidate_id)
    if entry is None:
        entry = PoolEntry(
            candidate_id=data.candidate_id,
            reason=data.reason,
            job_family=data.job_family,
            revisit_on=data.revisit_on,
            added_by_id=actor.id or 0,
        )
    else:
        entry.reason, entry.job_family, entry.revisit_on = data.reason, data.job_family, data.revisit_on
        if entry.status != "active":
            entry.status, entry.added_at = "active", utcnow()
        entry.added_by_id = actor.id or 0
    session.add(entry)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        entity="candidate",
        entity_id=data.candidate_id,
        action="pool_add",
        changes={"reason": data.reason, "revisit_on": data.revisit_on.isoformat()},
    )
    return entry


def leave_pool_on_reengagement(*, session: Session, actor: User, candidate_id: int) -> None:
    """An application moved out of the talent_pool stage (re-engaged): once none of the candidate's
    applications is in that stage any more, their pool entry ends (no commit)."""
    require_cap(actor, Cap.move_stage)
    still = session.exec(
        select(Application.id).where(Application.candidate_id == candidate_id, Application.stage == Stage.talent_pool)
    ).first()
    entry = _entry_of(session, candidate_id)
    if still is None and entry is not None and entry.status == "active":
        entry.status = "reengaged"
        session.add(entry)
        audit.record(session=session, actor=actor, entity="candidate", entity_id=candidate_id, action="pool_reengaged")


def pool_entry(*, session: Session, actor: User, candidate_id: int) -> PoolEntry | None:
    """The candidate's talent-pool entry (active or not), for a form to start from; a hiring manager reads it
    only for a candidate of one of their jobs."""
    actor = require_current_cap(session, actor, Cap.follow_application)
    if not everywhere(actor, Cap.follow_application):
        _managed_applications(session, actor, candidate_id)
    return _entry_of(session, candidate_id)


def add_to_pool(*, session: Session, actor: User, entry_in: dict[str, Any]) -> PoolEntry:
    """Keep a candidate in the talent pool with a reason and a revisit date (which becomes a reminder)."""
    require_cap(actor, Cap.follow_up)
    entry = keep_in_pool(session=session, actor=actor, entry_in=entry_in)
    session.flush()
    return entry


def remove_from_pool(*, session: Session, actor: User, candidate_id: int) -> PoolEntry:
    """Take a candidate out of the talent pool."""
    require_cap(actor, Cap.follow_up)
    entry = session.exec(
        select(PoolEntry).where(PoolEntry.candidate_id == candidate_id, PoolEntry.status == "active")
    ).first()
    if entry is None:
        raise NotFound()
    entry.status = "removed"
    session.add(entry)
    audit.record(session=session, actor=actor, entity="candidate", entity_id=candidate_id, action="pool_remove")
    session.flush()
    return entry


CLOSED_STAGES = (Stage.rejected, Stage.withdrawn, Stage.talent_pool)


POOL_PICKER_SLICE = 4000


def poolable_candidates(*, session: Session, actor: User, q: str = "", limit: int = 50) -> list[Candidate]:
    """Candidates who may be added to the pool from its page: not in it, and with no application still open
    (every one rejected, withdrawn or pooled — or none at all), matching `q` (name, email, phone, WeChat)."""
    require_cap(actor, Cap.follow_up)
    open_app = (
        select(Application.id)
        .where(Application.candidate_id == Candidate.id, col(Application.stage).not_in(CLOSED_STAGES))
        .correlate(Candidate)
    )
    pooled = (
        select(PoolEntry.id)
        .where(PoolEntry.candidate_id == Candidate.id, PoolEntry.status == "active")
        .correlate(Candidate)
    )
    order = (col(Candidate.updated_at).desc(), col(Candidate.id).desc())
    matching = text_matches(session, q)
    # The most recently updated candidates along the index on updated_at, then the tests on those only: PostgreSQL
    # without statistics anti-joined every candidate and sorted the half that passed. The recently updated are
    # mostly candidates still in process: at 100k, the 50 newest poolable are among the first 1,800 of 4,000 —
    # POOL_PICKER_SLICE. The slice is given as its oldest time (read along the index, no rows fetched), not as
    # its 4,000 ids: passing and testing those cost PostgreSQL three times the reads (30 → 12 ms at 100k).
    bound = session.exec(
        select(Candidate.updated_at).where(*matching).order_by(order[0]).offset(POOL_PICKER_SLICE - 1).limit(1)
    ).first()
    poolable = (
        select(Candidate)
        .where(
            *matching,
            col(Candidate.anonymised_at).is_(None),
            ~open_app.exists(),
            ~pooled.exists(),
            ~consent_refused(Candidate.id, ConsentPurpose.talent_pool),  # withdrew: not to be kept
        )
        .order_by(*order)
    )
    if bound is None:  # fewer than a slice match at all: the tests on every one of them
        return list(session.exec(poolable.limit(limit)).all())
    found = list(session.exec(poolable.where(col(Candidate.updated_at) >= bound).limit(limit)).all())
    if len(found) < limit:  # the slice held too few: the older rest, in one statement
        found += session.exec(poolable.where(col(Candidate.updated_at) < bound).limit(limit - len(found))).all()
    return found


def _pool_query(q: str, tag: str, job_family: str) -> Any:
    """The active pool entries matching the search — the candidate's tags tested per entry, the erased left out
    (`not_erased`): read from the entries alone (PostgreSQL, given a join, hashed all 100k candidates to count
    13k entries: 33 ms with statistics)."""
    query = select(PoolEntry).where(PoolEntry.status == "active", not_erased(PoolEntry.candidate_id))
    if q.strip():
        query = query.where(col(PoolEntry.reason).contains(q.strip()[:100], autoescape=True))
    if tag.strip():
        tags = of(Candidate.tags, Candidate.id == PoolEntry.candidate_id)
        query = query.where(tags.contains("," + tag.strip().lower() + ",", autoescape=True))
    if job_family.strip():
        query = query.where(PoolEntry.job_family == job_family.strip())
    return query


@dataclass(frozen=True)
class PoolRow:
    """One person of the talent pool as its list shows them (`search_pool`)."""

    # Rows of the columns the list shows, not whole objects: the ORM cost more than the database's reads.
    entry: Row[Any]  # id, candidate_id, reason, job_family, revisit_on, added_at
    candidate: Row[Any]  # id, name, email, phone, tags
    tags: list[str]


def search_pool(
    *,
    session: Session,
    actor: User,
    q: str = "",
    tag: str = "",
    job_family: str = "",
    offset: int = 0,
    limit: int = 200,
) -> list[PoolRow]:
    """The active talent pool, soonest revisit first, searchable by reason text, skill tag and job family;
    a page at a time (`count_pool` says how many match). Each row: the entry (id, candidate_id, reason,
    job_family, revisit_on, added_at), the candidate (id, name, email, phone, tags) and the tags as a list."""
    require_cap(actor, Cap.follow_up)
    # Only what the list and its row's actions show, as plain rows: 200 whole entries and candidates cost the ORM
    # more than the database's reads (11 → 7 ms at 100k on PostgreSQL).
    entries = list(
        session.execute(
            _pool_query(q, tag, job_family)
            .with_only_columns(
                PoolEntry.id,
                PoolEntry.candidate_id,
                PoolEntry.reason,
                PoolEntry.job_family,
                PoolEntry.revisit_on,
                PoolEntry.added_at,
            )
            .order_by(PoolEntry.revisit_on, col(PoolEntry.id))
            .offset(max(offset, 0))
            .limit(limit)
        )
    )
    people: dict[Any, Any] = (
        {
            c.id: c  # type: ignore[attr-defined]  # a Row of columns, typed as a tuple
            for c in session.exec(
                select(  # type: ignore[call-overload]
                    Candidate.id, Candidate.name, Candidate.email, Candidate.phone, Candidate.tags
                ).where(among(session, [e.candidate_id for e in entries])(Candidate.id))
            )
        }
        if entries
        else {}
    )
    return [
        PoolRow(entry=e, candidate=people[e.candidate_id], tags=tag_list(people[e.candidate_id].tags))
        for e in entries
        if e.candidate_id in people
    ]


def count_pool(*, session: Session, actor: User, q: str = "", tag: str = "", job_family: str = "") -> int:
    """How many people of the active talent pool match the search."""
    require_cap(actor, Cap.follow_up)
    return session.exec(select(func.count()).select_from(_pool_query(q, tag, job_family).subquery())).one()


def job_families(*, session: Session, actor: User) -> list[str]:
    """The job families in use in the pool (for the filter)."""
    require_cap(actor, Cap.follow_up)
    return [
        f
        for f in session.exec(
            select(PoolEntry.job_family)
            .where(PoolEntry.status == "active", PoolEntry.job_family != "")
            .distinct()
            .order_by(PoolEntry.job_family)
        )
    ]


def prepare_reengagement_mail(*, session: Session, actor: User, candidate_id: int) -> OutboxMessage:
    """A re-engagement draft for a pooled candidate, in their language, to preview, edit and send."""
    require_cap(actor, Cap.follow_up)
    candidate = session.get(Candidate, candidate_id)
    if candidate is None or candidate.anonymised_at:
        raise NotFound()
    if not candidate.email:
        raise ValidationError.single("to", "err.candidate_no_email")
    refuse_if_withdrawn(session=session, candidate_id=candidate_id, purpose=ConsentPurpose.talent_pool)
    mail = queue_template(
        session=session,
        template="reengage",
        language=candidate.language,
        to=candidate.email,
        key=f"reengage:{candidate_id}:{uuid.uuid4().hex}",
        draft=True,
        candidate_id=candidate_id,
        created_by=actor,
        context={"candidate_name": candidate.name, "sender_name": actor.name},
    )
    session.flush()
    return mail


def pool_drafts(*, session: Session, actor: User, candidate_id: int) -> list[OutboxMessage]:
    """Unsent re-engagement drafts for one candidate."""
    require_cap(actor, Cap.follow_up)
    return list(
        session.exec(
            select(OutboxMessage).where(
                OutboxMessage.candidate_id == candidate_id,
                col(OutboxMessage.application_id).is_(None),
                OutboxMessage.status == MailStatus.draft,
            )
        )
    )


def revisit_due(entry: PoolEntry) -> datetime:
    """When a pool entry's revisit falls due: 09:00 on its date, company time."""
    return revisit_time(entry.revisit_on)


def revisit_time(day: date) -> datetime:
    """When a revisit on `day` falls due: 09:00 that day, company time."""
    return datetime.combine(day, time(9, 0), tzinfo=get_settings().tz)
