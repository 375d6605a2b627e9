"""A candidate's legal basis, the notice they were shown, and their consent per purpose (PIPL Art. 13–14, 17, 28–29;
GDPR Art. 6–7, 13–14).

Consent is a history: each give or withdraw is a `ConsentRecord` (purpose, date, how: the staff form, an import
column, or the candidate's own link); the newest record per purpose is in force. `Candidate.consent` /
`consent_at` mirror the talent-pool consent, kept in step here. Withdrawing talent-pool consent takes the person out
of the talent pool and cancels unsent re-engagement mail; withdrawing survey consent cancels unsent survey
invitations; the services that prepare those mails refuse such a person (`consent_refused`).

Every mail to a candidate carries their own link (`mail_footer`, added by services.mail.outbox.queue_template):
single use and expiring, only a keyed hash of its token stored, through which they give or withdraw talent-pool
consent themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from pydantic import field_validator
from sqlalchemy import exists, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, SQLModel, col, select

from models.candidate import Candidate
from models.common import utcnow
from models.followup import PoolEntry
from models.mail import MailStatus, OutboxMessage
from models.privacy import (
    ConsentIn,
    ConsentLink,
    ConsentMethod,
    ConsentPurpose,
    ConsentRecord,
    LegalBasis,
    PrivacyNotice,
)
from models.user import User
from services.platform import audit
from services.platform.config import get_settings
from services.platform.errors import Conflict, DomainError, NotFound, ValidationError, validate
from services.platform.policy import Cap, holds, require_current_cap, visible_candidate
from services.privacy import notices

# Sources whose data did not come from the person themselves: they must be told where it came from (PIPL Art. 14,
# GDPR Art. 14). A referral is a colleague handing over someone's details; a headhunter's or a social network's
# profile is a third party's. Career site, job board and campus applications come from the person; the talent
# pool holds what they gave us before.
SOURCED = ("headhunter", "social", "referral")
LINK_DAYS = 90  # a consent link in a mail works this long (people read old mail)
LINK_POOL_MONTHS = 24  # talent-pool consent given by the candidate's link lasts this long
PURPOSE_MAILS = {ConsentPurpose.talent_pool: ("reengage",), ConsentPurpose.survey: ("survey_invite",)}
UNSENT = (MailStatus.draft, MailStatus.queued, MailStatus.held)
CURRENT_NOTICE = 0  # as `notice_id` of the facts: the notice shown now, whichever version that is


class ConsentLinkInvalid(DomainError):
    """Garbled, used or expired: one message for all, so a link reveals nothing."""

    key = "consent.link_invalid"


class ConsentRefused(DomainError):
    """The person withdrew (or let expire) their consent to this purpose: nothing for it may reach them."""

    key = "err.consent_refused"


def today() -> date:
    """Today in the company's time zone."""
    return utcnow().astimezone(get_settings().tz).date()


# --------------------------------------------------------------------------- what is in force
def _newest(candidate_id: Any, purpose: ConsentPurpose) -> Any:
    """SQL: the id of the newest consent record of `candidate_id` (a column or a value) for `purpose`."""
    r = aliased(ConsentRecord)
    return (
        select(r.id)
        .where(r.candidate_id == candidate_id, r.purpose == purpose.value)
        .order_by(col(r.at).desc(), col(r.id).desc())
        .limit(1)
        .correlate_except(r)  # `candidate_id`'s table is the outermost query's, not this one's or the EXISTS'
        .scalar_subquery()
    )


def consent_refused(candidate_id: Any, purpose: ConsentPurpose | str, on: date | None = None) -> Any:
    """SQL, usable in the WHERE of a query that picks people: the newest consent record of `candidate_id` (a column of
    the enclosing query) for `purpose` withdraws it, or its end date has passed. No record at all is not a refusal."""
    purpose = ConsentPurpose(purpose)
    on = on or today()
    return exists().where(
        col(ConsentRecord.id) == _newest(candidate_id, purpose),
        or_(col(ConsentRecord.given).is_(False), col(ConsentRecord.until) < on),
    )


def consent_in_force_sql(candidate_id: Any, purpose: ConsentPurpose | str, on: date | None = None) -> Any:
    """SQL: the newest consent record of `candidate_id` for `purpose` gives it and has not ended."""
    purpose = ConsentPurpose(purpose)
    on = on or today()
    return exists().where(
        col(ConsentRecord.id) == _newest(candidate_id, purpose),
        col(ConsentRecord.given).is_(True),
        or_(col(ConsentRecord.until).is_(None), col(ConsentRecord.until) >= on),
    )


def _latest(session: Session, candidate_id: int, purpose: ConsentPurpose) -> ConsentRecord | None:
    return session.exec(
        select(ConsentRecord)
        .where(ConsentRecord.candidate_id == candidate_id, ConsentRecord.purpose == purpose.value)
        .order_by(col(ConsentRecord.at).desc(), col(ConsentRecord.id).desc())
        .limit(1)
    ).first()


