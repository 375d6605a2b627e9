"""Evaluate: rounds and criteria, interviews and panels, scorecards with independent judgement, debrief, decision.

Independence is enforced here: whoever sits on an interview's panel is shown nobody else's scores or
recommendation for that interview until their own scorecard for it is submitted, whatever their role.
Interviews they are not on follow their role: recruiters, admins and the job's hiring manager see their
submitted scorecards, anyone else does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, String, case, cast, func, literal, or_, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.common import Stage, utcnow
from models.evaluation import (
    MAX_LENGTH,
    Criterion,
    CriterionBase,
    Decision,
    DecisionIn,
    DecisionKind,
    Interview,
    InterviewCreate,
    InterviewPanelist,
    InterviewRound,
    InterviewStatus,
    RoundBase,
    Scorecard,
    ScorecardIn,
    ScorecardRating,
    ScorecardStatus,
)
from models.job import Job
from models.mail import MailStatus, OutboxMessage
from models.user import User
from services.evaluate import interview_invites, scoring
from services.mail.outbox import queue_template, team_signature
from services.pipeline import candidates
from services.platform import audit
from services.platform.db import savepoint
from services.platform.errors import (
    Conflict,
    DomainError,
    InvalidTransition,
    NotAllowed,
    NotFound,
    ValidationError,
    validate,
)
from services.platform.lists import among, walk
from services.platform.policy import (
    Cap,
    Scope,
    can_decide,
    has_scope,
    holds,
    manages,
    may_sit_on_panels,
    require_cap,
    require_current_cap,
    sees_all_scorecards,
)

# The open stages an interview can be scheduled in (an offer, a hire or an exit is past interviewing).
SCHEDULABLE_STAGES = (Stage.interviewing, Stage.decision_pending)

DEFAULT_ROUNDS = [
    ("电话初筛", "Phone screen", 3.0),
    ("技术面试", "Technical", 3.5),
    ("现场面试", "On-site", 3.5),
    ("HR 面试", "HR", 3.0),
]
DEFAULT_CRITERIA = [
    (
        "专业技能",
        "Professional skill",
        2.0,
        ("基础薄弱，无法独立完成岗位核心工作", "Cannot do the core of the job on their own"),
        ("能独立完成常规工作，复杂问题需要指导", "Handles routine work alone; needs guidance on hard problems"),
        ("深入掌握，能解决复杂问题并指导他人", "Deep mastery; solves hard problems and teaches others"),
    ),
    (
        "沟通能力",
        "Communication",
        1.0,
        ("表达不清，难以理解问题", "Unclear; struggles to follow the question"),
        ("表达清楚，能有效交流", "Clear and easy to follow"),
        ("表达精准有说服力，善于倾听", "Precise and persuasive; listens well"),
    ),
    (
        "团队合作",
        "Teamwork",
        1.0,
        ("倾向单打独斗，忽视他人", "Works alone; ignores others"),
        ("能与他人良好配合", "Works well with others"),
        ("主动协作，带动团队", "Seeks collaboration and lifts the team"),
    ),
]


# --------------------------------------------------------------------------- rounds and criteria
def ensure_default_rounds(*, session: Session) -> None:
    """Create the default rounds, each with professional skill, communication and teamwork, on an empty table."""
    if session.exec(select(func.count()).select_from(InterviewRound)).one():
        return
    for position, (zh, en, bar) in enumerate(DEFAULT_ROUNDS):
        rnd = InterviewRound(name_zh=zh, name_en=en, bar=bar, position=position)
        session.add(rnd)
        session.flush()
        for cpos, (czh, cen, weight, one, three, five) in enumerate(DEFAULT_CRITERIA):
            session.add(
                Criterion(
                    round_id=rnd.id or 0,
                    name_zh=czh,
                    name_en=cen,
                    weight=weight,
                    position=cpos,
                    level1_zh=one[0],
                    level1_en=one[1],
                    level3_zh=three[0],
                    level3_en=three[1],
                    level5_zh=five[0],
                    level5_en=five[1],
                )
            )
    session.flush()


def list_rounds(*, session: Session, actor: User, active_only: bool = True) -> list[InterviewRound]:
    """The interview rounds in order (creating the defaults on first use)."""
    require_cap(actor, Cap.use_app)
    ensure_default_rounds(session=session)
    query = select(InterviewRound).order_by(col(InterviewRound.position), col(InterviewRound.id))
    if active_only:
        query = query.where(InterviewRound.is_active)
    return list(session.exec(query))


def save_round(
    *, session: Session, actor: User, round_in: dict[str, Any], round_id: int | None = None, is_active: bool = True
) -> InterviewRound:
    """Create or edit a round: its names, bar (the weighted average it expects) and order (admin)."""
    require_cap(actor, Cap.manage_rounds)
    data = validate(RoundBase, round_in)
    same_name = session.exec(
        select(InterviewRound).where(
            (func.lower(InterviewRound.name_zh) == data.name_zh.lower())
            | (func.lower(InterviewRound.name_en) == data.name_en.lower())
        )
    ).first()
    if same_name is not None and same_name.id != round_id:
        # Also what stops the second click of a double submit from adding the round twice.
        raise ValidationError.single(
            "name_zh" if same_name.name_zh.lower() == data.name_zh.lower() else "name_en", "err.round_exists"
        )
    rnd: InterviewRound | None
    if round_id is None:
        rnd = InterviewRound.model_validate(data)
    else:
        rnd = session.get(InterviewRound, round_id)
        if rnd is None:
            raise NotFound()
        for key, value in data.model_dump().items():
            setattr(rnd, key, value)
    rnd.is_active = is_active
    session.add(rnd)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        entity="round",
        entity_id=rnd.id or 0,
        action="create" if round_id is None else "update",
        changes=data.model_dump(),
    )
    session.flush()
    return rnd


def criteria_for(*, session: Session, round_id: int, job_id: int | None) -> list[Criterion]:
    """The criteria an interview of this round for this job is rated on: the job's override, else the round's."""
    if job_id is not None:
        override = list(
            session.exec(
                select(Criterion)
                .where(Criterion.round_id == round_id, Criterion.job_id == job_id, Criterion.is_active)
                .order_by(col(Criterion.position), col(Criterion.id))
            )
        )
        if override:
            return override
    return list(
        session.exec(
            select(Criterion)
            .where(Criterion.round_id == round_id, col(Criterion.job_id).is_(None), Criterion.is_active)
            .order_by(col(Criterion.position), col(Criterion.id))
        )
    )


def criteria_for_rounds(*, session: Session, round_ids: list[int], job_id: int | None) -> dict[int, list[Criterion]]:
    """`criteria_for` of several rounds in one query: per round, the job's override, else the round's own."""
    if not round_ids:
        return {}
    query = select(Criterion).where(col(Criterion.round_id).in_(round_ids), Criterion.is_active)
    query = (
        query.where(or_(col(Criterion.job_id).is_(None), col(Criterion.job_id) == job_id))
        if job_id is not None
        else query.where(col(Criterion.job_id).is_(None))
    )
    own: dict[int, list[Criterion]] = {}
    override: dict[int, list[Criterion]] = {}
    for crit in session.exec(query.order_by(col(Criterion.position), col(Criterion.id))):
        (own if crit.job_id is None else override).setdefault(crit.round_id, []).append(crit)
    return {rid: override.get(rid) or own.get(rid, []) for rid in round_ids}


def save_criterion(
    *,
    session: Session,
    actor: User,
    round_id: int,
    criterion_in: dict[str, Any],
    job_id: int | None = None,
    criterion_id: int | None = None,
) -> Criterion:
    """Add or edit a criterion of a round, or of one job's override of it (admin)."""
    require_cap(actor, Cap.manage_rounds)
    if session.get(InterviewRound, round_id) is None:
        raise NotFound()
    if job_id is not None and session.get(Job, job_id) is None:
        raise ValidationError.single("job_id", "err.job_unknown")
    data = validate(CriterionBase, criterion_in)
    if (
        criterion_id is None
        and job_id is not None
        and not session.exec(
            select(Criterion.id).where(Criterion.round_id == round_id, Criterion.job_id == job_id, Criterion.is_active)
        ).first()
    ):
        # A job's first own criterion starts its override from a copy of the round's set, not from nothing.
        for base in criteria_for(session=session, round_id=round_id, job_id=None):
            session.add(
                Criterion(
                    round_id=round_id,
                    job_id=job_id,
                    **CriterionBase.model_validate(base, from_attributes=True).model_dump(),
                )
            )
    same_name = session.exec(
        select(Criterion).where(
            Criterion.round_id == round_id,
            Criterion.is_active,
            Criterion.job_id == job_id if job_id is not None else col(Criterion.job_id).is_(None),
            (func.lower(Criterion.name_zh) == data.name_zh.lower())
            | (func.lower(Criterion.name_en) == data.name_en.lower()),
        )
    ).first()
    if same_name is not None and same_name.id != criterion_id:
        # Also what stops the second click of a double submit from adding the criterion twice.
        raise ValidationError.single(
            "name_zh" if same_name.name_zh.lower() == data.name_zh.lower() else "name_en", "err.criterion_exists"
        )
    crit: Criterion | None
    if criterion_id is None:
        crit = Criterion(round_id=round_id, job_id=job_id, **data.model_dump())
        if "position" not in criterion_in:  # a new criterion goes last unless placed
            session.flush()
            last = session.exec(
                select(func.max(Criterion.position)).where(
                    Criterion.round_id == round_id,
                    Criterion.job_id == job_id if job_id is not None else col(Criterion.job_id).is_(None),
                )
            ).one()
            crit.position = (last if last is not None else -1) + 1
    else:
        crit = session.get(Criterion, criterion_id)
        # A job's override edits only its own criteria; the round's set is shared by every other job.
        if crit is None or crit.round_id != round_id or crit.job_id != job_id:
            raise NotFound()
        for key, value in data.model_dump().items():
            setattr(crit, key, value)
    session.add(crit)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        entity="criterion",
        entity_id=crit.id or 0,
        action="create" if criterion_id is None else "update",
        changes=data.model_dump(),
    )
    session.flush()
    return crit


