"""Candidate experience, from the survey answers (models.followup.SurveyResponse, reached through its invite's
application so that the viewer's scope and the filter apply): NPS — the share of promoters (9–10) minus the share
of detractors (0–6), in percentage points — and each question's mean (clarity, respect, treatment, 1–5), overall,
by job and by the stage the candidate had reached when invited.

No group of fewer than MIN_GROUP (5) answers is shown: its figures are None and `shown` False, with the number of
answers received, so the page can say "fewer than 5 answers". The overall figures follow the same rule.

Which answers count: application basis — the answers about the applications created in the period, whenever given;
event basis — the answers given in the period.

The follow-up screen's own results (services.follow_up.followup.survey_summary) release answers only in whole
batches of five per job × stage, so that comparing two groups never isolates a person. Here the filters (a
period, a source, a recruiter) form the groups, and only the group size is guarded: two filters that differ by
fewer than five answers can still be compared by a patient reader with access to both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, String, case, cast, func, literal, select, union_all
from sqlmodel import Session, col

from models.candidate import Application
from models.common import Stage
from models.followup import SurveyInvite, SurveyResponse
from models.job import Job
from models.user import User
from services.follow_up.followup import MIN_GROUP
from services.metrics.filters import MetricFilter, period_bounds, scoped_applications, viewer_scope

QUESTIONS: tuple[str, ...] = ("clarity", "respect", "treatment")  # labels: survey.<question>


@dataclass(frozen=True)
class ExperienceGroup:
    job_id: int | None  # the job of a by-job group
    job_title: str  # ... and its title ("" otherwise)
    stage: str  # the stage of a by-stage group ("" otherwise)
    answers: int  # received in the group
    shown: bool  # answers >= MIN_GROUP; otherwise every figure below is None
    nps: float | None  # promoters% - detractors%, percentage points, one decimal
    clarity: float | None  # means, two decimals
    respect: float | None
    treatment: float | None


@dataclass(frozen=True)
class Experience:
    overall: ExperienceGroup
    by_job: list[ExperienceGroup]  # by title
    by_stage: list[ExperienceGroup]  # in the order of the stages
    min_answers: int = MIN_GROUP


def experience(*, session: Session, actor: User | None, metric_filter: MetricFilter) -> Experience:
    """NPS and each question's mean over the survey answers the viewer may see, overall, by job and by the stage
    reached, in one aggregate query; any group of fewer than five answers is suppressed. Changes nothing."""
    viewer = viewer_scope(session=session, actor=actor)
    lo, hi = period_bounds(metric_filter)
    apps_query = scoped_applications(viewer, metric_filter)
    conditions: list[Any] = []
    if metric_filter.by_event:
        conditions += [col(SurveyResponse.at) >= lo, col(SurveyResponse.at) < hi]
    else:
        apps_query = apps_query.where(col(Application.created_at) >= lo, col(Application.created_at) < hi)
    apps = apps_query.cte("experience_apps")
    answers = (
        select(
            apps.c.job_id,
            col(SurveyResponse.stage).label("stage"),
            col(SurveyResponse.nps).label("nps"),
            *[getattr(SurveyResponse, q).label(q) for q in QUESTIONS],
        )
        .select_from(SurveyResponse)
        .join(SurveyInvite, col(SurveyInvite.id) == SurveyResponse.invite_id)
        .join(apps, apps.c.application_id == SurveyInvite.application_id)
        .where(*conditions)
        .cte("experience_answers")
    )
    a = answers.c
    figures = [
        func.count().label("answers"),
        func.sum(case((a.nps >= 9, 1), else_=0)).label("promoters"),
        func.sum(case((a.nps <= 6, 1), else_=0)).label("detractors"),
        *[func.avg(getattr(a, q)).label(q) for q in QUESTIONS],
    ]
    no_job, no_stage = cast(literal(None), Integer), cast(literal(""), String)
    rows = session.execute(
        union_all(
            select(literal(0).label("kind"), no_job.label("job_id"), no_stage.label("stage"), *figures),
            select(literal(1), a.job_id, no_stage, *figures).group_by(a.job_id),
            select(literal(2), no_job, a.stage, *figures).group_by(a.stage),
        )
    ).all()
    titles: dict[int, str] = {}
    job_ids = [int(r.job_id) for r in rows if r.kind == 1]
    if job_ids:
        titles = {
            int(i): t for i, t in session.execute(select(col(Job.id), col(Job.title)).where(col(Job.id).in_(job_ids)))
        }
    overall = _group(None, "", "", 0, 0, 0, None, None, None)
    by_job, by_stage = [], []
    for kind, job_id, stage, n, promoters, detractors, *means in rows:
        if kind == 0:
            overall = _group(None, "", "", n, promoters, detractors, *means)
        elif kind == 1:
            by_job.append(_group(int(job_id), titles.get(int(job_id), ""), "", n, promoters, detractors, *means))
        else:
            by_stage.append(_group(None, "", str(stage), n, promoters, detractors, *means))
    order = {s.value: i for i, s in enumerate(Stage)}
    by_job.sort(key=lambda g: (g.job_title, g.job_id or 0))
    by_stage.sort(key=lambda g: (order.get(g.stage, len(order)), g.stage))
    return Experience(overall=overall, by_job=by_job, by_stage=by_stage)


def _group(
    job_id: int | None,
    title: str,
    stage: str,
    answers: Any,
    promoters: Any,
    detractors: Any,
    clarity: Any,
    respect: Any,
    treatment: Any,
) -> ExperienceGroup:
    n = int(answers or 0)
    if n < MIN_GROUP:
        return ExperienceGroup(job_id, title, stage, n, False, None, None, None, None)
    nps = round(100 * (int(promoters or 0) - int(detractors or 0)) / n, 1)
    clarity, respect, treatment = (round(float(v), 2) for v in (clarity, respect, treatment))
    return ExperienceGroup(job_id, title, stage, n, True, nps, clarity, respect, treatment)
