"""Anonymise one candidate: no trace of the person is left, what the metrics need stays (issue 13, part 4).

Everything the person typed or was written about them — name, email, phone, WeChat, notes, tags, contact summaries,
scorecard and decision texts, survey comments, intent notes and competing offers, the pool entry's reason, offer
notes and terms, onboarding notes and check-ins, uploaded files, mail to and about them, reminder texts, privacy
and consent notes, and the personal values inside the audit log's change records — is removed or replaced by the
label "Anonymised #<id>". Dates, stages, ratings, structured reasons (codes), the source, the job, offer statuses
and decline codes stay, so every count of services.metrics is the same before and after.

One call is one person in one transaction (the caller commits): interrupted, it leaves the person untouched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, col, select

from models.audit import AuditLog
from models.candidate import Application, Candidate, StageChange
from models.common import utcnow
from models.evaluation import DECISION_REASONS, Decision, Interview, Scorecard, ScorecardRating
from models.followup import Contact, Intent, PoolEntry, SurveyInvite, SurveyResponse
from models.mail import MailStatus, OutboxAttachment, OutboxMessage, Reminder
from models.metrics import ApplicationFact
from models.onboard import (
    CheckIn,
    DeclineReason,
    Material,
    Offer,
    OfferApproval,
    OnboardingPlan,
    PlanTask,
    TrainingSession,
)
from models.privacy import ConsentLink, ConsentRecord, PrivacyRequest, RequestKind
from models.user import User
from models.worker import WorkerHeartbeat
from services.platform import audit

# In both languages, as the demo names its jobs and people: the one stored name serves every reader.
LABEL = "已匿名 Anonymised #{id}"
MIN_NEEDLE = 2  # shorter values (a one-character name) are not searched for in other people's text
UNSENT = (MailStatus.draft, MailStatus.held, MailStatus.queued, MailStatus.sending, MailStatus.failed)

# Reasons the app writes itself (codes, not words a person typed): kept in stage changes and audit records.
_CODES = {code for codes in DECISION_REASONS.values() for code in codes} | {"probation_not_passed"}
_CODES |= {f"offer_declined:{r.value}" for r in DeclineReason}
# Audit keys whose short code-like values are facts the metrics and the history need, not personal data.
_SAFE_KEYS = {
    "stage",
    "from_stage",
    "to_stage",
    "status",
    "kind",
    "reason_code",
    "decline_reason",
    "source",
    "channel",
    "direction",
    "outcome",
    "decision",
    "recommendation",
    "language",
    "mode",
    "purpose",
    "method",
    "legal_basis",
    "answer",
    "via",
    "answered_via",
    "salary_currency",
    "salary_period",
    "action",
    "rule",
}
_CODE_RE = re.compile(r"^[a-z0-9_:.\-]{0,40}$")
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.+\-Z]*)?$")


def label_for(candidate_id: int) -> str:
    """The name an anonymised candidate is left with."""
    return LABEL.format(id=candidate_id)


def structured_reason(reason: str) -> str:
    """The code of a stage change's reason ("team_fit: said rude things" → "team_fit"); "" for words a person
    typed."""
    head = (reason or "").split(": ", 1)[0].strip()
    return head if head in _CODES else ""


def _needles(candidate: Candidate) -> list[str]:
    """The person's identifying values, as searched for in other rows' text (lower case, longest first)."""
    values = {candidate.name, candidate.email, candidate.phone, candidate.phone_digits, candidate.wechat_id}
    return sorted({v.strip().lower() for v in values if v and len(v.strip()) >= MIN_NEEDLE}, key=len, reverse=True)


def scrub_text(text: str, needles: Iterable[str], label: str) -> str:
    """`text` with every (case-insensitive) occurrence of the person's values replaced by `label`."""
    for needle in needles:
        text = re.sub(re.escape(needle), label, text, flags=re.IGNORECASE)
    return text


def _mentions(column: Any, needles: list[str]) -> Any:
    """SQL: `column` contains one of the values (case-insensitive; LIKE's wildcards escaped)."""
    escaped = [n.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for n in needles]
    # lower() LIKE, not ILIKE: PostgreSQL's ILIKE is ten times slower over a large table; the values are lower case.
    return or_(*(func.lower(col(column)).like(f"%{e}%", escape="\\") for e in escaped))


def _redact_value(key: str, value: Any, needles: list[str], label: str) -> Any:
    """One audit value with what is personal taken out: numbers, flags, dates and codes under known keys stay."""
    if isinstance(value, list):
        return [_redact_value(key, v, needles, label) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(k, v, needles, label) for k, v in value.items()}
    if not isinstance(value, str):
        return value
    if key == "reason":
        return structured_reason(value)
    if _ISO_RE.match(value) or (key in _SAFE_KEYS and _CODE_RE.match(value)):
        return scrub_text(value, needles, label)
    return ""


