"""My tasks: everything due for one person, most urgent first, computed from the database (not from mail).

Each area adds a provider with `@provider`; a provider returns the person's open items as `Task`s, the most urgent
first, at most LIMIT, and only those due by `due_by` when it is given: My tasks shows the LIMIT most urgent of all,
so once that many are found, what falls due later is not read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, overload

from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.common import utcnow
from models.job import Job
from models.mail import OutboxMessage
from models.user import User
from services.mail.reminders import STALE_STAGES
from services.platform.config import get_settings
from services.platform.lists import of, walk
from services.platform.policy import Cap, holds, not_erased, require_current_cap


@dataclass
class Task:
    kind: str  # the i18n key of its title is f"task.{kind}"
    params: dict[str, Any]
    due_at: datetime
    page: str  # the page file to open, e.g. "pages/candidates.py"
    query: dict[str, str] = field(default_factory=dict)
    count: int | None = None  # what the title counts, if anything: it takes that number's plural form

    def overdue(self, now: datetime) -> bool:
        return self.due_at <= now


Provider = Callable[[Session, User, datetime, datetime | None], list[Task]]
PROVIDERS: list[Provider] = []
PROVIDERS_COMPLETE = False  # set by services.registry once every screen's providers are registered
REACH: dict[Provider, timedelta | None] = {}  # how long before now a provider's tasks can have fallen due
HORIZON = timedelta(days=2)  # what falls due within two days is shown too
LIMIT = 100  # the most urgent; the page shows the first 50 and says when there are more than LIMIT


@overload
def provider(fn: Provider, *, reach: timedelta | None = None) -> Provider: ...
@overload
def provider(fn: None = None, *, reach: timedelta | None = None) -> Callable[[Provider], Provider]: ...
def provider(fn: Provider | None = None, *, reach: timedelta | None = None) -> Any:
    """Register a source of tasks: `fn(session, user, now, due_by)`. `reach`: how long before `now` its tasks can
    have fallen due at the earliest (a lookback), None when they can be any age (a next-contact date set months
    ago). My tasks asks those of any age first: once they fill the list, a provider whose tasks cannot be older
    than the list's last is not asked at all."""

    def register(fn: Provider) -> Provider:
        PROVIDERS.append(fn)
        REACH[fn] = reach
        fn.task_provider = True  # type: ignore[attr-defined]  # found by tests/services/test_registry.py
        return fn

    return register(fn) if fn is not None else register


def asked_in_order() -> list[Provider]:
    """The providers as My tasks asks them: those whose tasks can be any age first, then by how far back their
    tasks can reach (registration order among equals)."""
    return sorted(PROVIDERS, key=lambda fn: (REACH[fn] is not None, -(REACH[fn] or timedelta(0)).total_seconds()))


def before(bound: datetime, due_by: datetime | None) -> datetime:
    """The earlier of `bound` and `due_by` (when given): how late a task may fall due to be read."""
    return bound if due_by is None else min(bound, due_by)


@provider
def stale_applications(session: Session, user: User, now: datetime, due_by: datetime | None = None) -> list[Task]:
    """Applications of my candidates that have not moved for N days (or will within the horizon)."""
    if not holds(user, Cap.follow_up):
        return []
    days = timedelta(days=get_settings().stale_application_days)
    # Mine (the owner kept on the application), the oldest first, along the (owner_id, stage, stage_changed_at)
    # index, until LIMIT in jobs still open and not erased are found (the keys of the three stages are read
    # together and merged: the index alone, a few thousand entries).
    moved = col(Application.stage_changed_at)
    keys = (
        select(Application.id)
        .where(
            col(Application.owner_id) == user.id,
            col(Application.stage).in_(STALE_STAGES),
            moved <= before(now + HORIZON, due_by) - days,
        )
        .order_by(moved, col(Application.id))
    )
    rows = walk(
        session,
        keys,
        limit=LIMIT,
        keep=lambda among: (
            select(
                Application.stage,
                moved,
                Application.candidate_id,  # type: ignore[call-overload]  # sqlmodel: 4 columns at most
                of(Candidate.name, Candidate.id == Application.candidate_id),
                of(Job.title, Job.id == Application.job_id),
            )
            .where(
                among(Application.id),
                of(Job.status, Job.id == Application.job_id) == "open",
                not_erased(Application.candidate_id),
            )
            .order_by(moved, col(Application.id))
        ),
    )
    return [
        Task(
            kind="stale_application",
            params={"name": name, "job": title, "stage": stage, "days": (now - changed).days},
            due_at=changed + days,
            page="pages/candidates.py",
            query={"id": str(cand_id)},
            count=(now - changed).days,
        )
        for stage, changed, cand_id, name, title in rows
    ]


@provider
def draft_tasks(session: Session, user: User, now: datetime, due_by: datetime | None = None) -> list[Task]:  # noqa: ARG001 - a provider's signature
    """Mail drafts to my candidates (a rejection prepared by a decision, say) waiting for me to review and send:
    due as soon as they were prepared."""
    if not holds(user, Cap.outbox):
        return []
    from services.mail.outbox import waiting_drafts

    drafts = waiting_drafts(
        user,
        OutboxMessage.id,
        OutboxMessage.subject,
        OutboxMessage.created_at,
        of(Candidate.name, Candidate.id == OutboxMessage.candidate_id),
    )
    if due_by is not None:
        drafts = drafts.where(col(OutboxMessage.created_at) <= due_by)
    rows = session.exec(drafts.order_by(col(OutboxMessage.id)).limit(LIMIT))
    return [
        Task(
            kind="mail_draft",
            params={"name": name or "", "subject": subject},
            due_at=created,
            page="pages/outbox.py",
            query={"draft": str(mail_id)},
        )
        for mail_id, subject, created, name in rows
    ]


def my_tasks(*, session: Session, actor: User, now: datetime | None = None) -> list[Task]:
    """The signed-in person's due and soon-due work, most urgent (earliest due) first (by the roles they hold now)."""
    if not PROVIDERS_COMPLETE:
        raise RuntimeError("import services.registry first: without it some screens' tasks would be missing")
    actor = require_current_cap(session, actor, Cap.use_app)
    now = now or utcnow()
    tasks: list[Task] = []
    due_by: datetime | None = None  # once LIMIT are found: the last one's due time; nothing later is read
    for fn in asked_in_order():
        tasks.extend(fn(session, actor, now, due_by))
        if len(tasks) >= LIMIT:
            tasks.sort(key=lambda t: t.due_at)
            del tasks[LIMIT:]
            due_by = tasks[-1].due_at
    tasks.sort(key=lambda t: t.due_at)
    return tasks[:LIMIT]