def consent_in_force(
    *, session: Session, candidate_id: int, purpose: ConsentPurpose | str, on: date | None = None
) -> bool:
    """Whether the candidate's newest record for `purpose` gives consent that has not ended. Without any record, the
    talent pool falls back to the old single flag (`Candidate.consent`, set before records were kept)."""
    purpose = ConsentPurpose(purpose)
    record = _latest(session, candidate_id, purpose)
    if record is None:
        candidate = session.get(Candidate, candidate_id)
        return bool(purpose == ConsentPurpose.talent_pool and candidate is not None and candidate.consent)
    return record.given and (record.until is None or record.until >= (on or today()))


def refuse_if_withdrawn(*, session: Session, candidate_id: int, purpose: ConsentPurpose) -> None:
    """ConsentRefused when the candidate withdrew (or let end) their consent to `purpose`."""
    if session.exec(
        select(Candidate.id).where(Candidate.id == candidate_id, consent_refused(Candidate.id, purpose))
    ).first():
        raise ConsentRefused(purpose=purpose.value)


# --------------------------------------------------------------------------- recording consent
def apply_consent(*, session: Session, actor: User | None, data: ConsentIn) -> ConsentRecord:
    """Write one consent record and its effects, in the caller's transaction (the caller checked who acts; None: the
    candidate by their link): the candidate's talent-pool flag follows; a withdrawal of the talent pool ends their
    pool entry and cancels unsent re-engagement mail, one of the survey cancels unsent survey invitations. Audited."""
    candidate = session.get(Candidate, data.candidate_id)
    if candidate is None or candidate.anonymised_at:
        raise NotFound()
    now = utcnow()
    record = ConsentRecord(
        candidate_id=data.candidate_id,
        purpose=data.purpose,
        given=data.given,
        method=data.method,
        until=data.until if data.given else None,
        note=data.note,
        at=now,
        by_user_id=actor.id if actor else None,
    )
    session.add(record)
    if data.purpose == ConsentPurpose.talent_pool:
        if candidate.consent != data.given:
            candidate.version += 1  # an edit form opened before must not write the old flag back
        candidate.consent = data.given
        candidate.consent_at = now if data.given else None
        session.add(candidate)
    session.flush()
    if not data.given:
        _withdrawal_effects(session, actor, data.candidate_id, data.purpose)
    changes: dict[str, Any] = {"purpose": data.purpose.value, "method": data.method.value}
    if record.until:
        changes["until"] = record.until.isoformat()
    audit.record(
        session=session,
        actor=actor,
        entity="candidate",
        entity_id=data.candidate_id,
        action="consent_given" if data.given else "consent_withdrawn",
        changes=changes,
    )
    return record


def _withdrawal_effects(session: Session, actor: User | None, candidate_id: int, purpose: ConsentPurpose) -> None:
    if purpose == ConsentPurpose.talent_pool:
        left = session.exec(
            update(PoolEntry)
            .where(col(PoolEntry.candidate_id) == candidate_id, col(PoolEntry.status) == "active")
            .values(status="removed")
        )
        if left.rowcount:
            audit.record(session=session, actor=actor, entity="candidate", entity_id=candidate_id, action="pool_remove")
    templates = PURPOSE_MAILS.get(purpose, ())
    if templates:
        session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.candidate_id) == candidate_id,
                col(OutboxMessage.template).in_(templates),
                col(OutboxMessage.status).in_(UNSENT),
            )
            .values(status=MailStatus.cancelled, last_error="consent withdrawn")
        )


def _staff_candidate(session: Session, actor: User, candidate_id: int) -> Candidate:
    candidate = session.exec(select(Candidate).where(Candidate.id == candidate_id, visible_candidate(actor))).first()
    if candidate is None or candidate.anonymised_at:
        raise NotFound()
    return candidate


def record_consent(*, session: Session, actor: User, consent_in: dict[str, Any]) -> ConsentRecord:
    """Record a consent given or withdrawn on the candidate's page (recruiters, admins); see `apply_consent` for what
    a withdrawal changes. Sends nothing."""
    actor = require_current_cap(session, actor, Cap.record_consent)
    data: ConsentIn = validate(ConsentIn, consent_in | {"method": ConsentMethod.form})
    _staff_candidate(session, actor, data.candidate_id)
    if data.given and data.until is not None and data.until < today():
        raise ValidationError.single("until", "err.until_past")
    if data.purpose != ConsentPurpose.talent_pool and data.until is not None:
        raise ValidationError.single("until", "err.until_pool_only")
    return apply_consent(session=session, actor=actor, data=data)


