"""Reminder rules and My-tasks entries for following up: the feedback deadline (warning before, and when it
passes), the next-contact date, and the talent-pool revisit date."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.common import Role
from models.followup import Contact, PoolEntry
from models.job import Job
from models.user import User
from services.config import Settings, get_settings
from services.followup import ACTIVE, clock_running, revisit_due
from services.reminders import ReminderItem, rule
from services.tasks import HORIZON, Task, provider

LOOKBACK = timedelta(days=14)


def _clocks(session: Session, now: datetime, owner: int | None = None):  # noqa: ANN202 - rows
    """Open applications whose last interview ended (within the lookback) and whose candidate has heard nothing
    since: the same definition as the board's clock (`followup.clock_running`)."""
    last_end, running = clock_running(now)
    query = (select(Application.id, Candidate.id, Candidate.name, Candidate.owner_id, Job.title, last_end)
             .join(Candidate, col(Candidate.id) == Application.candidate_id)
             .join(Job, col(Job.id) == Application.job_id)
             .where(col(Application.stage).in_(ACTIVE), col(Candidate.owner_id).is_not(None),
                    col(Candidate.anonymised_at).is_(None), running, last_end >= now - LOOKBACK)
             .order_by(last_end).limit(2000))
    if owner is not None:
        query = query.where(Candidate.owner_id == owner)
    return session.exec(query).all()


@rule("feedback_due", recipients=(Role.admin, Role.recruiter))
def feedback_due(session: Session, now: datetime, settings: Settings) -> Iterable[ReminderItem]:
    """Word to the candidate is due within N hours of the interview: warn the owner before, and when it passes."""
    base = settings.base_url.rstrip("/")
    hours = timedelta(hours=settings.feedback_hours)
    warn = timedelta(hours=settings.feedback_warn_hours)
    for app_id, _cand_id, name, owner_id, title, ended in _clocks(session, now):
        deadline = ended + hours
        if now < deadline - warn:
            continue
        late = now >= deadline
        local = deadline.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        yield ReminderItem(
            rule="feedback_due", item_key=f"feedback:{app_id}:{ended:%Y%m%d%H%M}",
            window="overdue" if late else "warn", user_id=owner_id,
            title_zh=f"{'已超时' if late else '即将超时'}：给 {name} 的面试反馈（{title}）",
            title_en=f"{'Overdue' if late else 'Due soon'}: feedback to {name} ({title})",
            detail_zh=f"面试结束后 {settings.feedback_hours} 小时内应给候选人回复，截止 {local}。"
                      f"发邮件或记录一次联系即可。",
            detail_en=f"Candidates hear from us within {settings.feedback_hours} hours of an interview; due {local}. "
                      f"Send a mail or log a contact.",
            link=f"{base}/follow_up?application={app_id}", due=local)


@rule("next_contact", recipients=(Role.admin, Role.recruiter, Role.hiring_manager))
def next_contact(session: Session, now: datetime, settings: Settings) -> Iterable[ReminderItem]:
    """A next-contact date that has come reminds the person who set it (once per date)."""
    base = settings.base_url.rstrip("/")
    newest = select(func.max(Contact.id)).where(Contact.candidate_id == Candidate.id).correlate(Candidate) \
        .scalar_subquery()
    rows = session.exec(
        select(Contact, Candidate.name).join(Candidate, col(Candidate.id) == Contact.candidate_id)
        .where(Contact.id == newest, col(Contact.next_contact_at) <= now,
               col(Contact.next_contact_at) >= now - LOOKBACK, col(Candidate.anonymised_at).is_(None)).limit(2000))
    for contact, name in rows:
        local = contact.next_contact_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        yield ReminderItem(
            rule="next_contact", item_key=f"contact:{contact.id}", window=local, user_id=contact.by_user_id,
            title_zh=f"约定的联系时间到了：{name}", title_en=f"Time to contact {name} again",
            detail_zh=f"上次联系时约定 {local} 再联系。", detail_en=f"You planned to get back in touch at {local}.",
            link=f"{base}/follow_up?candidate={contact.candidate_id}", due=local)


