"""What a hiring manager finds on My tasks, and list-length messages."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models.candidate import Application
from services.follow_up import followup
from services.mail import tasks
from services.pipeline import candidates
from services.platform.errors import ValidationError


def test_a_hiring_manager_sees_applications_waiting_for_their_decision(make, session, frozen_clock) -> None:
    manager, other = make.user("hiring_manager"), make.user("hiring_manager")
    recruiter = make.user("recruiter")
    job = make.job(hiring_manager_id=manager.id)
    make.candidate(actor=recruiter, job=job, name="王芳")
    app = session.exec(select(Application)).one()
    candidates.move_stage(session=session, actor=recruiter, application_id=app.id, to_stage="decision_pending")

    mine = [t for t in tasks.my_tasks(session=session, actor=manager) if t.kind == "decision_waiting"]
    assert [(t.params["name"], t.query) for t in mine] == [("王芳", {"application": str(app.id)})]
    assert not [t for t in tasks.my_tasks(session=session, actor=other) if t.kind == "decision_waiting"]


def test_too_many_competing_offers_are_refused_with_a_count_message(make, session) -> None:
    recruiter = make.user("recruiter")
    make.candidate(actor=recruiter, job=make.job())
    app = session.exec(select(Application)).one()
    offers = [{"company": f"Co {n}"} for n in range(11)]
    with pytest.raises(ValidationError) as caught:
        followup.record_intent(
            session=session, actor=recruiter, intent_in={"application_id": app.id, "interest": 3, "offers": offers}
        )
    assert caught.value.fields == {"offers": ("err.too_many", {"max": 10})}


def test_a_hiring_managers_next_contact_task_opens_the_candidate_page_they_can_reach(make, session) -> None:
    from datetime import timedelta

    from models.common import utcnow

    manager = make.user("hiring_manager")
    recruiter = make.user("recruiter")
    job = make.job(hiring_manager_id=manager.id)
    cand = make.candidate(actor=recruiter, job=job)
    app = session.exec(select(Application)).one()
    followup.log_contact(
        session=session,
        actor=manager,
        contact_in={
            "candidate_id": cand.id,
            "application_id": app.id,
            "channel": "phone",
            "outcome": "reached",
            "summary": "谈了团队情况",
            "next_contact_at": utcnow() + timedelta(hours=2),
        },
    )
    found = [t for t in tasks.my_tasks(session=session, actor=manager) if t.kind == "next_contact"]
    assert [(t.page, t.query) for t in found] == [("pages/candidates.py", {"id": str(cand.id)})]
