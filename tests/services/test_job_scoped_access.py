"""A hiring manager sees only what belongs to the jobs they manage, and only while they hold the role (issue 8,
security 3): a shared candidate's other applications, stage reasons, audit, mail and contacts stay hidden; the
filters reach only their jobs; a removed role ends access at once, even for a tab holding the old user object;
reminders and My tasks skip people who no longer hold the role they were for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.candidate import Application, Candidate
from models.common import Stage
from models.followup import Contact
from models.job import Job
from models.mail import Reminder
from models.user import User
from services.evaluate import evaluation
from services.follow_up import followup
from services.mail.reminders import run_digests, run_reminders
from services.mail.tasks import my_tasks
from services.pipeline import candidates
from services.pipeline.candidates import move_stage
from services.platform import users
from services.platform.errors import NotAllowed
from tests.factories import Factory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass
class Shared:
    admin: User
    recruiter: User
    manager_a: User
    manager_b: User
    job_a: Job
    job_b: Job
    candidate: Candidate
    app_a: Application
    app_b: Application


@pytest.fixture
def shared(session: Session, make: Factory, frozen_clock) -> Shared:
    """张伟 applied to job A (manager A) and job B (manager B); B rejected him with a reason and mailed him."""
    admin = make.admin()
    recruiter = make.user("recruiter", email="owner@example.com")
    manager_a = make.user("hiring_manager,interviewer", email="a@example.com")
    manager_b = make.user("hiring_manager", email="b@example.com")
    job_a = make.job(actor=admin, title="Job A", hiring_manager_id=manager_a.id)
    job_b = make.job(actor=admin, title="Job B", hiring_manager_id=manager_b.id)
    cand = make.candidate(actor=recruiter, job=job_a, name="张伟", email="zhang@example.com")
    app_b = make.application(candidate=cand, job=job_b, actor=recruiter)
    move_stage(
        session=session, actor=manager_b, application_id=app_b.id, to_stage=Stage.rejected, reason="B-secret reason"
    )
    followup.prepare_candidate_mail(session=session, actor=recruiter, application_id=app_b.id, template="survey_invite")
    app_a = session.exec(select(Application).where(Application.job_id == job_a.id)).one()
    for app in (app_a, app_b, None):
        followup.log_contact(
            session=session,
            actor=recruiter,
            contact_in={
                "candidate_id": cand.id,
                "application_id": app.id if app else None,
                "channel": "phone",
                "direction": "outbound",
                "outcome": "reached",
                "summary": f"about {app.job_id if app else 'nothing'}",
            },
        )
    session.commit()  # the world is saved, as the pages that made it would have
    return Shared(admin, recruiter, manager_a, manager_b, job_a, job_b, cand, app_a, app_b)


def remove_role_elsewhere(engine: Engine, user: User, roles: str = "interviewer", active: bool = True) -> None:
    """An admin changes the user in another server process: the test's `user` object keeps the old roles."""
    with Session(engine) as other:
        other.exec(update(User).where(User.id == user.id).values(roles=roles, is_active=active))  # type: ignore
        other.commit()


# --------------------------------------------------------------------------- candidate detail and search
def test_a_hiring_manager_sees_only_the_applications_stages_audit_and_mail_of_their_own_jobs(session, shared):
    detail = candidates.get_candidate_detail(session=session, actor=shared.manager_a, candidate_id=shared.candidate.id)
    assert [a.job for a in detail.applications] == ["Job A"]
    assert {row.job for row in detail.timeline} == {"Job A"}
    assert "B-secret reason" not in repr(detail.timeline) + repr(detail.audit)
    from services.platform import audit

    assert detail.audit == audit.list_audit(session=session, entity="application", entity_id=shared.app_a.id)
    assert detail.mail == []
    # The recruiter (and manager B for job B) still see everything that is theirs.
    full = candidates.get_candidate_detail(session=session, actor=shared.recruiter, candidate_id=shared.candidate.id)
    assert [a.job for a in full.applications] == ["Job A", "Job B"]
    assert len(full.mail) == 1 and "B-secret reason" in repr(full.timeline)
    mine_b = candidates.get_candidate_detail(session=session, actor=shared.manager_b, candidate_id=shared.candidate.id)
    assert [a.job for a in mine_b.applications] == ["Job B"]
    assert [m.application_id for m in mine_b.mail] == [shared.app_b.id]


def test_a_hiring_managers_search_shows_and_filters_only_their_own_jobs(session, shared):
    found = candidates.search_candidates(session=session, actor=shared.manager_a)
    assert [r["applications"] for r in found.rows] == [[("Job A", "interviewing")]]
    # Filtering by another manager's job or by a stage reached there reveals nothing.
    assert candidates.search_candidates(session=session, actor=shared.manager_a, job_id=shared.job_b.id).total == 0
    assert candidates.search_candidates(session=session, actor=shared.manager_a, stage=Stage.rejected).total == 0
    assert candidates.search_candidates(session=session, actor=shared.manager_a, stage=Stage.interviewing).total == 1
    assert candidates.search_candidates(session=session, actor=shared.recruiter, stage=Stage.rejected).total == 1


def test_the_job_filter_offers_a_hiring_manager_only_their_own_jobs(session, shared):
    assert [j.title for j in candidates.filter_jobs(session=session, actor=shared.manager_a)] == ["Job A"]
    assert [j.title for j in candidates.filter_jobs(session=session, actor=shared.recruiter)] == ["Job A", "Job B"]
    with pytest.raises(NotAllowed):
        candidates.filter_jobs(session=session, actor=Factory(session).user("interviewer"))


