"""Scheduling (issue 8): double bookings are found and confirmed, a double submit books once, the picker lists
open applications, and every panel member (and, on request, the candidate) gets an RFC 5545 invitation.

Runs on SQLite and PostgreSQL with the clock frozen at T0 (see test_evaluation.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlmodel import Session, col, select

from models.candidate import Application
from models.common import Stage
from models.evaluation import Interview, InterviewPanelist, InterviewStatus
from models.mail import MailStatus, OutboxAttachment, OutboxMessage
from models.user import User
from services.evaluate import evaluation
from services.mail.outbox import discard_draft, send_draft
from services.pipeline.candidates import move_stage
from services.platform.errors import Conflict, ValidationError
from tests.services.test_evaluation import DAY, HOUR, T0, Setup, audit_rows, interview_with_panel, round_named

HOSTILE = '![x](/session/end) =HYPERLINK("http://evil") <script>alert(1)</script>;,\\ 会议室 3'


@pytest.fixture(autouse=True)
def _frozen(frozen_clock: Any) -> Any:
    return frozen_clock


def book(
    session: Session,
    s: Setup,
    starts: datetime,
    minutes: int = 60,
    panel: list[User] | None = None,
    application: Application | None = None,
    **kw: Any,
) -> Interview:
    return evaluation.schedule_interview(
        session=session,
        actor=s.recruiter,
        interview_in={
            "application_id": (application or s.application).id,
            "round_id": s.interview.round_id,
            "starts_at": starts,
            "ends_at": starts + timedelta(minutes=minutes),
            "mode": "onsite",
            "location": "Room 1",
            "interviewer_ids": [p.id for p in (panel if panel is not None else s.panel)],
        },
        **kw,
    )


def move(
    session: Session,
    s: Setup,
    interview: Interview,
    starts: datetime,
    panel: list[User] | None = None,
    version: int | None = None,
    **kw: Any,
) -> Interview:
    return evaluation.reschedule_interview(
        session=session,
        actor=s.recruiter,
        interview_id=interview.id,
        version=interview.version if version is None else version,
        interview_in={
            "round_id": interview.round_id,
            "starts_at": starts,
            "ends_at": starts + HOUR,
            "mode": interview.mode,
            "location": interview.location,
            "interviewer_ids": [p.id for p in (panel if panel is not None else s.panel)],
        },
        **kw,
    )


def invitations(session: Session, interview_id: int, user: User | None = None) -> list[tuple[OutboxMessage, Calendar]]:
    """The panel mails of one interview (to `user` only, when given), oldest first, with their parsed .ics."""
    query = select(OutboxMessage).where(
        OutboxMessage.template == "interview_panel",
        OutboxMessage.idempotency_key.startswith(f"iv-invite:{interview_id}:"),
    )
    if user is not None:
        query = query.where(OutboxMessage.recipient_user_id == user.id)
    out = []
    for message in session.exec(query.order_by(OutboxMessage.id)):
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


# --------------------------------------------------------------------------- conflicts
def test_an_interviewer_booked_at_an_overlapping_time_is_a_conflict_listing_the_clash(session, make) -> None:
    s = interview_with_panel(make, panel=2, starts=T0 + DAY)
    other = interview_with_panel(make, panel=1, recruiter=s.recruiter, starts=T0 + 5 * DAY)
    with pytest.raises(evaluation.ScheduleConflict) as err:
        book(session, other, T0 + DAY + 30 * timedelta(minutes=1), panel=[other.panel[0], s.panel[1]])
    [clash] = err.value.clashes
    assert (clash.interview_id, clash.candidate, clash.candidate_clash) == (s.interview.id, s.candidate.name, False)
    assert clash.people == [s.panel[1].name]
    assert err.value.key == "err.schedule_conflict" and err.value.params == {"count": 1}
    assert len(session.exec(select(Interview)).all()) == 2  # nothing booked


def test_the_same_candidate_at_an_overlapping_time_is_a_conflict(session, make) -> None:
    s = interview_with_panel(make, panel=1, starts=T0 + DAY)
    stranger = make.user("interviewer")
    with pytest.raises(evaluation.ScheduleConflict) as err:
        book(session, s, T0 + DAY - 30 * timedelta(minutes=1), panel=[stranger])
    [clash] = err.value.clashes
    assert clash.candidate_clash and clash.people == [s.candidate.name]


def test_back_to_back_and_cancelled_interviews_are_no_conflict(session, make) -> None:
    s = interview_with_panel(make, panel=2, starts=T0 + DAY)
    before = book(session, s, T0 + DAY - HOUR)  # ends when the first starts
    after = book(session, s, T0 + DAY + HOUR)  # starts when the first ends
    assert before.id != after.id
    evaluation.set_interview_status(
        session=session, actor=s.recruiter, interview_id=s.interview.id, status=InterviewStatus.cancelled
    )
    again = book(session, s, T0 + DAY + 15 * timedelta(minutes=1), minutes=30)  # inside the cancelled one
    assert again.status == InterviewStatus.scheduled
    evaluation.set_interview_status(
        session=session, actor=s.recruiter, interview_id=before.id, status=InterviewStatus.no_show
    )
    assert book(session, s, T0 + DAY - HOUR, minutes=45).id  # a no-show does not block the slot either


def test_a_conflict_is_booked_when_confirmed_and_the_audit_says_so(session, make) -> None:
    s = interview_with_panel(make, panel=1, starts=T0 + DAY)
    with pytest.raises(evaluation.ScheduleConflict):
        book(session, s, T0 + DAY)
    booked = book(session, s, T0 + DAY + 30 * timedelta(minutes=1), allow_conflicts=True)
    assert booked.id != s.interview.id
    [created] = audit_rows(session, "interview", booked.id)
    assert json.loads(created.changes)["conflicts_accepted"] is True


def test_moving_into_a_colleagues_interview_is_a_conflict_unless_confirmed(session, make) -> None:
    s = interview_with_panel(make, panel=1, starts=T0 + DAY)
    later = interview_with_panel(make, panel=s.panel, recruiter=s.recruiter, starts=T0 + 2 * DAY)
    with pytest.raises(evaluation.ScheduleConflict) as err:
        move(session, later, later.interview, T0 + DAY + 30 * timedelta(minutes=1))
    assert [c.interview_id for c in err.value.clashes] == [s.interview.id]
    assert session.get(Interview, later.interview.id).starts_at == T0 + 2 * DAY  # not moved
    moved = move(session, later, later.interview, T0 + DAY + 30 * timedelta(minutes=1), allow_conflicts=True)
    assert moved.starts_at == T0 + DAY + 30 * timedelta(minutes=1)
    # An interview never clashes with itself: moving it by half an hour is fine.
    assert move(session, s, session.get(Interview, s.interview.id), T0 + DAY - HOUR).version == 2


# --------------------------------------------------------------------------- double submits
def test_a_double_submit_books_once_and_mails_once(session, make) -> None:
    s = interview_with_panel(make, panel=2, starts=T0 + DAY)
    first = book(session, s, T0 + 3 * DAY)
    second = book(session, s, T0 + 3 * DAY)
    assert first.id == second.id
    assert len(session.exec(select(Interview).where(Interview.starts_at == T0 + 3 * DAY)).all()) == 1
    assert len(invitations(session, first.id)) == 2  # one per panel member, not two


def test_a_double_submit_of_a_move_moves_once_without_a_conflict_error(session, make) -> None:
    s = interview_with_panel(make, panel=1, starts=T0 + DAY)
    loaded = session.get(Interview, s.interview.id)
    version = loaded.version
    move(session, s, loaded, T0 + 2 * DAY, version=version)
    again = move(session, s, session.get(Interview, s.interview.id), T0 + 2 * DAY, version=version)
    assert again.version == version + 1
    with pytest.raises(Conflict):  # a stale form asking for something else is still refused
        move(session, s, session.get(Interview, s.interview.id), T0 + 4 * DAY, version=version)


# --------------------------------------------------------------------------- the picker
def test_the_picker_lists_open_applications_of_every_stage_that_can_be_scheduled(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    deciding = interview_with_panel(make, panel=1, recruiter=s.recruiter, starts=T0 + DAY)
    move_stage(
        session=session, actor=s.recruiter, application_id=deciding.application.id, to_stage=Stage.decision_pending
    )
    closed = interview_with_panel(make, panel=1, recruiter=s.recruiter, starts=T0 + 2 * DAY)
    move_stage(
        session=session, actor=s.recruiter, application_id=closed.application.id, to_stage=Stage.rejected, reason="x"
    )
    rows = evaluation.schedulable_applications(session=session, actor=s.recruiter)
    ids = {r["application_id"] for r in rows}
    assert {s.application.id, deciding.application.id} <= ids and closed.application.id not in ids
    row = next(r for r in rows if r["application_id"] == s.application.id)
    assert (row["candidate"], row["job"], row["stage"]) == (s.candidate.name, s.job.title, "interviewing")
    with pytest.raises(Exception):  # noqa: B017 - NotAllowed: interviewers do not schedule
        evaluation.schedulable_applications(session=session, actor=s.panel[0])


def test_the_picker_offers_the_most_recently_moved_and_finds_any_other_by_a_search(session, make, monkeypatch) -> None:
    """However many open applications there are, each can be found: the picker offers the most recently moved
    at first, and a search (name, email, phone; hostile text is only text) finds the rest."""
    recruiter = make.user("recruiter")
    job = make.job(actor=recruiter)
    made = [
        make.candidate(
            actor=recruiter, job=job, name=f"候选人{n:02d}", email=f"p{n}@example.com", phone=f"+86 139 0000 {n:04d}"
        )
        for n in range(6)
    ]
    apps = {c.id: session.exec(select(Application.id).where(Application.candidate_id == c.id)).one() for c in made}
    monkeypatch.setattr(evaluation, "PICKER_LIMIT", 3)
    offered = evaluation.schedulable_applications(session=session, actor=recruiter)
    assert [r["application_id"] for r in offered] == [apps[c.id] for c in reversed(made[-3:])]
    first = made[0]
    assert [
        r["candidate"] for r in evaluation.schedulable_applications(session=session, actor=recruiter, q="候选人00")
    ] == [first.name]
    assert [
        r["candidate"] for r in evaluation.schedulable_applications(session=session, actor=recruiter, q="P1@EXAMPLE")
    ] == [made[1].name]
    assert [
        r["candidate"] for r in evaluation.schedulable_applications(session=session, actor=recruiter, q="0000 0002")
    ] == [made[2].name]
    for hostile in ("%", "_", "' OR 1=1 --", "<b>x</b>", "=1+1", "x" * 500):
        assert evaluation.schedulable_applications(session=session, actor=recruiter, q=hostile) == []
    # A link to schedule one application puts it in the picker wherever it is.
    linked = evaluation.schedulable_applications(session=session, actor=recruiter, include=apps[first.id])
    assert linked[0]["application_id"] == apps[first.id] and len(linked) == 4


# --------------------------------------------------------------------------- invitations
def test_scheduling_sends_each_panel_member_a_request_with_a_stable_uid(session, make) -> None:
    s = interview_with_panel(make, panel=2, starts=T0 + DAY)
    sent = invitations(session, s.interview.id)
    assert sorted(m.to_addrs for m, _ in sent) == sorted(p.email for p in s.panel)
    for message, cal in sent:
        assert message.status == MailStatus.held and message.recipient_user_id in {p.id for p in s.panel}
        assert str(cal["method"]) == "REQUEST"
        event = event_of(cal)
        assert str(event["uid"]) == f"interview-{s.interview.id}@example.com"
        assert int(event["sequence"]) == 0
        assert event.decoded("dtstart") == T0 + DAY and event.decoded("dtstart").tzinfo is not None
        assert event.decoded("dtend") == T0 + DAY + HOUR
        assert event.decoded("dtstart").utcoffset() == timedelta(0)
        assert "DTSTART:20260303T090000Z" in cal.to_ical().decode()
        assert s.candidate.name in str(event["summary"])
        assert str(event["organizer"]) == "mailto:noreply@example.com"
        assert attendees(cal) == sorted(p.email for p in s.panel)
        assert s.candidate.name in message.subject


def test_each_move_raises_the_sequence_and_keeps_the_uid(session, make) -> None:
    s = interview_with_panel(make, panel=1, starts=T0 + DAY)
    move(session, s, session.get(Interview, s.interview.id), T0 + 2 * DAY)
    move(session, s, session.get(Interview, s.interview.id), T0 + 3 * DAY)
    sent = invitations(session, s.interview.id, s.panel[0])
    assert [str(c["method"]) for _, c in sent] == ["REQUEST"] * 3
    assert [int(event_of(c)["sequence"]) for _, c in sent] == [0, 1, 2]
    assert {str(event_of(c)["uid"]) for _, c in sent} == {f"interview-{s.interview.id}@example.com"}
    assert event_of(sent[-1][1]).decoded("dtstart") == T0 + 3 * DAY


def test_cancelling_sends_a_cancel_with_a_higher_sequence(session, make) -> None:
    s = interview_with_panel(make, panel=2, starts=T0 + DAY)
    evaluation.set_interview_status(
        session=session, actor=s.recruiter, interview_id=s.interview.id, status=InterviewStatus.cancelled
    )
    for person in s.panel:
        (_, first), (_, cancel) = invitations(session, s.interview.id, person)
        assert str(cancel["method"]) == "CANCEL" and str(event_of(cancel)["status"]) == "CANCELLED"
        assert str(event_of(cancel)["uid"]) == str(event_of(first)["uid"])
        assert int(event_of(cancel)["sequence"]) > int(event_of(first)["sequence"])


def test_a_no_show_sends_no_calendar_mail(session, make, frozen_clock) -> None:
    s = interview_with_panel(make, panel=1, starts=T0 + HOUR)  # booked ahead: invited
    frozen_clock.set(T0 + 2 * HOUR)
    evaluation.set_interview_status(
        session=session, actor=s.recruiter, interview_id=s.interview.id, status=InterviewStatus.no_show
    )
    assert len(invitations(session, s.interview.id)) == 1  # the original invitation only


def test_an_interview_recorded_after_it_ended_invites_nobody_but_is_owed_its_scorecards(session, make) -> None:
    s = interview_with_panel(make, panel=2)  # 06:00–07:00, before T0 (now)
    assert invitations(session, s.interview.id) == []
    owed = session.exec(
        select(InterviewPanelist.user_id).where(
            InterviewPanelist.interview_id == s.interview.id, col(InterviewPanelist.settled_at).is_(None)
        )
    ).all()
    assert sorted(owed) == sorted(p.id for p in s.panel)
    ahead = interview_with_panel(make, panel=1, starts=T0 + HOUR / 12, application=s.application)
    assert len(invitations(session, ahead.interview.id)) == 1  # one that has not ended yet still invites


def test_a_panel_change_cancels_for_who_left_and_invites_who_joined_only(session, make) -> None:
    s = interview_with_panel(make, panel=2, starts=T0 + DAY)
    stays, leaves = s.panel
    joins = make.user("interviewer")
    move(session, s, session.get(Interview, s.interview.id), T0 + DAY, panel=[stays, joins])  # same time
    assert len(invitations(session, s.interview.id, stays)) == 1  # the event did not change for them
    [(_, left)] = invitations(session, s.interview.id, leaves)[1:]
    assert str(left["method"]) == "CANCEL" and attendees(left) == [leaves.email]
    [(_, joined)] = invitations(session, s.interview.id, joins)
    assert str(joined["method"]) == "REQUEST" and attendees(joined) == sorted([stays.email, joins.email])
    assert int(event_of(joined)["sequence"]) == 1


def test_hostile_text_in_the_place_stays_one_escaped_property(session, make) -> None:
    s = interview_with_panel(make, panel=1, starts=T0 + DAY)
    injected = HOSTILE + "\r\nATTENDEE:mailto:evil@example.com\r\nEND:VEVENT"
    interview = evaluation.reschedule_interview(
        session=session,
        actor=s.recruiter,
        interview_id=s.interview.id,
        version=1,
        interview_in={
            "round_id": s.interview.round_id,
            "starts_at": T0 + DAY,
            "ends_at": T0 + DAY + HOUR,
            "mode": "onsite",
            "location": injected,
            "interviewer_ids": [s.panel[0].id],
        },
    )
    (message, cal) = invitations(session, interview.id, s.panel[0])[-1]
    event = event_of(cal)
    assert str(event["location"]) == " ".join(injected.split())  # one line, as stored
    assert attendees(cal) == [s.panel[0].email]
    assert len(cal.walk("VEVENT")) == 1
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html


def test_the_candidates_confirmation_is_a_draft_in_their_language_with_the_same_event(session, make) -> None:
    s = interview_with_panel(make, panel=2, starts=T0 + DAY, language="en", name="Zhang Wei")
    draft = evaluation.prepare_interview_confirmation(session=session, actor=s.recruiter, interview_id=s.interview.id)
    assert (draft.status, draft.language, draft.to_addrs) == (MailStatus.draft, "en", s.candidate.email)
    assert draft.subject.startswith(f"Your interview for {s.job.title}")
    assert "Dear Zhang Wei," in draft.text
    # Asking again while it waits returns the same draft.
    again = evaluation.prepare_interview_confirmation(session=session, actor=s.recruiter, interview_id=s.interview.id)
    assert again.id == draft.id
    [attachment] = session.exec(select(OutboxAttachment).where(OutboxAttachment.outbox_id == draft.id)).all()
    cal = Calendar.from_ical(attachment.content)
    (_, panel_cal) = invitations(session, s.interview.id, s.panel[0])[0]
    assert str(cal["method"]) == "REQUEST"
    assert str(event_of(cal)["uid"]) == str(event_of(panel_cal)["uid"])
    assert int(event_of(cal)["sequence"]) == int(event_of(panel_cal)["sequence"])
    assert attendees(cal) == [s.candidate.email]  # colleagues' addresses do not go out
    sent = send_draft(
        session=session, actor=s.recruiter, message_id=draft.id, subject=draft.subject, text=draft.text + "\nSee you!"
    )
    assert sent.status == MailStatus.held
    assert session.exec(select(OutboxAttachment).where(OutboxAttachment.outbox_id == draft.id)).one()


def test_a_confirmation_in_chinese_and_a_stale_one_is_dropped_when_the_interview_moves(session, make) -> None:
    s = interview_with_panel(make, panel=1, starts=T0 + DAY, language="zh")
    draft = evaluation.prepare_interview_confirmation(session=session, actor=s.recruiter, interview_id=s.interview.id)
    assert "您好" in draft.text and draft.language == "zh"
    move(session, s, session.get(Interview, s.interview.id), T0 + 2 * DAY)
    assert session.get(OutboxMessage, draft.id).status == MailStatus.cancelled
    assert (
        evaluation.interview_confirmation_drafts(session=session, actor=s.recruiter, interview_id=s.interview.id) == []
    )
    fresh = evaluation.prepare_interview_confirmation(session=session, actor=s.recruiter, interview_id=s.interview.id)
    [attachment] = session.exec(select(OutboxAttachment).where(OutboxAttachment.outbox_id == fresh.id)).all()
    assert int(event_of(Calendar.from_ical(attachment.content))["sequence"]) == 1
    discard_draft(session=session, actor=s.recruiter, message_id=fresh.id)


def test_a_confirmation_needs_the_candidates_email(session, make) -> None:
    s = interview_with_panel(make, panel=1, starts=T0 + DAY, email=None, phone="13800138000")
    with pytest.raises(ValidationError) as err:
        evaluation.prepare_interview_confirmation(session=session, actor=s.recruiter, interview_id=s.interview.id)
    assert err.value.fields == {"to": ("err.candidate_no_email", {})}


# --------------------------------------------------------------------------- what an interview shows
def test_an_ended_interview_shows_awaiting_scorecards_then_completed(session, make, frozen_clock) -> None:
    s = interview_with_panel(make, panel=1, starts=T0 - 3 * HOUR)
    upcoming = interview_with_panel(make, panel=1, recruiter=s.recruiter, starts=T0 + DAY)
    week = evaluation.list_interviews(session=session, actor=s.recruiter, start=T0 - DAY, end=T0 + 2 * DAY)
    assert {r.interview.id: r.state for r in week} == {
        s.interview.id: "awaiting_scorecards",
        upcoming.interview.id: "scheduled",
    }
    from tests.services.test_evaluation import submit

    submit(session, s.panel[0], s, [4, 4, 4])
    week = evaluation.list_interviews(session=session, actor=s.recruiter, start=T0 - DAY, end=T0 + 2 * DAY)
    assert {r.interview.id: r.state for r in week}[s.interview.id] == "completed"
    evaluation.set_interview_status(
        session=session, actor=s.recruiter, interview_id=upcoming.interview.id, status=InterviewStatus.cancelled
    )
    frozen_clock.set(T0 + 3 * DAY)
    week = evaluation.list_interviews(session=session, actor=s.recruiter, start=T0 - DAY, end=T0 + 2 * DAY)
    assert {r.interview.id: r.state for r in week}[upcoming.interview.id] == "cancelled"


def test_imported_interviews_invite_their_panel_and_refuse_a_double_booking(session, make) -> None:
    from services.evaluate import interview_import

    s = interview_with_panel(make, panel=1, starts=datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    row = {
        "candidate_email": s.candidate.email,
        "job": s.job.title,
        "round": "Technical",
        "start": "2026-12-01 10:30",
        "minutes": "60",
        "mode": "video",
        "location": "x",
        "interviewers": s.panel[0].email,
    }
    report = interview_import.import_interviews(session=session, actor=s.recruiter, rows=[row])
    assert not report.ok and report.errors[0].key == "err.schedule_conflict"
    report = interview_import.import_interviews(
        session=session, actor=s.recruiter, rows=[row | {"start": "2026-12-02 10:30"}]
    )
    assert report.ok
    new = session.exec(select(Interview).where(Interview.id != s.interview.id)).one()
    assert len(invitations(session, new.id)) == 1
    assert session.exec(select(InterviewPanelist).where(InterviewPanelist.interview_id == new.id)).one()
    assert round_named(session, s.recruiter, "Technical").id == new.round_id


def test_a_waiting_confirmation_is_not_offered_as_a_rejection_in_the_debrief(session, make) -> None:
    s = interview_with_panel(make, panel=1, starts=T0 + DAY)
    evaluation.prepare_interview_confirmation(session=session, actor=s.recruiter, interview_id=s.interview.id)
    assert evaluation.debrief(session=session, actor=s.recruiter, application_id=s.application.id).drafts == []
