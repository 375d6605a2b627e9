"""Follow-up reminders: the feedback deadline warns its owner 4 hours before and again when it passes, a
next-contact date and a talent-pool revisit date remind once; however often (and however concurrently) the rules
run. My tasks shows the same work to the right person, without any mail."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.common import Stage
from models.mail import MailStatus, OutboxMessage, Reminder
from models.user import User
from services.follow_up import followup
from services.mail.mailer import send_due
from services.mail.reminders import run_reminders
from services.mail.tasks import Task, my_tasks
from services.pipeline import candidates as candidates_service
from services.platform.config import get_settings
from tests.services.mail_server import configure_mail, running_server
from tests.services.test_followup import (  # noqa: F401
    DAY,
    END,
    HOUR,
    MINUTE,
    T0,
    TODAY,
    _force_status,
    _frozen,
    contact,
    interview,
    interviewed,
    sent_mail,
)

RULES = ("feedback_due", "next_contact", "pool_revisit")
DEADLINE = END + 24 * HOUR


def remind(engine: Engine, at: datetime, rule: str = "feedback_due") -> int:
    return run_reminders(engine=engine, now=at, settings=get_settings())[rule]


def raised(engine: Engine, rule: str = "feedback_due") -> list[tuple[int, str]]:
    with Session(engine) as s:
        return [
            (r.user_id, r.window) for r in s.exec(select(Reminder).where(Reminder.rule == rule).order_by(Reminder.id))
        ]


def mails(engine: Engine, rule: str = "feedback_due") -> list[OutboxMessage]:
    with Session(engine) as s:
        return [
            m
            for m in s.exec(select(OutboxMessage).order_by(OutboxMessage.id))
            if m.idempotency_key.startswith(f"reminder:{rule}:")
        ]


def tasks(session: Session, actor: User, now: datetime) -> list[tuple[str, datetime, dict[str, str]]]:
    """My tasks of the follow-up kinds (other areas add their own)."""
    found: list[Task] = [t for t in my_tasks(session=session, actor=actor, now=now) if t.kind in RULES]
    return [(t.kind, t.due_at, t.query) for t in found]


# --------------------------------------------------------------------------- the feedback deadline
def test_the_owner_is_warned_four_hours_before_the_deadline_and_told_when_it_passes(engine, session, make) -> None:
    recruiter = make.user("recruiter", name="王芳")
    s = interviewed(make, recruiter=recruiter, name="张伟")
    fired = [
        remind(engine, at)
        for at in (
            END,
            END + 19 * HOUR,
            DEADLINE - 4 * HOUR - MINUTE,
            DEADLINE - 4 * HOUR,
            DEADLINE - 4 * HOUR + MINUTE,
            DEADLINE - HOUR,
            DEADLINE - MINUTE,
            DEADLINE,
            DEADLINE + MINUTE,
            DEADLINE + 3 * DAY,
        )
    ]
    assert fired == [0, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    assert raised(engine) == [(recruiter.id, "warn"), (recruiter.id, "overdue")]

    warn, overdue = mails(engine)
    assert (warn.recipient_user_id, warn.to_addrs, warn.language) == (recruiter.id, recruiter.email, "zh")
    assert "即将超时" in warn.subject and "张伟" in warn.subject
    assert "已超时" in overdue.subject
    with Session(engine) as db:
        payload = json.loads(db.exec(select(Reminder.payload).where(Reminder.window == "overdue")).one())
    assert payload["link"].endswith(f"/follow_up?application={s.application.id}")
    assert payload["due"] == "2026-03-03 18:00"  # 10:00 UTC the next day, in Shanghai


def test_a_late_run_raises_only_the_overdue_reminder(engine, make) -> None:
    recruiter = make.user("recruiter")
    interviewed(make, recruiter=recruiter)
    assert remind(engine, DEADLINE + 2 * HOUR) == 1
    assert raised(engine) == [(recruiter.id, "overdue")]


def test_word_to_the_candidate_before_the_deadline_means_no_reminder(
    engine, session, make, frozen_clock, monkeypatch
) -> None:
    by_phone, by_mail = interviewed(make), interviewed(make)
    frozen_clock.set(END + 2 * HOUR)
    contact(session, by_phone.recruiter, by_phone)
    with running_server() as smtp:  # the mail goes out through the worker, as it does in the app
        settings = configure_mail(monkeypatch, smtp.port)
        sent_mail(session, by_mail.recruiter, by_mail)
        assert send_due(engine=engine, settings=settings).sent >= 1
    assert remind(engine, DEADLINE - 4 * HOUR) == 0
    assert remind(engine, DEADLINE) == 0
    assert raised(engine) == []


@pytest.mark.parametrize("word", ["no_answer", "left_message", "held", "queued", "failed"])
def test_a_call_or_a_mail_that_did_not_reach_the_candidate_leaves_the_reminder(
    engine, session, make, frozen_clock, word
) -> None:
    s = interviewed(make)
    frozen_clock.set(END + 2 * HOUR)
    if word in ("no_answer", "left_message"):
        contact(session, s.recruiter, s, outcome=word)
    else:
        mail = sent_mail(session, s.recruiter, s)
        _force_status(session, mail, MailStatus(word), 8 if word == "failed" else 0)
    assert remind(engine, DEADLINE - 4 * HOUR) == 1
    assert remind(engine, DEADLINE) == 1
    assert raised(engine) == [(s.recruiter.id, "warn"), (s.recruiter.id, "overdue")]


def test_a_draft_to_the_candidate_does_not_stop_the_reminder(engine, session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + 2 * HOUR)
    followup.prepare_candidate_mail(
        session=session, actor=s.recruiter, application_id=s.application.id, template="thank_you"
    )
    session.commit()
    assert remind(engine, DEADLINE) == 1


def test_a_contact_after_the_warning_stops_the_overdue_reminder(engine, session, make, frozen_clock) -> None:
    s = interviewed(make)
    assert remind(engine, DEADLINE - 3 * HOUR) == 1
    frozen_clock.set(DEADLINE - 2 * HOUR)
    contact(session, s.recruiter, s)
    assert remind(engine, DEADLINE + HOUR) == 0
    assert raised(engine) == [(s.recruiter.id, "warn")]


def test_the_feedback_hours_and_warning_come_from_the_environment(engine, make, monkeypatch) -> None:
    monkeypatch.setenv("FOLLOWUP_FEEDBACK_HOURS", "48")
    monkeypatch.setenv("FOLLOWUP_FEEDBACK_WARN_HOURS", "8")
    get_settings.cache_clear()
    interviewed(make)
    assert remind(engine, DEADLINE) == 0  # 24 hours is no longer the deadline
    assert remind(engine, END + 40 * HOUR - MINUTE) == 0
    assert remind(engine, END + 40 * HOUR) == 1
    assert remind(engine, END + 48 * HOUR) == 1
    assert [w for _, w in raised(engine)] == ["warn", "overdue"]


def test_a_second_interview_has_its_own_deadline_and_reminders(engine, session, make, frozen_clock) -> None:
    s = interviewed(make)
    assert remind(engine, DEADLINE) == 1
    frozen_clock.set(DEADLINE + HOUR)
    contact(session, s.recruiter, s)
    interview(make, s, T0 + 3 * DAY)
    assert remind(engine, T0 + 3 * DAY + HOUR + 24 * HOUR) == 1
    assert [w for _, w in raised(engine)] == ["overdue", "overdue"]


def test_two_workers_running_the_rules_at_once_raise_one_reminder_and_one_mail(engine, make) -> None:
    recruiter = make.user("recruiter")
    for _ in range(3):
        interviewed(make, recruiter=recruiter)
    start = Barrier(2)

    def run() -> int:
        start.wait()
        return remind(engine, DEADLINE)

    with ThreadPoolExecutor(2) as pool:
        counts = [f.result() for f in [pool.submit(run), pool.submit(run)]]
    assert sum(counts) == 3
    assert len(raised(engine)) == 3
    keys = [m.idempotency_key for m in mails(engine)]
    assert len(keys) == len(set(keys)) == 3


# --------------------------------------------------------------------------- next contact and pool revisit
def test_a_next_contact_date_reminds_the_person_who_set_it_once(engine, session, make, frozen_clock) -> None:
    s = interviewed(make, name="李娜")
    colleague = make.user("recruiter")
    frozen_clock.set(END + HOUR)
    contact(session, s.recruiter, s)  # stops the feedback clock
    planned = contact(session, colleague, s, outcome="no_answer", next_contact_at=END + 2 * DAY)
    fired = [
        remind(engine, at, "next_contact")
        for at in (END + 2 * DAY - MINUTE, END + 2 * DAY, END + 2 * DAY + MINUTE, END + 3 * DAY, END + 2 * DAY)
    ]
    assert fired == [0, 1, 0, 0, 0]
    assert raised(engine, "next_contact") == [(colleague.id, "2026-03-04 18:00")]
    [mail] = mails(engine, "next_contact")
    assert mail.to_addrs == colleague.email and "李娜" in mail.subject
    assert planned.next_contact_at == END + 2 * DAY


def test_a_newer_contact_replaces_the_planned_date(engine, session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    contact(session, s.recruiter, s, next_contact_at=END + DAY)
    frozen_clock.set(END + 5 * HOUR)
    contact(session, s.recruiter, s, summary="候选人主动回电")
    assert remind(engine, END + DAY + HOUR, "next_contact") == 0
    frozen_clock.set(END + 6 * HOUR)
    contact(session, s.recruiter, s, summary="约好周五再聊", next_contact_at=END + 3 * DAY)
    assert remind(engine, END + 3 * DAY, "next_contact") == 1
    assert remind(engine, END + 3 * DAY + HOUR, "next_contact") == 0


def test_a_pool_revisit_reminds_at_nine_in_the_morning_company_time_once(engine, session, make) -> None:
    recruiter = make.user("recruiter")
    candidate = make.candidate(actor=recruiter, name="周杰")
    entry = followup.add_to_pool(
        session=session,
        actor=recruiter,
        entry_in={"candidate_id": candidate.id, "reason": "明年有新团队", "revisit_on": TODAY + timedelta(days=3)},
    )
    session.commit()
    nine = datetime(2026, 3, 5, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert followup.revisit_due(entry) == nine
    fired = [
        remind(engine, at, "pool_revisit")
        for at in (nine - DAY, nine - MINUTE, nine, nine + MINUTE, nine + 10 * HOUR, nine + DAY, nine + 20 * DAY)
    ]
    assert fired == [0, 0, 1, 0, 0, 0, 0]
    assert raised(engine, "pool_revisit") == [(recruiter.id, "2026-03-05")]
    [mail] = mails(engine, "pool_revisit")
    assert mail.to_addrs == recruiter.email and "周杰" in mail.subject


def test_a_candidate_taken_out_of_the_pool_is_not_revisited(engine, session, make) -> None:
    recruiter = make.user("recruiter")
    candidate = make.candidate(actor=recruiter)
    followup.add_to_pool(
        session=session,
        actor=recruiter,
        entry_in={"candidate_id": candidate.id, "reason": "备选", "revisit_on": TODAY + timedelta(days=1)},
    )
    followup.remove_from_pool(session=session, actor=recruiter, candidate_id=candidate.id)
    assert remind(engine, datetime(2026, 3, 3, 2, 0, tzinfo=UTC), "pool_revisit") == 0


# --------------------------------------------------------------------------- My tasks
def test_my_tasks_lists_the_feedback_due_for_the_candidates_owner_only(session, make, frozen_clock) -> None:
    owner, other = make.user("recruiter"), make.user("recruiter")
    s = interviewed(make, recruiter=owner)
    assert tasks(session, owner, T0) == []  # the interview has not ended
    frozen_clock.set(END + HOUR)
    expected = [("feedback_due", DEADLINE, {"application": str(s.application.id)})]
    assert tasks(session, owner, END + HOUR) == expected
    assert tasks(session, owner, DEADLINE + HOUR) == expected  # still there, and now overdue
    assert tasks(session, other, END + HOUR) == []
    assert tasks(session, s.panel[0], END + HOUR) == []
    contact(session, owner, s)
    assert tasks(session, owner, END + 2 * HOUR) == []


def test_my_tasks_lists_a_next_contact_for_the_person_who_set_it(session, make, frozen_clock) -> None:
    s = interviewed(make)
    colleague = make.user("recruiter")
    frozen_clock.set(END + HOUR)
    contact(session, colleague, s, next_contact_at=END + 5 * DAY)
    assert tasks(session, colleague, END + HOUR) == []  # beyond the two-day horizon
    # Not on the colleague's board (a recruiter's board holds their own candidates): the link opens the candidate.
    assert tasks(session, colleague, END + 3 * DAY + HOUR) == [
        ("next_contact", END + 5 * DAY, {"id": str(s.candidate.id)})
    ]
    assert tasks(session, s.recruiter, END + 3 * DAY + HOUR) == []


def test_a_next_contact_task_opens_the_board_only_where_the_candidate_is_on_it(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    contact(session, s.recruiter, s, next_contact_at=END + 2 * DAY)
    at = END + 2 * DAY + HOUR
    assert tasks(session, s.recruiter, at) == [("next_contact", END + 2 * DAY, {"candidate": str(s.candidate.id)})]
    # Their only application closed: no longer on the board, so the task opens the candidate's page instead.
    candidates_service.move_stage(
        session=session,
        actor=s.recruiter,
        application_id=s.application.id,
        to_stage=Stage.rejected,
        reason="技能不匹配",
    )
    assert tasks(session, s.recruiter, at) == [("next_contact", END + 2 * DAY, {"id": str(s.candidate.id)})]


def test_my_tasks_lists_a_pool_revisit_for_the_person_who_pooled_the_candidate(session, make) -> None:
    recruiter, other = make.user("recruiter"), make.user("recruiter")
    candidate = make.candidate(actor=recruiter)
    followup.add_to_pool(
        session=session,
        actor=recruiter,
        entry_in={"candidate_id": candidate.id, "reason": "备选", "revisit_on": TODAY + timedelta(days=10)},
    )
    due = datetime(2026, 3, 12, 1, 0, tzinfo=UTC)
    assert tasks(session, recruiter, T0) == []
    assert tasks(session, recruiter, due - DAY) == [("pool_revisit", due, {"candidate": str(candidate.id)})]
    assert tasks(session, other, due) == []
    followup.remove_from_pool(session=session, actor=recruiter, candidate_id=candidate.id)
    assert tasks(session, recruiter, due) == []
