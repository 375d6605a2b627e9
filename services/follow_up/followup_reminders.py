"""Reminder rules and My-tasks entries for following up: the feedback deadline (warning before, and when it
passes), the next-contact date, and the talent-pool revisit date."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Label, Row, String, and_, case, func, literal
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

import services.mail.tasks  # its LIMIT read when a list is made (tests lower it)
from models.candidate import Application, Candidate
from models.evaluation import Interview, InterviewStatus
from models.followup import Contact, PoolEntry
from models.job import Job
from models.privacy import ConsentPurpose
from models.user import User
from services.follow_up.followup import (
    ACTIVE,
    clock_runs,
    held_clock_runs,
    held_interview_end,
    last_interview_end,
    newest_contact,
    revisit_time,
)
from services.mail.reminders import (
    SCAN_OVERLAP,
    Found,
    Scan,
    Words,
    date_text,
    key,
    local_text,
    ntexts,
    rule,
    texts,
    utc_text,
)
from services.mail.tasks import HORIZON, Task, before, provider
from services.platform.config import Settings, get_settings
from services.platform.i18n import fmt_datetime
from services.platform.lists import of, walk
from services.platform.policy import Cap, holds, not_erased, sees_every_owner
from services.privacy.consent import consent_refused

LOOKBACK = timedelta(days=14)


def _recent_ends(now: datetime, scan: Scan | None = None, times: Sequence[timedelta] = ()) -> Any:
    """A materialised CTE (application_id, candidate_id, job_id, stage, ended): when each application's last held
    interview ended (`followup.last_interview_end`), for the open ones whose last one ended within the lookback —
    read first and on their own from the index on (stage, last interview end) (the few with an interview still
    to come look up the last that has ended).
    For an incremental `scan`, only the applications with an interview for which a reminder time (end + one of
    `times`) came since the last pass, each range in an arm of its own, and only where that end is the
    application's last."""
    application: tuple[Label[Any], ...]
    application = (
        col(Application.id).label("application_id"),
        col(Application.candidate_id).label("candidate_id"),
        col(Application.job_id).label("job_id"),
        col(Application.stage).label("stage"),
    )
    ended = last_interview_end(now)
    if scan is not None and scan.since is not None:
        ends = col(Interview.ends_at)
        arms = scan.union(
            select(col(Interview.application_id).label("application_id"), ends.label("ends_at")),
            ends,
            times,
            (now - LOOKBACK, now),
            Interview.status == InterviewStatus.scheduled,
        ).subquery("arms")
        found = (
            select(arms.c.application_id, func.max(arms.c.ends_at).label("ended"))
            .group_by(arms.c.application_id)
            .subquery("found")
        )
        return (
            select(*application, found.c.ended)  # type: ignore[call-overload]  # sqlmodel: 4 columns at most
            .select_from(found)
            .join(Application, col(Application.id) == found.c.application_id)
            .where(found.c.ended == ended)  # the application's last
            .cte("recent")
            .prefix_with("MATERIALIZED")
        )
    return (
        select(*application, ended.label("ended"))  # type: ignore[call-overload]  # (as above)
        .where(
            col(Application.stage).in_(ACTIVE),
            col(Application.last_interview_end) >= now - LOOKBACK,
            ended >= now - LOOKBACK,
        )
        .cte("recent")
        .prefix_with("MATERIALIZED")
    )


def _clock_select(recent: Any, *columns: Any) -> Select[*tuple[Any, ...]]:
    """Open applications whose last interview ended (within the lookback, `recent` from `_recent_ends`) and
    whose candidate has heard nothing since: the board's clock (`followup.clock_runs`)."""
    return (  # type: ignore[no-any-return]  # sqlmodel types no select() of n columns
        select(*columns)
        .select_from(recent)
        .join(Candidate, col(Candidate.id) == recent.c.candidate_id)
        .join(Job, col(Job.id) == recent.c.job_id)
        .where(
            recent.c.stage.in_(ACTIVE),
            col(Candidate.owner_id).is_not(None),
            col(Candidate.anonymised_at).is_(None),
            clock_runs(recent.c.ended),
        )
    )


