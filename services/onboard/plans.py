"""Onboarding plans: the templates admins keep (per department, with a default), the plan an accepted offer starts
from one, its tasks ticked off by their owners, the new hire's checklist, probation check-ins by the hiring manager
and the probation outcome that closes the application's pipeline.

Every per-plan check goes through `services.onboard.plan_access.plan_in_scope`. Services flush, never commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import field_validator
from sqlalchemy import and_, case, func, update
from sqlmodel import Field, Session, SQLModel, col, select

from models.candidate import Application, Candidate, StageChange
from models.common import Stage, add_months, utcnow
from models.job import Job
from models.onboard import (
    CheckIn,
    CheckInIn,
    ChecklistItem,
    Offer,
    OnboardingPlan,
    OnboardTemplate,
    OwnerRole,
    PlanStatus,
    PlanTask,
    ProbationOutcomeIn,
    TaskCategory,
    TemplateTask,
    TemplateTaskIn,
    TrainingSession,
)
from models.user import User
from services.onboard.plan_access import PlanInScope, plan_in_scope
from services.platform import audit, policy
from services.platform.config import get_settings
from services.platform.errors import Conflict, InvalidTransition, NotFound, ValidationError, validate
from services.platform.policy import Cap

# Plans still running: tasks remind, check-ins are due, the outcome is still to be recorded.
OPEN_PLAN = (PlanStatus.active, PlanStatus.extended)
NOT_PASSED_REASON = "probation_not_passed"  # the reason the application ends rejected with (as the demo records it)

# The default template's tasks: (title zh, title en, category, owner role, days from the start date).
DEFAULT_TASKS: tuple[tuple[str, str, TaskCategory, OwnerRole, int], ...] = (
    ("提交入职材料", "Send the onboarding documents", TaskCategory.document, OwnerRole.new_hire, -3),
    ("准备劳动合同", "Prepare the employment contract", TaskCategory.document, OwnerRole.recruiter, -3),
    ("开通邮箱与系统账号", "Create e-mail and system accounts", TaskCategory.account, OwnerRole.recruiter, -2),
    ("准备电脑与工位", "Prepare laptop and desk", TaskCategory.equipment, OwnerRole.recruiter, -1),
    ("发送员工手册", "Share the employee handbook", TaskCategory.document, OwnerRole.recruiter, -1),
    ("新员工入职培训", "New-hire orientation", TaskCategory.training, OwnerRole.recruiter, 0),
    ("介绍入职伙伴", "Introduce the buddy", TaskCategory.other, OwnerRole.hiring_manager, 0),
    ("阅读企业文化介绍", "Read the culture introduction", TaskCategory.document, OwnerRole.new_hire, 2),
    ("第一周沟通", "First-week check-in", TaskCategory.check_in, OwnerRole.hiring_manager, 7),
    ("设定试用期目标", "Set probation goals", TaskCategory.check_in, OwnerRole.hiring_manager, 14),
)
# 入职材料: what the new hire brings on day 1.
DEFAULT_CHECKLIST: tuple[dict[str, str], ...] = (
    {"zh": "身份证", "en": "ID card"},
    {"zh": "学历/学位证书", "en": "Degree certificates"},
    {"zh": "离职证明", "en": "Leaving certificate from the last employer"},
    {"zh": "体检报告", "en": "Medical check report"},
    {"zh": "银行卡", "en": "Bank card"},
    {"zh": "照片", "en": "ID photos"},
)
DEFAULT_CHECKIN_DAYS = "7,30,60,90"


def today() -> date:
    """Today in the company's time zone: due dates are company days."""
    return utcnow().astimezone(get_settings().tz).date()


