"""The reminder scan as it was before issue 9 (kept callable for `bench.reminders` and the key-equivalence test).

One INSERT … ON CONFLICT per candidate item, every pass, with each payload built in Python. Copied verbatim from
services/mail/reminders.py, evaluation_reminders.py and followup_reminders.py at commit 86049da; not used by the app.
"""

# ruff: noqa
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.common import utcnow
from models.evaluation import Interview, InterviewPanelist, InterviewStatus, Scorecard, ScorecardStatus
from models.followup import Contact, PoolEntry
from models.job import Job
from models.mail import Reminder
from models.user import User
from services.platform.config import Settings, get_settings
from services.follow_up.followup import ACTIVE, clock_running, revisit_due
from services.mail.outbox import queue_template
from services.mail.reminders import STALE_MAX_PERIODS, STALE_STAGES, ReminderItem, _local, candidate_link, may_receive

FIRST_REMINDER = timedelta(hours=1)
ESCALATE_AFTER = timedelta(hours=48)
LOOKBACK = timedelta(days=14)
OLD_RULES: dict[str, Callable] = {}


def _old_rule(name: str):
    def register(fn):
        OLD_RULES[name] = fn
        return fn

    return register


@_old_rule("stale_application")
def stale_applications(session: Session, now: datetime, settings: Settings) -> Iterable[ReminderItem]:
    """An open application without a stage change for N days reminds the candidate's owner, once per N days."""
    days = settings.stale_application_days
    rows = session.exec(
        select(
            Application.id, Application.stage_changed_at, Candidate.id, Candidate.name, Candidate.owner_id, Job.title
        )
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Job, col(Job.id) == Application.job_id)
        .where(
            col(Application.stage).in_(STALE_STAGES),
            col(Candidate.owner_id).is_not(None),
            col(Candidate.anonymised_at).is_(None),
            Job.status == "open",
            col(Application.stage_changed_at) <= now - timedelta(days=days),
            col(Application.stage_changed_at) > now - timedelta(days=days * (STALE_MAX_PERIODS + 1)),
        )
    )
    for app_id, changed, cand_id, name, owner_id, title in rows:
        idle = (now - changed).days
        period = idle // days
        yield ReminderItem(
            rule="stale_application",
            item_key=f"application:{app_id}",
            window=f"{changed:%Y%m%d%H%M}:{period}",
            user_id=owner_id,
            title_zh=f"{name} · {title}：已 {idle} 天没有进展",
            title_en=f"{name} · {title}: no progress for {idle} days",
            detail_zh=f"该应聘自 {_local(changed, settings)} 起一直处于同一阶段。请联系候选人或做出决定。",
            detail_en=f"This application has been in the same stage since {_local(changed, settings)}. "
            f"Contact the candidate or decide.",
            link=candidate_link(settings, cand_id),
        )


def _pending(
    session: Session,
    *,
    ended_after: datetime,
    ended_by: datetime,
    panelist: int | None = None,
    owner: int | None = None,
):  # noqa: ANN202 - result rows
    panelist_user = aliased(User)
    submitted = (
        select(Scorecard.id)
        .where(
            Scorecard.interview_id == Interview.id,
            Scorecard.interviewer_id == InterviewPanelist.user_id,
            Scorecard.status == ScorecardStatus.submitted,
        )
        .exists()
    )
    query = (
        select(
            Interview.id,
            Interview.ends_at,
            InterviewPanelist.user_id,
            panelist_user.name,
            Candidate.id,
            Candidate.name,
            Candidate.owner_id,
            Job.title,
            Application.id,
        )
        .join(InterviewPanelist, col(InterviewPanelist.interview_id) == Interview.id)
        .join(panelist_user, col(panelist_user.id) == InterviewPanelist.user_id)
        .join(Application, col(Application.id) == Interview.application_id)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Job, col(Job.id) == Application.job_id)
        .where(
            Interview.status == InterviewStatus.scheduled,
            col(Interview.ends_at) >= ended_after,
            col(Interview.ends_at) <= ended_by,
            ~submitted,
        )  # at 1 h (48 h) sharp it is due
        .order_by(Interview.ends_at)
        .limit(2000)
    )
    if panelist is not None:
        query = query.where(InterviewPanelist.user_id == panelist)
    if owner is not None:
        query = query.where(Candidate.owner_id == owner)
    return session.exec(query).all()


