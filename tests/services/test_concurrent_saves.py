"""Two people (or two tabs) saving one record at the same instant: one wins, the other is told, nothing crashes.

Each test starts two threads with their own Session on the same database and releases them together with a
barrier, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from models.candidate import Application, Candidate, StageChange
from services.pipeline import candidates, jobs
from services.platform.errors import Conflict, DomainError
from tests.factories import Factory, action


def race(engine: Engine, *calls: Callable[[Session], Any]) -> list[Any]:
    """Run each call in its own thread and Session, all released at once; each result or the exception raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[Session], Any]) -> None:
        barrier.wait()
        try:
            with action(engine) as session:
                results[i] = call(session)
        except Exception as exc:  # the test looks at what was raised
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def only_domain_outcomes(results: list[Any]) -> None:
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, DomainError)]
    assert unexpected == []


def test_two_simultaneous_edits_of_one_candidate_save_one_and_refuse_the_other_as_a_conflict(
    engine: Engine, make: Factory
) -> None:
    actor = make.admin()
    person = make.candidate(actor=actor, name="王芳", email="wang@example.com")

    def edit(name: str) -> Callable[[Session], Any]:
        return lambda s: candidates.update_candidate(
            session=s,
            actor=actor,
            candidate_id=person.id,
            candidate_in={"name": name, "email": "wang@example.com", "version": person.version},
        )

    results = race(engine, edit("王芳 A"), edit("王芳 B"))
    only_domain_outcomes(results)
    assert sum(isinstance(r, Conflict) for r in results) == 1
    with Session(engine) as s:
        saved = s.get(Candidate, person.id)
        assert saved.name in {"王芳 A", "王芳 B"} and saved.version == person.version + 1


def test_two_simultaneous_edits_of_one_job_save_one(engine: Engine, make: Factory) -> None:
    actor = make.admin()
    job = make.job(actor=actor, title="Backend")

    def edit(title: str) -> Callable[[Session], Any]:
        return lambda s: jobs.update_job(
            session=s, actor=actor, job_id=job.id, version=job.version, job_in={"title": title}
        )

    results = race(engine, edit("Backend A"), edit("Backend B"))
    only_domain_outcomes(results)
    assert sum(isinstance(r, Conflict) for r in results) == 1


def test_two_simultaneous_stage_moves_record_one_change(engine: Engine, make: Factory) -> None:
    actor = make.admin()
    job = make.job(actor=actor)
    person = make.candidate(actor=actor, job=job)
    application = make.session.exec(select(Application).where(Application.candidate_id == person.id)).one()
    before = make.session.exec(
        select(func.count()).select_from(StageChange).where(StageChange.application_id == application.id)
    ).one()

    def move(s: Session) -> Any:
        return candidates.move_stage(
            session=s,
            actor=actor,
            application_id=application.id,
            to_stage="decision_pending",
            from_stage="interviewing",
        )

    results = race(engine, move, move)
    only_domain_outcomes(results)
    assert sum(isinstance(r, Application) for r in results) == 1
    with Session(engine) as s:
        after = s.exec(
            select(func.count()).select_from(StageChange).where(StageChange.application_id == application.id)
        ).one()
        assert after == before + 1


def test_a_double_click_on_add_application_adds_it_once(engine: Engine, make: Factory) -> None:
    actor = make.admin()
    person = make.candidate(actor=actor)
    job = make.job(actor=actor)

    def add(s: Session) -> Any:
        return candidates.add_application(session=s, actor=actor, candidate_id=person.id, job_id=job.id)

    results = race(engine, add, add)
    only_domain_outcomes(results)
    with Session(engine) as s:
        count = s.exec(
            select(func.count())
            .select_from(Application)
            .where(Application.candidate_id == person.id, Application.job_id == job.id)
        ).one()
        assert count == 1