# --------------------------------------------------------------------------- input schemas of this module
class ChecklistEntryIn(SQLModel):
    zh: str = Field(min_length=1, max_length=200)
    en: str = Field(min_length=1, max_length=200)

    @field_validator("zh", "en", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return str(value or "").strip()


class TemplateSettingsIn(SQLModel):
    """The settings of a template: check-in days ("7,30,60,90"), the welcome mail's lead, the checklist."""

    checkin_days: str = Field(default=DEFAULT_CHECKIN_DAYS, max_length=100)
    welcome_days_before: int = Field(default=3, ge=0, le=60)
    checklist: list[ChecklistEntryIn] = Field(default_factory=list, max_length=40)

    @field_validator("checkin_days", mode="before")
    @classmethod
    def _days(cls, value: object) -> object:
        text = str(value or "").replace("，", ",").replace(" ", "")
        parts = [p for p in text.split(",") if p]
        if not all(p.isdigit() and 1 <= int(p) <= 365 for p in parts):
            raise ValueError("err.checkin_days_invalid")
        return ",".join(str(d) for d in sorted({int(p) for p in parts}))


def checkin_days_of(template: OnboardTemplate | None) -> list[int]:
    text = template.checkin_days if template is not None else DEFAULT_CHECKIN_DAYS
    return [int(d) for d in text.split(",") if d.strip().isdigit()]


def checklist_of(template: OnboardTemplate | None) -> list[dict[str, str]]:
    if template is None:
        return [dict(item) for item in DEFAULT_CHECKLIST]
    try:
        items = json.loads(template.checklist or "[]")
    except ValueError:
        return []
    return [{"zh": str(i.get("zh", "")), "en": str(i.get("en", ""))} for i in items if isinstance(i, dict)]


# --------------------------------------------------------------------------- templates
@dataclass
class TemplateView:
    template: OnboardTemplate
    tasks: list[TemplateTask]
    checklist: list[dict[str, str]]
    checkin_days: list[int]


def ensure_default_template(*, session: Session) -> OnboardTemplate:
    """The default template (department ""), made with the default tasks, checklist and check-in days when there is
    none yet (no commit). Used by the templates editor and by `start_onboarding`; the demo may call it too."""
    template = session.exec(select(OnboardTemplate).where(OnboardTemplate.department == "")).first()
    if template is not None:
        return template
    template = OnboardTemplate(
        department="",
        checkin_days=DEFAULT_CHECKIN_DAYS,
        welcome_days_before=3,
        checklist=json.dumps(list(DEFAULT_CHECKLIST), ensure_ascii=False),
    )
    session.add(template)
    session.flush()
    for position, (zh, en, category, role, offset) in enumerate(DEFAULT_TASKS):
        session.add(
            TemplateTask(
                template_id=template.id or 0,
                position=position,
                title_zh=zh,
                title_en=en,
                category=category.value,
                owner_role=role.value,
                due_offset_days=offset,
            )
        )
    session.flush()
    return template


def list_templates(*, session: Session, actor: User) -> list[OnboardTemplate]:
    """Every onboarding template, the default ("" department) first; makes the default on first use."""
    policy.require_current_cap(session, actor, Cap.manage_onboarding)
    ensure_default_template(session=session)
    return list(session.exec(select(OnboardTemplate).order_by(col(OnboardTemplate.department))).all())


def _tasks_of(session: Session, template_id: int) -> list[TemplateTask]:
    return list(
        session.exec(
            select(TemplateTask)
            .where(TemplateTask.template_id == template_id)
            .order_by(col(TemplateTask.position), col(TemplateTask.id))
        ).all()
    )


def _view(session: Session, template: OnboardTemplate) -> TemplateView:
    return TemplateView(
        template, _tasks_of(session, template.id or 0), checklist_of(template), checkin_days_of(template)
    )


def get_template(*, session: Session, actor: User, template_id: int) -> TemplateView:
    """One template with its tasks (in order), checklist and check-in days."""
    policy.require_current_cap(session, actor, Cap.manage_onboarding)
    template = session.get(OnboardTemplate, template_id)
    if template is None:
        raise NotFound()
    return _view(session, template)


def create_template(*, session: Session, actor: User, department: str) -> OnboardTemplate:
    """A department's own template, starting as a copy of the default's tasks, checklist and settings."""
    actor = policy.require_current_cap(session, actor, Cap.manage_onboarding)
    name = (department or "").strip()
    if not name:
        raise ValidationError.single("department", "err.required")
    if len(name) > 80:
        raise ValidationError.single("department", "err.too_long", max=80)
    if session.exec(select(OnboardTemplate).where(OnboardTemplate.department == name)).first() is not None:
        raise ValidationError.single("department", "err.template_exists")
    default = ensure_default_template(session=session)
    template = OnboardTemplate(
        department=name,
        checkin_days=default.checkin_days,
        welcome_days_before=default.welcome_days_before,
        checklist=default.checklist,
        updated_by_id=actor.id,
    )
    session.add(template)
    session.flush()
    for task in _tasks_of(session, default.id or 0):
        data = task.model_dump(exclude={"id", "template_id"})
        session.add(TemplateTask(template_id=template.id or 0, **data))
    audit.record(session=session, actor=actor, entity="onboard_template", entity_id=template.id or 0, action="create")
    session.flush()
    return template


def _template_for_write(session: Session, actor: User, template_id: int, version: int) -> tuple[User, OnboardTemplate]:
    actor = policy.require_current_cap(session, actor, Cap.manage_onboarding)
    template = session.get(OnboardTemplate, template_id, with_for_update=True, populate_existing=True)
    if template is None:
        raise NotFound()
    if template.version != version:
        raise Conflict(current=template.version)
    return actor, template


def _touch(session: Session, actor: User, template: OnboardTemplate, action: str, changes: dict[str, Any]) -> None:
    template.version += 1
    template.updated_at = utcnow()
    template.updated_by_id = actor.id
    session.add(template)
    audit.record(
        session=session,
        actor=actor,
        entity="onboard_template",
        entity_id=template.id or 0,
        action=action,
        changes=changes,
    )
    session.flush()


def save_template(
    *, session: Session, actor: User, template_id: int, version: int, settings_in: dict[str, Any] | TemplateSettingsIn
) -> TemplateView:
    """Save a template's check-in days, welcome-mail lead and checklist; Conflict when someone saved since `version`."""
    data = validate(TemplateSettingsIn, settings_in if isinstance(settings_in, dict) else settings_in.model_dump())
    actor, template = _template_for_write(session, actor, template_id, version)
    template.checkin_days = data.checkin_days
    template.welcome_days_before = data.welcome_days_before
    template.checklist = json.dumps([e.model_dump() for e in data.checklist], ensure_ascii=False)
    _touch(session, actor, template, "update", {"checkin_days": data.checkin_days})
    return _view(session, template)


def _check_task_owner(session: Session, task: TemplateTaskIn) -> None:
    if task.owner_role == OwnerRole.person:
        person = session.get(User, task.owner_user_id) if task.owner_user_id else None
        if person is None or not person.is_active or not person.role_set:
            raise ValidationError.single("owner_user_id", "err.task_owner_inactive")


def _task_in(session: Session, task_in: dict[str, Any] | TemplateTaskIn) -> TemplateTaskIn:
    raw = task_in.model_dump() if isinstance(task_in, TemplateTaskIn) else dict(task_in)
    if not raw.get("owner_role"):
        raise ValidationError.single("owner_role", "err.task_owner_required")
    if raw.get("owner_role") == OwnerRole.person and not raw.get("owner_user_id"):
        raise ValidationError.single("owner_user_id", "err.task_owner_required")  # said next to the person field
    data: TemplateTaskIn = validate(TemplateTaskIn, raw)
    _check_task_owner(session, data)
    if data.owner_role != OwnerRole.person:
        data.owner_user_id = None
    return data


def add_template_task(
    *, session: Session, actor: User, template_id: int, version: int, task_in: dict[str, Any] | TemplateTaskIn
) -> TemplateTask:
    """Add a task at the end of a template (plans made later get it; running plans keep theirs)."""
    data = _task_in(session, task_in)
    actor, template = _template_for_write(session, actor, template_id, version)
    last = session.exec(select(func.max(TemplateTask.position)).where(TemplateTask.template_id == template_id)).one()
    task = TemplateTask(template_id=template_id, position=(last if last is not None else -1) + 1, **data.model_dump())
    session.add(task)
    session.flush()
    _touch(session, actor, template, "add_task", {"task_id": task.id, "title_en": task.title_en})
    return task


def _template_task(
    session: Session, actor: User, task_id: int, version: int
) -> tuple[User, OnboardTemplate, TemplateTask]:
    policy.require_current_cap(session, actor, Cap.manage_onboarding)
    task = session.get(TemplateTask, task_id)
    if task is None:
        raise NotFound()
    actor, template = _template_for_write(session, actor, task.template_id, version)
    return actor, template, task


def update_template_task(
    *, session: Session, actor: User, task_id: int, version: int, task_in: dict[str, Any] | TemplateTaskIn
) -> TemplateTask:
    """Change one template task (`version` is the template's)."""
    data = _task_in(session, task_in)
    actor, template, task = _template_task(session, actor, task_id, version)
    for name, value in data.model_dump().items():
        setattr(task, name, value)
    session.add(task)
    _touch(session, actor, template, "update_task", {"task_id": task_id, "title_en": task.title_en})
    return task


def remove_template_task(*, session: Session, actor: User, task_id: int, version: int) -> None:
    """Remove one task from a template (running plans keep their copy)."""
    actor, template, task = _template_task(session, actor, task_id, version)
    session.delete(task)
    session.flush()
    _touch(session, actor, template, "remove_task", {"task_id": task_id})


def move_template_task(*, session: Session, actor: User, task_id: int, version: int, up: bool) -> TemplateView:
    """Move a template task one place up or down."""
    actor, template, task = _template_task(session, actor, task_id, version)
    tasks = _tasks_of(session, template.id or 0)
    at = next(i for i, t in enumerate(tasks) if t.id == task_id)
    other = at - 1 if up else at + 1
    if 0 <= other < len(tasks):
        tasks[at], tasks[other] = tasks[other], tasks[at]
    for position, row in enumerate(tasks):
        row.position = position
        session.add(row)
    _touch(session, actor, template, "move_task", {"task_id": task_id, "up": up})
    return _view(session, template)


def attach_template_material(
    *, session: Session, actor: User, task_id: int, version: int, filename: str, content: bytes
) -> TemplateTask:
    """Attach a file (employee handbook, culture introduction…) to a template task; checked by type and size."""
    from services.onboard.materials import store_material

    actor, template, task = _template_task(session, actor, task_id, version)
    material = store_material(session=session, filename=filename, content=content, actor=actor)
    task.material_id = material.id
    session.add(task)
    _touch(session, actor, template, "attach_material", {"task_id": task_id, "material_id": material.id})
    return task


# --------------------------------------------------------------------------- starting and leaving a plan
def _set_stage(session: Session, app: Application, to: Stage, actor: User | None, reason: str = "") -> None:
    """Move an application along the pipeline as part of an onboarding step (the step has checked who acts)."""
    current = Stage(app.stage)
    now = utcnow()
    result = session.exec(
        update(Application)
        .where(col(Application.id) == app.id, col(Application.stage) == current)
        .values(stage=to, stage_changed_at=now)
    )
    if result.rowcount != 1:
        raise Conflict("err.stage_changed", stage=current.value)
    session.add(
        StageChange(
            application_id=app.id or 0,
            from_stage=current,
            to_stage=to,
            at=now,
            by_user_id=actor.id if actor else None,
            reason=reason,
        )
    )
    audit.record(
        session=session,
        actor=actor,
        entity="application",
        entity_id=app.id or 0,
        action="move_stage",
        changes={"stage": [current.value, to.value], "reason": reason},
    )
    session.flush()
    session.refresh(app)


def _template_for(session: Session, department: str) -> OnboardTemplate:
    own = session.exec(select(OnboardTemplate).where(OnboardTemplate.department == department)).first()
    return own if own is not None and department else ensure_default_template(session=session)


def _owner_of(role: str, named: int | None, plan: OnboardingPlan) -> int | None:
    """Who a task of `role` falls to on `plan`: None for the new hire (and for a buddy not named yet: the hiring
    manager then)."""
    return {
        OwnerRole.recruiter.value: plan.recruiter_id,
        OwnerRole.hiring_manager.value: plan.hiring_manager_id,
        OwnerRole.buddy.value: plan.buddy_id or plan.hiring_manager_id,
        OwnerRole.new_hire.value: None,
    }.get(role, named or plan.recruiter_id)


FINAL_CHECK_IN_WEEK = 7  # a final check-in on probation's last day, unless one already falls in its last week


def check_in_days(days: list[int], start_date: date, probation_end: date) -> list[int]:
    """The template's check-in days that fall within probation (a day-90 check-in makes no sense in a two-month
    probation); when some were cut, one more on probation's last day, so the manager still checks in before the
    outcome — unless a kept one already falls in the last week."""
    last = (probation_end - start_date).days
    kept = [d for d in days if d <= last]
    if len(kept) < len(days) and last > 0 and not any(d > last - FINAL_CHECK_IN_WEEK for d in kept):
        kept.append(last)
    return kept


def _fit_check_ins(session: Session, plan: OnboardingPlan, *, template_days: bool = True) -> None:
    """Give the plan the check-ins its probation has room for (on creation, and when the start date or probation
    end moves): open ones due after probation's end go, missing ones come — with `template_days` False (a moved
    start date) only the final one, so that a template edited since adds nothing to a running plan. Recorded
    check-ins always stay."""
    template = session.get(OnboardTemplate, plan.template_id) if plan.template_id else None
    days = checkin_days_of(template)
    wanted = set(check_in_days(days, plan.start_date, plan.probation_end))
    have = {c.day: c for c in session.exec(select(CheckIn).where(CheckIn.plan_id == plan.id))}
    for day, row in have.items():
        if row.done_at is None and day not in wanted and row.due_date > plan.probation_end:
            session.delete(row)
    missing = wanted - set(have) if template_days else wanted - set(have) - set(days)
    for day in sorted(missing):
        session.add(
            CheckIn(
                plan_id=plan.id or 0,
                day=day,
                due_date=plan.start_date + timedelta(days=day),
                manager_id=plan.hiring_manager_id,
            )
        )
    session.flush()


def start_onboarding(*, session: Session, offer: Offer, actor: User | None) -> OnboardingPlan | None:
    """Create the onboarding plan of an accepted offer (no commit); `actor` None when the candidate accepted
    through their link. Idempotent: the application's plan when it has one. Moves the application from `offer`
    to `hired` where it is not there yet. Copies the template of the job's department (else the default): tasks due
    start + offset, the checklist, a check-in per check-in day for the job's hiring manager; probation ends
    start + probation months."""
    # The application locked first: two acceptances at once (the link and a recruiter) make one plan, the second
    # finding the first's once it commits.
    app = session.get(Application, offer.application_id, with_for_update=True, populate_existing=True)
    existing = session.exec(select(OnboardingPlan).where(OnboardingPlan.application_id == offer.application_id)).first()
    if existing is not None:
        return existing
    job = session.get(Job, app.job_id) if app else None
    if app is None or job is None:
        raise NotFound()
    if app.stage == Stage.offer:
        _set_stage(session, app, Stage.hired, actor)
    template = _template_for(session, job.department)
    plan = OnboardingPlan(
        application_id=app.id or 0,
        offer_id=offer.id or 0,
        template_id=template.id,
        start_date=offer.start_date,
        probation_end=add_months(offer.start_date, offer.probation_months),
        hiring_manager_id=job.hiring_manager_id,
        recruiter_id=app.owner_id or offer.created_by_id,
        created_by_id=actor.id if actor else None,
    )
    session.add(plan)
    session.flush()
    for position, task in enumerate(_tasks_of(session, template.id or 0)):
        session.add(
            PlanTask(
                plan_id=plan.id or 0,
                position=position,
                title_zh=task.title_zh,
                title_en=task.title_en,
                category=task.category,
                owner_role=task.owner_role,
                owner_user_id=_owner_of(task.owner_role, task.owner_user_id, plan),
                due_offset_days=task.due_offset_days,
                due_date=plan.start_date + timedelta(days=task.due_offset_days),
                link_url=task.link_url,
                material_id=task.material_id,
            )
        )
    for position, item in enumerate(checklist_of(template)):
        session.add(ChecklistItem(plan_id=plan.id or 0, position=position, label_zh=item["zh"], label_en=item["en"]))
    _fit_check_ins(session, plan)
    audit.record(
        session=session,
        actor=actor,
        entity="onboarding_plan",
        entity_id=plan.id or 0,
        action="create",
        changes={"application_id": app.id, "offer_id": offer.id, "start_date": plan.start_date.isoformat()},
    )
    session.flush()
    return plan


def application_left(*, session: Session, application: Application, actor: User | None = None) -> None:
    """An application that left the hired stage (rejected, withdrawn) cancels its running plan, if any: its tasks
    and check-ins stop reminding. Called by `candidates.move_stage` in its transaction."""
    plan = session.exec(
        select(OnboardingPlan).where(
            OnboardingPlan.application_id == application.id, col(OnboardingPlan.status).in_(OPEN_PLAN)
        )
    ).first()
    if plan is None:
        return
    plan.status = PlanStatus.cancelled
    plan.version += 1
    session.add(plan)
    audit.record(session=session, actor=actor, entity="onboarding_plan", entity_id=plan.id or 0, action="cancel")
    session.flush()


# --------------------------------------------------------------------------- reading plans
@dataclass
class PlanRow:
    plan_id: int
    candidate_id: int
    name: str
    job_title: str
    start_date: date
    probation_end: date
    status: str
    done: int
    total: int
    overdue: int
    next_training: datetime | None
    next_check_in: date | None
    hiring_manager_id: int | None
    buddy_id: int | None


def _job_filter(actor: User) -> Any:
    scope = policy.job_scope(actor, Cap.onboard)
    return None if scope is None else col(Application.job_id).in_(scope)


def list_plans(*, session: Session, actor: User, include_closed: bool = False, limit: int = 500) -> list[PlanRow]:
    """New hires by start date with their plan's progress (done / total tasks, overdue), the next training session
    and the next check-in: every plan for admins and recruiters, a hiring manager's own jobs' plans."""
    actor = policy.require_current_cap(session, actor, Cap.onboard)
    now, day = utcnow(), today()
    query = (
        select(OnboardingPlan, Candidate.id, Candidate.name, Job.title)
        .join(Application, col(Application.id) == OnboardingPlan.application_id)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Job, col(Job.id) == Application.job_id)
        .where(col(Candidate.anonymised_at).is_(None))
        .order_by(col(OnboardingPlan.start_date), col(OnboardingPlan.id))
        .limit(limit)
    )
    where = _job_filter(actor)
    if where is not None:
        query = query.where(where)
    if not include_closed:
        query = query.where(col(OnboardingPlan.status).in_(OPEN_PLAN))
    rows = session.exec(query).all()
    ids = [p.id for p, _, _, _ in rows]
    if not ids:
        return []
    counts: dict[int, tuple[int, int, int]] = {}
    for plan_id, total, done, overdue in session.exec(
        select(
            PlanTask.plan_id,
            func.count(),
            func.count(col(PlanTask.done_at)),
            func.sum(case((and_(col(PlanTask.done_at).is_(None), col(PlanTask.due_date) < day), 1), else_=0)),
        )
        .where(col(PlanTask.plan_id).in_(ids))
        .group_by(col(PlanTask.plan_id))
    ).all():
        counts[plan_id] = (total, done, int(overdue or 0))
    trainings = dict(
        session.exec(
            select(TrainingSession.plan_id, func.min(TrainingSession.starts_at))
            .where(
                col(TrainingSession.plan_id).in_(ids),
                TrainingSession.status == "scheduled",
                col(TrainingSession.starts_at) >= now,
            )
            .group_by(col(TrainingSession.plan_id))
        ).all()
    )
    checkins = dict(
        session.exec(
            select(CheckIn.plan_id, func.min(CheckIn.due_date))
            .where(col(CheckIn.plan_id).in_(ids), col(CheckIn.done_at).is_(None))
            .group_by(col(CheckIn.plan_id))
        ).all()
    )
    out = []
    for plan, candidate_id, name, title in rows:
        total, done, overdue = counts.get(plan.id or 0, (0, 0, 0))
        out.append(
            PlanRow(
                plan_id=plan.id or 0,
                candidate_id=candidate_id or 0,
                name=name,
                job_title=title,
                start_date=plan.start_date,
                probation_end=plan.probation_end,
                status=plan.status,
                done=done,
                total=total,
                overdue=overdue,
                next_training=trainings.get(plan.id or 0),
                next_check_in=checkins.get(plan.id or 0),
                hiring_manager_id=plan.hiring_manager_id,
                buddy_id=plan.buddy_id,
            )
        )
    return out