@_old_rule("scorecard_due")
def scorecard_due(session: Session, now: datetime, settings: Settings) -> Iterable[ReminderItem]:
    """A scorecard not submitted 1 hour after the interview ended reminds the interviewer, then once a day;
    after 48 hours the candidate's recruiter is told as well (once)."""
    base = settings.base_url.rstrip("/")
    for iv_id, ends_at, uid, who, _cand_id, cand, owner_id, title, app_id in _pending(
        session, ended_after=now - LOOKBACK, ended_by=now - FIRST_REMINDER
    ):
        late = now - ends_at
        window = "first" if late < timedelta(hours=24) else f"day{late.days}"
        hours = int(late.total_seconds() // 3600)
        yield ReminderItem(
            rule="scorecard_due",
            item_key=f"scorecard:{iv_id}:{uid}",
            window=window,
            user_id=uid,
            title_zh=f"请提交 {cand} 的面试评价（{title}）",
            title_en=f"Please submit your scorecard for {cand} ({title})",
            detail_zh=f"面试已结束 {hours} 小时，您的评价还未提交。",
            detail_en=f"The interview ended {hours} hours ago; your scorecard is not in yet.",
            link=f"{base}/scorecard?interview={iv_id}",
        )
        if late >= ESCALATE_AFTER and owner_id and owner_id != uid:
            yield ReminderItem(
                rule="scorecard_overdue",
                item_key=f"scorecard:{iv_id}:{uid}",
                window="48h",
                user_id=owner_id,
                title_zh=f"{who} 尚未提交 {cand} 的面试评价（已超过 48 小时）",
                title_en=f"{who} has not submitted the scorecard for {cand} (over 48 hours)",
                detail_zh=f"{title} · 面试结束于 {ends_at.astimezone(settings.tz):%Y-%m-%d %H:%M}",
                detail_en=f"{title} · interview ended {ends_at.astimezone(settings.tz):%Y-%m-%d %H:%M}",
                link=f"{base}/debrief?application={app_id}",
            )


def _clocks(session: Session, now: datetime, owner: int | None = None):  # noqa: ANN202 - rows
    """Open applications whose last interview ended (within the lookback) and whose candidate has heard nothing
    since: the same definition as the board's clock (`followup.clock_running`)."""
    last_end, running = clock_running(now)
    query = (
        select(Application.id, Candidate.id, Candidate.name, Candidate.owner_id, Job.title, last_end)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Job, col(Job.id) == Application.job_id)
        .where(
            col(Application.stage).in_(ACTIVE),
            col(Candidate.owner_id).is_not(None),
            col(Candidate.anonymised_at).is_(None),
            running,
            last_end >= now - LOOKBACK,
        )
        .order_by(last_end)
        .limit(2000)
    )
    if owner is not None:
        query = query.where(Candidate.owner_id == owner)
    return session.exec(query).all()


@_old_rule("feedback_due")
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
            rule="feedback_due",
            item_key=f"feedback:{app_id}:{ended:%Y%m%d%H%M}",
            window="overdue" if late else "warn",
            user_id=owner_id,
            title_zh=f"{'已超时' if late else '即将超时'}：给 {name} 的面试反馈（{title}）",
            title_en=f"{'Overdue' if late else 'Due soon'}: feedback to {name} ({title})",
            detail_zh=f"面试结束后 {settings.feedback_hours} 小时内应给候选人回复，截止 {local}。"
            f"发邮件或记录一次联系即可。",
            detail_en=f"Candidates hear from us within {settings.feedback_hours} hours of an interview; due {local}. "
            f"Send a mail or log a contact.",
            link=f"{base}/follow_up?application={app_id}",
            due=local,
        )


