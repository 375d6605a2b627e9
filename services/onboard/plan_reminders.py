"""Reminder rules and My-tasks entries for onboarding plans: a task whose due date has come reminds its owner, a
probation check-in reminds the hiring manager a few days before it is due, and the end of probation reminds the
hiring manager and the recruiter two weeks before, until the outcome is recorded.

Each reminder's window is the date it counts from (the due date, the end of probation): a date that moves (a new
start date, an extended probation) reminds again, once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Row
from sqlmodel import Session, col, select

import services.mail.tasks
from models.candidate import Application, Candidate
from models.onboard import CheckIn, OnboardingPlan, PlanTask
from models.user import User
from services.mail.reminders import Found, Scan, Words, date_text, key, rule
from services.mail.tasks import HORIZON, Task, before, provider
from services.onboard.plans import OPEN_PLAN
from services.platform.config import Settings, get_settings
from services.platform.i18n import fmt_date, t
from services.platform.policy import Cap, holds

LOOKBACK = timedelta(days=14)  # older items stay on My tasks but stop mailing
CHECK_IN_AHEAD = timedelta(days=3)  # a check-in reminds its manager this long before it is due
PROBATION_AHEAD = timedelta(days=14)  # the end of probation reminds this long before


def due_at(day: date) -> datetime:
    """When an item due on `day` falls due: 09:00 that day, company time (in UTC)."""
    return datetime.combine(day, time(9, 0), tzinfo=get_settings().tz).astimezone(UTC)


def _today(now: datetime, settings: Settings) -> date:
    return now.astimezone(settings.tz).date()


def _plan_link(settings: Settings, plan_id: int) -> str:
    return f"{settings.base_url.rstrip('/')}/new_hire?plan={plan_id}"


def _running() -> tuple[Any, ...]:
    """SQL: the plan of the enclosing query still runs and its candidate is not anonymised."""
    return (
        col(OnboardingPlan.status).in_(OPEN_PLAN),
        col(Candidate.anonymised_at).is_(None),
    )


def _due_rows(*columns: Any, item: Any, window: Any, ahead: timedelta, day: date, where: tuple[Any, ...]) -> Any:
    """SQL of one reminder rule: `columns` and the candidate's name, of `item` rows (PlanTask, CheckIn: joined to
    their plan; OnboardingPlan: the plans themselves) matching `where`, whose `window` date falls from LOOKBACK
    before `day` to `ahead` after it, in running plans."""
    query = select(*columns, Candidate.name)  # type: ignore[call-overload]  # as many columns as the rule reads
    if item is not OnboardingPlan:
        query = query.join(OnboardingPlan, col(OnboardingPlan.id) == item.plan_id)
    return (
        query.join(Application, col(Application.id) == OnboardingPlan.application_id)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .where(*where, col(window) <= day + ahead, col(window) >= day - LOOKBACK, *_running())
    )


def _both(msgid: str, **params: Any) -> tuple[str, str]:
    """`msgid` in Chinese and in English, each with the parameters that end in `_zh` / `_en` given in its own
    language (a task's title is written in both)."""

    def one(lang: str) -> str:
        other = "en" if lang == "zh" else "zh"
        filled = {k.removesuffix(f"_{lang}"): v for k, v in params.items() if not k.endswith(f"_{other}")}
        return t(msgid, lang, **filled)

    return one("zh"), one("en")


@rule("plan_task_due")
def plan_task_due(scan: Scan, settings: Settings) -> Iterable[Found]:
    """An open plan task whose due date has come reminds its owner (once per due date; the new hire's own tasks
    are on their page, not in anyone's mail)."""
    day = _today(scan.now, settings)
    query = _due_rows(
        key("plan_task:", PlanTask.id).label("item_key"),
        date_text(PlanTask.due_date).label("window"),
        col(PlanTask.owner_user_id).label("user_id"),
        col(PlanTask.plan_id).label("plan_id"),
        PlanTask.title_zh,
        PlanTask.title_en,
        PlanTask.due_date,
        item=PlanTask,
        window=PlanTask.due_date,
        ahead=timedelta(0),
        day=day,
        where=(col(PlanTask.done_at).is_(None), col(PlanTask.owner_user_id).is_not(None)),
    )

    def words(row: Row[Any]) -> Words:
        return Words(
            *_both("reminder.plan_task.title", task_zh=row.title_zh, task_en=row.title_en, name=row.name),
            *_both(
                "reminder.plan_task.detail",
                due_zh=fmt_date(row.due_date, "zh"),
                due_en=fmt_date(row.due_date, "en"),
            ),
            link=_plan_link(settings, row.plan_id),
            due=row.window,
        )

    yield Found("plan_task_due", query, words, cap=2000)


@rule("check_in_due", recipients=Cap.check_in)
def check_in_due(scan: Scan, settings: Settings) -> Iterable[Found]:
    """A probation check-in not yet recorded reminds its manager a few days before it is due (once per due date)."""
    day = _today(scan.now, settings)
    query = _due_rows(
        key("check_in:", CheckIn.id).label("item_key"),
        date_text(CheckIn.due_date).label("window"),
        col(CheckIn.manager_id).label("user_id"),
        col(CheckIn.plan_id).label("plan_id"),
        CheckIn.day,
        CheckIn.due_date,
        item=CheckIn,
        window=CheckIn.due_date,
        ahead=CHECK_IN_AHEAD,
        day=day,
        where=(col(CheckIn.done_at).is_(None), col(CheckIn.manager_id).is_not(None)),
    )

    def words(row: Row[Any]) -> Words:
        return Words(
            *_both("reminder.check_in.title", name=row.name, day=row.day),
            *_both(
                "reminder.check_in.detail", due_zh=fmt_date(row.due_date, "zh"), due_en=fmt_date(row.due_date, "en")
            ),
            link=_plan_link(settings, row.plan_id),
            due=row.window,
        )

    yield Found("check_in_due", query, words, cap=2000)


@rule("probation_ending", recipients=Cap.probation_outcome)
def probation_ending(scan: Scan, settings: Settings) -> Iterable[Found]:
    """The end of a probation without an outcome yet reminds the hiring manager and the recruiter two weeks before
    (once per end date: an extension reminds again)."""
    day = _today(scan.now, settings)

    def query(person: Any) -> Any:
        return _due_rows(
            key("probation:", OnboardingPlan.id).label("item_key"),
            date_text(OnboardingPlan.probation_end).label("window"),
            col(person).label("user_id"),
            col(OnboardingPlan.id).label("plan_id"),
            OnboardingPlan.probation_end,
            item=OnboardingPlan,
            window=OnboardingPlan.probation_end,
            ahead=PROBATION_AHEAD,
            day=day,
            where=(col(person).is_not(None),),
        )

    def words(row: Row[Any]) -> Words:
        return Words(
            *_both("reminder.probation.title", name=row.name),
            *_both(
                "reminder.probation.detail",
                end_zh=fmt_date(row.probation_end, "zh"),
                end_en=fmt_date(row.probation_end, "en"),
            ),
            link=_plan_link(settings, row.plan_id),
            due=row.window,
        )

    yield Found("probation_ending", query(OnboardingPlan.hiring_manager_id), words, cap=2000)
    yield Found("probation_ending", query(OnboardingPlan.recruiter_id), words, cap=2000)


# --------------------------------------------------------------------------- My tasks
def _page(user: User, plan_id: int) -> tuple[str, dict[str, str]]:
    """The new hire's page for those who may open it; My tasks itself for a task owner who may not (IT, say)."""
    if holds(user, Cap.onboard):
        return "pages/new_hire.py", {"plan": str(plan_id)}
    return "pages/my_tasks.py", {}


def _horizon(now: datetime, due_by: datetime | None, ahead: timedelta = timedelta(0)) -> date:
    return (before(now + HORIZON, due_by) + ahead).astimezone(get_settings().tz).date()


@provider
def plan_task_tasks(session: Session, user: User, now: datetime, due_by: datetime | None = None) -> list[Task]:
    """Onboarding tasks I own, not ticked off, due by the horizon (overdue ones first)."""
    rows = session.exec(
        select(PlanTask.plan_id, PlanTask.due_date, PlanTask.title_zh, PlanTask.title_en, Candidate.name)  # type: ignore[call-overload]
        .join(OnboardingPlan, col(OnboardingPlan.id) == PlanTask.plan_id)
        .join(Application, col(Application.id) == OnboardingPlan.application_id)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .where(
            PlanTask.owner_user_id == user.id,
            col(PlanTask.done_at).is_(None),
            col(PlanTask.due_date) <= _horizon(now, due_by),
            *_running(),
        )
        .order_by(col(PlanTask.due_date), col(PlanTask.id))
        .limit(services.mail.tasks.LIMIT)
    ).all()
    out = []
    for plan_id, due, title_zh, title_en, name in rows:
        page, query = _page(user, plan_id)
        title = title_en if user.language == "en" else title_zh
        out.append(
            Task(kind="plan_task", params={"task": title, "name": name}, due_at=due_at(due), page=page, query=query)
        )
    return out


@provider
def check_in_tasks(session: Session, user: User, now: datetime, due_by: datetime | None = None) -> list[Task]:
    """Probation check-ins I am to hold, not recorded yet, due within a few days."""
    if not holds(user, Cap.check_in):
        return []
    rows = session.exec(
        select(col(CheckIn.plan_id), col(CheckIn.due_date), col(CheckIn.day), col(Candidate.name))
        .join(OnboardingPlan, col(OnboardingPlan.id) == CheckIn.plan_id)
        .join(Application, col(Application.id) == OnboardingPlan.application_id)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .where(
            CheckIn.manager_id == user.id,
            col(CheckIn.done_at).is_(None),
            col(CheckIn.due_date) <= _horizon(now, due_by, CHECK_IN_AHEAD),
            *_running(),
        )
        .order_by(col(CheckIn.due_date), col(CheckIn.id))
        .limit(services.mail.tasks.LIMIT)
    ).all()
    return [
        Task(
            kind="check_in",
            params={"name": name, "day": day},
            due_at=due_at(due),
            page="pages/new_hire.py",
            query={"plan": str(plan_id)},
        )
        for plan_id, due, day, name in rows
    ]


@provider
def probation_tasks(session: Session, user: User, now: datetime, due_by: datetime | None = None) -> list[Task]:
    """New hires of mine (as hiring manager or recruiter) whose probation ends within two weeks, outcome not yet
    recorded."""
    if not holds(user, Cap.probation_outcome):
        return []
    rows = session.exec(
        select(col(OnboardingPlan.id), col(OnboardingPlan.probation_end), col(Candidate.name))
        .join(Application, col(Application.id) == OnboardingPlan.application_id)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .where(
            (col(OnboardingPlan.hiring_manager_id) == user.id) | (col(OnboardingPlan.recruiter_id) == user.id),
            col(OnboardingPlan.probation_end) <= _horizon(now, due_by, PROBATION_AHEAD),
            *_running(),
        )
        .order_by(col(OnboardingPlan.probation_end), col(OnboardingPlan.id))
        .limit(services.mail.tasks.LIMIT)
    ).all()
    return [
        Task(
            kind="probation_outcome",
            params={"name": name, "end": end.isoformat()},
            due_at=due_at(end),
            page="pages/new_hire.py",
            query={"plan": str(plan_id)},
        )
        for plan_id, end, name in rows
    ]