@dataclass
class PlanDetail:
    plan: OnboardingPlan
    candidate: Candidate
    job: Job
    application: Application
    tasks: list[PlanTask]
    checklist: list[ChecklistItem]
    check_ins: list[CheckIn]
    people: dict[int, str] = field(default_factory=dict)  # user id → name, of everyone the plan names
    may_edit: bool = False
    may_check_in: bool = False
    may_decide: bool = False


def plan_detail(*, session: Session, actor: User, plan_id: int) -> PlanDetail:
    """One new hire's plan: tasks in order, the checklist as the new hire ticked it, check-ins, and what the actor
    may do with it."""
    found = plan_in_scope(session=session, actor=actor, plan_id=plan_id, cap=Cap.onboard)
    plan = found.plan
    tasks = list(
        session.exec(
            select(PlanTask).where(PlanTask.plan_id == plan_id).order_by(col(PlanTask.position), col(PlanTask.id))
        ).all()
    )
    checklist = list(
        session.exec(
            select(ChecklistItem)
            .where(ChecklistItem.plan_id == plan_id)
            .order_by(col(ChecklistItem.position), col(ChecklistItem.id))
        ).all()
    )
    check_ins = list(session.exec(select(CheckIn).where(CheckIn.plan_id == plan_id).order_by(col(CheckIn.day))).all())
    ids = {plan.hiring_manager_id, plan.recruiter_id, plan.buddy_id, plan.outcome_by_id}
    ids |= {t.owner_user_id for t in tasks} | {t.done_by_id for t in tasks} | {c.done_by_id for c in check_ins}
    ids |= {c.manager_id for c in check_ins}
    wanted = [i for i in ids if i]
    people = dict(session.exec(select(User.id, User.name).where(col(User.id).in_(wanted))).all()) if wanted else {}
    current, job = found.actor, found.job
    return PlanDetail(
        plan=plan,
        candidate=found.candidate,
        job=job,
        application=found.application,
        tasks=tasks,
        checklist=checklist,
        check_ins=check_ins,
        people={k: v for k, v in people.items() if k is not None},
        may_edit=policy.allows(current, Cap.edit_plans, job),
        may_check_in=policy.allows(current, Cap.check_in, job),
        may_decide=policy.allows(current, Cap.probation_outcome, job),
    )


