"""The hiring funnel — applied → interviewed → evaluated → decision → offer → accepted → started → passed probation —
in a cohort view and an activity view, and where candidates were lost (stage × exit reason).

Where each step is recorded:
- applied: the application's `created_at`;
- interviewed: its first interview held — still on (status scheduled, not cancelled or a no-show) and ended;
- evaluated: every panelist of its held interviews has submitted a scorecard (when: the last submission). A
  scorecard of an interview cancelled afterwards does not count, nor does that interview's panel;
- decision: its first final decision — a recorded decision (offer or reject; advance and hold are steps on the way)
  or, where the stage was moved by hand, its first move from interviewing or decision pending to offer or rejected;
- offer: its first offer sent to the candidate;
- accepted: the first accepted offer (when answered), or its first move to hired;
- started: its onboarding plan, not cancelled, whose start date has come (in the company's time zone);
- passed probation: its plan's outcome "passed" (when recorded), or its first move to probation passed.

Cohort view (basis "application"): the applications created in the period, each counted at every step up to the
furthest it has reached — an application that skipped a step (an offer without an interview) counted as
having passed it, so no step counts more than the one before. The applications still open (stages interviewing
to hired) are counted apart, at the furthest step they have reached, and left out of the conversion from that
step: they may still go on. A reopened application (rejected, then interviewing again) is one application, open.
Activity view (basis "event"): each step counts the applications for which that step happened in the period; the
conversion is then a flow ratio (this period's offers over this period's decisions) and may exceed 100%.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlmodel import Session, col

from models.candidate import Application
from models.common import EXITS
from models.metrics import ApplicationFact
from models.user import User
from services.metrics.facts import fresh_facts, step_moments
from services.metrics.filters import MetricFilter, period_bounds, scoped_applications, viewer_scope

STEPS: tuple[str, ...] = (
    "applied",
    "interviewed",
    "evaluated",
    "decision",
    "offer",
    "accepted",
    "started",
    "passed_probation",
)
# The reason an offer's decline moves its application to withdrawn with (services.onboard.offers.record_answer).
OFFER_DECLINED = "offer_declined:"
# ... and a failed probation moves it to rejected with (services.onboard.plans.NOT_PASSED_REASON).
PROBATION_NOT_PASSED = "probation_not_passed"


@dataclass(frozen=True)
class FunnelStep:
    step: str  # one of STEPS
    count: int  # cohort: applications that reached it (or went further); activity: that reached it in the period
    in_progress: int  # cohort: open applications whose furthest step is this one; activity: 0
    conversion: float | None  # from the step before (None for the first, or with nothing to convert)


@dataclass(frozen=True)
class Funnel:
    view: str  # "cohort" or "activity"
    steps: list[FunnelStep]
    overall: float | None  # passed probation over applied (cohort: over the applications no longer open)


@dataclass(frozen=True)
class Loss:
    stage: str  # the stage the application left for its exit
    kind: str  # rejected, withdrew, declined_offer, talent_pool
    reason: str  # the decision's reason code, the offer's decline reason, probation_not_passed, or ""
    count: int


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None


def step_times(session: Session, apps: Any) -> Any:
    """SQL: one row per application of `apps` (a CTE with application_id, created_at and stage) with the moment it
    reached each step (NULL where it has not), `started_on` (the start date of a started plan) and `is_open`.

    Read from the applications' facts (services.metrics.facts), the changes listed since the last fold folded in
    first: no application's history is looked up here."""
    fresh_facts(session)
    return step_moments(apps)


def _step_columns(steps: Any) -> list[Any]:
    return [
        steps.c.applied_at,
        steps.c.interviewed_at,
        steps.c.evaluated_at,
        steps.c.decision_at,
        steps.c.offer_at,
        steps.c.accepted_at,
        steps.c.started_on,
        steps.c.passed_at,
    ]


