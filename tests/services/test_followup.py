"""Follow up: the 24-hour feedback clock, the board's states and risk reasons, contacts, intent with competing
offers (kept as history) and drafts to the candidate in their language.

Every test runs on SQLite and PostgreSQL with the clock frozen at T0 (2026-03-02 09:00 UTC, 17:00 in Shanghai);
`interviewed` makes an application whose interview runs T0–END (09:00–10:00 UTC). Other follow-up test files
import the helpers from here.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from threading import Barrier
from typing import Any

import pytest
from sqlmodel import Session, select

from models.candidate import Application, Candidate
from models.common import Stage
from models.evaluation import Interview, InterviewStatus
from models.followup import Contact, Intent
from models.job import Job
from models.mail import MailStatus, OutboxMessage
from models.user import User
from services.evaluate import evaluation
from services.follow_up import followup
from services.mail.mailer import send_due
from services.mail.outbox import cancel_message, discard_draft, send_draft
from services.mail.tasks import my_tasks
from services.pipeline.candidates import move_stage
from services.platform.config import get_settings
from services.platform.errors import Conflict, NotAllowed, NotFound, ValidationError
from tests.factories import Factory, action, done
from tests.services.mail_server import configure_mail, running_server

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
END = T0 + HOUR
TODAY = date(2026, 3, 2)  # T0's date in Shanghai


@pytest.fixture(autouse=True)
def _frozen(frozen_clock: Any) -> Any:
    return frozen_clock


# --------------------------------------------------------------------------- helpers (imported by the other files)
@dataclass
class Setup:
    """One interview of one application, the recruiter who owns the candidate and the interviewer on the panel."""

    interview: Interview
    application: Application
    candidate: Candidate
    job: Job
    recruiter: User
    panel: list[User]


def schedule(
    session: Session, recruiter: User, application: Application, panel: list[User], starts: datetime
) -> Interview:
    rnd = evaluation.list_rounds(session=session, actor=recruiter)[0]
    return done(
        session,
        evaluation.schedule_interview(
            session=session,
            actor=recruiter,
            interview_in={
                "application_id": application.id,
                "round_id": rnd.id,
                "starts_at": starts,
                "ends_at": starts + HOUR,
                "mode": "video",
                "location": "https://meet.example.com/x",
                "interviewer_ids": [p.id for p in panel],
            },
        ),
    )


def interview(make: Factory, setup: Setup, starts: datetime) -> Interview:
    """Another one-hour interview of the same application, with the same panel."""
    return schedule(make.session, setup.recruiter, setup.application, setup.panel, starts)


def interviewed(
    make: Factory,
    *,
    recruiter: User | None = None,
    starts: datetime = T0,
    job: Job | None = None,
    **candidate_values: Any,
) -> Setup:
    """A new candidate owned by `recruiter`, applying to `job`, with a one-hour interview from `starts`."""
    session = make.session
    recruiter = recruiter or make.user("recruiter")
    job = job or make.job(actor=recruiter)
    candidate = make.candidate(actor=recruiter, job=job, **candidate_values)
    application = session.exec(select(Application).where(Application.candidate_id == candidate.id)).one()
    panel = [make.user("interviewer")]
    return Setup(
        schedule(session, recruiter, application, panel, starts), application, candidate, job, recruiter, panel
    )


def fields_of(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {name: key for name, (key, _params) in exc.value.fields.items()}


def board_row(session: Session, actor: User, setup: Setup, now: datetime | None = None) -> followup.BoardRow:
    rows = [
        r
        for r in followup.follow_up_board(session=session, actor=actor, now=now)
        if r.application_id == setup.application.id
    ]
    assert len(rows) == 1, f"application {setup.application.id} is not on {actor.name}'s board"
    return rows[0]


def contact(session: Session, actor: User, setup: Setup, **values: Any) -> Contact:
    data = {
        "candidate_id": setup.candidate.id,
        "application_id": setup.application.id,
        "channel": "phone",
        "outcome": "reached",
        "summary": "聊了面试感受，候选人很期待下一轮",
    } | values
    return done(session, followup.log_contact(session=session, actor=actor, contact_in=data))


def intent(session: Session, actor: User, setup: Setup, *, version: int | None = -1, **values: Any) -> Intent:
    """Record an intent, by default as an edit of the newest one (version=-1); or from `version`."""
    data = {"application_id": setup.application.id, "interest": 4} | values
    if version == -1:
        newest = followup.latest_intent(session=session, actor=actor, application_id=setup.application.id)
        version = newest.version if newest else None
    return done(session, followup.record_intent(session=session, actor=actor, intent_in=data, version=version))


def sent_mail(session: Session, actor: User, setup: Setup, template: str = "thank_you") -> OutboxMessage:
    """A draft to the candidate, prepared now and sent as it was written."""
    draft = followup.prepare_candidate_mail(
        session=session, actor=actor, application_id=setup.application.id, template=template
    )
    return done(
        session, send_draft(session=session, actor=actor, message_id=draft.id, subject=draft.subject, text=draft.text)
    )


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


# --------------------------------------------------------------------------- the feedback clock
def test_the_clock_is_not_running_before_the_interview_has_ended(session, make, frozen_clock) -> None:
    s = interviewed(make)
    for at in (T0 - HOUR, T0 + 30 * MINUTE, END - MINUTE):
        frozen_clock.set(at)
        row = board_row(session, s.recruiter, s)
        assert (row.clock_running, row.interview_ended, row.deadline) == (False, None, None)
        assert row.state == "in_touch"


def test_the_clock_starts_when_the_interview_ends_and_gives_24_hours(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END)
    row = board_row(session, s.recruiter, s)
    assert (row.clock_running, row.state, row.interview_ended, row.deadline) == (
        True,
        "awaiting_feedback",
        END,
        END + 24 * HOUR,
    )
    frozen_clock.set(END + 5 * HOUR)
    assert board_row(session, s.recruiter, s).time_left(END + 5 * HOUR) == timedelta(hours=19)


def test_the_clock_keeps_running_and_goes_overdue_after_24_hours(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + 24 * HOUR + MINUTE)
    row = board_row(session, s.recruiter, s)
    assert (row.clock_running, row.state) == (True, "awaiting_feedback")
    assert row.time_left(END + 24 * HOUR + MINUTE) == -MINUTE


def test_the_feedback_hours_come_from_the_environment(session, make, frozen_clock, monkeypatch) -> None:
    monkeypatch.setenv("FOLLOWUP_FEEDBACK_HOURS", "48")
    get_settings.cache_clear()
    s = interviewed(make)
    frozen_clock.set(END + 30 * HOUR)
    row = board_row(session, s.recruiter, s)
    assert row.deadline == END + 48 * HOUR
    assert row.time_left(END + 30 * HOUR) == timedelta(hours=18)


def test_a_contact_logged_after_the_interview_stops_the_clock(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + 3 * HOUR)
    contact(session, s.recruiter, s, outcome="reached")
    row = board_row(session, s.recruiter, s)
    assert (row.clock_running, row.deadline, row.state) == (False, None, "in_touch")
    assert (row.last_contact, row.last_outcome) == (END + 3 * HOUR, "reached")


def test_a_contact_logged_before_the_interview_ended_does_not_stop_the_clock(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(T0 - HOUR)
    contact(session, s.recruiter, s, summary="确认面试时间")
    frozen_clock.set(END + HOUR)
    assert board_row(session, s.recruiter, s).clock_running


def test_a_contact_without_an_application_stops_the_clock_too(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    contact(session, s.recruiter, s, application_id=None, channel="wechat", outcome="replied")
    assert not board_row(session, s.recruiter, s).clock_running


@pytest.mark.parametrize("outcome", ["no_answer", "left_message"])
def test_a_call_that_did_not_reach_the_candidate_leaves_the_clock_running(session, make, frozen_clock, outcome) -> None:
    s = interviewed(make)
    frozen_clock.set(END + 2 * HOUR)
    contact(session, s.recruiter, s, outcome=outcome, summary="打了电话 / called")
    row = board_row(session, s.recruiter, s)
    assert (row.clock_running, row.state, row.deadline) == (True, "awaiting_feedback", END + 24 * HOUR)
    assert (row.last_contact, row.last_outcome) == (END + 2 * HOUR, outcome)
    # Once they are reached, it stops.
    frozen_clock.set(END + 3 * HOUR)
    contact(session, s.recruiter, s, outcome="reached")
    assert not board_row(session, s.recruiter, s).clock_running


@pytest.mark.parametrize("outcome", ["reached", "replied"])
def test_a_contact_that_reached_the_candidate_stops_the_clock(session, make, frozen_clock, outcome) -> None:
    s = interviewed(make)
    frozen_clock.set(END + 2 * HOUR)
    contact(session, s.recruiter, s, outcome=outcome)
    assert not board_row(session, s.recruiter, s).clock_running


def _force_status(
    session: Session, mail: OutboxMessage, status: MailStatus, attempts: int = 0, error: str = ""
) -> None:
    mail.status, mail.attempts, mail.last_error = status, attempts, error
    session.add(mail)
    session.commit()


@pytest.mark.parametrize(
    ("smtp_host", "status", "attempts", "problem"),
    [
        ("", MailStatus.held, 0, "held"),
        ("smtp.example.com", MailStatus.queued, 0, None),
        ("smtp.example.com", MailStatus.queued, 2, "retrying"),
        ("smtp.example.com", MailStatus.sending, 0, None),
        ("smtp.example.com", MailStatus.failed, 8, "failed"),
    ],
    ids=["held", "queued", "retrying", "sending", "failed"],
)
def test_a_mail_that_has_not_gone_out_leaves_the_clock_running_and_the_board_says_so(
    session, make, frozen_clock, monkeypatch, smtp_host, status, attempts, problem
) -> None:
    monkeypatch.setenv("FOLLOWUP_SMTP_HOST", smtp_host)
    get_settings.cache_clear()
    s = interviewed(make)
    frozen_clock.set(END + 2 * HOUR)
    mail = sent_mail(session, s.recruiter, s)
    assert mail.status == (MailStatus.queued if smtp_host else MailStatus.held)
    if status != mail.status or attempts:
        _force_status(session, mail, status, attempts, "550 mailbox unavailable" if status == "failed" else "")
    row = board_row(session, s.recruiter, s)
    assert (row.clock_running, row.state, row.mail_problem) == (True, "awaiting_feedback", problem)
    # The same definition drives My tasks (and the reminder rule, see test_followup_reminders).
    assert [
        t.kind for t in my_tasks(session=session, actor=s.recruiter, now=END + 2 * HOUR) if t.kind == "feedback_due"
    ] == ["feedback_due"]


def test_a_failed_mail_stays_on_the_board_after_word_reached_the_candidate_another_way(
    session, make, frozen_clock
) -> None:
    s = interviewed(make)
    frozen_clock.set(END + 2 * HOUR)
    mail = sent_mail(session, s.recruiter, s)
    _force_status(session, mail, MailStatus.failed, 1, "550 no such user")
    contact(session, s.recruiter, s, outcome="reached")
    row = board_row(session, s.recruiter, s)
    assert (row.clock_running, row.mail_problem) == (False, "failed")


def test_a_mail_that_has_gone_out_stops_the_clock(engine, session, make, frozen_clock, monkeypatch) -> None:
    with running_server() as smtp:
        settings = configure_mail(monkeypatch, smtp.port)
        s = interviewed(make)
        frozen_clock.set(END + 2 * HOUR)
        mail = sent_mail(session, s.recruiter, s)
        # The candidate's mail, and the panel's calendar invitation for the interview.
        assert send_due(engine=engine, settings=settings).sent == 2
        assert len(smtp.received) == 2
    session.refresh(mail)
    assert mail.status == MailStatus.sent
    assert not board_row(session, s.recruiter, s).clock_running


def test_a_draft_or_a_cancelled_mail_does_not_stop_the_clock(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    draft = followup.prepare_candidate_mail(
        session=session, actor=s.recruiter, application_id=s.application.id, template="thank_you"
    )
    assert draft.status == MailStatus.draft
    assert board_row(session, s.recruiter, s).clock_running

    discard_draft(session=session, actor=s.recruiter, message_id=draft.id)
    assert board_row(session, s.recruiter, s).clock_running

    held = sent_mail(session, s.recruiter, s)
    assert board_row(session, s.recruiter, s).mail_problem == "held"
    cancel_message(session=session, actor=s.recruiter, message_id=held.id)
    row = board_row(session, s.recruiter, s)
    assert (row.clock_running, row.state, row.deadline) == (True, "awaiting_feedback", END + 24 * HOUR)


def test_a_mail_sent_before_the_interview_ended_does_not_stop_the_clock(session, make, frozen_clock) -> None:
    s = interviewed(make)
    sent_mail(session, s.recruiter, s, template="next_round")  # at T0, during the interview
    frozen_clock.set(END + HOUR)
    assert board_row(session, s.recruiter, s).clock_running


def test_a_later_interview_starts_the_clock_again(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    contact(session, s.recruiter, s)
    second = interview(make, s, T0 + DAY)
    assert not board_row(session, s.recruiter, s).clock_running
    frozen_clock.set(second.ends_at + MINUTE)
    row = board_row(session, s.recruiter, s)
    assert (row.clock_running, row.interview_ended, row.deadline) == (True, END + DAY, END + DAY + 24 * HOUR)


def test_a_cancelled_interview_does_not_start_the_clock(session, make, frozen_clock) -> None:
    s = interviewed(make)
    evaluation.set_interview_status(
        session=session,
        actor=s.recruiter,
        interview_id=s.interview.id,
        status=InterviewStatus.cancelled,
        reason="候选人改期",
    )
    frozen_clock.set(END + HOUR)
    assert not board_row(session, s.recruiter, s).clock_running


def test_running_clocks_come_first_soonest_deadline_first(session, make, frozen_clock) -> None:
    recruiter = make.user("recruiter")
    later = interviewed(make, recruiter=recruiter, starts=T0 + 2 * HOUR)
    sooner = interviewed(make, recruiter=recruiter, starts=T0)
    calm = interviewed(make, recruiter=recruiter, starts=T0 - DAY)
    frozen_clock.set(T0 - DAY + 2 * HOUR)
    contact(session, recruiter, calm)
    frozen_clock.set(T0 + 4 * HOUR)
    board = followup.follow_up_board(session=session, actor=recruiter)
    assert [r.application_id for r in board] == [sooner.application.id, later.application.id, calm.application.id]
    assert [r.state for r in board] == ["awaiting_feedback", "awaiting_feedback", "in_touch"]


# --------------------------------------------------------------------------- the board's states and risk
def test_no_answer_or_a_left_message_means_awaiting_the_candidates_reply(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    contact(session, s.recruiter, s, outcome="reached")  # word reached them: the clock stops
    for outcome, state in [
        ("no_answer", "awaiting_reply"),
        ("left_message", "awaiting_reply"),
        ("replied", "in_touch"),
        ("reached", "in_touch"),
    ]:
        contact(session, s.recruiter, s, outcome=outcome)
        assert board_row(session, s.recruiter, s).state == state, outcome


def test_an_offer_with_no_risk_and_no_clock_is_decided(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    move_stage(session=session, actor=s.recruiter, application_id=s.application.id, to_stage=Stage.offer)
    assert board_row(session, s.recruiter, s).state == "awaiting_feedback"  # the clock still runs
    contact(session, s.recruiter, s, summary="口头 offer 已沟通")
    assert board_row(session, s.recruiter, s).state == "decided"
    intent(session, s.recruiter, s, interest=2)
    assert board_row(session, s.recruiter, s).state == "at_risk"


def test_closed_applications_leave_the_board(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    move_stage(
        session=session,
        actor=s.recruiter,
        application_id=s.application.id,
        to_stage=Stage.rejected,
        reason="经验不匹配",
    )
    assert followup.follow_up_board(session=session, actor=s.recruiter) == []


@pytest.mark.parametrize(("interest", "at_risk"), [(1, True), (2, True), (3, False), (5, False)])
def test_an_interest_of_two_or_less_is_a_risk(session, make, frozen_clock, interest, at_risk) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    contact(session, s.recruiter, s)
    intent(session, s.recruiter, s, interest=interest)
    expected = ["risk.low_interest"] if at_risk else []
    assert followup.risk_of(session=session, actor=s.recruiter, application_id=s.application.id) == expected
    row = board_row(session, s.recruiter, s)
    assert (row.risks, row.state, row.interest) == (expected, "at_risk" if at_risk else "in_touch", interest)


def test_only_the_newest_intent_counts_for_the_risk(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    contact(session, s.recruiter, s)
    intent(session, s.recruiter, s, interest=1)
    intent(session, s.recruiter, s, interest=4)
    assert board_row(session, s.recruiter, s).risks == []


@pytest.mark.parametrize(("days", "at_risk"), [(-1, False), (0, True), (3, True), (4, False)])
def test_a_competing_offer_deadline_within_three_days_is_a_risk(session, make, frozen_clock, days, at_risk) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    contact(session, s.recruiter, s)
    intent(
        session,
        s.recruiter,
        s,
        offers=[{"company": "字节跳动", "stage": "口头 offer", "deadline": TODAY + timedelta(days=days)}],
    )
    expected = ["risk.offer_deadline"] if at_risk else []
    assert followup.risk_of(session=session, actor=s.recruiter, application_id=s.application.id) == expected
    assert board_row(session, s.recruiter, s).risks == expected


def test_an_offer_deadline_that_has_passed_does_not_hide_a_later_one_that_is_near(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    contact(session, s.recruiter, s)
    intent(
        session,
        s.recruiter,
        s,
        offers=[
            {"company": "阿里巴巴", "deadline": TODAY + timedelta(days=1)},
            {"company": "腾讯", "deadline": TODAY + timedelta(days=5)},
        ],
    )
    assert board_row(session, s.recruiter, s).risks == ["risk.offer_deadline"]
    frozen_clock.set(END + 3 * DAY)  # 阿里巴巴's deadline has passed, 腾讯's is two days away
    assert board_row(session, s.recruiter, s).risks == ["risk.offer_deadline"]
    frozen_clock.set(END + 6 * DAY)  # both have passed
    assert board_row(session, s.recruiter, s).risks == []


def test_the_offer_deadline_risk_uses_the_company_time_zone(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    contact(session, s.recruiter, s)
    intent(session, s.recruiter, s, offers=[{"company": "美团", "deadline": TODAY - timedelta(days=1)}])
    # 23:30 on 1 March in UTC is already 2 March in Shanghai: yesterday's deadline has passed there.
    assert (
        followup.risk_of(
            session=session,
            actor=s.recruiter,
            application_id=s.application.id,
            now=datetime(2026, 3, 1, 23, 30, tzinfo=UTC),
        )
        == []
    )


def test_silence_after_the_next_contact_date_is_a_risk_until_someone_gets_in_touch(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + 30 * MINUTE)
    contact(session, s.recruiter, s, outcome="reached")  # the clock stops
    frozen_clock.set(END + HOUR)
    contact(session, s.recruiter, s, outcome="left_message", next_contact_at=END + DAY)
    row = board_row(session, s.recruiter, s)
    assert (row.risks, row.state, row.next_contact_at) == ([], "awaiting_reply", END + DAY)

    frozen_clock.set(END + DAY + MINUTE)
    row = board_row(session, s.recruiter, s)
    assert (row.risks, row.state) == (["risk.silent"], "at_risk")
    assert followup.risk_of(session=session, actor=s.recruiter, application_id=s.application.id) == ["risk.silent"]

    contact(session, s.recruiter, s, outcome="reached")
    row = board_row(session, s.recruiter, s)
    assert (row.risks, row.state) == ([], "in_touch")


def test_every_risk_is_listed_with_its_reason(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    contact(session, s.recruiter, s, next_contact_at=END + 2 * HOUR)
    intent(session, s.recruiter, s, interest=1, offers=[{"company": "京东", "deadline": TODAY + timedelta(days=2)}])
    frozen_clock.set(END + 3 * HOUR)
    assert followup.risk_of(session=session, actor=s.recruiter, application_id=s.application.id) == [
        "risk.low_interest",
        "risk.offer_deadline",
        "risk.silent",
    ]


# --------------------------------------------------------------------------- who sees which board
def test_a_recruiter_sees_the_candidates_they_own_and_an_admin_sees_all(session, make, frozen_clock) -> None:
    mine, theirs = make.user("recruiter"), make.user("recruiter")
    a = interviewed(make, recruiter=mine)
    b = interviewed(make, recruiter=theirs)
    frozen_clock.set(END + HOUR)

    def seen(actor: User, **kw: Any) -> set[int]:
        return {r.application_id for r in followup.follow_up_board(session=session, actor=actor, **kw)}

    assert seen(mine) == {a.application.id}
    assert seen(theirs) == {b.application.id}
    admin = make.admin()
    assert seen(admin) == {a.application.id, b.application.id}
    assert seen(admin, owner_id=theirs.id) == {b.application.id}


def test_a_recruiter_cannot_open_another_recruiters_board(session, make, frozen_clock) -> None:
    mine, theirs = make.user("recruiter"), make.user("recruiter")
    a = interviewed(make, recruiter=mine)
    interviewed(make, recruiter=theirs)
    frozen_clock.set(END + HOUR)
    board = followup.follow_up_board(session=session, actor=mine, owner_id=theirs.id)
    assert [r.application_id for r in board] == [a.application.id]


@pytest.mark.parametrize("roles", ["interviewer", "hiring_manager"])
def test_the_board_is_not_for_interviewers_or_hiring_managers(session, make, roles) -> None:
    s = interviewed(make)
    with pytest.raises(NotAllowed):
        followup.follow_up_board(session=session, actor=make.user(roles))
    with pytest.raises(NotAllowed):
        followup.follow_up_board(session=session, actor=s.panel[0])


def test_an_interviewer_may_not_log_contacts_or_intent(session, make, frozen_clock) -> None:
    s = interviewed(make)
    with pytest.raises(NotAllowed):
        contact(session, s.panel[0], s)
    with pytest.raises(NotAllowed):
        intent(session, s.panel[0], s)
    with pytest.raises(NotAllowed):
        followup.intent_history(session=session, actor=s.panel[0], application_id=s.application.id)
    assert session.exec(select(Contact)).all() == []


def test_the_jobs_hiring_manager_may_log_a_contact_about_their_job_but_not_others(session, make, frozen_clock) -> None:
    manager = make.user("hiring_manager")
    s = interviewed(make, job=make.job(hiring_manager_id=manager.id))
    other = interviewed(make)
    frozen_clock.set(END + HOUR)
    logged = contact(session, manager, s, summary="我亲自打了电话")
    assert logged.by_user_id == manager.id
    assert intent(session, manager, s, interest=5).by_user_id == manager.id
    with pytest.raises(NotAllowed):
        contact(session, manager, other)
    with pytest.raises(NotAllowed):
        contact(session, manager, s, application_id=None)


# --------------------------------------------------------------------------- contacts: bad input
@pytest.mark.parametrize(
    ("values", "field", "key"),
    [
        ({"summary": ""}, "summary", "err.required"),
        ({"summary": "   \n\t "}, "summary", "err.required"),
        ({"summary": "x" * 5001}, "summary", "err.too_long"),
        ({"channel": "fax"}, "channel", "err.choice_invalid"),
        ({"outcome": "maybe"}, "outcome", "err.choice_invalid"),
        ({"next_contact_at": END}, "next_contact_at", "err.next_contact_past"),
        ({"next_contact_at": END + 2 * HOUR}, "next_contact_at", "err.next_contact_past"),  # = now
        ({"next_contact_at": datetime(2026, 3, 5, 10, 0)}, "next_contact_at", "err.timezone_required"),
        ({"next_contact_at": END + 400 * DAY}, "next_contact_at", "err.out_of_range"),
        ({"next_contact_at": "next tuesday"}, "next_contact_at", "err.date_invalid"),
    ],
    ids=[
        "empty_summary",
        "whitespace_summary",
        "long_summary",
        "channel",
        "outcome",
        "past",
        "now",
        "naive",
        "over_a_year",
        "not_a_date",
    ],
)
def test_a_contact_with_bad_input_is_refused_with_a_clear_key(session, make, frozen_clock, values, field, key) -> None:
    s = interviewed(make)
    frozen_clock.set(END + 2 * HOUR)
    with pytest.raises(ValidationError) as err:
        contact(session, s.recruiter, s, **values)
    assert fields_of(err) == {field: key}
    assert session.exec(select(Contact)).all() == []
    assert board_row(session, s.recruiter, s).clock_running


def test_a_contact_for_another_candidates_application_is_refused(session, make, frozen_clock) -> None:
    s = interviewed(make)
    other = interviewed(make, recruiter=s.recruiter)
    with pytest.raises(ValidationError) as err:
        contact(session, s.recruiter, s, application_id=other.application.id)
    assert fields_of(err) == {"application_id": "err.invalid"}
    with pytest.raises(NotFound):
        contact(session, s.recruiter, s, candidate_id=999_999, application_id=None)


def test_a_contact_is_logged_with_who_and_when_and_listed_newest_first(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    first = contact(
        session,
        s.recruiter,
        s,
        summary="  第一次  ",
        outcome="no_answer",
        next_contact_at=datetime(2026, 3, 3, 10, 0, tzinfo=UTC),
    )
    frozen_clock.set(END + 2 * HOUR)
    second = contact(
        session, s.recruiter, s, channel="wechat", direction="inbound", outcome="replied", summary="候选人微信回复"
    )
    assert (first.summary, first.at, first.by_user_id) == ("第一次", END + HOUR, s.recruiter.id)
    log = followup.list_contacts(session=session, actor=s.recruiter, candidate_id=s.candidate.id)
    assert [(c.id, name) for c, name in log] == [(second.id, s.recruiter.name), (first.id, s.recruiter.name)]
    assert (log[0][0].channel, log[0][0].direction) == ("wechat", "inbound")


# --------------------------------------------------------------------------- intent and offers
def test_expected_salary_accepts_thousands_separators_and_currency_signs(session, make) -> None:
    s = interviewed(make)
    for typed, stored in [
        ("30,000", Decimal("30000")),
        ("¥45，000.50", Decimal("45000.50")),
        (" 28000 ", 28000),
        ("", None),
        (None, None),
    ]:
        saved = intent(session, s.recruiter, s, expected_salary=typed)
        session.refresh(saved)
        assert saved.expected_salary == stored, typed


@pytest.mark.parametrize(
    ("values", "field", "key"),
    [
        ({"expected_salary": "abc"}, "expected_salary", "err.not_a_number"),
        ({"expected_salary": "-1"}, "expected_salary", "err.out_of_range"),
        ({"expected_salary": -5000}, "expected_salary", "err.out_of_range"),
        ({"expected_salary": "1,000,000,000"}, "expected_salary", "err.out_of_range"),
        ({"interest": 0}, "interest", "err.out_of_range"),
        ({"interest": 6}, "interest", "err.out_of_range"),
        ({"interest": None}, "interest", "err.not_a_number"),
        ({"notes": "x" * 10 * 2**20}, "notes", "err.too_long"),
        ({"offers": [{"company": "", "stage": "二面"}]}, "offers", "err.required"),
        ({"offers": [{"stage": "二面"}]}, "offers", "err.required"),
        ({"offers": [{"company": "   "}]}, "offers", "err.required"),
        ({"offers": [{"company": "拼多多", "deadline": "soon"}]}, "offers", "err.date_invalid"),
        ({"decision_deadline": "2026-02-30"}, "decision_deadline", "err.date_invalid"),
    ],
    ids=[
        "salary_abc",
        "salary_negative_text",
        "salary_negative",
        "salary_huge",
        "interest_0",
        "interest_6",
        "interest_none",
        "notes_10mb",
        "offer_empty_company",
        "offer_no_company",
        "offer_blank_company",
        "offer_bad_deadline",
        "bad_date",
    ],
)
def test_an_intent_with_bad_input_is_refused_with_a_clear_key(session, make, values, field, key) -> None:
    s = interviewed(make)
    with pytest.raises(ValidationError) as err:
        intent(session, s.recruiter, s, **values)
    assert fields_of(err) == {field: key}
    assert session.exec(select(Intent)).all() == []


def test_at_most_ten_competing_offers_are_kept(session, make) -> None:
    s = interviewed(make)
    offers = [{"company": f"公司 {i}"} for i in range(11)]
    with pytest.raises(ValidationError) as err:
        intent(session, s.recruiter, s, offers=offers)
    # Refused on the offers field; the key is the generic err.invalid until i18n has a "too many" text for lists.
    assert list(fields_of(err)) == ["offers"]
    assert session.exec(select(Intent)).all() == []
    saved = intent(session, s.recruiter, s, offers=offers[:10])
    assert len(followup.json.loads(saved.offers)) == 10


def test_intent_history_keeps_every_version_newest_first(session, make, frozen_clock) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    first = intent(session, s.recruiter, s, interest=4, expected_salary="30,000", notes="很感兴趣")
    frozen_clock.set(END + DAY)
    second = intent(
        session,
        s.recruiter,
        s,
        interest=3,
        expected_salary="35,000",
        offers=[
            {"company": "字节跳动", "stage": "HR 面", "deadline": "2026-03-10"},
            {"company": "美团", "stage": "offer", "deadline": "2026-03-06"},
        ],
    )
    frozen_clock.set(END + 2 * DAY)
    third = intent(session, make.admin(), s, interest=2, earliest_start="2026-04-01", decision_deadline="2026-03-08")

    history = followup.intent_history(session=session, actor=s.recruiter, application_id=s.application.id)
    assert [i.id for i, _ in history] == [third.id, second.id, first.id]
    assert [i.interest for i, _ in history] == [2, 3, 4]
    assert [i.at for i, _ in history] == [END + 2 * DAY, END + DAY, END + HOUR]
    old = history[2][0]
    assert (old.expected_salary, old.notes, old.offers) == (Decimal("30000"), "很感兴趣", "[]")
    offered = history[1][0]
    assert followup.json.loads(offered.offers) == [
        {"company": "字节跳动", "stage": "HR 面", "deadline": "2026-03-10"},
        {"company": "美团", "stage": "offer", "deadline": "2026-03-06"},
    ]
    assert offered.nearest_offer_deadline == date(2026, 3, 6)
    assert (third.earliest_start, third.decision_deadline) == (date(2026, 4, 1), date(2026, 3, 8))
    assert history[0][1] != history[1][1]  # who recorded each


def test_intent_for_an_unknown_application_is_not_found(session, make) -> None:
    with pytest.raises(NotFound):
        followup.record_intent(
            session=session, actor=make.admin(), intent_in={"application_id": 999_999, "interest": 3}
        )


# --------------------------------------------------------------------------- mail to the candidate
@pytest.mark.parametrize("template", ["thank_you", "next_round", "rejection", "survey_invite"])
def test_each_draft_is_written_in_the_candidates_language(session, make, template) -> None:
    recruiter = make.user("recruiter", name="王芳")
    zh = interviewed(make, recruiter=recruiter, name="李雷")
    en = interviewed(make, recruiter=recruiter, name="Alice Smith", language="en")
    zh_mail = followup.prepare_candidate_mail(
        session=session, actor=recruiter, application_id=zh.application.id, template=template
    )
    en_mail = followup.prepare_candidate_mail(
        session=session, actor=recruiter, application_id=en.application.id, template=template
    )
    assert (zh_mail.language, en_mail.language) == ("zh", "en")
    assert (zh_mail.status, zh_mail.template, zh_mail.to_addrs) == (MailStatus.draft, template, zh.candidate.email)
    assert (zh_mail.candidate_id, zh_mail.application_id) == (zh.candidate.id, zh.application.id)
    assert "李雷" in zh_mail.text and "Alice Smith" in en_mail.text
    if template == "rejection":  # a rejection is signed by the recruiting team, the others by the recruiter
        assert "招聘团队" in zh_mail.text and "Recruiting team" in en_mail.text and "王芳" not in zh_mail.text
    else:
        assert "王芳" in zh_mail.text and "王芳" in en_mail.text
    assert has_chinese(zh_mail.subject) and has_chinese(zh_mail.text.replace("李雷", "").replace("王芳", ""))
    assert not has_chinese(en_mail.subject + en_mail.text.replace("王芳", ""))
    assert followup.drafts_for_application(session=session, actor=recruiter, application_id=en.application.id) == [
        en_mail
    ]


def test_an_unknown_template_or_a_candidate_without_email_is_refused(session, make) -> None:
    s = interviewed(make)
    with pytest.raises(ValidationError) as err:
        followup.prepare_candidate_mail(
            session=session, actor=s.recruiter, application_id=s.application.id, template="offer_letter"
        )
    assert fields_of(err) == {"template": "err.choice_invalid"}
    phone_only = interviewed(make, recruiter=s.recruiter, email=None)
    with pytest.raises(ValidationError) as err:
        followup.prepare_candidate_mail(
            session=session, actor=s.recruiter, application_id=phone_only.application.id, template="thank_you"
        )
    assert fields_of(err) == {"to": "err.candidate_no_email"}
    candidate_mail = select(OutboxMessage).where(OutboxMessage.recipient_user_id.is_(None))  # not the panel's
    assert session.exec(candidate_mail).all() == []


def test_an_interviewer_cannot_prepare_mail_to_the_candidate(session, make) -> None:
    s = interviewed(make)
    with pytest.raises(NotAllowed):
        followup.prepare_candidate_mail(
            session=session, actor=s.panel[0], application_id=s.application.id, template="thank_you"
        )


# --------------------------------------------------------------------------- the board at scale
def _many_applications(make: Factory, recruiter: User, job: Job, count: int) -> None:
    """`count` quiet applications of `recruiter`'s candidates, changed in the last hours (newest first)."""
    session = make.session
    people = [Candidate(name=f"批量 {n}", email=f"bulk{n}@example.com", owner_id=recruiter.id) for n in range(count)]
    session.add_all(people)
    session.flush()
    session.add_all(
        [
            Application(
                candidate_id=p.id,
                job_id=job.id,
                stage=Stage.interviewing,
                owner_id=recruiter.id,
                stage_changed_at=T0 - n * MINUTE,
            )
            for n, p in enumerate(people)
        ]
    )
    session.commit()