@rule("feedback_due", recipients=Cap.follow_up)
def feedback_due(scan: Scan, settings: Settings) -> Iterable[Found]:
    """Word to the candidate is due within N hours of the interview: warn the owner before, and when it passes."""
    now = scan.now
    base = settings.base_url.rstrip("/")
    hours = timedelta(hours=settings.feedback_hours)
    warn = timedelta(hours=settings.feedback_warn_hours)
    times = [hours - warn, hours]  # the warning, the deadline
    recent = _recent_ends(now, scan, times)
    ended = recent.c.ended
    query = _clock_select(
        recent,
        key("feedback:", recent.c.application_id, ":", utc_text(ended, "%Y%m%d%H%M")).label("item_key"),
        case((ended <= now - hours, literal("overdue", String)), else_=literal("warn", String)).label("window"),
        col(Candidate.owner_id).label("user_id"),
        recent.c.application_id,
        Candidate.name,
        Job.title,
        ended.label("ended"),
    ).where(ended <= now - hours + warn)  # from `warn` before the deadline

    def words(row: Row[Any]) -> Words:
        late = now >= row.ended + hours
        local = fmt_datetime(row.ended + hours, "zh", settings.tz)  # stored once for both: a numeric pattern
        title = (
            texts("reminder.feedback.title_late", name=row.name, job=row.title)
            if late
            else texts("reminder.feedback.title_soon", name=row.name, job=row.title)
        )
        return Words(
            *title,
            *ntexts("reminder.feedback.detail", settings.feedback_hours, hours=settings.feedback_hours, due=local),
            link=f"{base}/follow_up?application={row.application_id}",
            due=local,
        )

    yield Found("feedback_due", query, words, cap=2000)


@rule("next_contact", recipients=Cap.follow_application)
def next_contact(scan: Scan, settings: Settings) -> Iterable[Found]:
    """A next-contact date that has come reminds the person who set it (once per date)."""
    now = scan.now
    base = settings.base_url.rstrip("/")
    at = col(Contact.next_contact_at)

    def of_candidate(column: Any) -> Any:  # read per contact found: no planner starts from the candidates
        return select(column).where(Candidate.id == Contact.candidate_id).correlate(Contact).scalar_subquery()

    query = select(
        key("contact:", Contact.id).label("item_key"),  # type: ignore[call-overload]  # 5 columns
        local_text(at, "%Y-%m-%d %H:%M", settings.tz, now - LOOKBACK, now).label("window"),
        col(Contact.by_user_id).label("user_id"),
        col(Contact.candidate_id).label("candidate_id"),
        of_candidate(Candidate.name).label("name"),
    ).where(
        scan.came(at, [timedelta(0)], (now - LOOKBACK, now)),
        newest_contact(),
        of_candidate(Candidate.anonymised_at).is_(None),
    )

    def words(row: Row[Any]) -> Words:
        # The window is the local time the SQL wrote (yyyy-MM-dd HH:mm), the reminder's key as well as its words.
        return Words(
            *texts("reminder.next_contact.title", name=row.name),
            *texts("reminder.next_contact.detail", when=row.window),
            link=f"{base}/follow_up?candidate={row.candidate_id}",
            due=row.window,
        )

    yield Found("next_contact", query, words, cap=2000)