def remove_criterion(*, session: Session, actor: User, criterion_id: int) -> None:
    """Retire a criterion (kept for the scorecards that used it)."""
    require_cap(actor, Cap.manage_rounds)
    crit = session.get(Criterion, criterion_id)
    if crit is None:
        raise NotFound()
    crit.is_active = False
    session.add(crit)
    audit.record(session=session, actor=actor, entity="criterion", entity_id=criterion_id, action="remove")
    session.flush()


# --------------------------------------------------------------------------- interviews
def invites_panel(ends_at: datetime) -> bool:
    """Whether scheduling an interview ending at `ends_at` mails the panel its invitation: not for one recorded
    after it ended (a call that already took place, an import of past ones), which is entered for its
    scorecards and the feedback clock — an invitation to a past event would only confuse."""
    return ends_at > utcnow()


def lock_application(session: Session, application_id: int) -> None:
    """Take the application's row lock (PostgreSQL; SQLite has one writer) before its interviews change, so that
    two people scheduling or moving its interviews at once take turns and `keep_last_interview_end` reads the
    other's interview once it is committed."""
    session.exec(select(Application.id).where(col(Application.id) == application_id).with_for_update())


def keep_last_interview_end(session: Session, application_id: int) -> None:
    """Set `application.last_interview_end` and `previous_interview_end` from its interviews still on
    (scheduled) — the last end and the one before it —, after any change to them, and `last_end_unheard` and
    `previous_end_unheard` (each end, unless the candidate has heard from us since); the caller holds the
    application's lock (`lock_application`)."""
    ends = session.exec(
        select(Interview.ends_at)
        .where(Interview.application_id == application_id, Interview.status == InterviewStatus.scheduled)
        .order_by(col(Interview.ends_at).desc())
        .limit(2)
    ).all()
    last, previous = (list(ends) + [None, None])[:2]
    heard = select(Candidate.heard_at).where(Candidate.id == Application.candidate_id).scalar_subquery()

    def unheard(end: datetime | None) -> Any:  # the end, unless the candidate has heard from us since
        return None if end is None else case((or_(heard.is_(None), heard < end), end), else_=None)

    session.exec(
        update(Application)
        .where(col(Application.id) == application_id)
        .values(
            last_interview_end=last,
            previous_interview_end=previous,
            last_end_unheard=unheard(last),
            previous_end_unheard=unheard(previous),
        )
    )


def _check_panel(session: Session, ids: list[int]) -> list[User]:
    people = list(session.exec(select(User).where(col(User.id).in_(ids)))) if ids else []
    if len(people) != len(set(ids)) or any(not p.is_active or not may_sit_on_panels(p) for p in people):
        raise ValidationError.single("interviewer_ids", "err.not_an_interviewer")
    return people


@dataclass
class Clash:
    """Another scheduled interview overlapping the one being booked, and who would be in both."""

    interview_id: int
    starts_at: datetime
    ends_at: datetime
    candidate: str
    job: str
    people: list[str]  # the double-booked: interviewers' names, and the candidate's when it is them
    candidate_clash: bool


class ScheduleConflict(DomainError):
    """The interviewer(s) or the candidate are already booked at an overlapping time; `clashes` says where.
    Calling again with allow_conflicts=True books anyway."""

    key = "err.schedule_conflict"
    plural = "count"

    def __init__(self, clashes: list[Clash]) -> None:
        super().__init__(count=len(clashes))
        self.clashes = clashes