def test_an_overdue_candidate_is_on_the_board_however_many_others_changed_more_recently(
    session, make, frozen_clock
) -> None:
    recruiter = make.user("recruiter")
    frozen_clock.set(T0 - 30 * DAY)
    overdue = interviewed(make, recruiter=recruiter, starts=T0 - 30 * DAY)  # the oldest-changed application
    _many_applications(make, recruiter, overdue.job, 520)
    frozen_clock.set(T0 + 5 * HOUR)
    board = followup.follow_up_board(session=session, actor=recruiter, limit=followup.BOARD_PAGE)
    assert board[0].application_id == overdue.application.id
    assert (board[0].state, board[0].clock_running) == ("awaiting_feedback", True)
    assert len(board) == 1 + followup.BOARD_PAGE
    # The rest a page at a time: every one of them is reachable, none twice.
    assert followup.board_counts(session=session, actor=recruiter) == (1, 520)
    pages = [board]
    while sum(len(p) - 1 for p in pages) < 520:
        pages.append(
            followup.follow_up_board(session=session, actor=recruiter, offset=followup.BOARD_PAGE * len(pages))
        )
        assert pages[-1][0].application_id == overdue.application.id  # its running clock's page is the first
    seen = [r.application_id for p in pages for r in p[1:]]
    assert len(seen) == len(set(seen)) == 520
    # The board says how many there are of each, from the same statement, on every page (past the end too).
    assert {(p.running, p.others) for p in pages} == {(1, 520)}
    past = followup.follow_up_board(session=session, actor=recruiter, offset=600, running_offset=600)
    assert (past.running, past.others, list(past)) == (1, 520, [])


