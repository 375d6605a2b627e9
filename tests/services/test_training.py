"""Training sessions (issue 11, item 4): each one a calendar invitation to the new hire and the attendees — the
.ics parsed back with icalendar (UID stable, SEQUENCE rising, times in UTC, CANCEL on cancel), two editors,
double submits, bad input, permissions, and the invitation arriving through a real SMTP server.

Plans are built here directly from model rows (`a_plan`): the plans part of issue 11 owns plan creation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.job import Job
from models.mail import MailStatus, OutboxAttachment, OutboxMessage
from models.onboard import ChecklistItem, Offer, OnboardingPlan, PlanStatus, TrainingSession
from models.user import User
from services.mail.mailer import send_due
from services.onboard import training
from services.platform.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationError
from tests import factories
from tests.services.mail_server import configure_mail, running_server

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = date(2026, 3, 16)  # the clock is frozen at 2026-03-02 09:00 UTC
HOSTILE = '![x](/session/end) =HYPERLINK("http://evil") <script>alert(1)</script>;,\\ 会议室 3'
CHECKLIST = [("身份证", "ID card"), ("学历/学位证书", "Degree certificates"), ("银行卡", "Bank card")]


@pytest.fixture(autouse=True)
def _frozen(frozen_clock: Any) -> Any:
    return frozen_clock


@dataclass
class Hire:
    admin: User
    recruiter: User
    manager: User
    buddy: User
    job: Job
    candidate: Candidate
    application: Application
    offer: Offer
    plan: OnboardingPlan
    items: list[ChecklistItem]


def a_plan(
    make: factories.Factory,
    *,
    start: date = START,
    language: str = "zh",
    email: str | None = None,
    location: str = "上海市徐汇区 1 号楼",
    template_id: int | None = None,
    manager: User | None = None,
) -> Hire:
    """A hired candidate's onboarding plan (with its offer and checklist), made from rows as the plans part would."""
    session: Session = make.session
    admin = make.admin()
    recruiter = make.user("recruiter")
    manager = manager or make.user("hiring_manager", name="王经理 Manager")
    buddy = make.user("interviewer", name="李伙伴 Buddy")
    job = make.job(actor=admin, hiring_manager_id=manager.id)
    candidate = make.candidate(actor=admin, job=job, language=language, **({"email": email} if email else {}))
    application = session.exec(select(Application).where(Application.candidate_id == candidate.id)).one()
    offer = Offer.model_validate(
        {
            "application_id": application.id,
            "status": "accepted",
            "job_title": job.title,
            "salary_amount": 20000,
            "start_date": start,
            "location": location,
            "probation_months": 3,
            "response_deadline": start - timedelta(days=7),
            "created_by_id": recruiter.id,
        }
    )
    session.add(offer)
    session.flush()
    plan = OnboardingPlan.model_validate(
        {
            "application_id": application.id,
            "offer_id": offer.id,
            "template_id": template_id,
            "start_date": start,
            "probation_end": start + timedelta(days=92),
            "hiring_manager_id": manager.id,
            "recruiter_id": recruiter.id,
            "buddy_id": buddy.id,
        }
    )
    session.add(plan)
    session.flush()
    items = [
        ChecklistItem.model_validate({"plan_id": plan.id, "position": i, "label_zh": zh, "label_en": en})
        for i, (zh, en) in enumerate(CHECKLIST)
    ]
    session.add_all(items)
    session.commit()
    return Hire(admin, recruiter, manager, buddy, job, candidate, application, offer, plan, items)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in Shanghai on March `day`, 2026."""
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


def form(h: Hire, **values: Any) -> dict[str, Any]:
    return {
        "title": "入职培训 Orientation",
        "starts_at": at(16, 10),
        "ends_at": at(16, 11, 30),
        "location": "3 楼大会议室",
        "meeting_link": "",
        "attendee_ids": [h.buddy.id, h.manager.id],
    } | values


def add(session: Session, h: Hire, actor: User | None = None, **values: Any) -> TrainingSession:
    row = training.add_session(
        session=session, actor=actor or h.recruiter, plan_id=h.plan.id, training_in=form(h, **values)
    )
    session.commit()
    return row


def move(session: Session, h: Hire, row: TrainingSession, version: int | None = None, **values: Any) -> TrainingSession:
    moved = training.move_session(
        session=session,
        actor=h.recruiter,
        training_id=row.id,
        version=row.version if version is None else version,
        training_in=form(h, **values),
    )
    session.commit()
    return moved


def invitations(session: Session, row: TrainingSession) -> list[tuple[OutboxMessage, Calendar]]:
    """Every mail about one session, oldest first, with its parsed .ics."""
    out = []
    query = select(OutboxMessage).where(col(OutboxMessage.idempotency_key).startswith(f"training:{row.id}:"))
    for message in session.exec(query.order_by(col(OutboxMessage.id))):
        [attachment] = session.exec(select(OutboxAttachment).where(OutboxAttachment.outbox_id == message.id)).all()
        assert attachment.mime_type == "text/calendar" and attachment.filename.endswith(".ics")
        out.append((message, Calendar.from_ical(attachment.content)))
    return out


def event_of(cal: Calendar) -> Any:
    [event] = cal.walk("VEVENT")
    return event


def attendees(cal: Calendar) -> list[str]:
    value = event_of(cal).get("attendee")
    values = value if isinstance(value, list) else [value] if value else []
    return sorted(str(v).removeprefix("mailto:") for v in values)


def to_of(message: OutboxMessage) -> str:
    return message.to_addrs


# --------------------------------------------------------------------------- invitations
def test_adding_a_session_invites_the_new_hire_and_each_attendee_in_utc(session, make) -> None:
    h = a_plan(make)
    row = add(session, h)
    mails = invitations(session, row)
    assert sorted(to_of(m) for m, _ in mails) == sorted([h.candidate.email, h.buddy.email, h.manager.email])
    for message, cal in mails:
        event = event_of(cal)
        assert str(cal["method"]) == "REQUEST" and message.template == "training_invite"
        assert str(event["uid"]) == f"training-{row.id}@example.com"
        assert int(event["sequence"]) == 0
        assert event.decoded("dtstart") == datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
        assert event.decoded("dtend") == datetime(2026, 3, 16, 3, 30, tzinfo=UTC)
        assert "DTSTART:20260316T020000Z" in event.to_ical().decode()
        assert str(event["location"]) == "3 楼大会议室"
    hire_copy = next(cal for m, cal in mails if m.candidate_id == h.candidate.id)
    assert attendees(hire_copy) == [h.candidate.email]  # no colleague's address leaves the company
    colleague_copy = next(cal for m, cal in mails if m.recipient_user_id == h.buddy.id)
    assert attendees(colleague_copy) == sorted([h.candidate.email, h.buddy.email, h.manager.email])


def test_the_mail_is_in_each_recipients_language(session, make) -> None:
    h = a_plan(make, language="en")
    row = add(session, h)
    by_to = {m.to_addrs: m for m, _ in invitations(session, row)}
    assert by_to[h.candidate.email].subject == "Training invitation: 入职培训 Orientation"
    assert by_to[h.buddy.email].subject == "培训邀请：入职培训 Orientation"
    assert "新同事" in by_to[h.buddy.email].text and "New colleague" not in by_to[h.candidate.email].text


def test_a_move_sends_a_new_request_with_the_same_uid_and_a_higher_sequence(session, make) -> None:
    h = a_plan(make)
    row = add(session, h)
    moved = move(session, h, row, starts_at=at(17, 14), ends_at=at(17, 15))
    assert moved.version == 2
    again = move(session, h, moved, starts_at=at(18, 14), ends_at=at(18, 15))
    hire_mails = [(m, cal) for m, cal in invitations(session, again) if m.candidate_id == h.candidate.id]
    assert [int(event_of(cal)["sequence"]) for _, cal in hire_mails] == [0, 1, 2]
    assert {str(event_of(cal)["uid"]) for _, cal in hire_mails} == {f"training-{row.id}@example.com"}
    assert [str(cal["method"]) for _, cal in hire_mails] == ["REQUEST"] * 3
    assert event_of(hire_mails[-1][1]).decoded("dtstart") == datetime(2026, 3, 18, 6, 0, tzinfo=UTC)
    assert hire_mails[-1][0].subject == "培训时间已更改：入职培训 Orientation"


def test_an_attendee_taken_off_gets_a_cancellation_and_a_new_one_an_invitation(session, make) -> None:
    h = a_plan(make)
    row = add(session, h)
    newcomer = make.user("interviewer")
    move(session, h, row, attendee_ids=[h.buddy.id, newcomer.id])
    latest = [(m, cal) for m, cal in invitations(session, row) if m.idempotency_key.split(":")[3] == "2"]
    methods = {m.to_addrs: str(cal["method"]) for m, cal in latest}
    assert methods == {
        h.candidate.email: "REQUEST",
        h.buddy.email: "REQUEST",
        newcomer.email: "REQUEST",
        h.manager.email: "CANCEL",
    }
    removed_cal = next(cal for m, cal in latest if m.to_addrs == h.manager.email)
    assert attendees(removed_cal) == [h.manager.email]
    assert int(event_of(removed_cal)["sequence"]) == 1


def test_cancelling_sends_method_cancel_to_everyone_and_once_only(session, make) -> None:
    h = a_plan(make)
    row = add(session, h)
    cancelled = training.cancel_session(session=session, actor=h.recruiter, training_id=row.id, version=row.version)
    session.commit()
    assert cancelled.status == "cancelled"
    again = training.cancel_session(session=session, actor=h.recruiter, training_id=row.id, version=row.version)
    session.commit()
    assert again.version == cancelled.version
    last = [(m, cal) for m, cal in invitations(session, row) if str(cal["method"]) == "CANCEL"]
    assert sorted(m.to_addrs for m, _ in last) == sorted([h.candidate.email, h.buddy.email, h.manager.email])
    for _, cal in last:
        event = event_of(cal)
        assert str(event["status"]) == "CANCELLED" and int(event["sequence"]) == 1
        assert str(event["uid"]) == f"training-{row.id}@example.com"
    with pytest.raises(InvalidTransition):
        move(session, h, cancelled, starts_at=at(20, 10), ends_at=at(20, 11))


def test_a_meeting_link_goes_into_the_invitation(session, make) -> None:
    h = a_plan(make)
    row = add(session, h, location="", meeting_link="https://meet.example.com/orientation")
    _, cal = invitations(session, row)[0]
    assert str(event_of(cal)["url"]) == "https://meet.example.com/orientation"
    assert str(event_of(cal)["location"]) == "https://meet.example.com/orientation"


def test_hostile_text_is_kept_as_text_in_the_invitation(session, make) -> None:
    h = a_plan(make)
    row = add(session, h, title=HOSTILE, location=HOSTILE)
    message, cal = invitations(session, row)[0]
    assert str(event_of(cal)["summary"]) == HOSTILE and str(event_of(cal)["location"]) == HOSTILE
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html


def test_list_sessions_gives_the_plans_sessions_earliest_first(session, make) -> None:
    h = a_plan(make)
    later = add(session, h, title="Product", starts_at=at(18, 10), ends_at=at(18, 11))
    first = add(session, h)
    other = a_plan(make)
    add(session, other)
    listed = training.list_sessions(session=session, actor=h.manager, plan_id=h.plan.id)
    assert [r.id for r in listed] == [first.id, later.id]


# --------------------------------------------------------------------------- two editors, double submits
def test_the_second_of_two_editors_is_told_and_nothing_of_theirs_is_saved(session, make) -> None:
    h = a_plan(make)
    row = add(session, h)
    seen = row.version
    move(session, h, row, starts_at=at(17, 10), ends_at=at(17, 11))
    before = len(invitations(session, row))
    with pytest.raises(Conflict) as err:
        move(session, h, row, version=seen, starts_at=at(19, 10), ends_at=at(19, 11))
    session.rollback()
    assert err.value.key == "err.training_changed"
    assert err.value.current.starts_at == at(17, 10)
    assert len(invitations(session, row)) == before
    with pytest.raises(Conflict):
        training.cancel_session(session=session, actor=h.recruiter, training_id=row.id, version=seen)
    session.rollback()
    assert session.get(TrainingSession, row.id).status == "scheduled"


def test_a_double_submitted_add_or_move_happens_once(session, make) -> None:
    h = a_plan(make)
    first = add(session, h)
    second = add(session, h)
    assert first.id == second.id
    assert len(session.exec(select(TrainingSession)).all()) == 1
    assert len(invitations(session, first)) == 3
    move(session, h, first, version=1, starts_at=at(17, 10), ends_at=at(17, 11))
    again = move(session, h, first, version=1, starts_at=at(17, 10), ends_at=at(17, 11))
    assert again.version == 2
    assert len(invitations(session, first)) == 6


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("values", "field", "key"),
    [
        ({"ends_at": at(16, 9)}, "ends_at", "err.end_before_start"),  # said under the length field
        (
            {"starts_at": datetime(2026, 3, 16, 10), "ends_at": datetime(2026, 3, 16, 11)},
            "ends_at",
            "err.timezone_required",
        ),
        ({"title": "  "}, "title", "err.required"),
        ({"location": "", "meeting_link": "javascript:alert(1)"}, "meeting_link", "err.link_invalid"),
        ({"location": "", "meeting_link": ""}, "location", "err.place_or_link_required"),
        ({"attendee_ids": [987654]}, "attendee_ids", "err.attendee_inactive"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_changes_nothing(session, make, values, field, key) -> None:
    h = a_plan(make)
    with pytest.raises(ValidationError) as err:
        add(session, h, **values)
    session.rollback()
    assert err.value.fields[field][0] == key
    assert session.exec(select(TrainingSession)).all() == []
    assert session.exec(select(OutboxMessage)).all() == []


def test_every_wrong_field_is_told_at_once(session, make) -> None:
    h = a_plan(make)
    with pytest.raises(ValidationError) as err:
        add(session, h, title=" ", location="", meeting_link="ftp://x", attendee_ids=[987654])
    session.rollback()
    assert {name: why[0] for name, why in err.value.fields.items()} == {
        "title": "err.required",
        "meeting_link": "err.link_invalid",
        "attendee_ids": "err.attendee_inactive",
    }
    assert session.exec(select(TrainingSession)).all() == []


def test_a_deactivated_attendee_is_refused(session, make) -> None:
    h = a_plan(make)
    gone = make.user("interviewer", is_active=False)
    with pytest.raises(ValidationError) as err:
        add(session, h, attendee_ids=[h.buddy.id, gone.id])
    assert err.value.fields["attendee_ids"][0] == "err.attendee_inactive"


def test_a_bad_move_changes_nothing(session, make) -> None:
    h = a_plan(make)
    row = add(session, h)
    with pytest.raises(ValidationError):
        move(session, h, row, ends_at=at(16, 9))
    session.rollback()
    kept = session.get(TrainingSession, row.id)
    assert (kept.version, kept.starts_at) == (1, at(16, 10))


def test_a_closed_plan_takes_no_new_session(session, make) -> None:
    h = a_plan(make)
    h.plan.status = PlanStatus.cancelled
    session.add(h.plan)
    session.commit()
    with pytest.raises(InvalidTransition) as err:
        add(session, h)
    assert err.value.key == "err.plan_closed"


def test_a_new_hire_without_email_still_has_the_attendees_invited(session, make) -> None:
    h = a_plan(make)
    h.candidate.email = None
    session.add(h.candidate)
    session.commit()
    row = add(session, h)
    assert sorted(m.to_addrs for m, _ in invitations(session, row)) == sorted([h.buddy.email, h.manager.email])


# --------------------------------------------------------------------------- who may
def test_who_may_see_and_change_a_plans_sessions(session, make) -> None:
    h = a_plan(make)
    row = add(session, h)
    assert training.list_sessions(session=session, actor=h.manager, plan_id=h.plan.id)
    assert training.list_sessions(session=session, actor=h.admin, plan_id=h.plan.id)
    with pytest.raises(NotAllowed):
        add(session, h, actor=h.manager)  # the hiring manager reads the plan, HR changes it
    session.rollback()
    stranger = make.user("hiring_manager")
    with pytest.raises(NotAllowed):
        training.list_sessions(session=session, actor=stranger, plan_id=h.plan.id)
    with pytest.raises(NotAllowed):
        training.cancel_session(session=session, actor=h.buddy, training_id=row.id, version=row.version)
    session.rollback()
    with pytest.raises(NotFound):
        training.cancel_session(session=session, actor=h.recruiter, training_id=987654, version=1)
    with pytest.raises(NotFound):
        training.list_sessions(session=session, actor=h.recruiter, plan_id=987654)


# --------------------------------------------------------------------------- through the outbox
def test_without_a_mail_server_the_invitations_wait_in_the_outbox(session, make) -> None:
    h = a_plan(make)
    row = add(session, h)
    assert {m.status for m, _ in invitations(session, row)} == {MailStatus.held}


def test_the_invitation_arrives_with_a_text_calendar_part(engine, session, make, monkeypatch) -> None:
    with running_server() as smtp:
        settings = configure_mail(monkeypatch, smtp.port)
        h = a_plan(make)
        row = add(session, h)
        assert send_due(engine=engine, settings=settings).sent == 3
        received = {r.rcpt_tos[0]: r.message for r in smtp.received}
    assert set(received) == {h.candidate.email, h.buddy.email, h.manager.email}
    message = received[h.candidate.email]
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    cal = Calendar.from_ical(parts[0].get_payload(decode=True))
    assert str(event_of(cal)["uid"]) == f"training-{row.id}@followup.example.com"
    assert str(cal["method"]) == "REQUEST"
