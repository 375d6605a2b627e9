"""Every public service function, called as every kind of user, does what services.platform.policy says — no more.

One small world (a job with its hiring manager, a candidate applying to it, an interview with one panelist, a
draft, a held and a failed mail) is made per function; each kind of user then calls the function in a
session that is rolled back afterwards (services never commit), so one call never sees another's change.

Allowed means the call returns; refused means it raises NotAllowed or NotFound (a record out of one's scope
is refused as if it did not exist). Listing functions held in the JOB scope filter instead of refusing.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import services
from models.common import Role, utcnow
from models.mail import MailStatus, OutboxMessage
from models.user import User
from services.evaluate import evaluation
from services.mail import outbox as mail
from services.pipeline import candidates, jobs
from services.platform.errors import NotAllowed, NotFound
from services.platform.policy import CAPABILITIES, OPEN_TO_ROLELESS, PAGES, SERVICES, STEPS, Cap, Scope
from tests import factories

# The services folder by screen (STYLE.md): each module by the last part of its dotted name.
MODULE_PATHS = {
    info.name.rsplit(".", 1)[-1]: info.name for info in pkgutil.walk_packages(services.__path__, "services.")
} | {"mail": "services.mail.outbox"}
MODULES = (
    "audit",
    "auth",
    "candidates",
    "evaluation",
    "followup",
    "importer",
    "interview_import",
    "interview_invites",
    "jobs",
    "mail",
    "tasks",
    "users",
)

# Kinds of user: their roles, and how they stand to the world's job and interview.
KINDS: dict[str, dict[str, Any]] = {
    "admin": {"roles": "admin"},
    "recruiter": {"roles": "recruiter"},
    "manager": {"roles": "hiring_manager", "manages_job": True},
    "other_manager": {"roles": "hiring_manager"},
    "panelist": {"roles": "interviewer", "on_panel": True},
    "interviewer": {"roles": "interviewer"},
    "demoted": {"roles": "admin,recruiter", "demote_to": "interviewer"},
    "deactivated": {"roles": "admin,recruiter", "is_active": False},
    "roleless": {"roles": ""},
}

# Listing functions: out of scope they return less, they do not refuse.
LISTS = {
    "candidates.search_candidates",
    "candidates.filter_jobs",
    "jobs.list_jobs",
    "followup.survey_summary",
    "followup.survey_overall",
}


def expected_allowed(kind: str, name: str) -> bool:
    """What the policy table says `kind` may do with `name` in the world below."""
    spec = KINDS[kind]
    if spec.get("is_active") is False:
        return False
    if name in OPEN_TO_ROLELESS:
        return True
    roles = (spec.get("demote_to") or spec["roles"]).split(",")
    rules = CAPABILITIES[SERVICES[name]]
    for role in filter(None, roles):
        scope = rules.get(Role(role))
        if scope is None:
            continue
        if scope == Scope.ANY:
            return True
        if scope == Scope.JOB and (spec.get("manages_job") or name in LISTS):
            return True
        if scope == Scope.PANEL and spec.get("on_panel"):
            return True
        # PANEL_SUBMITTED: the world's panelist has not submitted, so no kind has it here.
    return False


@dataclass
class World:
    users: dict[str, User]
    job_id: int
    other_job_id: int
    candidate_id: int
    application_id: int
    interview_id: int
    interview_version: int
    round_id: int
    criterion_id: int
    draft_id: int
    held_id: int
    failed_id: int


def build_world(session: Session) -> World:
    make = factories.Factory(session)
    boss = make.user("admin,recruiter", email="boss@example.com")
    users = {
        kind: make.user(spec["roles"], email=f"{kind}@example.com", is_active=spec.get("is_active", True))
        for kind, spec in KINDS.items()
    }
    job = make.job(actor=boss, hiring_manager_id=users["manager"].id)
    other_job = make.job(actor=boss, hiring_manager_id=users["other_manager"].id)
    person = make.candidate(actor=boss, job=job, email="person@example.com")
    detail = candidates.get_candidate_detail(session=session, actor=boss, candidate_id=person.id)
    application = detail.applications[0].application
    rounds = evaluation.list_rounds(session=session, actor=boss)
    if not rounds:
        evaluation.ensure_default_rounds(session=session)
        rounds = evaluation.list_rounds(session=session, actor=boss)
    first = rounds[0]
    criterion = evaluation.criteria_for(session=session, round_id=first.id, job_id=job.id)[0]
    ends = utcnow() - timedelta(hours=1)
    interview = evaluation.schedule_interview(
        session=session,
        actor=boss,
        interview_in={
            "application_id": application.id,
            "round_id": first.id,
            "starts_at": ends - timedelta(hours=1),
            "ends_at": ends,
            "mode": "video",
            "location": "room 1",
            "interviewer_ids": [users["panelist"].id],
        },
    )
    draft = mail.queue_mail(
        session=session,
        to="person@example.com",
        subject="Draft",
        html="<p>x</p>",
        text="x",
        key="matrix-draft",
        candidate_id=person.id,
        application_id=application.id,
        draft=True,
    )
    held = mail.queue_mail(
        session=session,
        to="person@example.com",
        subject="Held",
        html="<p>x</p>",
        text="x",
        key="matrix-held",
        candidate_id=person.id,
    )
    failed = mail.queue_mail(
        session=session,
        to="person@example.com",
        subject="Failed",
        html="<p>x</p>",
        text="x",
        key="matrix-failed",
        candidate_id=person.id,
    )
    failed.status = MailStatus.failed
    session.add(failed)
    session.commit()
    demoted = users["demoted"]
    demoted.roles = KINDS["demoted"]["demote_to"]
    session.add(demoted)
    session.commit()
    return World(
        users=users,
        job_id=job.id,
        other_job_id=other_job.id,
        candidate_id=person.id,
        application_id=application.id,
        interview_id=interview.id,
        interview_version=interview.version,
        round_id=first.id,
        criterion_id=criterion.id,
        draft_id=draft.id,
        held_id=held.id,
        failed_id=failed.id,
    )


Call = Callable[[Session, User, World], Any]
TODAY = date(2026, 12, 1)

CALLS: dict[str, Call] = {
    "candidates.search_candidates": lambda s, a, w: candidates.search_candidates(session=s, actor=a),
    "candidates.get_candidate_detail": lambda s, a, w: candidates.get_candidate_detail(
        session=s, actor=a, candidate_id=w.candidate_id
    ),
    "candidates.filter_jobs": lambda s, a, w: candidates.filter_jobs(session=s, actor=a),
    "candidates.create_candidate": lambda s, a, w: candidates.create_candidate(
        session=s, actor=a, candidate_in={"name": "新人 New", "email": "new@example.com"}
    ),
    "candidates.update_candidate": lambda s, a, w: candidates.update_candidate(
        session=s,
        actor=a,
        candidate_id=w.candidate_id,
        candidate_in={
            "name": "改名 Renamed",
            "email": "person@example.com",
            "version": candidates.get_candidate_detail(
                session=s, actor=w.users["admin"], candidate_id=w.candidate_id
            ).candidate.version,
        },
    ),
    "candidates.add_application": lambda s, a, w: candidates.add_application(
        session=s, actor=a, candidate_id=w.candidate_id, job_id=w.other_job_id
    ),
    "candidates.export_candidates_csv": lambda s, a, w: list(candidates.export_candidates_csv(session=s, actor=a)),
    "candidates.move_stage": lambda s, a, w: candidates.move_stage(
        session=s, actor=a, application_id=w.application_id, to_stage="decision_pending"
    ),
    "importer.import_candidates": lambda s, a, w: _import_candidates(s, a),
    "importer.load_mapping": lambda s, a, w: importlib.import_module("services.pipeline.importer").load_mapping(
        session=s, actor=a, header=["候选人姓名", "手机"]
    ),
    "importer.save_mapping": lambda s, a, w: importlib.import_module("services.pipeline.importer").save_mapping(
        session=s, actor=a, header=["候选人姓名", "手机"], mapping=["name", "phone"]
    ),
    "jobs.list_jobs": lambda s, a, w: jobs.list_jobs(session=s, actor=a),
    "jobs.get_job": lambda s, a, w: jobs.get_job(session=s, actor=a, job_id=w.job_id),
    "jobs.create_job": lambda s, a, w: jobs.create_job(session=s, actor=a, job_in={"title": "New job"}),
    "jobs.update_job": lambda s, a, w: jobs.update_job(
        session=s,
        actor=a,
        job_id=w.job_id,
        version=jobs.get_job(session=s, actor=w.users["admin"], job_id=w.job_id).version,
        job_in={"title": "Renamed job"},
    ),
    "evaluation.list_rounds": lambda s, a, w: evaluation.list_rounds(session=s, actor=a),
    "evaluation.save_round": lambda s, a, w: evaluation.save_round(
        session=s, actor=a, round_in={"name_zh": "终面", "name_en": "Final", "bar": 3.5, "position": 9}
    ),
    "evaluation.save_criterion": lambda s, a, w: evaluation.save_criterion(
        session=s, actor=a, round_id=w.round_id, criterion_in={"name_zh": "学习能力", "name_en": "Learning"}
    ),
    "evaluation.remove_criterion": lambda s, a, w: evaluation.remove_criterion(
        session=s, actor=a, criterion_id=w.criterion_id
    ),
    "evaluation.schedule_interview": lambda s, a, w: evaluation.schedule_interview(
        session=s,
        actor=a,
        interview_in={
            "application_id": w.application_id,
            "round_id": w.round_id,
            "starts_at": utcnow() + timedelta(days=2),
            "ends_at": utcnow() + timedelta(days=2, hours=1),
            "interviewer_ids": [w.users["interviewer"].id],
        },
    ),
    "evaluation.reschedule_interview": lambda s, a, w: evaluation.reschedule_interview(
        session=s,
        actor=a,
        interview_id=w.interview_id,
        version=w.interview_version,
        interview_in={
            "application_id": w.application_id,
            "round_id": w.round_id,
            "starts_at": utcnow() + timedelta(days=3),
            "ends_at": utcnow() + timedelta(days=3, hours=1),
            "interviewer_ids": [w.users["panelist"].id],
        },
    ),
    "evaluation.set_interview_status": lambda s, a, w: evaluation.set_interview_status(
        session=s, actor=a, interview_id=w.interview_id, status="no_show", reason="没来 / did not come"
    ),
    "evaluation.list_interviews": lambda s, a, w: evaluation.list_interviews(
        session=s, actor=a, start=utcnow() - timedelta(days=7), end=utcnow() + timedelta(days=7)
    ),
    "evaluation.schedulable_applications": lambda s, a, w: evaluation.schedulable_applications(session=s, actor=a),
    "evaluation.prepare_interview_confirmation": lambda s, a, w: evaluation.prepare_interview_confirmation(
        session=s, actor=a, interview_id=w.interview_id
    ),
    "evaluation.interview_confirmation_drafts": lambda s, a, w: evaluation.interview_confirmation_drafts(
        session=s, actor=a, interview_id=w.interview_id
    ),
    "interview_import.import_interviews": lambda s, a, w: _import_interviews(s, a, w),
    "evaluation.my_interviews": lambda s, a, w: evaluation.my_interviews(session=s, actor=a),
    "evaluation.open_scorecard": lambda s, a, w: evaluation.open_scorecard(
        session=s, actor=a, interview_id=w.interview_id
    ),
    "evaluation.save_scorecard": lambda s, a, w: evaluation.save_scorecard(
        session=s, actor=a, interview_id=w.interview_id, scorecard_in={"strengths": "清楚 / clear"}
    ),
    "evaluation.can_see_peers": lambda s, a, w: evaluation.can_see_peers(
        session=s, actor=a, application_id=w.application_id
    ),
    "evaluation.debrief": lambda s, a, w: evaluation.debrief(session=s, actor=a, application_id=w.application_id),
    "evaluation.record_decision": lambda s, a, w: evaluation.record_decision(
        session=s,
        actor=a,
        application_id=w.application_id,
        decision_in={"kind": "hold", "reason_code": "needs_more_signal"},
    ),
    "followup.follow_up_board": lambda s, a, w: _followup().follow_up_board(session=s, actor=a),
    "followup.board_counts": lambda s, a, w: _followup().board_counts(session=s, actor=a),
    "followup.latest_intent": lambda s, a, w: _followup().latest_intent(
        session=s, actor=a, application_id=w.application_id
    ),
    "followup.pool_entry": lambda s, a, w: _followup().pool_entry(session=s, actor=a, candidate_id=w.candidate_id),
    "followup.survey_overall": lambda s, a, w: _followup().survey_overall(session=s, actor=a),
    "followup.count_pool": lambda s, a, w: _followup().count_pool(session=s, actor=a),
    "followup.poolable_candidates": lambda s, a, w: _followup().poolable_candidates(session=s, actor=a),
    "mail.save_draft": lambda s, a, w: mail.save_draft(
        session=s, actor=a, message_id=w.draft_id, subject="改过 / Edited", text="正文 / Body"
    ),
    "mail.drafts_waiting_for": lambda s, a, w: mail.drafts_waiting_for(session=s, actor=a),
    "followup.log_contact": lambda s, a, w: _followup().log_contact(
        session=s,
        actor=a,
        contact_in={
            "candidate_id": w.candidate_id,
            "application_id": w.application_id,
            "channel": "phone",
            "outcome": "reached",
            "summary": "聊过 / talked",
        },
    ),
    "followup.list_contacts": lambda s, a, w: _followup().list_contacts(
        session=s, actor=a, candidate_id=w.candidate_id
    ),
    "followup.record_intent": lambda s, a, w: _followup().record_intent(
        session=s, actor=a, intent_in={"application_id": w.application_id, "interest": 4}
    ),
    "followup.intent_history": lambda s, a, w: _followup().intent_history(
        session=s, actor=a, application_id=w.application_id
    ),
    "followup.risk_of": lambda s, a, w: _followup().risk_of(session=s, actor=a, application_id=w.application_id),
    "followup.prepare_candidate_mail": lambda s, a, w: _followup().prepare_candidate_mail(
        session=s, actor=a, application_id=w.application_id, template="thank_you"
    ),
    "followup.drafts_for_application": lambda s, a, w: _followup().drafts_for_application(
        session=s, actor=a, application_id=w.application_id
    ),
    "followup.survey_summary": lambda s, a, w: _followup().survey_summary(session=s, actor=a),
    "followup.add_to_pool": lambda s, a, w: _followup().add_to_pool(
        session=s,
        actor=a,
        entry_in={
            "candidate_id": w.candidate_id,
            "reason": "好苗子 / promising",
            "revisit_on": TODAY + timedelta(days=90),
        },
    ),
    "followup.remove_from_pool": lambda s, a, w: _pool_then(
        s, w, lambda: _followup().remove_from_pool(session=s, actor=a, candidate_id=w.candidate_id)
    ),
    "followup.search_pool": lambda s, a, w: _followup().search_pool(session=s, actor=a),
    "followup.job_families": lambda s, a, w: _followup().job_families(session=s, actor=a),
    "followup.prepare_reengagement_mail": lambda s, a, w: _pool_then(
        s, w, lambda: _followup().prepare_reengagement_mail(session=s, actor=a, candidate_id=w.candidate_id)
    ),
    "followup.pool_drafts": lambda s, a, w: _followup().pool_drafts(session=s, actor=a, candidate_id=w.candidate_id),
    "mail.list_outbox": lambda s, a, w: mail.list_outbox(session=s, actor=a),
    "mail.worker_heartbeats": lambda s, a, w: mail.worker_heartbeats(session=s, actor=a),
    "mail.get_message": lambda s, a, w: mail.get_message(session=s, actor=a, message_id=w.held_id),
    "mail.retry_message": lambda s, a, w: mail.retry_message(session=s, actor=a, message_id=w.failed_id),
    "mail.cancel_message": lambda s, a, w: mail.cancel_message(session=s, actor=a, message_id=w.held_id),
    "mail.send_draft": lambda s, a, w: mail.send_draft(
        session=s, actor=a, message_id=w.draft_id, subject="谢谢 / Thank you", text="正文 / Body"
    ),
    "mail.discard_draft": lambda s, a, w: mail.discard_draft(session=s, actor=a, message_id=w.draft_id),
    "mail.queue_test_message": lambda s, a, w: mail.queue_test_message(session=s, actor=a, to="ops@example.com"),
    "tasks.my_tasks": lambda s, a, w: _tasks().my_tasks(session=s, actor=a),
    "users.list_users": lambda s, a, w: _users().list_users(session=s, actor=a),
    "users.create_user": lambda s, a, w: _users().create_user(
        session=s,
        actor=a,
        user_in={
            "email": "hire@example.com",
            "name": "New colleague",
            "roles": ["interviewer"],
            "password": "a-long-enough-password-1",
        },
    ),
    "users.update_user": lambda s, a, w: _users().update_user(
        session=s, actor=a, user_id=w.users["interviewer"].id, user_in={"name": "Renamed colleague"}
    ),
    "users.set_password": lambda s, a, w: _users().set_password(
        session=s, actor=a, user_id=w.users["interviewer"].id, password="another-long-password-2"
    ),
    "users.set_language": lambda s, a, w: _users().set_language(session=s, actor=a, language="en"),
    "users.set_reminder_mode": lambda s, a, w: _users().set_reminder_mode(session=s, actor=a, mode="digest"),
}


def _followup():  # the module, imported late so its reminder rules register with tasks first
    return importlib.import_module("services.follow_up.followup")


def _tasks():
    return importlib.import_module("services.mail.tasks")


def _users():
    return importlib.import_module("services.platform.users")


def _import_candidates(s: Session, actor: User) -> Any:
    importer = importlib.import_module("services.pipeline.importer")
    return importer.import_candidates(
        session=s, actor=actor, rows=[{"name": "导入 Imported", "email": "imported@example.com"}]
    )


def _import_interviews(s: Session, actor: User, w: World) -> Any:
    module = importlib.import_module("services.evaluate.interview_import")
    return module.import_interviews(session=s, actor=actor, rows=[])


def _pool_then(s: Session, w: World, call: Callable[[], Any]) -> Any:
    """Put the world's candidate in the pool (as the admin, in this rolled-back session), then `call`."""
    _followup().add_to_pool(
        session=s,
        actor=w.users["admin"],
        entry_in={
            "candidate_id": w.candidate_id,
            "reason": "好苗子 / promising",
            "revisit_on": TODAY + timedelta(days=90),
        },
    )
    return call()


