"""How fast the process runs: time to the candidate's feedback after each interview, scorecard turnaround per
interviewer, time in each stage, days to offer and to hire — each one or a few aggregate queries.

Medians and 90th percentiles are computed in SQL with window functions both databases run (ROW_NUMBER and
COUNT over a partition; SQLite has no percentile_cont): the median is the mean of the middle value(s), the 90th
percentile the nearest rank (the value at rank ⌈0.9·n⌉). Durations are measured between stored UTC moments, so a
time zone changes none of them; only the period and the weekly trend's weeks are in the company's time zone.

Only interviews held count (still on — not cancelled or a no-show — and ended): a scorecard of an interview
cancelled afterwards counts nowhere. Feedback is word that reached the candidate (services.follow_up.followup.
heard_since: a contact reached or replied, a mail sent) at or after the interview's end — to the candidate, so word
about their other application counts too, as it stops the board's feedback clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, select, union_all
from sqlmodel import Session, col

from models.candidate import Application
from models.common import ACTIVE_STAGES, utcnow
from models.evaluation import Interview, InterviewPanelist, InterviewStatus, Scorecard, ScorecardStatus
from models.metrics import InterviewFact, StayFact
from models.user import User
from services.metrics.facts import fresh_facts, hours_between
from services.metrics.filters import (
    MetricFilter,
    local_midnight,
    period_bounds,
    scoped_applications,
    viewer_scope,
)
from services.metrics.funnel import step_times

PROMISE_HOURS = 24.0  # the feedback (and scorecard) promise: within a day
# The feedback distribution's buckets: (name, upper bound in hours, inclusive); waiting ones apart.
BUCKETS: tuple[tuple[str, float], ...] = (("within_24h", 24.0), ("24_48h", 48.0), ("2_7d", 168.0), ("over_7d", 1e12))


@dataclass(frozen=True)
class Spread:
    """A duration's count, median and 90th percentile (None without values), in the unit the metric names."""

    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class FeedbackWeek:
    week: date  # the Monday (company time) the week begins
    interviews: int
    within_promise: int
    share: float | None  # of the interviews whose answer is in or overdue


@dataclass(frozen=True)
class FeedbackTimes:
    interviews: int  # held interviews counted
    buckets: dict[str, int]  # BUCKETS' names and "waiting" (no word yet)
    waiting_overdue: int  # of the waiting, those past the promise
    within_promise_share: float | None  # answered within 24 h over (answered + waiting past 24 h)
    hours: Spread  # of the answered
    weeks: list[FeedbackWeek]


@dataclass(frozen=True)
class Turnaround:
    interviewer_id: int
    name: str
    seats: int
    submitted: int
    still_open: int
    open_overdue: int
    median_hours: float | None
    within_promise_share: float | None  # submitted within 24 h over (submitted + open past 24 h)


@dataclass(frozen=True)
class StageTime:
    stage: str
    days: Spread  # of the stays that ended (left the stage)
    still_in: int  # applications in the stage now


@dataclass(frozen=True)
class TimeToOfferAndHire:
    days_to_offer: Spread  # application to first offer sent
    days_to_hire: Spread  # application to its acceptance (the offer accepted, or moved to hired)