@_old_rule("next_contact")
def next_contact(session: Session, now: datetime, settings: Settings) -> Iterable[ReminderItem]:
    """A next-contact date that has come reminds the person who set it (once per date)."""
    base = settings.base_url.rstrip("/")
    newest = (
        select(func.max(Contact.id)).where(Contact.candidate_id == Candidate.id).correlate(Candidate).scalar_subquery()
    )
    rows = session.exec(
        select(Contact, Candidate.name)
        .join(Candidate, col(Candidate.id) == Contact.candidate_id)
        .where(
            Contact.id == newest,
            col(Contact.next_contact_at) <= now,
            col(Contact.next_contact_at) >= now - LOOKBACK,
            col(Candidate.anonymised_at).is_(None),
        )
        .limit(2000)
    )
    for contact, name in rows:
        local = contact.next_contact_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        yield ReminderItem(
            rule="next_contact",
            item_key=f"contact:{contact.id}",
            window=local,
            user_id=contact.by_user_id,
            title_zh=f"约定的联系时间到了：{name}",
            title_en=f"Time to contact {name} again",
            detail_zh=f"上次联系时约定 {local} 再联系。",
            detail_en=f"You planned to get back in touch at {local}.",
            link=f"{base}/follow_up?candidate={contact.candidate_id}",
            due=local,
        )


@_old_rule("pool_revisit")
def pool_revisit(session: Session, now: datetime, settings: Settings) -> Iterable[ReminderItem]:
    """A talent-pool candidate whose revisit date has come reminds the person who pooled them."""
    base = settings.base_url.rstrip("/")
    today = now.astimezone(settings.tz).date()
    rows = session.exec(
        select(PoolEntry, Candidate.name)
        .join(Candidate, col(Candidate.id) == PoolEntry.candidate_id)
        .where(
            PoolEntry.status == "active",
            col(PoolEntry.revisit_on) <= today,
            col(PoolEntry.revisit_on) >= today - timedelta(days=30),
        )
        .limit(2000)
    )
    for entry, name in rows:
        if revisit_due(entry) > now:
            continue
        yield ReminderItem(
            rule="pool_revisit",
            item_key=f"pool:{entry.id}",
            window=entry.revisit_on.isoformat(),
            user_id=entry.added_by_id,
            title_zh=f"人才库回访：{name}",
            title_en=f"Talent pool: time to revisit {name}",
            detail_zh=f"入库原因：{entry.reason[:200]}",
            detail_en=f"Kept because: {entry.reason[:200]}",
            link=f"{base}/talent_pool?candidate={entry.candidate_id}",
            due=entry.revisit_on.isoformat(),
        )


def _insert_new(session: Session, item: ReminderItem, now: datetime) -> bool:
    values = {
        "rule": item.rule,
        "item_key": item.item_key[:100],
        "window": item.window[:40],
        "user_id": item.user_id,
        "created_at": now,
        "payload": json.dumps(asdict(item), ensure_ascii=False),
        "mailed": False,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Reminder)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["rule", "item_key", "window", "user_id"])
    )
    # RETURNING, not rowcount: SQLAlchemy does not keep an INSERT's rowcount, and with psycopg it reads -1, which
    # counted as "someone else won" and silently dropped every reminder on PostgreSQL.
    return session.exec(stmt.returning(col(Reminder.id))).first() is not None  # type: ignore[call-overload]


def run_reminders(*, engine: Engine, now: datetime | None = None, settings: Settings | None = None) -> dict[str, int]:
    """Evaluate every rule once; new reminders are mailed at once or kept for the digest. Returns counts per rule."""
    now = now or utcnow()
    settings = settings or get_settings()
    counts: dict[str, int] = {}
    for name, fn in OLD_RULES.items():
        with Session(engine, expire_on_commit=False) as session:
            people: dict[int, User | None] = {}
            new = 0
            for item in fn(session, now, settings):
                if item.user_id not in people:
                    people[item.user_id] = session.get(User, item.user_id)
                person = people[item.user_id]
                if not may_receive(person, item.rule) or not _insert_new(session, item, now):
                    continue
                new += 1
                if person.reminder_mode != "digest":
                    queue_template(
                        session=session,
                        template="reminder",
                        language=person.language,
                        to=person.email,
                        key=f"reminder:{item.rule}:{item.item_key}:{item.window}:{person.id}",
                        recipient_user_id=person.id,
                        context={"recipient_name": person.name, "item": asdict(item)},
                    )
                    session.exec(
                        update(Reminder)
                        .where(  # type: ignore[call-overload]
                            col(Reminder.rule) == item.rule,
                            col(Reminder.item_key) == item.item_key[:100],
                            col(Reminder.window) == item.window[:40],
                            col(Reminder.user_id) == person.id,
                        )
                        .values(mailed=True)
                    )
            session.commit()
            counts[name] = new
    return counts