def funnel(*, session: Session, actor: User | None, metric_filter: MetricFilter) -> Funnel:
    """The funnel of the applications the viewer may see, in the cohort view (basis "application") or the activity
    view (basis "event"), in one aggregate query. Changes nothing."""
    viewer = viewer_scope(session=session, actor=actor)
    lo, hi = period_bounds(metric_filter)
    apps_query = scoped_applications(viewer, metric_filter)
    if not metric_filter.by_event:
        apps_query = apps_query.where(col(Application.created_at) >= lo, col(Application.created_at) < hi)
    apps = apps_query.cte("apps")
    steps = step_times(session, apps)
    columns = _step_columns(steps)
    if metric_filter.by_event:

        def happened(column: Any, index: int) -> Any:
            if index == STEPS.index("started"):
                return and_(column >= metric_filter.start, column <= metric_filter.end)
            return and_(column >= lo, column < hi)

        sums = [func.sum(case((happened(c, i), 1), else_=0)) for i, c in enumerate(columns)]
        row = session.execute(select(*sums)).one()
        counts = [int(v or 0) for v in row]
        result = [
            FunnelStep(
                step=s, count=counts[i], in_progress=0, conversion=_ratio(counts[i], counts[i - 1]) if i else None
            )
            for i, s in enumerate(STEPS)
        ]
        return Funnel(view="activity", steps=result, overall=_ratio(counts[-1], counts[0]))
    # The furthest step each application has reached (0 = applied only).
    furthest = case(
        *[(c.is_not(None), literal(i)) for i, c in reversed(list(enumerate(columns))) if i > 0], else_=literal(0)
    ).label("furthest")
    per_app = select(furthest, steps.c.is_open).select_from(steps).subquery()
    # Grouped by furthest step and openness (a few rows), then added up here: one grouping per application
    # instead of sixteen sums.
    rows = session.execute(
        select(per_app.c.furthest, per_app.c.is_open, func.count()).group_by(per_app.c.furthest, per_app.c.is_open)
    ).all()
    at_step, open_at = [0] * len(STEPS), [0] * len(STEPS)
    for step, is_open, n in rows:
        at_step[int(step)] += int(n)
        open_at[int(step)] += int(n) if int(is_open) else 0
    counts = [sum(at_step[i:]) for i in range(len(STEPS))]
    result = [
        FunnelStep(
            step=s,
            count=counts[i],
            in_progress=open_at[i],
            conversion=_ratio(counts[i], counts[i - 1] - open_at[i - 1]) if i else None,
        )
        for i, s in enumerate(STEPS)
    ]
    return Funnel(view="cohort", steps=result, overall=_ratio(counts[-1], counts[0] - sum(open_at)))


def losses(*, session: Session, actor: User | None, metric_filter: MetricFilter) -> list[Loss]:
    """Where candidates were lost: the applications now at an exit (rejected, withdrawn, talent pool) by the stage
    they left and the exit's kind and reason, most first. A reopened application that is open again is not lost;
    one that left again counts once, at its last exit. Cohort basis: of the applications created in the period;
    event basis: of the exits in the period. Changes nothing."""
    viewer = viewer_scope(session=session, actor=actor)
    lo, hi = period_bounds(metric_filter)
    exits = [s.value for s in EXITS]
    apps_query = scoped_applications(viewer, metric_filter).where(col(Application.stage).in_(exits))
    if metric_filter.by_event:
        # The exit is the application's last move, made with its `stage_changed_at`: a range of the period.
        apps_query = apps_query.where(col(Application.stage_changed_at) >= lo, col(Application.stage_changed_at) < hi)
    else:
        apps_query = apps_query.where(col(Application.created_at) >= lo, col(Application.created_at) < hi)
    # Each lost application's last move and latest rejection, from its facts (services.metrics.facts).
    fresh_facts(session)
    lost = apps_query.with_only_columns(col(Application.id).label("application_id"), col(Application.stage)).subquery()
    fact = ApplicationFact.__table__  # type: ignore[attr-defined]
    f = fact.c
    stage = lost.c.stage
    declined = and_(stage == "withdrawn", f.last_reason.like(OFFER_DECLINED + "%"))
    kind = case(
        (stage == "rejected", "rejected"),
        (declined, "declined_offer"),
        (stage == "withdrawn", "withdrew"),
        else_="talent_pool",
    )
    reason = case(
        (declined, func.substr(f.last_reason, len(OFFER_DECLINED) + 1)),
        (
            stage == "rejected",
            case(
                (f.last_reason == PROBATION_NOT_PASSED, PROBATION_NOT_PASSED), else_=func.coalesce(f.reject_reason, "")
            ),
        ),
        else_="",
    )
    conditions: list[Any] = [f.last_move_at.is_not(None)]  # an application never moved has no exit to count
    if metric_filter.by_event:
        conditions += [f.last_move_at >= lo, f.last_move_at < hi]
    per_app = (
        select(func.coalesce(f.last_from_stage, "").label("stage"), kind.label("kind"), reason.label("reason"))
        .select_from(lost)
        .join(fact, f.application_id == lost.c.application_id)
        .where(*conditions)
        .subquery()
    )
    count = func.count().label("n")
    rows = session.execute(
        select(per_app.c.stage, per_app.c.kind, per_app.c.reason, count)
        .group_by(per_app.c.stage, per_app.c.kind, per_app.c.reason)
        .order_by(count.desc(), per_app.c.stage, per_app.c.kind, per_app.c.reason)
    ).all()
    return [Loss(stage=r[0], kind=r[1], reason=r[2], count=int(r[3])) for r in rows]
