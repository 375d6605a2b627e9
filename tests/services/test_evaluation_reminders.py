"""Scorecard reminders: an hour after the interview the interviewer is reminded, then once a day; after 48 hours
the candidate's recruiter is told once; nothing for a submitted scorecard or a cancelled interview. My tasks shows
the same work without any mail."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.evaluation import InterviewStatus
from models.mail import OutboxMessage, Reminder
from models.user import User
from services.evaluate import evaluation
from services.mail.reminders import run_reminders
from services.mail.tasks import Task, my_tasks
from services.platform.config import get_settings
from tests.services.test_evaluation import DAY, HOUR, T0, _frozen, interview_with_panel, submit  # noqa: F401

END = T0 + HOUR  # the interviews below run 09:00–10:00 UTC on 2 March 2026
MINUTE = timedelta(minutes=1)


def remind(engine: Engine, at: datetime) -> int:
    return run_reminders(engine=engine, now=at, settings=get_settings())["scorecard_due"]


def raised(engine: Engine) -> list[tuple[str, int, str]]:
    with Session(engine) as s:
        return [
            (r.rule, r.user_id, r.window)
            for r in s.exec(select(Reminder).where(Reminder.rule.startswith("scorecard")).order_by(Reminder.id))
        ]


def scorecard_tasks(session: Session, actor: User, now: datetime) -> list[Task]:
    """My tasks about scorecards (other areas add their own kinds)."""
    return [t for t in my_tasks(session=session, actor=actor, now=now) if t.kind.startswith("scorecard")]


def mails(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return [
            m
            for m in s.exec(select(OutboxMessage).order_by(OutboxMessage.id))
            if m.idempotency_key.startswith("reminder:scorecard")
        ]  # other areas have reminder rules too


def test_nothing_is_due_in_the_first_hour_after_the_interview(engine, session, make) -> None:
    interview_with_panel(make, panel=2, starts=T0)
    for at in (T0 - DAY, T0 + 30 * MINUTE, END, END + 59 * MINUTE):
        assert remind(engine, at) == 0
    assert raised(engine) == []


def test_one_reminder_an_hour_after_however_often_the_rules_run_then_one_a_day(engine, session, make) -> None:
    s = interview_with_panel(make, panel=1, starts=T0, name="张伟")
    me = s.panel[0]
    assert remind(engine, END + HOUR) == 1
    for at in (END + HOUR, END + HOUR + MINUTE, END + 5 * HOUR, END + DAY - MINUTE):
        assert remind(engine, at) == 0
    assert remind(engine, END + DAY) == 1
    assert remind(engine, END + DAY + 3 * HOUR) == 0
    assert raised(engine) == [("scorecard_due", me.id, "first"), ("scorecard_due", me.id, "day1")]

    first = mails(engine)[0]
    assert (first.recipient_user_id, first.to_addrs, first.language) == (me.id, me.email, "zh")
    assert "张伟" in first.subject
    with Session(engine) as db:
        payload = json.loads(db.exec(select(Reminder.payload).where(Reminder.window == "first")).one())
    assert payload["link"].endswith(f"/scorecard?interview={s.interview.id}")
    assert payload["detail_en"] == "The interview ended 1 hour ago; your scorecard is not in yet."


def test_after_48_hours_the_candidates_recruiter_is_told_once(engine, session, make) -> None:
    recruiter = make.user("recruiter", name="王芳")
    s = interview_with_panel(make, panel=2, starts=T0, recruiter=recruiter)
    late, prompt = s.panel
    submit(session, prompt, s, [4, 4, 4])
    assert remind(engine, END + 2 * DAY - MINUTE) == 1  # a late run raises today's reminder only, no backlog
    assert remind(engine, END + 2 * DAY) == 2  # day2 for the interviewer, and the recruiter
    assert remind(engine, END + 2 * DAY + 6 * HOUR) == 0
    assert remind(engine, END + 3 * DAY) == 1  # day3 for the interviewer only
    assert raised(engine) == [
        ("scorecard_due", late.id, "day1"),
        ("scorecard_due", late.id, "day2"),
        ("scorecard_overdue", recruiter.id, "48h"),
        ("scorecard_due", late.id, "day3"),
    ]
    told = [m for m in mails(engine) if m.recipient_user_id == recruiter.id]
    assert len(told) == 1 and late.name in told[0].subject


def test_a_recruiter_on_the_panel_of_their_own_candidate_is_not_told_about_themselves(engine, session, make) -> None:
    recruiter = make.user("recruiter")
    interview_with_panel(make, panel=[recruiter], starts=T0, recruiter=recruiter)
    assert remind(engine, END + 2 * DAY) == 1
    assert raised(engine) == [("scorecard_due", recruiter.id, "day2")]


def test_a_submitted_scorecard_stops_the_reminders(engine, session, make, frozen_clock) -> None:
    s = interview_with_panel(make, panel=2, starts=T0)
    early, later = s.panel
    submit(session, early, s, [4, 4, 4])
    assert remind(engine, END + HOUR) == 1
    frozen_clock.set(END + 3 * HOUR)
    submit(session, later, s, [3, 3, 3])
    for at in (END + DAY, END + 2 * DAY, END + 3 * DAY):
        assert remind(engine, at) == 0
    assert raised(engine) == [("scorecard_due", later.id, "first")]


def test_a_draft_does_not_count_as_submitted(engine, session, make) -> None:
    s = interview_with_panel(make, panel=1, starts=T0)
    evaluation.save_scorecard(
        session=session,
        actor=s.panel[0],
        interview_id=s.interview.id,
        scorecard_in={"ratings": [], "strengths": "写了一半"},
    )
    session.commit()
    assert remind(engine, END + HOUR) == 1


def test_a_cancelled_interview_or_a_no_show_asks_for_no_scorecard(engine, session, make) -> None:
    for status in (InterviewStatus.cancelled, InterviewStatus.no_show):
        s = interview_with_panel(make, panel=1, starts=T0)
        evaluation.set_interview_status(session=session, actor=s.recruiter, interview_id=s.interview.id, status=status)
        session.commit()
    assert remind(engine, END + 2 * DAY) == 0
    assert scorecard_tasks(session, s.panel[0], END + 2 * DAY) == []


def test_reminders_stop_mailing_two_weeks_after_the_interview(engine, session, make) -> None:
    interview_with_panel(make, panel=1, starts=T0)
    assert remind(engine, END + 15 * DAY) == 0


def test_my_tasks_lists_the_scorecard_i_owe_once_the_interview_has_ended(engine, session, make, frozen_clock) -> None:
    s = interview_with_panel(make, panel=2, starts=T0, name="张伟")
    me = s.panel[0]
    assert scorecard_tasks(session, me, T0 + 30 * MINUTE) == []
    [task] = scorecard_tasks(session, me, END)
    assert (task.kind, task.due_at, task.page, task.query) == (
        "scorecard_pending",
        END + HOUR,
        "pages/scorecard.py",
        {"interview": str(s.interview.id)},
    )
    assert task.params == {"name": "张伟", "job": s.job.title}
    assert not task.overdue(END) and task.overdue(END + HOUR)
    assert scorecard_tasks(session, make.user("interviewer"), END) == []

    frozen_clock.set(END + 2 * HOUR)
    submit(session, me, s, [4, 4, 4])
    assert scorecard_tasks(session, me, END + 2 * HOUR) == []
    assert [t.kind for t in scorecard_tasks(session, s.panel[1], END + 2 * HOUR)] == ["scorecard_pending"]


def test_my_tasks_shows_the_recruiter_colleagues_scorecards_over_48_hours_late(engine, session, make) -> None:
    recruiter = make.user("recruiter")
    s = interview_with_panel(make, panel=1, starts=T0, recruiter=recruiter, name="张伟")
    late = s.panel[0]
    assert scorecard_tasks(session, recruiter, END + 2 * DAY - MINUTE) == []
    [task] = scorecard_tasks(session, recruiter, END + 2 * DAY)
    assert (task.kind, task.due_at, task.page, task.query) == (
        "scorecard_overdue",
        END + 2 * DAY,
        "pages/debrief.py",
        {"application": str(s.application.id)},
    )
    assert task.params == {"who": late.name, "name": "张伟", "job": s.job.title}
    assert scorecard_tasks(session, make.user("recruiter"), END + 2 * DAY) == []
