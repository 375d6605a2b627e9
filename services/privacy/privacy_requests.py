"""Requests a person makes to see (GDPR Art. 15, PIPL Art. 45) or erase (GDPR Art. 17, PIPL Art. 47) their data:
logged with the day received and the day the law wants the answer by, on admins' My tasks until answered.

GDPR gives one month (Art. 12(3)): the same day of the next month, or that month's last day when it has no such
day (received 31 January: due 28 or 29 February). PIPL says "promptly" (及时, Art. 45) without a number of days: we
set 15 days, and the screens say so. An erasure request is answered by erasing the person
(services.privacy.anonymise.anonymise_candidate marks their open erasure requests answered); any request can also be
answered by hand, saying what was done (an access request answered by sending the export, a refusal with its
reason)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

import services.mail.tasks
from models.candidate import Candidate
from models.common import add_months, clean_text, utcnow
from models.privacy import PrivacyRequest, PrivacyRequestIn, RequestKind, RequestLaw
from models.user import User
from services.mail.tasks import Task, provider
from services.platform.config import get_settings
from services.platform.errors import InvalidTransition, NotFound, ValidationError, validate
from services.platform.i18n import fmt_date, t
from services.platform.policy import Cap, holds, require_current_cap

PIPL_DAYS = 15  # PIPL Art. 45 asks for "promptly" (及时); we set fifteen days and say so on the screen
ANSWER_MAX = 2000


def due_date(*, law: RequestLaw | str, received_on: date) -> date:
    """The day the law wants the answer by: GDPR one calendar month, PIPL our fifteen days."""
    if RequestLaw(law) == RequestLaw.gdpr:
        return add_months(received_on, 1)
    return received_on + timedelta(days=PIPL_DAYS)


def today() -> date:
    """Today in the company's time zone."""
    return utcnow().astimezone(get_settings().tz).date()


def due_at(day: date) -> datetime:
    """When a request due on `day` falls due on My tasks: 09:00 that day, company time (in UTC)."""
    return datetime.combine(day, time(9, 0), tzinfo=get_settings().tz).astimezone(UTC)


def _person(session: Session, candidate_id: int) -> Candidate:
    candidate = session.get(Candidate, candidate_id)
    if candidate is None or candidate.anonymised_at is not None:
        raise NotFound()
    return candidate