@rule("pool_revisit", recipients=Cap.follow_up)
def pool_revisit(scan: Scan, settings: Settings) -> Iterable[Found]:
    """A talent-pool candidate whose revisit date has come reminds the person who pooled them: a full pass looks
    at the last 30 days' dates, an incremental one at the day whose 09:00 came since the last pass, if any."""
    now = scan.now
    base = settings.base_url.rstrip("/")
    today = now.astimezone(settings.tz).date()
    due_by = today if revisit_time(today) <= now else today - timedelta(days=1)  # due at 09:00 on the day
    dates = col(PoolEntry.revisit_on) >= today - timedelta(days=30)
    if scan.since is not None:  # an incremental pass: the days whose 09:00 came since the last pass (mostly none)
        since = (scan.since - SCAN_OVERLAP).astimezone(settings.tz).date() - timedelta(days=1)
        days = [since + timedelta(days=n) for n in range((today - since).days + 1)]
        dates = col(PoolEntry.revisit_on).in_([d for d in days if scan.since - SCAN_OVERLAP < revisit_time(d)])
    query = (
        select(
            key("pool:", PoolEntry.id).label("item_key"),  # type: ignore[call-overload]  # 6 columns
            date_text(PoolEntry.revisit_on).label("window"),
            col(PoolEntry.added_by_id).label("user_id"),
            col(PoolEntry.candidate_id).label("candidate_id"),
            PoolEntry.reason,
            Candidate.name,
        )
        .join(Candidate, col(Candidate.id) == PoolEntry.candidate_id)
        .where(
            PoolEntry.status == "active",
            col(PoolEntry.revisit_on) <= due_by,
            dates,
            # whoever withdrew (or let end) talent-pool consent is not to be re-engaged
            ~consent_refused(PoolEntry.candidate_id, ConsentPurpose.talent_pool, today),
        )
    )

    def words(row: Row[Any]) -> Words:
        return Words(
            *texts("reminder.pool.title", name=row.name),
            *texts("reminder.pool.detail", reason=row.reason[:200]),
            link=f"{base}/talent_pool?candidate={row.candidate_id}",
            due=row.window,
        )

    yield Found("pool_revisit", query, words, cap=2000)


@provider(reach=LOOKBACK)
def feedback_tasks(session: Session, user: User, now: datetime, due_by: datetime | None = None) -> list[Task]:
    """Candidates of mine waiting for word after an interview, due N hours after it ended (oldest first)."""
    if not holds(user, Cap.follow_up):
        return []
    hours = timedelta(hours=get_settings().feedback_hours)
    ended_by = before(now, None if due_by is None else due_by - hours)
    if ended_by < now - LOOKBACK:  # the list is full of older tasks
        return []

    # of the applications `where` finds (mine), not erased
    def found(ended: Any, *where: Any) -> Select[*tuple[Any, ...]]:
        return (
            select(
                Application.id,
                of(Candidate.name, Candidate.id == Application.candidate_id),
                of(Job.title, Job.id == Application.job_id),
                ended.label("ended"),
            )
            .where(*where, not_erased(Application.candidate_id))
            .order_by(ended, col(Application.id))
        )

    # Where the last interview has ended and the candidate has heard nothing since, the application keeps that
    # end (`last_end_unheard`): mine of the lookback, oldest first along the (owner_id, stage, last_end_unheard)
    # index, until LIMIT of mine not erased are found.
    unheard = col(Application.last_end_unheard)
    keys = (
        select(Application.id)
        .where(
            col(Application.owner_id) == user.id,
            col(Application.stage).in_(ACTIVE),
            unheard >= now - LOOKBACK,
            unheard <= ended_by,
        )
        .order_by(unheard, col(Application.id))
    )
    rows = walk(session, keys, lambda among: found(unheard, among(Application.id)), limit=services.mail.tasks.LIMIT)
    # Mine whose last interview is still to come (a few thousand of everyone's at 100k candidates): when the last
    # one that has ended did, worked out once per application (a materialised CTE; mostly kept), then the window,
    # not erased, heard nothing since (`followup.held_clock_runs`, as the board tests it).
    upcoming = (
        select(
            col(Application.id).label("id"),
            held_interview_end(now).label("ended"),
            col(Application.previous_interview_end).label("previous"),
            col(Application.previous_end_unheard).label("unheard"),
        )
        .where(
            col(Application.owner_id) == user.id,
            col(Application.stage).in_(ACTIVE),
            col(Application.last_interview_end) > now,
        )
        .cte("upcoming")
        .prefix_with("MATERIALIZED")
    )
    u = upcoming.c
    heard_at = of(Candidate.heard_at, Candidate.id == Application.candidate_id)
    rows += session.exec(
        found(
            u.ended,
            u.id == Application.id,
            u.ended >= now - LOOKBACK,
            u.ended <= ended_by,
            held_clock_runs(now, u.ended, u.previous, u.unheard, heard_at),
        ).limit(services.mail.tasks.LIMIT)
    ).all()
    return [
        Task(
            kind="feedback_due",
            params={"name": name, "job": title},
            due_at=ended + hours,
            page="pages/follow_up.py",
            query={"application": str(app_id)},
        )
        for app_id, name, title, ended in rows
    ]


