"""Evaluate: rounds and criteria, scheduling with a panel, independent scorecards, the debrief and the decision.

Every test runs on SQLite and PostgreSQL with the clock frozen at T0 (2026-03-02 09:00 UTC); `interview_with_panel`
makes an application in `interviewing` with one interview and its panel (other test files import it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
import pytest
from sqlmodel import Session, select

from models.audit import AuditLog
from models.candidate import Application, Candidate, StageChange
from models.common import Stage
from models.evaluation import (
    Criterion,
    Decision,
    Interview,
    InterviewPanelist,
    InterviewRound,
    InterviewStatus,
    RatingIn,
    Scorecard,
    ScorecardRating,
    ScorecardStatus,
)
from models.job import Job
from models.mail import MailStatus, OutboxMessage
from models.user import User
from services.evaluate import evaluation
from services.mail.outbox import discard_draft, send_draft
from services.pipeline.candidates import move_stage
from services.platform.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationError
from tests.factories import Factory, done

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def _frozen(frozen_clock: Any) -> Any:
    return frozen_clock


# --------------------------------------------------------------------------- the factory helper
@dataclass
class Setup:
    """One interview of one application, with who scheduled it and who sits on its panel."""

    interview: Interview
    application: Application
    candidate: Candidate
    job: Job
    recruiter: User
    panel: list[User]
    criteria: list[Criterion] = field(default_factory=list)


def round_named(session: Session, actor: User, name_en: str) -> InterviewRound:
    return next(r for r in evaluation.list_rounds(session=session, actor=actor) if r.name_en == name_en)


def interview_with_panel(
    make: Factory,
    *,
    panel: int | list[User] = 2,
    starts: datetime = T0 - 3 * HOUR,
    minutes: int = 60,
    round_name: str = "Technical",
    recruiter: User | None = None,
    job: Job | None = None,
    application: Application | None = None,
    **candidate_values: Any,
) -> Setup:
    """An interview (by default 06:00–07:00 UTC, before T0) of a new application, scheduled by a recruiter, with
    `panel` new interviewers (or the users given)."""
    session = make.session
    recruiter = recruiter or make.user("recruiter")
    if application is None:
        job = job or make.job(actor=recruiter)
        candidate = make.candidate(actor=recruiter, job=job, **candidate_values)
        application = session.exec(select(Application).where(Application.candidate_id == candidate.id)).one()
    else:
        candidate = session.get(Candidate, application.candidate_id)
        job = session.get(Job, application.job_id)
    people = panel if isinstance(panel, list) else [make.user("interviewer") for _ in range(panel)]
    rnd = round_named(session, recruiter, round_name)
    interview = done(
        session,
        evaluation.schedule_interview(
            session=session,
            actor=recruiter,
            interview_in={
                "application_id": application.id,
                "round_id": rnd.id,
                "starts_at": starts,
                "ends_at": starts + timedelta(minutes=minutes),
                "mode": "video",
                "location": "https://meet.example.com/x",
                "interviewer_ids": [p.id for p in people],
            },
        ),
    )
    criteria = evaluation.criteria_for(session=session, round_id=rnd.id, job_id=job.id)
    return Setup(interview, application, candidate, job, recruiter, people, criteria)


def card(criteria: list[Criterion], scores: list[int | None], rec: str | None = "yes", **text: str) -> dict:
    return {
        "ratings": [
            {"criterion_id": c.id, "rating": s, "note": text.pop(f"note{i}", "")}
            for i, (c, s) in enumerate(zip(criteria, scores, strict=True))
        ],
        "recommendation": rec,
        **text,
    }


def submit(
    session: Session,
    who: User,
    setup: Setup,
    scores: list[int | None],
    rec: str | None = "yes",
    version: int | None = None,
    **text: str,
) -> Scorecard:
    """Submit `who`'s scorecard; `version` is the one their form was loaded with (None for a new card)."""
    return done(
        session,
        evaluation.save_scorecard(
            session=session,
            actor=who,
            interview_id=setup.interview.id,
            version=version,
            scorecard_in=card(setup.criteria, scores, rec, **text),
            submit=True,
        ),
    )


def audit_rows(session: Session, entity: str, entity_id: int) -> list[AuditLog]:
    return list(
        session.exec(
            select(AuditLog).where(AuditLog.entity == entity, AuditLog.entity_id == entity_id).order_by(AuditLog.id)
        )
    )


def panel_of(session: Session, interview: Interview) -> list[int]:
    return sorted(
        session.exec(select(InterviewPanelist.user_id).where(InterviewPanelist.interview_id == interview.id)).all()
    )


def candidate_mail(session: Session) -> list[OutboxMessage]:
    """Mail to candidates (the panel's calendar invitations left out)."""
    return list(
        session.exec(select(OutboxMessage).where(OutboxMessage.recipient_user_id.is_(None)).order_by(OutboxMessage.id))
    )


