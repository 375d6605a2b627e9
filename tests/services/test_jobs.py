"""Jobs: who edits them, who sees them, closing and reopening, validation and simultaneous edits."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from models.audit import AuditLog
from models.common import JobStatus, utcnow
from models.job import Job
from services.pipeline import jobs
from services.platform.errors import Conflict, NotAllowed, NotFound, ValidationError
from tests.factories import done


def field_error(caught: pytest.ExceptionInfo[ValidationError], field: str) -> str:
    return caught.value.fields[field][0]


def test_a_recruiter_opens_a_job_with_a_hiring_manager(session, make, frozen_clock) -> None:
    recruiter = make.user("recruiter")
    manager = make.user("hiring_manager")
    job = jobs.create_job(
        session=session,
        actor=recruiter,
        job_in={
            "title": "  后端工程师 ",
            "department": "研发",
            "location": "上海",
            "headcount": 3,
            "hiring_manager_id": manager.id,
            "description": "Go, PostgreSQL",
        },
    )
    stored = session.get(Job, job.id)
    assert (stored.title, stored.headcount, stored.hiring_manager_id) == ("后端工程师", 3, manager.id)
    assert stored.status == JobStatus.open
    assert stored.closed_at is None and stored.version == 1
    assert stored.created_at == utcnow()
    row = session.exec(select(AuditLog).where(AuditLog.entity == "job", AuditLog.entity_id == job.id)).one()
    assert row.action == "create" and json.loads(row.changes)["title"] == "后端工程师"


@pytest.mark.parametrize("roles", ["hiring_manager", "interviewer", ""])
def test_only_admins_and_recruiters_open_jobs(session, make, roles) -> None:
    with pytest.raises(NotAllowed):
        jobs.create_job(session=session, actor=make.user(roles), job_in={"title": "Designer"})
    assert session.exec(select(Job)).all() == []


@pytest.mark.parametrize("roles", ["hiring_manager", "interviewer"])
def test_only_admins_and_recruiters_edit_jobs(session, make, roles) -> None:
    manager = make.user(roles)
    job = make.job(hiring_manager_id=manager.id if "hiring_manager" in roles else None)
    with pytest.raises(NotAllowed):
        jobs.update_job(session=session, actor=manager, job_id=job.id, version=1, job_in={"title": "Mine now"})
    session.expire_all()
    assert session.get(Job, job.id).title == job.title


def test_an_admin_edits_a_job_and_the_version_goes_up(session, make) -> None:
    admin = make.admin()
    job = make.job(actor=admin, title="Designer", headcount=1)
    saved = jobs.update_job(
        session=session, actor=admin, job_id=job.id, version=1, job_in={"title": "UI Designer", "headcount": 2}
    )
    assert (saved.title, saved.headcount, saved.version) == ("UI Designer", 2, 2)
    row = session.exec(select(AuditLog).where(AuditLog.entity == "job", AuditLog.action == "update")).one()
    changes = json.loads(row.changes)
    assert changes["title"] == ["Designer", "UI Designer"]
    assert changes["headcount"] == [1, 2]


def test_closing_a_job_sets_closed_at_and_reopening_clears_it(session, make, frozen_clock) -> None:
    admin = make.admin()
    job = make.job(actor=admin)
    closed = jobs.update_job(session=session, actor=admin, job_id=job.id, version=1, job_in={"status": "closed"})
    assert closed.status == JobStatus.closed
    assert closed.closed_at == utcnow()
    reopened = jobs.update_job(session=session, actor=admin, job_id=job.id, version=2, job_in={"status": "open"})
    assert reopened.status == JobStatus.open
    assert reopened.closed_at is None
    assert reopened.version == 3


def test_putting_a_closed_job_on_hold_clears_closed_at(session, make) -> None:
    admin = make.admin()
    job = make.job(actor=admin)
    jobs.update_job(session=session, actor=admin, job_id=job.id, version=1, job_in={"status": "closed"})
    held = jobs.update_job(session=session, actor=admin, job_id=job.id, version=2, job_in={"status": "on_hold"})
    assert (held.status, held.closed_at) == (JobStatus.on_hold, None)


def test_saving_a_closed_job_again_keeps_its_closing_time(session, make, frozen_clock) -> None:
    admin = make.admin()
    job = make.job(actor=admin)
    closed_at = jobs.update_job(
        session=session, actor=admin, job_id=job.id, version=1, job_in={"status": "closed"}
    ).closed_at
    frozen_clock.set(closed_at.replace(year=2027))
    again = jobs.update_job(
        session=session, actor=admin, job_id=job.id, version=2, job_in={"status": "closed", "description": "filled"}
    )
    assert again.closed_at == closed_at


def test_the_hiring_manager_must_hold_the_hiring_manager_role(session, make) -> None:
    admin = make.admin()
    interviewer = make.user("interviewer")
    with pytest.raises(ValidationError) as caught:
        jobs.create_job(session=session, actor=admin, job_in={"title": "QA", "hiring_manager_id": interviewer.id})
    assert caught.value.fields == {"hiring_manager_id": ("err.not_a_manager", {})}


def test_a_deactivated_or_unknown_hiring_manager_is_refused(session, make) -> None:
    admin = make.admin()
    gone = make.user("hiring_manager", is_active=False)
    job = make.job(actor=admin)
    for manager_id in (gone.id, 9999):
        with pytest.raises(ValidationError) as caught:
            jobs.update_job(
                session=session, actor=admin, job_id=job.id, version=1, job_in={"hiring_manager_id": manager_id}
            )
        assert field_error(caught, "hiring_manager_id") == "err.not_a_manager"


def test_the_hiring_manager_can_be_removed_from_a_job(session, make) -> None:
    admin = make.admin()
    manager = make.user("hiring_manager")
    job = make.job(actor=admin, hiring_manager_id=manager.id)
    saved = jobs.update_job(session=session, actor=admin, job_id=job.id, version=1, job_in={"hiring_manager_id": None})
    assert saved.hiring_manager_id is None


def test_a_hiring_manager_lists_only_their_own_jobs(session, make) -> None:
    admin = make.admin()
    mine, theirs = make.user("hiring_manager"), make.user("hiring_manager")
    own = make.job(actor=admin, title="A own", hiring_manager_id=mine.id)
    make.job(actor=admin, title="B other", hiring_manager_id=theirs.id)
    make.job(actor=admin, title="C nobody")
    rows = jobs.list_jobs(session=session, actor=mine)
    assert [r["job"].id for r in rows] == [own.id]
    assert rows[0]["manager"] == mine.name


def test_recruiters_and_interviewers_list_every_job(session, make) -> None:
    admin = make.admin()
    manager = make.user("hiring_manager")
    make.job(actor=admin, title="A", hiring_manager_id=manager.id)
    make.job(actor=admin, title="B")
    for actor in (admin, make.user("recruiter"), make.user("interviewer"), make.user("hiring_manager,recruiter")):
        assert [r["job"].title for r in jobs.list_jobs(session=session, actor=actor)] == ["A", "B"]


def test_the_job_list_counts_active_applications_and_filters_by_status(session, make) -> None:
    admin = make.admin()
    job = make.job(actor=admin, title="Busy")
    closed = make.job(actor=admin, title="Done")
    first, second, third = (make.candidate(actor=admin, job=job) for _ in range(3))
    from services.pipeline import candidates

    app = session.exec(select(candidates.Application).where(candidates.Application.candidate_id == third.id)).one()
    candidates.move_stage(session=session, actor=admin, application_id=app.id, to_stage="rejected", reason="skills")
    jobs.update_job(session=session, actor=admin, job_id=closed.id, version=1, job_in={"status": "closed"})
    rows = {r["job"].title: r for r in jobs.list_jobs(session=session, actor=admin)}
    assert rows["Busy"]["active_applications"] == 2
    assert rows["Done"]["active_applications"] == 0
    only_closed = jobs.list_jobs(session=session, actor=admin, status=JobStatus.closed)
    assert [r["job"].title for r in only_closed] == ["Done"]


def test_an_interviewer_without_staff_role_cannot_list_jobs(session, make) -> None:
    make.job()
    with pytest.raises(NotAllowed):
        jobs.list_jobs(session=session, actor=make.user(""))


def test_get_job_returns_it_or_not_found(session, make) -> None:
    admin = make.admin()
    job = make.job(actor=admin)
    assert jobs.get_job(session=session, actor=admin, job_id=job.id).id == job.id
    with pytest.raises(NotFound):
        jobs.get_job(session=session, actor=admin, job_id=9999)
    with pytest.raises(NotFound):
        jobs.update_job(session=session, actor=admin, job_id=9999, version=1, job_in={"title": "X"})


def test_a_save_from_a_stale_version_is_a_conflict_carrying_the_saved_job(session, make) -> None:
    admin = make.admin()
    job = make.job(actor=admin, title="Designer")
    jobs.update_job(session=session, actor=admin, job_id=job.id, version=1, job_in={"title": "UI Designer"})
    with pytest.raises(Conflict) as caught:
        jobs.update_job(session=session, actor=admin, job_id=job.id, version=1, job_in={"title": "UX Designer"})
    assert caught.value.current.title == "UI Designer"
    assert caught.value.current.version == 2
    session.expire_all()
    assert session.get(Job, job.id).title == "UI Designer"


def test_two_editors_saving_the_same_version_only_one_wins(engine, make) -> None:
    admin = make.admin()
    job = make.job(actor=admin, title="Designer")
    with Session(engine, expire_on_commit=False) as first, Session(engine, expire_on_commit=False) as second:
        # Both editors hold version 1 (the identity map keeps only what is referenced).
        held = [first.get(Job, job.id), second.get(Job, job.id)]
        assert [j.version for j in held] == [1, 1]
        done(first, jobs.update_job(session=first, actor=admin, job_id=job.id, version=1, job_in={"title": "First"}))
        with pytest.raises(Conflict) as caught:
            jobs.update_job(session=second, actor=admin, job_id=job.id, version=1, job_in={"title": "Second"})
        assert caught.value.current.title == "First"
    with Session(engine) as fresh:
        stored = fresh.get(Job, job.id)
        assert (stored.title, stored.version) == ("First", 2)


@pytest.mark.parametrize(
    ("job_in", "field", "key"),
    [
        ({"title": ""}, "title", "err.required"),
        ({"title": "   "}, "title", "err.required"),
        ({"title": "x" * 121}, "title", "err.too_long"),
        ({"title": "QA", "headcount": 0}, "headcount", "err.out_of_range"),
        ({"title": "QA", "headcount": 1001}, "headcount", "err.out_of_range"),
        ({"title": "QA", "headcount": "many"}, "headcount", "err.not_a_number"),
        ({"title": "QA", "department": "d" * 81}, "department", "err.too_long"),
        ({}, "title", "err.required"),
    ],
)
def test_a_bad_job_is_refused_with_the_field_and_message(session, make, job_in, field, key) -> None:
    with pytest.raises(ValidationError) as caught:
        jobs.create_job(session=session, actor=make.admin(), job_in=job_in)
    assert field_error(caught, field) == key
    assert session.exec(select(Job)).all() == []


def test_a_title_of_120_characters_is_accepted(session, make) -> None:
    assert len(make.job(title="职" * 120).title) == 120


@pytest.mark.parametrize(
    ("job_in", "field", "key"),
    [
        ({"title": ""}, "title", "err.required"),
        ({"title": "x" * 121}, "title", "err.too_long"),
        ({"headcount": 0}, "headcount", "err.out_of_range"),
        ({"status": "archived"}, "status", "err.choice_invalid"),
        ({"title": None}, "title", "err.required"),
        ({"headcount": None}, "headcount", "err.required"),
    ],
)
def test_a_bad_edit_is_refused_with_the_field_and_leaves_the_job_alone(session, make, job_in, field, key) -> None:
    admin = make.admin()
    job = make.job(actor=admin, title="Designer", headcount=2)
    with pytest.raises(ValidationError) as caught:
        jobs.update_job(session=session, actor=admin, job_id=job.id, version=1, job_in=job_in)
    assert field_error(caught, field) == key
    session.expire_all()
    stored = session.get(Job, job.id)
    assert (stored.title, stored.headcount, stored.version) == ("Designer", 2, 1)


def test_emptied_optional_text_fields_are_saved_as_empty_text(session, make) -> None:
    admin = make.admin()
    job = make.job(actor=admin, department="研发", location="上海", description="old")
    saved = jobs.update_job(
        session=session,
        actor=admin,
        job_id=job.id,
        version=1,
        job_in={"department": None, "location": "  ", "description": None},
    )
    assert (saved.department, saved.location, saved.description) == ("", "", "")


def test_a_hiring_manager_cannot_open_another_managers_job(make, session) -> None:
    mine, theirs = make.user("hiring_manager"), make.user("hiring_manager")
    job = make.job(hiring_manager_id=theirs.id)
    with pytest.raises(NotFound):
        jobs.get_job(session=session, actor=mine, job_id=job.id)
    assert jobs.get_job(session=session, actor=theirs, job_id=job.id).id == job.id