# --------------------------------------------------------------------------- changing a plan
def _plan_for_write(session: Session, actor: User, plan_id: int, cap: Cap, version: int | None) -> PlanInScope:
    """Every plan writer's prologue: the plan in the actor's scope for `cap`, locked; a Conflict when it was saved
    since `version` (None: the caller checks a row of its own); InvalidTransition when it has ended."""
    found = plan_in_scope(session=session, actor=actor, plan_id=plan_id, cap=cap, lock=True)
    if version is not None and found.plan.version != version:
        raise Conflict(current=found.plan)  # the plan as saved meanwhile: the page names what changed
    _open(found.plan)
    return found


def _open(plan: OnboardingPlan) -> None:
    if plan.status not in OPEN_PLAN:
        raise InvalidTransition("err.plan_closed")


def _bump(session: Session, plan: OnboardingPlan) -> None:
    plan.version += 1
    session.add(plan)
    session.flush()


def move_start_date(*, session: Session, actor: User, plan_id: int, version: int, start_date: date) -> OnboardingPlan:
    """Move a new hire's start date: every open task's due date, every open check-in's and the probation end move
    by as many days (ticked tasks and recorded check-ins keep theirs)."""
    found = _plan_for_write(session, actor, plan_id, Cap.edit_plans, version)
    plan = found.plan
    if not isinstance(start_date, date):
        raise ValidationError.single("start_date", "err.required")
    offer = session.get(Offer, plan.offer_id)
    if offer is not None and start_date < offer.created_at.date():
        raise ValidationError.single("start_date", "err.start_before_offer")
    shift = start_date - plan.start_date
    if not shift:
        return plan
    for task in session.exec(select(PlanTask).where(PlanTask.plan_id == plan_id, col(PlanTask.done_at).is_(None))):
        task.due_date = start_date + timedelta(days=task.due_offset_days)
        session.add(task)
    for check_in in session.exec(select(CheckIn).where(CheckIn.plan_id == plan_id, col(CheckIn.done_at).is_(None))):
        check_in.due_date = start_date + timedelta(days=check_in.day)
        session.add(check_in)
    old = plan.start_date
    plan.start_date = start_date
    plan.probation_end = plan.probation_end + shift
    _fit_check_ins(session, plan, template_days=False)
    audit.record(
        session=session,
        actor=found.actor,
        entity="onboarding_plan",
        entity_id=plan_id,
        action="move_start",
        changes={"start_date": [old.isoformat(), start_date.isoformat()]},
    )
    _bump(session, plan)
    return plan