def test_a_backlog_of_overdue_feedback_is_paged_most_overdue_first_and_leaves_the_others_on_the_first_page(
    session, make, frozen_clock
) -> None:
    """Hundreds of clocks running do not push the candidates at risk or in touch off the first page: each part
    of the board has its own pages, and the count of those awaiting feedback is of all of them."""
    recruiter = make.user("recruiter")
    late = [interviewed(make, recruiter=recruiter, starts=T0 - (10 - n) * HOUR) for n in range(5)]
    quiet = interviewed(make, recruiter=recruiter, starts=T0 - 20 * HOUR)
    frozen_clock.set(T0 + HOUR)
    contact(session, recruiter, quiet)
    first = followup.follow_up_board(session=session, actor=recruiter, limit=2)
    assert (first.running, first.others) == (5, 1)
    assert [r.application_id for r in first] == [late[0].application.id, late[1].application.id, quiet.application.id]
    ids = [
        r.application_id
        for off in (0, 2, 4)
        for r in followup.follow_up_board(session=session, actor=recruiter, limit=2, running_offset=off)
        if r.clock_running
    ]
    assert ids == [s.application.id for s in late]  # every one, most overdue first, none twice


def test_a_link_opens_its_application_wherever_it_is_on_the_board(session, make, frozen_clock) -> None:
    """A row past the first page (a link from My tasks, a mail, a row picked on page 2) is found all the same."""
    recruiter = make.user("recruiter")
    frozen_clock.set(T0 - 30 * DAY)
    overdue = interviewed(make, recruiter=recruiter, starts=T0 - 30 * DAY)
    _many_applications(make, recruiter, overdue.job, 30)
    frozen_clock.set(T0 + 5 * HOUR)
    first = followup.follow_up_board(session=session, actor=recruiter, limit=10)
    second = followup.follow_up_board(session=session, actor=recruiter, offset=10, limit=10)
    later = second[-1]
    assert later.application_id not in {r.application_id for r in first}
    board = followup.follow_up_board(session=session, actor=recruiter, limit=10, focus_application=later.application_id)
    assert board.focus is not None and board.focus.application_id == later.application_id
    assert board.focus.candidate == later.candidate
    assert [r.application_id for r in board] == [r.application_id for r in first]  # the page is unchanged
    by_candidate = followup.follow_up_board(
        session=session, actor=recruiter, limit=10, focus_candidate=overdue.candidate.id
    )
    assert by_candidate.focus is not None and by_candidate.focus.clock_running
    assert len(by_candidate) == len(first)  # the running one is on the page already, not twice
    # Not on this reader's board (another recruiter's candidate): no row.
    other = make.user("recruiter")
    assert followup.follow_up_board(session=session, actor=other, focus_application=later.application_id).focus is None


