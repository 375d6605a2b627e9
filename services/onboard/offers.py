"""Offers: the recruiter drafts one per application at the offer stage, approvers approve or reject it, the letter
goes to the candidate through the outbox with a private link to accept or decline, and an accepted offer moves the
application to hired and starts onboarding.

The status machine (`TRANSITIONS`): draft → pending_approval → approved → sent → accepted / declined / expired,
and withdrawn from any live status. Revising an offer that has left draft makes a new revision in draft (the old
one withdrawn, its link dead), so it is approved again. Every change bumps `version` in a conditional UPDATE: of
two people acting on one offer the second is told (Conflict), and a double click acts once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, delete, func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.audit import AuditLog
from models.candidate import Application, Candidate, StageChange
from models.common import Stage, utcnow
from models.job import Job
from models.mail import MailStatus, OutboxMessage
from models.onboard import (
    LIVE_OFFER,
    ApproverRule,
    AppSetting,
    DeclineReason,
    Offer,
    OfferApproval,
    OfferCreate,
    OfferFields,
    OfferStatus,
    OnboardingPlan,
    probation_cap,
)
from models.user import User
from services.mail import outbox
from services.mail.worker import job
from services.pipeline import candidates
from services.pipeline.candidates import load_application
from services.platform import audit, policy
from services.platform.app_settings import save_setting
from services.platform.config import Settings, get_settings
from services.platform.db import savepoint, session_scope
from services.platform.errors import (
    Conflict,
    DomainError,
    InvalidTransition,
    NotAllowed,
    NotFound,
    ValidationError,
    validate,
)
from services.platform.i18n import fmt_date, fmt_number, t
from services.platform.policy import Cap

S = OfferStatus
# Every move an offer may make, and the action that makes it. Anything else is refused (InvalidTransition).
TRANSITIONS: dict[OfferStatus, set[OfferStatus]] = {
    S.draft: {S.pending_approval, S.approved, S.withdrawn},  # approved: on submit, when approval is off
    S.pending_approval: {S.approved, S.draft, S.withdrawn},  # draft: an approver rejected it
    S.approved: {S.sent, S.withdrawn},
    S.sent: {S.accepted, S.declined, S.expired, S.withdrawn},
    S.accepted: set(),
    S.declined: set(),
    S.expired: set(),
    S.withdrawn: set(),
}
# Revising an offer in one of these makes a new revision in draft (the old one withdrawn); a draft is edited.
REVISABLE = {S.pending_approval, S.approved, S.sent}
APPROVAL_SETTING = "offer_approval_required"
DECISIONS = ("approved", "rejected")
ANSWERS = ("accepted", "declined")
# Status order on the Onboard page: what needs someone first.
STATUS_ORDER = [S.pending_approval, S.approved, S.draft, S.sent, S.accepted, S.declined, S.expired, S.withdrawn]
LIST_LIMIT = 500


class OfferLinkInvalid(DomainError):
    """The candidate's link is unknown, already answered, expired or withdrawn: the key says which (never anything
    about another person's offer)."""

    key = "offer_answer.link_invalid"


# --------------------------------------------------------------------------- small helpers
def _today() -> date:
    return utcnow().astimezone(get_settings().tz).date()


def _token_hash(token: str) -> str:
    return hmac.new(get_settings().secret_key.encode(), f"offer:{token}".encode(), hashlib.sha256).hexdigest()


def link_expires_at(offer: Offer) -> datetime:
    """When the offer's link stops working: the end of its response deadline, company time."""
    return datetime.combine(offer.response_deadline + timedelta(days=1), time(0, 0), tzinfo=get_settings().tz)


def _check_move(offer: Offer, to: OfferStatus) -> None:
    current = OfferStatus(offer.status)
    if to not in TRANSITIONS[current]:
        raise InvalidTransition("err.offer_transition", status=current.value, to_status=to.value)


def _loaded(session: Session, offer_id: int) -> tuple[Offer, Application, Candidate, Job]:
    offer = session.get(Offer, offer_id)
    if offer is None:
        raise NotFound()
    app, candidate, job_row = load_application(session, offer.application_id)
    return offer, app, candidate, job_row


def _editable(session: Session, actor: User | None, offer_id: int) -> tuple[User, Offer, Application, Candidate, Job]:
    """The offer for an editor (edit_offers, in scope for the offer's job)."""
    current = policy.require_current_cap(session, actor, Cap.edit_offers)
    offer, app, candidate, job_row = _loaded(session, offer_id)
    if not policy.allows(current, Cap.edit_offers, job_row):
        raise NotAllowed()
    return current, offer, app, candidate, job_row


def _change(session: Session, offer: Offer, version: int | None, **values: Any) -> Offer:
    """Apply `values` to the offer only while it is still as the person saw it (status and, given, `version`);
    Conflict with what it is now otherwise. One conditional UPDATE, so two tabs cannot both win."""
    where = [col(Offer.id) == offer.id, col(Offer.status) == offer.status]
    if version is not None:
        where.append(col(Offer.version) == version)
    result = session.exec(update(Offer).where(*where).values(version=Offer.version + 1, updated_at=utcnow(), **values))
    current = session.get(Offer, offer.id, populate_existing=True)
    if result.rowcount != 1:
        raise Conflict("err.offer_changed", current=current)
    return current  # type: ignore[return-value]


