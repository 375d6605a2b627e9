"""Reminder rules and My-tasks entries for offers: an approval waiting (to each approver, daily while it waits, up
to a month), a sent offer's response deadline two days ahead (to the recruiter who made it); on My tasks the
approvals waiting for me, my approved offers to send and my sent offers nearing their deadline."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Row
from sqlmodel import Session, col, select

import services.mail.tasks
from models.candidate import Application, Candidate
from models.onboard import Offer, OfferApproval, OfferStatus
from models.user import User
from services.mail.reminders import SCAN_OVERLAP, Found, Scan, Words, date_text, elapsed, key, rule, texts, utc_text
from services.mail.tasks import HORIZON, Task, before, provider
from services.onboard import offers  # noqa: F401 - registers the worker's expire_offers job with the screen
from services.platform.config import Settings, get_settings
from services.platform.policy import Cap, holds

APPROVAL_DAYS = 30  # an approver is reminded when asked and then daily, for up to this many days (then My tasks)
DEADLINE_DAYS = 2  # the owner of a sent offer is reminded this many days before its response deadline, at 09:00


def _candidate_of(offer_application: Any, column: Any) -> Any:
    """`column` of the offer's candidate, read per row: one subquery correlated with the enclosing query's offer
    (a subquery nested in another does not correlate with it, and PostgreSQL then finds every application)."""
    return (
        select(column)
        .select_from(Application)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .where(Application.id == offer_application)
        .correlate(Offer)
        .scalar_subquery()
    )


def deadline_reminder_time(deadline: date) -> datetime:
    """When a sent offer's owner is reminded of its deadline: 09:00, company time, DEADLINE_DAYS before it."""
    return datetime.combine(deadline - timedelta(days=DEADLINE_DAYS), time(9, 0), tzinfo=get_settings().tz)


@rule("offer_approval")
def offer_approval(scan: Scan, settings: Settings) -> Iterable[Found]:
    """An offer waiting for approval reminds each approver who has not decided: when asked, then once a day."""
    now = scan.now
    base = settings.base_url.rstrip("/")
    asked = col(OfferApproval.created_at)
    periods = [timedelta(days=n) for n in range(APPROVAL_DAYS)]
    within = (now - timedelta(days=APPROVAL_DAYS) + timedelta(microseconds=1), now)
    waiting = (
        select(OfferApproval.id, OfferApproval.offer_id, OfferApproval.approver_id, asked)
        .where(scan.came(asked, periods, within, OfferApproval.decision == ""))
        .cte("waiting")
        .prefix_with("MATERIALIZED")
    )
    w = waiting.c
    query = (
        select(
            key("offer_approval:", w.id).label("item_key"),  # type: ignore[call-overload]  # 6 columns
            key(
                utc_text(w.created_at, "%Y%m%d%H%M"),
                ":",
                elapsed(w.created_at, now, timedelta(days=1), [str(n) for n in range(APPROVAL_DAYS)]),
            ).label("window"),
            w.approver_id.label("user_id"),
            w.offer_id.label("offer_id"),
            _candidate_of(Offer.application_id, Candidate.name).label("name"),
            Offer.job_title,
        )
        .select_from(waiting)
        .join(Offer, col(Offer.id) == w.offer_id)
        .where(Offer.status == OfferStatus.pending_approval)
    )

    def words(row: Row[Any]) -> Words:
        return Words(
            *texts("reminder.offer_approval.title", name=row.name, job=row.job_title),
            *texts("reminder.offer_approval.detail"),
            link=f"{base}/onboard?offer_id={row.offer_id}",
        )

    yield Found("offer_approval", query, words, cap=2000)