def set_buddy(*, session: Session, actor: User, plan_id: int, version: int, buddy_id: int | None) -> OnboardingPlan:
    """Name (or clear) the new hire's buddy; the buddy's open tasks go to them (to the hiring manager when none)."""
    found = _plan_for_write(session, actor, plan_id, Cap.edit_plans, version)
    plan = found.plan
    if buddy_id is not None:
        buddy = session.get(User, buddy_id)
        if buddy is None or not buddy.is_active or not buddy.role_set:
            raise ValidationError.single("buddy_id", "err.user_inactive")
    plan.buddy_id = buddy_id
    for task in session.exec(
        select(PlanTask).where(
            PlanTask.plan_id == plan_id, PlanTask.owner_role == OwnerRole.buddy, col(PlanTask.done_at).is_(None)
        )
    ):
        task.owner_user_id = buddy_id or plan.hiring_manager_id
        session.add(task)
    audit.record(
        session=session,
        actor=found.actor,
        entity="onboarding_plan",
        entity_id=plan_id,
        action="set_buddy",
        changes={"buddy_id": buddy_id},
    )
    _bump(session, plan)
    return plan


def cancel_plan(*, session: Session, actor: User, plan_id: int, version: int) -> OnboardingPlan:
    """Stop a plan whose new hire will not start (its tasks and check-ins stop reminding); the application stays
    where it is (move it in the pipeline to close it)."""
    found = _plan_for_write(session, actor, plan_id, Cap.edit_plans, version)
    plan = found.plan
    plan.status = PlanStatus.cancelled
    audit.record(session=session, actor=found.actor, entity="onboarding_plan", entity_id=plan_id, action="cancel")
    _bump(session, plan)
    return plan