def _fields(data: dict[str, Any], *, offer_day: date) -> OfferFields:
    """The form's fields validated, each message on its field, all of them at once: the schema's rules, the dates,
    and the rules across fields (pay given, probation within the law) on what could be read."""
    problems: dict[str, tuple[str, dict[str, Any]]] = {}
    fields: OfferFields | None = None
    try:
        fields = validate(OfferFields, data)
    except ValidationError as exc:
        problems.update(_placed(exc.fields))
    currency = fields.salary_currency if fields else None
    if currency is not None and not (currency.isascii() and currency.isalpha()):
        # an ISO 4217 code: "=1+" or "¥¥¥" is three characters too, and would be printed in the letter
        problems.setdefault("salary_currency", ("err.currency_code", {}))
    start = fields.start_date if fields else data.get("start_date")
    deadline = fields.response_deadline if fields else data.get("response_deadline")
    if isinstance(start, date) and start < offer_day:
        problems.setdefault("start_date", ("err.start_before_offer", {}))
    if isinstance(deadline, date):
        if deadline < _today():
            problems.setdefault("response_deadline", ("err.deadline_past", {}))
        elif isinstance(start, date) and deadline > start:
            problems.setdefault("response_deadline", ("err.deadline_after_start", {}))
    if fields is None:  # the schema stopped before its rules across fields: they are checked here too
        salary, terms = data.get("salary_amount"), data.get("terms")
        if not str(salary if salary is not None else "").strip() and not str(terms or "").strip():
            problems.setdefault("salary_amount", ("err.offer_pay_required", {}))
        probation, contract = data.get("probation_months"), data.get("contract_months")
        if isinstance(probation, int) and isinstance(contract, int):
            cap = probation_cap(contract)
            if cap is not None and probation > cap:
                problems.setdefault("probation_months", ("err.probation_over_cap", {}))
    if problems or fields is None:
        raise ValidationError(problems)
    return fields


def _placed(fields: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The schema's whole-form messages put next to the field they are about."""
    placed = dict(fields)
    whole = placed.pop("__all__", None)
    if whole is not None:
        target = {"err.offer_pay_required": "salary_amount", "err.probation_over_cap": "probation_months"}
        placed.setdefault(target.get(whole[0], "__all__"), whole)
    return placed


def _values(fields: OfferFields) -> dict[str, Any]:
    values = fields.model_dump()
    values["salary_period"] = fields.salary_period.value
    return values


def approval_required(session: Session) -> bool:
    """Whether offers need approval before they are sent (the admins' setting; on unless turned off)."""
    row = session.get(AppSetting, APPROVAL_SETTING)
    return row is None or row.value != "0"


# --------------------------------------------------------------------------- drafting and revising
def create_offer(*, session: Session, actor: User, offer_in: dict[str, Any]) -> Offer:
    """Draft the offer of an application at the offer stage (one live offer per application; a new revision
    after a declined, expired or withdrawn one). Sends nothing."""
    current = policy.require_current_cap(session, actor, Cap.edit_offers)
    application_id = offer_in.get("application_id")
    if not isinstance(application_id, int):
        raise ValidationError.single("application_id", "err.required")
    app, _, job_row = load_application(session, application_id)
    if not policy.allows(current, Cap.edit_offers, job_row):
        raise NotAllowed()
    if app.stage != Stage.offer:
        raise InvalidTransition("err.offer_needs_offer_stage", stage=app.stage)
    fields = _fields({k: v for k, v in offer_in.items() if k != "application_id"}, offer_day=_today())
    validate(OfferCreate, {**_values(fields), "application_id": application_id})
    live = session.exec(
        select(Offer).where(Offer.application_id == application_id, col(Offer.status).in_(list(LIVE_OFFER)))
    ).first()
    if live is not None:
        raise Conflict("err.offer_exists", current=live)
    last = session.exec(select(func.max(Offer.revision)).where(Offer.application_id == application_id)).one()
    offer = Offer(
        application_id=application_id,
        revision=(last or 0) + 1,
        created_by_id=current.id or 0,
        **_values(fields),
    )
    try:
        with savepoint(session):
            session.add(offer)
    except IntegrityError:  # another tab drafted the same revision at the same instant
        raise Conflict("err.offer_exists") from None
    audit.record(
        session=session,
        actor=current,
        entity="offer",
        entity_id=offer.id or 0,
        action="create",
        changes={"application_id": application_id, "revision": offer.revision, "status": "draft"},
    )
    session.flush()
    return offer


def update_offer(*, session: Session, actor: User, offer_id: int, version: int, offer_in: dict[str, Any]) -> Offer:
    """Save an edit made from `version`. A draft is changed in place; an offer waiting for approval, approved or
    sent becomes a new revision in draft (the old one withdrawn, its letter draft discarded and its link dead),
    which must be approved again; with nothing changed, nothing happens. Returns the offer now to edit. Conflict
    when someone changed it meanwhile."""
    current, offer, app, _, _ = _editable(session, actor, offer_id)
    status = OfferStatus(offer.status)
    if offer.version != version:
        newer = _live_revision(session, offer)
        if newer is not None:  # someone revised it meanwhile: theirs is the offer to edit now
            raise Conflict("err.offer_revised", current=newer, revision=newer.revision)
    if status != S.draft and status not in REVISABLE:
        raise InvalidTransition("err.offer_transition", status=status.value, to_status=S.draft.value)
    if offer.version != version:
        raise Conflict("err.offer_changed", current=offer)
    fields = _fields(offer_in, offer_day=offer.created_at.astimezone(get_settings().tz).date())
    values = _values(fields)
    if all(getattr(offer, k) == v for k, v in values.items()):
        # Save pressed with nothing changed (twice, or out of habit): an approved or sent offer must not become a
        # new revision, which would withdraw it, kill the candidate's link and ask for approval again.
        return offer
    if status == S.draft:
        changed = {k: v for k, v in values.items() if getattr(offer, k) != v}
        offer = _change(session, offer, version, **values)
        audit.record(
            session=session,
            actor=current,
            entity="offer",
            entity_id=offer.id or 0,
            action="update",
            changes={k: str(v) for k, v in changed.items()},
        )
        session.flush()
        return offer
    old = _change(session, offer, version, status=S.withdrawn)
    _discard_letter(session, current, old)
    audit.record(
        session=session,
        actor=current,
        entity="offer",
        entity_id=old.id or 0,
        action="revise",
        changes={"status": [status.value, S.withdrawn.value]},
    )
    revised = Offer(
        application_id=app.id or 0,
        revision=old.revision + 1,
        created_by_id=current.id or 0,
        **values,
    )
    try:
        with savepoint(session):
            session.add(revised)
    except IntegrityError:
        raise Conflict("err.offer_changed") from None
    audit.record(
        session=session,
        actor=current,
        entity="offer",
        entity_id=revised.id or 0,
        action="create",
        changes={"application_id": app.id, "revision": revised.revision, "status": "draft"},
    )
    session.flush()
    return revised


def _live_revision(session: Session, offer: Offer) -> Offer | None:
    """The live revision that replaced `offer` (revised by someone), or None."""
    if offer.status != S.withdrawn:
        return None
    return session.exec(
        select(Offer).where(
            Offer.application_id == offer.application_id,
            col(Offer.revision) > offer.revision,
            col(Offer.status).in_(list(LIVE_OFFER)),
        )
    ).first()


def withdraw_offer(
    *, session: Session, actor: User, offer_id: int, version: int | None = None, reason: str = ""
) -> Offer:
    """Take back a live offer, with an optional reason kept in its history (its letter draft discarded, its link
    dead). Sends nothing."""
    current, offer, _, _, _ = _editable(session, actor, offer_id)
    reason = (reason or "").strip()
    if len(reason) > 2000:
        raise ValidationError.single("reason", "err.too_long", max=2000)
    _check_move(offer, S.withdrawn)
    before = offer.status
    offer = _change(session, offer, version, status=S.withdrawn)
    _discard_letter(session, current, offer)
    audit.record(
        session=session,
        actor=current,
        entity="offer",
        entity_id=offer_id,
        action="withdraw",
        changes={"status": [str(before), S.withdrawn.value]} | ({"reason": reason} if reason else {}),
    )
    session.flush()
    return offer


def _discard_letter(session: Session, actor: User | None, offer: Offer) -> None:
    """An unsent letter of an offer that moved on is dropped: it would carry a dead link."""
    if offer.letter_mail_id is None:
        return
    session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == offer.letter_mail_id, col(OutboxMessage.status) == MailStatus.draft)
        .values(status=MailStatus.cancelled, version=OutboxMessage.version + 1)
    )
    del actor