def log_request(*, session: Session, actor: User, request_in: dict[str, Any] | PrivacyRequestIn) -> PrivacyRequest:
    """Log a person's request to see or erase their data, with its legal answer date (on admins' My tasks from now
    until answered). Sends nothing."""
    current = require_current_cap(session, actor, Cap.manage_privacy)
    data = validate(PrivacyRequestIn, request_in if isinstance(request_in, dict) else request_in.model_dump())
    candidate = _person(session, data.candidate_id)
    if data.received_on > today():
        raise ValidationError.single("received_on", "err.records_received_future")
    # A request about data we hold cannot have come before we held it (the day the person was added, company
    # time): an earlier day is a slip of the date picker.
    added = candidate.created_at.astimezone(get_settings().tz).date()
    if data.received_on < added:
        raise ValidationError.single("received_on", "err.records_received_before", day=added.isoformat())
    # The same request still open (a double click, a second tab, a colleague logging the same letter) is refused:
    # a second row would only put the same deadline twice on My tasks.
    same = session.exec(
        select(PrivacyRequest).where(
            PrivacyRequest.candidate_id == candidate.id,
            PrivacyRequest.kind == data.kind,
            PrivacyRequest.law == data.law,
            PrivacyRequest.received_on == data.received_on,
            col(PrivacyRequest.answered_at).is_(None),
        )
    ).first()
    if same is not None:
        raise InvalidTransition("err.records_request_logged_already", due=fmt_date(same.due_on, current.language))
    row = PrivacyRequest(
        candidate_id=candidate.id or 0,
        kind=data.kind,
        law=data.law,
        received_on=data.received_on,
        due_on=due_date(law=data.law, received_on=data.received_on),
        note=data.note,
        created_by_id=current.id,
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class RequestRow:
    id: int
    candidate_id: int
    candidate: str  # the person's name ("Anonymised #N" once erased)
    kind: str
    law: str
    received_on: date
    due_on: date
    note: str
    logged_by: str
    answered_at: datetime | None
    answered_by: str
    answer: str

    def overdue(self, on: date) -> bool:
        """Unanswered after its due day."""
        return self.answered_at is None and self.due_on < on


def list_requests(
    *, session: Session, actor: User, answered: bool | None = None, candidate_id: int | None = None, limit: int = 500
) -> list[RequestRow]:
    """Requests, open ones by due date (the most urgent first), answered ones newest answer first; `answered`
    None: both, open first; `candidate_id`: one person's."""
    require_current_cap(session, actor, Cap.manage_privacy)
    logger, answerer = aliased(User), aliased(User)
    query = (
        select(PrivacyRequest, Candidate.name, logger.name, answerer.name)
        .join(Candidate, col(Candidate.id) == PrivacyRequest.candidate_id)
        .join(logger, col(logger.id) == PrivacyRequest.created_by_id, isouter=True)
        .join(answerer, col(answerer.id) == PrivacyRequest.answered_by_id, isouter=True)
    )
    if candidate_id is not None:
        query = query.where(PrivacyRequest.candidate_id == candidate_id)
    if answered is True:
        query = query.where(col(PrivacyRequest.answered_at).is_not(None))
    elif answered is False:
        query = query.where(col(PrivacyRequest.answered_at).is_(None))
    # Open first (NULL answered_at), by due day; then answered, the latest first.
    opened = col(PrivacyRequest.answered_at).is_(None)
    query = query.order_by(
        opened.desc(), col(PrivacyRequest.due_on), col(PrivacyRequest.answered_at).desc(), col(PrivacyRequest.id)
    )
    return [
        RequestRow(
            id=r.id or 0,
            candidate_id=r.candidate_id,
            candidate=name,
            kind=r.kind,
            law=r.law,
            received_on=r.received_on,
            due_on=r.due_on,
            note=r.note,
            logged_by=by or "",
            answered_at=r.answered_at,
            answered_by=answered_name or "",
            answer=r.answer,
        )
        for r, name, by, answered_name in session.exec(query.limit(limit)).all()
    ]


def answer_request(*, session: Session, actor: User, request_id: int, answer: str) -> PrivacyRequest:
    """Mark a request answered, saying what was done (the export sent, the reason for a refusal). Sends nothing.
    A request answered meanwhile (another admin, another tab, the person erased) is refused, saying when."""
    current = require_current_cap(session, actor, Cap.manage_privacy)
    text = clean_text(answer or "").strip()
    if not text:
        raise ValidationError.single("answer", "err.required")
    if len(text) > ANSWER_MAX:
        raise ValidationError.single("answer", "err.too_long", max=ANSWER_MAX)
    row = session.get(PrivacyRequest, request_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise NotFound()
    if row.answered_at is not None:
        by = session.get(User, row.answered_by_id) if row.answered_by_id else None
        raise InvalidTransition(
            "err.records_request_answered",
            at=row.answered_at.astimezone(get_settings().tz).strftime("%Y-%m-%d %H:%M"),
            by=by.name if by else t("common.system", current.language),
        )
    row.answered_at, row.answered_by_id, row.answer = utcnow(), current.id, text
    session.add(row)
    session.flush()
    return row


# --------------------------------------------------------------------------- My tasks
@provider
def privacy_request_tasks(session: Session, user: User, now: datetime, due_by: datetime | None = None) -> list[Task]:  # noqa: ARG001 - a provider's signature
    """Requests to see or erase data not yet answered, for admins: from the day they are logged until answered,
    the earliest due first (overdue ones on top)."""
    if not holds(user, Cap.manage_privacy):
        return []
    query = (
        select(  # type: ignore[call-overload]  # sqlmodel: 4 columns at most
            PrivacyRequest.candidate_id, PrivacyRequest.kind, PrivacyRequest.law, PrivacyRequest.due_on, Candidate.name
        )
        .join(Candidate, col(Candidate.id) == PrivacyRequest.candidate_id)
        .where(col(PrivacyRequest.answered_at).is_(None))
        .order_by(col(PrivacyRequest.due_on), col(PrivacyRequest.id))
        .limit(services.mail.tasks.LIMIT)
    )
    if due_by is not None:  # My tasks is full: nothing falling due later than its last is read
        query = query.where(col(PrivacyRequest.due_on) <= due_by.astimezone(get_settings().tz).date())
    tasks = []
    for candidate_id, kind, law, due_on, name in session.exec(query).all():
        what = t("records.kind_erasure" if kind == RequestKind.erasure else "records.kind_access", user.language)
        tasks.append(
            Task(
                kind="privacy_request",
                params={
                    "name": name,
                    "kind": what,
                    "law": t("records.law_gdpr" if law == RequestLaw.gdpr else "records.law_pipl", user.language),
                    "due": fmt_date(due_on, user.language),
                },
                due_at=due_at(due_on),
                page="pages/candidates.py",
                query={"id": str(candidate_id)},
            )
        )
    return tasks
