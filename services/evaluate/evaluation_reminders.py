"""Reminder rules and My-tasks entries for scorecards: due 1 hour after the interview, then daily; after 48 hours
the candidate's recruiter is told too."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, String, literal
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from models.candidate import Application, Candidate
from models.common import Stage
from models.evaluation import Interview, InterviewPanelist, InterviewStatus
from models.job import Job
from models.user import User
from services.evaluate.evaluation import owed_seats
from services.mail.reminders import RECIPIENTS, Found, Scan, Words, elapsed, key, ntexts, rule, texts
from services.mail.tasks import LIMIT, Task, before, provider
from services.platform.config import Settings
from services.platform.policy import Cap, Scope, has_scope, holds, managed_by, owned_by

FIRST_REMINDER = timedelta(hours=1)
ESCALATE_AFTER = timedelta(hours=48)
DECISION_DUE = timedelta(days=2)
LOOKBACK = timedelta(days=14)  # older missing scorecards stay on My tasks but stop mailing


def _owed(
    ended_after: datetime,
    ended_by: datetime,
    panelist: int | None = None,
    scan: Scan | None = None,
    times: Sequence[timedelta] = (),
) -> Any:
    """(interview_id, user_id, ends_at, application_id): the scorecards still owed (`evaluation.owed_seats`) for
    held interviews ended between the two instants; the candidate, job and names are read only for these.
    For an incremental `scan`, only the interviews for which a reminder time (end + one of `times`) came since
    the last pass: each range read from the index on the end in an arm of its own, then their owed seats."""
    if scan is not None and scan.since is not None:
        seats = (
            select(
                InterviewPanelist.interview_id, InterviewPanelist.user_id, Interview.ends_at, Interview.application_id
            )
            .join(InterviewPanelist, col(InterviewPanelist.interview_id) == Interview.id)
            .where(col(InterviewPanelist.settled_at).is_(None))
        )
        return (
            scan.union(
                seats,
                col(Interview.ends_at),
                times,
                (ended_after, ended_by),
                Interview.status == InterviewStatus.scheduled,
            )
            .cte("owed")
            .prefix_with("MATERIALIZED")
        )
    seats = owed_seats(panelist, ended_within=(ended_after, ended_by))  # at 1 h (48 h) sharp it is due
    return (
        select(seats.c.interview_id, seats.c.user_id, seats.c.ends_at, seats.c.application_id)
        .where(seats.c.status == InterviewStatus.scheduled)  # (an owed seat's interview is on: as a check)
        .cte("owed")
        .prefix_with("MATERIALIZED")
    )


def _owed_select(owed: Any, *columns: Any) -> Select[*tuple[Any, ...]]:
    who = aliased(User)
    # (sqlmodel types select() for up to 4 columns, not these n + 4)
    return (  # type: ignore[no-any-return]
        select(
            *columns,
            col(who.name).label("who"),  # type: ignore[call-overload]
            col(Candidate.name).label("candidate"),
            Job.title,
            col(Candidate.owner_id).label("owner_id"),
        )
        .select_from(owed)
        .join(who, col(who.id) == owed.c.user_id)
        .join(Application, col(Application.id) == owed.c.application_id)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Job, col(Job.id) == Application.job_id)
    )


def _pending(
    session: Session,
    *,
    ended_after: datetime,
    ended_by: datetime,
    panelist: int | None = None,
    owner: int | None = None,
) -> list[Row[Any]]:
    """The owed scorecards (of `panelist`, or of `owner`'s candidates), oldest first: (interview_id, ends_at,
    user_id, application_id, who, candidate, title, owner_id)."""
    owed = _owed(ended_after, ended_by, panelist)
    query = (
        _owed_select(owed, owed.c.interview_id, owed.c.ends_at, owed.c.user_id, owed.c.application_id)
        .order_by(owed.c.ends_at)
        .limit(LIMIT)
    )  # My tasks shows the LIMIT most urgent: no more is needed
    if owner is not None:
        query = query.where(owned_by(owner))  # tested per owed row (few)
    return cast(list[Row[Any]], list(session.exec(query).all()))  # sqlmodel types the rows as plain tuples


# The 48-hour escalation goes to the candidate's recruiter, only while they are one.
RECIPIENTS["scorecard_overdue"] = Cap.follow_up


@rule("scorecard_due")
def scorecard_due(scan: Scan, settings: Settings) -> Iterable[Found]:
    """A scorecard not submitted 1 hour after the interview ended reminds the interviewer, then once a day;
    after 48 hours the candidate's recruiter is told as well (once)."""
    now = scan.now
    base = settings.base_url.rstrip("/")
    # Reminder times: the first an hour after the end, then one a day.
    days = [FIRST_REMINDER] + [timedelta(days=n) for n in range(1, LOOKBACK.days + 1)]

    def about(owed: Any) -> tuple[Any, ...]:
        return (
            key("scorecard:", owed.c.interview_id, ":", owed.c.user_id).label("item_key"),
            owed.c.ends_at,
            owed.c.interview_id,
            owed.c.application_id,
        )

    owed = _owed(now - LOOKBACK, now - FIRST_REMINDER, scan=scan, times=days)
    # "first" within 24 hours of the end, then "day1", "day2" … by whole days since (the lookback is 14 days).
    window = elapsed(
        owed.c.ends_at, now, timedelta(days=1), ["first"] + [f"day{n}" for n in range(1, LOOKBACK.days + 1)]
    )
    due = _owed_select(owed, *about(owed), window.label("window"), owed.c.user_id)

    def due_words(row: Row[Any]) -> Words:
        hours = int((now - row.ends_at).total_seconds() // 3600)
        return Words(
            *texts("reminder.scorecard_due.title", candidate=row.candidate, job=row.title),
            *ntexts("reminder.scorecard_due.detail", hours, hours=hours),
            link=f"{base}/scorecard?interview={row.interview_id}",
        )

    yield Found("scorecard_due", due, due_words, cap=2000)

    late = _owed(now - LOOKBACK, now - ESCALATE_AFTER, scan=scan, times=[ESCALATE_AFTER])
    overdue = _owed_select(
        late, *about(late), literal("48h", String).label("window"), col(Candidate.owner_id).label("user_id")
    ).where(col(Candidate.owner_id).is_not(None), Candidate.owner_id != late.c.user_id)

    def overdue_words(row: Row[Any]) -> Words:
        return Words(
            *texts("reminder.scorecard_overdue.title", who=row.who, candidate=row.candidate),
            *texts("reminder.scorecard_overdue.detail", job=row.title, ended=row.ends_at, tz=settings.tz),
            link=f"{base}/debrief?application={row.application_id}",
        )

    yield Found("scorecard_overdue", overdue, overdue_words, cap=2000)


OWED_SHOWN = timedelta(days=90)  # My tasks lists scorecards owed for interviews ended within this


@provider(reach=OWED_SHOWN - FIRST_REMINDER)
def my_pending_scorecards(session: Session, user: User, now: datetime, due_by: datetime | None = None) -> list[Task]:
    """Scorecards I still owe, due an hour after each interview ended."""
    ended_by = before(now, None if due_by is None else due_by - FIRST_REMINDER)
    if ended_by < now - OWED_SHOWN:  # the list is full of older tasks
        return []
    return [
        Task(
            kind="scorecard_pending",
            params={"name": row.candidate, "job": row.title},
            due_at=row.ends_at + FIRST_REMINDER,
            page="pages/scorecard.py",
            query={"interview": str(row.interview_id)},
        )
        for row in _pending(session, ended_after=now - OWED_SHOWN, ended_by=ended_by, panelist=user.id)
    ]


@provider(reach=OWED_SHOWN - ESCALATE_AFTER)
def overdue_scorecards_of_my_candidates(
    session: Session, user: User, now: datetime, due_by: datetime | None = None
) -> list[Task]:
    """For a recruiter: colleagues' scorecards on my candidates more than 48 hours late."""
    if not holds(user, Cap.follow_up):
        return []
    ended_by = before(now, due_by) - ESCALATE_AFTER
    if ended_by < now - OWED_SHOWN:  # the list is full of older tasks
        return []
    return [
        Task(
            kind="scorecard_overdue",
            params={"who": row.who, "name": row.candidate, "job": row.title},
            due_at=row.ends_at + ESCALATE_AFTER,
            page="pages/debrief.py",
            query={"application": str(row.application_id)},
        )
        for row in _pending(session, ended_after=now - OWED_SHOWN, ended_by=ended_by, owner=user.id)
        if row.user_id != user.id
    ]


@provider
def decisions_waiting(session: Session, user: User, now: datetime, due_by: datetime | None = None) -> list[Task]:  # noqa: ARG001 - a provider's signature
    """For a hiring manager: applications to their jobs waiting for a decision (due two days after they got there)."""
    if not has_scope(user, Cap.decide, Scope.JOB):
        return []
    waiting = [] if due_by is None else [col(Application.stage_changed_at) <= due_by - DECISION_DUE]
    rows = session.exec(
        select(Application.id, Application.stage_changed_at, Candidate.name, Job.title)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Job, col(Job.id) == Application.job_id)
        .where(
            managed_by(user),
            Application.stage == Stage.decision_pending,
            col(Candidate.anonymised_at).is_(None),
            *waiting,
        )
        .order_by(col(Application.stage_changed_at))
        .limit(200)
    )
    return [
        Task(
            kind="decision_waiting",
            params={"name": name, "job": title},
            due_at=changed + DECISION_DUE,
            page="pages/debrief.py",
            query={"application": str(app_id)},
        )
        for app_id, changed, name, title in rows
    ]