def fields_of(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {name: key for name, (key, _params) in exc.value.fields.items()}


# --------------------------------------------------------------------------- rounds and criteria
def test_the_default_rounds_are_created_on_first_use_each_with_three_weighted_criteria(session, make) -> None:
    admin = make.admin()
    rounds = evaluation.list_rounds(session=session, actor=admin)
    assert [(r.name_en, r.bar) for r in rounds] == [
        ("Phone screen", 3.0),
        ("Technical", 3.5),
        ("On-site", 3.5),
        ("HR", 3.0),
    ]
    crits = evaluation.criteria_for(session=session, round_id=rounds[1].id, job_id=None)
    assert [(c.name_en, c.weight) for c in crits] == [
        ("Professional skill", 2.0),
        ("Communication", 1.0),
        ("Teamwork", 1.0),
    ]
    assert crits[0].level5_en == "Deep mastery; solves hard problems and teaches others"
    evaluation.ensure_default_rounds(session=session)
    assert len(evaluation.list_rounds(session=session, actor=admin)) == 4


def test_only_an_admin_edits_rounds_and_a_bar_outside_one_to_five_is_refused(session, make) -> None:
    admin, recruiter = make.admin(), make.user("recruiter")
    with pytest.raises(NotAllowed):
        evaluation.save_round(session=session, actor=recruiter, round_in={"name_zh": "终面", "name_en": "Final"})
    with pytest.raises(ValidationError) as err:
        evaluation.save_round(session=session, actor=admin, round_in={"name_zh": "终面", "name_en": "Final", "bar": 6})
    assert fields_of(err) == {"bar": "err.out_of_range"}
    final = evaluation.save_round(
        session=session, actor=admin, round_in={"name_zh": " 终面 ", "name_en": "Final", "bar": 4, "position": 9}
    )
    assert (final.name_zh, final.bar) == ("终面", 4.0)
    evaluation.save_round(
        session=session,
        actor=admin,
        round_id=final.id,
        is_active=False,
        round_in={"name_zh": "终面", "name_en": "Final", "bar": 4, "position": 9},
    )
    assert "Final" not in [r.name_en for r in evaluation.list_rounds(session=session, actor=admin)]
    assert "Final" in [r.name_en for r in evaluation.list_rounds(session=session, actor=admin, active_only=False)]


def test_a_jobs_first_own_criterion_copies_the_rounds_defaults_and_then_replaces_them(session, make) -> None:
    admin = make.admin()
    job, other_job = make.job(actor=admin), make.job(actor=admin)
    technical = round_named(session, admin, "Technical")
    defaults = evaluation.criteria_for(session=session, round_id=technical.id, job_id=None)

    design = evaluation.save_criterion(
        session=session,
        actor=admin,
        round_id=technical.id,
        job_id=job.id,
        criterion_in={"name_zh": "系统设计", "name_en": "System design", "weight": 3, "position": 5},
    )
    override = evaluation.criteria_for(session=session, round_id=technical.id, job_id=job.id)
    assert [c.name_en for c in override] == ["Professional skill", "Communication", "Teamwork", "System design"]
    assert all(c.job_id == job.id for c in override)
    assert {c.id for c in override}.isdisjoint({c.id for c in defaults})
    assert [(c.weight, c.level1_zh, c.level5_en) for c in override[:3]] == [
        (c.weight, c.level1_zh, c.level5_en) for c in defaults
    ]

    evaluation.save_criterion(
        session=session,
        actor=admin,
        round_id=technical.id,
        job_id=job.id,
        criterion_in={"name_zh": "代码质量", "name_en": "Code quality", "position": 6},
    )
    assert len(evaluation.criteria_for(session=session, round_id=technical.id, job_id=job.id)) == 5  # copied once
    evaluation.remove_criterion(session=session, actor=admin, criterion_id=override[1].id)
    assert [c.name_en for c in evaluation.criteria_for(session=session, round_id=technical.id, job_id=job.id)] == [
        "Professional skill",
        "Teamwork",
        "System design",
        "Code quality",
    ]

    # The round's own set and every other job are untouched.
    assert evaluation.criteria_for(session=session, round_id=technical.id, job_id=None) == defaults
    assert evaluation.criteria_for(session=session, round_id=technical.id, job_id=other_job.id) == defaults
    assert design.weight == 3.0


def test_a_jobs_override_cannot_edit_the_rounds_shared_criterion(session, make) -> None:
    admin = make.admin()
    job = make.job(actor=admin)
    technical = round_named(session, admin, "Technical")
    shared = evaluation.criteria_for(session=session, round_id=technical.id, job_id=None)[0]
    with pytest.raises(NotFound):
        evaluation.save_criterion(
            session=session,
            actor=admin,
            round_id=technical.id,
            job_id=job.id,
            criterion_id=shared.id,
            criterion_in={"name_zh": "改了", "name_en": "Changed"},
        )
    session.refresh(shared)
    assert shared.name_en == "Professional skill"


def test_criteria_are_edited_by_an_admin_only_and_for_a_job_that_exists(session, make) -> None:
    admin, recruiter = make.admin(), make.user("recruiter")
    technical = round_named(session, admin, "Technical")
    new = {"name_zh": "系统设计", "name_en": "System design"}
    with pytest.raises(NotAllowed):
        evaluation.save_criterion(session=session, actor=recruiter, round_id=technical.id, criterion_in=new)
    with pytest.raises(ValidationError) as err:
        evaluation.save_criterion(session=session, actor=admin, round_id=technical.id, job_id=9999, criterion_in=new)
    assert fields_of(err) == {"job_id": "err.job_unknown"}
    with pytest.raises(ValidationError) as err:
        evaluation.save_criterion(
            session=session, actor=admin, round_id=technical.id, criterion_in={**new, "weight": 0}
        )
    assert fields_of(err) == {"weight": "err.out_of_range"}
    with pytest.raises(NotFound):
        evaluation.save_criterion(session=session, actor=admin, round_id=9999, criterion_in=new)


def test_a_scorecard_for_a_job_with_an_override_is_rated_on_the_overrides_criteria(session, make) -> None:
    admin = make.admin()
    job = make.job(actor=admin)
    technical = round_named(session, admin, "Technical")
    defaults = evaluation.criteria_for(session=session, round_id=technical.id, job_id=None)
    evaluation.save_criterion(
        session=session,
        actor=admin,
        round_id=technical.id,
        job_id=job.id,
        criterion_in={"name_zh": "系统设计", "name_en": "System design", "position": 3},
    )
    s = interview_with_panel(make, job=job, panel=1)
    assert [c.job_id for c in s.criteria] == [job.id] * 4

    with pytest.raises(ValidationError) as err:
        submit(session, s.panel[0], Setup(**{**s.__dict__, "criteria": defaults}), [4, 4, 4])
    assert fields_of(err) == {"ratings": "err.criterion_unknown"}
    opened = evaluation.open_scorecard(session=session, actor=s.panel[0], interview_id=s.interview.id)
    assert [c.name_en for c in opened.criteria][-1] == "System design"
    assert submit(session, s.panel[0], s, [4, 4, 4, 5]).status == ScorecardStatus.submitted


# --------------------------------------------------------------------------- scheduling
def schedule(session: Session, actor: User, s: Setup, **changes: Any) -> Interview:
    data = {
        "application_id": s.application.id,
        "round_id": s.interview.round_id,
        "starts_at": T0 + DAY,
        "ends_at": T0 + DAY + HOUR,
        "interviewer_ids": [p.id for p in s.panel],
    } | changes
    return done(session, evaluation.schedule_interview(session=session, actor=actor, interview_in=data))


def test_scheduling_records_the_panel_once_each_and_audits_it(session, make) -> None:
    s = interview_with_panel(make, panel=2)
    again = schedule(session, s.recruiter, s, interviewer_ids=[s.panel[0].id, s.panel[1].id, s.panel[0].id])
    panel = session.exec(select(InterviewPanelist.user_id).where(InterviewPanelist.interview_id == again.id)).all()
    assert sorted(panel) == sorted(p.id for p in s.panel)
    assert (again.status, again.version, again.created_by_id) == (InterviewStatus.scheduled, 1, s.recruiter.id)
    assert [a.action for a in audit_rows(session, "interview", again.id)] == ["create"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"ends_at": T0 + DAY - HOUR}, {"__all__": "err.end_before_start"}),
        ({"ends_at": T0 + DAY}, {"__all__": "err.end_before_start"}),
        ({"ends_at": T0 + DAY + 8 * HOUR + timedelta(minutes=1)}, {"__all__": "err.interview_too_long"}),
        (
            {"starts_at": datetime(2026, 3, 3, 9, 0), "ends_at": datetime(2026, 3, 3, 10, 0)},
            {"__all__": "err.timezone_required"},
        ),
        ({"interviewer_ids": []}, {"interviewer_ids": "err.not_an_interviewer"}),
        ({"interviewer_ids": [9999]}, {"interviewer_ids": "err.not_an_interviewer"}),
        ({"round_id": 9999}, {"round_id": "err.round_unknown"}),
        ({"mode": "carrier pigeon"}, {"mode": "err.choice_invalid"}),
    ],
)
def test_scheduling_refuses_bad_times_an_empty_panel_and_unknown_rounds(session, make, changes, expected) -> None:
    s = interview_with_panel(make, panel=1)
    with pytest.raises(ValidationError) as err:
        schedule(session, s.recruiter, s, **changes)
    assert fields_of(err) == expected
    assert len(session.exec(select(Interview)).all()) == 1