@rule("offer_deadline", recipients=Cap.edit_offers)
def offer_deadline(scan: Scan, settings: Settings) -> Iterable[Found]:
    """A sent offer whose response deadline is DEADLINE_DAYS away reminds the recruiter who made it (09:00 that day,
    company time); a full pass looks at the deadlines up to that far ahead, an incremental one at the days whose
    reminder time came since the last pass."""
    now = scan.now
    base = settings.base_url.rstrip("/")
    today = now.astimezone(settings.tz).date()
    # The latest deadline whose reminder time has come.
    due_by = today + timedelta(days=DEADLINE_DAYS)
    if deadline_reminder_time(due_by) > now:
        due_by -= timedelta(days=1)
    deadlines = col(Offer.response_deadline) >= today
    if scan.since is not None:
        since = (scan.since - SCAN_OVERLAP).astimezone(settings.tz).date()
        days = [since + timedelta(days=n) for n in range((due_by - since).days + 1)]
        deadlines = col(Offer.response_deadline).in_(
            [d for d in days if d >= today and scan.since - SCAN_OVERLAP < deadline_reminder_time(d)]
        )
    query = select(
        key("offer_deadline:", Offer.id).label("item_key"),  # type: ignore[call-overload]  # 6 columns
        date_text(Offer.response_deadline).label("window"),
        col(Offer.created_by_id).label("user_id"),
        col(Offer.id).label("offer_id"),
        _candidate_of(Offer.application_id, Candidate.name).label("name"),
        Offer.job_title,
    ).where(Offer.status == OfferStatus.sent, col(Offer.response_deadline) <= due_by, deadlines)

    def words(row: Row[Any]) -> Words:
        return Words(
            *texts("reminder.offer_deadline.title", name=row.name, job=row.job_title),
            *texts("reminder.offer_deadline.detail", deadline=row.window),
            link=f"{base}/onboard?offer_id={row.offer_id}",
            due=row.window,
        )

    yield Found("offer_deadline", query, words, cap=2000)


@provider
def approval_tasks(session: Session, user: User, now: datetime, due_by: datetime | None = None) -> list[Task]:  # noqa: ARG001 - a provider's signature
    """Offers waiting for my approval, due when I was asked."""
    asked = col(OfferApproval.created_at)
    query = (
        select(Offer.id, Offer.job_title, _candidate_of(Offer.application_id, Candidate.name), asked)
        .join(Offer, col(Offer.id) == OfferApproval.offer_id)
        .where(
            OfferApproval.approver_id == user.id,
            OfferApproval.decision == "",
            Offer.status == OfferStatus.pending_approval,
        )
        .order_by(asked, col(OfferApproval.id))
        .limit(services.mail.tasks.LIMIT)
    )
    if due_by is not None:
        query = query.where(asked <= due_by)
    return [
        Task(
            kind="offer_approval",
            params={"name": name or "", "job": title},
            due_at=at,
            page="pages/onboard.py",
            query={"offer_id": str(offer_id)},
        )
        for offer_id, title, name, at in session.exec(query)
    ]


@provider
def offer_send_tasks(session: Session, user: User, now: datetime, due_by: datetime | None = None) -> list[Task]:
    """My approved offers whose letter is still to be sent, due when they were approved."""
    if not holds(user, Cap.edit_offers):
        return []
    approved = col(Offer.approved_at)
    query = (
        select(Offer.id, Offer.job_title, _candidate_of(Offer.application_id, Candidate.name), approved)
        .where(Offer.created_by_id == user.id, Offer.status == OfferStatus.approved, approved.is_not(None))
        .order_by(approved, col(Offer.id))
        .limit(services.mail.tasks.LIMIT)
    )
    if due_by is not None:
        query = query.where(approved <= due_by)
    return [
        Task(
            kind="offer_to_send",
            params={"name": name or "", "job": title},
            due_at=at or now,
            page="pages/onboard.py",
            query={"offer_id": str(offer_id)},
        )
        for offer_id, title, name, at in session.exec(query)
    ]


@provider
def offer_deadline_tasks(session: Session, user: User, now: datetime, due_by: datetime | None = None) -> list[Task]:
    """My sent offers whose response deadline ends within the horizon (or has ended and not yet expired)."""
    if not holds(user, Cap.edit_offers):
        return []
    tz = get_settings().tz
    last = before(now + HORIZON, due_by).astimezone(tz).date()
    query = (
        select(  # type: ignore[call-overload]  # sqlmodel types no select() of these
            Offer.id, Offer.job_title, _candidate_of(Offer.application_id, Candidate.name), Offer.response_deadline
        )
        .where(Offer.created_by_id == user.id, Offer.status == OfferStatus.sent, col(Offer.response_deadline) <= last)
        .order_by(col(Offer.response_deadline), col(Offer.id))
        .limit(services.mail.tasks.LIMIT)
    )
    return [
        Task(
            kind="offer_deadline",
            params={"name": name or "", "job": title},
            due_at=datetime.combine(deadline, time(23, 59), tzinfo=tz),
            page="pages/onboard.py",
            query={"offer_id": str(offer_id)},
        )
        for offer_id, title, name, deadline in session.exec(query)
    ]
