"""Who may do what, in one table: capabilities, the roles that hold them and the scope each role is held in.

The navigation opens a page to whoever holds its capability, and the role × service matrix test calls every
public service function as every kind of user and compares the outcome with `SERVICES` below. A rule that
changes here changes in both. Services ask this module and nothing else: `require_cap` / `require_current_cap`
at their door, the named rules below (`can_follow_up(actor, job)`, `can_decide`, `sees_all_scorecards` …) for one
record, and the SQL scopes (`job_scope`, `visible_candidate`, `owned_by`, `not_erased`) in their list queries. No
service names a role (tests/services/test_policy_is_one.py checks).

Scopes: `ANY` — every record; `JOB` — only the jobs the person is hiring manager of; `PANEL` — only the
interviews the person sits on; `PANEL_SUBMITTED` — only interviews they sit on, once their own card is in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, exists, literal
from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.common import Role
from models.job import Job
from models.user import User
from services.platform.errors import NotAllowed


class Scope(StrEnum):
    ANY = "any"
    JOB = "job"
    PANEL = "panel"
    PANEL_SUBMITTED = "panel_submitted"


class Cap(StrEnum):
    use_app = "use_app"  # anything every signed-in person with a role does: own tasks, account, rounds list
    view_jobs = "view_jobs"
    edit_jobs = "edit_jobs"
    view_candidates = "view_candidates"
    edit_candidates = "edit_candidates"
    move_stage = "move_stage"
    schedule = "schedule"
    score = "score"
    read_debrief = "read_debrief"
    decide = "decide"
    follow_application = "follow_application"  # contacts, intent, risk of one application
    follow_up = "follow_up"  # the board, candidate mail, talent pool
    survey_results = "survey_results"
    outbox = "outbox"
    mail_test = "mail_test"
    manage_rounds = "manage_rounds"
    manage_users = "manage_users"
    onboard = "onboard"  # the Onboard page: offers and new hires (a hiring manager: of their jobs)
    edit_offers = "edit_offers"  # draft, revise, submit, send and withdraw offers; record the candidate's answer
    approve_offers = "approve_offers"  # as the job's hiring manager (named extra approvers approve their own)
    edit_plans = "edit_plans"  # onboarding plans: start date, buddy, tasks, training sessions, the new hire's link
    check_in = "check_in"  # probation check-ins
    probation_outcome = "probation_outcome"  # passed / extended / not passed
    manage_onboarding = "manage_onboarding"  # onboarding templates, offer approval settings and approvers
    view_metrics = "view_metrics"  # the Metrics screen's figures (a hiring manager: of their jobs only)
    view_people_metrics = "view_people_metrics"  # figures per interviewer (calibration, quality of hire by person)
    manage_privacy = "manage_privacy"  # the privacy notice, retention rules, export, erasure, requests, access records
    record_consent = "record_consent"  # a candidate's legal basis, notice shown and consents (issue 13)


A, R, H, IV = Role.admin, Role.recruiter, Role.hiring_manager, Role.interviewer
ANY, JOB, PANEL = Scope.ANY, Scope.JOB, Scope.PANEL

CAPABILITIES: dict[Cap, dict[Role, Scope]] = {
    Cap.use_app: {A: ANY, R: ANY, H: ANY, IV: ANY},
    Cap.view_jobs: {A: ANY, R: ANY, H: JOB, IV: ANY},
    Cap.edit_jobs: {A: ANY, R: ANY},
    Cap.view_candidates: {A: ANY, R: ANY, H: JOB},
    Cap.edit_candidates: {A: ANY, R: ANY},
    Cap.move_stage: {A: ANY, R: ANY, H: JOB},
    Cap.schedule: {A: ANY, R: ANY},
    Cap.score: {A: PANEL, R: PANEL, H: PANEL, IV: PANEL},
    Cap.read_debrief: {A: ANY, R: ANY, H: JOB, IV: Scope.PANEL_SUBMITTED},
    Cap.decide: {A: ANY, R: ANY, H: JOB},
    Cap.follow_application: {A: ANY, R: ANY, H: JOB},
    Cap.follow_up: {A: ANY, R: ANY},
    Cap.survey_results: {A: ANY, R: ANY, H: JOB},
    Cap.outbox: {A: ANY, R: ANY},
    Cap.mail_test: {A: ANY},
    Cap.manage_rounds: {A: ANY},
    Cap.manage_users: {A: ANY},
    Cap.onboard: {A: ANY, R: ANY, H: JOB},
    Cap.edit_offers: {A: ANY, R: ANY},
    Cap.approve_offers: {A: ANY, H: JOB},
    Cap.edit_plans: {A: ANY, R: ANY},
    Cap.check_in: {A: ANY, H: JOB},
    Cap.probation_outcome: {A: ANY, R: ANY, H: JOB},
    Cap.manage_onboarding: {A: ANY},
    Cap.view_metrics: {A: ANY, R: ANY, H: JOB},
    Cap.view_people_metrics: {A: ANY, R: ANY},
    Cap.manage_privacy: {A: ANY},
    Cap.record_consent: {A: ANY, R: ANY},
}


@dataclass(frozen=True)
class PageRule:
    path: str
    cap: Cap
    hidden: bool = False  # reached from links (an interview, an application), not from the menu


# The screens in menu order; the frame shows a page to whoever holds its capability.
PAGES: tuple[PageRule, ...] = (
    PageRule("pages/my_tasks.py", Cap.use_app),
    PageRule("pages/interviews.py", Cap.use_app),
    PageRule("pages/follow_up.py", Cap.follow_up),
    PageRule("pages/candidates.py", Cap.view_candidates),
    PageRule("pages/jobs.py", Cap.view_jobs),
    PageRule("pages/import_candidates.py", Cap.edit_candidates),
    PageRule("pages/talent_pool.py", Cap.follow_up),
    PageRule("pages/onboard.py", Cap.onboard),
    PageRule("pages/new_hire.py", Cap.onboard, hidden=True),
    PageRule("pages/outbox.py", Cap.outbox),
    PageRule("pages/scorecard.py", Cap.use_app, hidden=True),
    PageRule("pages/debrief.py", Cap.use_app, hidden=True),
    PageRule("pages/users.py", Cap.manage_users),
    PageRule("pages/rounds.py", Cap.manage_rounds),
    PageRule("pages/onboard_settings.py", Cap.manage_onboarding),
    PageRule("pages/metrics.py", Cap.view_metrics),
    PageRule("pages/privacy.py", Cap.manage_privacy),
    PageRule("pages/account.py", Cap.use_app),
)

# Every public service function that acts for a signed-in person, and the capability it needs. Listing
# functions (marked `lists`) filter to the person's scope instead of refusing; the others refuse a record
# out of scope. Functions without an `actor` (public survey links, sign-in, the worker) are not here.
SERVICES: dict[str, Cap] = {
    "candidates.search_candidates": Cap.view_candidates,
    "candidates.get_candidate_detail": Cap.view_candidates,
    "candidates.filter_jobs": Cap.view_candidates,
    "candidates.create_candidate": Cap.edit_candidates,
    "candidates.update_candidate": Cap.edit_candidates,
    "candidates.add_application": Cap.edit_candidates,
    "candidates.export_candidates_csv": Cap.edit_candidates,
    "candidates.move_stage": Cap.move_stage,
    "importer.import_candidates": Cap.edit_candidates,
    "importer.load_mapping": Cap.edit_candidates,
    "importer.save_mapping": Cap.edit_candidates,
    "jobs.list_jobs": Cap.view_jobs,
    "jobs.get_job": Cap.view_jobs,
    "jobs.create_job": Cap.edit_jobs,
    "jobs.update_job": Cap.edit_jobs,
    "evaluation.list_rounds": Cap.use_app,
    "evaluation.save_round": Cap.manage_rounds,
    "evaluation.save_criterion": Cap.manage_rounds,
    "evaluation.remove_criterion": Cap.manage_rounds,
    "evaluation.schedule_interview": Cap.schedule,
    "evaluation.reschedule_interview": Cap.schedule,
    "evaluation.set_interview_status": Cap.schedule,
    "evaluation.list_interviews": Cap.schedule,
    "evaluation.schedulable_applications": Cap.schedule,
    "evaluation.prepare_interview_confirmation": Cap.schedule,
    "evaluation.interview_confirmation_drafts": Cap.schedule,
    "interview_import.import_interviews": Cap.schedule,
    "evaluation.my_interviews": Cap.use_app,
    "evaluation.open_scorecard": Cap.score,
    "evaluation.save_scorecard": Cap.score,
    "evaluation.can_see_peers": Cap.use_app,
    "evaluation.debrief": Cap.read_debrief,
    "evaluation.record_decision": Cap.decide,
    "followup.follow_up_board": Cap.follow_up,
    "followup.board_counts": Cap.follow_up,
    "followup.log_contact": Cap.follow_application,
    "followup.list_contacts": Cap.follow_application,
    "followup.record_intent": Cap.follow_application,
    "followup.intent_history": Cap.follow_application,
    "followup.latest_intent": Cap.follow_application,
    "followup.pool_entry": Cap.follow_application,
    "followup.risk_of": Cap.follow_application,
    "followup.prepare_candidate_mail": Cap.follow_up,
    "followup.drafts_for_application": Cap.follow_up,
    "followup.survey_summary": Cap.survey_results,
    "followup.survey_overall": Cap.survey_results,
    "followup.add_to_pool": Cap.follow_up,
    "followup.remove_from_pool": Cap.follow_up,
    "followup.search_pool": Cap.follow_up,
    "followup.count_pool": Cap.follow_up,
    "followup.poolable_candidates": Cap.follow_up,
    "followup.job_families": Cap.follow_up,
    "followup.prepare_reengagement_mail": Cap.follow_up,
    "followup.pool_drafts": Cap.follow_up,
    "mail.list_outbox": Cap.outbox,
    "mail.get_message": Cap.outbox,
    "mail.retry_message": Cap.outbox,
    "mail.cancel_message": Cap.outbox,
    "mail.send_draft": Cap.outbox,
    "mail.discard_draft": Cap.outbox,
    "mail.save_draft": Cap.outbox,
    "mail.drafts_waiting_for": Cap.outbox,
    "mail.worker_heartbeats": Cap.outbox,
    "mail.queue_test_message": Cap.mail_test,
    "tasks.my_tasks": Cap.use_app,
    "users.list_users": Cap.use_app,
    "users.create_user": Cap.manage_users,
    "users.update_user": Cap.manage_users,
    "users.set_password": Cap.manage_users,
    "users.set_language": Cap.use_app,
    "users.set_reminder_mode": Cap.use_app,
    # onboarding plans and templates (services.onboard.plans)
    "plans.list_templates": Cap.manage_onboarding,
    "plans.get_template": Cap.manage_onboarding,
    "plans.create_template": Cap.manage_onboarding,
    "plans.save_template": Cap.manage_onboarding,
    "plans.add_template_task": Cap.manage_onboarding,
    "plans.update_template_task": Cap.manage_onboarding,
    "plans.remove_template_task": Cap.manage_onboarding,
    "plans.move_template_task": Cap.manage_onboarding,
    "plans.attach_template_material": Cap.manage_onboarding,
    "plans.list_plans": Cap.onboard,
    "plans.plan_detail": Cap.onboard,
    "plans.plan_people": Cap.onboard,
    "plans.my_plan_tasks": Cap.use_app,  # a task owner's own tasks, whatever their role
    "plans.move_start_date": Cap.edit_plans,
    "plans.set_buddy": Cap.edit_plans,
    "plans.cancel_plan": Cap.edit_plans,
    "plans.tick_task": Cap.edit_plans,  # and the task's owner, whoever they are
    "plans.record_check_in": Cap.check_in,
    "plans.record_outcome": Cap.probation_outcome,
    "training.list_sessions": Cap.onboard,
    "training.add_session": Cap.edit_plans,
    "training.move_session": Cap.edit_plans,
    "training.cancel_session": Cap.edit_plans,
    "welcome.link_status": Cap.onboard,
    "welcome.issue_link": Cap.edit_plans,
    "welcome.reissue_link": Cap.edit_plans,
    "welcome.revoke_link": Cap.edit_plans,
    "welcome.welcome_drafts": Cap.edit_plans,
    "welcome.prepare_welcome_mail": Cap.edit_plans,
    "welcome.plan_checklist": Cap.onboard,
    "welcome.plan_uploads": Cap.onboard,
    "welcome.download_upload": Cap.onboard,
    # offers (services/onboard/offers.py)
    "offers.create_offer": Cap.edit_offers,
    "offers.update_offer": Cap.edit_offers,
    "offers.withdraw_offer": Cap.edit_offers,
    "offers.submit_for_approval": Cap.edit_offers,
    "offers.decide_approval": Cap.approve_offers,
    "offers.prepare_offer_letter": Cap.edit_offers,
    "offers.letter_draft": Cap.edit_offers,
    "offers.send_offer_letter": Cap.edit_offers,
    "offers.record_answer": Cap.edit_offers,
    "offers.offer_form_defaults": Cap.edit_offers,
    "offers.offer_applications": Cap.edit_offers,
    "offers.list_offers": Cap.onboard,
    "offers.offer_detail": Cap.onboard,
    "offers.approval_settings": Cap.manage_onboarding,
    "offers.set_approval_required": Cap.manage_onboarding,
    "offers.add_approver_rule": Cap.manage_onboarding,
    "offers.remove_approver_rule": Cap.manage_onboarding,
    # metrics (services/metrics): aggregates filtered to the viewer's jobs, never refused to a hiring manager
    "funnel.funnel": Cap.view_metrics,
    "funnel.losses": Cap.view_metrics,
    "speed.feedback_times": Cap.view_metrics,
    "speed.scorecard_turnaround": Cap.view_metrics,
    "speed.stage_durations": Cap.view_metrics,
    "speed.time_to_offer_and_hire": Cap.view_metrics,
    "filters.filter_choices": Cap.view_metrics,
    "filters.viewer_scope": Cap.view_metrics,
    "offer_metrics.offer_outcomes": Cap.view_metrics,
    "offer_metrics.decline_reasons": Cap.view_metrics,
    "sources.sources": Cap.view_metrics,
    "experience.experience": Cap.view_metrics,
    # per-person figures (services/metrics/calibration.py, quality.py): admins and recruiters only
    "calibration.interviewer_calibration": Cap.view_people_metrics,
    "quality.quality_of_hire": Cap.view_metrics,
    "quality.quality_by_round": Cap.view_metrics,
    "quality.quality_by_interviewer": Cap.view_people_metrics,
    "selection.selection_rates": Cap.view_metrics,
    "digest.set_metrics_digest": Cap.view_metrics,  # the weekly metrics digest, chosen on My account
    # privacy (issue 13, records): export, requests to see or erase data, records of access
    "export.export_candidate": Cap.manage_privacy,
    "privacy_requests.log_request": Cap.manage_privacy,
    "privacy_requests.list_requests": Cap.manage_privacy,
    "privacy_requests.answer_request": Cap.manage_privacy,
    "access_log.record_access": Cap.view_candidates,  # a view: whoever may see the person; an export: admins
    "access_log.list_access": Cap.manage_privacy,
    "access_log.access_keep_months": Cap.manage_privacy,
    "access_log.set_access_keep_months": Cap.manage_privacy,
    # privacy (issue 13): retention rules, keep-until and hold, the due list, erase now (services/privacy/retention.py)
    "retention.retention_rules": Cap.manage_privacy,
    "retention.save_rules": Cap.manage_privacy,
    "retention.candidate_retention": Cap.manage_privacy,
    "retention.set_hold": Cap.manage_privacy,
    "retention.clear_hold": Cap.manage_privacy,
    "retention.due_soon": Cap.manage_privacy,
    "retention.erase_now": Cap.manage_privacy,
}

# Steps that other services take inside their own transaction after checking who acts; they take the actor
# only to record who did it. Pages never call them (a test checks).
STEPS: frozenset[str] = frozenset(
    {
        "audit.record",
        "followup.keep_in_pool",
        "followup.leave_pool_on_reengagement",
        "interview_invites.notify_panel",
        "interview_invites.prepare_confirmation",
        "plans.start_onboarding",  # by the offer's acceptance (a recruiter, or the candidate's link: no actor)
        "plans.application_left",  # by candidates.move_stage, which checked who moves the application
    }
)

# Open to every active account, even one still waiting for a role: the page that says so is in their language.
OPEN_TO_ROLELESS: frozenset[str] = frozenset({"users.set_language"})


def roles_of(cap: Cap) -> tuple[Role, ...]:
    """The roles that hold `cap` in some scope."""
    return tuple(CAPABILITIES[cap])


def holds(user: User | None, cap: Cap) -> bool:
    """True when an active `user` has a role that holds `cap` (in some scope)."""
    return bool(user is not None and user.is_active and user.role_set and user.has_role(*roles_of(cap)))


def scope_of(user: User, cap: Cap) -> Scope | None:
    """The widest scope in which `user` holds `cap` (ANY beats JOB beats PANEL), or None."""
    if not holds(user, cap):
        return None
    order = (Scope.ANY, Scope.JOB, Scope.PANEL, Scope.PANEL_SUBMITTED)
    scopes = {scope for role, scope in CAPABILITIES[cap].items() if user.has_role(role)}
    return next(s for s in order if s in scopes)


def require_cap(user: User | None, cap: Cap) -> User:
    """The user if active and holding `cap` in some scope; NotAllowed otherwise."""
    if user is None or not holds(user, cap):
        raise NotAllowed()
    return user


def pages_for(user: User) -> list[PageRule]:
    """The screens `user` may open, in menu order."""
    return [page for page in PAGES if holds(user, page.cap)]


def has_scope(user: User, cap: Cap, scope: Scope) -> bool:
    """True when one of `user`'s roles holds `cap` in exactly `scope` (a manager's JOB scope beside an admin's ANY)."""
    return any(CAPABILITIES[cap].get(role) == scope for role in user.role_set)