# --------------------------------------------------------------------------- approval
def _approvers(session: Session, job_row: Job) -> list[User]:
    """Who approves an offer for `job_row`: its hiring manager and the approvers named for its department (or for
    every department), the active ones only, each once."""
    return _approver_people(session, job_row)[0]


def _approver_people(session: Session, job_row: Job) -> tuple[list[User], list[User]]:
    """The approvers for `job_row` (as `_approvers`), and those of them who are no longer active (skipped)."""
    ids: list[int] = []
    if job_row.hiring_manager_id is not None:
        ids.append(job_row.hiring_manager_id)
    named = session.exec(
        select(ApproverRule.user_id)
        .where(or_(col(ApproverRule.department) == "", col(ApproverRule.department) == job_row.department))
        .order_by(col(ApproverRule.id))
    ).all()
    ids += [i for i in named if i not in ids]
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids))).all()} if ids else {}
    people = [users[i] for i in ids if i in users]
    active = [u for u in people if u.is_active and u.role_set]
    return active, [u for u in people if u not in active]


def submit_for_approval(*, session: Session, actor: User, offer_id: int, version: int | None = None) -> Offer:
    """Ask the job's hiring manager and the named approvers to approve a draft (they see it on My tasks and get a
    reminder); with approval turned off, the draft is approved at once (the offer returned says which). Approvers
    no longer active are skipped; refused when none is active (the message names them: an admin must name another)."""
    current, offer, _, _, job_row = _editable(session, actor, offer_id)
    if offer.status != S.draft:
        raise InvalidTransition("err.offer_transition", status=str(offer.status), to_status=S.pending_approval.value)
    if offer.response_deadline < _today():
        raise ValidationError.single("response_deadline", "err.deadline_past")
    now = utcnow()
    if not approval_required(session):
        offer = _change(session, offer, version, status=S.approved, submitted_at=now, approved_at=now)
        audit.record(
            session=session,
            actor=current,
            entity="offer",
            entity_id=offer_id,
            action="approve",
            changes={"status": [S.draft.value, S.approved.value], "approval": "off"},
        )
        session.flush()
        return offer
    approvers, inactive = _approver_people(session, job_row)
    if not approvers:
        # Refused rather than left waiting for someone who can no longer decide: an admin names another first.
        if inactive:
            raise InvalidTransition("err.offer_approver_inactive", names=", ".join(u.name for u in inactive))
        raise InvalidTransition("err.offer_no_approver")
    offer = _change(session, offer, version, status=S.pending_approval, submitted_at=now, approved_at=None)
    session.exec(delete(OfferApproval).where(col(OfferApproval.offer_id) == offer_id))
    for person in approvers:
        session.add(OfferApproval(offer_id=offer_id, approver_id=person.id or 0, created_at=now))
    audit.record(
        session=session,
        actor=current,
        entity="offer",
        entity_id=offer_id,
        action="submit",
        changes={"status": [S.draft.value, S.pending_approval.value], "approvers": [p.name for p in approvers]},
    )
    session.flush()
    return offer