@provider
def contact_tasks(session: Session, user: User, now: datetime, due_by: datetime | None = None) -> list[Task]:
    """Next-contact dates I set that have come or come within the horizon (and no newer contact since)."""
    if not holds(user, Cap.follow_application):
        return []
    # The link opens the follow-up board only where the candidate is on the reader's board (an open application;
    # a recruiter's own candidate): a hiring manager has no board, and a closed candidate is not on it.
    open_app = (
        select(Application.id)
        .where(Application.candidate_id == Contact.candidate_id, col(Application.stage).in_(ACTIVE))
        .correlate(Contact)
        .exists()
    )
    owner = of(Candidate.owner_id, Candidate.id == Contact.candidate_id)
    on_board = (
        open_app
        if sees_every_owner(user)
        else and_(open_app, owner == user.id)
        if holds(user, Cap.follow_up)
        else literal(False)
    )
    at = col(Contact.next_contact_at)
    # My contacts by their next-contact date (the index on (by_user_id, next_contact_at)), earliest first, until
    # LIMIT are found whose date still stands (the candidate's newest contact) and whose candidate is not erased.
    keys = (
        select(Contact.id)
        .where(Contact.by_user_id == user.id, at <= before(now + HORIZON, due_by))
        .order_by(at, col(Contact.id))
    )
    rows = walk(
        session,
        keys,
        limit=services.mail.tasks.LIMIT,
        keep=lambda among: (
            select(
                Contact.candidate_id,
                at,
                of(Candidate.name, Candidate.id == Contact.candidate_id),
                case((on_board, 1), else_=0),
            )
            .where(
                among(Contact.id),
                newest_contact(),
                of(Candidate.anonymised_at, Candidate.id == Contact.candidate_id).is_(None),
            )
            .order_by(at, col(Contact.id))
        ),
    )
    return [
        Task(
            kind="next_contact",
            params={"name": name},
            due_at=due,
            page="pages/follow_up.py" if board else "pages/candidates.py",
            query={"candidate" if board else "id": str(candidate_id)},
        )
        for candidate_id, due, name, board in rows
    ]


@provider
def pool_tasks(session: Session, user: User, now: datetime, due_by: datetime | None = None) -> list[Task]:
    """Talent-pool candidates I pooled whose revisit date has come or comes within the horizon."""
    if not holds(user, Cap.follow_up):
        return []
    horizon = before(now + HORIZON, due_by).astimezone(get_settings().tz).date()  # (due at 09:00 that day)
    rows = session.exec(
        select(PoolEntry.candidate_id, col(PoolEntry.revisit_on), Candidate.name)
        .join(Candidate, col(Candidate.id) == PoolEntry.candidate_id)
        .where(PoolEntry.status == "active", PoolEntry.added_by_id == user.id, col(PoolEntry.revisit_on) <= horizon)
        .order_by(col(PoolEntry.revisit_on))
        .limit(services.mail.tasks.LIMIT)
    )  # the most urgent: no more is shown
    return [
        Task(
            kind="pool_revisit",
            params={"name": name},
            due_at=revisit_time(revisit_on),
            page="pages/talent_pool.py",
            query={"candidate": str(candidate_id)},
        )
        for candidate_id, revisit_on, name in rows
    ]