def find_clashes(
    *,
    session: Session,
    application_id: int,
    starts_at: datetime,
    ends_at: datetime,
    interviewer_ids: list[int],
    exclude_id: int | None = None,
) -> list[Clash]:
    """Scheduled interviews overlapping [starts_at, ends_at) that share an interviewer or the candidate.
    Back-to-back is no overlap; cancelled interviews and no-shows do not count."""
    app = session.get(Application, application_id)
    if app is None:
        raise NotFound()
    ids = list(dict.fromkeys(interviewer_ids))
    shares_panel = select(InterviewPanelist.interview_id).where(col(InterviewPanelist.user_id).in_(ids or [-1]))
    query = (
        select(Interview, Candidate.id, Candidate.name, Job.title)
        .join(Application, col(Application.id) == Interview.application_id)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Job, col(Job.id) == Application.job_id)
        .where(
            Interview.status == InterviewStatus.scheduled,
            col(Interview.starts_at) < ends_at,
            col(Interview.ends_at) > starts_at,
            (col(Application.candidate_id) == app.candidate_id) | col(Interview.id).in_(shares_panel),
        )
        .order_by(col(Interview.starts_at), col(Interview.id))
        .limit(50)
    )
    if exclude_id is not None:
        query = query.where(col(Interview.id) != exclude_id)
    found = list(session.exec(query))
    if not found:
        return []
    names = dict(session.exec(select(User.id, User.name).where(col(User.id).in_(ids))).all()) if ids else {}
    booked: dict[int, set[int]] = {}
    for iv_id, uid in session.exec(
        select(InterviewPanelist.interview_id, InterviewPanelist.user_id).where(
            col(InterviewPanelist.interview_id).in_([iv.id for iv, *_ in found]),
            col(InterviewPanelist.user_id).in_(ids or [-1]),
        )
    ):
        booked.setdefault(iv_id, set()).add(uid)
    out = []
    for iv, cand_id, cand_name, title in found:
        same_candidate = cand_id == app.candidate_id
        people = sorted(names[u] for u in booked.get(iv.id or 0, set()))
        if same_candidate:
            people.insert(0, cand_name)
        out.append(Clash(iv.id or 0, iv.starts_at, iv.ends_at, cand_name, title, people, same_candidate))
    return out


def _same_interview(session: Session, data: InterviewCreate) -> Interview | None:
    """An identical interview scheduled already: the second click of a double submit."""
    twin = session.exec(
        select(Interview).where(
            Interview.application_id == data.application_id,
            Interview.round_id == data.round_id,
            Interview.starts_at == data.starts_at,
            Interview.ends_at == data.ends_at,
            Interview.mode == data.mode,
            Interview.location == data.location,
            Interview.status == InterviewStatus.scheduled,
        )
    ).first()
    if twin is None:
        return None
    panel = set(session.exec(select(InterviewPanelist.user_id).where(InterviewPanelist.interview_id == twin.id)))
    return twin if panel == set(data.interviewer_ids) else None


PICKER_LIMIT = 200  # the scheduling picker offers this many applications at a time


