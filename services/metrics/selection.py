"""Selection rate by group and the four-fifths rule: for one step of the process (applied → interviewed,
interviewed → offer, applied → offer), each group's pass-through rate against the highest group's; an impact ratio
under 0.8 is flagged for a closer look.

Groups come only from fields that describe the application's channel or the job, never the person: the candidate's
source, the job's department and the job's location (the candidate record holds no location; nothing sensitive —
gender, age, origin — is recorded, and none may be added here). A group of fewer than MIN_GROUP applications is
suppressed: its rate is not shown (too few to say anything, and too few not to point at people), and it cannot be
the highest group.

Always a cohort (the period is the applications' creation date, whatever the filter's basis): the applications
created in the period that reached the first step, each passing when it reached the second — or skipped it and went
further (an offer without an interview has passed "interviewed", as in the funnel). A decision is neither: a
rejection is not a pass. An application still open that has not reached the second step may still pass: it is
counted apart (`in_progress`) and left out of the rate, as the funnel's cohort view does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, true
from sqlmodel import Session, col

from models.candidate import Application, Candidate
from models.job import Job
from models.user import User
from services.metrics.filters import MetricFilter, period_bounds, scoped_applications, viewer_scope
from services.metrics.funnel import step_times
from services.platform.errors import ValidationError

GROUPS: tuple[str, ...] = ("source", "department", "location")
# The steps a selection is made at, in order (a subset of services.metrics.funnel.STEPS).
SELECTION_STEPS: tuple[str, ...] = ("applied", "interviewed", "offer")
MIN_GROUP = 5  # fewer applications than this: suppressed
IMPACT_FLAG = 0.8  # the four-fifths rule: an impact ratio under this is flagged


@dataclass(frozen=True)
class GroupRate:
    group: str  # the source, department or location ("" where the job gives none)
    considered: int  # reached the first step and have an answer at the second
    in_progress: int  # reached the first step, still open, not yet the second: left out
    passed: int | None  # reached the second step; None when suppressed
    rate: float | None  # passed / considered; None when suppressed
    impact_ratio: float | None  # rate / the highest group's rate; None when suppressed or nothing to compare with
    flagged: bool  # impact ratio under IMPACT_FLAG
    suppressed: bool  # fewer than MIN_GROUP considered


@dataclass(frozen=True)
class SelectionRates:
    group_by: str
    from_step: str
    to_step: str
    groups: list[GroupRate]  # by group name, those with an application at the first step; empty without any
    highest_group: str | None  # of the groups not suppressed
    highest_rate: float | None


def _group_column(group_by: str) -> Any:
    return {
        "source": col(Candidate.source),
        "department": col(Job.department),
        "location": col(Job.location),
    }[group_by]


def _reached(steps: Any, step: str) -> Any:
    """SQL: the application has reached `step` or gone beyond it (a decision is no step forward: it may be no)."""
    if step == "applied":
        return true()
    later = [steps.c.offer_at, steps.c.accepted_at, steps.c.started_on, steps.c.passed_at]
    if step == "interviewed":
        later = [steps.c.interviewed_at, *later]
    return or_(*[c.is_not(None) for c in later])


def selection_rates(
    *,
    session: Session,
    actor: User | None,
    metric_filter: MetricFilter,
    group_by: str = "source",
    from_step: str = "applied",
    to_step: str = "interviewed",
) -> SelectionRates:
    """Per group (`group_by`: source, department or location), of the applications the viewer may see created in
    the period: how many reached `from_step`, how many of those went on to `to_step`, the rate, the impact ratio
    against the highest group's rate and the four-fifths flag; groups under MIN_GROUP suppressed. A bad group or
    step raises ValidationError naming it. Changes nothing."""
    viewer = viewer_scope(session=session, actor=actor)
    if group_by not in GROUPS:
        raise ValidationError.single("group_by", "err.invalid")
    if from_step not in SELECTION_STEPS:
        raise ValidationError.single("from_step", "err.invalid")
    if to_step not in SELECTION_STEPS or SELECTION_STEPS.index(to_step) <= SELECTION_STEPS.index(from_step):
        raise ValidationError.single("to_step", "err.invalid")
    lo, hi = period_bounds(metric_filter)
    apps = (
        scoped_applications(viewer, metric_filter)
        .where(col(Application.created_at) >= lo, col(Application.created_at) < hi)
        .cte("selection_apps")
    )
    steps = step_times(session, apps)
    reached_from, reached_to = _reached(steps, from_step), _reached(steps, to_step)
    is_open = steps.c.is_open == 1
    group = _group_column(group_by)
    per_app = (
        select(
            func.coalesce(group, literal("")).label("grp"),
            case((and_(reached_from, or_(reached_to, ~is_open)), 1), else_=0).label("considered"),
            case((and_(reached_from, ~reached_to, is_open), 1), else_=0).label("in_progress"),
            case((reached_to, 1), else_=0).label("passed"),
        )
        .select_from(steps)
        .join(Application, col(Application.id) == steps.c.application_id)
        .join(Job, col(Job.id) == Application.job_id)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .subquery()
    )
    rows = session.execute(
        select(
            per_app.c.grp,
            func.sum(per_app.c.considered),
            func.sum(per_app.c.in_progress),
            func.sum(per_app.c.passed),
        )
        .group_by(per_app.c.grp)
        # Only the groups with an application at the first step.
        .having(func.sum(per_app.c.considered) + func.sum(per_app.c.in_progress) > 0)
        .order_by(per_app.c.grp)
    ).all()
    counts = [(str(g), int(n or 0), int(w or 0), int(p or 0)) for g, n, w, p in rows]
    # The highest group: the best rate among those large enough to show (ties: the first by name).
    shown = [(g, n, p) for g, n, _, p in counts if n >= MIN_GROUP]
    top = max(shown, key=lambda r: r[2] / r[1], default=None)
    groups = []
    for g, n, waiting, p in counts:
        if n < MIN_GROUP:
            groups.append(GroupRate(g, n, waiting, None, None, None, flagged=False, suppressed=True))
            continue
        # From the counts, not from rounded rates: exactly four fifths is not flagged.
        impact = (p * top[1]) / (n * top[2]) if top is not None and top[2] > 0 else None
        groups.append(
            GroupRate(
                g,
                n,
                waiting,
                p,
                p / n,
                impact,
                flagged=impact is not None and impact < IMPACT_FLAG,
                suppressed=False,
            )
        )
    return SelectionRates(
        group_by=group_by,
        from_step=from_step,
        to_step=to_step,
        groups=groups,
        highest_group=top[0] if top is not None else None,
        highest_rate=top[2] / top[1] if top is not None else None,
    )
