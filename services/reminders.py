"""The reminder engine: rules are small functions over the database; each fires once per item, window and person.

A rule yields `ReminderItem`s. The engine records each in the `reminder` table under a unique key
(rule, item, window, person) with INSERT … ON CONFLICT DO NOTHING, so however often it runs and however
many workers run it, only the first insert wins and only that one queues a mail (or, for people who chose
the daily digest, waits for the digest). Later screens add rules with the `@rule` decorator.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.common import Role, Stage, utcnow
from models.job import Job
from models.mail import OutboxMessage, Reminder
from models.user import User
from services.config import Settings, get_settings
from services.mail import queue_template


@dataclass
class ReminderItem:
    rule: str
    item_key: str
    window: str
    user_id: int
    title_zh: str
    title_en: str
    detail_zh: str
    detail_en: str
    link: str
    due: str = ""


Rule = Callable[[Session, datetime, Settings], Iterable[ReminderItem]]
RULES: dict[str, Rule] = {}
# The roles a reminder is for, by the item's rule: a person who no longer holds one (an owner who stopped
# recruiting, a manager whose role was removed) is not reminded. No entry: any role will do.
RECIPIENT_ROLES: dict[str, tuple[Role, ...]] = {}


def rule(name: str, recipients: tuple[Role, ...] = ()) -> Callable[[Rule], Rule]:
    """Register a reminder rule under `name`, for people holding one of `recipients` (any role when empty)."""

    def register(fn: Rule) -> Rule:
        RULES[name] = fn
        if recipients:
            RECIPIENT_ROLES[name] = recipients
        return fn

    return register


def may_receive(person: User | None, rule_name: str) -> bool:
    """True when `person` is active and still holds a role the rule's reminders are for."""
    if person is None or not person.is_active or not person.role_set:
        return False
    roles = RECIPIENT_ROLES.get(rule_name, ())
    return not roles or person.has_role(*roles)


def candidate_link(settings: Settings, candidate_id: int) -> str:
    """The address of a candidate's page: the Candidates page is the landing page, served at the root."""
    return f"{settings.base_url.rstrip('/')}/?id={candidate_id}"


def _local(value: datetime, settings: Settings) -> str:
    return value.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")


STALE_STAGES = (Stage.interviewing, Stage.decision_pending, Stage.offer)
STALE_MAX_PERIODS = 4  # after four reminders the application is left to My tasks; no endless nagging


@rule("stale_application", recipients=(Role.recruiter, Role.admin))
def stale_applications(session: Session, now: datetime, settings: Settings) -> Iterable[ReminderItem]:
    """An open application without a stage change for N days reminds the candidate's owner, once per N days."""
    days = settings.stale_application_days
    rows = session.exec(
        select(Application.id, Application.stage_changed_at, Candidate.id, Candidate.name,
               Candidate.owner_id, Job.title)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Job, col(Job.id) == Application.job_id)
        .where(col(Application.stage).in_(STALE_STAGES), col(Candidate.owner_id).is_not(None),
               col(Candidate.anonymised_at).is_(None), Job.status == "open",
               col(Application.stage_changed_at) <= now - timedelta(days=days),
               col(Application.stage_changed_at) > now - timedelta(days=days * (STALE_MAX_PERIODS + 1)))
    )
    for app_id, changed, cand_id, name, owner_id, title in rows:
        idle = (now - changed).days
        period = idle // days
        yield ReminderItem(
            rule="stale_application", item_key=f"application:{app_id}", window=f"{changed:%Y%m%d%H%M}:{period}",
            user_id=owner_id,
            title_zh=f"{name} · {title}：已 {idle} 天没有进展",
            title_en=f"{name} · {title}: no progress for {idle} days",
            detail_zh=f"该应聘自 {_local(changed, settings)} 起一直处于同一阶段。请联系候选人或做出决定。",
            detail_en=f"This application has been in the same stage since {_local(changed, settings)}. "
                      f"Contact the candidate or decide.",
            link=candidate_link(settings, cand_id),
        )


def _insert_new(session: Session, item: ReminderItem, now: datetime) -> bool:
    values = {"rule": item.rule, "item_key": item.item_key[:100], "window": item.window[:40],
              "user_id": item.user_id, "created_at": now, "payload": json.dumps(asdict(item), ensure_ascii=False),
              "mailed": False}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Reminder).values(**values).on_conflict_do_nothing(
        index_elements=["rule", "item_key", "window", "user_id"])
    # RETURNING, not rowcount: SQLAlchemy does not keep an INSERT's rowcount, and with psycopg it reads -1, which
    # counted as "someone else won" and silently dropped every reminder on PostgreSQL.
    return session.exec(stmt.returning(col(Reminder.id))).first() is not None  # type: ignore[call-overload]


def run_reminders(*, engine: Engine, now: datetime | None = None, settings: Settings | None = None) -> dict[str, int]:
    """Evaluate every rule once; new reminders are mailed at once or kept for the digest. Returns counts per rule."""
    now = now or utcnow()
    settings = settings or get_settings()
    counts: dict[str, int] = {}
    for name, fn in RULES.items():
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
                    queue_template(session=session, template="reminder", language=person.language, to=person.email,
                                   key=f"reminder:{item.rule}:{item.item_key}:{item.window}:{person.id}",
                                   recipient_user_id=person.id, context={"recipient_name": person.name,
                                                                         "item": asdict(item)})
                    session.exec(update(Reminder).where(  # type: ignore[call-overload]
                        col(Reminder.rule) == item.rule, col(Reminder.item_key) == item.item_key[:100],
                        col(Reminder.window) == item.window[:40], col(Reminder.user_id) == person.id,
                    ).values(mailed=True))
            session.commit()
            counts[name] = new
    return counts


def run_digests(*, engine: Engine, now: datetime | None = None, settings: Settings | None = None) -> int:
    """After the digest hour, queue one mail per digest reader with their unmailed reminders; once a day each."""
    now = now or utcnow()
    settings = settings or get_settings()
    local = now.astimezone(settings.tz)
    if local.hour < settings.digest_hour:
        return 0
    day = local.strftime("%Y-%m-%d")
    queued = 0
    with Session(engine, expire_on_commit=False) as session:
        readers = list(session.exec(select(User).where(User.reminder_mode == "digest", User.is_active)))
    for person in readers:
        key = f"digest:{person.id}:{day}"
        with Session(engine, expire_on_commit=False) as session:
            if session.exec(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)).first():
                continue  # today's digest went out; what came later waits for tomorrow's
            pending = list(session.exec(
                select(Reminder).where(Reminder.user_id == person.id, col(Reminder.mailed).is_(False),
                                       col(Reminder.digested_at).is_(None))
                .order_by(col(Reminder.created_at)).limit(200)
            ))
            fresh = session.get(User, person.id)
            # What was raised for a role the reader has lost since is dropped, not mailed.
            dropped = [r for r in pending if not may_receive(fresh, r.rule)]
            for r in dropped:
                r.digested_at = now
                session.add(r)
            pending = [r for r in pending if r not in dropped]
            if not pending:
                session.commit()
                continue
            items = [json.loads(r.payload) for r in pending]
            try:
                queue_template(session=session, template="digest", language=person.language, to=person.email,
                               key=key, recipient_user_id=person.id,
                               context={"recipient_name": person.name, "items": items, "day": day})
                for r in pending:
                    r.digested_at = now
                    session.add(r)
                session.commit()
                queued += 1
            except IntegrityError:  # another worker queued the same digest a moment ago
                session.rollback()
    return queued