def public_service_functions() -> set[str]:
    """Every public function in the services that takes an `actor`: what a signed-in person can make happen."""
    names = set()
    for module_name in MODULES:
        module = importlib.import_module(MODULE_PATHS[module_name])
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if (
                fn.__module__ == module.__name__
                and not name.startswith("_")
                and "actor" in inspect.signature(fn).parameters
            ):
                names.add(f"{module_name}.{name}")
    return names - STEPS


def test_every_public_service_function_is_in_the_policy_table_and_the_matrix() -> None:
    functions = public_service_functions()
    assert functions - set(SERVICES) == set(), "public service functions without a rule in services.platform.policy"
    assert set(SERVICES) - functions == set(), "rules in services.platform.policy for functions that do not exist"
    assert set(CALLS) == set(SERVICES), "every rule needs a call in this test's matrix"


def test_no_page_calls_a_step_that_checks_nobody() -> None:
    """The steps in services.platform.policy.STEPS trust their caller; only services may call them."""
    root = Path(__file__).resolve().parents[2]
    sources = [p for folder in ("pages", "ui") for p in (root / folder).glob("*.py")] + [root / "app.py"]
    called = {step for step in STEPS for src in sources if step.split(".")[1] + "(" in src.read_text("utf-8")}
    assert called == set()


