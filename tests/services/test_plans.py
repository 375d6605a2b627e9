"""Onboarding plans: made from a template when an offer is accepted, due dates moving with the start date, tasks
ticked by their owners, probation check-ins by the hiring manager and the outcome that closes the pipeline.

Every test runs on SQLite and PostgreSQL with the clock frozen at 2026-03-02 09:00 UTC; plans start 2026-04-01.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from models.candidate import Application, StageChange
from models.common import Stage
from models.job import Job
from models.onboard import CheckIn, ChecklistItem, OnboardingPlan, OnboardTemplate, PlanStatus, PlanTask
from models.user import User
from services.onboard import plans
from services.pipeline.candidates import move_stage
from services.platform.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationError
from tests.factories import Factory, action, done, onboarding_plan

START = date(2026, 4, 1)


@pytest.fixture(autouse=True)
def _frozen(frozen_clock: Any) -> Any:
    return frozen_clock


class World:
    def __init__(self, session: Session) -> None:
        make = Factory(session)
        self.session = session
        self.admin = make.user("admin")
        self.recruiter = make.user("recruiter")
        self.manager = make.user("hiring_manager")
        self.other_manager = make.user("hiring_manager")
        self.interviewer = make.user("interviewer")
        self.it = make.user("interviewer", name="IT 小王")
        self.job = make.job(actor=self.admin, hiring_manager_id=self.manager.id, department="Engineering")
        self.plan = onboarding_plan(session, job=self.job, actor=self.recruiter, start_date=START)

    def tasks(self) -> list[PlanTask]:
        self.session.expire_all()
        return list(
            self.session.exec(
                select(PlanTask).where(PlanTask.plan_id == self.plan.id).order_by(col(PlanTask.position))
            ).all()
        )

    def check_ins(self) -> list[CheckIn]:
        self.session.expire_all()
        return list(
            self.session.exec(select(CheckIn).where(CheckIn.plan_id == self.plan.id).order_by(col(CheckIn.day))).all()
        )

    def fresh(self) -> OnboardingPlan:
        self.session.expire_all()
        plan = self.session.get(OnboardingPlan, self.plan.id)
        assert plan is not None
        return plan


@pytest.fixture
def w(session: Session) -> World:
    return World(session)


@pytest.fixture
def started(frozen_clock: Any) -> Any:
    """The clock a week after the start date: check-ins and outcomes are for days the new hire has worked."""
    frozen_clock.set(datetime(2026, 4, 8, 9, 0, tzinfo=UTC))
    return frozen_clock


# --------------------------------------------------------------------------- starting a plan
def test_an_accepted_offer_starts_a_plan_from_the_default_template(w: World, session: Session) -> None:
    plan = w.fresh()
    assert plan.start_date == START
    assert plan.probation_end == date(2026, 7, 1)
    assert plan.hiring_manager_id == w.manager.id
    assert plan.status == PlanStatus.active
    tasks = w.tasks()
    assert len(tasks) == len(plans.DEFAULT_TASKS)
    assert all(t.due_date == START + timedelta(days=t.due_offset_days) for t in tasks)
    assert any(t.due_offset_days < 0 for t in tasks)  # documents and accounts before day 1
    manager_tasks = [t for t in tasks if t.owner_role == "hiring_manager"]
    assert manager_tasks and all(t.owner_user_id == w.manager.id for t in manager_tasks)
    assert all(t.owner_user_id is None for t in tasks if t.owner_role == "new_hire")
    checklist = session.exec(select(ChecklistItem).where(ChecklistItem.plan_id == plan.id)).all()
    assert [c.label_zh for c in checklist] == ["身份证", "学历/学位证书", "离职证明", "体检报告", "银行卡", "照片"]
    check_ins = w.check_ins()
    assert [c.day for c in check_ins] == [7, 30, 60, 90]
    assert [c.due_date for c in check_ins] == [START + timedelta(days=d) for d in (7, 30, 60, 90)]
    assert {c.manager_id for c in check_ins} == {w.manager.id}
    app = session.get(Application, plan.application_id)
    assert app is not None and app.stage == Stage.hired


def test_starting_twice_keeps_one_plan(w: World, session: Session) -> None:
    from models.onboard import Offer

    offer = session.get(Offer, w.plan.offer_id)
    again = done(session, plans.start_onboarding(session=session, offer=offer, actor=None))
    assert again is not None and again.id == w.plan.id
    assert len(session.exec(select(OnboardingPlan)).all()) == 1
    assert len(w.tasks()) == len(plans.DEFAULT_TASKS)


def test_probation_end_is_added_in_calendar_months(session: Session) -> None:
    plan = onboarding_plan(
        session, start_date=date(2026, 8, 31), probation_months=6, response_deadline=date(2026, 3, 20)
    )
    assert plan.probation_end == date(2027, 2, 28)
    assert plans.add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)


def test_a_department_with_its_own_template_gets_it(session: Session, make: Factory) -> None:
    admin = make.user("admin")
    with action(session.get_bind()) as s:  # type: ignore[arg-type]
        template = plans.create_template(session=s, actor=admin, department="Sales")
        view = plans.get_template(session=s, actor=admin, template_id=template.id or 0)
        plans.add_template_task(
            session=s,
            actor=admin,
            template_id=template.id or 0,
            version=view.template.version,
            task_in={"title_zh": "客户介绍", "title_en": "Meet the clients", "owner_role": "hiring_manager"},
        )
    job = make.job(actor=admin, department="Sales")
    plan = onboarding_plan(session, job=job, actor=admin)
    titles = [t.title_en for t in session.exec(select(PlanTask).where(PlanTask.plan_id == plan.id)).all()]
    assert "Meet the clients" in titles
    other = onboarding_plan(session, actor=admin)  # Engineering: the default
    titles = [t.title_en for t in session.exec(select(PlanTask).where(PlanTask.plan_id == other.id)).all()]
    assert "Meet the clients" not in titles


def test_an_application_leaving_the_hired_stage_cancels_its_plan(w: World, session: Session) -> None:
    move_stage(
        session=session, actor=w.recruiter, application_id=w.plan.application_id, to_stage="withdrawn", reason="没来"
    )
    session.commit()
    assert w.fresh().status == PlanStatus.cancelled


# --------------------------------------------------------------------------- moving the start date
def test_moving_the_start_date_moves_every_open_due_date_and_the_probation_end(w: World, session: Session) -> None:
    ticked = w.tasks()[0]
    plans.tick_task(session=session, actor=w.recruiter, task_id=ticked.id or 0)
    session.commit()
    plans.move_start_date(
        session=session,
        actor=w.recruiter,
        plan_id=w.plan.id or 0,
        version=w.fresh().version,
        start_date=date(2026, 4, 8),
    )
    session.commit()
    plan = w.fresh()
    assert plan.start_date == date(2026, 4, 8)
    assert plan.probation_end == date(2026, 7, 8)
    for task in w.tasks():
        if task.id == ticked.id:
            assert task.due_date == START + timedelta(days=task.due_offset_days)  # done: kept
        else:
            assert task.due_date == date(2026, 4, 8) + timedelta(days=task.due_offset_days)
    assert [c.due_date for c in w.check_ins()] == [date(2026, 4, 8) + timedelta(days=d) for d in (7, 30, 60, 90)]


def test_check_ins_stop_at_the_end_of_a_short_probation_with_a_final_one_on_its_last_day(session: Session) -> None:
    plan = onboarding_plan(session, start_date=START, probation_months=2)  # ends 1 June: day 61
    rows = session.exec(select(CheckIn).where(CheckIn.plan_id == plan.id).order_by(col(CheckIn.day))).all()
    assert [r.day for r in rows] == [7, 30, 60]  # day 60 is in the last week: no day-61 one beside it
    assert all(r.due_date <= plan.probation_end for r in rows)
    plan = onboarding_plan(session, start_date=START, probation_months=1)  # ends 1 May: day 30
    rows = session.exec(select(CheckIn).where(CheckIn.plan_id == plan.id).order_by(col(CheckIn.day))).all()
    assert [r.day for r in rows] == [7, 30]


def test_the_days_kept_and_the_final_one_follow_the_probation_end() -> None:
    start = date(2026, 4, 1)
    assert plans.check_in_days([7, 30, 60, 90], start, date(2026, 7, 1)) == [7, 30, 60, 90]
    assert plans.check_in_days([7, 30, 45, 90], start, date(2026, 6, 1)) == [7, 30, 45, 61]  # 90 cut, 45 early: + 61
    assert plans.check_in_days([90], start, date(2026, 5, 1)) == [30]
    assert plans.check_in_days([], start, date(2026, 5, 1)) == []


def test_extending_probation_adds_the_check_ins_it_now_has_room_for(
    session: Session, make: Factory, frozen_clock: Any
) -> None:
    admin = make.admin()
    template = plans.ensure_default_template(session=session)
    template.checkin_days = "7,30,90,150"
    session.add(template)
    session.commit()
    plan = onboarding_plan(session, actor=admin, start_date=START, probation_months=3)
    days = lambda: [c.day for c in session.exec(select(CheckIn).where(CheckIn.plan_id == plan.id))]  # noqa: E731
    assert sorted(days()) == [7, 30, 90]
    frozen_clock.set(datetime(2026, 6, 20, 9, 0, tzinfo=UTC))
    session.expire_all()
    fresh = session.get(OnboardingPlan, plan.id)
    assert fresh is not None
    plans.record_outcome(
        session=session,
        actor=admin,
        plan_id=plan.id or 0,
        version=fresh.version,
        outcome_in={"outcome": "extended", "extended_to": date(2026, 10, 1)},
    )
    session.commit()
    assert sorted(days()) == [7, 30, 90, 150]


def test_moving_the_start_date_cuts_an_open_check_in_left_after_the_probation_end(w: World, session: Session) -> None:
    session.add(CheckIn(plan_id=w.plan.id or 0, day=120, due_date=START + timedelta(days=120)))  # an older plan's
    session.commit()
    plans.move_start_date(
        session=session,
        actor=w.recruiter,
        plan_id=w.plan.id or 0,
        version=w.fresh().version,
        start_date=date(2026, 4, 8),
    )
    session.commit()
    assert [c.day for c in w.check_ins()] == [7, 30, 60, 90]


def test_two_people_moving_the_start_date_the_second_is_told(w: World, session: Session) -> None:
    version = w.fresh().version
    plans.move_start_date(
        session=session, actor=w.admin, plan_id=w.plan.id or 0, version=version, start_date=date(2026, 4, 2)
    )
    session.commit()
    with pytest.raises(Conflict):
        plans.move_start_date(
            session=session, actor=w.recruiter, plan_id=w.plan.id or 0, version=version, start_date=date(2026, 4, 9)
        )
    session.rollback()
    assert w.fresh().start_date == date(2026, 4, 2)


def test_the_second_is_told_what_the_first_saved(w: World, session: Session) -> None:
    version = w.fresh().version
    plans.move_start_date(
        session=session, actor=w.admin, plan_id=w.plan.id or 0, version=version, start_date=date(2026, 4, 2)
    )
    session.commit()
    with pytest.raises(Conflict) as err:  # a buddy named from a form built before the move
        plans.set_buddy(session=session, actor=w.recruiter, plan_id=w.plan.id or 0, version=version, buddy_id=w.it.id)
    session.rollback()
    saved = err.value.current
    assert isinstance(saved, OnboardingPlan)
    assert saved.start_date == date(2026, 4, 2) and saved.version == version + 1
    assert w.fresh().buddy_id is None


def test_a_start_date_before_the_offer_is_refused_and_changes_nothing(w: World, session: Session) -> None:
    with pytest.raises(ValidationError) as err:
        plans.move_start_date(
            session=session,
            actor=w.recruiter,
            plan_id=w.plan.id or 0,
            version=w.fresh().version,
            start_date=date(2026, 1, 1),
        )
    session.rollback()
    assert "start_date" in err.value.fields
    assert w.fresh().start_date == START


@pytest.mark.parametrize("who", ["manager", "other_manager", "interviewer"])
def test_only_people_who_edit_plans_move_the_start_date(w: World, session: Session, who: str) -> None:
    with pytest.raises(NotAllowed):
        plans.move_start_date(
            session=session, actor=getattr(w, who), plan_id=w.plan.id or 0, version=1, start_date=date(2026, 4, 2)
        )


def test_a_buddy_takes_over_the_buddy_tasks(w: World, session: Session) -> None:
    plans.set_buddy(
        session=session, actor=w.recruiter, plan_id=w.plan.id or 0, version=w.fresh().version, buddy_id=w.interviewer.id
    )
    session.commit()
    assert w.fresh().buddy_id == w.interviewer.id
    deactivated = Factory(session).user("interviewer", is_active=False)
    with pytest.raises(ValidationError):
        plans.set_buddy(
            session=session,
            actor=w.recruiter,
            plan_id=w.plan.id or 0,
            version=w.fresh().version,
            buddy_id=deactivated.id,
        )


# --------------------------------------------------------------------------- ticking tasks
def test_the_owner_of_a_task_ticks_it_off_and_twice_changes_nothing(w: World, session: Session) -> None:
    task = next(t for t in w.tasks() if t.owner_role == "hiring_manager")
    first = plans.tick_task(session=session, actor=w.manager, task_id=task.id or 0)
    done_at = first.done_at
    session.commit()
    again = plans.tick_task(session=session, actor=w.manager, task_id=task.id or 0)
    assert again.done_at == done_at and again.done_by_id == w.manager.id
    plans.tick_task(session=session, actor=w.manager, task_id=task.id or 0, ticked=False)
    session.commit()
    assert next(t for t in w.tasks() if t.id == task.id).done_at is None


def test_someone_else_may_not_tick_a_task(w: World, session: Session) -> None:
    task = next(t for t in w.tasks() if t.owner_role == "recruiter")
    for who in (w.manager, w.other_manager, w.interviewer):
        with pytest.raises(NotAllowed):
            plans.tick_task(session=session, actor=who, task_id=task.id or 0)
    with pytest.raises(NotFound):
        plans.tick_task(session=session, actor=w.recruiter, task_id=999_999)


def test_a_named_person_such_as_it_ticks_their_own_task(w: World, session: Session) -> None:
    admin = w.admin
    template = plans.list_templates(session=session, actor=admin)[0]
    plans.add_template_task(
        session=session,
        actor=admin,
        template_id=template.id or 0,
        version=template.version,
        task_in={
            "title_zh": "开通VPN",
            "title_en": "VPN access",
            "category": "account",
            "owner_role": "person",
            "owner_user_id": w.it.id,
            "due_offset_days": -1,
        },
    )
    session.commit()
    plan = onboarding_plan(session, job=w.job, actor=w.recruiter)
    task = session.exec(select(PlanTask).where(PlanTask.plan_id == plan.id, PlanTask.title_en == "VPN access")).one()
    assert task.owner_user_id == w.it.id
    assert [o.task.id for o in plans.my_plan_tasks(session=session, actor=w.it)] == [task.id]
    plans.tick_task(session=session, actor=w.it, task_id=task.id or 0)
    session.commit()
    assert plans.my_plan_tasks(session=session, actor=w.it) == []
    with pytest.raises(NotAllowed):
        plans.tick_task(session=session, actor=w.interviewer, task_id=task.id or 0)


# --------------------------------------------------------------------------- check-ins
def test_the_hiring_manager_records_a_check_in(w: World, session: Session, started: Any) -> None:
    first = w.check_ins()[0]
    version = first.version
    notes = '<script>alert(1)</script> =HYPERLINK("x") **bold**'
    row = plans.record_check_in(
        session=session,
        actor=w.manager,
        check_in_id=first.id or 0,
        version=version,
        check_in_in={"rating": 4, "on_track": True, "notes": notes, "concerns": ""},
    )
    session.commit()
    assert row.rating == 4 and row.done_by_id == w.manager.id and row.notes == notes
    with pytest.raises(Conflict):  # a second form opened before the first was saved
        plans.record_check_in(
            session=session,
            actor=w.manager,
            check_in_id=first.id or 0,
            version=version,
            check_in_in={"rating": 2, "on_track": False},
        )
    session.rollback()
    assert w.check_ins()[0].rating == 4


def test_a_check_in_before_the_start_date_is_refused_and_changes_nothing(w: World, session: Session) -> None:
    first = w.check_ins()[0]  # the clock is a month before the start
    with pytest.raises(ValidationError) as err:
        plans.record_check_in(
            session=session,
            actor=w.manager,
            check_in_id=first.id or 0,
            version=first.version,
            check_in_in={"rating": 4, "on_track": True},
        )
    session.rollback()
    assert err.value.fields["__all__"][0] == "err.check_in_before_start"
    assert w.check_ins()[0].done_at is None


def test_a_check_in_on_the_start_date_itself_is_taken(w: World, session: Session, frozen_clock: Any) -> None:
    frozen_clock.set(datetime(2026, 4, 1, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai, day 1
    first = w.check_ins()[0]
    row = plans.record_check_in(
        session=session,
        actor=w.manager,
        check_in_id=first.id or 0,
        version=first.version,
        check_in_in={"rating": 3, "on_track": True},
    )
    assert row.done_at is not None


@pytest.mark.parametrize("who", ["recruiter", "other_manager", "interviewer"])
def test_a_check_in_is_the_hiring_managers(w: World, session: Session, who: str) -> None:
    first = w.check_ins()[0]
    with pytest.raises(NotAllowed):
        plans.record_check_in(
            session=session,
            actor=getattr(w, who),
            check_in_id=first.id or 0,
            version=first.version,
            check_in_in={"rating": 4, "on_track": True},
        )


@pytest.mark.parametrize("rating", [0, 6, "x"])
def test_a_rating_outside_one_to_five_is_refused_and_changes_nothing(w: World, session: Session, rating: Any) -> None:
    first = w.check_ins()[0]
    with pytest.raises(ValidationError) as err:
        plans.record_check_in(
            session=session,
            actor=w.manager,
            check_in_id=first.id or 0,
            version=first.version,
            check_in_in={"rating": rating, "on_track": True},
        )
    session.rollback()
    assert "rating" in err.value.fields
    assert w.check_ins()[0].done_at is None


# --------------------------------------------------------------------------- the probation outcome
def _outcome(w: World, actor: User, **values: Any) -> OnboardingPlan:
    return plans.record_outcome(
        session=w.session, actor=actor, plan_id=w.plan.id or 0, version=w.fresh().version, outcome_in=values
    )


def test_passing_probation_closes_the_pipeline(w: World, session: Session, started: Any) -> None:
    _outcome(w, w.manager, outcome="passed", notes="很好 / great")
    session.commit()
    plan = w.fresh()
    assert plan.status == PlanStatus.passed and plan.outcome_by_id == w.manager.id
    app = session.get(Application, plan.application_id)
    assert app is not None and app.stage == Stage.probation_passed


def test_not_passing_ends_the_application_rejected(w: World, session: Session, started: Any) -> None:
    _outcome(w, w.recruiter, outcome="not_passed")
    session.commit()
    plan = w.fresh()
    assert plan.status == PlanStatus.not_passed  # not turned into "cancelled" by leaving the hired stage
    app = session.get(Application, plan.application_id)
    assert app is not None and app.stage == Stage.rejected
    change = session.exec(select(StageChange).order_by(col(StageChange.id).desc())).first()
    assert change is not None and change.reason == "probation_not_passed"


def test_extending_needs_a_later_end_date_then_the_plan_runs_on(w: World, session: Session, started: Any) -> None:
    for bad in (None, date(2026, 6, 1), date(2026, 7, 1)):
        with pytest.raises(ValidationError) as err:
            _outcome(w, w.manager, outcome="extended", extended_to=bad)
        session.rollback()
        assert "extended_to" in err.value.fields or err.value.fields
    assert w.fresh().status == PlanStatus.active
    _outcome(w, w.manager, outcome="extended", extended_to=date(2026, 8, 1))
    session.commit()
    plan = w.fresh()
    assert plan.status == PlanStatus.extended and plan.probation_end == date(2026, 8, 1)
    _outcome(w, w.manager, outcome="passed")
    session.commit()
    assert w.fresh().status == PlanStatus.passed


@pytest.mark.parametrize("outcome", ["passed", "extended", "not_passed"])
def test_no_outcome_is_recorded_before_the_start_date(w: World, session: Session, outcome: str) -> None:
    # not even "not passed": a new hire who will not start has their plan cancelled
    with pytest.raises(ValidationError) as err:
        _outcome(w, w.recruiter, outcome=outcome, extended_to=date(2026, 9, 1))
    session.rollback()
    assert err.value.fields["outcome"][0] == "err.outcome_before_start"
    plan = w.fresh()
    assert plan.status == PlanStatus.active and plan.outcome_at is None


def test_an_outcome_is_recorded_once(w: World, session: Session, started: Any) -> None:
    _outcome(w, w.manager, outcome="passed")
    session.commit()
    with pytest.raises(InvalidTransition):
        _outcome(w, w.manager, outcome="not_passed")
    session.rollback()
    assert w.fresh().status == PlanStatus.passed


@pytest.mark.parametrize("who", ["other_manager", "interviewer"])
def test_the_outcome_is_refused_out_of_scope(w: World, session: Session, who: str) -> None:
    with pytest.raises(NotAllowed):
        _outcome(w, getattr(w, who), outcome="passed")


def test_an_outcome_that_is_not_one_is_refused(w: World, session: Session) -> None:
    with pytest.raises(ValidationError):
        _outcome(w, w.manager, outcome="cancelled")


def test_a_closed_plan_is_not_changed(w: World, session: Session, started: Any) -> None:
    _outcome(w, w.manager, outcome="passed")
    session.commit()
    with pytest.raises(InvalidTransition):
        plans.move_start_date(
            session=session,
            actor=w.admin,
            plan_id=w.plan.id or 0,
            version=w.fresh().version,
            start_date=date(2026, 5, 1),
        )


# --------------------------------------------------------------------------- lists
def test_the_new_hires_list_shows_progress_and_a_manager_sees_their_own_jobs(
    w: World, session: Session, frozen_clock: Any
) -> None:
    other_job = Factory(session).job(actor=w.admin, hiring_manager_id=w.other_manager.id)
    onboarding_plan(session, job=other_job, actor=w.admin, start_date=date(2026, 3, 10))
    plans.tick_task(session=session, actor=w.recruiter, task_id=w.tasks()[1].id or 0)
    session.commit()
    rows = plans.list_plans(session=session, actor=w.recruiter)
    assert [r.start_date for r in rows] == [date(2026, 3, 10), START]
    mine = plans.list_plans(session=session, actor=w.manager)
    assert [r.plan_id for r in mine] == [w.plan.id]
    assert mine[0].done == 1 and mine[0].total == len(plans.DEFAULT_TASKS) and mine[0].overdue == 0
    assert mine[0].next_check_in == START + timedelta(days=7)
    from datetime import UTC, datetime

    frozen_clock.set(datetime(2026, 4, 3, 9, 0, tzinfo=UTC))
    later = plans.list_plans(session=session, actor=w.manager)[0]
    assert later.overdue == sum(1 for t in w.tasks() if t.done_at is None and t.due_date < date(2026, 4, 3))
    with pytest.raises(NotAllowed):
        plans.list_plans(session=session, actor=w.interviewer)


def test_an_interviewer_cannot_list_or_open_plans(w: World, session: Session) -> None:
    with pytest.raises(NotAllowed):
        plans.plan_detail(session=session, actor=w.interviewer, plan_id=w.plan.id or 0)
    with pytest.raises(NotAllowed):
        plans.plan_detail(session=session, actor=w.other_manager, plan_id=w.plan.id or 0)
    detail = plans.plan_detail(session=session, actor=w.manager, plan_id=w.plan.id or 0)
    assert detail.may_check_in and detail.may_decide and not detail.may_edit
    assert len(detail.checklist) == 6


# --------------------------------------------------------------------------- templates
def test_the_default_template_is_made_on_first_use(session: Session, make: Factory) -> None:
    admin = make.user("admin")
    templates = plans.list_templates(session=session, actor=admin)
    assert [t.department for t in templates] == [""]
    view = plans.get_template(session=session, actor=admin, template_id=templates[0].id or 0)
    assert view.checkin_days == [7, 30, 60, 90]
    assert {"zh": "体检报告", "en": "Medical check report"} in view.checklist
    assert {t.category for t in view.tasks} >= {"document", "account", "equipment", "training", "check_in"}
    assert len(plans.list_templates(session=session, actor=admin)) == 1


@pytest.mark.parametrize("role", ["recruiter", "hiring_manager", "interviewer"])
def test_only_admins_edit_templates(session: Session, make: Factory, role: str) -> None:
    with pytest.raises(NotAllowed):
        plans.list_templates(session=session, actor=make.user(role))


@pytest.mark.parametrize(
    ("task_in", "field"),
    [
        ({"title_zh": "任务", "title_en": "Task"}, "owner_role"),
        ({"title_zh": "任务", "title_en": "Task", "owner_role": ""}, "owner_role"),
        ({"title_zh": "任务", "title_en": "Task", "owner_role": "person"}, "owner_user_id"),
        ({"title_zh": "", "title_en": "Task", "owner_role": "recruiter"}, "title_zh"),
        ({"title_zh": "任务", "title_en": "Task", "owner_role": "recruiter", "link_url": "javascript:x"}, "link_url"),
        (
            {"title_zh": "任务", "title_en": "Task", "owner_role": "recruiter", "due_offset_days": 999},
            "due_offset_days",
        ),
    ],
)
def test_a_bad_template_task_is_refused_and_changes_nothing(
    session: Session, make: Factory, task_in: dict[str, Any], field: str | None
) -> None:
    admin = make.user("admin")
    template = plans.list_templates(session=session, actor=admin)[0]
    session.commit()
    before = len(plans.get_template(session=session, actor=admin, template_id=template.id or 0).tasks)
    with pytest.raises(ValidationError) as err:
        plans.add_template_task(
            session=session, actor=admin, template_id=template.id or 0, version=template.version, task_in=task_in
        )
    session.rollback()
    if field:
        assert field in err.value.fields
    else:
        assert "err.task_owner_required" in json.dumps(err.value.fields)
    assert len(plans.get_template(session=session, actor=admin, template_id=template.id or 0).tasks) == before


def test_a_task_for_a_person_no_longer_active_is_refused(session: Session, make: Factory) -> None:
    admin = make.user("admin")
    gone = make.user("interviewer", is_active=False)
    template = plans.list_templates(session=session, actor=admin)[0]
    with pytest.raises(ValidationError) as err:
        plans.add_template_task(
            session=session,
            actor=admin,
            template_id=template.id or 0,
            version=template.version,
            task_in={"title_zh": "电脑", "title_en": "Laptop", "owner_role": "person", "owner_user_id": gone.id},
        )
    assert "owner_user_id" in err.value.fields


def test_template_settings_are_saved_checked_and_conflicts_told(session: Session, make: Factory) -> None:
    admin = make.user("admin")
    template = plans.list_templates(session=session, actor=admin)[0]
    session.commit()
    version = template.version
    view = plans.save_template(
        session=session,
        actor=admin,
        template_id=template.id or 0,
        version=version,
        settings_in={
            "checkin_days": "90, 7，30",
            "welcome_days_before": 5,
            "checklist": [{"zh": "护照", "en": "Passport"}],
        },
    )
    session.commit()
    assert view.checkin_days == [7, 30, 90] and view.checklist == [{"zh": "护照", "en": "Passport"}]
    with pytest.raises(Conflict):
        plans.save_template(session=session, actor=admin, template_id=template.id or 0, version=version, settings_in={})
    session.rollback()
    for bad in (
        {"checkin_days": "7,abc"},
        {"checkin_days": "0"},
        {"welcome_days_before": -1},
        {"checklist": [{"zh": "", "en": "x"}]},
    ):
        with pytest.raises(ValidationError):
            plans.save_template(
                session=session,
                actor=admin,
                template_id=template.id or 0,
                version=view.template.version,
                settings_in=bad,
            )
        session.rollback()
    session.expire_all()
    saved = session.get(OnboardTemplate, template.id)
    assert saved is not None and saved.checkin_days == "7,30,90"


def test_template_tasks_are_reordered_edited_and_removed(session: Session, make: Factory) -> None:
    admin = make.user("admin")
    template = plans.list_templates(session=session, actor=admin)[0]
    view = plans.get_template(session=session, actor=admin, template_id=template.id or 0)
    second = view.tasks[1]
    view = plans.move_template_task(
        session=session, actor=admin, task_id=second.id or 0, version=view.template.version, up=True
    )
    assert view.tasks[0].id == second.id
    plans.update_template_task(
        session=session,
        actor=admin,
        task_id=second.id or 0,
        version=view.template.version,
        task_in={"title_zh": "合同", "title_en": "Contract", "owner_role": "recruiter", "due_offset_days": -5},
    )
    view = plans.get_template(session=session, actor=admin, template_id=template.id or 0)
    assert view.tasks[0].title_en == "Contract" and view.tasks[0].due_offset_days == -5
    plans.remove_template_task(session=session, actor=admin, task_id=second.id or 0, version=view.template.version)
    view = plans.get_template(session=session, actor=admin, template_id=template.id or 0)
    assert second.id not in {t.id for t in view.tasks}
    with pytest.raises(Conflict):
        plans.remove_template_task(session=session, actor=admin, task_id=view.tasks[0].id or 0, version=1)


def test_a_handbook_is_attached_to_a_template_task_and_a_wrong_file_refused(session: Session, make: Factory) -> None:
    admin = make.user("admin")
    template = plans.list_templates(session=session, actor=admin)[0]
    view = plans.get_template(session=session, actor=admin, template_id=template.id or 0)
    task = plans.attach_template_material(
        session=session,
        actor=admin,
        task_id=view.tasks[0].id or 0,
        version=view.template.version,
        filename="员工手册.pdf",
        content=b"%PDF-1.4 handbook",
    )
    assert task.material_id is not None
    with pytest.raises(ValidationError) as err:
        plans.attach_template_material(
            session=session,
            actor=admin,
            task_id=view.tasks[0].id or 0,
            version=template.version,
            filename="evil.pdf.exe",
            content=b"MZ",
        )
    assert "file" in err.value.fields


def test_job_has_the_department_the_template_is_chosen_by(w: World, session: Session) -> None:
    job = session.get(Job, w.job.id)
    assert job is not None and job.department == "Engineering"


# --------------------------------------------------------------------------- more refusals
def test_cancelling_a_plan_twice_is_refused_the_second_time(w: World, session: Session) -> None:
    version = w.fresh().version
    plans.cancel_plan(session=session, actor=w.recruiter, plan_id=w.plan.id or 0, version=version)
    session.commit()
    with pytest.raises(InvalidTransition):
        plans.cancel_plan(session=session, actor=w.recruiter, plan_id=w.plan.id or 0, version=w.fresh().version)
    with pytest.raises(Conflict):  # a second tab still showing the plan as it was
        plans.set_buddy(session=session, actor=w.recruiter, plan_id=w.plan.id or 0, version=version, buddy_id=None)


@pytest.mark.parametrize("call", ["set_buddy", "cancel_plan"])
def test_a_hiring_manager_does_not_edit_the_plan(w: World, session: Session, call: str) -> None:
    extra = {"buddy_id": w.interviewer.id} if call == "set_buddy" else {}
    with pytest.raises(NotAllowed):
        getattr(plans, call)(
            session=session, actor=w.manager, plan_id=w.plan.id or 0, version=w.fresh().version, **extra
        )
    assert w.fresh().status == PlanStatus.active and w.fresh().buddy_id is None


def test_someone_whose_role_was_taken_away_is_refused_at_once(w: World, session: Session) -> None:
    stale = w.recruiter  # the object a browser tab holds
    with Session(session.get_bind()) as other:
        row = other.get(User, stale.id)
        row.roles = "interviewer"
        other.add(row)
        other.commit()
    with pytest.raises(NotAllowed):
        plans.move_start_date(
            session=session, actor=stale, plan_id=w.plan.id or 0, version=w.fresh().version, start_date=date(2026, 4, 2)
        )


def test_a_plan_that_does_not_exist_is_not_found(w: World, session: Session) -> None:
    with pytest.raises(NotFound):
        plans.plan_detail(session=session, actor=w.admin, plan_id=999_999)
    with pytest.raises(NotFound):
        plans.record_check_in(
            session=session, actor=w.admin, check_in_id=999_999, version=1, check_in_in={"rating": 3, "on_track": True}
        )


@pytest.mark.parametrize(("department", "key"), [("", "err.required"), ("Engineering", "err.template_exists")])
def test_a_department_template_needs_a_new_department(
    session: Session, make: Factory, department: str, key: str
) -> None:
    admin = make.user("admin")
    plans.create_template(session=session, actor=admin, department="Engineering")
    session.commit()
    with pytest.raises(ValidationError) as err:
        plans.create_template(session=session, actor=admin, department=department)
    assert err.value.fields["department"][0] == key


# --------------------------------------------------------------------------- at the same moment
def test_two_outcomes_at_the_same_moment_store_one_and_refuse_the_other(w: World, engine: Any, started: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    version = w.fresh().version
    start = Barrier(2)

    def record(outcome: str) -> str:
        start.wait()
        try:
            with action(engine) as own:
                plans.record_outcome(
                    session=own,
                    actor=w.manager,
                    plan_id=w.plan.id or 0,
                    version=version,
                    outcome_in={"outcome": outcome},
                )
            return "saved"
        except (Conflict, InvalidTransition):
            return "refused"

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(record, ["passed", "not_passed"]))
    assert results == ["refused", "saved"]
    plan = w.fresh()
    app = w.session.get(Application, plan.application_id)
    assert app is not None
    assert (plan.status, app.stage) in {
        (PlanStatus.passed, Stage.probation_passed),
        (PlanStatus.not_passed, Stage.rejected),
    }


def test_a_double_click_on_start_onboarding_from_two_sessions_keeps_one_plan(session: Session, engine: Any) -> None:
    """The offers part calls start_onboarding when an offer is accepted: twice (a double click, the link and a
    recruiter at once) still leaves one plan."""
    from models.onboard import Offer

    plan = onboarding_plan(session)
    offer = session.get(Offer, plan.offer_id)
    with action(engine) as own:
        again = plans.start_onboarding(session=own, offer=offer, actor=None)
        assert again is not None and again.id == plan.id
    assert len(session.exec(select(OnboardingPlan)).all()) == 1