class PrivacyFactsIn(SQLModel):
    """The legal basis, the notice version shown and when, and when a sourced person was told where their data came
    from, as the candidate's Privacy tab sends them."""

    legal_basis: LegalBasis
    notice_id: int | None = None  # CURRENT_NOTICE: the one shown now
    notice_shown_at: datetime | None = None
    source_told_at: datetime | None = None

    @field_validator("notice_shown_at", "source_told_at", mode="after")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=get_settings().tz)
        return value


def set_privacy_facts(
    *, session: Session, actor: User, candidate_id: int, facts_in: dict[str, Any], version: int
) -> Candidate:
    """Save the candidate's legal basis, the notice version they were shown and when, and when they were told where
    their data came from (recruiters, admins); Conflict if the candidate was saved meanwhile. Audited."""
    actor = require_current_cap(session, actor, Cap.record_consent)
    candidate = _staff_candidate(session, actor, candidate_id)
    data: PrivacyFactsIn = validate(PrivacyFactsIn, facts_in)
    if data.notice_id == CURRENT_NOTICE:  # the one shown now: the built-in default is saved as a version first
        data.notice_id = notices.ensure_current_notice(session=session, actor=actor).id
    if data.notice_id is not None:
        notice = session.get(PrivacyNotice, data.notice_id)
        if notice is None or notice.published_at is None:
            raise ValidationError.single("notice_id", "err.choice_invalid")
    if data.notice_id is None and data.notice_shown_at is not None:
        raise ValidationError.single("notice_id", "err.required")
    now = utcnow()
    for name in ("notice_shown_at", "source_told_at"):
        when = getattr(data, name)
        if when is not None and when > now + timedelta(minutes=5):
            raise ValidationError.single(name, "err.date_in_future")
    before = {k: getattr(candidate, k) for k in PrivacyFactsIn.model_fields}
    after = data.model_dump()
    after["legal_basis"] = data.legal_basis.value
    changes = audit.diff(before, after)
    if not changes:
        return candidate
    result = session.exec(
        update(Candidate)
        .where(col(Candidate.id) == candidate_id, col(Candidate.version) == version)
        .values(**after, version=Candidate.version + 1)
    )
    if result.rowcount != 1:
        raise Conflict(current=session.get(Candidate, candidate_id, populate_existing=True))
    session.refresh(candidate)
    audit.record(
        session=session,
        actor=actor,
        entity="candidate",
        entity_id=candidate_id,
        action="privacy_facts",
        changes=changes,
    )
    return candidate


@dataclass(frozen=True)
class CandidatePrivacy:
    """What the candidate's Privacy tab shows of legal basis, notice and consent."""

    candidate: Candidate
    sourced: bool  # their data did not come from them: they must be told where it came from
    notice: PrivacyNotice | None  # the version they were shown
    notices: list[PrivacyNotice]  # the published versions, newest first (to choose from)
    in_force: dict[str, bool]  # per purpose
    latest: dict[str, ConsentRecord | None]  # per purpose
    history: list[tuple[ConsentRecord, str]]  # newest first, with who recorded it ("" : the candidate's link)
    can_record: bool


def candidate_privacy(*, session: Session, actor: User, candidate_id: int) -> CandidatePrivacy:
    """The candidate's legal basis, notice shown, consent in force per purpose and its history (hiring managers of
    their jobs read it; recruiters and admins may record)."""
    actor = require_current_cap(session, actor, Cap.view_candidates)
    candidate = _staff_candidate(session, actor, candidate_id)
    history = list(
        session.exec(
            select(ConsentRecord, User.name)
            .join(User, col(User.id) == ConsentRecord.by_user_id, isouter=True)
            .where(ConsentRecord.candidate_id == candidate_id)
            .order_by(col(ConsentRecord.at).desc(), col(ConsentRecord.id).desc())
            .limit(200)
        ).all()
    )
    latest: dict[str, ConsentRecord | None] = {p.value: None for p in ConsentPurpose}
    for record, _ in reversed(history):
        latest[record.purpose] = record
    published = list(
        session.exec(
            select(PrivacyNotice)
            .where(col(PrivacyNotice.published_at).is_not(None))
            .order_by(col(PrivacyNotice.version).desc())
        )
    )
    return CandidatePrivacy(
        candidate=candidate,
        sourced=candidate.source in SOURCED,
        notice=session.get(PrivacyNotice, candidate.notice_id) if candidate.notice_id else None,
        notices=published,
        in_force={
            p.value: consent_in_force(session=session, candidate_id=candidate_id, purpose=p) for p in ConsentPurpose
        },
        latest=latest,
        history=[(r, name or "") for r, name in history],
        can_record=holds(actor, Cap.record_consent),
    )


# --------------------------------------------------------------------------- the candidate's own link
def _token_hash(token: str) -> str:
    return hmac.new(get_settings().secret_key.encode(), f"consent:{token}".encode(), hashlib.sha256).hexdigest()