def decide_approval(
    *, session: Session, actor: User, offer_id: int, decision: str, comment: str = "", version: int | None = None
) -> Offer:
    """Approve or reject an offer waiting for approval, with a comment (needed to reject): an approver decides
    their own say; an admin who is not among them decides for the hiring manager (else the first still waiting).
    Once everyone approved the offer is approved; one rejection sends it back to draft with the comment shown."""
    current = policy.require_current_cap(session, actor, Cap.use_app)
    # The offer locked first: of two approvers deciding at once the second then sees the first's say, so the last
    # approval always approves the offer (SQLite serialises writers anyway).
    if session.get(Offer, offer_id, with_for_update=True, populate_existing=True) is None:
        raise NotFound()
    offer, _, _, job_row = _loaded(session, offer_id)
    comment = (comment or "").strip()
    if decision not in DECISIONS:
        raise ValidationError.single("decision", "err.choice_invalid")
    if len(comment) > 2000:
        raise ValidationError.single("comment", "err.too_long", max=2000)
    if decision == "rejected" and not comment:
        raise ValidationError.single("comment", "err.reject_comment_required")
    rows = list(
        session.exec(select(OfferApproval).where(OfferApproval.offer_id == offer_id).order_by(col(OfferApproval.id)))
    )
    mine = next((r for r in rows if r.approver_id == current.id), None)
    if mine is None and policy.holds(current, Cap.approve_offers) and policy.everywhere(current, Cap.approve_offers):
        waiting = [r for r in rows if not r.decision]
        mine = next((r for r in waiting if r.approver_id == job_row.hiring_manager_id), waiting[0] if waiting else None)
    if mine is None:
        if policy.allows(current, Cap.approve_offers, job_row) and offer.status != S.pending_approval:
            raise InvalidTransition("err.offer_not_waiting")
        raise NotAllowed()
    if offer.status != S.pending_approval:
        raise InvalidTransition("err.offer_not_waiting")
    if mine.decision:
        raise Conflict("err.approval_already_given", current=offer)
    now = utcnow()
    done = session.exec(
        update(OfferApproval)
        .where(col(OfferApproval.id) == mine.id, col(OfferApproval.decision) == "")
        .values(decision=decision, comment=comment, decided_at=now)
    )
    if done.rowcount != 1:
        raise Conflict("err.approval_already_given", current=offer)
    # An approver who has left since (deactivated) holds nothing up: the active ones decide.
    others_waiting = session.exec(
        select(func.count())
        .select_from(OfferApproval)
        .join(User, col(User.id) == OfferApproval.approver_id)
        .where(
            OfferApproval.offer_id == offer_id,
            OfferApproval.decision == "",
            col(OfferApproval.id) != mine.id,
            col(User.is_active).is_(True),
        )
    ).one()
    before = offer.status
    if decision == "rejected":
        offer = _change(session, offer, version, status=S.draft, approved_at=None)
    elif not others_waiting:
        offer = _change(session, offer, version, status=S.approved, approved_at=now)
    else:
        offer = _change(session, offer, version)
    audit.record(
        session=session,
        actor=current,
        entity="offer",
        entity_id=offer_id,
        action="approval",
        changes={"decision": decision, "comment": comment, "status": [str(before), str(offer.status)]},
    )
    session.flush()
    return offer


# --------------------------------------------------------------------------- the letter
def _pay_text(offer: Offer, language: str) -> str:
    parts = []
    if offer.salary_amount is not None:
        amount = fmt_number(float(offer.salary_amount), language, "#,##0.##")
        period = t(f"offer_period.{offer.salary_period}", language)
        parts.append(f"{offer.salary_currency} {amount} / {period}")
    if offer.terms:
        parts.append(offer.terms)
    return "; ".join(parts)


# What the letter's template writes from the offer: each must be filled before a letter is prepared.
LETTER_FIELDS = ("job_title", "start_date", "location", "response_deadline")


def prepare_offer_letter(*, session: Session, actor: User, offer_id: int) -> OutboxMessage:
    """The offer letter for an approved offer, as a draft in the candidate's language to preview, edit and send,
    carrying a new private link to accept or decline (any earlier unsent letter and its link are dropped). Refused
    while a field the letter uses is empty or the deadline has passed. Sends nothing."""
    current, offer, app, candidate, job_row = _editable(session, actor, offer_id)
    if offer.status != S.approved:
        raise InvalidTransition("err.offer_not_approved", status=str(offer.status))
    if offer.letter_mail_id is not None:
        existing = session.get(OutboxMessage, offer.letter_mail_id)
        if existing is not None and existing.status == MailStatus.draft:
            return existing  # a second click reviews the same letter
    missing: dict[str, tuple[str, dict[str, Any]]] = {
        f: ("err.letter_field_missing", {}) for f in LETTER_FIELDS if not getattr(offer, f)
    }
    if offer.salary_amount is None and not offer.terms:
        missing["salary_amount"] = ("err.offer_pay_required", {})
    if not candidate.email:
        missing["to"] = ("err.candidate_no_email", {})
    if missing:
        raise ValidationError(missing)
    if offer.response_deadline < _today():
        raise ValidationError.single("response_deadline", "err.deadline_past")
    settings = get_settings()
    token = secrets.token_urlsafe(32)
    language = candidate.language
    mail = outbox.queue_template(
        session=session,
        template="offer_letter",
        language=language,
        to=candidate.email or "",
        key=f"offer_letter:{offer_id}:{uuid.uuid4().hex}",
        draft=True,
        candidate_id=candidate.id,
        application_id=app.id,
        created_by=current,
        context={
            "candidate_name": candidate.name,
            "job_title": offer.job_title,
            "level": offer.level,
            "pay": _pay_text(offer, language),
            "start_date": fmt_date(offer.start_date, language),
            "location": offer.location,
            "probation_months": offer.probation_months,
            "deadline": fmt_date(offer.response_deadline, language),
            "answer_link": f"{settings.base_url.rstrip('/')}/?offer={token}",
            "sender_name": current.name,
            "team_name": outbox.team_signature(language),
            "department": job_row.department,
        },
    )
    _discard_letter(session, current, offer)
    _change(session, offer, None, answer_token_hash=_token_hash(token), letter_mail_id=mail.id)
    audit.record(session=session, actor=current, entity="offer", entity_id=offer_id, action="letter_prepared")
    session.flush()
    return mail


def letter_draft(*, session: Session, actor: User, offer_id: int) -> OutboxMessage | None:
    """The offer's letter while it waits to be reviewed and sent, or None."""
    _, offer, _, _, _ = _editable(session, actor, offer_id)
    if offer.letter_mail_id is None:
        return None
    mail = session.get(OutboxMessage, offer.letter_mail_id)
    return mail if mail is not None and mail.status == MailStatus.draft else None


def send_offer_letter(
    *,
    session: Session,
    actor: User,
    offer_id: int,
    subject: str,
    text: str,
    mail_version: int | None = None,
) -> Offer:
    """Send the reviewed letter (subject and text as edited) through the outbox: the offer is then sent and its
    link works until the end of the response deadline. Refused for an offer that is not approved."""
    current, offer, _, _, _ = _editable(session, actor, offer_id)
    if offer.status != S.approved:
        raise InvalidTransition("err.offer_not_approved", status=str(offer.status))
    if offer.response_deadline < _today():
        raise ValidationError.single("response_deadline", "err.deadline_past")
    if offer.letter_mail_id is None:
        raise InvalidTransition("err.offer_no_letter")
    outbox.send_draft(
        session=session,
        actor=current,
        message_id=offer.letter_mail_id,
        subject=subject,
        text=text,
        version=mail_version,
    )
    offer = _change(session, offer, None, status=S.sent, sent_at=utcnow())
    audit.record(
        session=session,
        actor=current,
        entity="offer",
        entity_id=offer_id,
        action="send",
        changes={"status": [S.approved.value, S.sent.value]},
    )
    session.flush()
    return offer


