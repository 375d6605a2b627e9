"""One owner per transaction: services only flush; the caller's scope commits the whole action or none of it.

The scope is `session_scope()` (the pages' `ui.common.db()`, the commands, the worker's steps are built on it).
The one write a service keeps although it fails — the count of a failed sign-in — is its own short transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.candidate import Application, Candidate
from models.job import Job
from models.user import LoginThrottle, User
from services.evaluate import evaluation
from services.follow_up import followup
from services.mail import outbox as mail
from services.metrics.facts import refresh_facts
from services.pipeline import candidates, jobs
from services.platform import auth
from services.platform.db import savepoint, session_scope
from services.platform.errors import AuthFailed, Conflict, NotAllowed, NotFound, ValidationError
from tests.factories import PASSWORD
from tests.services.test_role_matrix import CALLS, KINDS, World, build_world, expected_allowed


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as other:  # another connection: sees only what was committed
        return other.exec(select(func.count()).select_from(model)).one()


@contextmanager
def commits_on(engine: Engine) -> Iterator[list[int]]:
    """Every COMMIT any connection of `engine` sends while the block runs, one entry each."""
    seen: list[int] = []

    def counted(_conn: Any) -> None:
        seen.append(1)

    event.listen(engine, "commit", counted)
    try:
        yield seen
    finally:
        event.remove(engine, "commit", counted)


def test_two_services_in_one_scope_commit_together(engine: Engine, make: Any) -> None:
    boss = make.admin()
    with session_scope(engine) as session:
        job = jobs.create_job(session=session, actor=boss, job_in={"title": "Backend"})
        candidates.create_candidate(
            session=session, actor=boss, job_id=job.id, candidate_in={"name": "林 Lin", "email": "lin@example.com"}
        )
        assert _count(engine, Job) == 0  # nothing is committed before the scope ends
    assert (_count(engine, Job), _count(engine, Candidate), _count(engine, Application)) == (1, 1, 1)


def test_an_error_in_the_second_service_leaves_nothing_of_the_first(engine: Engine, make: Any) -> None:
    boss = make.admin()
    job = make.job(actor=boss)
    with pytest.raises(ValidationError), session_scope(engine) as session:
        candidates.create_candidate(
            session=session, actor=boss, job_id=job.id, candidate_in={"name": "林 Lin", "email": "lin@example.com"}
        )
        jobs.create_job(session=session, actor=boss, job_in={"title": ""})
    assert (_count(engine, Job), _count(engine, Candidate), _count(engine, Application)) == (1, 0, 0)


def test_a_savepoint_undoes_only_its_own_block_and_the_action_goes_on(engine: Engine, make: Any) -> None:
    boss = make.admin()
    with session_scope(engine) as session:
        jobs.create_job(session=session, actor=boss, job_in={"title": "Backend"})
        with pytest.raises(IntegrityError), savepoint(session):
            session.add(User(email=boss.email, name="Twin", roles="recruiter"))
        jobs.create_job(session=session, actor=boss, job_in={"title": "Frontend"})
    assert _count(engine, Job) == 2
    assert _count(engine, User) == 1


def test_a_savepoint_that_is_the_first_write_is_not_committed_by_itself(engine: Engine, make: Any) -> None:
    # On SQLite a SAVEPOINT outside a transaction would open one that its RELEASE commits.
    boss = make.admin()
    with pytest.raises(ValidationError), session_scope(engine) as session:
        with savepoint(session):
            jobs.create_job(session=session, actor=boss, job_in={"title": "Backend"})
        jobs.create_job(session=session, actor=boss, job_in={"title": ""})
    assert _count(engine, Job) == 0


def test_a_failed_sign_in_is_counted_although_the_action_is_rolled_back(engine: Engine, make: Any) -> None:
    make.user(email="anna@example.com")
    with commits_on(engine) as commits, pytest.raises(AuthFailed), session_scope(engine) as session:
        auth.sign_in(session=session, email="anna@example.com", password="wrong-password-1")
    assert len(commits) == 1  # the count's own transaction; the sign-in's was rolled back
    with Session(engine) as other:
        assert other.get(LoginThrottle, "anna@example.com").failures == 1


def test_a_stale_save_is_refused_and_nothing_of_it_is_kept(engine: Engine, make: Any) -> None:
    boss = make.admin()
    job = make.job(actor=boss, title="Backend")
    with session_scope(engine) as session:
        jobs.update_job(session=session, actor=boss, job_id=job.id, version=job.version, job_in={"title": "Renamed"})
    with pytest.raises(Conflict), session_scope(engine) as session:
        jobs.update_job(session=session, actor=boss, job_id=job.id, version=job.version, job_in={"title": "Again"})
    with Session(engine) as other:
        assert other.get(Job, job.id).title == "Renamed"


# ------------------------------------------------------------------ no service commits
def _survey_token(session: Session, w: World) -> str:
    draft = followup.prepare_candidate_mail(
        session=session, actor=w.users["admin"], application_id=w.application_id, template="survey_invite"
    )
    return re.search(r"survey=([\w-]+)", draft.text).group(1)  # type: ignore[union-attr]


# The public services that take no signed-in `actor` (the matrix calls the others).
WITHOUT_ACTOR: dict[str, Callable[[Session, World], Any]] = {
    "auth.sign_in": lambda s, w: auth.sign_in(session=s, email="admin@example.com", password=PASSWORD),
    "auth.redeem_ticket": lambda s, w: auth.redeem_ticket(
        session=s, ticket=auth.issue_ticket(session=s, user=w.users["admin"])
    ),
    "auth.open_tab_session": lambda s, w: auth.open_tab_session(session=s, user=w.users["admin"]),
    "auth.end_session": lambda s, w: auth.end_session(
        session=s, token=auth.open_tab_session(session=s, user=w.users["admin"])
    ),
    "auth.sso_user": lambda s, w: auth.sso_user(session=s, email="new-sso@example.com", name="SSO"),
    "auth.change_password": lambda s, w: auth.change_password(
        session=s, user=w.users["admin"], old_password=PASSWORD, new_password="a-new-long-password-3"
    ),
    "followup.answer_survey": lambda s, w: followup.answer_survey(
        session=s, token=_survey_token(s, w), answer_in={"nps": 9, "clarity": 5, "respect": 5, "treatment": 5}
    ),
    "mail.queue_operator_test_message": lambda s, w: mail.queue_operator_test_message(session=s, to="ops@example.com"),
    "mail.release_held": lambda s, w: mail.release_held(session=s),
    "evaluation.ensure_default_rounds": lambda s, w: evaluation.ensure_default_rounds(session=s),
}


def test_no_service_commits_the_callers_transaction(engine: Engine, frozen_clock: Any) -> None:
    """Each public service, called as someone it allows, sends no COMMIT: the caller decides."""
    with Session(engine, expire_on_commit=False) as session:
        world = build_world(session)
    # The world's history folded into the metric facts first: a metric read that finds changes still to fold
    # commits them in a transaction of its own, never the caller's (services.metrics.facts.fresh_facts).
    with Session(engine) as session:
        refresh_facts(session)
        session.commit()
    calls: dict[str, Callable[[Session], Any]] = {}
    for name, call in CALLS.items():
        kind = next(k for k in KINDS if expected_allowed(k, name))
        calls[name] = lambda s, call=call, kind=kind: call(
            s, s.exec(select(User).where(User.email == f"{kind}@example.com")).one(), world
        )
    for name, bare in WITHOUT_ACTOR.items():
        calls[name] = lambda s, bare=bare: bare(s, world)
    committed = {}
    for name, call in sorted(calls.items()):
        with Session(engine, expire_on_commit=False) as session, commits_on(engine) as commits:
            try:
                call(session)
            except (NotAllowed, NotFound) as exc:
                pytest.fail(f"{name} refused the kind of user the policy allows: {exc!r}")
            finally:
                session.rollback()  # the next call starts from the same world
            if commits:
                committed[name] = len(commits)
    assert committed == {}
