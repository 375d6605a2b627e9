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

from sqlalchemy import Float, and_, case, cast, func, or_, select
from sqlmodel import Session, col

from models.candidate import Application
from models.common import utcnow
from models.evaluation import (
    DecisionKind,
    Interview,
    InterviewStatus,
    Recommendation,
)
from models.metrics import ApplicationFact, ScorecardFact
from models.user import User
from services.metrics.facts import fresh_facts
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


def held(now: datetime) -> Any:
    """SQL: the interview of the enclosing query is held — still on and ended."""
    return and_(col(Interview.status) == InterviewStatus.scheduled, col(Interview.ends_at) <= now)


def scored_cards(session: Session, apps: Any, conditions: list[Any], name: str) -> Any:
    """SQL (a CTE): the submitted scorecards of the held interviews of `apps` (a CTE with application_id), meeting
    `conditions` (on ScorecardFact's columns): scorecard_id, interview_id, interviewer_id, application_id,
    round_id, positive (1 yes, 0 no, NULL without a recommendation) and score (the weighted score, NULL without a
    rating) — from the scorecards' facts (services.metrics.facts), the changes listed since the last fold folded
    in first."""
    fresh_facts(session)
    card = ScorecardFact
    return (
        select(
            col(card.scorecard_id),
            col(card.interview_id),
            col(card.interviewer_id),
            apps.c.application_id,
            col(card.round_id),
            col(card.positive),
            col(card.score),
        )
        .select_from(card)
        .join(apps, apps.c.application_id == card.application_id)
        .where(col(card.ends_at) <= utcnow(), *conditions)
        .cte(name)
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
        conditions += [col(ScorecardFact.ends_at) >= lo, col(ScorecardFact.ends_at) < hi]
    else:
        apps_query = apps_query.where(col(Application.created_at) >= lo, col(Application.created_at) < hi)
    apps = apps_query.cte("calibration_apps")
    cards = scored_cards(session, apps, conditions, "calibration_cards")
    # The application's latest final decision, from its facts.
    final = (
        select(col(ApplicationFact.final_kind))
        .where(col(ApplicationFact.application_id) == cards.c.application_id)
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