def _sync_sent(session: Session, offer: Offer) -> Offer:
    """An approved offer whose letter left the outbox's drafts another way (the outbox page's Send) is sent."""
    if offer.status != S.approved or offer.letter_mail_id is None:
        return offer
    mail = session.get(OutboxMessage, offer.letter_mail_id)
    if mail is None or mail.status in (MailStatus.draft, MailStatus.cancelled):
        return offer
    session.exec(
        update(Offer)
        .where(col(Offer.id) == offer.id, col(Offer.status) == S.approved)
        .values(status=S.sent, sent_at=utcnow(), version=Offer.version + 1)
    )
    return session.get(Offer, offer.id, populate_existing=True) or offer


# --------------------------------------------------------------------------- the answer
def _validated_answer(answer: str, reason: str | None, text: str) -> tuple[str, str, str]:
    if answer not in ANSWERS:
        raise ValidationError.single("answer", "err.choice_invalid")
    text = (text or "").strip()
    if len(text) > 2000:
        raise ValidationError.single("decline_text", "err.too_long", max=2000)
    if answer == "accepted":
        return answer, "", ""
    if reason not in {r.value for r in DeclineReason}:
        raise ValidationError.single("decline_reason", "err.decline_reason_required")
    if reason == DeclineReason.other and not text:
        raise ValidationError.single("decline_text", "err.decline_text_required")
    return answer, str(reason), text


def _answered(
    session: Session,
    offer: Offer,
    app: Application,
    actor: User | None,
    answer: str,
    reason: str,
    text: str,
    via: str,
    where: list[Any],
) -> Offer | None:
    """Record the answer in one conditional UPDATE (`where`: the offer still sent …), then move the application:
    accepted → hired and onboarding starts; declined → withdrawn with the reason `offer_declined:<reason>`."""
    now = utcnow()
    result = session.exec(
        update(Offer)
        .where(col(Offer.id) == offer.id, col(Offer.status) == S.sent, *where)
        .values(
            status=answer,
            answered_at=now,
            answered_via=via,
            answered_by_id=actor.id if actor else None,
            decline_reason=reason,
            decline_text=text,
            version=Offer.version + 1,
            updated_at=now,
        )
    )
    if result.rowcount != 1:
        return None  # the callers say why
    offer = session.get(Offer, offer.id, populate_existing=True)  # type: ignore[assignment]
    audit.record(
        session=session,
        actor=actor,
        entity="offer",
        entity_id=offer.id or 0,
        action="answer",
        changes={"status": [S.sent.value, answer], "via": via, "reason": reason},
    )
    if answer == S.accepted:
        _move(session, actor, app, Stage.hired, "")
        from services.onboard import plans  # the plans build on offers

        plans.start_onboarding(session=session, offer=offer, actor=actor)
    else:
        _move(session, actor, app, Stage.withdrawn, f"offer_declined:{reason}")
    session.flush()
    return offer


def _move(session: Session, actor: User | None, app: Application, to: Stage, reason: str) -> None:
    """Move the application from the offer stage (where it is still there): by the pipeline's own service for a
    person, and the same way (a conditional update, a stage change, an audit row) for the candidate's link."""
    session.refresh(app)
    if app.stage != Stage.offer:
        return
    if actor is not None and policy.can_move_stage(actor, session.get(Job, app.job_id) or Job(title="")):
        candidates.move_stage(
            session=session, actor=actor, application_id=app.id or 0, to_stage=to, reason=reason, from_stage=Stage.offer
        )
        return
    now = utcnow()
    moved = session.exec(
        update(Application)
        .where(col(Application.id) == app.id, col(Application.stage) == Stage.offer)
        .values(stage=to, stage_changed_at=now)
    )
    if moved.rowcount != 1:
        return
    session.add(
        StageChange(
            application_id=app.id or 0, from_stage=Stage.offer, to_stage=to, at=now, by_user_id=None, reason=reason
        )
    )
    audit.record(
        session=session,
        actor=None,
        entity="application",
        entity_id=app.id or 0,
        action="move_stage",
        changes={"stage": [Stage.offer.value, to.value], "reason": reason},
    )


def record_answer(
    *,
    session: Session,
    actor: User,
    offer_id: int,
    answer: str,
    reason: str | None = None,
    text: str = "",
    version: int | None = None,
) -> Offer:
    """Record the candidate's answer to a sent offer by hand (a call, a signed paper): accepted moves the
    application to hired and starts onboarding; declined (with a reason, and words for "other") withdraws it."""
    current, offer, app, _, _ = _editable(session, actor, offer_id)
    answer, reason, text = _validated_answer(answer, reason, text)
    offer = _sync_sent(session, offer)
    _check_move(offer, S(answer))
    where = [col(Offer.version) == version] if version is not None else []
    done = _answered(session, offer, app, current, answer, reason, text, "recorded", where)
    if done is None:
        raise Conflict("err.offer_changed", current=session.get(Offer, offer_id, populate_existing=True))
    return done


@dataclass(frozen=True)
class OfferLink:
    """What the candidate's page shows for a valid link: their own offer, nothing else."""

    candidate_name: str
    job_title: str
    level: str
    start_date: date
    location: str
    pay: str
    probation_months: int
    response_deadline: date
    language: str


