"""Offer reminders: an offer waiting for approval reminds each approver who has not decided (when asked, then once a
day for a week); a sent offer reminds its owner two days before the answer deadline, at 09:00 company time. My tasks
shows the approvals waiting for me, my approved offers to send and my sent offers nearing their deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import services.registry  # noqa: F401 - every screen's rules and providers
from models.mail import OutboxMessage, Reminder
from services.mail.reminders import RULES, Scans, run_reminders
from services.mail.tasks import my_tasks
from services.onboard import offer_reminders, offers
from services.platform.config import get_settings
from tests.factories import done
from tests.services.test_offers import (  # noqa: F401
    DAY,
    T0,
    TODAY,
    _frozen,
    approved,
    drafted,
    sent,
    submitted,
    world,
)

HOUR = timedelta(hours=1)


def remind(engine: Engine, at: datetime, scans: Scans | None = None) -> dict[str, int]:
    return run_reminders(engine=engine, now=at, settings=get_settings(), scans=scans)


def raised(engine: Engine, rule: str) -> list[tuple[int, str]]:
    with Session(engine) as s:
        return [
            (r.user_id, r.window) for r in s.exec(select(Reminder).where(Reminder.rule == rule).order_by(Reminder.id))
        ]


def test_the_rules_are_registered_with_the_engine() -> None:
    assert RULES["offer_approval"] is offer_reminders.offer_approval
    assert RULES["offer_deadline"] is offer_reminders.offer_deadline


def test_each_approver_is_reminded_when_asked_and_daily_until_they_decide(engine, session, make) -> None:
    w = world(session, make)
    second = make.user("hiring_manager", language="en")
    offers.add_approver_rule(session=session, actor=w.admin, department="", user_id=second.id)
    session.commit()
    offer = submitted(session, w)
    assert remind(engine, T0)["offer_approval"] == 2
    assert remind(engine, T0 + HOUR)["offer_approval"] == 0  # once per day
    assert sorted(u for u, _ in raised(engine, "offer_approval")) == sorted([w.manager.id, second.id])
    with Session(engine) as s:
        to_second = s.exec(select(OutboxMessage).where(OutboxMessage.to_addrs == second.email)).one()
    assert w.candidate.name in to_second.text and "Offer to approve" in to_second.subject + to_second.text
    done(session, offers.decide_approval(session=session, actor=w.manager, offer_id=offer.id, decision="approved"))
    # The next day only the one who has not decided is reminded.
    assert remind(engine, T0 + DAY)["offer_approval"] == 1
    assert raised(engine, "offer_approval")[-1][0] == second.id
    done(session, offers.decide_approval(session=session, actor=second, offer_id=offer.id, decision="approved"))
    assert remind(engine, T0 + 2 * DAY)["offer_approval"] == 0


def test_each_reminder_names_its_own_candidate_when_several_offers_wait(engine, session, make) -> None:
    # Two worlds, two managers, two candidates: the name read per offer must be that offer's candidate's (a
    # subquery that did not correlate found every application — PostgreSQL refused it, SQLite took the first).
    first, second = world(session, make), world(session, make)
    submitted(session, first)
    submitted(session, second)
    assert remind(engine, T0)["offer_approval"] == 2
    with Session(engine) as s:
        for w in (first, second):
            mail = s.exec(select(OutboxMessage).where(OutboxMessage.to_addrs == w.manager.email)).one()
            other = second if w is first else first
            assert w.candidate.name in mail.text and other.candidate.name not in mail.text


def test_an_incremental_pass_raises_what_a_full_one_would(engine, session, make) -> None:
    w = world(session, make)
    scans = Scans(full_every=timedelta(days=365))
    remind(engine, T0 - HOUR, scans)
    submitted(session, w)
    assert remind(engine, T0 + 5 * 60 * HOUR / 3600, scans)["offer_approval"] == 1  # five minutes on
    assert remind(engine, T0 + DAY + HOUR, scans)["offer_approval"] == 1


def test_the_owner_is_reminded_two_days_before_the_deadline_at_nine(engine, session, make, frozen_clock) -> None:
    w = world(session, make)
    offer, _ = sent(session, w)  # deadline TODAY + 7 days: 2026-03-09
    assert remind(engine, T0)["offer_deadline"] == 0
    # 09:00 in Shanghai on 2026-03-07 is 01:00 UTC.
    just_before = datetime(2026, 3, 7, 0, 59, tzinfo=UTC)
    frozen_clock.set(just_before)
    assert remind(engine, just_before)["offer_deadline"] == 0
    at_nine = datetime(2026, 3, 7, 1, 0, tzinfo=UTC)
    frozen_clock.set(at_nine)
    assert remind(engine, at_nine)["offer_deadline"] == 1
    assert raised(engine, "offer_deadline") == [(w.recruiter.id, "2026-03-09")]
    assert remind(engine, at_nine + DAY)["offer_deadline"] == 0
    del offer


def test_an_answered_offer_reminds_nobody_of_its_deadline(engine, session, make, frozen_clock) -> None:
    w = world(session, make)
    offer, token = sent(session, w)
    done(session, offers.answer_offer_by_link(session=session, token=token, answer="declined", reason="location"))
    at = datetime(2026, 3, 8, 1, 0, tzinfo=UTC)
    frozen_clock.set(at)
    assert remind(engine, at)["offer_deadline"] == 0
    del offer


def test_my_tasks_show_approvals_offers_to_send_and_deadlines_to_the_right_people(session, make, frozen_clock) -> None:
    w = world(session, make)
    offer = submitted(session, w)
    assert [t.kind for t in my_tasks(session=session, actor=w.manager) if t.kind.startswith("offer")] == [
        "offer_approval"
    ]
    assert [t.kind for t in my_tasks(session=session, actor=w.other_manager) if t.kind.startswith("offer")] == []
    done(session, offers.decide_approval(session=session, actor=w.manager, offer_id=offer.id, decision="approved"))
    mine = [t for t in my_tasks(session=session, actor=w.recruiter) if t.kind.startswith("offer")]
    assert [(t.kind, t.query) for t in mine] == [("offer_to_send", {"offer_id": str(offer.id)})]
    assert [t for t in my_tasks(session=session, actor=w.manager) if t.kind.startswith("offer")] == []
    letter = done(session, offers.prepare_offer_letter(session=session, actor=w.recruiter, offer_id=offer.id))
    done(
        session,
        offers.send_offer_letter(
            session=session, actor=w.recruiter, offer_id=offer.id, subject=letter.subject, text=letter.text
        ),
    )
    assert [t for t in my_tasks(session=session, actor=w.recruiter) if t.kind.startswith("offer")] == []
    frozen_clock.set(datetime(2026, 3, 7, 9, 0, tzinfo=UTC))  # two days before the deadline
    mine = [t for t in my_tasks(session=session, actor=w.recruiter) if t.kind.startswith("offer")]
    assert [(t.kind, t.params["name"]) for t in mine] == [("offer_deadline", w.candidate.name)]
    assert offer.response_deadline == TODAY + 7 * DAY