def consent_link_url(*, session: Session, candidate_id: int, days: int = LINK_DAYS) -> str:
    """A new private link for the candidate to give or withdraw talent-pool consent (single use, `days` long); only
    its keyed hash is stored (no commit)."""
    token = secrets.token_urlsafe(32)
    session.add(
        ConsentLink(
            token_hash=_token_hash(token), candidate_id=candidate_id, expires_at=utcnow() + timedelta(days=days)
        )
    )
    session.flush()
    return f"{get_settings().base_url.rstrip('/')}/?consent={token}"


def notice_url(language: str, version: int | None = None) -> str:
    """The public notice page: a version, or whichever is current."""
    base = get_settings().base_url.rstrip("/")
    return f"{base}/?notice={version or 'current'}&lang={quote(language)}"


def mail_footer(*, session: Session, candidate_id: int, language: str) -> dict[str, str]:
    """The template context of the footer every mail to a candidate carries: their consent link and the notice."""
    return {
        "consent_link": consent_link_url(session=session, candidate_id=candidate_id),
        "notice_link": notice_url(language),
    }


@dataclass(frozen=True)
class ConsentPage:
    """What the public consent page may show for a valid link."""

    language: str
    pool_in_force: bool
    until: date | None  # of the talent-pool consent in force
    notice_version: int | None


def _valid_link(session: Session, token: str, now: datetime) -> ConsentLink:
    link = session.exec(select(ConsentLink).where(ConsentLink.token_hash == _token_hash(token or ""))).first()
    candidate = session.get(Candidate, link.candidate_id) if link is not None else None
    if link is None or candidate is None or candidate.anonymised_at:
        raise ConsentLinkInvalid()
    if link.used_at is not None or link.expires_at <= now:  # a real link, spent: said in its owner's language
        raise ConsentLinkInvalid(language=candidate.language)
    return link


def _owner_language(session: Session, link: ConsentLink) -> str:
    """The language of the link's owner (for the refusal of a link spent meanwhile)."""
    candidate = session.get(Candidate, link.candidate_id)
    return candidate.language if candidate is not None else "zh"


def open_consent_link(*, session: Session, token: str, now: datetime | None = None) -> ConsentPage:
    """What the consent page may show for a valid link (nothing changes); ConsentLinkInvalid otherwise."""
    link = _valid_link(session, token, now or utcnow())
    candidate = session.get(Candidate, link.candidate_id)
    assert candidate is not None
    record = _latest(session, link.candidate_id, ConsentPurpose.talent_pool)
    current = notices.current_notice(session=session)
    return ConsentPage(
        language=candidate.language,
        pool_in_force=consent_in_force(session=session, candidate_id=link.candidate_id, purpose="talent_pool"),
        until=record.until if record is not None and record.given else None,
        notice_version=current.version if current else None,
    )


def answer_consent_link(*, session: Session, token: str, give: bool) -> ConsentRecord:
    """The candidate gives or withdraws talent-pool consent by their link; the link is spent in the same conditional
    update, so it works once. Giving lasts LINK_POOL_MONTHS; the notice they were shown is recorded."""
    now = utcnow()
    link = _valid_link(session, token, now)
    spent = session.exec(
        update(ConsentLink)
        .where(col(ConsentLink.id) == link.id, col(ConsentLink.used_at).is_(None), col(ConsentLink.expires_at) > now)
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # spent meanwhile (another tab) or expired: this UPDATE changed nothing
        raise ConsentLinkInvalid(language=_owner_language(session, link))
    notice = notices.ensure_current_notice(session=session)
    candidate = session.get(Candidate, link.candidate_id)
    assert candidate is not None  # (checked by _valid_link)
    shown = audit.diff(
        {"notice_id": candidate.notice_id, "notice_shown_at": candidate.notice_shown_at},
        {"notice_id": notice.id, "notice_shown_at": now},
    )
    session.exec(
        update(Candidate).where(col(Candidate.id) == link.candidate_id).values(notice_id=notice.id, notice_shown_at=now)
    )
    session.refresh(candidate)  # (the UPDATE bypassed this object)
    audit.record(
        session=session,
        actor=None,
        entity="candidate",
        entity_id=link.candidate_id,
        action="privacy_facts",
        changes=shown,
    )
    until = _months_later(today(), LINK_POOL_MONTHS) if give else None
    data = ConsentIn(
        candidate_id=link.candidate_id,
        purpose=ConsentPurpose.talent_pool,
        given=give,
        method=ConsentMethod.link,
        until=until,
    )
    return apply_consent(session=session, actor=None, data=data)


def _months_later(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 28):
        try:
            return day.replace(year=year, month=month, day=d)
        except ValueError:
            continue
    return day