def _by_token(session: Session, token: str) -> tuple[Offer, Application, Candidate]:
    offer = session.exec(select(Offer).where(Offer.answer_token_hash == _token_hash(token or ""))).first()
    if offer is None or not token:
        raise OfferLinkInvalid()
    try:
        app, candidate, _ = load_application(session, offer.application_id)
    except NotFound:
        raise OfferLinkInvalid() from None
    offer = _sync_sent(session, offer)
    status = OfferStatus(offer.status)
    # Why the link is dead, in the candidate's language (the link is theirs: it says nothing of anyone else).
    if status in (S.accepted, S.declined):
        raise OfferLinkInvalid("offer_answer.link_used", language=candidate.language)
    if status == S.withdrawn:
        raise OfferLinkInvalid("offer_answer.link_withdrawn", language=candidate.language)
    if status == S.expired or (status == S.sent and utcnow() >= link_expires_at(offer)):
        raise OfferLinkInvalid("offer_answer.link_expired", language=candidate.language)
    if status != S.sent:  # the letter is still a draft: the link is not out yet
        raise OfferLinkInvalid()
    return offer, app, candidate


def open_offer_link(*, session: Session, token: str) -> OfferLink:
    """What the candidate's page may show for a valid link; OfferLinkInvalid (unknown, used, expired, withdrawn)."""
    offer, _, candidate = _by_token(session, token)
    return OfferLink(
        candidate_name=candidate.name,
        job_title=offer.job_title,
        level=offer.level,
        start_date=offer.start_date,
        location=offer.location,
        pay=_pay_text(offer, candidate.language),
        probation_months=offer.probation_months,
        response_deadline=offer.response_deadline,
        language=candidate.language,
    )


def answer_offer_by_link(
    *, session: Session, token: str, answer: str, reason: str | None = None, text: str = ""
) -> Offer:
    """The candidate accepts or declines through their link: once (a second answer, also at the same instant, is
    refused as used), not after the deadline or a withdrawal."""
    answer, reason, text = _validated_answer(answer, reason, text)
    offer, app, _ = _by_token(session, token)
    done = _answered(
        session, offer, app, None, answer, reason, text, "link", [col(Offer.answer_token_hash) == _token_hash(token)]
    )
    if done is None:
        raise OfferLinkInvalid("offer_answer.link_used")
    return done


# --------------------------------------------------------------------------- expiry (the worker)
def expire_due(*, session: Session, now: datetime | None = None) -> int:
    """Sent offers whose response deadline has ended become expired (no commit); returns how many."""
    now = now or utcnow()
    today = now.astimezone(get_settings().tz).date()
    for offer in session.exec(
        select(Offer).where(Offer.status == S.approved, col(Offer.letter_mail_id).is_not(None))
    ).all():
        _sync_sent(session, offer)
    due = list(session.exec(select(Offer.id).where(Offer.status == S.sent, col(Offer.response_deadline) < today)).all())
    if not due:
        return 0
    result = session.exec(
        update(Offer)
        .where(col(Offer.id).in_(due), col(Offer.status) == S.sent)
        .values(status=S.expired, updated_at=now, version=Offer.version + 1)
    )
    for offer_id in due:
        audit.record(
            session=session,
            actor=None,
            entity="offer",
            entity_id=offer_id or 0,
            action="expire",
            changes={"status": [S.sent.value, S.expired.value]},
        )
    session.flush()
    return int(result.rowcount or 0)


@job("expire_offers")
def expire_offers(*, engine: Engine, settings: Settings) -> int:  # noqa: ARG001 - a worker job's signature
    """The worker's job: offers past their deadline expire (their link stops working)."""
    with session_scope(engine) as session:
        return expire_due(session=session)


# --------------------------------------------------------------------------- reading
@dataclass
class OfferRow:
    offer_id: int
    application_id: int
    candidate: str
    job: str
    department: str
    status: str
    revision: int
    start_date: date
    response_deadline: date
    owner: str
    approvals_waiting: int
    waiting_for_me: bool
    updated_at: datetime


def _visible(actor: User) -> Any:
    """SQL: the offers of the enclosing query `actor` may read — every one (scope ANY), else those of the jobs they
    manage and those they are asked to approve."""
    if policy.everywhere(actor, Cap.onboard):
        return policy.not_erased(Application.candidate_id)
    asked = select(OfferApproval.offer_id).where(OfferApproval.approver_id == actor.id)
    return or_(policy.managed_by(actor), col(Offer.id).in_(asked))


def list_offers(
    *, session: Session, actor: User, status: str | None = None, application_id: int | None = None
) -> list[OfferRow]:
    """The offers `actor` may see (a hiring manager: of their jobs, and those waiting for their approval), by status
    (what needs someone first), then deadline; `status` filters. Each with how many approvals are still waiting."""
    current = policy.require_current_cap(session, actor, Cap.onboard)
    waiting = (
        select(func.count())
        .select_from(OfferApproval)
        .where(OfferApproval.offer_id == Offer.id, OfferApproval.decision == "")
        .correlate(Offer)
        .scalar_subquery()
    )
    mine = (
        select(func.count())
        .select_from(OfferApproval)
        .where(
            OfferApproval.offer_id == Offer.id, OfferApproval.decision == "", OfferApproval.approver_id == current.id
        )
        .correlate(Offer)
        .scalar_subquery()
    )
    order = case(*((col(Offer.status) == s, i) for i, s in enumerate(STATUS_ORDER)), else_=99)
    query = (
        select(Offer, Candidate.name, Job.title, Job.department, User.name, waiting, mine)  # type: ignore[call-overload]
        .join(Application, col(Application.id) == Offer.application_id)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Job, col(Job.id) == Application.job_id)
        .join(User, col(User.id) == Offer.created_by_id, isouter=True)
        .where(_visible(current), col(Candidate.anonymised_at).is_(None))
    )
    if status:
        if status not in {s.value for s in OfferStatus}:
            raise ValidationError.single("status", "err.choice_invalid")
        query = query.where(Offer.status == status)
    if application_id is not None:
        query = query.where(Offer.application_id == application_id)
    # Live offers by the nearest deadline (what needs doing first); closed ones newest first, so that the list's
    # limit cuts off the oldest history, not last week's answers.
    live_deadline = case((col(Offer.status).in_(list(LIVE_OFFER)), col(Offer.response_deadline)), else_=None)
    rows = session.exec(
        query.order_by(order, live_deadline.asc().nulls_last(), col(Offer.id).desc()).limit(LIST_LIMIT)
    ).all()
    return [
        OfferRow(
            offer_id=o.id or 0,
            application_id=o.application_id,
            candidate=name,
            job=title,
            department=department,
            status=str(o.status),
            revision=o.revision,
            start_date=o.start_date,
            response_deadline=o.response_deadline,
            owner=owner or "",
            approvals_waiting=int(w or 0),
            waiting_for_me=bool(m),
            updated_at=o.updated_at,
        )
        for o, name, title, department, owner, w, m in rows
    ]