def tick_task(*, session: Session, actor: User, task_id: int, ticked: bool = True) -> PlanTask:
    """Tick a plan task off (or un-tick it): people who edit plans for the job, and the task's owner."""
    current = policy.require_current_cap(session, actor, Cap.use_app)
    task = session.get(PlanTask, task_id, with_for_update=True, populate_existing=True)
    if task is None:
        raise NotFound()
    if task.owner_user_id is None or task.owner_user_id != current.id:
        found = plan_in_scope(session=session, actor=current, plan_id=task.plan_id, cap=Cap.edit_plans)
        plan = found.plan
    else:
        plan_row = session.get(OnboardingPlan, task.plan_id)
        if plan_row is None:
            raise NotFound()
        plan = plan_row
    _open(plan)
    if ticked and task.done_at is None:
        task.done_at, task.done_by_id = utcnow(), current.id
    elif not ticked and task.done_at is not None:
        task.done_at, task.done_by_id = None, None
        task.due_date = plan.start_date + timedelta(days=task.due_offset_days)  # back on the plan's dates
    else:
        return task  # already so: a double click changes nothing
    session.add(task)
    audit.record(
        session=session,
        actor=current,
        entity="plan_task",
        entity_id=task_id,
        action="tick" if ticked else "untick",
    )
    session.flush()
    return task