def everywhere(user: User, cap: Cap) -> bool:
    """True when `user` holds `cap` for every record (scope ANY), not only for some."""
    return scope_of(user, cap) == Scope.ANY


def require_current_cap(session: Session, actor: User | None, cap: Cap) -> User:
    """As `require_cap`, on the person's roles and status as the database has them now.

    A browser tab (or a long-running caller) holds a User loaded before an admin removed a role or deactivated
    the account; its stale copy must not keep the access. Returns the current row, to be used from then on."""
    if actor is None or actor.id is None:
        raise NotAllowed()
    return require_cap(session.get(User, actor.id, populate_existing=True), cap)


# --------------------------------------------------------------------------- rules about one record
def manages(user: User, job: Job) -> bool:
    """True when `user` is the job's hiring manager and still holds the role."""
    return user.has_role(Role.hiring_manager) and job.hiring_manager_id == user.id


def allows(user: User, cap: Cap, job: Job) -> bool:
    """True when `user` holds `cap` for `job`: everywhere, or in the JOB scope as its hiring manager. A PANEL scope
    is about one interview, not a job (services.evaluate.evaluation asks who sits on its panel)."""
    return everywhere(user, cap) or (holds(user, cap) and has_scope(user, cap, Scope.JOB) and manages(user, job))