def _rewrite_audit(session: Session, rows: Iterable[AuditLog], needles: list[str], label: str, *, own: bool) -> None:
    """The change records of `rows`: of the person's own records every personal value goes (`own`); of others'
    only the person's values are replaced."""
    for row in rows:
        try:
            changes = json.loads(row.changes or "{}")
        except ValueError:
            changes = None
        if own and isinstance(changes, dict):
            new = json.dumps(
                {k: _redact_value(k, v, needles, label) for k, v in changes.items()}, ensure_ascii=False, default=str
            )
        else:
            new = scrub_text(row.changes or "", needles, label)
        if new != row.changes:
            row.changes = new
            session.add(row)


ECHO = timedelta(days=60)  # how long after the last event of a record reminders and digests may still name the person


def _active_window(
    session: Session, candidate: Candidate, app_ids: list[int], offer_ids: list[int], plan_ids: list[int]
) -> tuple[datetime, datetime]:
    """From when to when other rows (staff mail, reminders, others' audit records) can name the person: from their
    being added until ECHO after the last dated event of their record (an interview, a contact or its next date, a
    stage change, an offer's deadline, the end of probation, a pool revisit, a training …). Searching only there
    keeps each anonymisation to a range of the indexed tables, not a scan of all mail ever sent."""
    apps, offers, plans = app_ids or [-1], offer_ids or [-1], plan_ids or [-1]
    cid = candidate.id
    latest: list[Any] = [candidate.created_at, candidate.updated_at]
    for column, where in (
        (Application.stage_changed_at, col(Application.id).in_(apps)),
        (Interview.ends_at, col(Interview.application_id).in_(apps)),
        (Contact.at, Contact.candidate_id == cid),
        (Contact.next_contact_at, Contact.candidate_id == cid),
        (Intent.decision_deadline, col(Intent.application_id).in_(apps)),
        (Intent.nearest_offer_deadline, col(Intent.application_id).in_(apps)),
        (Offer.updated_at, col(Offer.id).in_(offers)),
        (Offer.response_deadline, col(Offer.id).in_(offers)),
        (Offer.start_date, col(Offer.id).in_(offers)),
        (OnboardingPlan.probation_end, col(OnboardingPlan.id).in_(plans)),
        (OnboardingPlan.outcome_at, col(OnboardingPlan.id).in_(plans)),
        (CheckIn.done_at, col(CheckIn.plan_id).in_(plans)),
        (TrainingSession.ends_at, col(TrainingSession.plan_id).in_(plans)),
        (PoolEntry.revisit_on, PoolEntry.candidate_id == cid),
        (SurveyInvite.expires_at, col(SurveyInvite.application_id).in_(apps)),
        (OutboxMessage.created_at, OutboxMessage.candidate_id == cid),
    ):
        latest.append(session.exec(select(func.max(column)).where(where)).one())
    moments = [_moment(v) for v in latest if v is not None]
    return candidate.created_at, max(moments) + ECHO


