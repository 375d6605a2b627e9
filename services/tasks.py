"""My tasks: everything due for one person, most urgent first, computed from the database (not from mail).

Each area adds a provider with `@provider`; a provider returns the person's open items as `Task`s.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, Integer, Select, any_, bindparam, func, literal_column
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
LIMIT = 100  # the most urgent; the page shows the first 50 and says when there are more than LIMIT


def provider(fn: Provider) -> Provider:
    """Register a source of tasks."""
    PROVIDERS.append(fn)
    return fn


def walk(session: Session, keys: Select[Any], keep: Callable[[Any], Select[Any]], limit: int | None = None
         ) -> list[Any]:
    """The first `limit` rows (LIMIT by default) that `keep` makes of the keys `keys` walks, in the keys' order.

    `keys` selects the ids of the rows that may become tasks along one index, in its order (no test an index cannot
    hold); `keep(among)` reads those of them (`among(id column)`: the id is one of those given) that pass the other
    tests (whose candidate, still the newest contact), in the same order. The first FIRST_SLICE × `limit` keys are
    read on their own and `keep` given them as a list: a bounded slice, so neither planner can choose to read every
    matching row and sort them — which PostgreSQL, misjudging how many rows the tests keep, did (40-50 ms per list
    at 100k candidates). Only where the slice held too few, `keep` reads the rest of the range in one statement.
    Two statements, or three, however large the tables grow."""
    limit = LIMIT if limit is None else limit
    size = FIRST_SLICE * limit
    ids = list(session.exec(keys.limit(size)).all())
    found = list(session.exec(keep(among(session, ids)).limit(limit)).all()) if ids else []
    if len(found) < limit and len(ids) == size:  # the range goes on: the rest of it, in one statement
        rest = keys.offset(size).scalar_subquery()
        found += session.exec(keep(lambda column: col(column).in_(rest)).limit(limit - len(found))).all()
    return found


FIRST_SLICE = 8  # keys read on their own per task wanted: four times what the sparsest list (stale ones) needs


def among(session: Session, ids: list[Any]) -> Callable[[Any], Any]:
    """SQL, for a column: it is one of `ids` — on PostgreSQL one array parameter (`= ANY`), which it parses and
    plans at once, where a thousand bound values cost it more than reading their rows; on SQLite one JSON
    array parameter read by `json_each` (binding a thousand values costs SQLAlchemy more than SQLite's reads)."""
    if session.get_bind().dialect.name == "postgresql":
        values = bindparam("ids", ids, type_=ARRAY(Integer))
        return lambda column: column == any_(values)
    listed = select(literal_column("value")).select_from(func.json_each(json.dumps(ids))).scalar_subquery()
    return lambda column: col(column).in_(listed)


def of(column: Any, where: Any) -> Any:
    """SQL: `column` of the one row `where` finds, read per row of the enclosing query — which starts from the
    ids a `walk` gives it, never from the joined table (SQLite without statistics began a join with every open
    job's applications, or every candidate of the owner)."""
    return select(column).where(where).scalar_subquery()



@provider
def stale_applications(session: Session, user: User, now: datetime) -> list[Task]:
    """Applications of my candidates that have not moved for N days (or will within the horizon)."""
    if not user.has_role(Role.recruiter, Role.admin):
        return []
    days = timedelta(days=get_settings().stale_application_days)
    # The oldest first, along the (stage, stage_changed_at) index, until LIMIT of mine in jobs still open are
    # found (the keys of the three stages are read together and merged: the index alone, a few thousand entries).
    moved = col(Application.stage_changed_at)
    keys = (select(Application.id).where(col(Application.stage).in_(STALE_STAGES), moved <= now - days + HORIZON)
            .order_by(moved, col(Application.id)))
    rows = walk(session, keys, lambda among: (
        select(Application.stage, moved, Application.candidate_id,
               of(Candidate.name, Candidate.id == Application.candidate_id),
               of(Job.title, Job.id == Application.job_id))
        .where(among(Application.id), of(Job.status, Job.id == Application.job_id) == "open",
               owned_by(Application.candidate_id, user.id or 0))
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
    from models.mail import OutboxMessage
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
