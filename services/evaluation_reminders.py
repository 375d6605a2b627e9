"""Reminder rules and My-tasks entries for scorecards: due 1 hour after the interview, then daily; after 48 hours
the candidate's recruiter is told too."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.common import Role, Stage
from models.evaluation import Interview, InterviewPanelist, InterviewStatus, Scorecard, ScorecardStatus
from models.job import Job
from models.user import User
from services.config import Settings
from services.reminders import RECIPIENT_ROLES, ReminderItem, rule
from services.tasks import HORIZON, Task, provider

FIRST_REMINDER = timedelta(hours=1)
ESCALATE_AFTER = timedelta(hours=48)
DECISION_DUE = timedelta(days=2)
LOOKBACK = timedelta(days=14)  # older missing scorecards stay on My tasks but stop mailing


def _pending(session: Session, *, ended_after: datetime, ended_by: datetime, panelist: int | None = None,
             owner: int | None = None):  # noqa: ANN202 - result rows
    panelist_user = aliased(User)
    submitted = select(Scorecard.id).where(Scorecard.interview_id == Interview.id,
                                           Scorecard.interviewer_id == InterviewPanelist.user_id,
                                           Scorecard.status == ScorecardStatus.submitted).exists()
    query = (
        select(Interview.id, Interview.ends_at, InterviewPanelist.user_id, panelist_user.name, Candidate.id,
               Candidate.name, Candidate.owner_id, Job.title, Application.id)
        .join(InterviewPanelist, col(InterviewPanelist.interview_id) == Interview.id)
        .join(panelist_user, col(panelist_user.id) == InterviewPanelist.user_id)
        .join(Application, col(Application.id) == Interview.application_id)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Job, col(Job.id) == Application.job_id)
        .where(Interview.status == InterviewStatus.scheduled, col(Interview.ends_at) >= ended_after,
               col(Interview.ends_at) <= ended_by, ~submitted)  # at 1 h (48 h) sharp it is due
        .order_by(Interview.ends_at).limit(2000)
    )
    if panelist is not None:
        query = query.where(InterviewPanelist.user_id == panelist)
    if owner is not None:
        query = query.where(Candidate.owner_id == owner)
    return session.exec(query).all()


# The 48-hour escalation goes to the candidate's recruiter, only while they are one.
RECIPIENT_ROLES["scorecard_overdue"] = (Role.admin, Role.recruiter)


@rule("scorecard_due")
def scorecard_due(session: Session, now: datetime, settings: Settings) -> Iterable[ReminderItem]:
    """A scorecard not submitted 1 hour after the interview ended reminds the interviewer, then once a day;
    after 48 hours the candidate's recruiter is told as well (once)."""
    base = settings.base_url.rstrip("/")
    for iv_id, ends_at, uid, who, _cand_id, cand, owner_id, title, app_id in _pending(
            session, ended_after=now - LOOKBACK, ended_by=now - FIRST_REMINDER):
        late = now - ends_at
        window = "first" if late < timedelta(hours=24) else f"day{late.days}"
        hours = int(late.total_seconds() // 3600)
        yield ReminderItem(
            rule="scorecard_due", item_key=f"scorecard:{iv_id}:{uid}", window=window, user_id=uid,
            title_zh=f"请提交 {cand} 的面试评价（{title}）",
            title_en=f"Please submit your scorecard for {cand} ({title})",
            detail_zh=f"面试已结束 {hours} 小时，您的评价还未提交。",
            detail_en=f"The interview ended {hours} hours ago; your scorecard is not in yet.",
            link=f"{base}/scorecard?interview={iv_id}")
        if late >= ESCALATE_AFTER and owner_id and owner_id != uid:
            yield ReminderItem(
                rule="scorecard_overdue", item_key=f"scorecard:{iv_id}:{uid}", window="48h", user_id=owner_id,
                title_zh=f"{who} 尚未提交 {cand} 的面试评价（已超过 48 小时）",
                title_en=f"{who} has not submitted the scorecard for {cand} (over 48 hours)",
                detail_zh=f"{title} · 面试结束于 {ends_at.astimezone(settings.tz):%Y-%m-%d %H:%M}",
                detail_en=f"{title} · interview ended {ends_at.astimezone(settings.tz):%Y-%m-%d %H:%M}",
                link=f"{base}/debrief?application={app_id}")


@provider
def my_pending_scorecards(session: Session, user: User, now: datetime) -> list[Task]:
    """Scorecards I still owe, due an hour after each interview ended."""
    return [
        Task(kind="scorecard_pending", params={"name": cand, "job": title}, due_at=ends_at + FIRST_REMINDER,
             page="pages/scorecard.py", query={"interview": str(iv_id)})
        for iv_id, ends_at, _uid, _who, _cid, cand, _owner, title, _app in _pending(
            session, ended_after=now - timedelta(days=90), ended_by=now + HORIZON, panelist=user.id)
        if ends_at <= now
    ]


@provider
def overdue_scorecards_of_my_candidates(session: Session, user: User, now: datetime) -> list[Task]:
    """For a recruiter: colleagues' scorecards on my candidates more than 48 hours late."""
    if not user.has_role(Role.admin, Role.recruiter):
        return []
    return [
        Task(kind="scorecard_overdue", params={"who": who, "name": cand, "job": title},
             due_at=ends_at + ESCALATE_AFTER, page="pages/debrief.py", query={"application": str(app_id)})
        for _iv, ends_at, uid, who, _cid, cand, _owner, title, app_id in _pending(
            session, ended_after=now - timedelta(days=90), ended_by=now - ESCALATE_AFTER, owner=user.id)
        if uid != user.id
    ]


@provider
def decisions_waiting(session: Session, user: User, now: datetime) -> list[Task]:
    """For a hiring manager: applications to their jobs waiting for a decision (due two days after they got there)."""
    if not user.has_role(Role.hiring_manager):
        return []
    rows = session.exec(
        select(Application.id, Application.stage_changed_at, Candidate.name, Job.title)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Job, col(Job.id) == Application.job_id)
        .where(Job.hiring_manager_id == user.id, Application.stage == Stage.decision_pending,
               col(Candidate.anonymised_at).is_(None))
        .order_by(Application.stage_changed_at).limit(200))
    return [Task(kind="decision_waiting", params={"name": name, "job": title}, due_at=changed + DECISION_DUE,
                 page="pages/debrief.py", query={"application": str(app_id)})
            for app_id, changed, name, title in rows]
