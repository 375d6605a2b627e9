"""What every metric is filtered by: the period (in the company's time zone), its basis, job, department, source and
recruiter, and the viewer's scope (services.platform.policy: a hiring manager sees their own jobs only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlmodel import Session, col

from models.candidate import SOURCES, Application, Candidate
from models.job import Job
from models.user import User
from services.platform.config import get_settings
from services.platform.errors import ValidationError
from services.platform.policy import Cap, job_scope, may_own_candidates, require_current_cap

Basis = Literal["application", "event"]
BASES: tuple[str, ...] = ("application", "event")


@dataclass(frozen=True)
class MetricFilter:
    """The period runs from `start` to `end`, both days included, in the company's time zone (a day begins at local
    midnight). `basis` "application": the applications created in the period, followed to wherever they are now
    (a cohort); "event": what happened in the period, whenever its application began (activity). Empty job ids,
    department or source and no recruiter mean all. Bad values raise ValidationError, naming the field."""

    start: date
    end: date
    basis: Basis = "application"
    job_ids: tuple[int, ...] = field(default_factory=tuple)
    department: str = ""
    source: str = ""
    recruiter_id: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.start, date) or not isinstance(self.end, date):
            raise ValidationError.single("start", "err.invalid")
        if self.end < self.start:
            raise ValidationError.single("end", "err.end_before_start")
        if self.basis not in BASES:
            raise ValidationError.single("basis", "err.invalid")
        if self.source and self.source not in SOURCES:
            raise ValidationError.single("source", "err.source_invalid")
        # A list from a multiselect is kept as a tuple, so that the filter stays hashable (a cache key later).
        object.__setattr__(self, "job_ids", tuple(int(j) for j in self.job_ids))
        object.__setattr__(self, "department", (self.department or "").strip())

    @property
    def by_event(self) -> bool:
        return self.basis == "event"


DEFAULT_DAYS = 182  # the screen opens on half a year: a cohort has then reached offers, starts and some probations


def default_filter(now: datetime) -> MetricFilter:
    """What the Metrics screen shows first: the half year up to today, by application date, every job."""
    today = local_today(now)
    return MetricFilter(start=today - timedelta(days=DEFAULT_DAYS - 1), end=today)


def local_midnight(day: date) -> datetime:
    """The UTC moment the company's day `day` begins."""
    return datetime.combine(day, time(0), tzinfo=get_settings().tz).astimezone(UTC)


def period_bounds(metric_filter: MetricFilter) -> tuple[datetime, datetime]:
    """The period as UTC moments: [local midnight of `start`, local midnight after `end`)."""
    return local_midnight(metric_filter.start), local_midnight(metric_filter.end + timedelta(days=1))


def local_today(now: datetime) -> date:
    """The company's date at `now`."""
    return now.astimezone(get_settings().tz).date()


@dataclass(frozen=True)
class Viewer:
    """The person reading metrics, as the database has them now, and the jobs they may read: `job_ids` is a SQL
    select of job ids, or None for every job."""

    user: User
    job_ids: Any


def viewer_scope(*, session: Session, actor: User | None) -> Viewer:
    """The viewer's scope for metrics: admins and recruiters every job, a hiring manager the jobs they manage;
    anyone else (an interviewer, a deactivated account) is refused with NotAllowed. Changes nothing."""
    user = require_current_cap(session, actor, Cap.view_metrics)
    return Viewer(user=user, job_ids=job_scope(user, Cap.view_metrics))


def scoped_applications(viewer: Viewer, metric_filter: MetricFilter) -> Any:
    """SQL: the applications the viewer may see that match the filter's job, department, source and recruiter
    (not the period: each metric applies that to its own dates). Columns: application_id, job_id, candidate_id,
    created_at, stage."""
    query: Any = select(
        col(Application.id).label("application_id"),
        col(Application.job_id).label("job_id"),
        col(Application.candidate_id).label("candidate_id"),
        col(Application.created_at).label("created_at"),
        col(Application.stage).label("stage"),
    )
    conditions: list[Any] = []
    if viewer.job_ids is not None:
        conditions.append(col(Application.job_id).in_(viewer.job_ids))
    if metric_filter.job_ids:
        conditions.append(col(Application.job_id).in_(metric_filter.job_ids))
    if metric_filter.department:
        query = query.join(Job, col(Job.id) == Application.job_id)
        conditions.append(col(Job.department) == metric_filter.department)
    if metric_filter.source:
        query = query.join(Candidate, col(Candidate.id) == Application.candidate_id)
        conditions.append(col(Candidate.source) == metric_filter.source)
    if metric_filter.recruiter_id is not None:
        # The recruiter is the candidate's owner, kept on the application (Application.owner_id).
        conditions.append(col(Application.owner_id) == metric_filter.recruiter_id)
    return query.where(*conditions) if conditions else query


@dataclass(frozen=True)
class JobChoice:
    id: int
    title: str
    department: str
    status: str


@dataclass(frozen=True)
class PersonChoice:
    id: int
    name: str


@dataclass(frozen=True)
class FilterChoices:
    """What the Metrics screen's filters offer this viewer: only the jobs (and their departments) they may read; the
    recruiters are the people who own candidates (a name and an id, nothing else of them)."""

    jobs: list[JobChoice]
    departments: list[str]
    sources: list[str]
    recruiters: list[PersonChoice]


def filter_choices(*, session: Session, actor: User | None) -> FilterChoices:
    """The choices of the Metrics filters within the viewer's scope (an interviewer is refused). Changes nothing."""
    viewer = viewer_scope(session=session, actor=actor)
    query: Any = select(col(Job.id), col(Job.title), col(Job.department), col(Job.status)).order_by(
        col(Job.title), col(Job.id)
    )
    if viewer.job_ids is not None:
        query = query.where(col(Job.id).in_(viewer.job_ids))
    jobs = [JobChoice(id=r[0], title=r[1], department=r[2] or "", status=str(r[3])) for r in session.execute(query)]
    departments = sorted({j.department for j in jobs if j.department})
    owners: Any = select(col(User.id), col(User.name), col(User.roles), col(User.is_active)).order_by(
        col(User.name), col(User.id)
    )
    recruiters = [
        PersonChoice(id=r[0], name=r[1])
        for r in session.execute(owners)
        if may_own_candidates(User(id=r[0], name=r[1], email="", roles=r[2], is_active=r[3]))
    ]
    return FilterChoices(jobs=jobs, departments=departments, sources=list(SOURCES), recruiters=recruiters)
