"""Sources: per candidate source (models.candidate.SOURCES, the candidate's `source`) — applications, how many were
interviewed, offered and hired, the conversion from application to hire, and how far its applications get.

The steps are the funnel's (services.metrics.funnel.step_times), so each source's figures add up to the funnel's:
- application basis (a cohort): the applications created in the period, each counted at every step up to the
  furthest it has reached — one that skipped a step (an offer without an interview) counts as interviewed, as in
  the funnel's cohort view; "hired" is the accepted step (the offer accepted, or moved to hired);
- event basis (activity): applications created in the period, first interviews held, first offers sent and
  acceptances in the period, whenever their application began; the conversion is then a flow ratio.
In both, the furthest step is that of the applications created in the period, as it stands now: its index in
funnel.STEPS (0 applied … 7 passed probation), averaged. A candidate with two applications counts twice in
`applications` and once in `candidates`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, func, literal, select
from sqlmodel import Session, col

from models.candidate import SOURCES, Application, Candidate
from models.user import User
from services.metrics.filters import MetricFilter, period_bounds, scoped_applications, viewer_scope
from services.metrics.funnel import STEPS, _step_columns, step_times

INTERVIEWED, OFFER, ACCEPTED = STEPS.index("interviewed"), STEPS.index("offer"), STEPS.index("accepted")


@dataclass(frozen=True)
class SourceFigures:
    source: str  # one of SOURCES (label: the catalog key source.<source>)
    applications: int  # created in the period
    candidates: int  # the distinct people behind them
    interviewed: int
    offers: int
    hires: int
    conversion: float | None  # hires / applications (None without applications)
    mean_furthest_step: float | None  # mean index in funnel.STEPS of the furthest step reached (None without any)


def sources(*, session: Session, actor: User | None, metric_filter: MetricFilter) -> list[SourceFigures]:
    """Per source with any figure in the period, in the order of models.candidate.SOURCES: applications,
    candidates, interviewed, offers, hires, conversion and the mean furthest funnel step, in one aggregate query
    over the funnel's steps. Changes nothing."""
    viewer = viewer_scope(session=session, actor=actor)
    lo, hi = period_bounds(metric_filter)
    apps_query = scoped_applications(viewer, metric_filter)
    if not metric_filter.by_event:
        apps_query = apps_query.where(col(Application.created_at) >= lo, col(Application.created_at) < hi)
    apps = apps_query.cte("source_apps")
    steps = step_times(session, apps)
    columns = _step_columns(steps)
    furthest = case(
        *[(c.is_not(None), literal(i)) for i, c in reversed(list(enumerate(columns))) if i > 0], else_=literal(0)
    )
    created = and_(steps.c.applied_at >= lo, steps.c.applied_at < hi)
    per_app = (
        select(
            func.coalesce(col(Candidate.source), "other").label("source"),
            col(Application.candidate_id).label("candidate_id"),
            case((created, 1), else_=0).label("created"),
            furthest.label("furthest"),
            # The steps' moments (the started step is a date, and not counted here) in the period: event basis.
            *[
                case((and_(columns[i] >= lo, columns[i] < hi), 1), else_=0).label(f"in_{i}")
                for i in (INTERVIEWED, OFFER, ACCEPTED)
            ],
        )
        .select_from(steps)
        # Each application and its candidate read by key: joined to the applications' CTE instead, SQLite read
        # that CTE again for each step row (3 s at 14k applications for a hiring manager).
        .join(Application, col(Application.id) == steps.c.application_id)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .subquery()
    )
    p = per_app.c
    if metric_filter.by_event:
        counted = [func.sum(getattr(p, f"in_{i}")) for i in (INTERVIEWED, OFFER, ACCEPTED)]
    else:
        counted = [func.sum(case((p.furthest >= i, 1), else_=0)) for i in (INTERVIEWED, OFFER, ACCEPTED)]
    rows = session.execute(
        select(
            p.source,
            func.sum(p.created),
            func.count(case((p.created == 1, p.candidate_id)).distinct()),
            *counted,
            func.avg(case((p.created == 1, p.furthest))),
        ).group_by(p.source)
    ).all()
    figures = {}
    for source, applications, people, interviewed, offers, hires, mean in rows:
        applications, hires = int(applications or 0), int(hires or 0)
        row = SourceFigures(
            source=str(source),
            applications=applications,
            candidates=int(people or 0),
            interviewed=int(interviewed or 0),
            offers=int(offers or 0),
            hires=hires,
            conversion=hires / applications if applications else None,
            mean_furthest_step=None if mean is None else round(float(mean), 2),
        )
        if applications or row.interviewed or row.offers or hires:
            figures[row.source] = row
    order = {s: i for i, s in enumerate(SOURCES)}
    return sorted(figures.values(), key=lambda f: (order.get(f.source, len(SOURCES)), f.source))
