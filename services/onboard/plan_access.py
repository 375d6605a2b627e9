"""Who may see or change one onboarding plan: the one check the plans, training and new-hire parts share.

A plan belongs to an application, so it is in scope where the application's job is: everywhere for admins and
recruiters, the job's hiring manager for their own jobs (policy's JOB scope), nobody else.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from models.candidate import Application, Candidate
from models.job import Job
from models.onboard import OnboardingPlan
from models.user import User
from services.platform import policy
from services.platform.errors import NotAllowed, NotFound
from services.platform.policy import Cap


@dataclass(frozen=True)
class PlanInScope:
    plan: OnboardingPlan
    application: Application
    candidate: Candidate
    job: Job
    actor: User  # the actor's current row (roles as the database has them now)


def plan_in_scope(*, session: Session, actor: User | None, plan_id: int, cap: Cap, lock: bool = False) -> PlanInScope:
    """The plan with its application, candidate and job, when `actor` holds `cap` for the plan's job;
    NotFound for no such plan, NotAllowed otherwise. `lock` reads the plan FOR UPDATE (writers)."""
    current = policy.require_current_cap(session, actor, cap)
    plan = session.get(OnboardingPlan, plan_id, with_for_update=lock, populate_existing=lock)
    if plan is None:
        raise NotFound()
    application = session.get(Application, plan.application_id)
    job = session.get(Job, application.job_id) if application else None
    candidate = session.get(Candidate, application.candidate_id) if application else None
    if application is None or job is None or candidate is None:
        raise NotFound()
    if not policy.allows(current, cap, job):
        raise NotAllowed()
    return PlanInScope(plan=plan, application=application, candidate=candidate, job=job, actor=current)