def test_every_running_clock_is_listed_most_overdue_first(session, make, frozen_clock) -> None:
    recruiter = make.user("recruiter")
    first = interviewed(make, recruiter=recruiter, starts=T0 - 3 * DAY)
    second = interviewed(make, recruiter=recruiter, starts=T0 - 2 * DAY)
    frozen_clock.set(T0 + HOUR)
    _many_applications(make, recruiter, first.job, 5)
    board = followup.follow_up_board(session=session, actor=recruiter, limit=2)
    assert [r.application_id for r in board[:2]] == [first.application.id, second.application.id]
    assert len(board) == 4


# --------------------------------------------------------------------------- intent: the second save and two editors
def test_a_second_intent_save_from_the_form_keeps_the_offers_and_dates_recorded_before(
    session, make, frozen_clock
) -> None:
    s = interviewed(make)
    frozen_clock.set(END + HOUR)
    first = intent(
        session,
        s.recruiter,
        s,
        version=None,
        interest=4,
        expected_salary="30000",
        earliest_start=TODAY + 30 * DAY,
        decision_deadline=TODAY + 7 * DAY,
        offers=[{"company": "字节跳动", "stage": "口头 offer", "deadline": TODAY + 2 * DAY}],
    )
    assert board_row(session, s.recruiter, s).risks == ["risk.offer_deadline"]
    # The form starts from the newest values; the person changes only the interest and saves again.
    latest = followup.latest_intent(session=session, actor=s.recruiter, application_id=s.application.id)
    again = {
        "interest": 3,
        "expected_salary": latest.expected_salary,
        "earliest_start": latest.earliest_start,
        "decision_deadline": latest.decision_deadline,
        "notes": latest.notes,
        "offers": json.loads(latest.offers),
    }
    second = intent(session, s.recruiter, s, version=latest.version, **again)
    assert (second.version, second.interest, second.expected_salary) == (2, 3, Decimal("30000"))
    assert (second.earliest_start, second.decision_deadline, second.offers) == (
        first.earliest_start,
        first.decision_deadline,
        first.offers,
    )
    assert board_row(session, s.recruiter, s).risks == ["risk.offer_deadline"]  # the at-risk flag stays
    history = followup.intent_history(session=session, actor=s.recruiter, application_id=s.application.id)
    assert [(i.version, i.interest) for i, _ in history] == [(2, 3), (1, 4)]


