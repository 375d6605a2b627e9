"""Onboarding reminders: a task's due date reminds its owner once (again when the start date moves it), a check-in
reminds the hiring manager three days before, the end of probation reminds the manager and the recruiter two weeks
before until the outcome is in; My tasks shows the same work to the same people. Mail waits in the outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import services.registry  # noqa: F401 - every screen's rules and providers
from models.mail import OutboxMessage, Reminder
from models.onboard import PlanTask
from services.mail.reminders import run_reminders
from services.mail.tasks import my_tasks
from services.onboard import plans
from services.platform.config import get_settings
from tests.factories import Factory, onboarding_plan

START = date(2026, 4, 1)


@pytest.fixture(autouse=True)
def _frozen(frozen_clock: Any) -> Any:
    return frozen_clock


def at(day: date, hour: int = 10) -> datetime:
    """`hour` o'clock that day in Shanghai, as UTC."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=get_settings().tz).astimezone(UTC)


def remind(engine: Engine, when: datetime, rule: str) -> int:
    return run_reminders(engine=engine, now=when, settings=get_settings())[rule]


def raised(session: Session, rule: str) -> list[tuple[int, str, str]]:
    session.expire_all()
    rows = session.exec(select(Reminder).where(Reminder.rule == rule).order_by(Reminder.id)).all()
    return [(r.user_id, r.item_key, r.window) for r in rows]


class World:
    def __init__(self, session: Session) -> None:
        make = Factory(session)
        self.recruiter = make.user("recruiter", language="en")
        self.manager = make.user("hiring_manager")
        self.job = make.job(actor=make.user("admin"), hiring_manager_id=self.manager.id)
        self.plan = onboarding_plan(session, job=self.job, actor=self.recruiter, start_date=START)


@pytest.fixture
def w(session: Session) -> World:
    return World(session)


def test_a_task_due_reminds_its_owner_once_and_again_when_the_start_date_moves(
    w: World, session: Session, engine: Engine, frozen_clock: Any
) -> None:
    frozen_clock.set(at(date(2026, 3, 29)))
    assert remind(engine, at(date(2026, 3, 29)), "plan_task_due") >= 1
    first = raised(session, "plan_task_due")
    assert first and {u for u, _, _ in first} == {w.recruiter.id}  # the new hire's own tasks mail nobody
    assert {window for _, _, window in first} == {"2026-03-29"}
    assert remind(engine, at(date(2026, 3, 29), 11), "plan_task_due") == 0  # once
    mails = session.exec(select(OutboxMessage)).all()
    assert any(m.recipient_user_id == w.recruiter.id for m in mails)  # waits in the outbox, whatever the server
    plan = session.get(type(w.plan), w.plan.id)
    plans.move_start_date(
        session=session, actor=w.recruiter, plan_id=w.plan.id or 0, version=plan.version, start_date=date(2026, 4, 2)
    )
    session.commit()
    assert remind(engine, at(date(2026, 3, 30)), "plan_task_due") >= 1  # the moved date is a new window


def test_a_ticked_task_does_not_remind(w: World, session: Session, engine: Engine, frozen_clock: Any) -> None:
    frozen_clock.set(at(date(2026, 3, 29)))
    for task in session.exec(select(PlanTask).where(PlanTask.plan_id == w.plan.id)).all():
        if task.owner_user_id == w.recruiter.id:
            plans.tick_task(session=session, actor=w.recruiter, task_id=task.id or 0)
    session.commit()
    assert remind(engine, at(date(2026, 3, 29)), "plan_task_due") == 0


def test_a_check_in_reminds_the_manager_three_days_before(w: World, session: Session, engine: Engine) -> None:
    assert remind(engine, at(date(2026, 4, 4)), "check_in_due") == 0
    assert remind(engine, at(date(2026, 4, 5)), "check_in_due") == 1  # day 7 is 8 April
    assert raised(session, "check_in_due")[0][0] == w.manager.id
    assert remind(engine, at(date(2026, 4, 6)), "check_in_due") == 0


def test_the_end_of_probation_reminds_manager_and_recruiter_until_the_outcome(
    w: World, session: Session, engine: Engine, frozen_clock: Any
) -> None:
    assert remind(engine, at(date(2026, 6, 16)), "probation_ending") == 0
    assert remind(engine, at(date(2026, 6, 17)), "probation_ending") == 2  # ends 1 July
    assert {u for u, _, _ in raised(session, "probation_ending")} == {w.manager.id, w.recruiter.id}
    frozen_clock.set(at(date(2026, 6, 17)))  # the outcome is recorded after the start date
    plan = session.get(type(w.plan), w.plan.id)
    plans.record_outcome(
        session=session,
        actor=w.manager,
        plan_id=w.plan.id or 0,
        version=plan.version,
        outcome_in={"outcome": "extended", "extended_to": date(2026, 8, 1)},
    )
    session.commit()
    assert remind(engine, at(date(2026, 6, 20)), "probation_ending") == 0
    assert remind(engine, at(date(2026, 7, 18)), "probation_ending") == 2  # the new end, again
    plans.record_outcome(
        session=session,
        actor=w.manager,
        plan_id=w.plan.id or 0,
        version=plan.version,
        outcome_in={"outcome": "passed"},
    )
    session.commit()
    assert remind(engine, at(date(2026, 7, 30)), "probation_ending") == 0


def test_my_tasks_shows_onboarding_work_to_its_people(w: World, session: Session, frozen_clock: Any) -> None:
    now = at(date(2026, 3, 29))
    frozen_clock.set(now)
    mine = [t for t in my_tasks(session=session, actor=w.recruiter, now=now) if t.kind == "plan_task"]
    assert mine and all(t.query == {"plan": str(w.plan.id)} for t in mine)
    assert all(t.page == "pages/new_hire.py" for t in mine)
    titles = {t.params["task"] for t in mine}
    assert "Prepare the employment contract" in titles  # in the recruiter's language
    assert not [t for t in my_tasks(session=session, actor=w.manager, now=now) if t.kind == "check_in"]
    soon = at(date(2026, 4, 4))
    frozen_clock.set(soon)
    assert [t.params["day"] for t in my_tasks(session=session, actor=w.manager, now=soon) if t.kind == "check_in"] == [
        7
    ]
    late = at(date(2026, 6, 20))
    frozen_clock.set(late)
    for person in (w.manager, w.recruiter):
        assert [t.kind for t in my_tasks(session=session, actor=person, now=late) if t.kind == "probation_outcome"] == [
            "probation_outcome"
        ]


def test_a_cancelled_plan_reminds_nobody(w: World, session: Session, engine: Engine) -> None:
    plan = session.get(type(w.plan), w.plan.id)
    plans.cancel_plan(session=session, actor=w.recruiter, plan_id=w.plan.id or 0, version=plan.version)
    session.commit()
    for rule, day in (("plan_task_due", date(2026, 3, 29)), ("check_in_due", date(2026, 4, 5))):
        assert remind(engine, at(day), rule) == 0