def schedulable_applications(
    *, session: Session, actor: User, q: str = "", include: int | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Open applications an interview can be scheduled for (recruiter, admin): what the scheduling form's
    candidate picker offers — those matching `q` (name, email, phone, WeChat), else the most recently moved
    (an application just advanced is the one to schedule), at most `limit`; and application `include` (a link
    to schedule it) wherever it is. Every open application is reachable by a search, however many there are
    (the picker used to offer the first 3,000 by name: at 100k candidates a later name could not be picked)."""
    require_cap(actor, Cap.schedule)
    schedulable = col(Application.stage).in_([s.value for s in SCHEDULABLE_STAGES])
    columns = (Application.id, Application.stage, Candidate.id, Candidate.name, Candidate.email, Job.title)
    base = (
        select(*columns)  # type: ignore[call-overload]  # sqlmodel: 4 columns at most
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Job, col(Job.id) == Application.job_id)
        .where(schedulable, col(Candidate.anonymised_at).is_(None))
    )
    limit = PICKER_LIMIT if limit is None else limit
    words = candidates.text_matches(session, q)
    if words:
        found = base.where(*words)
    else:  # the most recently moved, picked from the (stage, stage_changed_at, id) index alone, then read
        changed, app_id = col(Application.stage_changed_at), col(Application.id)
        # Each stage's newest from its own range of the index, then the newest of those: one statement over both
        # stages read and sorted all of their applications (12,600 at 100k candidates, 4 of the picker's 7 ms).
        arms = [
            select(
                select(app_id.label("id"), changed.label("changed"))
                .where(Application.stage == stage.value)
                .order_by(changed.desc(), app_id.desc())
                .limit(limit + 50)
                .subquery()
            )
            for stage in SCHEDULABLE_STAGES
        ]  # a few spare for candidates anonymised meanwhile
        newest = union_all(*arms).subquery("newest")
        recent = select(newest.c.id).order_by(newest.c.changed.desc(), newest.c.id.desc()).limit(limit + 50)
        found = base.where(col(Application.id).in_(recent.scalar_subquery()))
    rows = list(
        session.exec(found.order_by(col(Application.stage_changed_at).desc(), col(Application.id).desc()).limit(limit))
    )
    if include is not None and include not in {r[0] for r in rows}:
        rows = list(session.exec(base.where(Application.id == include))) + rows
    return [
        {
            "application_id": app_id,
            "stage": stage,
            "candidate_id": cid,
            "candidate": name,
            "email": email or "",
            "job": title,
        }
        for app_id, stage, cid, name, email, title in rows
    ]


def schedule_interview(
    *, session: Session, actor: User, interview_in: dict[str, Any], allow_conflicts: bool = False
) -> Interview:
    """Schedule an interview of an open application with a panel (recruiter, admin) and mail each panel member
    the calendar invitation.

    ScheduleConflict when an interviewer or the candidate is booked at an overlapping time, unless
    allow_conflicts. The same interview submitted twice (a double click) is scheduled once."""
    require_cap(actor, Cap.schedule)
    data = validate(InterviewCreate, interview_in)
    app, _, _ = candidates.load_application(session, data.application_id)
    lock_application(session, app.id or 0)
    if app.stage not in SCHEDULABLE_STAGES:
        raise ValidationError.single("application_id", "err.application_not_interviewing")
    rnd = session.get(InterviewRound, data.round_id)
    if rnd is None or not rnd.is_active:
        raise ValidationError.single("round_id", "err.round_unknown")
    _check_panel(session, data.interviewer_ids)
    twin = _same_interview(session, data)
    if twin is not None:
        return twin
    if not allow_conflicts:
        clashes = find_clashes(
            session=session,
            application_id=data.application_id,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            interviewer_ids=data.interviewer_ids,
        )
        if clashes:
            raise ScheduleConflict(clashes)
    interview = Interview(
        application_id=app.id or 0,
        round_id=rnd.id or 0,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        mode=data.mode,
        location=data.location,
        created_by_id=actor.id,
    )
    session.add(interview)
    session.flush()
    for uid in dict.fromkeys(data.interviewer_ids):
        session.add(InterviewPanelist(interview_id=interview.id or 0, user_id=uid, ends_at=data.ends_at))
    session.flush()
    keep_last_interview_end(session, app.id or 0)
    audit.record(
        session=session,
        actor=actor,
        entity="interview",
        entity_id=interview.id or 0,
        action="create",
        changes=data.model_dump(mode="json") | ({"conflicts_accepted": True} if allow_conflicts else {}),
    )
    if invites_panel(interview.ends_at):
        interview_invites.notify_panel(session=session, interview=interview, actor=actor, kind="scheduled")
    return interview


def reschedule_interview(
    *,
    session: Session,
    actor: User,
    interview_id: int,
    version: int,
    interview_in: dict[str, Any],
    allow_conflicts: bool = False,
) -> Interview:
    """Move an interview or change its panel; the panel gets the updated invitation, someone taken off it a
    cancellation, someone added the invitation. Conflict when someone changed it meanwhile (unless it already is
    as asked: a double submit), ScheduleConflict on a double booking unless allow_conflicts."""
    require_cap(actor, Cap.schedule)
    interview = session.get(Interview, interview_id)
    if interview is None:
        raise NotFound()
    data = validate(InterviewCreate, {**interview_in, "application_id": interview.application_id})
    lock_application(session, interview.application_id)
    current = set(session.exec(select(InterviewPanelist.user_id).where(InterviewPanelist.interview_id == interview_id)))
    wanted = set(data.interviewer_ids)
    before = (interview.round_id, interview.starts_at, interview.ends_at, str(interview.mode), interview.location)
    after = (data.round_id, data.starts_at, data.ends_at, str(data.mode), data.location)
    if (
        interview.version != version
        and interview.status == InterviewStatus.scheduled
        and before == after
        and current == wanted
    ):
        return interview  # the second click of a double submit: already as asked
    if interview.status != InterviewStatus.scheduled:
        raise InvalidTransition("err.interview_not_scheduled", status=interview.status)
    rnd = session.get(InterviewRound, data.round_id)
    if rnd is None or (not rnd.is_active and rnd.id != interview.round_id):  # a retired round may stay, not be chosen
        raise ValidationError.single("round_id", "err.round_unknown")
    _check_panel(session, data.interviewer_ids)
    if interview.version != version:
        raise Conflict()
    if not allow_conflicts:
        clashes = find_clashes(
            session=session,
            application_id=interview.application_id,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            interviewer_ids=data.interviewer_ids,
            exclude_id=interview_id,
        )
        if clashes:
            raise ScheduleConflict(clashes)
    result = session.exec(
        update(Interview)
        .where(col(Interview.id) == interview_id, col(Interview.version) == version)
        .values(
            round_id=data.round_id,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            mode=data.mode,
            location=data.location,
            version=Interview.version + 1,
        )
    )
    if result.rowcount != 1:
        raise Conflict()
    for uid in current - wanted:
        has_card = session.exec(
            select(Scorecard.id).where(Scorecard.interview_id == interview_id, Scorecard.interviewer_id == uid)
        ).first()
        if has_card:
            raise ValidationError.single("interviewer_ids", "err.panelist_has_scorecard")
        panelist = session.exec(
            select(InterviewPanelist).where(
                InterviewPanelist.interview_id == interview_id, InterviewPanelist.user_id == uid
            )
        ).one()
        session.delete(panelist)
    for uid in wanted - current:
        session.add(InterviewPanelist(interview_id=interview_id, user_id=uid, ends_at=data.ends_at))
    session.exec(
        update(InterviewPanelist)
        .where(col(InterviewPanelist.interview_id) == interview_id)
        .values(ends_at=data.ends_at)
    )
    session.flush()
    keep_last_interview_end(session, interview.application_id)
    session.refresh(interview)
    audit.record(
        session=session,
        actor=actor,
        entity="interview",
        entity_id=interview_id,
        action="reschedule",
        changes=data.model_dump(mode="json") | ({"conflicts_accepted": True} if allow_conflicts else {}),
    )
    # Who stays hears of a change to the event itself; who joins gets the invitation, who leaves a cancellation.
    stayed = (current & wanted) if before != after else set()
    if stayed | (wanted - current):
        interview_invites.notify_panel(
            session=session, interview=interview, actor=actor, kind="moved", to_user_ids=stayed | (wanted - current)
        )
    if current - wanted:
        interview_invites.notify_panel(
            session=session, interview=interview, actor=actor, kind="removed", to_user_ids=current - wanted
        )
    interview_invites.drop_stale_confirmations(session=session, interview=interview)
    session.flush()
    session.refresh(interview)
    return interview


def set_interview_status(
    *, session: Session, actor: User, interview_id: int, status: InterviewStatus, reason: str = ""
) -> Interview:
    """Cancel an interview (the panel gets a calendar cancellation) or mark the candidate as a no-show (only a
    scheduled interview)."""
    require_cap(actor, Cap.schedule)
    if status == InterviewStatus.scheduled:
        raise InvalidTransition("err.interview_not_scheduled", status=status)
    application_id = session.exec(select(Interview.application_id).where(col(Interview.id) == interview_id)).first()
    if application_id is None:
        raise NotFound()
    lock_application(session, application_id)
    result = session.exec(
        update(Interview)
        .where(col(Interview.id) == interview_id, col(Interview.status) == InterviewStatus.scheduled)
        .values(status=status, version=Interview.version + 1)
    )
    interview = session.get(Interview, interview_id)
    if interview is None:
        raise NotFound()
    if result.rowcount != 1:
        session.refresh(interview)  # the status it has now, which the refusal names
        raise InvalidTransition("err.interview_not_scheduled", status=interview.status)
    session.refresh(interview)
    # No scorecard is owed for an interview that did not take place (My tasks and the reminders read this).
    session.exec(
        update(InterviewPanelist)
        .where(col(InterviewPanelist.interview_id) == interview_id, col(InterviewPanelist.settled_at).is_(None))
        .values(settled_at=utcnow())
    )
    keep_last_interview_end(session, application_id)
    audit.record(
        session=session,
        actor=actor,
        entity="interview",
        entity_id=interview_id,
        action=str(status),
        changes={"reason": reason[:500]},
    )
    if status == InterviewStatus.cancelled:
        interview_invites.notify_panel(session=session, interview=interview, actor=actor, kind="cancelled")
    interview_invites.drop_stale_confirmations(session=session, interview=interview)
    session.flush()
    session.refresh(interview)
    return interview


def prepare_interview_confirmation(*, session: Session, actor: User, interview_id: int) -> OutboxMessage:
    """A confirmation for the candidate, from the template in their language, with the interview's calendar
    invitation attached: a draft for the recruiter to preview, edit and send (recruiter, admin)."""
    require_cap(actor, Cap.schedule)
    interview = session.get(Interview, interview_id)
    if interview is None:
        raise NotFound()
    if interview.status != InterviewStatus.scheduled:
        raise InvalidTransition("err.interview_not_scheduled", status=interview.status)
    draft = interview_invites.prepare_confirmation(session=session, interview=interview, actor=actor)
    session.flush()
    return draft


def interview_confirmation_drafts(*, session: Session, actor: User, interview_id: int) -> list[OutboxMessage]:
    """The candidate confirmations prepared for this interview's current time and not yet sent or discarded."""
    require_cap(actor, Cap.schedule)
    interview = session.get(Interview, interview_id)
    if interview is None:
        raise NotFound()
    return interview_invites.confirmation_drafts(session=session, interview=interview)


# An interview as a row of its columns (read like the model's attributes): building SQLModel objects cost the
# interview lists more than the database's reads (500 for a week: 8 of 33 ms; 400 for an interviewer's own).
INTERVIEW_COLUMNS = tuple(Interview.__table__.columns)  # type: ignore[attr-defined]


@dataclass
class InterviewRow:
    interview: Interview | Row[Any]  # the model, or (the week's list) a row of its columns
    candidate: str
    candidate_id: int
    job: str
    round_zh: str
    round_en: str
    panel: list[str]
    my_status: str | None = None  # my scorecard: None (not started), draft or submitted
    # What to show: the stored status, except that a scheduled interview that has ended is "awaiting_scorecards"
    # until every panel member submitted, then "completed".
    state: str = InterviewStatus.scheduled.value


def _rows(session: Session, interviews: Sequence[Interview | Row[Any]], me: int | None = None) -> list[InterviewRow]:
    if not interviews:
        return []
    # The ids as one array parameter (`lists.among`): a week's 500 as bound values cost psycopg more to parse
    # than PostgreSQL's reads (6 ms a statement).
    of_these = among(session, [i.id for i in interviews])
    info = {
        iv_id: (cname, cid, title, rzh, ren)
        for iv_id, cname, cid, title, rzh, ren in session.exec(
            select(
                Interview.id,
                Candidate.name,
                Candidate.id,
                Job.title,
                InterviewRound.name_zh,  # type: ignore[call-overload]
                InterviewRound.name_en,
            )
            .join(Application, col(Application.id) == Interview.application_id)
            .join(Candidate, col(Candidate.id) == Application.candidate_id)
            .join(Job, col(Job.id) == Application.job_id)
            .join(InterviewRound, col(InterviewRound.id) == Interview.round_id)
            .where(of_these(Interview.id))
        )
    }
    # Per interview, read by its key: who sits on the panel, the scorecards submitted, mine — each a lookup in the
    # index on the interview (PostgreSQL without statistics hashed every seat and every scorecard for 200 ids);
    # then the panel's names (the staff: a few).
    seated = (
        select(func.aggregate_strings(cast(InterviewPanelist.user_id, String), ","))
        .where(InterviewPanelist.interview_id == Interview.id)
        .scalar_subquery()
    )
    cards = (
        select(func.count())
        .where(Scorecard.interview_id == Interview.id, Scorecard.status == ScorecardStatus.submitted)
        .scalar_subquery()
    )
    my_card = (
        select(Scorecard.status)
        .where(Scorecard.interview_id == Interview.id, Scorecard.interviewer_id == (me or 0))
        .scalar_subquery()
    )
    seats: dict[int, list[int]] = {}
    submitted: dict[int, int] = {}
    mine: dict[int, str] = {}
    for iv_id, user_ids, count, status in session.exec(
        select(Interview.id, seated, cards, my_card if me is not None else literal(None)).where(of_these(Interview.id))
    ):
        assert iv_id is not None  # a key read back
        seats[iv_id] = [int(u) for u in user_ids.split(",")] if user_ids else []
        submitted[iv_id] = count
        if status is not None:
            mine[iv_id] = status
    people_ids = {u for users in seats.values() for u in users}
    names = dict(session.exec(select(User.id, User.name).where(col(User.id).in_(people_ids))).all())
    panel = {iv_id: [names[u] for u in users if u in names] for iv_id, users in seats.items()}
    now = utcnow()
    out = []
    for iv in interviews:
        cname, cid, title, rzh, ren = info[iv.id]
        people = sorted(panel.get(iv.id or 0, []))
        state = str(iv.status)
        if iv.status == InterviewStatus.scheduled and iv.ends_at <= now:
            state = "completed" if submitted.get(iv.id or 0, 0) >= len(people) else "awaiting_scorecards"
        out.append(InterviewRow(iv, cname, cid, title, rzh, ren, people, mine.get(iv.id or 0), state))
    return out


def owed_seats(panelist: int | None = None, *, ended_within: tuple[datetime, datetime] | None = None) -> Any:
    """SQL, a MATERIALIZED CTE: the panel seats (of `panelist`, or everyone's) still owing a scorecard — not
    settled: no card submitted, the interview neither cancelled nor a no-show — with their interview's
    (interview_id, user_id, starts_at, ends_at, status, application_id). The one definition of a seat owed, for
    the reminder rules and My tasks. Read first and on their own, through the partial indexes that hold only the
    owed seats (a few per cent); with `ended_within`, only those whose interview (its end kept on the seat) ended
    within the two instants (both included), a range of the index by end. Each seat's interview is read by its
    key, not joined: PostgreSQL hashed every interview (264k at 100k candidates) to join a few thousand seats,
    with or without statistics (38-108 ms)."""

    def of_interview(column: Any) -> Any:  # one lookup by key per seat: never a join with every interview
        return select(column).where(Interview.id == InterviewPanelist.interview_id).scalar_subquery()

    seats = select(
        InterviewPanelist.interview_id,
        InterviewPanelist.user_id,  # type: ignore[call-overload]
        of_interview(Interview.starts_at).label("starts_at"),
        of_interview(Interview.ends_at).label("ends_at"),
        of_interview(Interview.status).label("status"),
        of_interview(Interview.application_id).label("application_id"),
    ).where(col(InterviewPanelist.settled_at).is_(None))
    if panelist is not None:
        seats = seats.where(InterviewPanelist.user_id == panelist)
    if ended_within is not None:
        seats = seats.where(col(InterviewPanelist.ends_at).between(*ended_within))
    return seats.cte("owed_seats").prefix_with("MATERIALIZED")


@dataclass(frozen=True)
class MyInterviews:
    awaiting: list[InterviewRow]  # ended (or begun), my scorecard still owed, oldest first
    upcoming: list[InterviewRow]  # not over yet, in the order they start


def my_interviews(*, session: Session, actor: User, now: datetime | None = None) -> MyInterviews:
    """The actor's interviews: upcoming, and ended ones still awaiting their scorecard (oldest first)."""
    require_cap(actor, Cap.use_app)
    now = now or utcnow()
    # Upcoming: my seats that still owe a scorecard on interviews not yet over, in the order of their end (kept on
    # the seat: the index of owed seats, read alone), then those interviews read by key — a walk, so PostgreSQL
    # cannot choose to read every interview not yet over (it took the start and end bounds for independent and
    # read and sorted 2,400 at 100k candidates). A seat settled during its interview (the scorecard submitted
    # before the end) is no longer upcoming. One person's interviews do not overlap, so the first 200 to end are
    # the first 200 to start; they are shown in the order they start.
    seat_end = col(InterviewPanelist.ends_at)
    seats = (
        select(InterviewPanelist.interview_id)
        .where(InterviewPanelist.user_id == actor.id, col(InterviewPanelist.settled_at).is_(None), seat_end > now)
        .order_by(seat_end, col(InterviewPanelist.interview_id))
    )
    soonest = walk(
        session,
        seats,
        limit=200,
        keep=lambda among: (
            select(*INTERVIEW_COLUMNS)
            .where(among(Interview.id), Interview.status == InterviewStatus.scheduled, col(Interview.ends_at) > now)
            .order_by(col(Interview.ends_at), col(Interview.id))
        ),
    )
    upcoming = sorted(soonest, key=lambda interview: (interview.starts_at, interview.id))
    # Awaiting my scorecard: my owed seats in the order of their interview's end (kept on the seat: an index), the
    # first 200 whose interview is on and has begun, then those interviews read by key.
    keys = (
        select(InterviewPanelist.id)
        .where(
            InterviewPanelist.user_id == actor.id,
            col(InterviewPanelist.settled_at).is_(None),
            seat_end <= now + MAX_LENGTH,
        )
        .order_by(seat_end, col(InterviewPanelist.id))
    )
    begun = select(Interview.id).where(
        Interview.id == InterviewPanelist.interview_id,
        Interview.status == InterviewStatus.scheduled,
        col(Interview.starts_at) <= now,
    )
    first = walk(
        session,
        keys,
        limit=200,
        first=400,
        keep=lambda among: (
            select(InterviewPanelist.interview_id)
            .where(among(InterviewPanelist.id), begun.scalar_subquery().is_not(None))
            .order_by(seat_end, col(InterviewPanelist.id))
        ),
    )
    awaiting = (
        list(
            session.execute(
                select(*INTERVIEW_COLUMNS)
                .where(among(session, first)(Interview.id))
                .order_by(col(Interview.ends_at), col(Interview.id))
            )
        )
        if first
        else []
    )
    return MyInterviews(awaiting=_rows(session, awaiting, actor.id), upcoming=_rows(session, upcoming, actor.id))


def list_interviews(*, session: Session, actor: User, start: datetime, end: datetime) -> list[InterviewRow]:
    """Every interview starting in [start, end), for recruiters planning the week."""
    require_cap(actor, Cap.schedule)
    found = list(
        session.execute(
            select(*INTERVIEW_COLUMNS)
            .where(col(Interview.starts_at) >= start, col(Interview.starts_at) < end)
            .order_by(Interview.starts_at)
            .limit(500)
        )
    )
    return _rows(session, found)


# --------------------------------------------------------------------------- scorecards
def _on_panel(session: Session, interview_id: int, user_id: int) -> bool:
    return (
        session.exec(
            select(InterviewPanelist.id).where(
                InterviewPanelist.interview_id == interview_id, InterviewPanelist.user_id == user_id
            )
        ).first()
        is not None
    )


@dataclass(frozen=True)
class ScorecardView:
    """What the scorecard screen shows (`open_scorecard`)."""

    interview: Interview
    application: Application
    candidate: Candidate
    job: Job
    round: InterviewRound
    panel: list[str]  # the panelists' names
    criteria: list[Criterion]  # the round's (or the job's), then any retired one this card rated
    scorecard: Scorecard | None  # mine, None before my first save
    ratings: dict[int, ScorecardRating]  # of my scorecard, by criterion id


def open_scorecard(*, session: Session, actor: User, interview_id: int) -> ScorecardView:
    """What the scorecard screen shows: candidate, interview, panel, criteria with their levels, my scorecard."""
    require_cap(actor, Cap.score)
    interview = session.get(Interview, interview_id)
    if interview is None:
        raise NotFound()
    if not _on_panel(session, interview_id, actor.id or 0):
        raise NotAllowed("err.not_on_panel")
    app, candidate, job = candidates.load_application(session, interview.application_id)
    rnd = session.get_one(InterviewRound, interview.round_id)  # the foreign key keeps it
    card = session.exec(
        select(Scorecard).where(Scorecard.interview_id == interview_id, Scorecard.interviewer_id == actor.id)
    ).first()
    ratings = (
        {
            r.criterion_id: r
            for r in session.exec(select(ScorecardRating).where(ScorecardRating.scorecard_id == card.id))
        }
        if card
        else {}
    )
    crits = criteria_for(session=session, round_id=interview.round_id, job_id=job.id)
    rated_ids = set(ratings) - {c.id for c in crits}
    if rated_ids:  # criteria retired after rating still show on this scorecard
        crits += list(session.exec(select(Criterion).where(col(Criterion.id).in_(rated_ids))))
    return ScorecardView(
        interview=interview,
        application=app,
        candidate=candidate,
        job=job,
        round=rnd,
        panel=_rows(session, [interview])[0].panel,
        criteria=crits,
        scorecard=card,
        ratings=ratings,
    )


def save_scorecard(
    *,
    session: Session,
    actor: User,
    interview_id: int,
    scorecard_in: dict[str, Any],
    submit: bool = False,
    version: int | None = None,
    change_reason: str = "",
) -> Scorecard:
    """Save my scorecard as a draft, or submit it (which locks it); a change after submit needs a reason.

    `version` is the one the form was loaded with (None for a new scorecard). Submitting twice with the same
    content (a double click) submits once and returns the submitted scorecard.
    """
    require_cap(actor, Cap.score)
    interview = session.get(Interview, interview_id)
    if interview is None:
        raise NotFound()
    if not _on_panel(session, interview_id, actor.id or 0):
        raise NotAllowed("err.not_on_panel")
    if interview.status != InterviewStatus.scheduled:
        raise InvalidTransition("err.interview_not_scheduled", status=interview.status)
    data = validate(ScorecardIn, scorecard_in)
    app, _, job = candidates.load_application(session, interview.application_id)
    crits = {c.id: c for c in criteria_for(session=session, round_id=interview.round_id, job_id=job.id)}
    given = {r.criterion_id: r for r in data.ratings}
    unknown = set(given) - set(crits)
    if unknown:
        raise ValidationError.single("ratings", "err.criterion_unknown")
    card = session.exec(
        select(Scorecard).where(Scorecard.interview_id == interview_id, Scorecard.interviewer_id == actor.id)
    ).first()
    was_submitted = card is not None and card.status == ScorecardStatus.submitted
    if submit or was_submitted:
        missing: dict[str, tuple[str, dict[str, Any]]]
        missing = {
            f"rating_{cid}": ("err.rating_required", {})
            for cid in crits
            if given.get(cid) is None or given[cid].rating is None
        }
        if data.recommendation is None:
            missing["recommendation"] = ("err.recommendation_required", {})
        if missing:
            raise ValidationError(missing)
        if utcnow() < interview.starts_at:
            raise InvalidTransition("err.interview_not_started")
    old = _snapshot(session, card) if card else None
    new = {
        "ratings": {str(cid): [r.rating, r.note] for cid, r in sorted(given.items())},
        "strengths": data.strengths,
        "weaknesses": data.weaknesses,
        "comments": data.comments,
        "recommendation": data.recommendation.value if data.recommendation else None,
    }
    if card is not None and (version is None or card.version != version):
        if was_submitted and submit and old == new:
            return card  # the second click of a double click
        raise Conflict("err.scorecard_changed")
    if was_submitted:
        if old == new:
            return card  # type: ignore[return-value]
        reason = " ".join((change_reason or "").split())
        if not reason:
            raise ValidationError.single("change_reason", "err.change_reason_required")
        if len(reason) > 1000:
            raise ValidationError.single("change_reason", "err.too_long", max=1000)
    now = utcnow()
    if card is None:
        card = Scorecard(interview_id=interview_id, interviewer_id=actor.id or 0, application_id=app.id or 0)
        try:
            with savepoint(session):
                session.add(card)
        except IntegrityError:  # the same person's first save from another tab got there first
            raise Conflict("err.scorecard_changed") from None
    else:
        result = session.exec(
            update(Scorecard)
            .where(col(Scorecard.id) == card.id, col(Scorecard.version) == card.version)
            .values(version=Scorecard.version + 1, updated_at=now)
        )
        if result.rowcount != 1:
            raise Conflict("err.scorecard_changed")
        session.refresh(card)
    card.strengths, card.weaknesses, card.comments = data.strengths, data.weaknesses, data.comments
    card.recommendation = data.recommendation.value if data.recommendation else None
    card.updated_at = now
    if submit and not was_submitted:
        card.status = ScorecardStatus.submitted
        card.submitted_at = now
        # The seat is no longer owed: My tasks, the interviewer's list and the reminder rule read this mark.
        session.exec(
            update(InterviewPanelist)
            .where(col(InterviewPanelist.interview_id) == interview_id, col(InterviewPanelist.user_id) == actor.id)
            .values(settled_at=now)
        )
    session.add(card)
    existing = {
        r.criterion_id: r for r in session.exec(select(ScorecardRating).where(ScorecardRating.scorecard_id == card.id))
    }
    for cid, rating in given.items():
        row = existing.get(cid) or ScorecardRating(scorecard_id=card.id or 0, criterion_id=cid)
        row.rating, row.note = rating.rating, rating.note
        session.add(row)
    action = "revise_after_submit" if was_submitted else ("submit" if submit else "save_draft")
    changes: dict[str, Any] = {"status": card.status}
    if was_submitted:
        changes = {"reason": change_reason.strip(), "before": old, "after": new}
    audit.record(
        session=session, actor=actor, entity="scorecard", entity_id=card.id or 0, action=action, changes=changes
    )
    session.flush()
    return card


def _snapshot(session: Session, card: Scorecard) -> dict[str, Any]:
    ratings = {
        str(r.criterion_id): [r.rating, r.note]
        for r in session.exec(
            select(ScorecardRating)
            .where(ScorecardRating.scorecard_id == card.id)
            .order_by(col(ScorecardRating.criterion_id))
        )
    }
    return {
        "ratings": ratings,
        "strengths": card.strengths,
        "weaknesses": card.weaknesses,
        "comments": card.comments,
        "recommendation": card.recommendation,
    }


# --------------------------------------------------------------------------- independence and debrief
def _visibility(session: Session, actor: User, job: Job, interview_ids: list[int]) -> dict[int, str | None]:
    """For each interview: None when the actor may see its panel's scorecards, else why not.

    Whoever sits on an interview's panel sees the other cards of THAT interview only once their own is
    submitted, whatever their role ("err.submit_first"); the cards of interviews they are not on follow their
    role: recruiters, admins and the job's hiring manager see them, anyone else does not ("err.not_on_panel").
    `actor` is the person as the database has them now (`require_current_cap`): being still named on a job does
    not keep a former manager's access.
    """
    if not interview_ids:
        return {}
    on = set(
        session.exec(
            select(InterviewPanelist.interview_id).where(
                col(InterviewPanelist.interview_id).in_(interview_ids), InterviewPanelist.user_id == actor.id
            )
        )
    )
    done = set(
        session.exec(
            select(Scorecard.interview_id).where(
                col(Scorecard.interview_id).in_(interview_ids),
                Scorecard.interviewer_id == actor.id,
                Scorecard.status == ScorecardStatus.submitted,
            )
        )
    )
    sees_all = sees_all_scorecards(actor, job)
    out: dict[int, str | None] = {}
    for iv_id in interview_ids:
        if iv_id in on:
            out[iv_id] = None if iv_id in done else "err.submit_first"
        else:
            out[iv_id] = None if sees_all else "err.not_on_panel"
    return out


def _refusal(actor: User, job: Job, visibility: dict[int, str | None]) -> NotAllowed:
    """Why someone sees no scorecard of an application, in words that help them."""
    if "err.submit_first" in visibility.values():
        return NotAllowed("err.submit_first")
    if has_scope(actor, Cap.read_debrief, Scope.JOB) and not manages(actor, job):
        return NotAllowed("err.not_your_job")
    return NotAllowed("err.not_on_panel")


def can_see_peers(*, session: Session, actor: User, application_id: int) -> bool:
    """True when the actor may open the application's debrief: they see every round (recruiter, admin, the job's
    hiring manager) or at least one interview's cards (they are on its panel and have submitted their own)."""
    actor = require_current_cap(session, actor, Cap.use_app)
    _, _, job = candidates.load_application(session, application_id)
    if sees_all_scorecards(actor, job):
        return True
    ids = list(
        session.exec(
            select(Interview.id).where(
                Interview.application_id == application_id, Interview.status == InterviewStatus.scheduled
            )
        )
    )
    return any(v is None for v in _visibility(session, actor, job, ids).values())  # type: ignore[arg-type]


@dataclass(frozen=True)
class DebriefCard:
    """One submitted scorecard as the debrief shows it."""

    scorecard: Scorecard
    interviewer: str
    scores: dict[int, int]  # criterion id -> rating, the rated ones only
    weighted: float | None  # see scoring.weighted_score
    notes: dict[int, str]  # criterion id -> note, the non-empty ones only


@dataclass(frozen=True)
class RoundDebrief:
    round: InterviewRound
    criteria: list[Criterion]
    cards: list[DebriefCard] = field(default_factory=list)  # one per submitted scorecard
    pending: list[str] = field(default_factory=list)  # panelists who have not submitted
    average: float | None = None
    spread: dict[int, int] = field(default_factory=dict)  # criterion id -> max - min
    disagreement: list[str] = field(default_factory=list)  # message keys
    # Interviews of this round whose cards the reader may not see yet, and why (a message key).
    hidden: int = 0
    hidden_reason: str | None = None

    @property
    def meets_bar(self) -> bool | None:
        return scoring.meets_bar(self.average, self.round.bar)


@dataclass(frozen=True)
class Debrief:
    """What the debrief screen shows (`debrief`)."""

    application: Application
    candidate: Candidate
    job: Job
    rounds: list[RoundDebrief]  # in the order of their first interview
    decisions: list[tuple[Decision, str]]  # with who decided, newest first
    can_decide: bool
    drafts: list[OutboxMessage]  # rejection mail waiting for review (recruiters and admins only)


def debrief(*, session: Session, actor: User, application_id: int) -> Debrief:
    """The submitted scorecards of an application side by side, per round: weighted averages against the bar,
    spread per criterion, disagreement, who has not submitted, and the decisions so far.

    Only the interviews the reader may see (see `_visibility`) contribute; a round's other interviews are
    counted in `hidden` with the reason."""
    actor = require_current_cap(session, actor, Cap.read_debrief)
    app, candidate, job = candidates.load_application(session, application_id)
    interviews = list(
        session.exec(
            select(Interview)
            .where(Interview.application_id == application_id, Interview.status == InterviewStatus.scheduled)
            .order_by(col(Interview.starts_at))
        )
    )
    visibility = _visibility(session, actor, job, [i.id for i in interviews])  # type: ignore[misc]
    if not sees_all_scorecards(actor, job) and not any(v is None for v in visibility.values()):
        raise _refusal(actor, job, visibility)
    iv_ids = [i.id for i in interviews if visibility[i.id or 0] is None]
    cards = (
        list(
            session.exec(
                select(Scorecard, User.name)
                .join(User, col(User.id) == Scorecard.interviewer_id)
                .where(col(Scorecard.interview_id).in_(iv_ids))
            )
        )
        if iv_ids
        else []
    )
    ratings: dict[int, dict[int, ScorecardRating]] = {}
    card_ids = [c.id for c, _ in cards]
    if card_ids:
        for r in session.exec(select(ScorecardRating).where(col(ScorecardRating.scorecard_id).in_(card_ids))):
            ratings.setdefault(r.scorecard_id, {})[r.criterion_id] = r
    panel = (
        list(
            session.exec(
                select(InterviewPanelist.interview_id, User.name, User.id)
                .join(User, col(User.id) == InterviewPanelist.user_id)
                .where(col(InterviewPanelist.interview_id).in_(iv_ids))
            )
        )
        if iv_ids
        else []
    )
    round_ids = list(dict.fromkeys(iv.round_id for iv in interviews))  # in interview order
    found = (
        {r.id: r for r in session.exec(select(InterviewRound).where(col(InterviewRound.id).in_(round_ids)))}
        if round_ids
        else {}
    )
    criteria = criteria_for_rounds(session=session, round_ids=round_ids, job_id=job.id)
    hidden: dict[int, tuple[int, str | None]] = {}  # round id -> (count, reason)
    for iv in interviews:
        reason = visibility[iv.id or 0]
        if reason is not None:
            count, before = hidden.get(iv.round_id, (0, None))
            hidden[iv.round_id] = (count + 1, "err.submit_first" if reason == "err.submit_first" else before or reason)
    round_of = {iv.id: iv.round_id for iv in interviews}
    submitted_by = {(c.interview_id, c.interviewer_id) for c, _ in cards if c.status == ScorecardStatus.submitted}
    pending: dict[int, list[str]] = {}
    for iv_id, name, uid in panel:
        if (iv_id, uid) not in submitted_by:
            pending.setdefault(round_of[iv_id], []).append(name)
    shown_cards: dict[int, list[DebriefCard]] = {}
    for card, name in cards:
        if card.status != ScorecardStatus.submitted:
            continue
        round_id = round_of[card.interview_id]
        given = ratings.get(card.id or 0, {})
        scores = {cid: r.rating for cid, r in given.items() if r.rating}
        weighted = scoring.weighted_score(scores, {c.id or 0: c.weight for c in criteria[round_id]})
        shown_cards.setdefault(round_id, []).append(
            DebriefCard(
                scorecard=card,
                interviewer=name,
                scores=scores,
                weighted=weighted,
                notes={cid: r.note for cid, r in given.items() if r.note},
            )
        )
    rounds = []
    for round_id in round_ids:
        round_cards = shown_cards.get(round_id, [])
        spread = scoring.spread([c.scores for c in round_cards], [c.id or 0 for c in criteria[round_id]])
        count, reason = hidden.get(round_id, (0, None))
        rounds.append(
            RoundDebrief(
                round=found[round_id],
                criteria=criteria[round_id],
                cards=round_cards,
                pending=pending.get(round_id, []),
                average=scoring.round_average(c.weighted for c in round_cards),
                spread=spread,
                disagreement=scoring.disagreement((c.scorecard.recommendation for c in round_cards), spread),
                hidden=count,
                hidden_reason=reason,
            )
        )
    decisions = list(
        session.exec(
            select(Decision, User.name)
            .join(User, col(User.id) == Decision.by_user_id)
            .where(Decision.application_id == application_id)
            .order_by(col(Decision.at).desc())
        )
    )
    # The rejection drafts (an interview confirmation waiting for review is the interviews page's business).
    drafts = (
        list(
            session.exec(
                select(OutboxMessage)
                .where(
                    OutboxMessage.application_id == application_id,
                    OutboxMessage.template == "rejection",
                    OutboxMessage.status == MailStatus.draft,
                )
                .order_by(col(OutboxMessage.id))
            )
        )
        if holds(actor, Cap.outbox)
        else []
    )
    return Debrief(
        application=app,
        candidate=candidate,
        job=job,
        rounds=rounds,
        decisions=decisions,
        can_decide=can_decide(actor, job),
        drafts=drafts,
    )


# --------------------------------------------------------------------------- decision
STAGE_FOR = {
    DecisionKind.advance: Stage.interviewing,
    DecisionKind.offer: Stage.offer,
    DecisionKind.reject: Stage.rejected,
    DecisionKind.hold: Stage.decision_pending,
}


def record_decision(
    *, session: Session, actor: User, application_id: int, decision_in: dict[str, Any], from_stage: str | None = None
) -> Decision:
    """Decide on an application (advance, offer, reject, hold) with a reason; moves its stage. A rejection
    prepares the rejection mail as a draft for the recruiter to review and send."""
    actor = require_current_cap(session, actor, Cap.decide)
    app, candidate, job = candidates.load_application(session, application_id)
    if not can_decide(actor, job):
        raise NotAllowed()
    data = validate(DecisionIn, decision_in)
    if from_stage is not None and from_stage != app.stage:
        raise Conflict("err.stage_changed", stage=app.stage)
    target = STAGE_FOR[data.kind]
    reason = data.reason_code + (f": {data.reason_text}" if data.reason_text else "")
    if target != app.stage:
        candidates.move_stage(
            session=session, actor=actor, application_id=application_id, to_stage=target, reason=reason
        )
    elif data.kind != DecisionKind.advance:
        raise InvalidTransition(from_stage=app.stage, to_stage=target.value)
    decision = Decision(
        application_id=application_id,
        kind=data.kind,
        reason_code=data.reason_code,
        reason_text=data.reason_text,
        by_user_id=actor.id or 0,
    )
    session.add(decision)
    session.flush()
    if data.kind == DecisionKind.reject and candidate.email:
        mail = queue_template(
            session=session,
            template="rejection",
            language=candidate.language,
            to=candidate.email,
            key=f"rejection:{application_id}:{decision.id}",
            draft=True,
            candidate_id=candidate.id,
            application_id=application_id,
            created_by=actor,
            # Signed by the recruiting team: whoever decided (a hiring manager, say) is not who writes to them.
            context={
                "candidate_name": candidate.name,
                "job_title": job.title,
                "team_name": team_signature(candidate.language),
            },
        )
        decision.mail_id = mail.id
        session.add(decision)
    audit.record(
        session=session,
        actor=actor,
        entity="application",
        entity_id=application_id,
        action="decision",
        changes={"kind": data.kind.value, "reason": reason},
    )
    session.flush()
    return decision