def test_an_intent_save_based_on_an_older_version_is_a_conflict(session, make, frozen_clock) -> None:
    s = interviewed(make)
    other = make.admin()
    intent(session, s.recruiter, s, version=None, interest=4)
    intent(session, other, s, version=1, interest=2, notes="另一位同事刚更新")
    with pytest.raises(Conflict) as err:
        intent(session, s.recruiter, s, version=1, interest=5)
    assert (err.value.key, err.value.current.version, err.value.current.notes) == (
        "err.intent_changed",
        2,
        "另一位同事刚更新",
    )
    with pytest.raises(Conflict):
        intent(session, s.recruiter, s, version=None, interest=5)  # a form that started empty, too
    assert [
        i.interest
        for i, _ in followup.intent_history(session=session, actor=s.recruiter, application_id=s.application.id)
    ] == [2, 4]


def test_two_intent_saves_at_the_same_moment_store_one_and_refuse_the_other(engine, session, make) -> None:
    s = interviewed(make)
    intent(session, s.recruiter, s, version=None, interest=4)
    start = Barrier(2)

    def save(interest: int) -> str:
        start.wait()
        try:
            with action(engine) as own:
                followup.record_intent(
                    session=own,
                    actor=s.recruiter,
                    version=1,
                    intent_in={"application_id": s.application.id, "interest": interest},
                )
            return "saved"
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(f.result() for f in [pool.submit(save, 1), pool.submit(save, 5)])
    assert outcomes == ["conflict", "saved"]
    session.expire_all()
    assert sorted(i.version for i in session.exec(select(Intent))) == [1, 2]


def test_an_erased_candidate_is_on_no_board_and_in_no_count(session, make, frozen_clock) -> None:
    """The board reads the open applications and leaves out the erased candidates' (a small set), for an admin's
    whole board, an owner's, and a recruiter's own — in the rows and in both counts."""
    from models.common import utcnow

    admin = make.admin()
    kept, erased = interviewed(make), interviewed(make)
    frozen_clock.set(END + HOUR)  # both clocks run
    gone = session.get(Candidate, erased.candidate.id)
    gone.anonymised_at = utcnow()
    session.add(gone)
    session.commit()
    for actor, owner in ((admin, None), (admin, kept.recruiter.id), (kept.recruiter, None)):
        board = followup.follow_up_board(session=session, actor=actor, owner_id=owner)
        assert [r.application_id for r in board] == [kept.application.id], (actor.email, owner)
        assert (board.running, board.others) == (1, 0)
    for actor, owner in ((admin, erased.recruiter.id), (erased.recruiter, None)):
        board = followup.follow_up_board(session=session, actor=actor, owner_id=owner)
        assert (list(board), board.running, board.others) == ([], 0, 0)
