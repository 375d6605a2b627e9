"""Jobs: create, edit, close; hiring managers see their own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from models.candidate import Application
from models.common import JobStatus, utcnow
from models.job import Job, JobCreate, JobUpdate
from models.user import User
from services.platform import audit
from services.platform.errors import Conflict, NotFound, ValidationError, validate
from services.platform.policy import Cap, allows, everywhere, managed_by, may_manage_jobs, require_cap


def _check_manager(session: Session, manager_id: int | None) -> None:
    if manager_id is None:
        return
    manager = session.get(User, manager_id)
    if manager is None or not manager.is_active or not may_manage_jobs(manager):
        raise ValidationError.single("hiring_manager_id", "err.not_a_manager")


def list_jobs(*, session: Session, actor: User, status: JobStatus | None = None) -> list[dict[str, Any]]:
    """Jobs with their open application count; a hiring manager who is not a recruiter sees only theirs."""
    require_cap(actor, Cap.view_jobs)
    # Per job from the (job_id, stage, candidate_id) index: a range count each (1 ms at 100k on SQLite); one
    # GROUP BY over every open application measured slower (23 ms), as it reads them all.
    open_apps = (
        select(func.count())
        .select_from(Application)
        .where(Application.job_id == Job.id, col(Application.stage).in_(["interviewing", "decision_pending", "offer"]))
        .scalar_subquery()
    )
    query = select(Job, User.name, open_apps).join(User, col(User.id) == Job.hiring_manager_id, isouter=True)
    if not everywhere(actor, Cap.view_jobs):
        query = query.where(managed_by(actor))
    if status:
        query = query.where(Job.status == status)
    query = query.order_by(col(Job.status).desc(), Job.title)
    return [{"job": job, "manager": name or "", "active_applications": n} for job, name, n in session.exec(query)]


def get_job(*, session: Session, actor: User, job_id: int) -> Job:
    """One job, if the actor may see it."""
    require_cap(actor, Cap.view_jobs)
    job = session.get(Job, job_id)
    if job is None or not allows(actor, Cap.view_jobs, job):
        raise NotFound()
    return job


def create_job(*, session: Session, actor: User, job_in: dict[str, Any]) -> Job:
    """Open a new job (admin, recruiter)."""
    require_cap(actor, Cap.edit_jobs)
    data = validate(JobCreate, job_in)
    _check_manager(session, data.hiring_manager_id)
    job = Job.model_validate(data)
    session.add(job)
    session.flush()
    audit.record(
        session=session, actor=actor, entity="job", entity_id=job.id or 0, action="create", changes=data.model_dump()
    )
    session.flush()
    return job


def update_job(*, session: Session, actor: User, job_id: int, version: int, job_in: dict[str, Any]) -> Job:
    """Edit a job, closing or reopening it too; refused with Conflict when someone saved it meanwhile."""
    require_cap(actor, Cap.edit_jobs)
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound()
    data = validate(JobUpdate, job_in).model_dump(exclude_unset=True)
    if "hiring_manager_id" in data:
        _check_manager(session, data["hiring_manager_id"])
    before = job.model_dump(warnings=False)  # status comes back from the database as plain text
    values = {k: v for k, v in data.items() if k != "status" or v is not None}
    if values.get("status") == JobStatus.closed and job.status != JobStatus.closed:
        values["closed_at"] = utcnow()
    elif values.get("status") and values["status"] != JobStatus.closed:
        values["closed_at"] = None
    result = session.exec(
        update(Job).where(col(Job.id) == job_id, col(Job.version) == version).values(**values, version=Job.version + 1)
    )
    if result.rowcount != 1:
        raise Conflict(current=session.get(Job, job_id, populate_existing=True))
    session.refresh(job)
    audit.record(
        session=session,
        actor=actor,
        entity="job",
        entity_id=job_id,
        action="update",
        changes=audit.diff(before, job.model_dump(warnings=False)),
    )
    session.flush()
    return job