# --------------------------------------------------------------------------- contacts
def test_list_contacts_shows_a_hiring_manager_only_the_contacts_about_their_jobs(session, shared, make):
    mine = followup.list_contacts(session=session, actor=shared.manager_a, candidate_id=shared.candidate.id)
    assert [c.application_id for c, _ in mine] == [shared.app_a.id]
    everything = followup.list_contacts(session=session, actor=shared.recruiter, candidate_id=shared.candidate.id)
    assert len(everything) == 3
    stranger = make.user("hiring_manager")
    with pytest.raises(NotAllowed):
        followup.list_contacts(session=session, actor=stranger, candidate_id=shared.candidate.id)
    assert session.exec(select(Contact)).all()  # nothing changed by looking


# --------------------------------------------------------------------------- a removed role ends access at once
def test_a_hiring_manager_whose_role_was_removed_is_refused_even_through_an_old_user_object(engine, session, shared):
    remove_role_elsewhere(engine, shared.manager_a)
    stale = shared.manager_a  # what a browser tab still holds
    with pytest.raises(NotAllowed):
        candidates.get_candidate_detail(session=session, actor=stale, candidate_id=shared.candidate.id)
    with pytest.raises(NotAllowed):
        candidates.search_candidates(session=session, actor=stale)
    with pytest.raises(NotAllowed):
        followup.list_contacts(session=session, actor=stale, candidate_id=shared.candidate.id)
    with pytest.raises(NotAllowed):
        evaluation.debrief(session=session, actor=stale, application_id=shared.app_a.id)


def test_a_deactivated_person_is_refused_through_an_old_user_object(engine, session, shared):
    remove_role_elsewhere(engine, shared.recruiter, roles="recruiter", active=False)
    with pytest.raises(NotAllowed):
        candidates.get_candidate_detail(session=session, actor=shared.recruiter, candidate_id=shared.candidate.id)
    with pytest.raises(NotAllowed):
        my_tasks(session=session, actor=shared.recruiter)


def test_a_former_hiring_manager_no_longer_reads_the_debriefs_of_the_job_they_still_appear_on(session, shared):
    assert evaluation.debrief(session=session, actor=shared.manager_a, application_id=shared.app_a.id)
    users.update_user(
        session=session, actor=shared.admin, user_id=shared.manager_a.id, user_in={"roles": ["interviewer"]}
    )
    assert session.get(Job, shared.job_a.id).hiring_manager_id == shared.manager_a.id  # still named on the job
    with pytest.raises(NotAllowed):
        evaluation.debrief(session=session, actor=shared.manager_a, application_id=shared.app_a.id)
    assert not evaluation.can_see_peers(session=session, actor=shared.manager_a, application_id=shared.app_a.id)


# --------------------------------------------------------------------------- reminders and My tasks
@pytest.fixture
def settings(monkeypatch):
    from tests.services.mail_server import configure_mail

    return configure_mail(monkeypatch, 2525, stale_application_days=7, digest_hour=8, timezone="Asia/Shanghai")


def test_reminders_skip_an_owner_who_is_no_longer_a_recruiter(engine, session, make, settings, frozen_clock):
    owner = make.user("recruiter")
    kept = make.user("recruiter")
    job = make.job()
    make.candidate(actor=owner, job=job, name="离职负责人的候选人")
    make.candidate(actor=kept, job=job, name="在职负责人的候选人")
    users.update_user(session=session, actor=make.admin(), user_id=owner.id, user_in={"roles": ["interviewer"]})
    session.commit()
    assert run_reminders(engine=engine, now=T0 + 7 * DAY, settings=settings)["stale_application"] == 1
    assert {r.user_id for r in session.exec(select(Reminder))} == {kept.id}


def test_a_digest_drops_reminders_of_a_role_the_reader_lost_meanwhile(engine, session, make, settings, frozen_clock):
    owner = make.user("recruiter")
    users.set_reminder_mode(session=session, actor=owner, mode="digest")
    make.candidate(actor=owner, job=make.job(), name="张伟")
    assert run_reminders(engine=engine, now=T0 + 7 * DAY, settings=settings)["stale_application"] == 1
    remove_role_elsewhere(engine, owner, roles="interviewer")
    assert run_digests(engine=engine, now=T0 + 8 * DAY, settings=settings) == 0


def test_my_tasks_drop_the_work_of_a_role_the_person_lost(engine, session, shared, make):
    move_stage(session=session, actor=shared.recruiter, application_id=shared.app_a.id, to_stage=Stage.decision_pending)
    session.commit()
    assert [t.kind for t in my_tasks(session=session, actor=shared.manager_a)] == ["decision_waiting"]
    remove_role_elsewhere(engine, shared.manager_a, roles="interviewer")
    assert my_tasks(session=session, actor=shared.manager_a) == []

    pooler = make.user("recruiter")
    followup.add_to_pool(
        session=session,
        actor=pooler,
        entry_in={
            "candidate_id": shared.candidate.id,
            "reason": "strong",
            "job_family": "eng",
            "revisit_on": (T0 + DAY).date(),
        },
    )
    session.commit()
    assert [t.kind for t in my_tasks(session=session, actor=pooler)] == ["pool_revisit"]
    remove_role_elsewhere(engine, pooler, roles="interviewer")
    assert my_tasks(session=session, actor=pooler) == []