def can_follow_up(user: User, job: Job) -> bool:
    """Contacts, intent and risk of an application to `job`."""
    return allows(user, Cap.follow_application, job)


def can_decide(user: User, job: Job) -> bool:
    """Decide on an application to `job` (advance, offer, reject, hold)."""
    return allows(user, Cap.decide, job)


def can_move_stage(user: User, job: Job) -> bool:
    """Move an application to `job` from stage to stage."""
    return allows(user, Cap.move_stage, job)


def sees_all_scorecards(user: User, job: Job) -> bool:
    """Every submitted scorecard of an application to `job`, on whichever panel; anyone else sees only the cards of
    the interviews they sat on, once their own is in (services.evaluate.evaluation's `_visibility`)."""
    return allows(user, Cap.read_debrief, job)


def may_sit_on_panels(user: User) -> bool:
    """Whether `user` may be put on an interview's panel (whatever their active flag: the caller tests that)."""
    return user.has_role(*roles_of(Cap.score))


def may_own_candidates(user: User) -> bool:
    """Whether `user` may be a candidate's owner — the recruiter whose board and reminders the candidate is on."""
    return user.has_role(*roles_of(Cap.follow_up))


def may_manage_jobs(user: User) -> bool:
    """Whether `user` may be named a job's hiring manager."""
    return user.has_role(Role.hiring_manager)