def _round(value: Any, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None


def _spread_columns(ranked: Any, value: Any) -> list[Any]:
    """Aggregates over `ranked` (with columns rn and n over the same partition): count, median, 90th percentile."""
    middle = and_(ranked.c.rn >= (ranked.c.n + 1) // 2, ranked.c.rn <= (ranked.c.n + 2) // 2)
    return [
        func.count(value),
        func.avg(case((middle, value))),
        func.max(case((ranked.c.rn == (ranked.c.n * 9 + 9) // 10, value))),
    ]


def _ranked(query_columns: list[Any], value: Any, partition: list[Any] | None, where: list[Any], src: Any) -> Any:
    """A subquery of `src` rows with `value` not NULL, ranked by it within `partition` (rn, n)."""
    over: dict[str, Any] = {"partition_by": partition} if partition else {}
    return (
        select(
            *query_columns,
            value.label("v"),
            func.row_number().over(order_by=value, **over).label("rn"),
            func.count().over(**over).label("n"),
        )
        .select_from(src)
        .where(value.is_not(None), *where)
        .subquery()
    )


def _spread(row: Any, scale: float = 1.0) -> Spread:
    count, median, p90 = row
    return Spread(
        count=int(count or 0),
        median=None if median is None else _round(float(median) / scale),
        p90=None if p90 is None else _round(float(p90) / scale),
    )


def _held(now: datetime) -> Any:
    return and_(col(Interview.status) == InterviewStatus.scheduled, col(Interview.ends_at) <= now)


def _apps(session: Session, actor: User | None, metric_filter: MetricFilter, name: str) -> tuple[Any, Any, Any]:
    """The scoped applications (of the period, on the application basis) as a CTE, and the period's UTC bounds."""
    viewer = viewer_scope(session=session, actor=actor)
    lo, hi = period_bounds(metric_filter)
    query = scoped_applications(viewer, metric_filter)
    if not metric_filter.by_event:
        query = query.where(col(Application.created_at) >= lo, col(Application.created_at) < hi)
    return query.cte(name), lo, hi


def _week_starts(metric_filter: MetricFilter) -> list[date]:
    first = metric_filter.start - timedelta(days=metric_filter.start.weekday())
    weeks = []
    while first <= metric_filter.end:
        weeks.append(first)
        first += timedelta(days=7)
    return weeks


def feedback_times(*, session: Session, actor: User | None, metric_filter: MetricFilter) -> FeedbackTimes:
    """Hours from each held interview's end to the first word that reached its candidate: the distribution, the
    share within the 24-hour promise, the median and 90th percentile, and the weekly trend (weeks from Monday, in
    the company's time zone). Event basis: the interviews ended in the period; application basis: the interviews
    of the applications created in it. Changes nothing."""
    apps, lo, hi = _apps(session, actor, metric_filter, "feedback_apps")
    now = utcnow()
    # Each interview's first word, from the interviews' facts (services.metrics.facts), the changes listed since
    # the last fold folded in first.
    fresh_facts(session)
    fact = InterviewFact
    conditions = [col(fact.ends_at) <= now]
    if metric_filter.by_event:
        conditions += [col(fact.ends_at) >= lo, col(fact.ends_at) < hi]
    first_word = (
        select(
            col(fact.interview_id).label("interview_id"),
            col(fact.ends_at).label("ends_at"),
            col(fact.hours).label("hours"),
        )
        .join(apps, apps.c.application_id == fact.application_id)
        .where(*conditions)
        .cte("first_word")
    )
    overdue_before = now - timedelta(hours=PROMISE_HOURS)
    hours = first_word.c.hours
    waiting = hours.is_(None)
    in_promise = and_(hours.is_not(None), hours <= PROMISE_HOURS)
    in_promise_flag = case((in_promise, 1), else_=0)
    # What the promise is judged on: the answered, and the waiting once a day has passed without word.
    due = case((hours.is_not(None), 1), (first_word.c.ends_at <= overdue_before, 1), else_=0)
    # One pass: each interview with its week (by its end, company time: weeks from local Monday midnight) and its
    # rank among the answered; grouped by week, then the weeks added up here (a few rows).
    starts = _week_starts(metric_filter)
    bounds = [local_midnight(w + timedelta(days=7)) for w in starts]
    week = case(*[(first_word.c.ends_at < bound, literal(i)) for i, bound in enumerate(bounds)], else_=literal(-1))
    per_interview = select(
        week.label("week"),
        hours.label("hours"),
        in_promise_flag.label("in_promise"),
        due.label("due"),
        case((and_(waiting, first_word.c.ends_at <= overdue_before), 1), else_=0).label("overdue"),
        func.row_number().over(partition_by=case((waiting, 1), else_=0), order_by=hours).label("rn"),
        func.count(hours).over().label("n"),
    ).subquery()
    r = per_interview.c
    answered = r.hours.is_not(None)
    middle = and_(answered, r.rn >= (r.n + 1) // 2, r.rn <= (r.n + 2) // 2)
    bucket_sums = []
    lower = -1.0
    for _, upper in BUCKETS:
        bucket_sums.append(func.sum(case((and_(answered, r.hours > lower, r.hours <= upper), 1), else_=0)))
        lower = upper
    rows = session.execute(
        select(
            r.week,
            func.count(),
            func.sum(r.in_promise),
            func.sum(r.due),
            func.sum(case((answered, 0), else_=1)),
            func.sum(r.overdue),
            func.sum(case((middle, r.hours))),
            func.sum(case((middle, 1), else_=0)),
            func.max(case((and_(answered, r.rn == (r.n * 9 + 9) // 10), r.hours))),
            *bucket_sums,
        ).group_by(r.week)
    ).all()
    by_week: dict[int, tuple[int, int, int]] = {}
    total = within_n = due_n = waiting_n = overdue_n = middle_n = 0
    middle_sum = 0.0
    p90: float | None = None
    bucket_counts = [0] * len(BUCKETS)
    for row in rows:
        n, within, judged, waits, overdue = (int(v or 0) for v in row[1:6])
        by_week[int(row[0])] = (n, within, judged)
        total, within_n, due_n, waiting_n, overdue_n = (
            total + n,
            within_n + within,
            due_n + judged,
            waiting_n + waits,
            overdue_n + overdue,
        )
        middle_sum, middle_n = middle_sum + float(row[6] or 0), middle_n + int(row[7] or 0)
        p90 = float(row[8]) if row[8] is not None else p90
        bucket_counts = [a + int(b or 0) for a, b in zip(bucket_counts, row[9:], strict=True)]
    spread = Spread(
        count=total - waiting_n,
        median=_round(middle_sum / middle_n) if middle_n else None,
        p90=_round(p90),
    )
    weeks = []
    for i, start in enumerate(starts):
        n, within, judged = by_week.get(i, (0, 0, 0))
        weeks.append(FeedbackWeek(week=start, interviews=n, within_promise=within, share=_ratio(within, judged)))
    return FeedbackTimes(
        interviews=total,
        buckets={name: bucket_counts[i] for i, (name, _) in enumerate(BUCKETS)} | {"waiting": waiting_n},
        waiting_overdue=overdue_n,
        within_promise_share=_ratio(within_n, due_n),
        hours=spread,
        weeks=weeks,
    )


def scorecard_turnaround(*, session: Session, actor: User | None, metric_filter: MetricFilter) -> list[Turnaround]:
    """Per interviewer, the seats they held on held interviews and the hours from each interview's end to their
    scorecard's submission: median, share within 24 hours (of the submitted and the still open past 24 h), and how
    many are still open. Event basis: the interviews ended in the period; application basis: those of the
    applications created in it. By name. Changes nothing."""
    apps, lo, hi = _apps(session, actor, metric_filter, "turnaround_apps")
    now = utcnow()
    conditions = [_held(now)]
    if metric_filter.by_event:
        conditions += [col(Interview.ends_at) >= lo, col(Interview.ends_at) < hi]
    submitted = and_(
        col(Scorecard.interview_id) == InterviewPanelist.interview_id,
        col(Scorecard.interviewer_id) == InterviewPanelist.user_id,
        col(Scorecard.status) == ScorecardStatus.submitted,
    )
    seats = (
        select(
            col(InterviewPanelist.user_id).label("user_id"),
            col(Interview.ends_at).label("ends_at"),
            hours_between(Interview.ends_at, Scorecard.submitted_at).label("hours"),
        )
        .select_from(InterviewPanelist)
        .join(Interview, col(Interview.id) == InterviewPanelist.interview_id)
        .join(apps, apps.c.application_id == Interview.application_id)
        .outerjoin(Scorecard, submitted)
        .where(*conditions)
        .cte("seats")
    )
    overdue_before = now - timedelta(hours=PROMISE_HOURS)
    is_open = seats.c.hours.is_(None)
    counts = (
        select(
            seats.c.user_id,
            func.count().label("seats"),
            func.sum(case((is_open, 1), else_=0)).label("open"),
            func.sum(case((and_(is_open, seats.c.ends_at <= overdue_before), 1), else_=0)).label("overdue"),
            func.sum(case((and_(~is_open, seats.c.hours <= PROMISE_HOURS), 1), else_=0)).label("in_promise"),
        )
        .group_by(seats.c.user_id)
        .subquery()
    )
    ranked = _ranked([seats.c.user_id], seats.c.hours, [seats.c.user_id], [], seats)
    middle = and_(ranked.c.rn >= (ranked.c.n + 1) // 2, ranked.c.rn <= (ranked.c.n + 2) // 2)
    medians = (
        select(ranked.c.user_id, func.avg(case((middle, ranked.c.v))).label("median"))
        .group_by(ranked.c.user_id)
        .subquery()
    )
    rows = session.execute(
        select(
            counts.c.user_id,
            col(User.name),
            counts.c.seats,
            counts.c.open,
            counts.c.overdue,
            counts.c.in_promise,
            medians.c.median,
        )
        .join(User, col(User.id) == counts.c.user_id)
        .outerjoin(medians, medians.c.user_id == counts.c.user_id)
        .order_by(col(User.name), counts.c.user_id)
    ).all()
    result = []
    for user_id, name, n_seats, n_open, n_overdue, n_promise, median in rows:
        n_seats, n_open, n_overdue, n_promise = int(n_seats), int(n_open or 0), int(n_overdue or 0), int(n_promise or 0)
        result.append(
            Turnaround(
                interviewer_id=int(user_id),
                name=name,
                seats=n_seats,
                submitted=n_seats - n_open,
                still_open=n_open,
                open_overdue=n_overdue,
                median_hours=_round(median),
                within_promise_share=_ratio(n_promise, n_seats - n_open + n_overdue),
            )
        )
    return result


def stage_durations(*, session: Session, actor: User | None, metric_filter: MetricFilter) -> list[StageTime]:
    """Days spent in each active stage (interviewing, decision pending, offer, hired), from the stage history: the
    median and 90th percentile of the stays that ended (a stay runs from the change into the stage to the next
    change), and how many applications are in it now. Application basis: the stays of the applications created
    in the period (and those of them in the stage now); event basis: the stays that ended in the period (and the
    applications in the stage at its end). A reopened application's stays count each. Changes nothing."""
    apps, lo, hi = _apps(session, actor, metric_filter, "stage_apps")
    # The stays that ended, from the stays' facts (services.metrics.facts), the changes listed since the last fold
    # folded in first.
    fresh_facts(session)
    active = [s.value for s in ACTIVE_STAGES]
    stay = StayFact
    stays: Any = select(col(stay.stage).label("stage"), col(stay.hours).label("hours")).join(
        apps, apps.c.application_id == stay.application_id
    )
    if metric_filter.by_event:
        stays = stays.where(col(stay.left_at) >= lo, col(stay.left_at) < hi)
    ended = stays.subquery("stays")
    ranked = _ranked([ended.c.stage], ended.c.hours, [ended.c.stage], [], ended)
    rows = session.execute(select(ranked.c.stage, *_spread_columns(ranked, ranked.c.v)).group_by(ranked.c.stage)).all()
    spreads = {r[0]: _spread(r[1:], scale=24.0) for r in rows}
    now_in = select(apps.c.stage, func.count()).group_by(apps.c.stage)
    if metric_filter.by_event:
        now_in = now_in.join(Application, col(Application.id) == apps.c.application_id).where(
            col(Application.stage_changed_at) < hi
        )
    still = {r[0]: int(r[1]) for r in session.execute(now_in).all()}
    return [StageTime(stage=s, days=spreads.get(s, Spread(0, None, None)), still_in=still.get(s, 0)) for s in active]


def time_to_offer_and_hire(*, session: Session, actor: User | None, metric_filter: MetricFilter) -> TimeToOfferAndHire:
    """Days from the application to its first offer sent, and to its acceptance (the offer accepted, or its move to
    hired): count, median and 90th percentile. Application basis: the applications created in the period; event
    basis: the offers sent (and the acceptances) in the period. Changes nothing."""
    apps, lo, hi = _apps(session, actor, metric_filter, "offer_apps")
    steps = step_times(session, apps)
    # Both durations in one statement (the steps looked up once): a row per application and duration, ranked
    # within its kind (0: to offer, 1: to hire).
    parts = []
    for kind, reached in enumerate((steps.c.offer_at, steps.c.accepted_at)):
        where = [reached >= lo, reached < hi] if metric_filter.by_event else []
        parts.append(
            select(literal(kind).label("kind"), hours_between(steps.c.applied_at, reached).label("hours")).where(
                reached.is_not(None), *where
            )
        )
    durations = union_all(*parts).subquery("durations")
    ranked = _ranked([durations.c.kind], durations.c.hours, [durations.c.kind], [], durations)
    rows = session.execute(select(ranked.c.kind, *_spread_columns(ranked, ranked.c.v)).group_by(ranked.c.kind)).all()
    by_kind = {int(r[0]): _spread(r[1:], scale=24.0) for r in rows}
    result = [by_kind.get(kind, Spread(0, None, None)) for kind in (0, 1)]
    return TimeToOfferAndHire(days_to_offer=result[0], days_to_hire=result[1])