def test_every_capability_is_held_by_someone_and_used() -> None:
    assert set(CAPABILITIES) == set(Cap)
    assert all(CAPABILITIES[cap] for cap in Cap)
    assert set(SERVICES.values()) == set(Cap), "a capability that no service function needs"
    assert {page.cap for page in PAGES} <= set(Cap)


def _outcome(engine: Engine, world: World, kind: str, name: str) -> str:
    with Session(engine, expire_on_commit=False) as session:  # services never commit: rolled back below
        actor = session.exec(select(User).where(User.email == f"{kind}@example.com")).one()
        try:
            CALLS[name](session, actor, world)
        except (NotAllowed, NotFound):
            return "refused"
        finally:
            session.rollback()
    return "allowed"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_answers_every_kind_of_user_as_the_policy_says(engine: Engine, frozen_clock: Any, name: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        world = build_world(session)
    wrong = {}
    for kind in KINDS:
        want = "allowed" if expected_allowed(kind, name) else "refused"
        got = _outcome(engine, world, kind, name)
        if got != want:
            wrong[kind] = f"{got}, policy says {want}"
    assert wrong == {}


def test_a_held_draft_and_failed_mail_exist_in_the_world(engine: Engine, frozen_clock: Any) -> None:
    with Session(engine, expire_on_commit=False) as session:
        world = build_world(session)
        statuses = {m.id: m.status for m in session.exec(select(OutboxMessage)).all()}
    assert statuses[world.draft_id] == MailStatus.draft
    assert statuses[world.failed_id] == MailStatus.failed


# --------------------------------------------------------------------------- onboarding plans (issue 11, plans part)
def _plans():
    return importlib.import_module("services.onboard.plans")


def _plan(s: Session, w: World) -> Any:
    """An onboarding plan for the world's application (made as the admin, in this rolled-back session): the
    application moved to offer, an accepted offer, the plan started from the default template."""
    from models.onboard import Offer, OfferCreate, OfferStatus

    admin = w.users["admin"]
    for stage in ("decision_pending", "offer"):
        candidates.move_stage(session=s, actor=admin, application_id=w.application_id, to_stage=stage)
    fields = OfferCreate.model_validate(
        {
            "application_id": w.application_id,
            "job_title": "Engineer",
            "salary_amount": "30000",
            "start_date": TODAY + timedelta(days=30),
            "response_deadline": TODAY + timedelta(days=7),
        }
    )
    offer = Offer.model_validate(fields.model_dump() | {"status": OfferStatus.accepted, "created_by_id": admin.id})
    s.add(offer)
    s.flush()
    return _plans().start_onboarding(session=s, offer=offer, actor=admin)


def _template(s: Session, w: World) -> Any:
    return _plans().list_templates(session=s, actor=w.users["admin"])[0]


def _first_task(s: Session, template: Any) -> int:
    from models.onboard import TemplateTask

    return s.exec(select(TemplateTask.id).where(TemplateTask.template_id == template.id)).first() or 0


def _plan_task(s: Session, w: World, role: str) -> int:
    from models.onboard import PlanTask

    plan = _plan(s, w)
    return s.exec(select(PlanTask.id).where(PlanTask.plan_id == plan.id, PlanTask.owner_role == role)).first() or 0


def _started(plan: Any) -> Any:
    """The plan with its new hire started yesterday: check-ins and the outcome are refused before the start date."""
    plan.start_date = _plans().today() - timedelta(days=1)
    return plan


def _check_in(s: Session, w: World, a: User) -> Any:
    from models.onboard import CheckIn

    plan = _started(_plan(s, w))
    row = s.exec(select(CheckIn).where(CheckIn.plan_id == plan.id)).first()
    return _plans().record_check_in(
        session=s, actor=a, check_in_id=row.id, version=row.version, check_in_in={"rating": 4, "on_track": True}
    )


_TASK_IN = {"title_zh": "准备电脑", "title_en": "Laptop", "owner_role": "recruiter", "due_offset_days": -1}

MODULES = (*MODULES, "plans")
LISTS |= {"plans.list_plans", "plans.plan_people"}
CALLS |= {
    "plans.list_templates": lambda s, a, w: _plans().list_templates(session=s, actor=a),
    "plans.get_template": lambda s, a, w: _plans().get_template(session=s, actor=a, template_id=_template(s, w).id),
    "plans.create_template": lambda s, a, w: _plans().create_template(session=s, actor=a, department="Sales"),
    "plans.save_template": lambda s, a, w: (
        lambda t: _plans().save_template(
            session=s, actor=a, template_id=t.id, version=t.version, settings_in={"checkin_days": "7,30"}
        )
    )(_template(s, w)),
    "plans.add_template_task": lambda s, a, w: (
        lambda t: _plans().add_template_task(session=s, actor=a, template_id=t.id, version=t.version, task_in=_TASK_IN)
    )(_template(s, w)),
    "plans.update_template_task": lambda s, a, w: (
        lambda t: _plans().update_template_task(
            session=s, actor=a, task_id=_first_task(s, t), version=t.version, task_in=_TASK_IN
        )
    )(_template(s, w)),
    "plans.remove_template_task": lambda s, a, w: (
        lambda t: _plans().remove_template_task(session=s, actor=a, task_id=_first_task(s, t), version=t.version)
    )(_template(s, w)),
    "plans.move_template_task": lambda s, a, w: (
        lambda t: _plans().move_template_task(
            session=s, actor=a, task_id=_first_task(s, t), version=t.version, up=False
        )
    )(_template(s, w)),
    "plans.attach_template_material": lambda s, a, w: (
        lambda t: _plans().attach_template_material(
            session=s, actor=a, task_id=_first_task(s, t), version=t.version, filename="手册.pdf", content=b"%PDF-1.4"
        )
    )(_template(s, w)),
    "plans.list_plans": lambda s, a, w: (_plan(s, w), _plans().list_plans(session=s, actor=a)),
    "plans.plan_detail": lambda s, a, w: _plans().plan_detail(session=s, actor=a, plan_id=_plan(s, w).id),
    "plans.plan_people": lambda s, a, w: _plans().plan_people(session=s, actor=a),
    "plans.my_plan_tasks": lambda s, a, w: (_plan(s, w), _plans().my_plan_tasks(session=s, actor=a)),
    "plans.move_start_date": lambda s, a, w: (
        lambda p: _plans().move_start_date(
            session=s, actor=a, plan_id=p.id, version=p.version, start_date=TODAY + timedelta(days=40)
        )
    )(_plan(s, w)),
    "plans.set_buddy": lambda s, a, w: (
        lambda p: _plans().set_buddy(
            session=s, actor=a, plan_id=p.id, version=p.version, buddy_id=w.users["interviewer"].id
        )
    )(_plan(s, w)),
    "plans.cancel_plan": lambda s, a, w: (
        lambda p: _plans().cancel_plan(session=s, actor=a, plan_id=p.id, version=p.version)
    )(_plan(s, w)),
    # a recruiter's task: its owner is the candidate's owner (boss), none of the kinds
    "plans.tick_task": lambda s, a, w: _plans().tick_task(session=s, actor=a, task_id=_plan_task(s, w, "recruiter")),
    "plans.record_check_in": lambda s, a, w: _check_in(s, w, a),
    "plans.record_outcome": lambda s, a, w: (
        lambda p: _plans().record_outcome(
            session=s, actor=a, plan_id=p.id, version=p.version, outcome_in={"outcome": "passed"}
        )
    )(_started(_plan(s, w))),
}


# --------------------------------------------------------------------------- onboard: training sessions (newhire)
MODULES = (*MODULES, "training")


def _newhire_plan(s: Session, w: World) -> Any:
    """The onboarding plan of the world's application (made from rows here, in this rolled-back session)."""
    from models.onboard import Offer, OnboardingPlan

    plan = s.exec(select(OnboardingPlan).where(OnboardingPlan.application_id == w.application_id)).first()
    if plan is not None:
        return plan
    start = TODAY + timedelta(days=14)
    offer = Offer.model_validate(
        {
            "application_id": w.application_id,
            "revision": 99,
            "status": "accepted",
            "job_title": "Engineer",
            "salary_amount": 1000,
            "start_date": start,
            "response_deadline": start - timedelta(days=7),
            "created_by_id": w.users["admin"].id,
        }
    )
    s.add(offer)
    s.flush()
    plan = OnboardingPlan.model_validate(
        {
            "application_id": w.application_id,
            "offer_id": offer.id,
            "start_date": start,
            "probation_end": start + timedelta(days=90),
            "hiring_manager_id": w.users["manager"].id,
        }
    )
    s.add(plan)
    s.flush()
    return plan


def _newhire_training(s: Session, w: World) -> Any:
    from models.onboard import TrainingSession

    plan = _newhire_plan(s, w)
    row = TrainingSession.model_validate(
        {
            "plan_id": plan.id,
            "title": "Orientation",
            "starts_at": utcnow() + timedelta(days=15),
            "ends_at": utcnow() + timedelta(days=15, hours=1),
            "location": "Room 1",
        }
    )
    s.add(row)
    s.flush()
    return row


def _newhire_training_form(w: World) -> dict[str, Any]:
    return {
        "title": "入职培训 Orientation",
        "starts_at": utcnow() + timedelta(days=16),
        "ends_at": utcnow() + timedelta(days=16, hours=1),
        "location": "Room 2",
        "attendee_ids": [w.users["panelist"].id],
    }


def _training():
    return importlib.import_module("services.onboard.training")


CALLS |= {
    "training.list_sessions": lambda s, a, w: _training().list_sessions(
        session=s, actor=a, plan_id=_newhire_plan(s, w).id
    ),
    "training.add_session": lambda s, a, w: _training().add_session(
        session=s, actor=a, plan_id=_newhire_plan(s, w).id, training_in=_newhire_training_form(w)
    ),
    "training.move_session": lambda s, a, w: _training().move_session(
        session=s, actor=a, training_id=_newhire_training(s, w).id, version=1, training_in=_newhire_training_form(w)
    ),
    "training.cancel_session": lambda s, a, w: _training().cancel_session(
        session=s, actor=a, training_id=_newhire_training(s, w).id, version=1
    ),
}


# --------------------------------------------------------------------------- onboard: the new hire's page (newhire)
MODULES = (*MODULES, "welcome")


def _welcome():
    return importlib.import_module("services.onboard.welcome")


def _newhire_upload(s: Session, w: World) -> Any:
    from services.onboard.materials import store_material

    plan = _newhire_plan(s, w)
    return store_material(session=s, filename="体检报告.pdf", content=b"%PDF-1.4 x", actor=None, plan_id=plan.id)


CALLS |= {
    "welcome.link_status": lambda s, a, w: _welcome().link_status(session=s, actor=a, plan_id=_newhire_plan(s, w).id),
    "welcome.issue_link": lambda s, a, w: _welcome().issue_link(session=s, actor=a, plan_id=_newhire_plan(s, w).id),
    "welcome.reissue_link": lambda s, a, w: _welcome().reissue_link(session=s, actor=a, plan_id=_newhire_plan(s, w).id),
    "welcome.revoke_link": lambda s, a, w: _welcome().revoke_link(session=s, actor=a, plan_id=_newhire_plan(s, w).id),
    "welcome.welcome_drafts": lambda s, a, w: _welcome().welcome_drafts(
        session=s, actor=a, plan_id=_newhire_plan(s, w).id
    ),
    "welcome.prepare_welcome_mail": lambda s, a, w: _welcome().prepare_welcome_mail(
        session=s, actor=a, plan_id=_newhire_plan(s, w).id
    ),
    "welcome.plan_checklist": lambda s, a, w: _welcome().plan_checklist(
        session=s, actor=a, plan_id=_newhire_plan(s, w).id
    ),
    "welcome.plan_uploads": lambda s, a, w: _welcome().plan_uploads(session=s, actor=a, plan_id=_newhire_plan(s, w).id),
    "welcome.download_upload": lambda s, a, w: _welcome().download_upload(
        session=s, actor=a, plan_id=_newhire_plan(s, w).id, material_id=_newhire_upload(s, w).id
    ),
}


# --------------------------------------------------------------------------- offers (services/onboard/offers.py)
MODULES += ("offers",)
LISTS.add("offers.list_offers")


def _offers():
    return importlib.import_module("services.onboard.offers")


def _offer_form() -> dict[str, Any]:
    today = utcnow().date()
    return {
        "job_title": "工程师 Engineer",
        "salary_amount": "20000",
        "start_date": today + timedelta(days=30),
        "location": "上海 Shanghai",
        "probation_months": 3,
        "contract_months": 36,
        "response_deadline": today + timedelta(days=7),
    }


def _offer(s: Session, w: World, status: str = "draft") -> Any:
    """The world's application moved to the offer stage with an offer in `status` (as the admin, rolled back)."""
    boss, offers = w.users["admin"], _offers()
    candidates.move_stage(session=s, actor=boss, application_id=w.application_id, to_stage="offer")
    offer = offers.create_offer(session=s, actor=boss, offer_in=_offer_form() | {"application_id": w.application_id})
    if status == "draft":
        return offer
    if status != "pending_approval":
        offers.set_approval_required(session=s, actor=boss, required=False)
    offer = offers.submit_for_approval(session=s, actor=boss, offer_id=offer.id)
    if status in ("approved_with_letter", "sent"):
        letter = offers.prepare_offer_letter(session=s, actor=boss, offer_id=offer.id)
        if status == "sent":
            offer = offers.send_offer_letter(
                session=s, actor=boss, offer_id=offer.id, subject=letter.subject, text=letter.text
            )
    return offer


CALLS |= {
    "offers.create_offer": lambda s, a, w: (
        candidates.move_stage(session=s, actor=w.users["admin"], application_id=w.application_id, to_stage="offer"),
        _offers().create_offer(session=s, actor=a, offer_in=_offer_form() | {"application_id": w.application_id}),
    ),
    "offers.update_offer": lambda s, a, w: _offers().update_offer(
        session=s, actor=a, offer_id=(o := _offer(s, w)).id, version=o.version, offer_in=_offer_form() | {"level": "P7"}
    ),
    "offers.withdraw_offer": lambda s, a, w: _offers().withdraw_offer(session=s, actor=a, offer_id=_offer(s, w).id),
    "offers.submit_for_approval": lambda s, a, w: _offers().submit_for_approval(
        session=s, actor=a, offer_id=_offer(s, w).id
    ),
    "offers.decide_approval": lambda s, a, w: _offers().decide_approval(
        session=s, actor=a, offer_id=_offer(s, w, "pending_approval").id, decision="approved"
    ),
    "offers.prepare_offer_letter": lambda s, a, w: _offers().prepare_offer_letter(
        session=s, actor=a, offer_id=_offer(s, w, "approved").id
    ),
    "offers.letter_draft": lambda s, a, w: _offers().letter_draft(
        session=s, actor=a, offer_id=_offer(s, w, "approved_with_letter").id
    ),
    "offers.send_offer_letter": lambda s, a, w: _offers().send_offer_letter(
        session=s, actor=a, offer_id=_offer(s, w, "approved_with_letter").id, subject="录用 Offer", text="正文 / body"
    ),
    "offers.record_answer": lambda s, a, w: _offers().record_answer(
        session=s, actor=a, offer_id=_offer(s, w, "sent").id, answer="declined", reason="personal"
    ),
    "offers.offer_form_defaults": lambda s, a, w: _offers().offer_form_defaults(
        session=s, actor=a, application_id=w.application_id
    ),
    "offers.offer_applications": lambda s, a, w: _offers().offer_applications(session=s, actor=a),
    "offers.list_offers": lambda s, a, w: (_offer(s, w), _offers().list_offers(session=s, actor=a)),
    "offers.offer_detail": lambda s, a, w: _offers().offer_detail(session=s, actor=a, offer_id=_offer(s, w).id),
    "offers.approval_settings": lambda s, a, w: _offers().approval_settings(session=s, actor=a),
    "offers.set_approval_required": lambda s, a, w: _offers().set_approval_required(session=s, actor=a, required=False),
    "offers.add_approver_rule": lambda s, a, w: _offers().add_approver_rule(
        session=s, actor=a, department="", user_id=w.users["manager"].id
    ),
    "offers.remove_approver_rule": lambda s, a, w: _offers().remove_approver_rule(
        session=s,
        actor=a,
        rule_id=_offers()
        .add_approver_rule(session=s, actor=w.users["admin"], department="", user_id=w.users["manager"].id)
        .id,
    ),
}


# --------------------------------------------------------------------------- metrics (issue 12): funnel and speed
# Aggregates filtered to the viewer's jobs: a hiring manager of other jobs gets their own (empty) figures.
MODULES = (*MODULES, "funnel", "speed")


def _metric_filter() -> Any:
    from services.metrics.filters import MetricFilter

    return MetricFilter(start=date(2026, 1, 1), end=date(2026, 12, 31))


def _funnel() -> Any:
    from services.metrics import funnel

    return funnel


LISTS |= {"funnel.funnel", "funnel.losses"}
CALLS |= {
    "funnel.funnel": lambda s, a, w: _funnel().funnel(session=s, actor=a, metric_filter=_metric_filter()),
    "funnel.losses": lambda s, a, w: _funnel().losses(session=s, actor=a, metric_filter=_metric_filter()),
}


def _speed() -> Any:
    from services.metrics import speed

    return speed


LISTS |= {"speed.feedback_times", "speed.scorecard_turnaround", "speed.stage_durations", "speed.time_to_offer_and_hire"}
CALLS |= {
    "speed.feedback_times": lambda s, a, w: _speed().feedback_times(session=s, actor=a, metric_filter=_metric_filter()),
    "speed.scorecard_turnaround": lambda s, a, w: _speed().scorecard_turnaround(
        session=s, actor=a, metric_filter=_metric_filter()
    ),
    "speed.stage_durations": lambda s, a, w: _speed().stage_durations(
        session=s, actor=a, metric_filter=_metric_filter()
    ),
    "speed.time_to_offer_and_hire": lambda s, a, w: _speed().time_to_offer_and_hire(
        session=s, actor=a, metric_filter=_metric_filter()
    ),
}


# --------------------------------------------------------------------------- metrics (issue 12): the filters' choices
MODULES = (*MODULES, "filters")


def _filters() -> Any:
    from services.metrics import filters

    return filters


LISTS |= {"filters.filter_choices", "filters.viewer_scope"}
CALLS |= {
    "filters.filter_choices": lambda s, a, w: _filters().filter_choices(session=s, actor=a),
    "filters.viewer_scope": lambda s, a, w: _filters().viewer_scope(session=s, actor=a),
}


# ---------------------------------------------------------------- metrics (issue 12): offers, sources, experience
MODULES = (*MODULES, "offer_metrics", "sources", "experience")


def _metrics(name: str) -> Any:
    return importlib.import_module(f"services.metrics.{name}")


LISTS |= {"offer_metrics.offer_outcomes", "offer_metrics.decline_reasons", "sources.sources", "experience.experience"}
CALLS |= {
    "offer_metrics.offer_outcomes": lambda s, a, w: _metrics("offer_metrics").offer_outcomes(
        session=s, actor=a, metric_filter=_metric_filter()
    ),
    "offer_metrics.decline_reasons": lambda s, a, w: _metrics("offer_metrics").decline_reasons(
        session=s, actor=a, metric_filter=_metric_filter()
    ),
    "sources.sources": lambda s, a, w: _metrics("sources").sources(session=s, actor=a, metric_filter=_metric_filter()),
    "experience.experience": lambda s, a, w: _metrics("experience").experience(
        session=s, actor=a, metric_filter=_metric_filter()
    ),
}


# --------------------------------------------------------------------------- metrics (issue 12): calibration, quality
# of hire, selection rates. Figures per person (calibration, quality by interviewer) are refused to hiring managers;
# the others are aggregates filtered to the viewer's jobs.
MODULES = (*MODULES, "calibration", "quality", "selection")


def _calibration() -> Any:
    from services.metrics import calibration

    return calibration


def _quality() -> Any:
    from services.metrics import quality

    return quality


def _selection() -> Any:
    from services.metrics import selection

    return selection


LISTS |= {"quality.quality_of_hire", "quality.quality_by_round", "selection.selection_rates"}
CALLS |= {
    "calibration.interviewer_calibration": lambda s, a, w: _calibration().interviewer_calibration(
        session=s, actor=a, metric_filter=_metric_filter()
    ),
    "quality.quality_of_hire": lambda s, a, w: _quality().quality_of_hire(
        session=s, actor=a, metric_filter=_metric_filter()
    ),
    "quality.quality_by_round": lambda s, a, w: _quality().quality_by_round(
        session=s, actor=a, metric_filter=_metric_filter()
    ),
    "quality.quality_by_interviewer": lambda s, a, w: _quality().quality_by_interviewer(
        session=s, actor=a, metric_filter=_metric_filter()
    ),
    "selection.selection_rates": lambda s, a, w: _selection().selection_rates(
        session=s,
        actor=a,
        metric_filter=_metric_filter(),
        group_by="source",
        from_step="applied",
        to_step="interviewed",
    ),
}


# --------------------------------------------------------------------------- metrics (issue 12): the weekly digest
MODULES = (*MODULES, "digest")


def _digest() -> Any:
    from services.metrics import digest

    return digest


# One's own choice, not a record: any hiring manager may choose it (their digest then counts their own jobs).
LISTS |= {"digest.set_metrics_digest"}
CALLS |= {
    "digest.set_metrics_digest": lambda s, a, w: _digest().set_metrics_digest(session=s, actor=a, enabled=True),
}


# --------------------------------------------------------------------------- privacy (issue 13): records
MODULES = (*MODULES, "export", "privacy_requests", "access_log")


def _privacy(name: str) -> Any:
    return importlib.import_module(f"services.privacy.{name}")


def _open_request(s: Session, w: World) -> int:
    """An open access request of the world's candidate, logged by an admin who is not under test."""
    boss = s.exec(select(User).where(User.email == "boss@example.com")).one()
    requests = _privacy("privacy_requests")
    row = requests.log_request(
        session=s,
        actor=boss,
        request_in={"candidate_id": w.candidate_id, "kind": "access", "law": "gdpr", "received_on": requests.today()},
    )
    return row.id


CALLS |= {
    "export.export_candidate": lambda s, a, w: _privacy("export").export_candidate(
        session=s, actor=a, candidate_id=w.candidate_id
    ),
    "privacy_requests.log_request": lambda s, a, w: _privacy("privacy_requests").log_request(
        session=s,
        actor=a,
        request_in={
            "candidate_id": w.candidate_id,
            "kind": "erasure",
            "law": "pipl",
            "received_on": _privacy("privacy_requests").today(),
        },
    ),
    "privacy_requests.list_requests": lambda s, a, w: _privacy("privacy_requests").list_requests(session=s, actor=a),
    "privacy_requests.answer_request": lambda s, a, w: _privacy("privacy_requests").answer_request(
        session=s, actor=a, request_id=_open_request(s, w), answer="已发送导出 / export sent"
    ),
    "access_log.record_access": lambda s, a, w: _privacy("access_log").record_access(
        session=s, actor=a, candidate_id=w.candidate_id, action="view"
    ),
    "access_log.list_access": lambda s, a, w: _privacy("access_log").list_access(session=s, actor=a),
    "access_log.access_keep_months": lambda s, a, w: _privacy("access_log").access_keep_months(session=s, actor=a),
    "access_log.set_access_keep_months": lambda s, a, w: _privacy("access_log").set_access_keep_months(
        session=s, actor=a, months=24
    ),
}


# --------------------------------------------------------------------------- privacy (issue 13): retention and erasure
MODULES = (*MODULES, "retention")


def _retention() -> Any:
    from services.privacy import retention

    return retention


CALLS |= {
    "retention.retention_rules": lambda s, a, w: _retention().retention_rules(session=s, actor=a),
    "retention.save_rules": lambda s, a, w: _retention().save_rules(
        session=s, actor=a, not_hired_months=12, hired_months=6, pool_months=24
    ),
    "retention.candidate_retention": lambda s, a, w: _retention().candidate_retention(
        session=s, actor=a, candidate_id=w.candidate_id
    ),
    "retention.set_hold": lambda s, a, w: _retention().set_hold(
        session=s, actor=a, candidate_id=w.candidate_id, until=TODAY, reason="诉讼 / litigation"
    ),
    "retention.clear_hold": lambda s, a, w: _retention().clear_hold(session=s, actor=a, candidate_id=w.candidate_id),
    "retention.due_soon": lambda s, a, w: _retention().due_soon(session=s, actor=a),
    "retention.erase_now": lambda s, a, w: _retention().erase_now(
        session=s, actor=a, candidate_id=w.candidate_id, reason="本人要求 / asked to be erased"
    ),
}


# --------------------------------------------------------------------------- privacy (issue 13): notice and consent
def _notices():
    return importlib.import_module("services.privacy.notices")


def _consent():
    return importlib.import_module("services.privacy.consent")


def _draft_notice(s: Session, w: World) -> Any:
    """A draft notice version (made as the admin, in this rolled-back session)."""
    return _notices().create_notice(
        session=s, actor=w.users["admin"], notice_in={"text_zh": "隐私声明草稿", "text_en": "Draft notice"}
    )


MODULES = (*MODULES, "notices", "consent")
CALLS |= {
    "notices.list_notices": lambda s, a, w: _notices().list_notices(session=s, actor=a),
    "notices.create_notice": lambda s, a, w: _notices().create_notice(
        session=s, actor=a, notice_in={"text_zh": "新版隐私声明", "text_en": "New notice"}
    ),
    "notices.publish_notice": lambda s, a, w: _notices().publish_notice(
        session=s, actor=a, notice_id=_draft_notice(s, w).id
    ),
    "notices.delete_notice": lambda s, a, w: _notices().delete_notice(
        session=s, actor=a, notice_id=_draft_notice(s, w).id
    ),
    "consent.candidate_privacy": lambda s, a, w: _consent().candidate_privacy(
        session=s, actor=a, candidate_id=w.candidate_id
    ),
    "consent.record_consent": lambda s, a, w: _consent().record_consent(
        session=s,
        actor=a,
        consent_in={"candidate_id": w.candidate_id, "purpose": "talent_pool", "given": True, "note": "电话 / phone"},
    ),
    "consent.set_privacy_facts": lambda s, a, w: _consent().set_privacy_facts(
        session=s,
        actor=a,
        candidate_id=w.candidate_id,
        facts_in={"legal_basis": "consent"},
        version=candidates.get_candidate_detail(
            session=s, actor=w.users["admin"], candidate_id=w.candidate_id
        ).candidate.version,
    ),
}
