"""My tasks: everything due for one person, most urgent first, computed from the database (not from mail).

Each area adds a provider with `@provider`; a provider returns the person's open items as `Task`s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.common import Role, utcnow
from models.job import Job
from models.mail import OutboxMessage
from models.user import User
from services.auth import require_current
from services.candidates import not_erased
from services.config import get_settings
from services.lists import of, walk
from services.reminders import STALE_STAGES


@dataclass
class Task:
    kind: str  # the i18n key of its title is f"task.{kind}"
    params: dict[str, Any]
    due_at: datetime
    page: str  # the page file to open, e.g. "pages/candidates.py"
    query: dict[str, str] = field(default_factory=dict)

    def overdue(self, now: datetime) -> bool:
        return self.due_at <= now


Provider = Callable[[Session, User, datetime], list[Task]]
PROVIDERS: list[Provider] = []
HORIZON = timedelta(days=2)  # what falls due within two days is shown too
LIMIT = 100  # the most urgent; the page shows the first 50 and says when there are more than LIMIT


def provider(fn: Provider) -> Provider:
    """Register a source of tasks."""
    PROVIDERS.append(fn)
    return fn


@provider
def stale_applications(session: Session, user: User, now: datetime) -> list[Task]:
    """Applications of my candidates that have not moved for N days (or will within the horizon)."""
    if not user.has_role(Role.recruiter, Role.admin):
        return []
    days = timedelta(days=get_settings().stale_application_days)
    # Mine (the owner kept on the application), the oldest first, along the (owner_id, stage, stage_changed_at)
    # index, until LIMIT in jobs still open and not erased are found (the keys of the three stages are read
    # together and merged: the index alone, a few thousand entries).
    moved = col(Application.stage_changed_at)
    keys = (select(Application.id).where(col(Application.owner_id) == user.id, col(Application.stage).in_(STALE_STAGES),
                                         moved <= now - days + HORIZON)
            .order_by(moved, col(Application.id)))
    rows = walk(session, keys, limit=LIMIT, keep=lambda among: (
        select(Application.stage, moved, Application.candidate_id,
               of(Candidate.name, Candidate.id == Application.candidate_id),
               of(Job.title, Job.id == Application.job_id))
        .where(among(Application.id), of(Job.status, Job.id == Application.job_id) == "open",
               not_erased(Application.candidate_id))
        .order_by(moved, col(Application.id))))
    return [
        Task(kind="stale_application", params={"name": name, "job": title, "stage": stage,
                                               "days": (now - changed).days},
             due_at=changed + days, page="pages/candidates.py", query={"id": str(cand_id)})
        for stage, changed, cand_id, name, title in rows
    ]


@provider
def draft_tasks(session: Session, user: User, now: datetime) -> list[Task]:
    """Mail drafts to my candidates (a rejection prepared by a decision, say) waiting for me to review and send:
    due as soon as they were prepared."""
    if not user.has_role(Role.recruiter, Role.admin):
        return []
    from services.mail import waiting_drafts

    rows = session.exec(waiting_drafts(user, OutboxMessage.id, OutboxMessage.subject, OutboxMessage.created_at,
                                       of(Candidate.name, Candidate.id == OutboxMessage.candidate_id))
                        .order_by(col(OutboxMessage.id)).limit(LIMIT))
    return [Task(kind="mail_draft", params={"name": name or "", "subject": subject}, due_at=created,
                 page="pages/outbox.py", query={"draft": str(mail_id)}) for mail_id, subject, created, name in rows]


def my_tasks(*, session: Session, actor: User, now: datetime | None = None) -> list[Task]:
    """The signed-in person's due and soon-due work, most urgent (earliest due) first (by the roles they hold now)."""
    actor = require_current(session, actor)
    now = now or utcnow()
    tasks: list[Task] = []
    for fn in PROVIDERS:
        tasks.extend(fn(session, actor, now))
    tasks.sort(key=lambda t: t.due_at)
    return tasks[:LIMIT]


# Areas register their providers on import; importing them here makes My tasks complete wherever it is used.
import services.evaluation_reminders  # noqa: E402,F401
import services.followup_reminders  # noqa: E402,F401
