"""One new hire's training sessions (orientation, product, safety…), each a calendar invitation.

A session is one calendar event (services.mail.calendar) with a stable UID; adding it sends `METHOD:REQUEST` to
the new hire and every attendee, a move sends a new REQUEST with a higher SEQUENCE (the session's `version - 1`),
a cancellation `METHOD:CANCEL`. An attendee taken off a moved session gets a CANCEL of their own. The new hire's
copy lists only the new hire, so no colleague's address leaves the company. Every mail goes through the outbox.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from models.onboard import PlanStatus, TrainingSession, TrainingSessionIn
from models.user import User
from services.mail import calendar
from services.mail.calendar import Method
from services.mail.outbox import Attachment, queue_template
from services.onboard.plan_access import PlanInScope, plan_in_scope
from services.platform import audit
from services.platform.config import get_settings
from services.platform.errors import Conflict, InvalidTransition, NotFound, ValidationError, validate
from services.platform.i18n import fmt_datetime, fmt_time
from services.platform.policy import Cap

TEMPLATE = "training_invite"
SCHEDULED, CANCELLED = "scheduled", "cancelled"
OPEN_PLAN = (PlanStatus.active, PlanStatus.extended)


def attendee_list(row: TrainingSession) -> list[int]:
    """The user ids attending a session."""
    return [int(x) for x in row.attendee_ids.split(",") if x.strip().isdigit()]


def _checked(session: Session, training_in: dict[str, Any]) -> tuple[TrainingSessionIn, list[User]]:
    """The validated form and its attendees (active accounts, each once), or one ValidationError naming every field
    that is wrong, so that the form shows them all at once."""
    fields: dict[str, tuple[str, dict[str, Any]]] = {}
    data: TrainingSessionIn | None = None
    try:
        data = validate(TrainingSessionIn, training_in)
    except ValidationError as exc:
        fields |= {("ends_at" if name == "__all__" else name): why for name, why in exc.fields.items()}
    location = str(training_in.get("location") or "").strip()
    link = str(training_in.get("meeting_link") or "").strip()
    if link and not link.lower().startswith(("https://", "http://")):
        fields.setdefault("meeting_link", ("err.link_invalid", {}))
    if not location and not link:
        fields.setdefault("location", ("err.place_or_link_required", {}))
    raw = data.attendee_ids if data is not None else training_in.get("attendee_ids")
    ids = list(dict.fromkeys(i for i in raw if isinstance(i, int))) if isinstance(raw, list) else []
    people = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids)))} if ids else {}
    if any(i not in people or not people[i].is_active for i in ids):
        fields.setdefault("attendee_ids", ("err.attendee_inactive", {}))
    if fields or data is None:
        raise ValidationError(fields or {"__all__": ("err.invalid", {})})
    return data, [people[i] for i in ids]


def _open_plan(scope: PlanInScope) -> None:
    if scope.plan.status not in OPEN_PLAN:
        raise InvalidTransition("err.plan_closed", status=scope.plan.status)


def _when(row: TrainingSession, language: str) -> str:
    tz = get_settings().tz
    start = fmt_datetime(row.starts_at, language, tz)
    return f"{start}–{fmt_time(row.ends_at.astimezone(tz), language)} ({tz.key})"


def event_of(row: TrainingSession) -> calendar.CalendarEvent:
    """The session as a calendar event (UID and SEQUENCE from its id and version)."""
    return calendar.CalendarEvent(
        uid=calendar.event_uid("training", row.id or 0),
        sequence=calendar.sequence_for(row.version),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        summary=row.title,
        location=row.location or row.meeting_link,
        url=row.meeting_link,
    )


def _invite(session: Session, scope: PlanInScope, row: TrainingSession, kind: str, removed: list[User]) -> None:
    """Queue the invitation mails of one change (no commit): `kind` scheduled / moved / cancelled; `removed` are
    attendees taken off a moved session, who get a cancellation."""
    method: Method = "CANCEL" if kind == "cancelled" else "REQUEST"
    attendees = list(session.exec(select(User).where(col(User.id).in_(attendee_list(row))).order_by(User.name)))
    hire = scope.candidate
    everyone = [(p.email, p.name) for p in attendees] + ([(hire.email, hire.name)] if hire.email else [])
    event = event_of(row)

    def send(
        *, to: str, name: str, language: str, how: Method, what: str, who: list[tuple[str, str]], **ids: Any
    ) -> None:
        language = language if language in ("zh", "en") else "zh"
        ics = calendar.build_ics(event, method=how, attendees=who)
        queue_template(
            session=session,
            template=TEMPLATE,
            language=language,
            to=to,
            key=f"training:{row.id}:{ids.get('recipient_user_id') or 'hire'}:{row.version}:{how}",
            context={
                "kind": what,
                "recipient_name": name,
                "title": row.title,
                "when": _when(row, language),
                "location": row.location,
                "meeting_link": row.meeting_link,
                "new_hire_name": hire.name,
                "for_hire": "recipient_user_id" not in ids,
            },
            attachments=[Attachment(calendar.ics_filename(how), ics, calendar.ICS_MIME)],
            application_id=scope.application.id,
            created_by=scope.actor,
            **ids,
        )

    if hire.email:
        send(
            to=hire.email,
            name=hire.name,
            language=hire.language,
            how=method,
            what=kind,
            who=[(hire.email, hire.name)],
            candidate_id=hire.id,
        )
    for person in attendees:
        send(
            to=person.email,
            name=person.name,
            language=person.language,
            how=method,
            what=kind,
            who=everyone,
            recipient_user_id=person.id,
        )
    for person in removed:
        send(
            to=person.email,
            name=person.name,
            language=person.language,
            how="CANCEL",
            what="removed",
            who=[(person.email, person.name)],
            recipient_user_id=person.id,
        )


def list_sessions(*, session: Session, actor: User, plan_id: int) -> list[TrainingSession]:
    """A plan's training sessions, the earliest first (cancelled ones included, marked by their status)."""
    plan_in_scope(session=session, actor=actor, plan_id=plan_id, cap=Cap.onboard)
    return list(
        session.exec(
            select(TrainingSession)
            .where(TrainingSession.plan_id == plan_id)
            .order_by(col(TrainingSession.starts_at), col(TrainingSession.id))
        )
    )