def test_an_interview_of_exactly_eight_hours_is_allowed(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    assert schedule(session, s.recruiter, s, ends_at=T0 + DAY + 8 * HOUR).id


def test_a_panelist_without_a_panel_role_or_no_longer_active_is_refused(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    roleless = make.user("")
    gone = make.user("interviewer", is_active=False)
    for person in (roleless, gone):
        with pytest.raises(ValidationError) as err:
            schedule(session, s.recruiter, s, interviewer_ids=[s.panel[0].id, person.id])
        assert fields_of(err) == {"interviewer_ids": "err.not_an_interviewer"}
    hm, recruiter = make.user("hiring_manager"), make.user("recruiter")
    assert schedule(session, s.recruiter, s, interviewer_ids=[hm.id, recruiter.id]).id


def test_an_application_past_interviewing_cannot_get_an_interview(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    move_stage(session=session, actor=s.recruiter, application_id=s.application.id, to_stage=Stage.offer)
    with pytest.raises(ValidationError) as err:
        schedule(session, s.recruiter, s)
    assert fields_of(err) == {"application_id": "err.application_not_interviewing"}
    with pytest.raises(NotFound):
        schedule(session, s.recruiter, s, application_id=9999)


def test_only_recruiters_and_admins_schedule_interviews(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    for who in (s.panel[0], make.user("hiring_manager")):
        with pytest.raises(NotAllowed):
            schedule(session, who, s)
    assert schedule(session, make.admin(), s).id


def reschedule(session: Session, actor: User, s: Setup, version: int, **changes: Any) -> Interview:
    data = {
        "round_id": s.interview.round_id,
        "starts_at": T0 + 2 * DAY,
        "ends_at": T0 + 2 * DAY + HOUR,
        "mode": "onsite",
        "location": "会议室 3",
        "interviewer_ids": [p.id for p in s.panel],
    } | changes
    return done(
        session,
        evaluation.reschedule_interview(
            session=session, actor=actor, interview_id=s.interview.id, version=version, interview_in=data
        ),
    )


def test_rescheduling_moves_the_interview_changes_the_panel_and_bumps_the_version(session, make) -> None:
    s = interview_with_panel(make, panel=2)
    newcomer = make.user("interviewer")
    moved = reschedule(session, s.recruiter, s, 1, interviewer_ids=[s.panel[0].id, newcomer.id])
    assert (moved.starts_at, moved.location, moved.version) == (T0 + 2 * DAY, "会议室 3", 2)
    panel = session.exec(select(InterviewPanelist.user_id).where(InterviewPanelist.interview_id == moved.id)).all()
    assert sorted(panel) == sorted([s.panel[0].id, newcomer.id])
    assert [a.action for a in audit_rows(session, "interview", moved.id)] == ["create", "reschedule"]


def test_rescheduling_from_a_stale_version_is_a_conflict_and_changes_nothing(session, make) -> None:
    s = interview_with_panel(make, panel=2)
    reschedule(session, s.recruiter, s, 1)
    with pytest.raises(Conflict):
        reschedule(
            session,
            s.recruiter,
            s,
            1,
            starts_at=T0 + 3 * DAY,
            ends_at=T0 + 3 * DAY + HOUR,
            interviewer_ids=[s.panel[0].id],
        )
    session.refresh(s.interview)
    assert (s.interview.starts_at, s.interview.version) == (T0 + 2 * DAY, 2)
    assert len(panel_of(session, s.interview)) == 2


def test_rescheduling_into_an_unknown_round_is_refused(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    with pytest.raises(ValidationError) as err:
        reschedule(session, s.recruiter, s, 1, round_id=9999)
    assert fields_of(err) == {"round_id": "err.round_unknown"}
    session.refresh(s.interview)
    assert s.interview.version == 1


def test_an_interview_may_keep_a_retired_round_but_not_move_into_one(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    admin = make.admin()
    technical, hr = round_named(session, admin, "Technical"), round_named(session, admin, "HR")
    for rnd in (technical, hr):
        evaluation.save_round(
            session=session,
            actor=admin,
            round_id=rnd.id,
            is_active=False,
            round_in={"name_zh": rnd.name_zh, "name_en": rnd.name_en, "bar": rnd.bar},
        )
    assert reschedule(session, s.recruiter, s, 1).version == 2
    with pytest.raises(ValidationError) as err:
        reschedule(session, s.recruiter, s, 2, round_id=hr.id)
    assert fields_of(err) == {"round_id": "err.round_unknown"}
    with pytest.raises(ValidationError) as err:
        schedule(session, s.recruiter, s)
    assert fields_of(err) == {"round_id": "err.round_unknown"}


def test_a_panelist_who_has_started_a_scorecard_cannot_be_removed_from_the_panel(session, make) -> None:
    s = interview_with_panel(make, panel=2)
    done(
        session,
        evaluation.save_scorecard(
            session=session,
            actor=s.panel[1],
            interview_id=s.interview.id,
            scorecard_in=card(s.criteria, [3, None, None], None),
        ),
    )
    with pytest.raises(ValidationError) as err:
        reschedule(session, s.recruiter, s, 1, interviewer_ids=[s.panel[0].id])
    session.rollback()  # as the page does with a refused action
    assert fields_of(err) == {"interviewer_ids": "err.panelist_has_scorecard"}
    session.refresh(s.interview)
    assert (s.interview.starts_at, s.interview.version) == (T0 - 3 * HOUR, 1)
    assert len(panel_of(session, s.interview)) == 2


def test_cancel_and_no_show_are_only_possible_from_scheduled(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    with pytest.raises(InvalidTransition):
        evaluation.set_interview_status(
            session=session, actor=s.recruiter, interview_id=s.interview.id, status=InterviewStatus.scheduled
        )
    cancelled = evaluation.set_interview_status(
        session=session,
        actor=s.recruiter,
        interview_id=s.interview.id,
        status=InterviewStatus.cancelled,
        reason="候选人改期",
    )
    assert (cancelled.status, cancelled.version) == (InterviewStatus.cancelled, 2)
    with pytest.raises(InvalidTransition) as err:
        evaluation.set_interview_status(
            session=session, actor=s.recruiter, interview_id=s.interview.id, status=InterviewStatus.no_show
        )
    assert err.value.params == {"status": "cancelled"}
    with pytest.raises(InvalidTransition):
        reschedule(session, s.recruiter, s, 2)
    with pytest.raises(InvalidTransition):
        submit(session, s.panel[0], s, [4, 4, 4])
    with pytest.raises(NotFound):
        evaluation.set_interview_status(
            session=session, actor=s.recruiter, interview_id=9999, status=InterviewStatus.cancelled
        )
    other = interview_with_panel(make, panel=1)
    with pytest.raises(NotAllowed):
        evaluation.set_interview_status(
            session=session, actor=other.panel[0], interview_id=other.interview.id, status=InterviewStatus.no_show
        )
    no_show = evaluation.set_interview_status(
        session=session, actor=other.recruiter, interview_id=other.interview.id, status=InterviewStatus.no_show
    )
    assert no_show.status == InterviewStatus.no_show
    assert [a.action for a in audit_rows(session, "interview", s.interview.id)] == ["create", "cancelled"]


def test_my_interviews_lists_what_is_coming_and_what_still_awaits_my_scorecard(session, make, frozen_clock) -> None:
    me = make.user("interviewer", name="李娜")
    colleague = make.user("interviewer")
    ended = interview_with_panel(make, panel=[me, colleague], starts=T0 - 3 * HOUR)
    drafted = interview_with_panel(make, panel=[me], starts=T0 - DAY)
    done = interview_with_panel(make, panel=[me], starts=T0 - 2 * DAY)
    running = interview_with_panel(make, panel=[me], starts=T0 - timedelta(minutes=30))
    tomorrow = interview_with_panel(make, panel=[me, colleague], starts=T0 + DAY)
    cancelled = interview_with_panel(make, panel=[me], starts=T0 + 2 * DAY)
    interview_with_panel(make, panel=[colleague], starts=T0 + DAY + 2 * HOUR)  # not mine (colleague: back to back)
    evaluation.save_scorecard(
        session=session,
        actor=me,
        interview_id=drafted.interview.id,
        scorecard_in=card(drafted.criteria, [4, None, None], None),
    )
    submit(session, me, done, [4, 4, 4])
    evaluation.set_interview_status(
        session=session,
        actor=cancelled.recruiter,
        interview_id=cancelled.interview.id,
        status=InterviewStatus.cancelled,
    )

    mine = evaluation.my_interviews(session=session, actor=me)
    assert [r.interview.id for r in mine.awaiting] == [drafted.interview.id, ended.interview.id, running.interview.id]
    assert [r.my_status for r in mine.awaiting] == ["draft", None, None]
    assert [r.interview.id for r in mine.upcoming] == [running.interview.id, tomorrow.interview.id]
    row = mine.upcoming[1]
    assert (row.candidate, row.job, row.round_en, row.panel) == (
        tomorrow.candidate.name,
        tomorrow.job.title,
        "Technical",
        sorted([me.name, colleague.name]),
    )
    assert done.interview.id not in [r.interview.id for r in mine.awaiting + mine.upcoming]

    frozen_clock.set(T0 + DAY + 2 * HOUR)
    later = evaluation.my_interviews(session=session, actor=me)
    assert tomorrow.interview.id in [r.interview.id for r in later.awaiting]
    assert later.upcoming == []


def test_a_scorecard_submitted_during_the_interview_takes_it_off_my_lists_and_others_stay(
    session, make, frozen_clock
) -> None:
    """Upcoming is read from the seats still owing a scorecard: one submitted before the interview ended is done,
    neither upcoming nor awaiting; the colleague's seat on it stays upcoming for them, in start order."""
    me, colleague = make.user("interviewer"), make.user("interviewer")
    running = interview_with_panel(make, panel=[me, colleague], starts=T0 - timedelta(minutes=30))
    later = interview_with_panel(make, panel=[me, colleague], starts=T0 + 3 * HOUR)
    for n in range(5):  # interviews not mine, starting before mine
        interview_with_panel(make, panel=[make.user("interviewer")], starts=T0 + timedelta(minutes=10 * n))
    submit(session, me, running, [4, 4, 4])

    mine = evaluation.my_interviews(session=session, actor=me)
    assert [r.interview.id for r in mine.upcoming] == [later.interview.id]
    assert running.interview.id not in [r.interview.id for r in mine.awaiting]
    theirs = evaluation.my_interviews(session=session, actor=colleague)
    assert [r.interview.id for r in theirs.upcoming] == [running.interview.id, later.interview.id]


def test_the_recruiters_week_lists_every_interview_starting_in_it(session, make) -> None:
    s = interview_with_panel(make, panel=1, starts=T0 + DAY)
    interview_with_panel(make, panel=1, starts=T0 + 8 * DAY)
    week = evaluation.list_interviews(session=session, actor=s.recruiter, start=T0, end=T0 + 7 * DAY)
    assert [r.interview.id for r in week] == [s.interview.id]
    with pytest.raises(NotAllowed):
        evaluation.list_interviews(session=session, actor=s.panel[0], start=T0, end=T0 + 7 * DAY)


# --------------------------------------------------------------------------- scorecards
def test_someone_not_on_the_panel_can_neither_open_nor_write_the_scorecard(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    for outsider in (make.user("interviewer"), s.recruiter):
        with pytest.raises(NotAllowed) as err:
            evaluation.open_scorecard(session=session, actor=outsider, interview_id=s.interview.id)
        assert err.value.key == "err.not_on_panel"
        with pytest.raises(NotAllowed):
            submit(session, outsider, s, [4, 4, 4])
    assert session.exec(select(Scorecard)).all() == []
    with pytest.raises(NotFound):
        evaluation.open_scorecard(session=session, actor=s.panel[0], interview_id=9999)


def test_a_panelist_opens_the_scorecard_with_the_criteria_and_their_levels(session, make) -> None:
    s = interview_with_panel(make, panel=2)
    opened = evaluation.open_scorecard(session=session, actor=s.panel[0], interview_id=s.interview.id)
    assert opened.scorecard is None and opened.ratings == {}
    assert [c.name_en for c in opened.criteria] == ["Professional skill", "Communication", "Teamwork"]
    assert (opened.candidate.id, opened.round.name_en) == (s.candidate.id, "Technical")
    assert opened.panel == sorted(p.name for p in s.panel)


@pytest.mark.parametrize("rating", [0, 6])
def test_ratings_outside_one_to_five_are_refused(session, make, rating) -> None:
    s = interview_with_panel(make, panel=1)
    with pytest.raises(pydantic.ValidationError):
        RatingIn(criterion_id=s.criteria[0].id, rating=rating)
    for as_submit in (False, True):
        with pytest.raises(ValidationError) as err:
            evaluation.save_scorecard(
                session=session,
                actor=s.panel[0],
                interview_id=s.interview.id,
                scorecard_in=card(s.criteria, [rating, 3, 3]),
                submit=as_submit,
            )
        assert fields_of(err) == {"ratings": "err.out_of_range"}
    assert session.exec(select(Scorecard)).all() == []


def test_a_submission_needs_every_criterion_rated_and_a_recommendation(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    skill, comm, team = s.criteria
    with pytest.raises(ValidationError) as err:
        submit(session, s.panel[0], s, [4, None, 4], rec=None)
    assert fields_of(err) == {
        f"rating_{comm.id}": "err.rating_required",
        "recommendation": "err.recommendation_required",
    }
    with pytest.raises(ValidationError) as err:  # a criterion left out altogether counts as unrated too
        evaluation.save_scorecard(
            session=session,
            actor=s.panel[0],
            interview_id=s.interview.id,
            submit=True,
            scorecard_in=card([skill, comm], [4, 4], "yes"),
        )
    assert fields_of(err) == {f"rating_{team.id}": "err.rating_required"}
    assert session.exec(select(Scorecard)).all() == []


def test_a_draft_may_be_incomplete_and_is_kept_with_its_ratings(session, make) -> None:
    s = interview_with_panel(make, panel=1, starts=T0 + DAY)  # drafts are fine before the interview
    draft = evaluation.save_scorecard(
        session=session,
        actor=s.panel[0],
        interview_id=s.interview.id,
        scorecard_in=card(s.criteria, [4, None, None], None, strengths="  思路清晰 ", note0="讲清了索引"),
    )
    assert (draft.status, draft.version, draft.strengths, draft.submitted_at) == ("draft", 1, "思路清晰", None)
    opened = evaluation.open_scorecard(session=session, actor=s.panel[0], interview_id=s.interview.id)
    assert opened.scorecard.id == draft.id
    assert {cid: (r.rating, r.note) for cid, r in opened.ratings.items()} == {
        s.criteria[0].id: (4, "讲清了索引"),
        s.criteria[1].id: (None, ""),
        s.criteria[2].id: (None, ""),
    }
    again = evaluation.save_scorecard(
        session=session,
        actor=s.panel[0],
        interview_id=s.interview.id,
        version=1,
        scorecard_in=card(s.criteria, [4, 3, None], "no"),
    )
    assert (again.id, again.version, again.recommendation) == (draft.id, 2, "no")
    assert [a.action for a in audit_rows(session, "scorecard", draft.id)] == ["save_draft", "save_draft"]


def test_submitting_before_the_interview_has_started_is_refused(session, make, frozen_clock) -> None:
    s = interview_with_panel(make, panel=1, starts=T0 + HOUR)
    with pytest.raises(InvalidTransition) as err:
        submit(session, s.panel[0], s, [4, 4, 4])
    assert err.value.key == "err.interview_not_started"
    assert session.exec(select(Scorecard)).all() == []
    frozen_clock.set(T0 + HOUR)
    assert submit(session, s.panel[0], s, [4, 4, 4]).status == ScorecardStatus.submitted


def test_submitting_locks_the_card_and_is_audited(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    sent = submit(session, s.panel[0], s, [5, 4, 3], rec="strong_yes", comments="推荐")
    assert (sent.status, sent.recommendation, sent.submitted_at, sent.version) == ("submitted", "strong_yes", T0, 1)
    stored = session.exec(
        select(ScorecardRating.criterion_id, ScorecardRating.rating).where(ScorecardRating.scorecard_id == sent.id)
    ).all()
    assert sorted(stored) == sorted(zip([c.id for c in s.criteria], [5, 4, 3], strict=True))
    [row] = audit_rows(session, "scorecard", sent.id)
    assert (row.action, row.user_id, json.loads(row.changes)) == ("submit", s.panel[0].id, {"status": "submitted"})


def test_a_change_after_submitting_needs_a_reason_is_audited_and_the_card_stays_submitted(
    session, make, frozen_clock
) -> None:
    s = interview_with_panel(make, panel=1)
    me = s.panel[0]
    sent = submit(session, me, s, [4, 3, 3], rec="yes")
    frozen_clock.set(T0 + HOUR)
    changed = card(s.criteria, [2, 3, 3], "no", weaknesses="复盘后发现基础不牢")
    for reason in ("", "   "):
        with pytest.raises(ValidationError) as err:
            evaluation.save_scorecard(
                session=session,
                actor=me,
                interview_id=s.interview.id,
                version=sent.version,
                scorecard_in=changed,
                change_reason=reason,
            )
        assert fields_of(err) == {"change_reason": "err.change_reason_required"}
    with pytest.raises(ValidationError) as err:
        evaluation.save_scorecard(
            session=session,
            actor=me,
            interview_id=s.interview.id,
            version=sent.version,
            scorecard_in=changed,
            change_reason="x" * 1001,
        )
    assert fields_of(err) == {"change_reason": "err.too_long"}
    with pytest.raises(ValidationError) as err:  # a submitted card must stay complete
        evaluation.save_scorecard(
            session=session,
            actor=me,
            interview_id=s.interview.id,
            version=sent.version,
            scorecard_in=card(s.criteria, [2, None, 3], "no"),
            change_reason="复盘",
        )
    assert fields_of(err) == {f"rating_{s.criteria[1].id}": "err.rating_required"}

    revised = evaluation.save_scorecard(
        session=session,
        actor=me,
        interview_id=s.interview.id,
        version=sent.version,
        scorecard_in=changed,
        change_reason="  和同事复盘后修正 ",
    )
    assert (revised.status, revised.recommendation, revised.version) == ("submitted", "no", 2)
    assert (revised.submitted_at, revised.updated_at) == (T0, T0 + HOUR)
    rows = audit_rows(session, "scorecard", sent.id)
    assert [r.action for r in rows] == ["submit", "revise_after_submit"]
    changes = json.loads(rows[-1].changes)
    skill = str(s.criteria[0].id)
    assert changes["reason"] == "和同事复盘后修正"
    assert (changes["before"]["ratings"][skill], changes["after"]["ratings"][skill]) == ([4, ""], [2, ""])
    assert (changes["before"]["recommendation"], changes["after"]["recommendation"]) == ("yes", "no")
    assert changes["after"]["weaknesses"] == "复盘后发现基础不牢"


def test_saving_a_submitted_card_unchanged_needs_no_reason_and_writes_nothing(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    sent = submit(session, s.panel[0], s, [4, 3, 3])
    same = evaluation.save_scorecard(
        session=session,
        actor=s.panel[0],
        interview_id=s.interview.id,
        version=sent.version,
        scorecard_in=card(s.criteria, [4, 3, 3]),
    )
    assert (same.id, same.version) == (sent.id, 1)
    assert len(audit_rows(session, "scorecard", sent.id)) == 1


@pytest.mark.parametrize(("draft_first", "form_version"), [(False, None), (True, 1)])
def test_a_double_click_on_submit_returns_the_submitted_card_and_audits_once(
    session, make, draft_first, form_version
) -> None:
    s = interview_with_panel(make, panel=1)
    me = s.panel[0]
    if draft_first:
        evaluation.save_scorecard(
            session=session, actor=me, interview_id=s.interview.id, scorecard_in=card(s.criteria, [4, None, None], None)
        )
    first = submit(session, me, s, [4, 4, 3], version=form_version)
    assert first.status == "submitted"
    version = first.version
    # The second click carries the same form: its version is now stale (or None, when the card was new).
    second = submit(session, me, s, [4, 4, 3], version=form_version)
    assert (second.id, second.status, second.version, second.submitted_at) == (first.id, "submitted", version, T0)
    actions = [a.action for a in audit_rows(session, "scorecard", first.id)]
    assert actions == (["save_draft", "submit"] if draft_first else ["submit"])
    assert len(session.exec(select(Scorecard)).all()) == 1


def test_a_second_submit_with_different_content_from_a_stale_form_is_a_conflict(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    submit(session, s.panel[0], s, [4, 4, 3])
    with pytest.raises(Conflict):
        submit(session, s.panel[0], s, [5, 4, 3])
    with pytest.raises(Conflict):
        evaluation.save_scorecard(
            session=session,
            actor=s.panel[0],
            interview_id=s.interview.id,
            version=None,
            scorecard_in=card(s.criteria, [5, 4, 3]),
            change_reason="改主意",
        )


def test_saving_a_draft_from_a_stale_version_is_a_conflict(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    me = s.panel[0]
    evaluation.save_scorecard(
        session=session, actor=me, interview_id=s.interview.id, scorecard_in=card(s.criteria, [4, None, None], None)
    )
    evaluation.save_scorecard(
        session=session,
        actor=me,
        interview_id=s.interview.id,
        version=1,
        scorecard_in=card(s.criteria, [4, 3, None], None),
    )  # another tab
    for stale in (1, None):
        with pytest.raises(Conflict) as err:
            evaluation.save_scorecard(
                session=session,
                actor=me,
                interview_id=s.interview.id,
                version=stale,
                scorecard_in=card(s.criteria, [2, 2, 2], None),
            )
        assert err.value.key == "err.scorecard_changed"
    kept = session.exec(select(ScorecardRating.rating).where(ScorecardRating.criterion_id == s.criteria[0].id)).one()
    assert kept == 4


# --------------------------------------------------------------------------- independence and debrief
def test_an_interviewer_sees_no_peer_scorecards_until_submitting_their_own(session, make) -> None:
    s = interview_with_panel(make, panel=2)
    first, second = s.panel
    submit(session, first, s, [5, 4, 4], rec="strong_yes")
    evaluation.save_scorecard(
        session=session, actor=second, interview_id=s.interview.id, scorecard_in=card(s.criteria, [2, 2, 2], "no")
    )
    assert not evaluation.can_see_peers(session=session, actor=second, application_id=s.application.id)
    with pytest.raises(NotAllowed) as err:
        evaluation.debrief(session=session, actor=second, application_id=s.application.id)
    assert err.value.key == "err.submit_first"
    mine = evaluation.open_scorecard(session=session, actor=second, interview_id=s.interview.id)
    assert mine.scorecard.interviewer_id == second.id  # only ever their own

    submit(session, second, s, [2, 2, 2], rec="no", version=1)
    assert evaluation.can_see_peers(session=session, actor=second, application_id=s.application.id)
    seen = evaluation.debrief(session=session, actor=second, application_id=s.application.id)
    assert sorted(c.interviewer for c in seen.rounds[0].cards) == sorted([first.name, second.name])
    assert seen.drafts == [] and not seen.can_decide


def test_submitting_for_one_round_opens_the_debrief_but_not_a_round_one_is_not_on(session, make) -> None:
    s = interview_with_panel(make, panel=2)
    later = interview_with_panel(
        make, panel=1, application=s.application, recruiter=s.recruiter, round_name="On-site", starts=T0 - HOUR
    )
    submit(session, s.panel[0], s, [4, 4, 4])
    assert not evaluation.can_see_peers(session=session, actor=later.panel[0], application_id=s.application.id)
    submit(session, later.panel[0], later, [3, 3, 3])
    seen = evaluation.debrief(session=session, actor=later.panel[0], application_id=s.application.id)
    assert [rd.round.name_en for rd in seen.rounds] == ["Technical", "On-site"]
    technical, on_site = seen.rounds
    assert (technical.cards, technical.hidden) == ([], 1)  # issue 8: an interviewer sees only their interviews
    assert [c.interviewer for c in on_site.cards] == [later.panel[0].name]


def test_recruiters_admins_and_the_jobs_hiring_manager_see_every_submitted_card(session, make) -> None:
    hm, other_hm = make.user("hiring_manager"), make.user("hiring_manager")
    recruiter = make.user("recruiter")
    job = make.job(actor=recruiter, hiring_manager_id=hm.id)
    s = interview_with_panel(make, panel=2, job=job, recruiter=recruiter)
    submit(session, s.panel[0], s, [4, 4, 4])
    for viewer in (recruiter, make.user("recruiter"), make.admin(), hm):
        assert evaluation.can_see_peers(session=session, actor=viewer, application_id=s.application.id)
        seen = evaluation.debrief(session=session, actor=viewer, application_id=s.application.id)
        assert [c.interviewer for c in seen.rounds[0].cards] == [s.panel[0].name]
        assert seen.can_decide
    assert not evaluation.can_see_peers(session=session, actor=other_hm, application_id=s.application.id)
    with pytest.raises(NotAllowed):
        evaluation.debrief(session=session, actor=other_hm, application_id=s.application.id)
    with pytest.raises(NotAllowed):
        evaluation.debrief(session=session, actor=make.user("interviewer"), application_id=s.application.id)
    with pytest.raises(NotFound):
        evaluation.debrief(session=session, actor=recruiter, application_id=9999)


def test_drafts_never_appear_in_the_debrief_and_their_authors_are_pending(session, make) -> None:
    s = interview_with_panel(make, panel=3)
    a, b, c = s.panel
    submit(session, a, s, [4, 4, 4])
    evaluation.save_scorecard(
        session=session, actor=b, interview_id=s.interview.id, scorecard_in=card(s.criteria, [1, 1, 1], "strong_no")
    )
    [rd] = evaluation.debrief(session=session, actor=s.recruiter, application_id=s.application.id).rounds
    assert [x.interviewer for x in rd.cards] == [a.name]
    assert sorted(rd.pending) == sorted([b.name, c.name])
    assert (rd.average, rd.spread, rd.disagreement) == (4.0, {}, [])


def test_the_debrief_weighs_each_card_compares_the_average_with_the_bar_and_flags_disagreement(session, make) -> None:
    s = interview_with_panel(make, panel=3)
    keen, doubtful, silent = s.panel
    skill, comm, team = s.criteria
    submit(session, keen, s, [5, 3, 3], rec="strong_yes", note0="系统设计很扎实")
    submit(session, doubtful, s, [2, 2, 4], rec="no")
    seen = evaluation.debrief(session=session, actor=s.recruiter, application_id=s.application.id)
    [rd] = seen.rounds
    weighted = {x.interviewer: x.weighted for x in rd.cards}
    assert weighted == {keen.name: 4.0, doubtful.name: 2.5}  # professional skill counts twice
    assert (rd.average, rd.round.bar, rd.meets_bar) == (3.25, 3.5, False)
    assert rd.spread == {skill.id: 3, comm.id: 1, team.id: 1}
    assert rd.disagreement == ["debrief.split_recommendation", "debrief.criterion_spread"]
    assert rd.pending == [silent.name]
    keen_card = next(x for x in rd.cards if x.interviewer == keen.name)
    assert keen_card.notes == {skill.id: "系统设计很扎实"}
    assert keen_card.scores == {skill.id: 5, comm.id: 3, team.id: 3}


def test_an_agreeing_panel_above_the_bar_raises_no_flags(session, make) -> None:
    s = interview_with_panel(make, panel=2, round_name="Phone screen")
    submit(session, s.panel[0], s, [4, 3, 3], rec="yes")
    submit(session, s.panel[1], s, [3, 4, 4], rec="strong_yes")
    [rd] = evaluation.debrief(session=session, actor=s.recruiter, application_id=s.application.id).rounds
    assert (rd.average, rd.round.bar, rd.meets_bar) == (3.5, 3.0, True)
    assert (rd.disagreement, rd.pending) == ([], [])


def test_cancelled_interviews_are_left_out_of_the_debrief(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    gone = interview_with_panel(
        make, panel=1, application=s.application, recruiter=s.recruiter, round_name="HR", starts=T0 + DAY
    )
    evaluation.set_interview_status(
        session=session, actor=s.recruiter, interview_id=gone.interview.id, status=InterviewStatus.cancelled
    )
    submit(session, s.panel[0], s, [4, 4, 4])
    rounds = evaluation.debrief(session=session, actor=s.recruiter, application_id=s.application.id).rounds
    assert [rd.round.name_en for rd in rounds] == ["Technical"]


# --------------------------------------------------------------------------- decisions
def decide(
    session: Session, actor: User, s: Setup, kind: str, code: str, text: str = "", from_stage: str | None = None
) -> Decision:
    return done(
        session,
        evaluation.record_decision(
            session=session,
            actor=actor,
            application_id=s.application.id,
            decision_in={"kind": kind, "reason_code": code, "reason_text": text},
            from_stage=from_stage,
        ),
    )


def stage_of(session: Session, s: Setup) -> str:
    session.refresh(s.application)
    return s.application.stage


def test_an_offer_moves_the_application_to_offer_with_the_reason_on_record(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    made = decide(session, s.recruiter, s, "offer", "strong_panel", from_stage="interviewing")
    assert (made.kind, made.reason_code, made.by_user_id, made.mail_id) == (
        "offer",
        "strong_panel",
        s.recruiter.id,
        None,
    )
    assert stage_of(session, s) == Stage.offer
    move = session.exec(
        select(StageChange).where(StageChange.application_id == s.application.id).order_by(StageChange.id)
    ).all()[-1]
    assert (move.from_stage, move.to_stage, move.reason) == ("interviewing", "offer", "strong_panel")
    assert candidate_mail(session) == []


def test_hold_then_advance_goes_to_decision_pending_and_back_to_interviewing(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    decide(session, s.recruiter, s, "hold", "other", "等预算批下来")
    assert stage_of(session, s) == Stage.decision_pending
    with pytest.raises(InvalidTransition):  # holding what is already on hold is not a decision
        decide(session, s.recruiter, s, "hold", "headcount_pending")
    decide(session, s.recruiter, s, "advance", "needs_more_signal", from_stage="decision_pending")
    assert stage_of(session, s) == Stage.interviewing
    decide(session, s.recruiter, s, "advance", "meets_bar")  # advancing within interviewing is recorded only
    assert stage_of(session, s) == Stage.interviewing
    seen = evaluation.debrief(session=session, actor=s.recruiter, application_id=s.application.id)
    assert sorted((d.id, d.kind, d.reason_code, d.reason_text) for d, _name in seen.decisions) == [
        (1, "hold", "other", "等预算批下来"),
        (2, "advance", "needs_more_signal", ""),
        (3, "advance", "meets_bar", ""),
    ]
    moves = session.exec(
        select(StageChange.to_stage).where(StageChange.application_id == s.application.id).order_by(StageChange.id)
    ).all()
    assert moves == ["interviewing", "decision_pending", "interviewing"]


@pytest.mark.parametrize(
    ("language", "subject", "greeting"),
    [
        ("en", "Your application for Backend Engineer", "Dear Zhang Wei,"),
        ("zh", "关于「Backend Engineer」职位的面试结果", "Zhang Wei，您好："),
    ],
)
def test_a_rejection_prepares_a_draft_mail_in_the_candidates_language(
    session, make, language, subject, greeting
) -> None:
    recruiter = make.user("recruiter", name="王芳")
    job = make.job(actor=recruiter, title="Backend Engineer")
    s = interview_with_panel(
        make, panel=1, job=job, recruiter=recruiter, name="Zhang Wei", language=language, email="zhang.wei@example.com"
    )
    made = decide(session, recruiter, s, "reject", "skills_below_bar")
    assert stage_of(session, s) == Stage.rejected
    [mail] = candidate_mail(session)
    assert made.mail_id == mail.id
    assert (mail.status, mail.language, mail.template, mail.to_addrs) == (
        MailStatus.draft,
        language,
        "rejection",
        "zhang.wei@example.com",
    )
    assert (mail.candidate_id, mail.application_id, mail.subject) == (s.candidate.id, s.application.id, subject)
    assert mail.text.startswith(greeting) and "王芳" not in mail.text  # signed by the team (see test_drafts)
    seen = evaluation.debrief(session=session, actor=recruiter, application_id=s.application.id)
    assert [d.id for d in seen.drafts] == [mail.id]


def test_a_rejection_of_a_candidate_without_email_prepares_no_mail(session, make) -> None:
    s = interview_with_panel(make, panel=1, email=None, phone="+86 139 0000 0001")
    made = decide(session, s.recruiter, s, "reject", "other", "岗位调整")
    assert (made.mail_id, stage_of(session, s)) == (None, Stage.rejected)
    assert candidate_mail(session) == []


@pytest.mark.parametrize(
    ("kind", "code", "text", "expected"),
    [
        ("reject", "meets_bar", "", {"__all__": "err.reason_unknown"}),
        ("offer", "nonsense", "", {"__all__": "err.reason_unknown"}),
        ("reject", "other", "   ", {"__all__": "err.reason_text_required"}),
        ("hold", "other", "", {"__all__": "err.reason_text_required"}),
        ("reject", "", "", {"reason_code": "err.required"}),
        ("promote", "meets_bar", "", {"kind": "err.choice_invalid"}),
    ],
)
def test_a_decision_needs_a_reason_from_the_list_and_other_needs_words(
    session, make, kind, code, text, expected
) -> None:
    s = interview_with_panel(make, panel=1)
    with pytest.raises(ValidationError) as err:
        decide(session, s.recruiter, s, kind, code, text)
    assert fields_of(err) == expected
    assert stage_of(session, s) == Stage.interviewing
    assert session.exec(select(Decision)).all() == []


def test_a_decision_from_a_stale_stage_is_a_conflict(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    decide(session, s.recruiter, s, "hold", "headcount_pending")
    with pytest.raises(Conflict) as err:
        decide(session, s.recruiter, s, "reject", "team_fit", from_stage="interviewing")
    assert err.value.params == {"stage": "decision_pending"}
    assert stage_of(session, s) == Stage.decision_pending
    assert len(session.exec(select(Decision)).all()) == 1
    assert candidate_mail(session) == []


def test_only_recruiters_admins_and_the_jobs_own_hiring_manager_decide(session, make) -> None:
    hm, other_hm = make.user("hiring_manager"), make.user("hiring_manager")
    recruiter = make.user("recruiter")
    job = make.job(actor=recruiter, hiring_manager_id=hm.id)
    s = interview_with_panel(make, panel=1, job=job, recruiter=recruiter)
    for outsider in (s.panel[0], other_hm):
        with pytest.raises(NotAllowed):
            decide(session, outsider, s, "offer", "meets_bar")
    assert stage_of(session, s) == Stage.interviewing
    decide(session, hm, s, "hold", "waiting_other_candidates")
    assert stage_of(session, s) == Stage.decision_pending
    decide(session, make.admin(), s, "offer", "unique_skills")
    assert stage_of(session, s) == Stage.offer


# --------------------------------------------------------------------------- the rejection draft
def rejected(session: Session, make: Factory, **candidate_values: Any) -> tuple[Setup, OutboxMessage]:
    s = interview_with_panel(make, panel=1, **candidate_values)
    made = decide(session, s.recruiter, s, "reject", "position_filled")
    return s, session.get(OutboxMessage, made.mail_id)


def test_sending_a_draft_needs_a_subject_and_a_body(session, make) -> None:
    s, mail = rejected(session, make)
    with pytest.raises(ValidationError) as err:
        send_draft(session=session, actor=s.recruiter, message_id=mail.id, subject="  ", text=" \n ")
    assert fields_of(err) == {"subject": "err.required", "body": "err.required"}
    with pytest.raises(ValidationError) as err:
        send_draft(session=session, actor=s.recruiter, message_id=mail.id, subject="x" * 301, text="hi")
    assert fields_of(err) == {"subject": "err.too_long"}
    session.refresh(mail)
    assert mail.status == MailStatus.draft


def test_an_edited_draft_goes_out_as_escaped_html_and_cannot_be_sent_twice(session, make) -> None:
    s, mail = rejected(session, make, language="en")
    text = "Dear <b>Zhang</b> & family,\n\nThanks.\nBest"
    sent = send_draft(
        session=session, actor=s.recruiter, message_id=mail.id, subject="  Your   application ", text=text
    )
    assert (sent.status, sent.subject, sent.text) == (MailStatus.held, "Your application", text + "\n")
    assert "<p>Dear &lt;b&gt;Zhang&lt;/b&gt; &amp; family,</p><p>Thanks.<br>Best</p>" in sent.html
    assert "<b>Zhang</b>" not in sent.html and 'lang="en"' in sent.html
    with pytest.raises(InvalidTransition) as err:
        send_draft(session=session, actor=s.recruiter, message_id=mail.id, subject="again", text="again")
    assert err.value.key == "err.mail_not_draft"
    with pytest.raises(InvalidTransition):
        discard_draft(session=session, actor=s.recruiter, message_id=mail.id)


def test_an_unedited_draft_keeps_the_templates_html(session, make) -> None:
    s, mail = rejected(session, make)
    html = mail.html
    sent = send_draft(session=session, actor=s.recruiter, message_id=mail.id, subject=mail.subject, text=mail.text)
    assert (sent.status, sent.html) == (MailStatus.held, html)


def test_a_discarded_draft_is_cancelled_and_can_no_longer_be_sent(session, make) -> None:
    s, mail = rejected(session, make)
    with pytest.raises(NotAllowed):
        discard_draft(session=session, actor=s.panel[0], message_id=mail.id)
    with pytest.raises(NotAllowed):
        send_draft(session=session, actor=s.panel[0], message_id=mail.id, subject="x", text="y")
    assert discard_draft(session=session, actor=s.recruiter, message_id=mail.id).status == MailStatus.cancelled
    with pytest.raises(InvalidTransition):
        send_draft(session=session, actor=s.recruiter, message_id=mail.id, subject=mail.subject, text=mail.text)
    with pytest.raises(NotFound):
        discard_draft(session=session, actor=s.recruiter, message_id=9999)
    assert evaluation.debrief(session=session, actor=s.recruiter, application_id=s.application.id).drafts == []


def test_two_first_saves_of_the_same_scorecard_from_two_tabs_store_one_and_refuse_the_other(
    make, session, engine, frozen_clock
) -> None:
    from sqlalchemy import event

    s = interview_with_panel(make)
    crits = evaluation.open_scorecard(session=session, actor=s.panel[0], interview_id=s.interview.id).criteria
    data = {"ratings": [{"criterion_id": c.id, "rating": 4} for c in crits], "recommendation": "yes"}
    with Session(engine, expire_on_commit=False) as first, Session(engine, expire_on_commit=False) as second:
        watched = second.connection()
        saved_first: list[object] = []

        def other_tab_saves_first(conn: object, _cursor: object, statement: str, *_args: object) -> None:
            # The second tab has looked and found no scorecard; the first tab saves before it starts writing
            # (its savepoint: on SQLite the BEGIN IMMEDIATE that waits for the write lock).
            if conn is watched and not saved_first and statement.startswith(("BEGIN IMMEDIATE", "SAVEPOINT")):
                saved_first.append(
                    done(
                        first,
                        evaluation.save_scorecard(
                            session=first, actor=s.panel[0], interview_id=s.interview.id, scorecard_in=data
                        ),
                    )
                )

        event.listen(engine, "before_cursor_execute", other_tab_saves_first)
        try:
            with pytest.raises(Conflict):
                evaluation.save_scorecard(
                    session=second, actor=s.panel[0], interview_id=s.interview.id, scorecard_in=data
                )
        finally:
            event.remove(engine, "before_cursor_execute", other_tab_saves_first)
        assert saved_first
    assert len(session.exec(select(Scorecard).where(Scorecard.interview_id == s.interview.id)).all()) == 1


def test_a_new_criterion_is_listed_last(make, session) -> None:
    admin = make.admin()
    rnd = evaluation.list_rounds(session=session, actor=admin)[0]
    evaluation.save_criterion(
        session=session,
        actor=admin,
        round_id=rnd.id,
        criterion_in={"name_zh": "学习能力", "name_en": "Learning", "weight": 1},
    )
    names = [c.name_en for c in evaluation.criteria_for(session=session, round_id=rnd.id, job_id=None)]
    assert names[-1] == "Learning" and len(names) == 4
