"""My tasks: everything due for one person, most urgent first, computed from the database (not from mail).

Each area adds a provider with `@provider`; a provider returns the person's open items as `Task`s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import union_all
from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.common import Role, utcnow
from models.job import Job
from models.user import User
from services.auth import require_current
from services.candidates import owned_by
from services.config import get_settings
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
LIMIT = 300


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
    open_job = select(Job.status).where(col(Job.id) == Application.job_id).scalar_subquery() == "open"
    # Per stage, the oldest first along the (stage, stage_changed_at) index, until LIMIT of mine are found: one
    # ordered walk each (with the three stages in one IN list, both databases read and sorted every open one).
    arms = [select(Application.stage, Application.stage_changed_at, Application.candidate_id, Application.job_id)
            .where(Application.stage == stage, col(Application.stage_changed_at) <= now - days + HORIZON, open_job,
                   owned_by(Application.candidate_id, user.id or 0))
            .order_by(col(Application.stage_changed_at)).limit(LIMIT).subquery(f"stale_{n}")
            for n, stage in enumerate(STALE_STAGES)]
    oldest = union_all(*(select(*arm.c) for arm in arms)).subquery("oldest")
    rows = session.exec(
        select(oldest.c.stage, oldest.c.stage_changed_at, Candidate.id, Candidate.name, Job.title)
        .join(Candidate, col(Candidate.id) == oldest.c.candidate_id)
        .join(Job, col(Job.id) == oldest.c.job_id)
        .order_by(oldest.c.stage_changed_at).limit(LIMIT)
    )
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
    from services.mail import drafts_waiting_for

    rows = drafts_waiting_for(session=session, actor=user, limit=LIMIT)
    ids = list({m.candidate_id for m in rows})
    names = {i: n for i, n in session.exec(select(Candidate.id, Candidate.name).where(col(Candidate.id).in_(ids)))}
    return [Task(kind="mail_draft", params={"name": names.get(m.candidate_id, ""), "subject": m.subject},
                 due_at=m.created_at, page="pages/outbox.py", query={"draft": str(m.id)}) for m in rows]


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