def add_session(*, session: Session, actor: User, plan_id: int, training_in: dict[str, Any]) -> TrainingSession:
    """Add a training session to a plan and send its invitation to the new hire and every attendee (no commit).
    The same session submitted twice (same title and start) is added once."""
    scope = plan_in_scope(session=session, actor=actor, plan_id=plan_id, cap=Cap.edit_plans, lock=True)
    _open_plan(scope)
    data, people = _checked(session, training_in)
    twin = session.exec(
        select(TrainingSession).where(
            TrainingSession.plan_id == plan_id,
            TrainingSession.title == data.title,
            TrainingSession.starts_at == data.starts_at,
            TrainingSession.status == SCHEDULED,
        )
    ).first()
    if twin is not None:
        return twin
    row = TrainingSession(
        plan_id=plan_id,
        title=data.title,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        location=data.location,
        meeting_link=data.meeting_link,
        attendee_ids=",".join(str(p.id) for p in people),
        created_by_id=scope.actor.id,
    )
    session.add(row)
    session.flush()
    audit.record(session=session, actor=scope.actor, entity="training", entity_id=row.id or 0, action="training_add")
    _invite(session, scope, row, "scheduled", [])
    session.flush()
    return row


def _load(session: Session, actor: User, training_id: int) -> tuple[PlanInScope, TrainingSession]:
    row = session.get(TrainingSession, training_id)
    if row is None:
        raise NotFound()
    scope = plan_in_scope(session=session, actor=actor, plan_id=row.plan_id, cap=Cap.edit_plans, lock=True)
    session.refresh(row)
    return scope, row


def _bump(session: Session, row: TrainingSession, version: int, **values: Any) -> TrainingSession:
    """Save `values` only if the session is still the version the editor saw: the second of two editors is told."""
    done = session.exec(
        update(TrainingSession)
        .where(col(TrainingSession.id) == row.id, col(TrainingSession.version) == version)
        .values(version=TrainingSession.version + 1, **values)
    )
    session.refresh(row)
    if done.rowcount != 1:
        raise Conflict("err.training_changed", current=row)
    return row


def move_session(
    *, session: Session, actor: User, training_id: int, version: int, training_in: dict[str, Any]
) -> TrainingSession:
    """Change a session's time, place or attendees and send the updated invitation (a higher SEQUENCE) to everyone
    on it, and a cancellation to anyone taken off (no commit)."""
    scope, row = _load(session, actor, training_id)
    _open_plan(scope)
    if row.status == CANCELLED:
        raise InvalidTransition("err.training_cancelled")
    data, people = _checked(session, training_in)
    values: dict[str, Any] = {
        "title": data.title,
        "starts_at": data.starts_at,
        "ends_at": data.ends_at,
        "location": data.location,
        "meeting_link": data.meeting_link,
        "attendee_ids": ",".join(str(p.id) for p in people),
    }
    if row.version != version and all(_same(getattr(row, k), v) for k, v in values.items()):
        return row  # the same move submitted twice: done once
    before = set(attendee_list(row))
    _bump(session, row, version, **values)
    removed_ids = before - {p.id for p in people}
    removed = list(session.exec(select(User).where(col(User.id).in_(removed_ids)))) if removed_ids else []
    audit.record(session=session, actor=scope.actor, entity="training", entity_id=row.id or 0, action="training_move")
    _invite(session, scope, row, "moved", removed)
    session.flush()
    return row


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return _aware(a) == _aware(b)
    return bool(a == b)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def cancel_session(*, session: Session, actor: User, training_id: int, version: int) -> TrainingSession:
    """Cancel a session and send the cancellation (METHOD:CANCEL) to the new hire and every attendee (no commit);
    cancelling it again changes nothing."""
    scope, row = _load(session, actor, training_id)
    if row.status == CANCELLED:
        return row
    _bump(session, row, version, status=CANCELLED)
    audit.record(session=session, actor=scope.actor, entity="training", entity_id=row.id or 0, action="training_cancel")
    _invite(session, scope, row, "cancelled", [])
    session.flush()
    return row


def scheduled_sessions(*, session: Session, plan_id: int) -> list[TrainingSession]:
    """The plan's sessions still on, earliest first (for the new hire's page, which has checked its link)."""
    return list(
        session.exec(
            select(TrainingSession)
            .where(TrainingSession.plan_id == plan_id, TrainingSession.status == SCHEDULED)
            .order_by(col(TrainingSession.starts_at))
        )
    )
