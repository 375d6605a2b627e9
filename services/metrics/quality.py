"""Quality of hire: does a high interview score predict a pass? The hires with a probation outcome — passed, not
passed or extended (an onboarding plan's status) — their interview score against that outcome and their check-in
ratings, overall, per round and per interviewer.

What counts:
- a hire's interview score is the plain mean of the weighted scores (services.metrics.calibration.card_score) of
  the submitted cards of its held interviews — a card of an interview cancelled afterwards counts nowhere; a hire
  without a rated card has no score (counted among the hires, left out of the means and the bands);
- per round: the mean of the hire's cards in that round; per interviewer: the mean of their cards on that hire;
  each hire then counts once in its outcome's mean;
- a hire's check-in rating is the mean of its done check-ins' ratings; the outcome's is the mean over its hires;
- score bands: low under 3, mid from 3 to under 4, high from 4 (on the 1-5 scale); a band's pass rate is passed
  over passed and not passed — an extension is not yet an answer and is counted apart;
- no outcome in the period: no data yet (`QualityOfHire.hires` 0, no outcomes or bands).

Period: application basis, the hires whose application was created in the period; event basis, the outcomes
recorded in it (an extension by when it was recorded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, case, cast, func, literal, select
from sqlmodel import Session, col

from models.evaluation import InterviewRound
from models.onboard import CheckIn, OnboardingPlan, PlanStatus
from models.user import User
from services.metrics.calibration import scored_cards
from services.metrics.filters import MetricFilter, Viewer, period_bounds, scoped_applications, viewer_scope
from services.platform.policy import Cap, require_current_cap

OUTCOMES: tuple[str, ...] = (PlanStatus.passed.value, PlanStatus.not_passed.value, PlanStatus.extended.value)
# The bands of the interview score: (name, lower bound included); each runs to the next one's bound.
BANDS: tuple[tuple[str, float], ...] = (("low", 1.0), ("mid", 3.0), ("high", 4.0))


@dataclass(frozen=True)
class OutcomeGroup:
    outcome: str  # passed, not_passed, extended
    hires: int
    scored: int  # with an interview score
    mean_score: float | None
    checked_in: int  # with a check-in rating
    mean_check_in: float | None


@dataclass(frozen=True)
class ScoreBand:
    band: str  # low, mid, high
    hires: int
    passed: int
    not_passed: int
    extended: int
    pass_rate: float | None  # passed / (passed + not passed)
    mean_check_in: float | None


@dataclass(frozen=True)
class QualityOfHire:
    hires: int  # with a probation outcome; 0: no data yet
    outcomes: list[OutcomeGroup]  # in OUTCOMES' order; empty without hires
    bands: list[ScoreBand]  # low, mid, high; empty without hires
    score_gap: float | None  # mean score of the passed minus that of the not passed

    @property
    def has_data(self) -> bool:
        return self.hires > 0


@dataclass(frozen=True)
class OutcomeScores:
    """Hires by outcome with their mean score (of the part measured: a round, an interviewer's cards)."""

    passed: int
    passed_mean: float | None
    not_passed: int
    not_passed_mean: float | None
    extended: int
    extended_mean: float | None

    @property
    def gap(self) -> float | None:
        """Passed minus not passed: positive when the higher scores went on to pass."""
        if self.passed_mean is None or self.not_passed_mean is None:
            return None
        return round(self.passed_mean - self.not_passed_mean, 2)


@dataclass(frozen=True)
class RoundQuality:
    round_id: int
    name_zh: str
    name_en: str
    scores: OutcomeScores


@dataclass(frozen=True)
class InterviewerQuality:
    interviewer_id: int
    name: str
    scores: OutcomeScores


def _round(value: Any, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def _hires(viewer: Viewer, metric_filter: MetricFilter) -> Any:
    """SQL (a CTE): the hires with an outcome the viewer may see, of the period: application_id, job_id, plan_id
    and outcome."""
    lo, hi = period_bounds(metric_filter)
    apps = scoped_applications(viewer, metric_filter).subquery("quality_apps")
    plan = OnboardingPlan
    conditions: list[Any] = [col(plan.status).in_(OUTCOMES)]
    if metric_filter.by_event:
        conditions += [col(plan.outcome_at) >= lo, col(plan.outcome_at) < hi]
    else:
        conditions += [apps.c.created_at >= lo, apps.c.created_at < hi]
    return (
        select(
            apps.c.application_id,
            apps.c.job_id,
            col(plan.id).label("plan_id"),
            col(plan.status).label("outcome"),
        )
        .select_from(apps)
        .join(plan, col(plan.application_id) == apps.c.application_id)
        .where(*conditions)
        .cte("hires")
    )


def quality_of_hire(*, session: Session, actor: User | None, metric_filter: MetricFilter) -> QualityOfHire:
    """The hires with a probation outcome the viewer may see: per outcome, the mean interview score and check-in
    rating; per score band, the outcomes and the pass rate; and the score gap between passed and not passed.
    Changes nothing."""
    viewer = viewer_scope(session=session, actor=actor)
    hires = _hires(viewer, metric_filter)
    cards = scored_cards(session, hires, [], "quality_cards")
    card_means = (
        select(cards.c.application_id, func.avg(cards.c.score).label("score"))
        .where(cards.c.score.is_not(None))
        .group_by(cards.c.application_id)
        .subquery()
    )
    check_in = (
        select(func.avg(cast(CheckIn.rating, Float)))
        .where(
            col(CheckIn.plan_id) == hires.c.plan_id, col(CheckIn.rating).is_not(None), col(CheckIn.done_at).is_not(None)
        )
        .scalar_subquery()
    )
    per_hire = (
        select(hires.c.outcome, card_means.c.score, check_in.label("check_in"))
        .select_from(hires)
        .outerjoin(card_means, card_means.c.application_id == hires.c.application_id)
        .subquery()
    )
    h = per_hire.c
    outcome_rows = session.execute(
        select(
            h.outcome,
            func.count(),
            func.count(h.score),
            func.avg(h.score),
            func.count(h.check_in),
            func.avg(h.check_in),
        ).group_by(h.outcome)
    ).all()
    if not outcome_rows:
        return QualityOfHire(hires=0, outcomes=[], bands=[], score_gap=None)
    found = {r[0]: r for r in outcome_rows}
    outcomes = []
    for outcome in OUTCOMES:
        _, n, scored, mean, checked, check_mean = found.get(outcome, (outcome, 0, 0, None, 0, None))
        outcomes.append(
            OutcomeGroup(
                outcome=outcome,
                hires=int(n),
                scored=int(scored),
                mean_score=_round(mean),
                checked_in=int(checked),
                mean_check_in=_round(check_mean),
            )
        )
    band = case(
        *[(h.score >= lower, literal(name)) for name, lower in reversed(BANDS[1:])], else_=literal(BANDS[0][0])
    ).label("band")

    def of(outcome: str) -> Any:
        return func.sum(case((h.outcome == outcome, 1), else_=0))

    band_rows = session.execute(
        select(band, func.count(), *[of(o) for o in OUTCOMES], func.avg(h.check_in))
        .where(h.score.is_not(None))
        .group_by(band)
    ).all()
    by_band = {r[0]: r for r in band_rows}
    bands = []
    for name, _ in BANDS:
        _, n, passed, not_passed, extended, check_mean = by_band.get(name, (name, 0, 0, 0, 0, None))
        passed, not_passed = int(passed or 0), int(not_passed or 0)
        decided = passed + not_passed
        bands.append(
            ScoreBand(
                band=name,
                hires=int(n),
                passed=passed,
                not_passed=not_passed,
                extended=int(extended or 0),
                pass_rate=passed / decided if decided else None,
                mean_check_in=_round(check_mean),
            )
        )
    means = {o: found[o][3] for o in OUTCOMES if o in found and found[o][3] is not None}
    gap = (
        _round(float(means[PlanStatus.passed.value]) - float(means[PlanStatus.not_passed.value]))
        if PlanStatus.passed.value in means and PlanStatus.not_passed.value in means
        else None
    )
    return QualityOfHire(hires=sum(g.hires for g in outcomes), outcomes=outcomes, bands=bands, score_gap=gap)


def _scores_by(session: Session, hires: Any, cards: Any, key: Any) -> dict[int, OutcomeScores]:
    """Per value of `key` (a column of `cards`): each hire's mean card score, then the hires' mean per outcome."""
    per_hire = (
        select(key.label("key"), cards.c.application_id, func.avg(cards.c.score).label("score"))
        .where(cards.c.score.is_not(None))
        .group_by(key, cards.c.application_id)
        .subquery()
    )
    rows = session.execute(
        select(per_hire.c.key, hires.c.outcome, func.count(), func.avg(per_hire.c.score))
        .join(hires, hires.c.application_id == per_hire.c.application_id)
        .group_by(per_hire.c.key, hires.c.outcome)
    ).all()
    found: dict[int, dict[str, tuple[int, float | None]]] = {}
    for k, outcome, n, mean in rows:
        found.setdefault(int(k), {})[outcome] = (int(n), _round(mean))
    result = {}
    for k, by_outcome in found.items():
        p, np_, ext = (by_outcome.get(o, (0, None)) for o in OUTCOMES)
        result[k] = OutcomeScores(
            passed=p[0],
            passed_mean=p[1],
            not_passed=np_[0],
            not_passed_mean=np_[1],
            extended=ext[0],
            extended_mean=ext[1],
        )
    return result


def quality_by_round(*, session: Session, actor: User | None, metric_filter: MetricFilter) -> list[RoundQuality]:
    """Per interview round (in the rounds' order), the hires with an outcome the viewer may see by outcome, with
    the mean of their scores in that round. Rounds without a rated card of a hire are left out. Changes nothing."""
    viewer = viewer_scope(session=session, actor=actor)
    hires = _hires(viewer, metric_filter)
    cards = scored_cards(session, hires, [], "quality_cards")
    scores = _scores_by(session, hires, cards, cards.c.round_id)
    if not scores:
        return []
    rounds = session.execute(
        select(col(InterviewRound.id), col(InterviewRound.name_zh), col(InterviewRound.name_en))
        .where(col(InterviewRound.id).in_(list(scores)))
        .order_by(col(InterviewRound.position), col(InterviewRound.id))
    ).all()
    return [RoundQuality(round_id=r[0], name_zh=r[1], name_en=r[2], scores=scores[r[0]]) for r in rounds]


def quality_by_interviewer(
    *, session: Session, actor: User | None, metric_filter: MetricFilter
) -> list[InterviewerQuality]:
    """Per interviewer (by name), the hires with an outcome they rated, by outcome, with the mean of their own
    scores of them: whose high scores went on to pass. Figures per person: admins and recruiters only (NotAllowed
    to anyone else). Changes nothing."""
    require_current_cap(session, actor, Cap.view_people_metrics)  # figures per person
    viewer = viewer_scope(session=session, actor=actor)
    hires = _hires(viewer, metric_filter)
    cards = scored_cards(session, hires, [], "quality_cards")
    scores = _scores_by(session, hires, cards, cards.c.interviewer_id)
    if not scores:
        return []
    people = session.execute(
        select(col(User.id), col(User.name))
        .where(col(User.id).in_(list(scores)))
        .order_by(col(User.name), col(User.id))
    ).all()
    return [InterviewerQuality(interviewer_id=r[0], name=r[1], scores=scores[r[0]]) for r in people]
