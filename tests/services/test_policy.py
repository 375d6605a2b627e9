"""Who may do what is decided in services.platform.policy alone: the services ask it, and name no role themselves.

The role × service matrix (test_role_matrix.py) checks what each kind of user may call; these tests check that
the rules have one home, what the named rules about one job say, and that an erased candidate's application is
not found by any ordinary action (the two loaders that once disagreed about it are one).
"""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest

from models.candidate import Candidate
from models.common import Role, utcnow
from models.job import Job
from models.user import User
from services.evaluate import evaluation
from services.follow_up import followup
from services.platform import policy
from services.platform.errors import NotFound
from services.platform.policy import Cap
from tests.services.test_evaluation import interview_with_panel

SERVICES = Path(__file__).resolve().parents[2] / "services"

# Where a service names a role for what it writes, not for who may act: (module, top-level function or "*").
ROLES_AS_DATA = {
    ("auth.py", "create_first_admin"),  # the first account is made an admin and a recruiter
    ("demo.py", "*"),  # the demo's people and who of them interviews
}


def _role_checks(path: Path) -> list[str]:
    """Where `path` names a member of Role or asks a user's roles (`.has_role(…)`), outside ROLES_AS_DATA, as
    'where:line what' (where: the top-level function, class or assignment)."""
    found = []
    for top in ast.parse(path.read_text("utf-8")).body:
        where = getattr(top, "name", None) or next(
            (t.id for t in getattr(top, "targets", []) if isinstance(t, ast.Name)), "<module>"
        )
        if (path.name, where) in ROLES_AS_DATA or (path.name, "*") in ROLES_AS_DATA:
            continue
        for node in ast.walk(top):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Role":
                found.append(f"{where}:{node.lineno} Role.{node.attr}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "has_role":
                found.append(f"{where}:{node.lineno} .has_role")
    return sorted(found)


def test_no_service_but_the_policy_names_a_role_or_asks_a_users_roles() -> None:
    """A rule written in a service (a role tuple, `actor.has_role(...)`) is one the navigation and the matrix test
    do not see: services ask services.platform.policy (`require_cap`, `can_follow_up`, `job_scope` …) instead."""
    found = {
        path.name: checks
        for path in sorted(SERVICES.glob("*.py"))
        if path.name != "policy.py"
        for checks in [_role_checks(path)]
        if checks
    }
    assert found == {}


def test_the_check_finds_a_role_tuple_and_a_role_question(tmp_path: Path) -> None:
    module = tmp_path / "jobs.py"
    module.write_text(
        "EDITORS = (Role.admin, Role.recruiter)\n\ndef f(actor):\n    return actor.has_role(*EDITORS)\n", "utf-8"
    )
    assert _role_checks(module) == ["EDITORS:1 Role.admin", "EDITORS:1 Role.recruiter", "f:4 .has_role"]


def test_no_service_module_keeps_its_own_list_of_roles() -> None:
    for path in sorted(SERVICES.glob("*.py")):
        if path.name == "policy.py":
            continue
        for node in ast.parse(path.read_text("utf-8")).body:
            names = [t.id for t in getattr(node, "targets", [getattr(node, "target", None)]) if isinstance(t, ast.Name)]
            assert not {
                "EDITORS",
                "VIEWERS",
                "FOLLOWERS",
                "SCHEDULERS",
                "DECIDERS",
                "STAFF",
                "PANEL_ROLES",
                "OUTBOX_VIEWERS",
            } & set(names), f"{path.name} defines {names}"


# --------------------------------------------------------------------------- the named rules about one job
def _person(roles: str, user_id: int) -> User:
    return User(id=user_id, email=f"u{user_id}@example.com", name=f"U{user_id}", roles=roles)


@pytest.mark.parametrize(
    "rule", [policy.can_follow_up, policy.can_decide, policy.can_move_stage, policy.sees_all_scorecards]
)
def test_recruiters_and_admins_hold_a_job_rule_everywhere_a_manager_on_their_own_jobs_only(rule) -> None:
    theirs, others = Job(id=1, title="A", hiring_manager_id=3), Job(id=2, title="B", hiring_manager_id=99)
    admin, recruiter, manager, interviewer = (
        _person("admin", 1),
        _person("recruiter", 2),
        _person("hiring_manager", 3),
        _person("interviewer", 4),
    )
    assert [rule(p, theirs) for p in (admin, recruiter, manager, interviewer)] == [True, True, True, False]
    assert [rule(p, others) for p in (admin, recruiter, manager, interviewer)] == [True, True, False, False]
    # Still named on the job after the role was taken away: no longer theirs.
    assert rule(_person("interviewer", 3), theirs) is False
    deactivated = _person("hiring_manager", 3)
    deactivated.is_active = False
    assert rule(deactivated, theirs) is False


def test_the_sql_scopes_follow_the_table() -> None:
    admin, manager, interviewer = _person("admin", 1), _person("hiring_manager", 3), _person("interviewer", 4)
    assert policy.job_scope(admin) is None
    assert policy.job_scope(manager) is not None and policy.job_scope(interviewer) is not None
    assert policy.visible_candidate(admin).value is True
    assert policy.visible_candidate(interviewer).value is False
    assert "hiring_manager_id" in str(policy.visible_candidate(manager).compile())


def test_an_admin_reads_every_owners_board_and_a_recruiter_their_own() -> None:
    assert policy.board_owner(_person("admin", 1), None) is None
    assert policy.board_owner(_person("admin", 1), 7) == 7
    assert policy.board_owner(_person("recruiter", 2), 7) == 2


def test_who_may_own_candidates_sit_on_panels_and_manage_jobs_is_the_policys() -> None:
    recruiter, manager, interviewer = _person("recruiter", 2), _person("hiring_manager", 3), _person("interviewer", 4)
    assert [policy.may_own_candidates(p) for p in (recruiter, manager, interviewer)] == [True, False, False]
    assert [policy.may_manage_jobs(p) for p in (recruiter, manager, interviewer)] == [False, True, False]
    assert all(policy.may_sit_on_panels(p) for p in (recruiter, manager, interviewer))
    assert policy.roles_of(Cap.follow_up) == (Role.admin, Role.recruiter)


# --------------------------------------------------------------------------- one loader for an application
def test_an_erased_candidates_application_is_found_by_neither_evaluation_nor_follow_up(
    session, make, frozen_clock
) -> None:
    """Evaluation's loader used to find it (its debrief, decision, scheduling and scorecards still opened) while
    follow-up's did not: one loader now, for both, and it is not found."""
    setup = interview_with_panel(make, panel=1)
    admin = make.admin()
    app_id, interview_id = setup.application.id, setup.interview.id
    assert evaluation.debrief(session=session, actor=admin, application_id=app_id).candidate.id == setup.candidate.id
    gone = session.get(Candidate, setup.candidate.id)
    gone.anonymised_at = utcnow()
    session.add(gone)
    session.commit()
    rnd = setup.interview.round_id
    calls = {
        "debrief": lambda: evaluation.debrief(session=session, actor=admin, application_id=app_id),
        "can_see_peers": lambda: evaluation.can_see_peers(session=session, actor=admin, application_id=app_id),
        "record_decision": lambda: evaluation.record_decision(
            session=session,
            actor=admin,
            application_id=app_id,
            decision_in={"kind": "hold", "reason_code": "needs_more_signal"},
        ),
        "schedule_interview": lambda: evaluation.schedule_interview(
            session=session,
            actor=admin,
            interview_in={
                "application_id": app_id,
                "round_id": rnd,
                "starts_at": utcnow() + timedelta(days=1),
                "ends_at": utcnow() + timedelta(days=1, hours=1),
                "interviewer_ids": [setup.panel[0].id],
            },
        ),
        "open_scorecard": lambda: evaluation.open_scorecard(
            session=session, actor=setup.panel[0], interview_id=interview_id
        ),
        "intent_history": lambda: followup.intent_history(session=session, actor=admin, application_id=app_id),
        "prepare_candidate_mail": lambda: followup.prepare_candidate_mail(
            session=session, actor=admin, application_id=app_id, template="thank_you"
        ),
    }
    found = {}
    for name, call in calls.items():
        try:
            call()
            found[name] = "found"
        except NotFound:
            found[name] = "not found"
        session.rollback()
    assert found == dict.fromkeys(calls, "not found")