def record_check_in(
    *, session: Session, actor: User, check_in_id: int, version: int, check_in_in: dict[str, Any] | CheckInIn
) -> CheckIn:
    """Record (or correct) a probation check-in: rating 1–5, on track or not, notes and concerns; refused before the
    start date."""
    data: CheckInIn = validate(CheckInIn, check_in_in if isinstance(check_in_in, dict) else check_in_in.model_dump())
    policy.require_current_cap(session, actor, Cap.check_in)
    row = session.get(CheckIn, check_in_id)
    if row is None:
        raise NotFound()
    found = _plan_for_write(session, actor, row.plan_id, Cap.check_in, None)
    if today() < found.plan.start_date:  # nothing to say of days the new hire has not worked
        raise ValidationError.single("__all__", "err.check_in_before_start")
    session.refresh(row, with_for_update=True)
    if row.version != version:
        raise Conflict(current=row.version)
    row.rating, row.on_track, row.notes, row.concerns = data.rating, data.on_track, data.notes, data.concerns
    row.done_at, row.done_by_id = utcnow(), found.actor.id
    row.version += 1
    session.add(row)
    audit.record(
        session=session,
        actor=found.actor,
        entity="check_in",
        entity_id=check_in_id,
        action="check_in",
        changes={"day": row.day, "rating": data.rating, "on_track": data.on_track},
    )
    session.flush()
    return row