@dataclass
class ApprovalView:
    approver: str
    approver_id: int
    decision: str
    comment: str
    decided_at: datetime | None
    active: bool = True  # False: the approver was deactivated since they were asked


@dataclass
class ApprovalEvent:
    """One say given in one approval round of one revision (kept when the offer is revised and submitted again)."""

    revision: int
    round: int
    who: str
    decision: str
    comment: str
    at: datetime


@dataclass
class OfferDetail:
    offer: Offer
    candidate: str
    candidate_email: str
    candidate_language: str
    job: str
    department: str
    stage: str
    approvals: list[ApprovalView]
    history: list[dict[str, Any]]
    revisions: list[tuple[int, int, str]]  # (offer id, revision, status) of the application's offers, newest first
    can_edit: bool
    my_approval_waiting: bool
    letter: OutboxMessage | None = None
    approval_required: bool = True
    decline_reasons: list[str] = field(default_factory=list)
    decisions: list[ApprovalEvent] = field(default_factory=list)  # every round of every revision, oldest first
    waiting_inactive: list[str] = field(default_factory=list)  # approvers still asked who are no longer active
    stuck: bool = False  # waiting for approval, and only for people no longer active
    approvers_next: list[str] = field(default_factory=list)  # a draft: who submitting asks
    approvers_skipped: list[str] = field(default_factory=list)  # a draft: approvers skipped, no longer active
    plan_id: int | None = None  # an accepted offer's onboarding plan
    withdraw_reason: str = ""


def _decisions(session: Session, revisions: list[tuple[int, int, str]]) -> tuple[list[ApprovalEvent], dict[int, str]]:
    """Every approval round's says of the application's offers, from their audit trail (the approval rows of a
    round are replaced when the offer is submitted again; the trail keeps them), and each withdrawal's reason."""
    revision_of = {offer_id: revision for offer_id, revision, _ in revisions}
    rows = session.exec(
        select(AuditLog, User.name)
        .join(User, col(User.id) == AuditLog.user_id, isouter=True)
        .where(
            AuditLog.entity == "offer",
            col(AuditLog.entity_id).in_(list(revision_of)),
            col(AuditLog.action).in_(["submit", "approval", "withdraw"]),
        )
        .order_by(col(AuditLog.at), col(AuditLog.id))
    ).all()
    rounds: dict[int, int] = {}
    events: list[ApprovalEvent] = []
    reasons: dict[int, str] = {}
    for row, name in rows:
        changes = json.loads(row.changes or "{}")
        if row.action == "submit":
            rounds[row.entity_id] = rounds.get(row.entity_id, 0) + 1
        elif row.action == "withdraw":
            reasons[row.entity_id] = str(changes.get("reason", ""))
        else:
            events.append(
                ApprovalEvent(
                    revision=revision_of[row.entity_id],
                    round=max(rounds.get(row.entity_id, 1), 1),
                    who=name or "",
                    decision=str(changes.get("decision", "")),
                    comment=str(changes.get("comment", "")),
                    at=row.at,
                )
            )
    return events, reasons


def offer_detail(*, session: Session, actor: User, offer_id: int) -> OfferDetail:
    """One offer with its approvals (who, decision, comment), its history and the application's other revisions."""
    current = policy.require_current_cap(session, actor, Cap.onboard)
    offer, app, candidate, job_row = _loaded(session, offer_id)
    approvals = list(
        session.exec(
            select(OfferApproval, User.name)
            .join(User, col(User.id) == OfferApproval.approver_id)
            .where(OfferApproval.offer_id == offer_id)
            .order_by(col(OfferApproval.id))
        )
    )
    asked = any(a.approver_id == current.id for a, _ in approvals)
    if not (policy.allows(current, Cap.onboard, job_row) or asked):
        raise NotAllowed()
    offer = _sync_sent(session, offer)
    letter = None
    if offer.letter_mail_id is not None:
        letter = session.get(OutboxMessage, offer.letter_mail_id)
    revisions = [
        (o.id or 0, o.revision, str(o.status))
        for o in session.exec(
            select(Offer).where(Offer.application_id == offer.application_id).order_by(col(Offer.revision).desc())
        )
    ]
    active = {
        u.id: bool(u.is_active and u.role_set)
        for u in session.exec(select(User).where(col(User.id).in_([a.approver_id for a, _ in approvals])))
    }
    waiting_inactive = [name for a, name in approvals if not a.decision and not active.get(a.approver_id, False)]
    waiting_active = [a for a, _ in approvals if not a.decision and active.get(a.approver_id, False)]
    next_people: tuple[list[User], list[User]] = ([], [])
    if offer.status == S.draft and approval_required(session):
        next_people = _approver_people(session, job_row)
    plan_id = None
    if offer.status == S.accepted:
        plan_id = session.exec(select(OnboardingPlan.id).where(OnboardingPlan.offer_id == offer.id)).first()
    decisions, withdraw_reasons = _decisions(session, revisions)
    return OfferDetail(
        offer=offer,
        candidate=candidate.name,
        candidate_email=candidate.email or "",
        candidate_language=candidate.language,
        job=job_row.title,
        department=job_row.department,
        stage=str(app.stage),
        approvals=[
            ApprovalView(
                approver=name,
                approver_id=a.approver_id,
                decision=a.decision,
                comment=a.comment,
                decided_at=a.decided_at,
                active=active.get(a.approver_id, False),
            )
            for a, name in approvals
        ],
        history=audit.list_audit(session=session, entity="offer", entity_ids=[r[0] for r in revisions], limit=100),
        revisions=revisions,
        can_edit=policy.allows(current, Cap.edit_offers, job_row),
        my_approval_waiting=offer.status == S.pending_approval
        and (
            any(a.approver_id == current.id and not a.decision for a, _ in approvals)
            or (policy.everywhere(current, Cap.approve_offers) and any(not a.decision for a, _ in approvals))
        ),
        letter=letter,
        approval_required=approval_required(session),
        decline_reasons=[r.value for r in DeclineReason],
        decisions=decisions,
        waiting_inactive=waiting_inactive,
        stuck=offer.status == S.pending_approval and bool(waiting_inactive) and not waiting_active,
        approvers_next=[u.name for u in next_people[0]],
        approvers_skipped=[u.name for u in next_people[1]],
        plan_id=plan_id,
        withdraw_reason=withdraw_reasons.get(offer.id or 0, ""),
    )


