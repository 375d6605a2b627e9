"""Rows for tests, built through the same schemas and services the app uses."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.candidate import Application, Candidate
from models.job import Job
from models.user import User
from services.pipeline import candidates, jobs
from services.platform.auth import hash_password
from services.platform.db import session_scope
from services.platform.errors import DomainError

PASSWORD = "correct-horse-9"
T = TypeVar("T")
_HASH: dict[str, str] = {}
_seq = itertools.count(1)


def _password_hash(password: str) -> str:
    # Hashing is slow on purpose; tests reuse one hash per password.
    if password not in _HASH:
        _HASH[password] = hash_password(password)
    return _HASH[password]


@contextmanager
def action(engine: Engine) -> Iterator[Session]:
    """One user action as a page runs it (ui.common.db): committed when the block ends, rolled back when it
    raises; the rows a domain error carries stay readable (detached before the rollback)."""
    with session_scope(engine) as session:
        try:
            yield session
        except DomainError:
            session.expunge_all()
            raise


def done(session: Session, value: T) -> T:
    """`value`, once `session` is committed: for a test standing for the page (or worker) whose action ends with
    its commit — services only flush."""
    session.commit()
    return value


class Factory:
    """Each row is committed, as the page or command that made it would: the test then starts from saved data."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _saved(self, row: Any) -> Any:
        return done(self.session, row)

    def user(
        self,
        roles: str = "recruiter",
        *,
        email: str | None = None,
        name: str | None = None,
        password: str = PASSWORD,
        language: str = "zh",
        is_active: bool = True,
    ) -> User:
        n = next(_seq)
        user = User(
            email=email or f"user{n}@example.com",
            name=name or f"User {n}",
            roles=roles,
            language=language,
            password_hash=_password_hash(password),
            is_active=is_active,
        )
        self.session.add(user)
        self.session.commit()
        return user

    def admin(self, **kw: Any) -> User:
        return self.user("admin,recruiter", **kw)

    def job(self, *, actor: User | None = None, **values: Any) -> Job:
        actor = actor or self.admin()
        data = {"title": f"Job {next(_seq)}", "department": "Engineering", "location": "Shanghai"} | values
        return self._saved(jobs.create_job(session=self.session, actor=actor, job_in=data))

    def candidate(self, *, actor: User | None = None, job: Job | None = None, **values: Any) -> Candidate:
        actor = actor or self.admin()
        n = next(_seq)
        data = {"name": f"候选人 {n}", "email": f"cand{n}@example.com", "phone": f"+86 139 {n:04d} {n:04d}"} | values
        return self._saved(
            candidates.create_candidate(
                session=self.session,
                actor=actor,
                candidate_in=data,
                job_id=job.id if job else None,
                allow_duplicate=True,
            )
        )

    def application(self, *, candidate: Candidate, job: Job, actor: User | None = None) -> Application:
        actor = actor or self.admin()
        return self._saved(
            candidates.add_application(
                session=self.session, actor=actor, candidate_id=candidate.id or 0, job_id=job.id or 0
            )
        )


# --------------------------------------------------------------------------- onboarding plans (issue 11, plans part)
def onboarding_plan(
    session: Session,
    *,
    job: Job | None = None,
    actor: User | None = None,
    start_date: Any = None,
    probation_months: int = 3,
    **offer_values: Any,
) -> Any:
    """An onboarding plan made by `plans.start_onboarding` from an accepted offer to a new application (at the
    offer stage, moved to hired by it), committed. Returns the plan."""
    from datetime import date, timedelta

    from sqlmodel import select

    from models.common import Stage
    from models.onboard import Offer, OfferCreate, OfferStatus
    from services.onboard import plans

    make = Factory(session)
    actor = actor or make.admin()
    job = job or make.job(actor=actor)
    person = make.candidate(actor=actor, job=job)
    app = session.exec(select(Application).where(Application.candidate_id == person.id)).one()
    for stage in (Stage.decision_pending, Stage.offer):
        candidates.move_stage(session=session, actor=actor, application_id=app.id or 0, to_stage=stage)
    start = start_date or date(2026, 4, 1)
    fields = OfferCreate.model_validate(
        {
            "application_id": app.id,
            "job_title": job.title,
            "salary_amount": "30000",
            "start_date": start,
            "probation_months": probation_months,
            "response_deadline": start - timedelta(days=14),
        }
        | offer_values
    )
    offer = Offer.model_validate(fields.model_dump() | {"status": OfferStatus.accepted, "created_by_id": actor.id})
    session.add(offer)
    session.flush()
    plan = plans.start_onboarding(session=session, offer=offer, actor=actor)
    return done(session, plan)
