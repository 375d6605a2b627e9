"""Calendar invitations for interviews: RFC 5545 `.ics` built with `icalendar`, mailed through the outbox.

One interview is one calendar event with a stable UID; every change to it (a move, a panel change, a
cancellation) bumps `Interview.version`, and the event's SEQUENCE is `version - 1`, so calendars take the
newest message as the truth. The panel's invitation lists the panel as attendees; the candidate's copy is the
same event (UID, SEQUENCE, time, place) with only the candidate as attendee, so no colleague's address leaves
the company.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.evaluation import Interview, InterviewPanelist, InterviewRound
from models.job import Job
from models.mail import MailStatus, OutboxMessage
from models.user import User
from services.mail import calendar
from services.mail.calendar import Method
from services.mail.outbox import Attachment, queue_template
from services.platform.config import get_settings
from services.platform.errors import ValidationError
from services.platform.i18n import fmt_datetime, fmt_time, t

PANEL_TEMPLATE = "interview_panel"
CONFIRMATION_TEMPLATE = "interview_confirmation"


def _mode(mode: object, language: str) -> str:
    return t(f"iv_mode.{mode}", language)


@dataclass
class InterviewFacts:
    """What an invitation says about one interview."""

    interview: Interview
    candidate: Candidate
    job: Job
    round: InterviewRound
    panel: list[User]


def facts(session: Session, interview: Interview) -> InterviewFacts:
    app = session.get(Application, interview.application_id)
    assert app is not None
    candidate = session.get(Candidate, app.candidate_id)
    job = session.get(Job, app.job_id)
    rnd = session.get(InterviewRound, interview.round_id)
    panel = list(
        session.exec(
            select(User)
            .join(InterviewPanelist, col(InterviewPanelist.user_id) == User.id)
            .where(InterviewPanelist.interview_id == interview.id)
            .order_by(User.name)
        )
    )
    return InterviewFacts(interview, candidate, job, rnd, panel)  # type: ignore[arg-type]


def uid_for(interview_id: int) -> str:
    """The interview's calendar UID: the same for every message about it, on every server."""
    return calendar.event_uid("interview", interview_id)


def sequence_of(interview: Interview) -> int:
    return calendar.sequence_for(interview.version)


def build_ics(
    f: InterviewFacts,
    *,
    method: Method,
    attendees: list[tuple[str, str]],
    summary: str,
    language: str,
    now: datetime | None = None,
) -> bytes:
    """One VCALENDAR with one VEVENT for the interview (services.mail.calendar): times in UTC, the organizer is the
    app's sender."""
    iv = f.interview
    mode = _mode(iv.mode, language)
    event = calendar.CalendarEvent(
        uid=uid_for(iv.id or 0),
        sequence=sequence_of(iv),
        starts_at=iv.starts_at,
        ends_at=iv.ends_at,
        summary=summary,
        location=iv.location or mode,
        description=f"{f.job.title} · {f.round.name_zh if language == 'zh' else f.round.name_en} · {mode}",
    )
    return calendar.build_ics(event, method=method, attendees=attendees, now=now)


def _when(iv: Interview, language: str) -> str:
    tz = get_settings().tz
    return f"{fmt_datetime(iv.starts_at, language, tz)}–{fmt_time(iv.ends_at.astimezone(tz), language)} ({tz.key})"


def _context(f: InterviewFacts, language: str) -> dict[str, object]:
    iv = f.interview
    return {
        "candidate_name": f.candidate.name,
        "job_title": f.job.title,
        "round_name": f.round.name_zh if language == "zh" else f.round.name_en,
        "when": _when(iv, language),
        "mode": _mode(iv.mode, language),
        "location": iv.location,
        "panel": ", ".join(p.name for p in f.panel),
    }


def _panel_summary(f: InterviewFacts, language: str) -> str:
    rnd = f.round.name_zh if language == "zh" else f.round.name_en
    return (
        f"面试：{f.candidate.name} · {f.job.title} · {rnd}"
        if language == "zh"
        else f"Interview: {f.candidate.name} · {f.job.title} · {rnd}"
    )


