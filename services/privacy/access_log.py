"""Records of access (PIPL Art. 51): who opened or exported whose record, and when; kept for a period admins set
(three years unless changed, at least six months: the Cybersecurity Law's Art. 21 keeps network logs that long),
then deleted by a daily worker job. Admins read them on the Privacy page and on each candidate's Privacy tab."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.candidate import Candidate
from models.common import add_months, utcnow
from models.onboard import AppSetting
from models.privacy import AccessAction, AccessRecord
from models.user import User
from services.mail.worker import job
from services.platform import audit
from services.platform.app_settings import save_setting
from services.platform.config import Settings, get_settings
from services.platform.db import session_scope
from services.platform.errors import NotFound, ValidationError
from services.platform.policy import Cap, require_current_cap, visible_candidate

log = logging.getLogger("followup.privacy")

KEEP_SETTING = "privacy_access_keep_months"
PURGED_SETTING = "privacy_access_purged_on"  # the day (company time) the purge last ran: once a day
DEFAULT_KEEP_MONTHS = 36
MIN_KEEP_MONTHS = 6
MAX_KEEP_MONTHS = 120
LIST_LIMIT = 1000


def record_access(*, session: Session, actor: User, candidate_id: int, action: AccessAction | str) -> AccessRecord:
    """Record that `actor` opened (`view`) or exported / erased a candidate's record, now. A view is recorded for
    whoever may see the person; an export or erasure only for those who may do it (admins)."""
    action = AccessAction(action)
    if action == AccessAction.view:
        current = require_current_cap(session, actor, Cap.view_candidates)
        found = session.exec(select(Candidate.id).where(Candidate.id == candidate_id, visible_candidate(current)))
        if found.first() is None:
            raise NotFound()
    else:
        current = require_current_cap(session, actor, Cap.manage_privacy)
        if session.get(Candidate, candidate_id) is None:
            raise NotFound()
    row = AccessRecord(user_id=current.id, candidate_id=candidate_id, action=action, at=utcnow())
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class AccessRow:
    at: datetime
    user_id: int | None
    user: str  # "" for a record without a person (none are written so today)
    candidate_id: int
    candidate: str
    action: str


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=get_settings().tz).astimezone(UTC)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_access(
    *,
    session: Session,
    actor: User,
    candidate_id: int | None = None,
    candidate_text: str = "",
    user_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int = LIST_LIMIT,
) -> list[AccessRow]:
    """Records of access, newest first, with names: of one candidate (by id, or whose name or email contains
    `candidate_text`), of one user, from `start` to `end` (days, company time, both included)."""
    require_current_cap(session, actor, Cap.manage_privacy)
    if start and end and end < start:
        raise ValidationError.single("end", "err.end_before_start")
    text = (candidate_text or "").strip()
    if len(text) > 100:
        raise ValidationError.single("candidate_text", "err.too_long", max=100)
    query = (
        select(AccessRecord, User.name, Candidate.name)
        .join(Candidate, col(Candidate.id) == AccessRecord.candidate_id)
        .join(User, col(User.id) == AccessRecord.user_id, isouter=True)
    )
    if candidate_id is not None:
        query = query.where(AccessRecord.candidate_id == candidate_id)
    if text:
        pattern = _like(text.lower())
        query = query.where(
            col(Candidate.name).ilike(pattern, escape="\\") | col(Candidate.email).ilike(pattern, escape="\\")
        )
    if user_id is not None:
        query = query.where(AccessRecord.user_id == user_id)
    if start is not None:
        query = query.where(col(AccessRecord.at) >= _day_start(start))
    if end is not None:
        query = query.where(col(AccessRecord.at) < _day_start(end + timedelta(days=1)))
    rows = session.exec(query.order_by(col(AccessRecord.at).desc(), col(AccessRecord.id).desc()).limit(limit)).all()
    return [
        AccessRow(
            at=r.at, user_id=r.user_id, user=user or "", candidate_id=r.candidate_id, candidate=name, action=r.action
        )
        for r, user, name in rows
    ]


def keep_months(session: Session) -> int:
    """How many months records of access are kept (the admins' setting, else the default)."""
    row = session.get(AppSetting, KEEP_SETTING)
    try:
        months = int(row.value) if row is not None else DEFAULT_KEEP_MONTHS
    except ValueError:
        return DEFAULT_KEEP_MONTHS
    return min(max(months, MIN_KEEP_MONTHS), MAX_KEEP_MONTHS)


def access_keep_months(*, session: Session, actor: User) -> int:
    """The period records of access are kept, in months."""
    require_current_cap(session, actor, Cap.manage_privacy)
    return keep_months(session)


def set_access_keep_months(*, session: Session, actor: User, months: Any) -> int:
    """Set how many months records of access are kept (6–120); the daily job deletes older ones. Audited."""
    current = require_current_cap(session, actor, Cap.manage_privacy)
    try:
        value = int(months)
    except (TypeError, ValueError):
        raise ValidationError.single("months", "err.not_a_number") from None
    if isinstance(months, float) and months != value:
        raise ValidationError.single("months", "err.not_a_number")
    if not MIN_KEEP_MONTHS <= value <= MAX_KEEP_MONTHS:
        raise ValidationError.single(
            "months", "err.records_keep_months_range", min=MIN_KEEP_MONTHS, max=MAX_KEEP_MONTHS
        )
    before = keep_months(session)
    save_setting(session, KEEP_SETTING, str(value), by_id=current.id)
    if before != value:
        audit.record(
            session=session,
            actor=current,
            entity="setting",
            entity_id=0,
            action="privacy_access_keep",
            changes={"months": [before, value]},
        )
    session.flush()
    return value


def purge_access_records(*, session: Session, now: datetime | None = None) -> int:
    """Delete the records of access older than the period kept; how many went (no commit)."""
    now = now or utcnow()
    today = now.astimezone(get_settings().tz).date()
    cutoff = _day_start(add_months(today, -keep_months(session)))
    done = session.execute(delete(AccessRecord).where(col(AccessRecord.at) < cutoff))
    return int(getattr(done, "rowcount", 0) or 0)


@job("purge_access_records")
def purge_job(*, engine: Engine, settings: Settings) -> int:
    """The worker's job: once a day, delete the records of access past the period kept."""
    today = utcnow().astimezone(settings.tz).date().isoformat()
    with session_scope(engine) as session:
        marker = session.get(AppSetting, PURGED_SETTING, with_for_update=True)
        if marker is not None and marker.value == today:
            return 0
        gone = purge_access_records(session=session)
        save_setting(session, PURGED_SETTING, today, row=marker)
    if gone:
        log.info("deleted %d records of access past the period kept", gone)
    return gone