def owns_what_they_add(user: User) -> bool:
    """A recruiter becomes the owner of a candidate they add without naming one; an admin who does not recruit
    leaves it open."""
    return user.has_role(Role.recruiter)


def sees_every_owner(user: User) -> bool:
    """An admin reads every recruiter's follow-up board and the drafts of candidates nobody owns; a recruiter reads
    those of their own candidates."""
    return user.has_role(Role.admin)


def board_owner(user: User, owner_id: int | None) -> int | None:
    """Whose candidates' applications `user`'s follow-up board shows: the owner asked for, or everyone's (None),
    for those who see every owner; else their own."""
    return owner_id if sees_every_owner(user) else user.id


# --------------------------------------------------------------------------- SQL scopes of list queries
def not_erased(candidate_id: Any) -> Any:
    """SQL: the candidate `candidate_id` (a column of the enclosing query) is not anonymised — tested against the
    small set of erased candidates, read once from its partial index, not by a lookup of each row's candidate
    (which PostgreSQL turned into a hash join over every candidate)."""
    return col(candidate_id).not_in(select(Candidate.id).where(col(Candidate.anonymised_at).is_not(None)))


def owned_by(owner_id: Any) -> Any:
    """SQL: the application of the enclosing query is of `owner_id`'s candidate, not anonymised — the owner kept on
    the application (`application.owner_id`, an index range of its own), the erased left out as the small set
    they are. Not a lookup of each application's candidate: without statistics both planners began with every
    candidate of the owner (tens of thousands), and with them each of 14.5k open applications cost PostgreSQL
    a candidate lookup per board render at 100k."""
    return and_(col(Application.owner_id) == owner_id, not_erased(Application.candidate_id))