def _moment(value: Any) -> datetime:
    """A date or a datetime (SQLite may give either naive) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    at: datetime = value if isinstance(value, datetime) else datetime.combine(value, time(23, 59), tzinfo=UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _ids(session: Session, column: Any, *where: Any) -> list[int]:
    return [int(i) for i in session.exec(select(column).where(*where)).all() if i is not None]


def _blank(session: Session, model: Any, ids: list[int], **values: Any) -> None:
    if ids:
        session.exec(
            update(model).where(col(model.id).in_(ids)).values(**values).execution_options(synchronize_session=False)
        )


def anonymise_candidate(*, session: Session, candidate_id: int, reason: str, actor: User | None = None) -> None:
    """Anonymise the candidate in the current transaction (flush, no commit): every personal value removed or
    replaced, metrics' facts kept, the person's open erasure requests answered with `reason`. Nothing is done for
    a candidate already anonymised or not found. The caller has checked who may (services.privacy.retention)."""
    candidate = session.get(Candidate, candidate_id, with_for_update=True, populate_existing=True)
    if candidate is None or candidate.anonymised_at is not None:
        return
    if session.get_bind().dialect.name == "sqlite":
        # Freed space in the database file is zeroed, so the old values do not linger in its pages.
        session.connection().exec_driver_sql("PRAGMA secure_delete=ON")
    now = utcnow()
    label = label_for(candidate_id)
    needles = _needles(candidate)
    reason = scrub_text(reason or "", needles, label)

    app_ids = _ids(session, Application.id, Application.candidate_id == candidate_id)

    def in_apps(column: Any) -> Any:
        return col(column).in_(app_ids or [-1])

    interview_ids = _ids(session, Interview.id, in_apps(Interview.application_id))
    scorecard_ids = _ids(session, Scorecard.id, in_apps(Scorecard.application_id))
    offer_ids = _ids(session, Offer.id, in_apps(Offer.application_id))
    plan_ids = _ids(session, OnboardingPlan.id, in_apps(OnboardingPlan.application_id))
    in_plans = col(CheckIn.plan_id).in_(plan_ids or [-1])
    check_in_ids = _ids(session, CheckIn.id, in_plans)
    task_ids = _ids(session, PlanTask.id, col(PlanTask.plan_id).in_(plan_ids or [-1]))
    training_ids = _ids(session, TrainingSession.id, col(TrainingSession.plan_id).in_(plan_ids or [-1]))
    invite_ids = _ids(session, SurveyInvite.id, in_apps(SurveyInvite.application_id))
    contact_ids = _ids(session, Contact.id, Contact.candidate_id == candidate_id)
    since, until = _active_window(session, candidate, app_ids, offer_ids, plan_ids)

    # The person's own text.
    _blank(session, Contact, contact_ids, summary="")
    _blank(session, Intent, _ids(session, Intent.id, in_apps(Intent.application_id)), notes="")
    for intent in session.exec(select(Intent).where(in_apps(Intent.application_id))):
        offers = json.loads(intent.offers or "[]")
        intent.offers = json.dumps([{**o, "company": "", "stage": ""} for o in offers if isinstance(o, dict)])
        session.add(intent)
    _blank(session, Interview, interview_ids, location="")
    _blank(session, Scorecard, scorecard_ids, strengths="", weaknesses="", comments="")
    _blank(
        session,
        ScorecardRating,
        _ids(session, ScorecardRating.id, col(ScorecardRating.scorecard_id).in_(scorecard_ids or [-1])),
        note="",
    )
    _blank(session, Decision, _ids(session, Decision.id, in_apps(Decision.application_id)), reason_text="")
    for change in session.exec(select(StageChange).where(in_apps(StageChange.application_id))):
        if change.reason != structured_reason(change.reason):
            change.reason = structured_reason(change.reason)
            session.add(change)
    # The metrics' copy of the last move's reason (services.metrics.facts): the stage changes above list these
    # applications for a fold, but the words must not wait for it.
    for fact in session.exec(select(ApplicationFact).where(in_apps(ApplicationFact.application_id))):
        if fact.last_reason and fact.last_reason != structured_reason(fact.last_reason):
            fact.last_reason = structured_reason(fact.last_reason)
            session.add(fact)
    _blank(
        session,
        SurveyResponse,
        _ids(session, SurveyResponse.id, col(SurveyResponse.invite_id).in_(invite_ids or [-1])),
        comment="",
    )
    _blank(
        session,
        PoolEntry,
        _ids(session, PoolEntry.id, PoolEntry.candidate_id == candidate_id),
        reason="",
        status="removed",
    )
    _blank(session, Offer, offer_ids, notes="", terms="", decline_text="", answer_token_hash=None)
    _blank(
        session,
        OfferApproval,
        _ids(session, OfferApproval.id, col(OfferApproval.offer_id).in_(offer_ids or [-1])),
        comment="",
    )
    _blank(session, OnboardingPlan, plan_ids, outcome_notes="", link_token_hash=None)
    _blank(session, CheckIn, check_in_ids, notes="", concerns="")
    for training in session.exec(select(TrainingSession).where(col(TrainingSession.id).in_(training_ids or [-1]))):
        training.title = scrub_text(training.title, needles, label)
        training.location = scrub_text(training.location, needles, label)
        training.meeting_link = scrub_text(training.meeting_link, needles, label)
        session.add(training)
    uploads = _ids(session, Material.id, col(Material.plan_id).in_(plan_ids or [-1]))
    if uploads:
        _blank(session, PlanTask, _ids(session, PlanTask.id, col(PlanTask.material_id).in_(uploads)), material_id=None)
        session.exec(delete(Material).where(col(Material.id).in_(uploads)))
    _blank(session, ConsentRecord, _ids(session, ConsentRecord.id, ConsentRecord.candidate_id == candidate_id), note="")
    session.exec(delete(ConsentLink).where(col(ConsentLink.candidate_id) == candidate_id))
    requests = session.exec(select(PrivacyRequest).where(PrivacyRequest.candidate_id == candidate_id)).all()
    for request in requests:
        request.note = ""
        request.answer = scrub_text(request.answer, needles, label)
        if request.kind == RequestKind.erasure and request.answered_at is None:
            request.answered_at, request.answered_by_id, request.answer = now, actor.id if actor else None, reason
        session.add(request)

    # Mail to them or about them: what is unsent is cancelled; the words and addresses go.
    linked = [col(OutboxMessage.candidate_id) == candidate_id, in_apps(OutboxMessage.application_id)]
    if candidate.email:
        linked.append(_mentions(OutboxMessage.to_addrs, [candidate.email]))
        linked.append(_mentions(OutboxMessage.cc_addrs, [candidate.email]))
    mail_ids = _ids(session, OutboxMessage.id, or_(*linked))
    if mail_ids:
        session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(mail_ids), col(OutboxMessage.status).in_(UNSENT))
            .values(status=MailStatus.cancelled, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        _blank(session, OutboxMessage, mail_ids, to_addrs="", cc_addrs="", subject="", html="", text="", last_error="")
        session.exec(delete(OutboxAttachment).where(col(OutboxAttachment.outbox_id).in_(mail_ids)))
    if needles:
        # Mail to staff that names them (a reminder, a digest), written while anything happened on their record.
        others = session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.created_at) >= since,
                col(OutboxMessage.created_at) <= until,
                col(OutboxMessage.id).not_in(mail_ids or [-1]),
                or_(
                    _mentions(OutboxMessage.subject, needles),
                    _mentions(OutboxMessage.text, needles),
                    _mentions(OutboxMessage.html, needles),
                ),
            )
        ).all()
        for message in others:
            message.subject = scrub_text(message.subject, needles, label)[:300]
            message.text = scrub_text(message.text, needles, label)
            message.html = scrub_text(message.html, needles, label)
            session.add(message)
        attachments = session.exec(
            select(OutboxAttachment).where(col(OutboxAttachment.outbox_id).in_([m.id for m in others] or [-1]))
        ).all()
        for part in attachments:  # a calendar invitation is text and keeps its use; anything else naming them goes
            content = bytes(part.content).decode("utf-8", "ignore")
            if not any(n in content.lower() for n in needles):
                continue
            if part.mime_type.startswith("text/"):
                part.content = scrub_text(content, needles, label).encode()
                session.add(part)
            else:
                session.delete(part)
        for beat in session.exec(select(WorkerHeartbeat).where(_mentions(WorkerHeartbeat.last_error, needles))).all():
            beat.last_error = scrub_text(beat.last_error, needles, label)
            session.add(beat)
        for reminder in session.exec(
            select(Reminder).where(
                col(Reminder.created_at) >= since,
                col(Reminder.created_at) <= until,
                _mentions(Reminder.payload, needles),
            )
        ).all():
            reminder.payload = scrub_text(reminder.payload, needles, label)
            session.add(reminder)

    # The audit log: the person's own records lose their personal values; others' mentions of them are replaced.
    own = or_(
        (col(AuditLog.entity) == "candidate") & (col(AuditLog.entity_id) == candidate_id),
        *(
            (col(AuditLog.entity).in_(entities)) & (col(AuditLog.entity_id).in_(ids))
            for entities, ids in (
                (("application",), app_ids),
                (("offer",), offer_ids),
                (("onboarding_plan", "onboardingplan"), plan_ids),
                (("check_in",), check_in_ids),
                (("plan_task",), task_ids),
                (("training",), training_ids),
                (("interview",), interview_ids),
                (("scorecard",), scorecard_ids),
            )
            if ids
        ),
    )
    own_rows = session.exec(select(AuditLog).where(own)).all()
    _rewrite_audit(session, own_rows, needles, label, own=True)
    if needles:
        seen = [row.id for row in own_rows]
        mentions = session.exec(
            select(AuditLog).where(
                col(AuditLog.at) >= since,
                col(AuditLog.at) <= until,
                col(AuditLog.id).not_in(seen or [-1]),
                _mentions(AuditLog.changes, needles),
            )
        ).all()
        _rewrite_audit(session, mentions, needles, label, own=False)

    # The person: only the label and the facts are left.
    candidate.name = label
    candidate.email = candidate.phone = candidate.wechat_id = None
    candidate.notes = candidate.tags = candidate.hold_reason = ""
    candidate.search_text = candidate.phone_digits = ""
    candidate.consent = False
    candidate.hold_until = candidate.keep_until = None
    candidate.anonymised_at = candidate.updated_at = now
    candidate.version += 1
    session.add(candidate)
    audit.record(
        session=session,
        actor=actor,
        entity="candidate",
        entity_id=candidate_id,
        action="anonymise",
        changes={"reason": reason, "by": "admin" if actor else "retention"},
    )
    session.flush()