def offer_form_defaults(*, session: Session, actor: User, application_id: int) -> dict[str, Any]:
    """What a new offer's form starts from: the job's title and location, the start a month out, a week to answer."""
    current = policy.require_current_cap(session, actor, Cap.edit_offers)
    app, candidate, job_row = load_application(session, application_id)
    if not policy.allows(current, Cap.edit_offers, job_row):
        raise NotAllowed()
    today = _today()
    return {
        "application_id": app.id,
        "candidate": candidate.name,
        "stage": str(app.stage),
        "job_title": job_row.title,
        "location": job_row.location,
        "level": "",
        "salary_amount": None,
        "salary_currency": "CNY",
        "salary_period": "month",
        "terms": "",
        "start_date": today + timedelta(days=30),
        "probation_months": 3,
        "contract_months": 36,
        "response_deadline": today + timedelta(days=7),
        "notes": "",
    }


def offer_applications(*, session: Session, actor: User, limit: int = 200) -> list[tuple[int, str, str]]:
    """Applications at the offer stage without a live offer, for a new offer: (application id, candidate, job)."""
    current = policy.require_current_cap(session, actor, Cap.edit_offers)
    live = select(Offer.application_id).where(col(Offer.status).in_(list(LIVE_OFFER)))
    query = (
        select(Application.id, Candidate.name, Job.title)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Job, col(Job.id) == Application.job_id)
        .where(
            Application.stage == Stage.offer,
            col(Application.id).not_in(live),
            col(Candidate.anonymised_at).is_(None),
        )
        .order_by(col(Application.stage_changed_at).desc())
        .limit(limit)
    )
    scope = policy.job_scope(current, Cap.edit_offers)
    if scope is not None:
        query = query.where(col(Application.job_id).in_(scope))
    return [(int(i or 0), str(n), str(t_)) for i, n, t_ in session.exec(query)]


# --------------------------------------------------------------------------- approval settings (admins)
@dataclass
class ApprovalSettings:
    required: bool
    rules: list[tuple[int, str, int, str]]  # (rule id, department, user id, user name)
    people: list[tuple[int, str]]  # who may be named: active people who can open the Onboard page
    departments: list[str]


def approval_settings(*, session: Session, actor: User) -> ApprovalSettings:
    """Whether offers need approval, and the approvers named per department ("" = every department)."""
    policy.require_current_cap(session, actor, Cap.manage_onboarding)
    rules = session.exec(
        select(ApproverRule, User.name)
        .join(User, col(User.id) == ApproverRule.user_id)
        .order_by(col(ApproverRule.department), col(ApproverRule.id))
    ).all()
    people = [
        (u.id or 0, u.name)
        for u in session.exec(select(User).where(col(User.is_active).is_(True)).order_by(col(User.name)))
        if policy.holds(u, Cap.onboard)
    ]
    departments = [d for d in session.exec(select(Job.department).distinct().order_by(col(Job.department))) if d]
    return ApprovalSettings(
        required=approval_required(session),
        rules=[(r.id or 0, r.department, r.user_id, name) for r, name in rules],
        people=people,
        departments=departments,
    )


def set_approval_required(*, session: Session, actor: User, required: bool) -> bool:
    """Turn offer approval on or off (off: a submitted draft is approved at once)."""
    current = policy.require_current_cap(session, actor, Cap.manage_onboarding)
    save_setting(session, APPROVAL_SETTING, "1" if required else "0", by_id=current.id)
    audit.record(
        session=session, actor=current, entity="setting", entity_id=0, action="offer_approval", changes={"on": required}
    )
    session.flush()
    return required


def add_approver_rule(*, session: Session, actor: User, department: str, user_id: int) -> ApproverRule:
    """Name an extra approver for every offer of a department ("" = every department)."""
    current = policy.require_current_cap(session, actor, Cap.manage_onboarding)
    department = " ".join((department or "").split())
    if len(department) > 80:
        raise ValidationError.single("department", "err.too_long", max=80)
    person = session.get(User, user_id)
    if person is None or not person.is_active or not policy.holds(person, Cap.onboard):
        raise ValidationError.single("user_id", "err.approver_invalid")
    exists = session.exec(
        select(ApproverRule).where(ApproverRule.department == department, ApproverRule.user_id == user_id)
    ).first()
    if exists is not None:
        return exists
    rule_row = ApproverRule(department=department, user_id=user_id)
    try:
        with savepoint(session):
            session.add(rule_row)
    except IntegrityError:
        found = session.exec(
            select(ApproverRule).where(ApproverRule.department == department, ApproverRule.user_id == user_id)
        ).first()
        if found is None:
            raise
        return found
    audit.record(
        session=session,
        actor=current,
        entity="setting",
        entity_id=rule_row.id or 0,
        action="approver_add",
        changes={"department": department, "user_id": user_id},
    )
    session.flush()
    return rule_row


def remove_approver_rule(*, session: Session, actor: User, rule_id: int) -> None:
    """Stop naming an approver (offers already waiting keep their approvers)."""
    current = policy.require_current_cap(session, actor, Cap.manage_onboarding)
    rule_row = session.get(ApproverRule, rule_id)
    if rule_row is None:
        raise NotFound()
    session.delete(rule_row)
    audit.record(
        session=session,
        actor=current,
        entity="setting",
        entity_id=rule_id,
        action="approver_remove",
        changes={"department": rule_row.department, "user_id": rule_row.user_id},
    )
    session.flush()