def record_outcome(
    *, session: Session, actor: User, plan_id: int, version: int, outcome_in: dict[str, Any] | ProbationOutcomeIn
) -> OnboardingPlan:
    """Record the probation outcome: passed (the application ends at probation_passed), extended to a later end
    date (the plan runs on, with the check-ins the longer probation has room for), or not passed (the application
    ends rejected, reason "probation_not_passed"). Refused before the start date."""
    data: ProbationOutcomeIn = validate(
        ProbationOutcomeIn, outcome_in if isinstance(outcome_in, dict) else outcome_in.model_dump()
    )
    found = _plan_for_write(session, actor, plan_id, Cap.probation_outcome, version)
    plan, app = found.plan, found.application
    if today() < plan.start_date:  # not even "not passed": a new hire who will not start has their plan cancelled
        raise ValidationError.single("outcome", "err.outcome_before_start")
    if data.outcome == PlanStatus.extended:
        if data.extended_to is None or data.extended_to <= plan.probation_end:
            raise ValidationError.single("extended_to", "err.extended_to_later")
        plan.probation_end = data.extended_to
        _fit_check_ins(session, plan)  # the template's days the longer probation now has room for
    elif app.stage != Stage.hired:
        raise InvalidTransition(from_stage=str(app.stage), to_stage=Stage.probation_passed.value)
    plan.status = data.outcome
    plan.outcome_at, plan.outcome_by_id, plan.outcome_notes = utcnow(), found.actor.id, data.notes
    _bump(session, plan)  # closed before the stage moves: leaving `hired` cancels only a running plan
    if data.outcome == PlanStatus.passed:
        _set_stage(session, app, Stage.probation_passed, found.actor, data.notes[:1000])
    elif data.outcome == PlanStatus.not_passed:
        _set_stage(session, app, Stage.rejected, found.actor, NOT_PASSED_REASON)
    audit.record(
        session=session,
        actor=found.actor,
        entity="onboarding_plan",
        entity_id=plan_id,
        action="probation_outcome",
        changes={"outcome": data.outcome.value, "probation_end": plan.probation_end.isoformat()},
    )
    session.flush()
    return plan


def plan_people(*, session: Session, actor: User) -> list[tuple[int, str]]:
    """Active people who may be named a buddy or a task's owner: (id, name), by name."""
    policy.require_current_cap(session, actor, Cap.onboard)
    rows = session.exec(select(User.id, User.name, User.roles).where(col(User.is_active)).order_by(User.name)).all()
    return [(uid, name) for uid, name, roles in rows if uid is not None and roles]


@dataclass
class OwnedTask:
    task: PlanTask
    plan_id: int
    name: str  # the new hire's
    job_title: str


def my_plan_tasks(*, session: Session, actor: User, limit: int = 200) -> list[OwnedTask]:
    """The open tasks of running plans that the actor owns (IT, a buddy, a recruiter…), earliest due first: what
    they tick off, even without access to the Onboard page."""
    current = policy.require_current_cap(session, actor, Cap.use_app)
    rows = session.exec(
        select(PlanTask, Candidate.name, Job.title)
        .join(OnboardingPlan, col(OnboardingPlan.id) == PlanTask.plan_id)
        .join(Application, col(Application.id) == OnboardingPlan.application_id)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Job, col(Job.id) == Application.job_id)
        .where(
            PlanTask.owner_user_id == current.id,
            col(PlanTask.done_at).is_(None),
            col(OnboardingPlan.status).in_(OPEN_PLAN),
            col(Candidate.anonymised_at).is_(None),
        )
        .order_by(col(PlanTask.due_date), col(PlanTask.id))
        .limit(limit)
    ).all()
    return [OwnedTask(task, task.plan_id, name, title) for task, name, title in rows]
