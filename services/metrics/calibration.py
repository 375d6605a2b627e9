"""Interviewer calibration: per interviewer, their submitted scorecards, mean rating and yes-rate against the other
panelists of the same interviews (leniency), and how often their recommendation went the way of the final
decision — per-person figures, for admins and recruiters only (Cap.view_people_metrics).

What counts:
- a scorecard counts when submitted on a held interview (still on — not cancelled or a no-show — and ended): a
  scorecard of an interview cancelled afterwards counts nowhere, nor does it count for the others of its panel;
- a card's rating is its weighted score (services.evaluate.scoring.weighted_score, computed in SQL): the weighted
  mean of its ratings over the criteria in force for the interview's round and the application's job (the job's
  own set where it has one, else the round's), retired criteria left out; a card without a rating has none and
  counts for the yes-rate only;
- yes: the recommendation yes or strong yes; no: no or strong no (a card without a recommendation counts for
  neither);
- leniency: over the interviews the person rated with at least one other rated card (shared interviews), their
  mean rating minus the mean of the others' means on those interviews — positive: they score higher than their
  panels. The same for the yes-rate, over the interviews with at least one other recommendation;
- agreement: of their recommendations on applications with a final decision (the latest recorded decision offer or
  reject; advance and hold are steps on the way), the share that went its way (yes with offer, no with reject).
  A decision made by moving the stage has no record to compare with and is left out.
- flagged: |leniency| of at least FLAG_POINTS rating points (the rounded figure: exactly 0.75 is flagged) over at
  least FLAG_MIN_SHARED shared interviews — fewer say too little about a person to single them out.

Period: event basis, the interviews ended in the period; application basis, the interviews of the applications
created in it (as services.metrics.speed's turnaround).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, and_, case, cast, func, or_, select, tuple_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from models.candidate import Application
from models.common import utcnow
from models.evaluation import (
    Criterion,
    Decision,
    DecisionKind,
    Interview,
    InterviewStatus,
    Recommendation,
    Scorecard,
    ScorecardRating,
    ScorecardStatus,
)
from models.user import User
from services.metrics.filters import MetricFilter, period_bounds, scoped_applications, viewer_scope
from services.platform.policy import Cap, require_current_cap

FLAG_POINTS = 0.75  # rating points (1-5 scale) from the panel that single an interviewer out
FLAG_MIN_SHARED = 5  # ... over at least this many shared interviews

YES = [Recommendation.yes.value, Recommendation.strong_yes.value]
NO = [Recommendation.no.value, Recommendation.strong_no.value]


@dataclass(frozen=True)
class Calibration:
    interviewer_id: int
    name: str
    scorecards: int  # submitted on held interviews
    rated: int  # of them, with a weighted score
    mean_rating: float | None  # of the rated, to two decimals
    yes_rate: float | None  # yes over the cards with a recommendation
    shared_interviews: int  # rated by them and at least one other panelist
    shared_mean: float | None  # their mean rating on the shared interviews
    panel_mean: float | None  # the mean of the others' means on the same interviews
    leniency: float | None  # shared_mean - panel_mean, to two decimals
    shared_yes_interviews: int  # with their recommendation and at least one other
    shared_yes_rate: float | None  # their yes-rate on those
    panel_yes_rate: float | None  # the mean of the others' yes-rates on the same interviews
    decided: int  # their recommendations on applications with a final decision
    agreement: float | None  # the share of those that went the decision's way
    flagged: bool


def _round(value: Any, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def _ratio(part: Any, whole: Any) -> float | None:
    return float(part or 0) / float(whole) if whole else None


def card_score(scorecard_id: Any, round_id: Any, job_id: Any) -> Any:
    """SQL: the weighted score of the scorecard `scorecard_id` (columns of the enclosing query, with its interview's
    round and application's job): sum(rating × weight) / sum(weight) over its ratings of the criteria in force —
    active, of the round, the job's own set where it has one, else the round's. NULL without a rating."""
    # The (round, job) pairs with a set of their own: a few rows, read once per statement (a lookup per rating
    # instead cost SQLite twice the whole score's time).
    own = aliased(Criterion)
    overridden = select(col(own.round_id), col(own.job_id)).where(col(own.job_id).is_not(None), col(own.is_active))
    has_override = tuple_(round_id, job_id).in_(overridden)
    in_force = and_(
        col(Criterion.is_active),
        col(Criterion.round_id) == round_id,
        or_(col(Criterion.job_id) == job_id, and_(col(Criterion.job_id).is_(None), ~has_override)),
    )
    rating = cast(ScorecardRating.rating, Float)
    return (
        select(func.sum(rating * Criterion.weight) / func.sum(Criterion.weight))
        .select_from(ScorecardRating)
        .join(Criterion, col(Criterion.id) == ScorecardRating.criterion_id)
        .where(col(ScorecardRating.scorecard_id) == scorecard_id, col(ScorecardRating.rating).is_not(None), in_force)
        .scalar_subquery()
    )


def held(now: datetime) -> Any:
    """SQL: the interview of the enclosing query is held — still on and ended."""
    return and_(col(Interview.status) == InterviewStatus.scheduled, col(Interview.ends_at) <= now)


def scored_cards(apps: Any, conditions: list[Any], name: str) -> Any:
    """SQL (a CTE): the submitted scorecards of the held interviews of `apps` (a CTE with application_id and
    job_id), meeting `conditions`: scorecard_id, interview_id, interviewer_id, application_id, round_id, positive
    (1 yes, 0 no, NULL without a recommendation) and score (the weighted score, NULL without a rating)."""
    positive = case(
        (col(Scorecard.recommendation).in_(YES), 1),
        (col(Scorecard.recommendation).in_(NO), 0),
    )
    return (
        select(
            col(Scorecard.id).label("scorecard_id"),
            col(Scorecard.interview_id).label("interview_id"),
            col(Scorecard.interviewer_id).label("interviewer_id"),
            apps.c.application_id,
            col(Interview.round_id).label("round_id"),
            positive.label("positive"),
            card_score(Scorecard.id, Interview.round_id, apps.c.job_id).label("score"),
        )
        .select_from(Scorecard)
        .join(Interview, col(Interview.id) == Scorecard.interview_id)
        .join(apps, apps.c.application_id == Interview.application_id)
        .where(col(Scorecard.status) == ScorecardStatus.submitted, held(utcnow()), *conditions)
        .cte(name)
        # Read by the window and the aggregates below: inlined, each card's score would be computed again.
        .prefix_with("MATERIALIZED")
    )


def interviewer_calibration(*, session: Session, actor: User | None, metric_filter: MetricFilter) -> list[Calibration]:
    """Per interviewer, by name: scorecards, mean rating, yes-rate, leniency against their panels, agreement with
    the final decision and whether they sit far from their panels. Admins and recruiters only (a hiring manager or
    an interviewer is refused with NotAllowed). Changes nothing."""
    require_current_cap(session, actor, Cap.view_people_metrics)  # figures per person
    viewer = viewer_scope(session=session, actor=actor)
    lo, hi = period_bounds(metric_filter)
    apps_query = scoped_applications(viewer, metric_filter)
    conditions: list[Any] = []
    if metric_filter.by_event:
        conditions += [col(Interview.ends_at) >= lo, col(Interview.ends_at) < hi]
    else:
        apps_query = apps_query.where(col(Application.created_at) >= lo, col(Application.created_at) < hi)
    apps = apps_query.cte("calibration_apps")
    cards = scored_cards(apps, conditions, "calibration_cards")
    final = (
        select(col(Decision.kind))
        .where(
            col(Decision.application_id) == cards.c.application_id,
            col(Decision.kind).in_([DecisionKind.offer.value, DecisionKind.reject.value]),
        )
        .order_by(col(Decision.at).desc(), col(Decision.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    by_interview = {"partition_by": cards.c.interview_id}
    panel = select(
        cards.c.interviewer_id,
        cards.c.score,
        cards.c.positive,
        func.sum(cards.c.score).over(**by_interview).label("score_sum"),
        func.count(cards.c.score).over(**by_interview).label("score_n"),
        func.sum(cards.c.positive).over(**by_interview).label("yes_sum"),
        func.count(cards.c.positive).over(**by_interview).label("rec_n"),
        final.label("final"),
    ).subquery()
    p = panel.c
    rated_with_others = and_(p.score.is_not(None), p.score_n > 1)
    others_mean = case((rated_with_others, (p.score_sum - p.score) / (p.score_n - 1)))
    said_with_others = and_(p.positive.is_not(None), p.rec_n > 1)
    others_yes = case((said_with_others, cast(p.yes_sum - p.positive, Float) / (p.rec_n - 1)))
    agree = case(
        (or_(p.positive.is_(None), p.final.is_(None)), None),
        (and_(p.positive == 1, p.final == DecisionKind.offer.value), 1),
        (and_(p.positive == 0, p.final == DecisionKind.reject.value), 1),
        else_=0,
    )
    per_person = (
        select(
            p.interviewer_id,
            func.count().label("cards"),
            func.count(p.score).label("rated"),
            func.avg(p.score).label("mean"),
            func.sum(p.positive).label("yes"),
            func.count(p.positive).label("said"),
            func.sum(case((rated_with_others, 1), else_=0)).label("shared"),
            func.sum(case((rated_with_others, p.score))).label("shared_sum"),
            func.sum(others_mean).label("panel_sum"),
            func.sum(case((said_with_others, 1), else_=0)).label("shared_said"),
            func.sum(case((said_with_others, p.positive))).label("shared_yes"),
            func.sum(others_yes).label("panel_yes"),
            func.count(agree).label("decided"),
            func.sum(agree).label("agreed"),
        )
        .group_by(p.interviewer_id)
        .subquery()
    )
    rows = session.execute(
        select(col(User.name), per_person)
        .join(User, col(User.id) == per_person.c.interviewer_id)
        .order_by(col(User.name), per_person.c.interviewer_id)
    ).all()
    result = []
    for r in rows:
        shared, shared_said = int(r.shared or 0), int(r.shared_said or 0)
        shared_mean, panel_mean = _ratio(r.shared_sum, shared), _ratio(r.panel_sum, shared)
        leniency = _round(shared_mean - panel_mean) if shared_mean is not None and panel_mean is not None else None
        result.append(
            Calibration(
                interviewer_id=int(r.interviewer_id),
                name=r.name,
                scorecards=int(r.cards),
                rated=int(r.rated),
                mean_rating=_round(r.mean),
                yes_rate=_ratio(r.yes, r.said),
                shared_interviews=shared,
                shared_mean=_round(shared_mean),
                panel_mean=_round(panel_mean),
                leniency=leniency,
                shared_yes_interviews=shared_said,
                shared_yes_rate=_ratio(r.shared_yes, shared_said),
                panel_yes_rate=_ratio(r.panel_yes, shared_said),
                decided=int(r.decided),
                agreement=_ratio(r.agreed, r.decided),
                flagged=leniency is not None and abs(leniency) >= FLAG_POINTS and shared >= FLAG_MIN_SHARED,
            )
        )
    return result