def managed_by(user: User) -> Any:
    """SQL: the job of the enclosing query is one `user` is named hiring manager of (the JOB scope's records)."""
    return Job.hiring_manager_id == user.id


def job_scope(user: User, cap: Cap = Cap.view_candidates) -> Any:
    """SQL: the ids of the jobs whose applications `user` may see — None for all (scope ANY), else the jobs they
    manage.

    A candidate shared with another manager's job is visible to a hiring manager, but that job's application,
    stages, reasons, audit, mail and contacts are not."""
    if everywhere(user, cap):
        return None
    return select(Job.id).where(managed_by(user))


def visible_candidate(user: User) -> Any:
    """SQL: the candidate of the enclosing query is one `user` may see (for one candidate; a list reads its scope
    from an index: services.pipeline.candidates' `_matching`)."""
    if everywhere(user, Cap.view_candidates):
        return literal(True)
    if has_scope(user, Cap.view_candidates, Scope.JOB):
        return exists().where(
            col(Application.candidate_id) == Candidate.id,
            col(Application.job_id) == Job.id,
            managed_by(user),
        )
    return literal(False)


# Privacy (issue 13): anonymising one person is a step — erase_now checks the admin; the retention job has no actor.
STEPS = STEPS | frozenset({"anonymise.anonymise_candidate"})

# --------------------------------------------------------------------------- privacy (issue 13): notice and consent
SERVICES |= {
    "notices.list_notices": Cap.manage_privacy,
    "notices.create_notice": Cap.manage_privacy,
    "notices.publish_notice": Cap.manage_privacy,
    "notices.delete_notice": Cap.manage_privacy,
    "consent.candidate_privacy": Cap.view_candidates,  # a hiring manager reads it for a candidate of their jobs
    "consent.record_consent": Cap.record_consent,
    "consent.set_privacy_facts": Cap.record_consent,
}
STEPS |= {
    "consent.apply_consent",  # by record_consent, candidates' create/update and import, and the candidate's link
    "notices.ensure_current_notice",  # the default notice saved on first use (the candidate's link: no actor)
}