def notify_panel(
    *, session: Session, interview: Interview, actor: User, kind: str, to_user_ids: set[int] | None = None
) -> list[OutboxMessage]:
    """Queue (no commit) one mail per panel member with the invitation attached.

    kind: "scheduled", "moved" (REQUEST to the current panel, or to `to_user_ids` of it), "cancelled" (CANCEL
    to the current panel) or "removed" (CANCEL to `to_user_ids`, who have left the panel)."""
    f = facts(session, interview)
    method: Method = "CANCEL" if kind in ("cancelled", "removed") else "REQUEST"
    if kind == "removed":
        people = list(session.exec(select(User).where(col(User.id).in_(to_user_ids or set())))) if to_user_ids else []
    else:
        people = [p for p in f.panel if to_user_ids is None or p.id in to_user_ids]
    out = []
    for person in people:
        language = person.language if person.language in ("zh", "en") else "zh"
        attendees = [(person.email, person.name)] if kind == "removed" else [(p.email, p.name) for p in f.panel]
        ics = build_ics(f, method=method, attendees=attendees, summary=_panel_summary(f, language), language=language)
        out.append(
            queue_template(
                session=session,
                template=PANEL_TEMPLATE,
                language=language,
                to=person.email,
                key=f"iv-invite:{interview.id}:{person.id}:{interview.version}:{method}",
                context=_context(f, language) | {"kind": kind, "recipient_name": person.name},
                attachments=[Attachment(calendar.ics_filename(method), ics, calendar.ICS_MIME)],
                recipient_user_id=person.id,
                application_id=interview.application_id,
                created_by=actor,
            )
        )
    return out


def _confirmation_drafts(session: Session, interview_id: int) -> list[OutboxMessage]:
    return list(
        session.exec(
            select(OutboxMessage)
            .where(
                OutboxMessage.template == CONFIRMATION_TEMPLATE,
                OutboxMessage.status == MailStatus.draft,
                col(OutboxMessage.idempotency_key).startswith(f"iv-confirm:{interview_id}:"),
            )
            .order_by(col(OutboxMessage.id))
        )
    )


def _draft_version(message: OutboxMessage) -> int:
    parts = message.idempotency_key.split(":")
    return int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else -1


def drop_stale_confirmations(*, session: Session, interview: Interview) -> None:
    """A confirmation prepared before a move or cancellation would carry the old time: discard it (no commit)."""
    stale = [m.id for m in _confirmation_drafts(session, interview.id or 0) if _draft_version(m) != interview.version]
    if stale:
        session.exec(update(OutboxMessage).where(col(OutboxMessage.id).in_(stale)).values(status=MailStatus.cancelled))


def confirmation_drafts(*, session: Session, interview: Interview) -> list[OutboxMessage]:
    """Confirmations prepared for this interview's current time and not yet sent or discarded."""
    return [m for m in _confirmation_drafts(session, interview.id or 0) if _draft_version(m) == interview.version]


def prepare_confirmation(*, session: Session, interview: Interview, actor: User) -> OutboxMessage:
    """The candidate's confirmation as a draft in their language with the invitation attached (no commit);
    an unsent one for the same time is returned instead of a second."""
    drop_stale_confirmations(session=session, interview=interview)
    existing = confirmation_drafts(session=session, interview=interview)
    if existing:
        return existing[0]
    f = facts(session, interview)
    if not f.candidate.email:
        raise ValidationError.single("to", "err.candidate_no_email")
    language = f.candidate.language if f.candidate.language in ("zh", "en") else "zh"
    summary = f"面试：{f.job.title}" if language == "zh" else f"Interview: {f.job.title}"
    ics = build_ics(
        f, method="REQUEST", attendees=[(f.candidate.email, f.candidate.name)], summary=summary, language=language
    )
    return queue_template(
        session=session,
        template=CONFIRMATION_TEMPLATE,
        language=language,
        to=f.candidate.email,
        key=f"iv-confirm:{interview.id}:{interview.version}:{uuid.uuid4().hex}",
        draft=True,
        context=_context(f, language),
        attachments=[Attachment("invite.ics", ics, "text/calendar")],
        candidate_id=f.candidate.id,
        application_id=interview.application_id,
        created_by=actor,
    )