@rule("pool_revisit", recipients=(Role.admin, Role.recruiter))
def pool_revisit(session: Session, now: datetime, settings: Settings) -> Iterable[ReminderItem]:
    """A talent-pool candidate whose revisit date has come reminds the person who pooled them."""
    base = settings.base_url.rstrip("/")
    today = now.astimezone(settings.tz).date()
    rows = session.exec(
        select(PoolEntry, Candidate.name).join(Candidate, col(Candidate.id) == PoolEntry.candidate_id)
        .where(PoolEntry.status == "active", col(PoolEntry.revisit_on) <= today,
               col(PoolEntry.revisit_on) >= today - timedelta(days=30)).limit(2000))
    for entry, name in rows:
        if revisit_due(entry) > now:
            continue
        yield ReminderItem(
            rule="pool_revisit", item_key=f"pool:{entry.id}", window=entry.revisit_on.isoformat(),
            user_id=entry.added_by_id, title_zh=f"人才库回访：{name}", title_en=f"Talent pool: time to revisit {name}",
            detail_zh=f"入库原因：{entry.reason[:200]}", detail_en=f"Kept because: {entry.reason[:200]}",
            link=f"{base}/talent_pool?candidate={entry.candidate_id}", due=entry.revisit_on.isoformat())


@provider
def feedback_tasks(session: Session, user: User, now: datetime) -> list[Task]:
    """Candidates of mine waiting for word after an interview, due N hours after it ended."""
    if not user.has_role(Role.admin, Role.recruiter):
        return []
    hours = timedelta(hours=get_settings().feedback_hours)
    return [Task(kind="feedback_due", params={"name": name, "job": title}, due_at=ended + hours,
                 page="pages/follow_up.py", query={"application": str(app_id)})
            for app_id, _cid, name, _owner, title, ended in _clocks(session, now, owner=user.id)]


@provider
def contact_tasks(session: Session, user: User, now: datetime) -> list[Task]:
    """Next-contact dates I set that have come or come within the horizon (and no newer contact since)."""
    if not user.has_role(Role.admin, Role.recruiter, Role.hiring_manager):
        return []
    newest = select(func.max(Contact.id)).where(Contact.candidate_id == Candidate.id).correlate(Candidate) \
        .scalar_subquery()
    rows = session.exec(
        select(Contact, Candidate.name).join(Candidate, col(Candidate.id) == Contact.candidate_id)
        .where(Contact.id == newest, Contact.by_user_id == user.id, col(Contact.next_contact_at) <= now + HORIZON,
               col(Candidate.anonymised_at).is_(None)).limit(300))
    # A hiring manager who logged the contact has no follow-up board: their link opens the candidate.
    board = user.has_role(Role.admin, Role.recruiter)
    return [Task(kind="next_contact", params={"name": name}, due_at=c.next_contact_at,  # type: ignore[arg-type]
                 page="pages/follow_up.py" if board else "pages/candidates.py",
                 query={"candidate" if board else "id": str(c.candidate_id)}) for c, name in rows]


@provider
def pool_tasks(session: Session, user: User, now: datetime) -> list[Task]:
    """Talent-pool candidates I pooled whose revisit date has come or comes within the horizon."""
    if not user.has_role(Role.admin, Role.recruiter):
        return []
    horizon = (now + HORIZON).astimezone(get_settings().tz).date()
    rows = session.exec(
        select(PoolEntry, Candidate.name).join(Candidate, col(Candidate.id) == PoolEntry.candidate_id)
        .where(PoolEntry.status == "active", PoolEntry.added_by_id == user.id, col(PoolEntry.revisit_on) <= horizon)
        .limit(300))
    return [Task(kind="pool_revisit", params={"name": name}, due_at=revisit_due(e), page="pages/talent_pool.py",
                 query={"candidate": str(e.candidate_id)}) for e, name in rows]
