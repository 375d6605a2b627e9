"""The privacy notice (PIPL Art. 17, GDPR Art. 13–14): versions an admin writes in Chinese and English, publishes,
and deletes while nobody can have been shown them. The newest published version is the one candidates are shown.

Until an admin publishes one, the built-in default text (the catalogs' `privacy.default_notice`) is shown; the first
time a person is recorded as shown the notice (on their page, or by their own consent link), that default is saved
as version 1, published, so every record points at a stored text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from models.candidate import Candidate
from models.common import utcnow
from models.privacy import PrivacyNotice, PrivacyNoticeIn
from models.user import User
from services.platform import audit
from services.platform.db import savepoint
from services.platform.errors import DomainError, InvalidTransition, NotFound, validate
from services.platform.i18n import t
from services.platform.policy import Cap, require_current_cap


class NoticeInUse(DomainError):
    """A version people were shown (or that was public) stays: what they read must remain readable."""

    key = "err.notice_in_use"
    plural = "count"


@dataclass(frozen=True)
class NoticeRow:
    """One version as the admins' list shows it."""

    notice: PrivacyNotice
    shown_to: int  # candidates recorded as shown this version
    current: bool


@dataclass(frozen=True)
class NoticeText:
    """What the public notice page shows: a stored version, or the built-in default (version None)."""

    version: int | None
    text_zh: str
    text_en: str
    published_at: datetime | None

    def text(self, language: str) -> str:
        return self.text_en if language == "en" else self.text_zh


def default_text() -> NoticeText:
    """The built-in notice, from the catalogs (shown until an admin publishes one)."""
    return NoticeText(
        version=None,
        text_zh=t("privacy.default_notice", "zh"),
        text_en=t("privacy.default_notice", "en"),
        published_at=None,
    )


def _current(session: Session) -> PrivacyNotice | None:
    return session.exec(
        select(PrivacyNotice)
        .where(col(PrivacyNotice.published_at).is_not(None))
        .order_by(col(PrivacyNotice.published_at).desc(), col(PrivacyNotice.version).desc())
        .limit(1)
    ).first()


def current_notice(*, session: Session) -> PrivacyNotice | None:
    """The version candidates are shown now: the one published last (None while none is)."""
    return _current(session)


def ensure_current_notice(*, session: Session, actor: User | None = None) -> PrivacyNotice:
    """The current version; while none is published, the built-in default saved as the next version and published
    (no commit)."""
    notice = _current(session)
    if notice is not None:
        return notice
    text = default_text()
    notice = PrivacyNotice(
        version=_next_version(session),
        text_zh=text.text_zh,
        text_en=text.text_en,
        published_at=utcnow(),
        created_by_id=actor.id if actor else None,
    )
    try:
        with savepoint(session):
            session.add(notice)
    except IntegrityError:  # saved at the same moment by another (two candidates' first answers): that one is it
        current = _current(session)
        if current is None:
            raise
        return current
    audit.record(
        session=session, actor=actor, entity="privacy_notice", entity_id=notice.id or 0, action="notice_default"
    )
    return notice


def notice_text(*, session: Session, version: int | None = None) -> NoticeText | None:
    """A published version's text for the public page (None: no such published version); without `version`, the
    current one, or the built-in default while none is published."""
    if version is None:
        notice = _current(session)
        if notice is None:
            return default_text()
    else:
        notice = session.exec(
            select(PrivacyNotice).where(PrivacyNotice.version == version, col(PrivacyNotice.published_at).is_not(None))
        ).first()
        if notice is None:
            return None
    return NoticeText(
        version=notice.version, text_zh=notice.text_zh, text_en=notice.text_en, published_at=notice.published_at
    )


def _next_version(session: Session) -> int:
    return int(session.exec(select(func.coalesce(func.max(PrivacyNotice.version), 0))).one()) + 1


def _shown_to(session: Session, notice_id: int) -> int:
    return int(session.exec(select(func.count()).where(Candidate.notice_id == notice_id)).one())


def list_notices(*, session: Session, actor: User) -> list[NoticeRow]:
    """Every version, newest first, with how many candidates were shown each and which is current."""
    require_current_cap(session, actor, Cap.manage_privacy)
    current = _current(session)
    counts: dict[Any, int] = dict(
        session.exec(
            select(Candidate.notice_id, func.count())
            .where(col(Candidate.notice_id).is_not(None))
            .group_by(col(Candidate.notice_id))
        ).all()
    )
    rows = session.exec(select(PrivacyNotice).order_by(col(PrivacyNotice.version).desc())).all()
    return [
        NoticeRow(notice=n, shown_to=counts.get(n.id, 0), current=current is not None and n.id == current.id)
        for n in rows
    ]


def create_notice(*, session: Session, actor: User, notice_in: dict[str, Any]) -> PrivacyNotice:
    """Write a new version (a draft: nobody is shown it until it is published)."""
    actor = require_current_cap(session, actor, Cap.manage_privacy)
    data = validate(PrivacyNoticeIn, notice_in)
    # A version with the very text of one already written (a double click, a second tab) adds nothing to read.
    same = session.exec(
        select(PrivacyNotice.version).where(
            PrivacyNotice.text_zh == data.text_zh, PrivacyNotice.text_en == data.text_en
        )
    ).first()
    if same is not None:
        raise InvalidTransition("err.notice_same_text", version=same)
    notice = PrivacyNotice(
        version=_next_version(session), text_zh=data.text_zh, text_en=data.text_en, created_by_id=actor.id
    )
    session.add(notice)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        entity="privacy_notice",
        entity_id=notice.id or 0,
        action="notice_create",
        changes={"version": notice.version},
    )
    return notice


def publish_notice(*, session: Session, actor: User, notice_id: int) -> PrivacyNotice:
    """Publish a draft version: from now on it is the one candidates are shown."""
    actor = require_current_cap(session, actor, Cap.manage_privacy)
    notice = session.get(PrivacyNotice, notice_id, populate_existing=True)
    if notice is None:
        raise NotFound()
    if notice.published_at is not None:
        raise InvalidTransition("err.notice_already_published", version=notice.version)
    notice.published_at = utcnow()
    session.add(notice)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        entity="privacy_notice",
        entity_id=notice_id,
        action="notice_publish",
        changes={"version": notice.version},
    )
    return notice


def delete_notice(*, session: Session, actor: User, notice_id: int) -> None:
    """Delete a draft nobody was shown; a published version, or one recorded as shown to someone, is refused."""
    actor = require_current_cap(session, actor, Cap.manage_privacy)
    notice = session.get(PrivacyNotice, notice_id, populate_existing=True)
    if notice is None:
        raise NotFound()
    shown = _shown_to(session, notice_id)
    if shown:
        raise NoticeInUse(version=notice.version, count=shown)
    if notice.published_at is not None:
        raise InvalidTransition("err.notice_published", version=notice.version)
    version = notice.version
    session.delete(notice)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        entity="privacy_notice",
        entity_id=notice_id,
        action="notice_delete",
        changes={"version": version},
    )
